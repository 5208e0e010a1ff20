"""`send-test`: send one test message the way a device will, from the command line.

    python main.py send-test --method smtp-auth --from scanner@contoso.com \\
        --to it@contoso.com --password-stdin < password.txt

Host and port default to the method's values in the chosen cloud (worldwide unless
--cloud says otherwise); direct send and connector relay use the domain's MX host in
its classic form, so give --host when the domain has the newer mx.microsoft host. To
test against the sandbox (`python main.py sandbox` prints its endpoints), pass its
--host, --port and --cafile explicitly.

Exit codes: 0 accepted, 1 refused by the server (the verdict says why), 2 bad input,
3 could not reach the server (name, connection, TLS).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from dataclasses import replace
from typing import TYPE_CHECKING, TextIO

from wizard.cli import add_cloud_option
from wizard.core.clouds import Cloud, cloud_by_id
from wizard.core.device_settings import AuthKind, device_settings
from wizard.core.errors import InvalidInput, SecretStoreError
from wizard.core.i18n import tr
from wizard.core.methods import RELAY_METHODS, Method
from wizard.core.relay import device_password_purpose as relay_device_password_purpose
from wizard.core.relay_host import RelayHost
from wizard.core.secret_names import password_purpose
from wizard.core.steps import STEP_TITLES
from wizard.core.transcript import Outcome, SmtpTestResult, TranscriptLine
from wizard.core.validation import check_email

if TYPE_CHECKING:
    from wizard.services.smtp_test import Credentials, SendTestRequest

# The test sender's own default (wizard.services.smtp_test.DEFAULT_TIMEOUT), repeated
# so that building the argument parser does not import the SMTP machinery.
DEFAULT_TIMEOUT = 20.0

# An access token is a few kilobytes; anything much longer is not one.
MAX_STDIN_LINE = 64 * 1024

EXIT_CODES: dict[Outcome, int] = {
    Outcome.SENT: 0,
    Outcome.REFUSED: 1,
    Outcome.CANCELLED: 1,
    Outcome.UNREACHABLE: 3,
}


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "send-test",
        help="send one test message with a full transcript and a plain-words verdict",
        description=(
            "Send one test message the way the device will and explain the outcome. "
            "Exit codes: 0 accepted, 1 refused by the server, 2 bad input, "
            "3 could not reach the server."
        ),
    )
    p.add_argument("--method", required=True, choices=[m.value for m in Method])
    p.add_argument("--from", dest="sender", required=True, metavar="ADDRESS")
    p.add_argument("--to", dest="recipient", required=True, metavar="ADDRESS")
    p.add_argument(
        "--host",
        help=(
            "server name (default: the method's server in the cloud; for direct send and "
            "connector relay the sender domain's MX when it points to Microsoft 365)"
        ),
    )
    p.add_argument(
        "--nameserver",
        metavar="HOST[:PORT]",
        help="DNS server to ask for the sender domain's MX (default: this computer's resolvers)",
    )
    p.add_argument("--port", type=int, help="port (default: 587, or 25 for relay methods)")
    p.add_argument("--username", help="user name for sign-in (default: the --from address)")
    secret = p.add_mutually_exclusive_group()
    secret.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password (smtp-auth, hve) or an access token (smtp-auth-oauth) "
        "from the first line of standard input",
    )
    secret.add_argument(
        "--keyring-entry",
        metavar="SITE",
        help="use the password the wizard keeps in the keyring for this site and user name",
    )
    p.add_argument("--cafile", metavar="CA", help="trust this CA (PEM) instead of the system's")
    add_cloud_option(p, help="Microsoft 365 cloud for the default host (default: worldwide)")
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"time limit for connecting and for each answer (default: {DEFAULT_TIMEOUT:g})",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document (schema 1)")
    p.set_defaults(handler=run_send_test)


def build_request(args: argparse.Namespace) -> SendTestRequest:
    from wizard.services.smtp_test import SendTestRequest

    method = Method(args.method)
    sender = check_email(args.sender)
    if not sender.ok or sender.value is None:
        raise InvalidInput(tr("--from: ") + sender.error)
    cloud = cloud_by_id(args.cloud)
    if cloud is None:  # argparse's choices make this unreachable; keep mypy honest
        raise InvalidInput(tr("Unknown cloud: {cloud}").format(cloud=args.cloud))
    domain = sender.value.rpartition("@")[2]
    relay = None
    if method is Method.LOCAL_RELAY and not args.host:
        # The relay is a computer at the office: only its sheet knows where.
        raise InvalidInput(
            tr("--host is needed for the local relay: the relay's address on its sheet."),
            next_step=tr(
                "Give --host ADDRESS --port PORT --username USER (the device's relay user "
                "name) and --cafile relay-ca.pem to check the relay's certificate."
            ),
        )
    if method in RELAY_METHODS and not args.host:
        relay = _relay_host(args, cloud, domain)
    try:
        settings = device_settings(
            method, cloud, domain=domain, sender=sender.value, username=args.username, mx_host=relay
        )
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    request = SendTestRequest.from_settings(
        settings, [args.recipient.strip()], cafile=args.cafile, timeout=args.timeout
    )
    if args.host or args.port is not None:
        # `--port 0` is a port the user typed (and a wrong one), not "the default".
        request = replace(
            request,
            host=(args.host or request.host).strip(),
            port=request.port if args.port is None else args.port,
        )
    problems = request.problems()
    if problems:
        raise InvalidInput(" ".join(problems))
    return request


def _relay_host(args: argparse.Namespace, cloud: Cloud, domain: str) -> RelayHost:
    """The domain's relay host from DNS (live Microsoft MX, else a guess that resolves)."""
    from wizard.cli.check_dns import parse_nameserver
    from wizard.services.dns.checks import dns_settings_for
    from wizard.services.relay_host import find_relay_host

    nameserver = parse_nameserver(args.nameserver) if args.nameserver else None
    relay = find_relay_host(
        cloud, domain, dns_settings=dns_settings_for(cloud, nameserver=nameserver)
    )
    if not relay.found:
        raise InvalidInput(
            tr("The relay host for {domain} was not found.").format(domain=domain),
            next_step=relay.not_found_advice + " " + tr("Then give it with --host HOST."),
        )
    if relay.is_guess:
        print(
            tr("Relay host {host}: {source}.").format(host=relay.host, source=relay.source_label),
            file=sys.stderr,
        )
    return relay


