"""The read-only tenant probe: checks each of the wizard's assumptions on a real tenant.

    report = run_probe(ProbeInputs(cloud, admin, graph, dns, signed_in_as=upn,
                                   tenant_id=tid, extra=(...)))

Only reads: Get- cmdlets, Graph GETs, DNS questions and token requests. Every check
runs on its own: one that fails or cannot run never stops the others, and a network
failure is "not checked" (with the reason), never "did not hold".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from wizard.core.clouds import Cloud
from wizard.core.errors import NetworkError, WizardError
from wizard.core.i18n import tr
from wizard.core.tenant_probe import ProbeArea, ProbeCheck, ProbeReport, ordered
from wizard.services.cancel import Cancellation, check
from wizard.services.dns.client import DnsClient
from wizard.services.exchange_admin import ExchangeAdmin
from wizard.services.graph import Graph, GraphDomain

log = logging.getLogger(__name__)

# A check that needs the domains Graph returned (or the tenant's accepted domains).
CheckFn = Callable[[], Sequence[ProbeCheck]]


@dataclass
class ProbeInputs:
    cloud: Cloud
    admin: ExchangeAdmin | None
    graph: Graph | None
    dns: DnsClient
    signed_in_as: str = ""
    tenant_id: str = ""
    # Checks made elsewhere (sign-in: which app got which token; admin host discovery;
    # the HVE key), run in this order before the reads here.
    extra: Sequence[CheckFn] = field(default=())


def _guarded(
    check_id: str, area: ProbeArea, assumption: str, run: Callable[[], ProbeCheck]
) -> ProbeCheck:
    """Run one check; its failure becomes its own verdict, never the probe's end."""
    try:
        return run()
    except NetworkError as exc:
        return ProbeCheck(
            check_id,
            area,
            assumption,
            None,
            tr("Could not be checked: {reason}").format(reason=exc.plain()),
            (exc.detail[:300],) if exc.detail else (),
        )
    except WizardError as exc:
        return ProbeCheck(
            check_id,
            area,
            assumption,
            False,
            exc.plain(),
            (exc.detail[:300],) if exc.detail else (),
        )


def _not_run(check_id: str, area: ProbeArea, assumption: str, why: str) -> ProbeCheck:
    return ProbeCheck(check_id, area, assumption, None, why)


# --- Exchange --------------------------------------------------------------------------


def _admin_read(admin: ExchangeAdmin, cancel: Cancellation | None) -> ProbeCheck:
    assumption = tr(
        "The signed-in account may read the tenant through the Exchange admin API "
        "(Exchange decides, whatever roles the token carries)."
    )

    def run() -> ProbeCheck:
        result = admin.invoke("Get-OrganizationConfig", {}, cancel=cancel)
        first = result.first or {}
        name = str(first.get("DisplayName") or first.get("Name") or "")
        return ProbeCheck(
            "admin-read",
            ProbeArea.ADMIN_API,
            assumption,
            True,
            tr("Exchange answered Get-OrganizationConfig{name}.").format(
                name=f" ({name})" if name else ""
            ),
            (f"InvokeCommand: {admin.url}",),
        )

    return _guarded("admin-read", ProbeArea.ADMIN_API, assumption, run)


def _admin_host(admin: ExchangeAdmin) -> ProbeCheck:
    """Which host serves the tenant's admin API (after the first read found it)."""
    assumption = tr(
        "The admin API host that serves the tenant is found through EXOModuleFile (some "
        "tenants are served from their own host, as ScubaGear handles)."
    )
    host = urlsplit(admin.url).netloc
    where = (
        tr("the tenant's own host {host}, reached through the front door's redirect")
        if admin.on_tenant_host
        else tr("the front door {host}, which serves the tenant itself")
    ).format(host=host)
    return ProbeCheck(
        "admin-host",
        ProbeArea.ADMIN_API,
        assumption,
        True,
        tr("InvokeCommand goes to {where}.").format(where=where),
        (f"InvokeCommand: {admin.url}",),
    )


