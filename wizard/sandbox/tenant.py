"""The sandbox tenant's state: one plain object the servers share and tests change.

Every server of the sandbox reads and writes this object under `state.lock`; tests
read it to check what the wizard changed and write it to plant faults. `demo_tenant()`
is the realistic starting point of `--demo`: a small business with a few problems
for the wizard to find.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from wizard.core.clouds import EXCHANGE_POWERSHELL_CLIENT_ID, GRAPH_CLI_CLIENT_ID

GLOBAL_ADMIN = "Global Administrator"
EXCHANGE_ADMIN = "Exchange Administrator"
ADMIN_ROLES = frozenset({GLOBAL_ADMIN, EXCHANGE_ADMIN})


@dataclass
class Account:
    """An Entra ID user who can sign in at the sandbox's identity provider."""

    upn: str
    display_name: str
    roles: set[str] = field(default_factory=set)
    object_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    # Accepted by the sign-in page and, for mailboxes, by SMTP AUTH (Basic).
    password: str = "demo"
    # Sign-in is refused with this AADSTS error (e.g. "AADSTS50076" for MFA required).
    sign_in_error: str | None = None
    # Its access tokens carry no `wids` claim at all, as GDAP technicians' tokens may
    # (M365-FACTS.md, corrections): its roles still count where Exchange decides.
    token_without_wids: bool = False


@dataclass
class Mailbox:
    address: str
    display_name: str
    licensed: bool = True
    # Set-CASMailbox -SmtpClientAuthenticationDisabled: None inherits the tenant value.
    smtp_client_auth_disabled: bool | None = None
    # Addresses this mailbox may send as (besides its own).
    send_as: set[str] = field(default_factory=set)
    # Users and service principals with FullAccess (Add-MailboxPermission).
    full_access: set[str] = field(default_factory=set)
    # A mail user created with New-MailUser -HVEAccount (no licence, HVE endpoint only).
    hve_account: bool = False
    identity: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class AcceptedDomain:
    name: str
    default: bool = False
    initial: bool = False
    domain_type: str = "Authoritative"
    # Classic MX host, or the DNSSEC mx.microsoft form for domains added since July 2026.
    mx_host: str = ""


@dataclass
class InboundConnector:
    name: str
    connector_type: str = "OnPremises"
    sender_domains: list[str] = field(default_factory=list)
    sender_ip_addresses: list[str] = field(default_factory=list)
    restrict_domains_to_ip_addresses: bool = False
    tls_sender_certificate_name: str | None = None
    restrict_domains_to_certificate: bool = False
    require_tls: bool = False
    enabled: bool = True
    comment: str = ""
    identity: str = field(default_factory=lambda: str(uuid.uuid4()))
    when_created: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class TransportRule:
    """A mail flow rule, reduced to the conditions and actions the wizard looks at."""

    name: str
    priority: int = 0
    state: str = "Enabled"
    mode: str = "Enforce"
    from_addresses: list[str] = field(default_factory=list)
    sender_domain_is: list[str] = field(default_factory=list)
    sender_ip_ranges: list[str] = field(default_factory=list)
    # Exchange action parameter -> value, e.g. {"RedirectMessageTo": ["it@contoso.example"]},
    # {"Quarantine": True}, {"DeleteMessage": True}, {"SetSCL": 9}.
    actions: dict[str, object] = field(default_factory=dict)
    identity: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class DkimSigningConfig:
    domain: str
    enabled: bool
    selector1_cname: str
    selector2_cname: str


@dataclass
class ServicePrincipal:
    app_id: str
    object_id: str
    display_name: str = ""
    identity: str = field(default_factory=lambda: str(uuid.uuid4()))


class TraceStatus(StrEnum):
    DELIVERED = "Delivered"
    PENDING = "Pending"
    FAILED = "Failed"
    QUARANTINED = "Quarantined"
    EXPANDED = "Expanded"