def read_credentials(
    args: argparse.Namespace, request: SendTestRequest, stdin: TextIO
) -> Credentials:
    from wizard.services.secrets import SecretStore
    from wizard.services.smtp_test import Credentials

    if request.auth is AuthKind.NONE:
        if args.password_stdin or args.keyring_entry:
            raise InvalidInput(
                tr("The method {method} does not sign in: leave out the password.").format(
                    method=request.method.value
                )
            )
        return Credentials()
    username = request.username or request.sender
    if args.password_stdin:
        try:
            line = stdin.readline(MAX_STDIN_LINE + 1).rstrip("\r\n")
        except UnicodeDecodeError:
            raise InvalidInput(
                tr("Standard input is not UTF-8 text."),
                next_step=tr("Save the password or token as UTF-8 text and pipe it in again."),
            ) from None
        if len(line) > MAX_STDIN_LINE:
            raise InvalidInput(
                tr("The first line of standard input is too long for a password or token."),
                next_step=tr("Pipe only the password or token, on one line."),
            )
        if not line:
            raise InvalidInput(tr("Standard input had no password or token on its first line."))
        if request.auth is AuthKind.OAUTH:
            return Credentials(token_provider=lambda: line)
        return Credentials(password=line)
    if request.auth is AuthKind.OAUTH:
        raise InvalidInput(
            tr("smtp-auth-oauth needs an access token for {user}.").format(user=username),
            next_step=tr(
                "Pipe a token with the SMTP.Send scope into --password-stdin, or run the "
                "test from the wizard's Test message page, which signs in for you."
            ),
        )
    if args.keyring_entry:
        # The local relay's device password is the one the relay made, not the mailbox's.
        purpose = (
            relay_device_password_purpose(username)
            if request.method is Method.LOCAL_RELAY
            else password_purpose(username)
        )
        try:
            password = SecretStore().get(args.keyring_entry, purpose)
        except SecretStoreError as exc:
            # The option cannot be used on this computer: bad input, not a refusal.
            raise InvalidInput(exc.what, exc.why, exc.next_step, detail=exc.detail) from None
        if not password:
            raise InvalidInput(
                tr("The keyring has no password for {user} under the site '{site}'.").format(
                    user=username, site=args.keyring_entry
                ),
                next_step=tr("Save it from the wizard, or use --password-stdin."),
            )
        return Credentials(password=password)
    if stdin.isatty():
        typed = getpass.getpass(tr("Password for {user}: ").format(user=username))
        if typed:
            return Credentials(password=typed)
    raise InvalidInput(
        tr("{method} signs in with a password, and none was given.").format(
            method=request.method.value
        ),
        next_step=tr("Use --password-stdin or --keyring-entry SITE."),
    )


def _print_line(line: TranscriptLine) -> None:
    print(line.to_text(), flush=True)


def print_verdict(result: SmtpTestResult, out: TextIO) -> None:
    verdict = result.verdict
    print("", file=out)
    print(verdict.title, file=out)
    print(verdict.explanation, file=out)
    print(
        tr("Next: {fix} (wizard step: {step})").format(
            fix=verdict.fix, step=STEP_TITLES[verdict.step]
        ),
        file=out,
    )
    if result.detail:
        print(tr("Detail: {detail}").format(detail=result.detail), file=out)
    print(tr("Reference: {token}").format(token=result.token), file=out)


def run_send_test(args: argparse.Namespace) -> int:
    from wizard.cli import print_json
    from wizard.services.smtp_test import SmtpTest

    request = build_request(args)
    credentials = read_credentials(args, request, sys.stdin)
    test = SmtpTest(request, credentials, on_line=None if args.json else _print_line)
    result = test.run()
    if args.json:
        print_json(result.to_json())
    else:
        print_verdict(result, sys.stdout)
    return EXIT_CODES[result.outcome]
