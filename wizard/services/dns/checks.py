"""The DNS health check for Microsoft 365: every question in parallel, results as they come.

    settings = dns_settings_for(cloud, nameserver=None)
    with DnsClient(settings) as client:
        report = run_dns_checks(
            DnsCheckRequest("contoso.com", method=Method.CONNECTOR), cloud, client,
            on_result=show_one, is_cancelled=token_is_cancelled,
        )

Each group of checks (MX, SPF, DKIM, DMARC, Autodiscover, site IP with PTR and
blocklists) runs on its own worker; `on_result` is called from those workers as each
check is decided (the UI moves it to its own thread). The SPF tree is fetched a
level at a time, every name of a level at once, so a deep include tree costs a few
round trips, not one per include. pyspf then evaluates the site's address against
the answers already fetched.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from wizard.core.clouds import Cloud, Endpoint
from wizard.core.dns.context import CheckContext
from wizard.core.dns.dkim import DkimFacts, dkim_checks
from wizard.core.dns.dmarc_checks import dmarc_check
from wizard.core.dns.model import (
    DEFAULT_BLOCKLISTS,
    CheckId,
    CheckResult,
    DnsReport,
    ExpectedRecords,
    IpProvider,
    SiteIpSource,
)
from wizard.core.dns.mx import mx_check
from wizard.core.dns.site_ip import (
    autodiscover_check,
    blocklist_check,
    blocklist_query,
    ptr_check,
    reverse_name,
    site_ip_check,
)
from wizard.core.dns.spf import MAX_LOOKUPS
from wizard.core.dns.spf_checks import (
    SpfEvaluation,
    SpfFacts,
    SpfFix,
    microsoft_include_term,
    spf_checks,
    wants_site_ip_in_spf,
)
from wizard.core.dns.spf_merge import flatten_own_terms, merge_spf
from wizard.core.dns.spf_walk import SpfWalk, walk_spf
from wizard.core.errors import InvalidInput, NetworkError
from wizard.core.i18n import tr
from wizard.core.methods import Method
from wizard.core.validation import check_domain, check_public_ipv4, domain_to_ascii
from wizard.services.dns.client import DnsClient, DnsSettings
from wizard.services.dns.spf_eval import evaluate_spf
from wizard.services.public_ip import detect_public_ip, providers_for

log = logging.getLogger(__name__)

# A deeper SPF tree than this is broken anyway (10 lookups); stop fetching.
MAX_SPF_ROUNDS = 12
# DMARC's tree walk (RFC 9091 / DMARCbis) asks at most this many parent names.
MAX_DMARC_PARENTS = 4

ResultCallback = Callable[[CheckResult], None]


@dataclass(frozen=True)
class DnsCheckRequest:
    domain: str
    method: Method | None = None
    # Entered by hand; None means detect it through DNS (when `detect_site_ip`).
    site_ip: str | None = None
    detect_site_ip: bool = True
    expected: ExpectedRecords = field(default_factory=ExpectedRecords)
    blocklists: tuple[str, ...] = DEFAULT_BLOCKLISTS
    # None: the cloud's DNS server if it has one, else the public providers.
    ip_providers: tuple[IpProvider, ...] | None = None


def dns_settings_for(
    cloud: Cloud | None,
    *,
    nameserver: Endpoint | None = None,
    query_timeout: float | None = None,
    budget: float | None = None,
) -> DnsSettings:
    """Which DNS server to ask: the given one, else the cloud's own, else the system's."""
    server = nameserver or (cloud.dns_server if cloud is not None else None)
    settings = DnsSettings(nameservers=(server,) if server else ())
    if query_timeout is not None:
        settings = DnsSettings(settings.nameservers, query_timeout, settings.budget)
    if budget is not None:
        settings = DnsSettings(settings.nameservers, settings.query_timeout, budget)
    return settings


class _Emitter:
    """Collects results and hands each to the callback once, one at a time."""

    def __init__(self, callback: ResultCallback | None, is_cancelled: Callable[[], bool]) -> None:
        self._callback = callback
        self._is_cancelled = is_cancelled
        self._lock = threading.Lock()
        self.results: dict[CheckId, CheckResult] = {}

    def __call__(self, *results: CheckResult) -> None:
        for result in results:
            with self._lock:
                self.results[result.id] = result
                if self._callback is not None and not self._is_cancelled():
                    try:
                        self._callback(result)
                    except Exception:  # a broken listener must not lose the report
                        log.exception("DNS result callback failed")


def _validated_site_ip(text: str | None) -> str | None:
    """The office's public IPv4 as entered; a private, shared or reserved address is bad
    input: an SPF fix with `ip4:10.0.0.1` would authorise nobody's real mail."""
    if text is None or not text.strip():
        return None
    checked = check_public_ipv4(text)
    if not checked.ok or checked.value is None:
        raise InvalidInput(
            checked.error,
            next_step=tr("Enter the office's public IPv4 address, e.g. 203.0.113.7."),
        )
    return checked.value


