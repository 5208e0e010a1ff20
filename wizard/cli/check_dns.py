"""`check-dns`: the DNS health check for Microsoft 365 from the command line.

    python main.py check-dns contoso.com --method connector --site-ip 203.0.113.7
    python main.py check-dns contoso.example --nameserver 127.0.0.1:53535 --json

Exit codes: 0 every check passed (or is information only), 1 a check found a
problem (warning or fail), 2 bad input, 3 some check could not be done (timeout,
SERVFAIL, unreachable DNS server) and none found a problem.

Without --site-ip the office's public IP is detected through DNS: by asking the
OpenDNS, Google and Cloudflare "what is my IP" servers directly, or, when
--nameserver is an address on this computer (such as the sandbox's DNS server),
by asking that server, which can answer only for itself.

--json prints one object (schema_version 1, see README "check-dns --json"):
domain, domain_ascii, method, site_ip, site_ip_source, nameserver,
elapsed_seconds, overall, cancelled, and checks: a list of objects with id, title,
status (pass, warning, fail, info, error), summary, details, found and fix (null,
or name, host, type, value, ttl, action, replaces, note, warning, alternative).
"""

from __future__ import annotations

import argparse
import ipaddress
import math
import socket
import sys
from typing import TextIO

from wizard.cli import add_cloud_option
from wizard.core.clouds import Endpoint, cloud_by_id
from wizard.core.dns.model import (
    CHECK_ORDER,
    DEFAULT_BLOCKLISTS,
    DEFAULT_BUDGET,
    DEFAULT_QUERY_TIMEOUT,
    CheckStatus,
    DnsReport,
    RecordFix,
    report_to_json,
)
from wizard.core.errors import InvalidInput
from wizard.core.i18n import tr
from wizard.core.methods import Method

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_UNREACHABLE = 3

_MARKS = {
    CheckStatus.PASS: "[ OK ]",
    CheckStatus.WARNING: "[WARN]",
    CheckStatus.FAIL: "[FAIL]",
    CheckStatus.INFO: "[INFO]",
    CheckStatus.ERROR: "[ ?? ]",
}


# Beyond these a check is no longer a check (and a typo such as 1e309 is inf).
MAX_QUERY_TIMEOUT = 60.0
MAX_BUDGET = 600.0


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "check-dns",
        help="check a domain's DNS for Microsoft 365 (MX, SPF, DKIM, DMARC, site IP)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("domain", metavar="DOMAIN", help="the mail domain, e.g. contoso.com")
    p.add_argument("--site-ip", metavar="IP", help="the office's public IPv4 (default: detect)")
    p.add_argument(
        "--method",
        metavar="M",
        choices=[m.value for m in Method],
        help="the sending method: " + ", ".join(m.value for m in Method),
    )
    p.add_argument(
        "--nameserver",
        metavar="HOST[:PORT]",
        help="DNS server to ask (default: this computer's resolvers)",
    )
    add_cloud_option(p)
    p.add_argument(
        "--blocklist",
        metavar="ZONE",
        action="append",
        help=f"DNS blocklist to check the IP against (repeatable; default: "
        f"{', '.join(DEFAULT_BLOCKLISTS)})",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_QUERY_TIMEOUT,
        metavar="S",
        help=f"seconds to wait for each answer (default {DEFAULT_QUERY_TIMEOUT})",
    )
    p.add_argument(
        "--budget",
        type=float,
        default=DEFAULT_BUDGET,
        metavar="S",
        help=f"seconds for the whole check (default {DEFAULT_BUDGET})",
    )
    p.add_argument("--json", action="store_true", help="print the versioned JSON report")
    p.set_defaults(handler=run_check_dns)


