"""The MX stand-in's rules: direct send, connector relay and plain inbound mail.

Exchange Online attributes an anonymous connection to a tenant and a connector in
this order (message MC1226222): the TLS certificate's domain, then the MAIL FROM
domain, then the RCPT TO domain. The sandbox follows it:

- a connector matches by the client certificate's name (TlsSenderCertificateName)
  first, then by the connection's (simulated) source IP in SenderIPAddresses;
- an OnPremises connector is matched by those two alone: the current
  New-InboundConnector reference (learn.microsoft.com/powershell/module/
  exchangepowershell/new-inboundconnector) says RequireTls,
  RestrictDomainsToIPAddresses, RestrictDomainsToCertificate and the scoping by
  SenderDomains "apply only to Partner type connectors". Exchange accepts them on an
  OnPremises connector (New-/Set-InboundConnector take them) and then ignores them;
- a Partner connector applies only to its SenderDomains ("*" or none: every domain);
  with RequireTls it refuses a plain connection at MAIL FROM (451 5.7.3); a sender
  domain that a Partner connector restricts to its IPs or certificate, arriving any
  other way, is refused at MAIL FROM (550 5.7.64). A Partner connector never lets mail
  relay to the internet: only OnPremises connectors "grant special rights ... allowing
  relay through the tenant to internet destinations" (same reference, ConnectorType);
- recipients in accepted domains are delivered (direct send, or ordinary inbound
  mail), unless RejectDirectSend is on and an accepted sender domain arrives through
  no connector (550 5.7.68); an address nobody has in an authoritative domain is
  refused by directory-based edge blocking (550 5.4.1);
- recipients outside are relayed only through a matching connector, and only for an
  accepted sender domain or an accepted certificate domain (the 2017 rule); else
  550 5.7.64 when the tenant has relay connectors but none matches, 550 5.7.54 for an
  accepted sender in a tenant without any, 550 5.7.64 otherwise.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from wizard.sandbox.smtp import replies
from wizard.sandbox.tenant import InboundConnector, TenantState


@dataclass
class MxConnection:
    """What EOP knows about one connection."""

    source_ip: str
    tls: bool = False
    # Names in the client certificate (subject CN and DNS SANs), lower case.
    cert_names: tuple[str, ...] = ()


@dataclass
class MxTransaction:
    """What the rules decided at MAIL FROM, used again for each RCPT TO."""

    sender: str
    sender_domain: str
    connector: InboundConnector | None = None
    matched_by_certificate: bool = False


def domain_of(address: str) -> str:
    """The address's domain, lower case, in A-label form."""
    domain = address.rpartition("@")[2].strip().rstrip(".").lower()
    if domain and not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            pass
    return domain


