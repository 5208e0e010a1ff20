"""What the tenant check read: a frozen picture of the tenant's relay-relevant state.

`services.tenant_check` fills a `TenantSnapshot` from the Exchange admin API and
Graph; `core.tenant_findings` explains it and `core.plan` compares it with what the
chosen method needs. Values the wizard could not read are kept as "unknown" (None or
`Tri.UNKNOWN`) with the reason in `unreadable`, never guessed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from wizard.core.methods import Tri
from wizard.core.validation import check_domain, domain_to_ascii


class MxSource(StrEnum):
    GRAPH = "graph"  # the tenant said so (serviceConfigurationRecords)


def normalise_domain(name: str) -> str:
    """Lower-case ASCII (IDNA) form used to compare domains; the input if it is no domain."""
    text = name.strip().rstrip(".").lower()
    checked = check_domain(text)
    if checked.ok and checked.value is not None:
        return domain_to_ascii(checked.value)
    return text


def certificate_key(name: str) -> str:
    """A certificate name in the form used to compare two of them: lower-case ASCII,
    no trailing dot, a leading wildcard label kept ("*.Contoso.com." -> "*.contoso.com").
    Keeping the wildcard makes "*.contoso.com" equal to itself, not to "contoso.com"."""
    text = name.strip().rstrip(".").lower()
    if text.startswith("*."):
        return "*." + normalise_domain(text[2:])
    return normalise_domain(text)


def address_space_domain(value: str) -> str:
    """A connector's sender domain as Exchange returns it ("smtp:contoso.com;1") -> domain.

    Exchange keeps SenderDomains as address spaces; PowerShell shows them as
    `smtp:*;1`. Plain names are accepted too.
    """
    text = value.strip()
    if ":" in text:
        text = text.split(":", 1)[1]
    if ";" in text:
        text = text.split(";", 1)[0]
    return "*" if text == "*" else normalise_domain(text)


def parse_ip_entry(value: str) -> tuple[ipaddress.IPv4Network, ...]:
    """One SenderIPAddresses entry: an address, a CIDR block or a range "a-b".

    Raises ValueError for anything else, so a value the wizard does not understand is
    never mistaken for a narrow one.
    """
    text = value.strip()
    if "-" in text:
        first, last = (ipaddress.IPv4Address(p.strip()) for p in text.split("-", 1))
        if int(last) < int(first):
            raise ValueError(f"{value!r} is not an address range")
        return tuple(ipaddress.summarize_address_range(first, last))
    return (ipaddress.IPv4Network(text, strict=False),)


@dataclass(frozen=True)
class AcceptedDomain:
    name: str
    default: bool = False
    initial: bool = False
    domain_type: str = "Authoritative"


@dataclass(frozen=True)
class MxInfo:
    domain: str
    host: str
    source: MxSource


@dataclass(frozen=True)
class MailboxState:
    """A mailbox the devices sign in as (or an address an HVE account will take)."""

    address: str
    exists: bool
    # Set-CASMailbox -SmtpClientAuthenticationDisabled; None inherits the tenant value.
    smtp_auth_disabled: bool | None = None
    display_name: str = ""

    def effective_smtp_auth_disabled(self, tenant_disabled: bool | None) -> bool | None:
        """Mailbox value if set, else the tenant value (M365-FACTS); None if unknown."""
        if self.smtp_auth_disabled is not None:
            return self.smtp_auth_disabled
        return tenant_disabled


@dataclass(frozen=True)
class InboundConnector:
    name: str
    identity: str = ""
    connector_type: str = "OnPremises"
    # As Exchange returns them; use `domains` to compare.
    sender_domains: tuple[str, ...] = ()
    sender_ip_addresses: tuple[str, ...] = ()
    restrict_domains_to_ip_addresses: bool = False
    tls_sender_certificate_name: str | None = None
    restrict_domains_to_certificate: bool = False
    require_tls: bool = False
    enabled: bool = True
    comment: str = ""

    @property
    def domains(self) -> frozenset[str]:
        return frozenset(address_space_domain(d) for d in self.sender_domains if d.strip())

    @property
    def is_on_premises(self) -> bool:
        return self.connector_type.strip().lower() == "onpremises"

    @property
    def is_ip_connector(self) -> bool:
        return bool(self.sender_ip_addresses)

    @property
    def is_certificate_connector(self) -> bool:
        return bool(self.tls_sender_certificate_name)

    @property
    def certificate_key(self) -> str | None:
        """The certificate name as compared: see `certificate_key`."""
        name = self.tls_sender_certificate_name
        return certificate_key(name) if name and name.strip() else None

    @property
    def certificate_domain(self) -> str | None:
        """The certificate name without a leading wildcard label."""
        name = (self.tls_sender_certificate_name or "").strip().lower()
        if not name:
            return None
        return normalise_domain(name[2:] if name.startswith("*.") else name)

    def networks(self) -> tuple[ipaddress.IPv4Network, ...] | None:
        """Every network the connector accepts; None if an entry cannot be understood."""
        found: list[ipaddress.IPv4Network] = []
        for entry in self.sender_ip_addresses:
            try:
                found.extend(parse_ip_entry(entry))
            except ValueError:
                return None
        return tuple(found)

    def address_count(self) -> int | None:
        nets = self.networks()
        if nets is None:
            return None
        return sum(n.num_addresses for n in ipaddress.collapse_addresses(nets))

    def covers(self, ip: str) -> bool:
        try:
            address = ipaddress.IPv4Address(ip)
        except ValueError:
            return False
        nets = self.networks()
        return nets is not None and any(address in n for n in nets)

    def accepts_only(self, ip: str) -> bool:
        """True if the site's address is the one and only address the connector accepts."""
        return self.covers(ip) and self.address_count() == 1

    def accepts_domain(self, domain: str) -> bool:
        domains = self.domains
        return "*" in domains or normalise_domain(domain) in domains


