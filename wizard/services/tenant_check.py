"""The read-only tenant check: everything the findings and the plan need, read at once.

    snapshot = read_tenant(admin, graph, site_domain="contoso.com",
                           addresses=("scanner@contoso.com",), cancel=token)

Independent reads run side by side (a few at a time, the admin API throttles per
tenant). Exchange is the source for what the wizard changes: a failure there ends
the check with the typed error. Graph and the optional Exchange reads (DKIM, HVE
accounts) only add detail: when they fail the value stays unknown and
`snapshot.unreadable` says so in plain words.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from wizard.core.clouds import Cloud
from wizard.core.errors import WizardError
from wizard.core.i18n import tr
from wizard.core.methods import SUBMISSION_METHODS, Method, Tri
from wizard.core.plan import sending_addresses
from wizard.core.profile import SiteProfile
from wizard.core.tenant import (
    AcceptedDomain,
    DkimConfig,
    HveAccount,
    InboundConnector,
    MailboxState,
    MxInfo,
    MxSource,
    TenantSnapshot,
    distinct_addresses,
    normalise_domain,
)
from wizard.services.cancel import Cancellation, Cancelled, check
from wizard.services.exchange_admin import ExchangeAdmin, ExchangeCommandError
from wizard.services.graph import Graph, Organization

log = logging.getLogger(__name__)

T = TypeVar("T")
# Side-by-side reads; Exchange Online throttles bursts from one admin.
MAX_PARALLEL = 4


# --- reading Exchange's JSON ----------------------------------------------------------


def as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "$true", "1"):
            return True
        if text in ("false", "$false", "0"):
            return False
    if isinstance(value, int):
        return bool(value)
    return None


def as_strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, list | tuple):
        return tuple(str(v).strip() for v in value if v is not None and str(v).strip())
    return (str(value),)


def as_text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def accepted_domain(item: dict[str, Any]) -> AcceptedDomain:
    return AcceptedDomain(
        name=as_text(item.get("DomainName") or item.get("Name")).lower(),
        default=as_bool(item.get("Default")) is True,
        initial=as_bool(item.get("InitialDomain")) is True,
        domain_type=as_text(item.get("DomainType")) or "Authoritative",
    )


def inbound_connector(item: dict[str, Any]) -> InboundConnector:
    name = as_text(item.get("Name") or item.get("Identity"))
    return InboundConnector(
        name=name,
        identity=as_text(item.get("Identity") or item.get("Guid") or name),
        connector_type=as_text(item.get("ConnectorType")) or "OnPremises",
        sender_domains=as_strings(item.get("SenderDomains")),
        sender_ip_addresses=as_strings(item.get("SenderIPAddresses")),
        restrict_domains_to_ip_addresses=as_bool(item.get("RestrictDomainsToIPAddresses")) is True,
        tls_sender_certificate_name=as_text(item.get("TlsSenderCertificateName")) or None,
        restrict_domains_to_certificate=as_bool(item.get("RestrictDomainsToCertificate")) is True,
        require_tls=as_bool(item.get("RequireTls")) is True,
        enabled=as_bool(item.get("Enabled")) is not False,
        comment=as_text(item.get("Comment")),
    )


def dkim_config(item: dict[str, Any]) -> DkimConfig:
    return DkimConfig(
        domain=as_text(item.get("Domain") or item.get("Name")).lower(),
        enabled=as_bool(item.get("Enabled")) is True,
        selector1_cname=as_text(item.get("Selector1CNAME")),
        selector2_cname=as_text(item.get("Selector2CNAME")),
    )


def hve_account(item: dict[str, Any]) -> HveAccount:
    return HveAccount(
        address=as_text(item.get("PrimarySmtpAddress") or item.get("WindowsEmailAddress")),
        display_name=as_text(item.get("DisplayName") or item.get("Name")),
        identity=as_text(item.get("Identity") or item.get("Guid")),
    )


# --- the tenant's identity (for the sign-in page) -----------------------------------


@dataclass(frozen=True)
class TenantIdentity:
    tenant_id: str
    display_name: str
    default_domain: str | None
    accepted_domains: tuple[AcceptedDomain, ...]

    def owns(self, domain: str) -> bool:
        wanted = normalise_domain(domain)
        return any(normalise_domain(d.name) == wanted for d in self.accepted_domains)


def read_identity(
    admin: ExchangeAdmin, graph: Graph | None = None, *, cancel: Cancellation | None = None
) -> TenantIdentity:
    """The signed-in tenant's name and domains, from Exchange (Graph for a nicer name)."""
    domains = tuple(
        accepted_domain(d) for d in admin.invoke("Get-AcceptedDomain", cancel=cancel).values
    )
    name = ""
    if graph is not None:
        try:
            name = graph.organization(cancel=cancel).display_name
        except Cancelled:
            raise
        except WizardError as exc:
            log.info("organization name from Graph unavailable: %s", exc.detail or exc.what)
    if not name:
        org = admin.invoke("Get-OrganizationConfig", cancel=cancel).first or {}
        name = as_text(org.get("DisplayName") or org.get("Name"))
    default = next((d.name for d in domains if d.default), None)
    return TenantIdentity(admin.tenant_id, name or default or admin.tenant_id, default, domains)


