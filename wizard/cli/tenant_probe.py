"""`tenant-probe`: which of the wizard's assumptions hold on this tenant (read-only).

    python main.py tenant-probe                  sign in with the browser, print the checks
    python main.py tenant-probe --json           the versioned JSON report, to attach to a
                                                 bug report
    python main.py --demo tenant-probe --json    against the built-in sandbox tenant

It signs in as an admin and checks, without changing anything: which host serves the
Exchange admin API for this tenant (and whether it redirects), whether Exchange lets the
account read, which app may ask for which token (the Exchange Online PowerShell app for
the admin API, the Microsoft Graph Command Line Tools app for Graph, your own app
registration for SMTP.Send), what Graph lets the wizard read (domains, MX records,
Security Defaults), whether Microsoft's key for HVE passwords can be had, whether the
live MX and DKIM records are the tenant's values, and whether the message trace cmdlets
answer. Tokens and secrets are never printed.

Exit codes: 0 every check held (or could not run), 1 an assumption did not hold,
2 bad usage, 3 could not sign in or reach the tenant.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from wizard.cli import add_cloud_option

EXIT_OK = 0
EXIT_DID_NOT_HOLD = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "tenant-probe",
        help="read-only: check which of the wizard's assumptions hold on this tenant",
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
    p.set_defaults(handler=run_probe_command)


def run_probe_command(args: argparse.Namespace) -> int:
    from wizard.cli.audit import _target
    from wizard.core.errors import InvalidInput, WizardError
    from wizard.services.signin import SignInSettings, check_tenant, load_settings

    saved = load_settings()
    tenant = check_tenant(args.tenant or "") if args.tenant else None
    if tenant is not None and not tenant.ok:
        print(f"error: --tenant: {tenant.error}", file=sys.stderr)
        return EXIT_USAGE
    settings = SignInSettings(saved.client_id, tenant.value if tenant is not None else saved.tenant)
    if getattr(args, "demo", False):
        settings = SignInSettings()
    try:
        with _target(args) as target:
            report = _probe(target, settings, device_code=args.device_code)
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
    return EXIT_DID_NOT_HOLD if report.failed else EXIT_OK


def _error(exc: Any) -> None:
    print(f"error: {exc.plain()}", file=sys.stderr)
    if exc.detail:
        print(f"       ({exc.detail[:300]})", file=sys.stderr)


def _probe(target: Any, settings: Any, *, device_code: bool) -> Any:
    from wizard.cli.admin_signin import sign_in_admin
    from wizard.services.dns.client import DnsClient, DnsSettings
    from wizard.services.exchange_admin import ExchangeAdmin
    from wizard.services.graph import Graph
    from wizard.services.http import make_session
    from wizard.services.signin import SignIn
    from wizard.services.tenant_probe import ProbeInputs, run_probe
    from wizard.services.tenant_probe_tokens import token_checks

    cloud = target.cloud
    sign_in = SignIn(cloud, settings, opener=target.opener)
    account = sign_in_admin(sign_in, target, device_code=device_code)
    print(f"Signed in as {account.upn}; probing the tenant…", file=sys.stderr, flush=True)
    dns_settings = DnsSettings(nameservers=(cloud.dns_server,) if cloud.dns_server else ())
    try:
        with make_session(cloud) as http, DnsClient(dns_settings) as dns:
            admin = ExchangeAdmin.for_sign_in(cloud, sign_in, account, session=http)
            graph = Graph(cloud, sign_in.graph_token, session=http)
            extra: Sequence[Callable[[], Sequence[Any]]] = (lambda: token_checks(sign_in, account),)
            return run_probe(
                ProbeInputs(
                    cloud,
                    admin,
                    graph,
                    dns,
                    signed_in_as=account.upn,
                    tenant_id=account.tenant_id,
                    extra=extra,
                )
            )
    finally:
        sign_in.sign_out()


_MARKS = {True: "[HELD]", False: "[FAIL]", None: "[ -- ]"}


def print_report(report: Any, out: TextIO) -> None:
    """The probe in plain text, grouped by area."""
    from wizard.core.tenant_probe import AREA_TITLES

    write = out.write
    write(f"Tenant probe of {report.tenant_id} ({report.cloud}), as {report.signed_in_as}\n")
    write("Nothing was changed in the tenant.\n")
    area = None
    for c in report.checks:
        if c.area is not area:
            area = c.area
            write(f"\n{AREA_TITLES[area]}\n")
        write(f"{_MARKS[c.held]} {c.assumption}\n")
        if c.observed:
            write(f"       {c.observed}\n")
        for line in c.evidence:
            write(f"         {line}\n")
    held = sum(1 for c in report.checks if c.held is True)
    write(
        f"\nResult: {held} held, {len(report.failed)} did not hold, "
        f"{len(report.not_checked)} could not be checked.\n"
    )