@dataclass(frozen=True)
class DkimConfig:
    domain: str
    enabled: bool
    selector1_cname: str = ""
    selector2_cname: str = ""


@dataclass(frozen=True)
class HveAccount:
    address: str
    display_name: str = ""
    identity: str = ""


@dataclass(frozen=True)
class TenantSnapshot:
    tenant_id: str
    display_name: str
    accepted_domains: tuple[AcceptedDomain, ...]
    # Set-TransportConfig -SmtpClientAuthenticationDisabled (tenant switch).
    smtp_auth_disabled: bool | None
    allow_legacy_tls_clients: bool | None
    reject_direct_send: bool | None
    # Entra ID Security Defaults; reading them needs Policy.Read.All on Graph.
    security_defaults: Tri = Tri.UNKNOWN
    connectors: tuple[InboundConnector, ...] = ()
    dkim: tuple[DkimConfig, ...] = ()
    hve_accounts: tuple[HveAccount, ...] = ()
    mailboxes: tuple[MailboxState, ...] = ()
    # The MX host of the site's domain and where the wizard learned it.
    mx: MxInfo | None = None
    read_at: datetime | None = None
    # What could not be read, in plain words (e.g. Graph not permitted).
    unreadable: tuple[str, ...] = field(default=())

    @property
    def default_domain(self) -> str | None:
        return next((d.name for d in self.accepted_domains if d.default), None)

    @property
    def initial_domain(self) -> str | None:
        return next((d.name for d in self.accepted_domains if d.initial), None)

    def is_accepted(self, domain: str) -> bool:
        wanted = normalise_domain(domain)
        return any(normalise_domain(d.name) == wanted for d in self.accepted_domains)

    def is_accepted_or_subdomain(self, domain: str) -> bool:
        wanted = normalise_domain(domain)
        return any(
            wanted == (name := normalise_domain(d.name)) or wanted.endswith("." + name)
            for d in self.accepted_domains
        )

    def mailbox(self, address: str) -> MailboxState | None:
        wanted = address.strip().lower()
        return next((m for m in self.mailboxes if m.address.lower() == wanted), None)

    def effective_smtp_auth_disabled(self, address: str) -> bool | None:
        box = self.mailbox(address)
        if box is None or not box.exists:
            return None
        return box.effective_smtp_auth_disabled(self.smtp_auth_disabled)

    def connector(self, name: str) -> InboundConnector | None:
        wanted = name.strip().casefold()
        return next((c for c in self.connectors if c.name.strip().casefold() == wanted), None)

    def hve_account(self, address: str) -> HveAccount | None:
        wanted = address.strip().lower()
        return next((a for a in self.hve_accounts if a.address.lower() == wanted), None)

    def dkim_for(self, domain: str) -> DkimConfig | None:
        wanted = normalise_domain(domain)
        return next((d for d in self.dkim if normalise_domain(d.domain) == wanted), None)


def distinct_addresses(addresses: Iterable[str]) -> tuple[str, ...]:
    """Lower-cased, de-duplicated, in first-seen order."""
    seen: dict[str, None] = {}
    for address in addresses:
        key = address.strip().lower()
        if key:
            seen.setdefault(key, None)
    return tuple(seen)