def ip_in(ip: str, ranges: list[str]) -> bool:
    """Whether ip is in any of Exchange's address forms: single, CIDR or a-b range."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    for entry in ranges:
        entry = entry.strip()
        try:
            if "-" in entry:
                low, high = (ipaddress.ip_address(p.strip()) for p in entry.split("-", 1))
                if low.version == address.version and low <= address <= high:  # type: ignore[operator]
                    return True
            elif address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def _name_matches(name: str, pattern: str) -> bool:
    name, pattern = name.lower().rstrip("."), pattern.lower().rstrip(".")
    if pattern.startswith("*."):
        return name.endswith(pattern[1:])
    if name.startswith("*."):  # a wildcard certificate covers one label below
        return pattern.endswith(name[1:]) and pattern.count(".") == name.count(".")
    return name == pattern


def is_on_premises(connector: InboundConnector) -> bool:
    return connector.connector_type.strip().lower() == "onpremises"


def _explicit_domains(connector: InboundConnector) -> list[str]:
    return [d for d in connector.sender_domains if d.strip() and d.strip() != "*"]


def _applies_to(connector: InboundConnector, sender_domain: str) -> bool:
    if is_on_premises(connector):
        return True  # SenderDomains scopes Partner connectors only
    domains = _explicit_domains(connector)
    return not domains or any(_name_matches(sender_domain, d) for d in domains)


def _cert_match(connector: InboundConnector, conn: MxConnection) -> bool:
    expected = connector.tls_sender_certificate_name
    return bool(expected and conn.tls and any(_name_matches(n, expected) for n in conn.cert_names))


def _ip_match(connector: InboundConnector, conn: MxConnection) -> bool:
    return bool(connector.sender_ip_addresses) and ip_in(
        conn.source_ip, connector.sender_ip_addresses
    )


def find_connector(
    state: TenantState, conn: MxConnection, sender_domain: str
) -> tuple[InboundConnector | None, bool]:
    """(connector, matched by certificate) for this connection and sender domain."""
    enabled = [c for c in state.connectors if c.enabled]
    for connector in enabled:
        if _cert_match(connector, conn) and _applies_to(connector, sender_domain):
            return connector, True
    for connector in enabled:
        if _ip_match(connector, conn) and _applies_to(connector, sender_domain):
            return connector, False
    return None, False


def check_sender(
    state: TenantState, conn: MxConnection, sender: str
) -> tuple[str | None, MxTransaction]:
    """(refusal or None, transaction) for MAIL FROM."""
    with state.lock:
        transaction = MxTransaction(sender=sender, sender_domain=domain_of(sender))
        if conn.source_ip in state.banned_sender_ips:
            return replies.BANNED_IP.format(ip=conn.source_ip), transaction
        connector, by_cert = find_connector(state, conn, transaction.sender_domain)
        partner = connector is not None and not is_on_premises(connector)
        if connector is not None and partner and connector.require_tls and not conn.tls:
            return replies.STARTTLS_REQUIRED, transaction
        for other in state.connectors:
            if not other.enabled or is_on_premises(other) or not _explicit_domains(other):
                continue
            if not _applies_to(other, transaction.sender_domain):
                continue
            if other.restrict_domains_to_ip_addresses and not _ip_match(other, conn):
                return replies.RELAY_DENIED, transaction
            if other.restrict_domains_to_certificate and not _cert_match(other, conn):
                return replies.RELAY_DENIED, transaction
        transaction.connector = connector
        transaction.matched_by_certificate = by_cert
        return None, transaction


def _within_accepted(state: TenantState, domain: str) -> bool:
    """The domain or one of its parents is accepted (smtp.contoso.com -> contoso.com)."""
    labels = domain.lower().rstrip(".").split(".")
    return any(state.is_accepted(".".join(labels[i:])) for i in range(len(labels) - 1))


def check_recipient(state: TenantState, transaction: MxTransaction, recipient: str) -> str | None:
    """Refusal for one RCPT TO, or None to accept it."""
    with state.lock:
        domain = domain_of(recipient)
        sender_accepted = state.is_accepted(transaction.sender_domain)
        connector = transaction.connector
        if state.is_accepted(domain):
            accepted = next(d for d in state.accepted_domains if d.name.lower() == domain)
            if accepted.domain_type == "Authoritative" and state.mailbox(recipient) is None:
                return replies.UNKNOWN_RECIPIENT
            if state.reject_direct_send and sender_accepted and connector is None:
                return replies.DIRECT_SEND_REJECTED
            return None
        if connector is None or not is_on_premises(connector):
            if not sender_accepted:
                return replies.RELAY_DENIED
            # The tenant relays through connectors, but none recognises this sender's IP or
            # certificate: 5.7.64 "TenantAttribution; Relay Access Denied" (M365-FACTS,
            # error table); a tenant without any gets the direct-send answer 5.7.54.
            relays = any(c.enabled and is_on_premises(c) for c in state.connectors)
            return replies.RELAY_DENIED if relays else replies.NON_ACCEPTED_DOMAIN
        cert_domain_accepted = False
        if transaction.matched_by_certificate and connector.tls_sender_certificate_name:
            cert_domain = connector.tls_sender_certificate_name.removeprefix("*.")
            cert_domain_accepted = _within_accepted(state, cert_domain)
        return None if sender_accepted or cert_domain_accepted else replies.RELAY_DENIED