def _secure_string_key(admin: ExchangeAdmin, cancel: Cancellation | None) -> ProbeCheck:
    assumption = tr(
        "Exchange's module file carries the public key that protects secret parameters "
        "(New-MailUser -Password when an HVE account is created)."
    )

    def run() -> ProbeCheck:
        bits = admin.secure_string_key_bits(cancel=cancel)
        return ProbeCheck(
            "secure-string-key",
            ProbeArea.HVE,
            assumption,
            True,
            tr("A {bits}-bit RSA public key was found in the module file.").format(bits=bits),
        )

    return _guarded("secure-string-key", ProbeArea.HVE, assumption, run)


def _dkim_configs(admin: ExchangeAdmin, cancel: Cancellation | None) -> dict[str, tuple[str, str]]:
    values = admin.invoke("Get-DkimSigningConfig", {}, cancel=cancel).values
    found: dict[str, tuple[str, str]] = {}
    for item in values:
        domain = str(item.get("Domain") or item.get("Name") or "").lower().rstrip(".")
        one = str(item.get("Selector1CNAME") or "").lower().rstrip(".")
        two = str(item.get("Selector2CNAME") or "").lower().rstrip(".")
        if domain and (one or two):
            found[domain] = (one, two)
    return found


def _dkim_values(admin: ExchangeAdmin, dns: DnsClient, cancel: Cancellation | None) -> ProbeCheck:
    assumption = tr(
        "The DKIM CNAMEs published in DNS are the values Get-DkimSigningConfig gives "
        "(never computed by the wizard)."
    )

    def run() -> ProbeCheck:
        configs = _dkim_configs(admin, cancel)
        if not configs:
            return _not_run(
                "dkim-values",
                ProbeArea.DNS,
                assumption,
                tr("Get-DkimSigningConfig returned no DKIM settings to compare with."),
            )
        evidence: list[str] = []
        wrong: list[str] = []
        for domain, expected in sorted(configs.items()):
            check(cancel)
            for selector, want in zip(("selector1", "selector2"), expected, strict=True):
                if not want:
                    continue
                name = f"{selector}._domainkey.{domain}"
                answer = dns.query(name, "CNAME")
                got = answer.values[0].lower().rstrip(".") if answer.ok else ""
                if answer.is_error:
                    evidence.append(f"{name}: {answer.status} ({answer.detail})")
                    continue
                if answer.is_missing:
                    # Not published yet: the DNS step asks for it; the tenant's value is
                    # still the one to publish, so the assumption is untouched.
                    evidence.append(f"{name}: tenant {want}, DNS (not published yet)")
                    continue
                evidence.append(f"{name}: tenant {want}, DNS {got}")
                if got != want:
                    wrong.append(name)
        return ProbeCheck(
            "dkim-values",
            ProbeArea.DNS,
            assumption,
            not wrong,
            tr("DNS matches the tenant's DKIM values.")
            if not wrong
            else tr("DNS differs from the tenant's DKIM values for {names}.").format(
                names=", ".join(wrong)
            ),
            tuple(evidence),
        )

    return _guarded("dkim-values", ProbeArea.DNS, assumption, run)


