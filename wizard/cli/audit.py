"""`audit`: the read-only relay audit of a tenant, from the command line.

    python main.py audit                       sign in with the browser, print the audit
    python main.py audit --json --device-code  sign in with a code (shown on stderr)
    python main.py --demo audit --json         the built-in sandbox tenant, signed in as
                                               its Global Administrator automatically

It signs in (the system browser by default; `--device-code` prints the code and the
page to enter it on to standard error), reads the tenant with Get- cmdlets only and
reports SMTP AUTH exposure (the tenant switch and every mailbox's own and effective
value), inbound connectors at risk, RejectDirectSend, High Volume Email accounts, and
what changes for the tenant at the end of December 2026 and in 2027. An account
without an Entra admin role in its token is not stopped: Exchange's own role check
decides, so a member of the Organization Management role group can audit.

Exit codes: 0 nothing at risk, 1 findings at risk, 2 bad usage, 3 could not reach the
tenant or sign in, or Exchange refused the account.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from wizard.cli import add_cloud_option

EXIT_OK = 0
EXIT_AT_RISK = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "audit",
        help="read-only audit of a tenant's relay exposure (signs in)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--json", action="store_true", help="print the versioned JSON report")
    p.add_argument(
        "--device-code",
        action="store_true",
        help="sign in with a code on any device instead of this computer's browser",
    )
    p.add_argument("--tenant", metavar="T", help="tenant domain or ID (default: the account's)")
    add_cloud_option(p)
    p.add_argument(
        "--client-id",
        metavar="ID",
        help="your own app registration's client ID (default: Exchange Online PowerShell)",
    )
    p.set_defaults(handler=run_audit_command)


@dataclass
class _Target:
    """Where to sign in, and how the browser is opened."""

    cloud: Any  # wizard.core.clouds.Cloud
    opener: Callable[[str], bool] | None = None
    # The sandbox's own sign-in, for --demo --device-code.
    finish_device_code: Callable[[str, str], None] | None = None


@contextlib.contextmanager
def _target(args: argparse.Namespace) -> Iterator[_Target]:
    from wizard.core.clouds import cloud_by_id

    if not getattr(args, "demo", False):
        cloud = cloud_by_id(args.cloud)
        assert cloud is not None  # argparse allowed only known clouds
        yield _Target(cloud)
        return
    # --demo: the sandbox tenant in this process; its Global Administrator signs in
    # through the sandbox's own sign-in pages, played by the stand-in browser.
    from wizard.sandbox.identity.browser import StandInBrowser, complete_device_sign_in
    from wizard.sandbox.server import Sandbox
    from wizard.sandbox.tenant import GLOBAL_ADMIN

    with Sandbox() as sandbox:
        accounts = sandbox.state.accounts
        # The Global Administrator; in a tenant without one, whoever is there (then
        # Exchange's answer says what is missing).
        admin = next(
            (a.upn for a in accounts if GLOBAL_ADMIN in a.roles),
            next((a.upn for a in accounts if a.roles), accounts[0].upn),
        )
        browser = StandInBrowser(admin, ca_pem=sandbox.ca_pem)

        def enter_code(uri: str, code: str) -> None:
            threading.Thread(
                target=complete_device_sign_in,
                args=(uri, code, admin),
                name="demo-device-code",
                daemon=True,
            ).start()

        print(f"Sandbox tenant: signing in as {admin} automatically.", file=sys.stderr)
        yield _Target(sandbox.cloud, browser.open, enter_code)


def run_audit_command(args: argparse.Namespace) -> int:
    from wizard.core.errors import InvalidInput, WizardError
    from wizard.services.signin import (
        SignInSettings,
        check_client_id,
        check_tenant,
        load_settings,
    )

    saved = load_settings()
    client = check_client_id(args.client_id or "") if args.client_id else None
    tenant = check_tenant(args.tenant or "") if args.tenant else None
    for checked, what in ((client, "--client-id"), (tenant, "--tenant")):
        if checked is not None and not checked.ok:
            print(f"error: {what}: {checked.error}", file=sys.stderr)
            return EXIT_USAGE
    settings = SignInSettings(
        client.value if client is not None and client.value else saved.client_id,
        tenant.value if tenant is not None else saved.tenant,
    )
    if getattr(args, "demo", False):
        settings = SignInSettings()
    try:
        with _target(args) as target:
            report = _audit(target, settings, device_code=args.device_code)
    except InvalidInput as exc:
        _error(exc)
        return EXIT_USAGE
    except WizardError as exc:
        _error(exc)
        return EXIT_UNREACHABLE
    except KeyboardInterrupt:
        print("Stopped.", file=sys.stderr)
        return EXIT_UNREACHABLE
    if args.json:
        from wizard.cli import print_json

        print_json(report.to_json())
    else:
        print_report(report, sys.stdout)
    return EXIT_AT_RISK if report.at_risk else EXIT_OK


def _error(exc: Any) -> None:
    print(f"error: {exc.plain()}", file=sys.stderr)
    if exc.detail:
        print(f"       ({exc.detail})", file=sys.stderr)


def _audit(target: _Target, settings: Any, *, device_code: bool) -> Any:
    from wizard.cli.admin_signin import sign_in_admin
    from wizard.services.audit import run_audit
    from wizard.services.exchange_admin import ExchangeAdmin
    from wizard.services.graph import Graph
    from wizard.services.http import make_session
    from wizard.services.signin import SignIn

    sign_in = SignIn(target.cloud, settings, opener=target.opener)
    account = sign_in_admin(sign_in, target, device_code=device_code)
    # The token's roles are a hint; Exchange's answer to the first read decides.
    if account.has_admin_role is not True:
        print(f"note: {account.upn}: {account.role_text}.", file=sys.stderr)
    print(f"Signed in as {account.upn}; reading the tenant…", file=sys.stderr, flush=True)
    try:
        with make_session(target.cloud) as http:
            admin = ExchangeAdmin.for_sign_in(target.cloud, sign_in, account, session=http)
            graph = Graph(target.cloud, sign_in.graph_token, session=http)
            return run_audit(admin, graph, target.cloud, signed_in_as=account.upn)
    finally:
        sign_in.sign_out()


_MARKS = {"ok": "[ OK ]", "info": "[NOTE]", "warning": "[WARN]", "problem": "[FAIL]"}


def print_report(report: Any, out: TextIO) -> None:
    """The audit in plain text, for a person at a terminal."""
    from wizard.core.steps import STEP_TITLES, WizardStep

    write = out.write
    write(f"Relay audit of {report.tenant_name} ({report.tenant_id})\n")
    if report.signed_in_as:
        write(f"Signed in as {report.signed_in_as}\n")
    write("\n")
    for finding in report.findings:
        write(f"{_MARKS[str(finding.severity)]} {finding.title}\n")
        if finding.details:
            write(f"       {finding.details}\n")
        if finding.fix and finding.needs_action:
            where = (
                "outside the wizard"
                if finding.step is WizardStep.OUTSIDE
                else f"wizard step: {STEP_TITLES[finding.step]}"
                if finding.step is not None
                else ""
            )
            write(f"       Fix: {finding.fix}" + (f" ({where})" if where else "") + "\n")
    write("\nSMTP AUTH per mailbox (own setting / effective):\n")
    tenant = report.tenant_disabled
    write(
        "  tenant switch: " + ("unknown" if tenant is None else ("off" if tenant else "ON")) + "\n"
    )
    width = max((len(m.address) for m in report.mailboxes), default=10)
    for m in report.mailboxes:
        own = "$null" if m.own is None else ("$true" if m.own else "$false")
        effective = "unknown" if m.effective is None else ("off" if m.effective else "ON")
        inherited = " (inherited from the tenant)" if m.inherited else ""
        write(f"  {m.address:<{width}}  {own:<6}  {effective}{inherited}\n")
    if report.connectors:
        write("\nInbound connectors:\n")
        for risk in report.connectors:
            c = risk.connector
            write(
                f"  {c.name}: {', '.join(c.sender_ip_addresses) or '-'}"
                f" / {c.tls_sender_certificate_name or '-'} [{risk.severity}]\n"
            )
    write("\nWhat changes:\n")
    for date in report.dates:
        write(f"  {date.when}: {date.what}\n    For this tenant: {date.impact}\n")
    actions = sum(1 for f in report.findings if f.needs_action)
    write(
        f"\nResult: {actions} finding(s) need action.\n"
        if actions
        else "\nResult: nothing at risk.\n"
    )