def parse_nameserver(text: str) -> Endpoint:
    """'127.0.0.1:5353', '[::1]:53', '9.9.9.9' or 'dns.example:53' -> Endpoint(IP, port)."""
    raw = text.strip()
    host, port_text = raw, ""
    if raw.startswith("["):
        host, _, rest = raw[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif raw.count(":") == 1:
        host, port_text = raw.split(":")
    port = 53
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise InvalidInput(tr("'{0}' is not a port number.").format(port_text))
        port = int(port_text)
    try:
        return Endpoint(str(ipaddress.ip_address(host)), port)
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except (OSError, UnicodeError) as error:
        raise InvalidInput(
            tr("The DNS server '{0}' cannot be found.").format(host),
            next_step=tr("Give its IP address instead."),
        ) from error
    return Endpoint(str(infos[0][4][0]), port)


def exit_code(report: DnsReport) -> int:
    if report.has_problems:
        return EXIT_PROBLEMS
    if report.has_errors:
        return EXIT_UNREACHABLE
    return EXIT_OK


def run_check_dns(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    cloud = cloud_by_id(args.cloud)
    if cloud is None:
        raise InvalidInput(tr("Unknown cloud '{0}'.").format(args.cloud))
    for option, value, most in (
        ("--timeout", args.timeout, MAX_QUERY_TIMEOUT),
        ("--budget", args.budget, MAX_BUDGET),
    ):
        # "nan" and "inf" parse as floats; NaN is never <= 0 and never runs out.
        if not math.isfinite(value) or not 0 < value <= most:
            raise InvalidInput(
                tr("{option} must be a number of seconds above 0 and at most {most:g}.").format(
                    option=option, most=most
                )
            )
    nameserver = parse_nameserver(args.nameserver) if args.nameserver else None
    # A server on this computer (the sandbox) can play the "what is my IP" provider;
    # an ordinary resolver would report its own address, so the public ones are asked.
    local = nameserver is not None and ipaddress.ip_address(nameserver.host).is_loopback
    from wizard.services.dns.checks import DnsCheckRequest, dns_settings_for, run_dns_checks
    from wizard.services.dns.client import DnsClient
    from wizard.services.public_ip import providers_for

    providers = providers_for(cloud, nameserver=nameserver if local else None)
    request = DnsCheckRequest(
        args.domain,
        method=Method(args.method) if args.method else None,
        site_ip=args.site_ip,
        blocklists=tuple(args.blocklist) if args.blocklist else DEFAULT_BLOCKLISTS,
        ip_providers=providers,
    )
    settings = dns_settings_for(
        cloud, nameserver=nameserver, query_timeout=args.timeout, budget=args.budget
    )
    with DnsClient(settings) as client:
        report = run_dns_checks(request, cloud, client)
    if args.json:
        import json

        json.dump(report_to_json(report), out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        print_report(report, out)
    return exit_code(report)


def print_report(report: DnsReport, out: TextIO) -> None:
    domain = report.domain
    if report.domain_ascii != report.domain:
        domain += f" ({report.domain_ascii})"
    print(tr("DNS check for {0} (asked: {1})").format(domain, report.nameserver), file=out)
    for check in sorted(report.checks, key=lambda c: CHECK_ORDER.index(c.id)):
        print(f"{_MARKS[check.status]} {check.title}", file=out)
        print(f"       {check.summary}", file=out)
        for line in check.details:
            print(f"         {line}", file=out)
        if check.fix is not None and check.status is not CheckStatus.PASS:
            _print_fix(check.fix, out)
    fixes = report.fixes()
    verdict = {
        CheckStatus.PASS: tr("All good."),
        CheckStatus.INFO: tr("All good."),
        CheckStatus.WARNING: tr("Problems found."),
        CheckStatus.FAIL: tr("Problems found."),
        CheckStatus.ERROR: tr("Some checks could not be done."),
    }[report.overall]
    count = tr(" {0} record(s) to publish.").format(len(fixes)) if fixes else ""
    print(f"{verdict}{count} ({report.elapsed:.2f} s)", file=out)


def _print_fix(fix: RecordFix, out: TextIO, label: str = "") -> None:
    label = label or tr("Publish")
    verb = tr("replacing") if fix.replaces else ""
    print(f"       {label}: {fix.host}  {fix.rtype}  {fix.value}  (TTL {fix.ttl})", file=out)
    if verb:
        for old in fix.replaces:
            print(f"         {verb}: {old}", file=out)
    for text in (fix.note, fix.warning):
        if text:
            print(f"         {text}", file=out)
    if fix.alternative is not None:
        _print_fix(fix.alternative, out, tr("Or publish"))