@dataclass
class TraceEntry:
    """A message the sandbox's SMTP endpoints received or rejected (Get-MessageTraceV2)."""

    message_id: str
    sender: str
    recipients: list[str]
    subject: str
    status: TraceStatus
    from_ip: str
    endpoint: str  # "submission", "mx" or "hve"
    detail: str = ""
    received: datetime = field(default_factory=lambda: datetime.now(UTC))
    size: int = 0
    raw: bytes = b""
    message_trace_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class DnsRecord:
    name: str  # absolute, lower case, without the trailing dot
    rtype: str  # "A", "AAAA", "MX", "TXT", "CNAME", "PTR", "NS", "SOA"
    value: str  # presentation format: "10 host.example." for MX, the text for TXT
    ttl: int = 3600


class DnsFault(StrEnum):
    TIMEOUT = "timeout"  # never answer
    SERVFAIL = "servfail"
    REFUSED = "refused"


@dataclass
class HttpFault:
    """One injected failure of the admin API or Graph, used up by the next request."""

    status: int  # 429, 500, 503 ...
    retry_after: float | None = None
    delay: float = 0.0  # seconds to wait before answering (a slow answer)
    # Only requests whose cmdlet (admin API) or path (Graph) contains this text.
    match: str = ""


@dataclass
class AppRegistration:
    """A public client application that may sign users in (Entra app registration)."""

    client_id: str
    display_name: str
    # "http://localhost" matches any port, as Entra does for loopback redirect URIs.
    redirect_uris: list[str] = field(default_factory=lambda: ["http://localhost"])
    # Microsoft first-party clients: resource display name -> the permissions they are
    # pre-authorised for (empty: any, by dynamic consent); anything else is AADSTS65002.
    # None for a customer's or MSP's own app registration (consented in the tenant).
    preauthorized: dict[str, frozenset[str]] | None = None
    # An app registration made through Graph is checked as Entra checks it: the
    # permissions its requiredResourceAccess lists (else AADSTS650057), the admin
    # consent granted in this tenant (else AADSTS65001), "Allow public client flows"
    # for the device code flow (else AADSTS7000218). None: not checked (the demo's
    # pre-registered apps, set up and consented as M365-FACTS.md describes). Keyed by
    # the resource's application id.
    required: dict[str, frozenset[str]] | None = None
    consented: dict[str, frozenset[str]] | None = None
    public_client_flows: bool = True


# The demo MSP's own multi-tenant app for the mailbox OAuth test (SMTP.Send +
# offline_access), registered and consented in the demo tenant as M365-FACTS.md
# describes (public client, http://localhost, public client flows on).
DEMO_MAILBOX_TEST_CLIENT_ID = "5e1f7a2c-3b8d-4c6e-9a0f-d2b4c6e8f0a1"


def _default_apps() -> list[AppRegistration]:
    return [
        AppRegistration(
            EXCHANGE_POWERSHELL_CLIENT_ID,
            "Microsoft Exchange REST API Based Powershell",
            ["http://localhost", "https://login.microsoftonline.com/common/oauth2/nativeclient"],
            # Used for the admin API only (ScubaGear); not known to be pre-authorised
            # for SMTP.Send or Graph (M365-FACTS.md, corrections).
            preauthorized={"Office 365 Exchange Online": frozenset({"Exchange.Manage"})},
        ),
        AppRegistration(
            GRAPH_CLI_CLIENT_ID,
            "Microsoft Graph Command Line Tools",
            ["http://localhost"],
            # Connect-MgGraph's app: any Graph permission by dynamic consent; nothing else.
            preauthorized={"Microsoft Graph": frozenset()},
        ),
        AppRegistration(DEMO_MAILBOX_TEST_CLIENT_ID, "Relay Wizard mailbox test (demo MSP)"),
    ]