def _trace_checks(admin: ExchangeAdmin, cancel: Cancellation | None) -> list[ProbeCheck]:
    # Get-MessageTraceV2 / Get-MessageTraceDetailV2 replaced the old cmdlets on
    # 1 September 2025 (Microsoft Learn, "Get-MessageTraceV2"); 10 days per query.
    assumption_v2 = tr("Get-MessageTraceV2 answers for the last day (at most 10 rows asked).")
    rows: list[dict[str, Any]] = []

    def run_v2() -> ProbeCheck:
        end = datetime.now(UTC)
        start = end - timedelta(days=1)
        result = admin.invoke(
            "Get-MessageTraceV2",
            {
                "StartDate": start.isoformat(timespec="seconds"),
                "EndDate": end.isoformat(timespec="seconds"),
                "ResultSize": 10,
            },
            cancel=cancel,
        )
        rows.extend(result.values)
        return ProbeCheck(
            "trace-v2",
            ProbeArea.TRACE,
            assumption_v2,
            True,
            tr("Get-MessageTraceV2 answered with {n} row(s).").format(n=len(rows)),
        )

    first = _guarded("trace-v2", ProbeArea.TRACE, assumption_v2, run_v2)
    assumption_detail = tr(
        "Get-MessageTraceDetailV2 gives the events of a traced message (the failure reason)."
    )
    with_id = next((r for r in rows if r.get("MessageTraceId") and r.get("RecipientAddress")), None)
    if with_id is None:
        second = _not_run(
            "trace-detail-v2",
            ProbeArea.TRACE,
            assumption_detail,
            tr("No message in the last day to ask about; send one and run the probe again.")
            if first.held
            else tr("Needs Get-MessageTraceV2 first."),
        )
        return [first, second]

    def run_detail() -> ProbeCheck:
        result = admin.invoke(
            "Get-MessageTraceDetailV2",
            {
                "MessageTraceId": str(with_id["MessageTraceId"]),
                "RecipientAddress": str(with_id["RecipientAddress"]),
            },
            cancel=cancel,
        )
        events = [str(v.get("Event") or "") for v in result.values]
        return ProbeCheck(
            "trace-detail-v2",
            ProbeArea.TRACE,
            assumption_detail,
            True,
            tr("Get-MessageTraceDetailV2 answered with {n} event(s).").format(n=len(events)),
            tuple(e for e in events if e)[:10],
        )

    return [first, _guarded("trace-detail-v2", ProbeArea.TRACE, assumption_detail, run_detail)]


# --- Graph and DNS ---------------------------------------------------------------------


def _graph_checks(
    graph: Graph, dns: DnsClient, cloud: Cloud, cancel: Cancellation | None
) -> list[ProbeCheck]:
    checks: list[ProbeCheck] = []
    assumption = tr("Microsoft Graph lets the wizard read the organisation (tenant name).")

    def run_org() -> ProbeCheck:
        org = graph.organization(cancel=cancel)
        return ProbeCheck(
            "graph-organization",
            ProbeArea.GRAPH,
            assumption,
            True,
            tr("Read '{name}'.").format(name=org.display_name or org.tenant_id),
        )

    checks.append(_guarded("graph-organization", ProbeArea.GRAPH, assumption, run_org))

    domains: list[GraphDomain] = []
    assumption = tr("Microsoft Graph lists the tenant's domains (Domain.Read.All).")

    def run_domains() -> ProbeCheck:
        domains.extend(graph.domains(cancel=cancel))
        return ProbeCheck(
            "graph-domains",
            ProbeArea.GRAPH,
            assumption,
            True,
            tr("{n} domain(s), {v} verified.").format(
                n=len(domains), v=sum(1 for d in domains if d.is_verified)
            ),
            tuple(d.name for d in domains)[:20],
        )

    checks.append(_guarded("graph-domains", ProbeArea.GRAPH, assumption, run_domains))

    assumption = tr(
        "Microsoft Graph reads Security Defaults "
        "(policies/identitySecurityDefaultsEnforcementPolicy, Policy.Read.All)."
    )

    def run_defaults() -> ProbeCheck:
        on = graph.security_defaults(cancel=cancel)
        return ProbeCheck(
            "graph-security-defaults",
            ProbeArea.GRAPH,
            assumption,
            True,
            tr("Security Defaults are on.") if on else tr("Security Defaults are off."),
        )

    checks.append(_guarded("graph-security-defaults", ProbeArea.GRAPH, assumption, run_defaults))
    checks.extend(_mx_checks(graph, dns, cloud, domains, cancel))
    return checks


def _mail_domains(domains: Sequence[GraphDomain]) -> list[str]:
    return sorted(
        d.name.lower()
        for d in domains
        if d.is_verified
        and not d.is_initial
        and (not d.supported_services or "Email" in d.supported_services)
    )