def run_dns_checks(
    request: DnsCheckRequest,
    cloud: Cloud,
    client: DnsClient,
    *,
    on_result: ResultCallback | None = None,
    is_cancelled: Callable[[], bool] = lambda: False,
) -> DnsReport:
    """Run every check; raises InvalidInput for a bad domain or address, nothing else.

    Network trouble never raises: it becomes checks with status "error".
    """
    started = time.monotonic()
    checked = check_domain(request.domain)
    if not checked.ok or checked.value is None:
        raise InvalidInput(checked.error)
    domain = checked.value
    domain_ascii = domain_to_ascii(domain)
    entered_ip = _validated_site_ip(request.site_ip)
    emit = _Emitter(on_result, is_cancelled)
    base = CheckContext(
        domain=domain,
        domain_ascii=domain_ascii,
        method=request.method,
        cloud=cloud,
        site_ip=entered_ip,
        site_ip_source=SiteIpSource.ENTERED if entered_ip else SiteIpSource.NONE,
        expected=request.expected,
    )
    site_ctx: Future[CheckContext] = Future()
    with ThreadPoolExecutor(6, thread_name_prefix="dns-check") as jobs:
        futures = [
            jobs.submit(_site_ip_job, base, request, cloud, client, emit, site_ctx),
            jobs.submit(_mx_job, base, client, emit),
            jobs.submit(_spf_job, base, client, emit, site_ctx, is_cancelled),
            jobs.submit(_dkim_job, base, client, emit),
            jobs.submit(_dmarc_job, base, client, emit),
            jobs.submit(_autodiscover_job, base, client, emit),
        ]
        for future in futures:
            future.result()
    ctx = site_ctx.result() if site_ctx.done() else base
    return DnsReport(
        domain=domain,
        domain_ascii=domain_ascii,
        method=request.method.value if request.method else None,
        site_ip=ctx.site_ip,
        site_ip_source=ctx.site_ip_source,
        nameserver=client.settings.label,
        checks=tuple(emit.results.values()),
        elapsed=time.monotonic() - started,
        cancelled=is_cancelled(),
    )


# --- the jobs ---------------------------------------------------------------------------


def _site_ip_job(
    base: CheckContext,
    request: DnsCheckRequest,
    cloud: Cloud,
    client: DnsClient,
    emit: _Emitter,
    out: Future[CheckContext],
) -> None:
    ctx = base
    detail = ""
    error = ""
    try:
        if base.site_ip:
            detail = tr("Entered by hand.")
        elif request.detect_site_ip:
            providers = request.ip_providers or providers_for(cloud)
            try:
                found = detect_public_ip(client, providers)
            except NetworkError as exc:
                error = exc.plain()
            else:
                ctx = _with_site_ip(base, found.address)
                detail = found.describe()
    finally:
        out.set_result(ctx)
    emit(site_ip_check(ctx, detail, error))
    if not ctx.site_ip:
        emit(ptr_check(ctx, None), blocklist_check(ctx, []))
        return
    ptr_future = client.submit(reverse_name(ctx.site_ip), "PTR")
    lists = [
        (zone, client.submit(blocklist_query(ctx.site_ip, zone), "A"))
        for zone in request.blocklists
    ]
    emit(ptr_check(ctx, ptr_future.result()))
    emit(blocklist_check(ctx, [(zone, f.result()) for zone, f in lists]))


def _with_site_ip(ctx: CheckContext, address: str) -> CheckContext:
    return CheckContext(
        domain=ctx.domain,
        domain_ascii=ctx.domain_ascii,
        method=ctx.method,
        cloud=ctx.cloud,
        site_ip=address,
        site_ip_source=SiteIpSource.DETECTED,
        expected=ctx.expected,
    )


def _mx_job(ctx: CheckContext, client: DnsClient, emit: _Emitter) -> None:
    emit(mx_check(ctx, client.query(ctx.domain_ascii, "MX")))


def _autodiscover_job(ctx: CheckContext, client: DnsClient, emit: _Emitter) -> None:
    emit(autodiscover_check(ctx, client.query(f"autodiscover.{ctx.domain_ascii}", "CNAME")))


def _dkim_job(ctx: CheckContext, client: DnsClient, emit: _Emitter) -> None:
    names = [f"{sel}._domainkey.{ctx.domain_ascii}" for sel in ("selector1", "selector2")]
    answers = client.query_many([(n, t) for n in names for t in ("CNAME", "TXT")])
    facts = [
        DkimFacts(sel, answers[(name, "CNAME")], answers[(name, "TXT")])
        for sel, name in zip(("selector1", "selector2"), names, strict=True)
    ]
    emit(*dkim_checks(ctx, facts[0], facts[1]))