# --- the whole check ------------------------------------------------------------------


class _Reads:
    """Runs reads side by side; collects optional failures as plain words."""

    def __init__(self, pool: ThreadPoolExecutor, cancel: Cancellation | None) -> None:
        self.pool = pool
        self.cancel = cancel
        self.unreadable: list[str] = []

    def start(self, read: Callable[[], T]) -> Future[T]:
        return self.pool.submit(read)

    def required(self, future: Future[T]) -> T:
        return self._result(future)

    def optional(self, future: Future[T], what: str) -> T | None:
        try:
            return self._result(future)
        except Cancelled:
            raise
        except WizardError as exc:
            log.info("optional read failed (%s): %s", what, exc.detail or exc.what)
            # With what to do: "Wait 60 minutes" is the whole answer to a long 429.
            reason = f"{exc.what} {exc.next_step}".strip() if exc.next_step else exc.what
            self.unreadable.append(
                tr("{what} could not be read: {reason}").format(what=what, reason=reason)
            )
            return None

    def _result(self, future: Future[T]) -> T:
        while True:
            check(self.cancel)
            try:
                return future.result(timeout=0.05)
            except TimeoutError:
                continue


def _mailbox(admin: ExchangeAdmin, address: str, cancel: Cancellation | None) -> MailboxState:
    try:
        result = admin.invoke("Get-CASMailbox", {"Identity": address}, cancel=cancel)
    except ExchangeCommandError as exc:
        if exc.is_not_found:
            return MailboxState(address, exists=False)
        raise
    item = result.first
    if item is None:
        return MailboxState(address, exists=False)
    return MailboxState(
        address=address,
        exists=True,
        smtp_auth_disabled=as_bool(item.get("SmtpClientAuthenticationDisabled")),
        display_name=as_text(item.get("DisplayName") or item.get("Name")),
    )


def _hve_accounts(admin: ExchangeAdmin, cancel: Cancellation | None) -> list[dict[str, Any]]:
    """HVE accounts: `Get-MailUser -HVEAccount`, else every mail user marked as one.

    Not every Exchange build takes the switch on Get-MailUser; the recipient type
    tells HVE accounts apart either way.
    """
    try:
        return admin.invoke("Get-MailUser", {"HVEAccount": True}, cancel=cancel).values
    except ExchangeCommandError as exc:
        if exc.status != 400 or "parameter" not in exc.server_text.lower():
            raise
        log.info("Get-MailUser -HVEAccount refused (%s); filtering all mail users", exc.error_type)
    users = admin.invoke("Get-MailUser", {"ResultSize": "Unlimited"}, cancel=cancel).values
    return [
        u
        for u in users
        if as_bool(u.get("HVEAccount")) is True
        or as_text(u.get("RecipientTypeDetails")).lower() == "hveaccount"
    ]