@dataclass
class AdminCall:
    """One InvokeCommand the admin API answered (tests check what the wizard changed)."""

    cmdlet: str
    parameters: dict[str, Any]
    caller: str  # the signed-in admin's UPN
    status: int  # the HTTP status of the answer
    error: str = ""  # the Exchange error text, when it failed
    when: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class TenantState:
    tenant_id: str
    display_name: str
    initial_domain: str
    accepted_domains: list[AcceptedDomain] = field(default_factory=list)
    accounts: list[Account] = field(default_factory=list)
    mailboxes: list[Mailbox] = field(default_factory=list)
    # Set-TransportConfig: tenants created after January 2020 start with SMTP AUTH off.
    smtp_client_auth_disabled: bool = True
    allow_legacy_tls_clients: bool = False
    # Set-OrganizationConfig -RejectDirectSend.
    reject_direct_send: bool = False
    # Entra ID Security Defaults: block Basic SMTP AUTH whatever the switches say.
    security_defaults: bool = False
    # Microsoft has retired Basic SMTP AUTH (550 5.7.30).
    basic_auth_retired: bool = False
    connectors: list[InboundConnector] = field(default_factory=list)
    transport_rules: list[TransportRule] = field(default_factory=list)
    dkim: list[DkimSigningConfig] = field(default_factory=list)
    service_principals: list[ServicePrincipal] = field(default_factory=list)
    trace: list[TraceEntry] = field(default_factory=list)
    # Seconds before a message shows in Get-MessageTraceV2: Microsoft says 5 to 10
    # minutes (learn.microsoft.com, message trace in the Exchange admin center). Zero for
    # a bare state (tests set it when they test it); the demo uses DEMO_TRACE_DELAY.
    trace_delay: float = 0.0
    # When each message-trace query was answered (Get-MessageTraceV2 / ...DetailV2 allow
    # "a maximum of 100 query requests ... within a 5 minute running window").
    trace_queries: list[datetime] = field(default_factory=list)
    dns_records: list[DnsRecord] = field(default_factory=list)
    dns_faults: dict[str, DnsFault] = field(default_factory=dict)
    # Extra delay per DNS answer in seconds (the DNS benchmark adds 30 ms).
    dns_delay: float = 0.0
    http_faults: list[HttpFault] = field(default_factory=list)
    # The next N InvokeCommand calls are answered HTTP 200 with Exchange's plain-text
    # "You have reached the maximum number of concurrent requests per tenant. Please
    # wait and try again" (GreyCorbel/ExoHelper Invoke-ExoCommand retries on it), and
    # the next N with a body that is not JSON (ExoHelper: "Received non-JSON response").
    concurrency_answers: int = 0
    non_json_answers: int = 0
    # The office's simulated public IP; connections to the MX stand-in come "from" it
    # unless a test sets `relay_source_ip`.
    site_public_ip: str = "203.0.113.25"
    relay_source_ip: str | None = None
    # Make the MX stand-in act as if outbound port 25 is blocked on the way: new
    # connections get no answer at all, so a client's connect() times out.
    mx_port_blocked: bool = False
    # Exchange Online Protection's own list of banned sending IPs (550 5.7.606).
    banned_sender_ips: set[str] = field(default_factory=set)
    # Outbound mail relayed for this tenant goes through the high-risk pool, whose
    # recipients' servers refuse it (550 5.7.708 in the message trace).
    outbound_low_reputation: bool = False
    # Applications allowed to sign users in (unknown client ids get AADSTS700016).
    apps: list[AppRegistration] = field(default_factory=_default_apps)
    # Seconds a device-code client must wait between polls (Entra says 5).
    device_code_interval: int = 5
    # Every InvokeCommand the admin API answered, oldest first.
    admin_calls: list[AdminCall] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    # Called as callback(field_name, value) after a field is assigned, in the thread
    # that assigned it: a server that must react before the next line of a test runs
    # (the MX stand-in closing its door) registers here with `watch()`.
    _watchers: list[Callable[[str, Any], None]] = field(
        default_factory=list, init=False, repr=False, compare=False
    )

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        watchers = self.__dict__.get("_watchers")
        if watchers and not name.startswith("_"):
            for callback in list(watchers):
                callback(name, value)

    def watch(self, callback: Callable[[str, Any], None]) -> None:
        with self.lock:
            self._watchers.append(callback)

    def unwatch(self, callback: Callable[[str, Any], None]) -> None:
        with self.lock:
            if callback in self._watchers:
                self._watchers.remove(callback)

    @property
    def default_domain(self) -> str:
        return next((d.name for d in self.accepted_domains if d.default), self.initial_domain)

    def is_accepted(self, domain: str) -> bool:
        domain = domain.lower().rstrip(".")
        return any(d.name.lower() == domain for d in self.accepted_domains)

    def account(self, upn: str) -> Account | None:
        upn = upn.lower()
        return next((a for a in self.accounts if a.upn.lower() == upn), None)

    def mailbox(self, address: str) -> Mailbox | None:
        address = address.lower()
        return next((m for m in self.mailboxes if m.address.lower() == address), None)

    def app(self, client_id: str) -> AppRegistration | None:
        return next((a for a in self.apps if a.client_id.lower() == client_id.lower()), None)

    def effective_smtp_auth_disabled(self, mailbox: Mailbox) -> bool:
        """Mailbox value if set, else the tenant value (M365-FACTS)."""
        if mailbox.smtp_client_auth_disabled is None:
            return self.smtp_client_auth_disabled
        return mailbox.smtp_client_auth_disabled

    @property
    def effective_relay_source_ip(self) -> str:
        return self.relay_source_ip or self.site_public_ip

    def set_record(self, name: str, rtype: str, *values: str, ttl: int = 3600) -> None:
        """Replace every record of that name and type (no values deletes them)."""
        name = name.lower().rstrip(".")
        with self.lock:
            self.dns_records = [
                r for r in self.dns_records if not (r.name == name and r.rtype == rtype)
            ]
            self.dns_records.extend(DnsRecord(name, rtype, v, ttl) for v in values)

    def records(self, name: str, rtype: str) -> list[DnsRecord]:
        name = name.lower().rstrip(".")
        with self.lock:
            return [r for r in self.dns_records if r.name == name and r.rtype == rtype]

    def list_on_blocklist(
        self, ip: str, zone: str, reason: str = "", code: str = "127.0.0.2"
    ) -> None:
        """Put an IPv4 address on a DNS blocklist zone (see DNSBL_ZONES)."""
        name = dnsbl_query_name(ip, zone)
        text = reason or f"{ip} is listed by {zone}"
        with self.lock:
            self.set_record(name, "A", code, ttl=300)
            self.set_record(name, "TXT", text, ttl=300)

    def delist_from_blocklist(self, ip: str, zone: str) -> None:
        name = dnsbl_query_name(ip, zone)
        with self.lock:
            self.set_record(name, "A")
            self.set_record(name, "TXT")