def _dmarc_job(ctx: CheckContext, client: DnsClient, emit: _Emitter) -> None:
    labels = ctx.domain_ascii.split(".")
    # Parents down to the last two labels (a public suffix has no DMARC record).
    parents = [".".join(labels[i:]) for i in range(1, len(labels) - 1)][:MAX_DMARC_PARENTS]
    names = [f"_dmarc.{ctx.domain_ascii}", *(f"_dmarc.{p}" for p in parents)]
    answers = client.query_many([(n, "TXT") for n in names])
    own = answers[(names[0], "TXT")]
    emit(dmarc_check(ctx, own, [answers[(n, "TXT")] for n in names[1:]]))


def walk_spf_fully(
    client: DnsClient,
    domain_ascii: str,
    *,
    record_text: str | None = None,
    is_cancelled: Callable[[], bool] = lambda: False,
) -> SpfWalk:
    """Walk the SPF tree, fetching each level's names in parallel."""
    walk = walk_spf(domain_ascii, client.cached, record_text=record_text)
    rounds = 0
    while walk.needed and rounds < MAX_SPF_ROUNDS and not is_cancelled():
        client.query_many(walk.needed)
        walk = walk_spf(domain_ascii, client.cached, record_text=record_text)
        rounds += 1
    return walk


def _spf_job(
    base: CheckContext,
    client: DnsClient,
    emit: _Emitter,
    site_ctx: Future[CheckContext],
    is_cancelled: Callable[[], bool],
) -> None:
    walk = walk_spf_fully(client, base.domain_ascii, is_cancelled=is_cancelled)
    ctx = site_ctx.result()
    evaluation: SpfEvaluation | None = None
    top_ok = walk.top is not None and not walk.top.is_error
    if ctx.site_ip and top_ok:
        evaluation = evaluate_spf(client, ctx.domain_ascii, ctx.site_ip)
    fix = _spf_fix(ctx, client, walk, evaluation, is_cancelled) if top_ok else None
    emit(*spf_checks(ctx, SpfFacts(walk, evaluation, fix)))


def _spf_fix(
    ctx: CheckContext,
    client: DnsClient,
    walk: SpfWalk,
    evaluation: SpfEvaluation | None,
    is_cancelled: Callable[[], bool],
) -> SpfFix | None:
    """Merge what is missing into the published record, and prove the result works."""
    add = microsoft_include_term(ctx, walk)
    merge = merge_spf(walk.records, add_mechanisms=add)
    if ctx.site_ip and wants_site_ip_in_spf(ctx):
        # Does the record pass the office's address once fixed? The published one may
        # pass only through the '+all' the fix takes away.
        needs_ip = evaluation is None or evaluation.result != "pass"
        if not needs_ip and merge.changes_anything:
            needs_ip = (
                evaluate_spf(client, ctx.domain_ascii, ctx.site_ip, merge.record).result != "pass"
            )
        if needs_ip:
            add = [*add, f"ip4:{ctx.site_ip}"]
            merge = merge_spf(walk.records, add_mechanisms=add)
    if not merge.changes_anything:
        if walk.lookups <= MAX_LOOKUPS or not walk.records:
            return None
        # Nothing to add, but the published record is over the limit: offer the
        # flattened alternative on its own.
        flat = flatten_own_terms(walk.records[0], walk.addresses)
        flat_walk = walk_spf_fully(client, ctx.domain_ascii, record_text=flat) if flat else None
        return SpfFix(merge, walk, None, flat, flat_walk)
    merged_walk = walk_spf_fully(
        client, ctx.domain_ascii, record_text=merge.record, is_cancelled=is_cancelled
    )
    merged_eval: SpfEvaluation | None = None
    adds_ip = any(t.startswith("ip4:") for t in merge.added)
    if ctx.site_ip and adds_ip:
        merged_eval = evaluate_spf(client, ctx.domain_ascii, ctx.site_ip, merge.record)
        if merged_eval.result in ("fail", "softfail", "neutral"):
            # An existing term (e.g. -ip4:203.0.113.0/24) matches first: put ours first.
            front = merge_spf(walk.records, add_mechanisms=add, at_front=True)
            front_eval = evaluate_spf(client, ctx.domain_ascii, ctx.site_ip, front.record)
            if front_eval.result == "pass":
                merge, merged_eval = front, front_eval
    alternative: str | None = None
    alternative_walk: SpfWalk | None = None
    if merged_walk.lookups > MAX_LOOKUPS:
        alternative = flatten_own_terms(merge.record, merged_walk.addresses)
        if alternative:
            alternative_walk = walk_spf_fully(
                client, ctx.domain_ascii, record_text=alternative, is_cancelled=is_cancelled
            )
    return SpfFix(merge, merged_walk, merged_eval, alternative, alternative_walk)