def read_tenant(
    admin: ExchangeAdmin,
    graph: Graph | None,
    cloud: Cloud,
    *,
    site_domain: str,
    addresses: Iterable[str] = (),
    cancel: Cancellation | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> TenantSnapshot:
    """Read the tenant for a site; see the module's notes on what may stay unknown."""
    wanted = distinct_addresses(addresses)
    domain = normalise_domain(site_domain) if site_domain.strip() else ""
    pool = ThreadPoolExecutor(max_workers=MAX_PARALLEL, thread_name_prefix="tenant-check")
    reads = _Reads(pool, cancel)
    try:

        def run(cmdlet: str, parameters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
            return admin.invoke(cmdlet, parameters, cancel=cancel).values

        f_domains = reads.start(lambda: run("Get-AcceptedDomain"))
        f_transport = reads.start(lambda: run("Get-TransportConfig"))
        f_org = reads.start(lambda: run("Get-OrganizationConfig"))
        f_connectors = reads.start(lambda: run("Get-InboundConnector"))
        f_mailboxes = [pool.submit(_mailbox, admin, a, cancel) for a in wanted]
        f_dkim = reads.start(lambda: run("Get-DkimSigningConfig"))
        f_hve = reads.start(lambda: _hve_accounts(admin, cancel))
        f_graph_org: Future[Organization] | None = None
        f_mx: Future[str | None] | None = None
        f_sd: Future[bool] | None = None
        if graph is not None:
            f_graph_org = reads.start(lambda: graph.organization(cancel=cancel))
            if domain:
                f_mx = reads.start(lambda: graph.mx_host(domain, cancel=cancel))
            f_sd = reads.start(lambda: graph.security_defaults(cancel=cancel))

        domains = tuple(accepted_domain(d) for d in reads.required(f_domains))
        transport = (reads.required(f_transport) or [{}])[0]
        org = (reads.required(f_org) or [{}])[0]
        connectors = tuple(inbound_connector(c) for c in reads.required(f_connectors))
        mailboxes = tuple(reads.required(f) for f in f_mailboxes)
        dkim_raw = reads.optional(f_dkim, tr("DKIM signing (Get-DkimSigningConfig)"))
        hve_raw = reads.optional(f_hve, tr("High Volume Email accounts (Get-MailUser)"))

        name = ""
        mx: MxInfo | None = None
        security_defaults = Tri.UNKNOWN
        graph_problems: list[str] = []
        if f_graph_org is not None:
            organization = _quiet(reads, f_graph_org, graph_problems)
            name = organization.display_name if organization else ""
        if f_mx is not None:
            host = _quiet(reads, f_mx, graph_problems)
            if host:
                mx = MxInfo(domain, host, MxSource.GRAPH)
        if f_sd is not None:
            # Not quiet: unknown Security Defaults change what the advice can promise,
            # so the reason (no permission, signed out, throttled) is shown with it.
            enabled = reads.optional(f_sd, tr("Security Defaults (Microsoft Graph)"))
            security_defaults = Tri.of(enabled)
        if graph is None:
            graph_problems.append(tr("the wizard was not asked to use Graph"))
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)

    unreadable = list(reads.unreadable)
    # No computed MX: Microsoft's token cannot be derived from the domain name (see
    # core.relay_host); without Graph the relay host comes from the live MX instead.
    if graph_problems:
        log.info("Graph details unavailable: %s", "; ".join(graph_problems))
    return TenantSnapshot(
        tenant_id=admin.tenant_id,
        display_name=name
        or as_text(org.get("DisplayName") or org.get("Name"))
        or next((d.name for d in domains if d.default), admin.tenant_id),
        accepted_domains=domains,
        smtp_auth_disabled=as_bool(transport.get("SmtpClientAuthenticationDisabled")),
        allow_legacy_tls_clients=as_bool(transport.get("AllowLegacyTLSClients")),
        reject_direct_send=as_bool(org.get("RejectDirectSend")),
        security_defaults=security_defaults,
        connectors=connectors,
        dkim=tuple(dkim_config(d) for d in dkim_raw or ()),
        hve_accounts=tuple(a for a in (hve_account(h) for h in hve_raw or ()) if a.address),
        mailboxes=mailboxes,
        mx=mx,
        read_at=now(),
        unreadable=tuple(unreadable),
    )


def _quiet(reads: _Reads, future: Future[T], problems: list[str]) -> T | None:
    """A Graph read whose failure only leaves the value unknown (logged, not shown)."""
    try:
        return reads.required(future)
    except Cancelled:
        raise
    except WizardError as exc:
        problems.append(exc.detail or exc.what)
        return None


def addresses_for(profile: SiteProfile, method: Method | None) -> tuple[str, ...]:
    """The mailboxes / HVE addresses the check must look up for this method."""
    if method is not None and (method in SUBMISSION_METHODS or method is Method.HVE):
        return sending_addresses(profile)
    return ()


def check_site(
    admin: ExchangeAdmin,
    graph: Graph | None,
    cloud: Cloud,
    profile: SiteProfile,
    method: Method | None,
    *,
    cancel: Cancellation | None = None,
) -> TenantSnapshot:
    """`read_tenant` for a site profile and method (what the wizard and `audit` call)."""
    return read_tenant(
        admin,
        graph,
        cloud,
        site_domain=profile.site.domain,
        addresses=addresses_for(profile, method),
        cancel=cancel,
    )