DEMO_DOMAIN = "contoso.example"
DEMO_TENANT_ID = "8f0d3c1e-5b7a-4c2e-9d41-2a6b0e7c9f15"
DEMO_INITIAL_DOMAIN = "contosodemo.onmicrosoft.com"
DEMO_SITE_IP = "203.0.113.25"
# The demo's message trace lag: long enough to show the wait, short enough for a
# two-minute walk (a real tenant takes 5 to 10 minutes).
DEMO_TRACE_DELAY = 30.0
# DNS blocklists the sandbox serves (the real zone names). An IPv4 address a.b.c.d is
# listed in zone Z when "d.c.b.a.Z" has an A record 127.0.0.x (the list's return code)
# and, by custom, a TXT record with the reason (RFC 5782). Each zone also carries the
# RFC 5782 test entries: 127.0.0.2 is always listed, 127.0.0.1 never is. The demo
# office IP starts clean; a test lists it with `TenantState.list_on_blocklist()`.
DNSBL_ZONES = ("zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org")
# An internationalised domain (bücher.example) for DNS tests; DNS holds its A-label.
DEMO_IDN_DOMAIN = "bücher.example"
DEMO_IDN_ASCII = "xn--bcher-kva.example"
MICROSOFT_SPF = (
    "v=spf1 ip4:40.92.0.0/15 ip4:40.107.0.0/16 ip4:52.100.0.0/14 ip4:104.47.0.0/17 "
    "ip6:2a01:111:f400::/48 ip6:2a01:111:f403::/49 include:spfd.protection.outlook.com -all"
)