def _mx_checks(
    graph: Graph,
    dns: DnsClient,
    cloud: Cloud,
    domains: Sequence[GraphDomain],
    cancel: Cancellation | None,
) -> list[ProbeCheck]:
    records_assumption = tr(
        "Graph serviceConfigurationRecords name the MX host of every mail domain "
        "(the source of truth for the relay host)."
    )
    live_assumption = tr(
        "The MX host the tenant names for each mail domain exists in DNS (it is the host "
        "a direct-send or relay device is given)."
    )
    names = _mail_domains(domains)
    if not names:
        why = tr("No verified mail domain to look at (Graph listed none).")
        return [
            _not_run("graph-service-records", ProbeArea.GRAPH, records_assumption, why),
            _not_run("mx-values", ProbeArea.DNS, live_assumption, why),
        ]
    tenant_mx: dict[str, str] = {}

    def run_records() -> ProbeCheck:
        missing: list[str] = []
        for name in names:
            check(cancel)
            host = graph.mx_host(name, cancel=cancel)
            if host:
                tenant_mx[name] = host
            else:
                missing.append(name)
        return ProbeCheck(
            "graph-service-records",
            ProbeArea.GRAPH,
            records_assumption,
            not missing,
            tr("Every mail domain has an MX record in the tenant.")
            if not missing
            else tr("No MX record in the tenant for {names}.").format(names=", ".join(missing)),
            tuple(f"{d}: {h}" for d, h in sorted(tenant_mx.items())),
        )

    records = _guarded("graph-service-records", ProbeArea.GRAPH, records_assumption, run_records)
    if not tenant_mx:
        return [
            records,
            _not_run(
                "mx-values",
                ProbeArea.DNS,
                live_assumption,
                tr("Needs the tenant's MX values from Graph first."),
            ),
        ]

    def run_live() -> ProbeCheck:
        evidence: list[str] = []
        unresolved: list[str] = []
        for name, want in sorted(tenant_mx.items()):
            check(cancel)
            address = dns.query(want, "A")
            live = dns.query(name, "MX")
            hosts = [v.split()[-1].lower().rstrip(".") for v in live.values] if live.ok else []
            if address.is_error:
                evidence.append(f"{want}: {address.status} ({address.detail})")
            elif not address.ok:
                unresolved.append(want)
            evidence.append(
                f"{name}: tenant {want}; live MX {', '.join(hosts) or str(live.status)}"
                + ("" if want in hosts else " (differs)")
            )
        return ProbeCheck(
            "mx-values",
            ProbeArea.DNS,
            live_assumption,
            not unresolved,
            tr("Every MX host the tenant names resolves.")
            if not unresolved
            else tr("These MX hosts the tenant names do not resolve: {names}.").format(
                names=", ".join(unresolved)
            ),
            tuple(evidence),
        )

    return [records, _guarded("mx-values", ProbeArea.DNS, live_assumption, run_live)]


# --- the probe -------------------------------------------------------------------------


def run_probe(
    inputs: ProbeInputs,
    *,
    cancel: Cancellation | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> ProbeReport:
    checks: list[ProbeCheck] = []
    for extra in inputs.extra:
        check(cancel)
        checks.extend(extra())
    if inputs.admin is not None:
        read = _admin_read(inputs.admin, cancel)
        checks.append(read)
        if read.held:
            checks.append(_admin_host(inputs.admin))
        checks.append(_secure_string_key(inputs.admin, cancel))
    if inputs.graph is not None:
        checks.extend(_graph_checks(inputs.graph, inputs.dns, inputs.cloud, cancel))
    if inputs.admin is not None:
        checks.append(_dkim_values(inputs.admin, inputs.dns, cancel))
        checks.extend(_trace_checks(inputs.admin, cancel))
    check(cancel)
    return ProbeReport(
        cloud=str(inputs.cloud.id),
        tenant_id=inputs.tenant_id,
        signed_in_as=inputs.signed_in_as,
        generated=now(),
        checks=ordered(checks),
    )