def _dashed(domain: str) -> str:
    return domain.replace(".", "-")


def microsoft_mx_host(domain: str) -> str:
    """The MX host the sandbox tenant gives a domain, shaped as Microsoft's are.

    Microsoft's token is not the dashed domain alone: public zones show `rent-path.com`
    -> `rentpath-com01b.mail.protection.outlook.com` and `maxxexpress.com` ->
    `maxxexpress-com01b...` (M365-FACTS, corrections of 2 December 2026), and the dashed
    guess is NXDOMAIN there. The sandbox does the same, so a client that computes the
    host instead of reading it (Graph serviceConfigurationRecords or the live MX) meets
    the name that does not exist, as it would on a real tenant.
    """
    return f"{_dashed(domain.lower())}01b.mail.protection.outlook.com"


def mx_microsoft_host(domain: str) -> str:
    """The DNSSEC form given to domains added from July 2026 (MC1048624):
    `<token>.<letter>-v1.mx.microsoft`."""
    return f"{_dashed(domain.lower())}02c.c-v1.mx.microsoft"


def dnsbl_query_name(ip: str, zone: str) -> str:
    """The name a blocklist is asked about for an IPv4 address (octets reversed)."""
    return ".".join(reversed(ip.strip().split("."))) + "." + zone.lower().rstrip(".")


def _soa(zone: str, serial: int = 2026112701, minimum: int = 300) -> DnsRecord:
    return DnsRecord(
        zone, "SOA", f"ns1.{zone}. hostmaster.{zone}. {serial} 3600 600 604800 {minimum}"
    )


def demo_tenant() -> TenantState:
    """Contoso (demo): a small business whose DNS and tenant need the wizard's help.

    Planted on purpose: SPF without the office IP, DKIM selector2 missing, DMARC at
    p=none, SMTP AUTH off for the tenant, no connector yet.
    """
    domain = DEMO_DOMAIN
    mx = microsoft_mx_host(domain)
    # Domains set up since May 2025 publish DKIM under <letter>-v1.dkim.mail.microsoft,
    # with Microsoft's suffixed token (a public zone shows
    # selector1-exclusive-jasonshadow-com03i._domainkey.jasonshadow.r-v1.dkim...).
    dkim_target = "{sel}-{d}03i._domainkey.contosodemo.r-v1.dkim.mail.microsoft"
    state = TenantState(
        tenant_id=DEMO_TENANT_ID,
        display_name="Contoso (demo)",
        initial_domain=DEMO_INITIAL_DOMAIN,
        site_public_ip=DEMO_SITE_IP,
        trace_delay=DEMO_TRACE_DELAY,
    )
    state.accepted_domains = [
        AcceptedDomain(domain, default=True, mx_host=mx),
        AcceptedDomain(
            DEMO_INITIAL_DOMAIN,
            initial=True,
            mx_host=microsoft_mx_host(DEMO_INITIAL_DOMAIN),
        ),
    ]
    state.accounts = [
        Account(f"admin@{domain}", "Adele Admin", {GLOBAL_ADMIN}),
        Account(f"exchadmin@{domain}", "Emil Exchange", {EXCHANGE_ADMIN}),
        Account(f"user@{domain}", "Uma User"),
        Account(f"scanner@{domain}", "Scanner"),
    ]
    state.mailboxes = [
        Mailbox(f"admin@{domain}", "Adele Admin"),
        Mailbox(f"exchadmin@{domain}", "Emil Exchange"),
        Mailbox(f"user@{domain}", "Uma User"),
        Mailbox(f"scanner@{domain}", "Scanner"),
        Mailbox(f"reception@{domain}", "Reception"),
    ]
    state.dkim = [
        DkimSigningConfig(
            domain,
            enabled=True,
            selector1_cname=dkim_target.format(sel="selector1", d=_dashed(domain)),
            selector2_cname=dkim_target.format(sel="selector2", d=_dashed(domain)),
        )
    ]
    soa = f"ns1.{domain}. hostmaster.{domain}. 2026112701 3600 600 604800 300"
    records = [
        DnsRecord(domain, "SOA", soa),
        DnsRecord(domain, "NS", f"ns1.{domain}."),
        DnsRecord(domain, "MX", f"0 {mx}."),
        DnsRecord(domain, "TXT", "v=spf1 include:spf.protection.outlook.com -all"),
        DnsRecord(domain, "TXT", "MS=ms41873220"),
        DnsRecord(f"_dmarc.{domain}", "TXT", f"v=DMARC1; p=none; rua=mailto:dmarc@{domain}"),
        DnsRecord(f"selector1._domainkey.{domain}", "CNAME", state.dkim[0].selector1_cname + "."),
        DnsRecord(f"autodiscover.{domain}", "CNAME", "autodiscover.outlook.com."),
        DnsRecord(f"www.{domain}", "A", "203.0.113.80"),
        DnsRecord("spf.protection.outlook.com", "TXT", MICROSOFT_SPF),
        DnsRecord("spfd.protection.outlook.com", "TXT", "v=spf1 ip4:51.4.72.0/24 -all"),
        DnsRecord("autodiscover.outlook.com", "A", "52.97.0.1"),
        DnsRecord(mx, "A", "52.101.0.10"),
        # The names printed on a device's settings sheet, so looking them up (the
        # Troubleshoot path) finds them here as it would on the internet.
        _soa("office365.com"),
        _soa("mx.microsoft"),
        DnsRecord("smtp.office365.com", "A", "52.98.0.10"),
        DnsRecord("smtp-legacy.office365.com", "A", "52.98.0.11"),
        DnsRecord("smtp.hve.mx.microsoft", "A", "52.102.0.10"),
        # Resolver-based "what is my IP": OpenDNS answers myip.opendns.com A with the
        # asking address; the sandbox's DNS server answers it live with
        # `site_public_ip`, so there is no static record for it here.
        _soa("opendns.com"),
        _soa("outlook.com"),
        _soa("onmicrosoft.com"),
        _soa("mail.microsoft"),
        _soa("113.0.203.in-addr.arpa"),
        # PTR of the office IP, as an ISP would publish it.
        DnsRecord(
            ".".join(reversed(DEMO_SITE_IP.split("."))) + ".in-addr.arpa",
            "PTR",
            "203-0-113-25.static.example-isp.example.",
        ),
    ]
    for selector in ("selector1", "selector2"):
        target = getattr(state.dkim[0], f"{selector}_cname")
        records.append(DnsRecord(target, "TXT", "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEF"))
    for zone in DNSBL_ZONES:
        records.append(_soa(zone, minimum=60))
        listed = dnsbl_query_name("127.0.0.2", zone)
        records.append(DnsRecord(listed, "A", "127.0.0.2", 300))
        records.append(DnsRecord(listed, "TXT", f"Test entry of {zone} (RFC 5782)", 300))
    # bücher.example: a second customer domain with an IDN name, set up correctly,
    # for DNS checks of internationalised names (not one of the tenant's domains).
    # Set up after July 2026: the mx.microsoft form.
    idn_mx = mx_microsoft_host(DEMO_IDN_ASCII)
    records += [
        _soa(DEMO_IDN_ASCII),
        DnsRecord(DEMO_IDN_ASCII, "NS", f"ns1.{DEMO_IDN_ASCII}."),
        DnsRecord(DEMO_IDN_ASCII, "MX", f"0 {idn_mx}."),
        DnsRecord(DEMO_IDN_ASCII, "TXT", "v=spf1 include:spf.protection.outlook.com -all"),
        DnsRecord(f"_dmarc.{DEMO_IDN_ASCII}", "TXT", "v=DMARC1; p=quarantine"),
        DnsRecord(idn_mx, "A", "52.101.0.11"),
    ]
    state.dns_records = records
    return state
