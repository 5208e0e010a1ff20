"""The Troubleshoot path: what each probe of a device's setup means, in plain words.

`services.troubleshoot` runs the probes (DNS, TCP, STARTTLS, sign-in, the tenant's
connectors, mail flow rules and message trace) and hands their raw results here;
each `check_*` function turns one result into a `Finding` with the step that fixes
it. The checks run in `CHECK_ORDER`, the order in which a connection is made: a
name that does not resolve explains every later failure, so it comes first.

Pure: no I/O, no clock (the caller passes "now").
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from wizard.core.clouds import Cloud, Endpoint, device_facing
from wizard.core.device_settings import AuthKind, DeviceSettings, Security
from wizard.core.findings import Finding, FindingsDocument, Section, Severity, Table, headline
from wizard.core.i18n import tr
from wizard.core.methods import METHOD_INFO, Method, Tri
from wizard.core.smtp_codes import (
    ConnectionFailure,
    Verdict,
    explain_connection_failure,
    explain_reply,
)
from wizard.core.steps import WizardStep
from wizard.core.tenant import InboundConnector, normalise_domain, parse_ip_entry
from wizard.core.transcript import Outcome, SmtpTestResult, TlsDetails
from wizard.core.validation import check_email

SCHEMA_VERSION = 1


class CheckId(StrEnum):
    RESOLVE = "resolve"
    PORTS = "ports"
    TLS = "tls"
    CERTIFICATE = "certificate"
    AUTH = "auth"
    CONNECTOR = "connector"
    RULES = "rules"
    TRACE = "trace"


CHECK_ORDER: tuple[CheckId, ...] = tuple(CheckId)

CHECK_TITLES: dict[CheckId, str] = {
    CheckId.RESOLVE: tr("Name lookup of the server (DNS)"),
    CheckId.PORTS: tr("Connection to port 25 and port 587"),
    CheckId.TLS: tr("Encryption (STARTTLS and TLS versions)"),
    CheckId.CERTIFICATE: tr("The server's certificate"),
    CheckId.AUTH: tr("Sign-in and sending permission"),
    CheckId.CONNECTOR: tr("Connector for the office's IP or certificate"),
    CheckId.RULES: tr("Mail flow rules that touch the device's mail"),
    CheckId.TRACE: tr("Recent messages in the message trace"),
}

# The checks that read the tenant: they need an admin's sign-in.
TENANT_CHECKS: frozenset[CheckId] = frozenset({CheckId.CONNECTOR, CheckId.RULES, CheckId.TRACE})

_RELAY = (Method.DIRECT_SEND, Method.CONNECTOR)
# A certificate this close to its end is worth a warning.
CERTIFICATE_WARN_DAYS = 14


# --- the device ----------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceUnderTest:
    """How the device is set up to send: what the wizard checks, step by step."""

    method: Method
    sender: str
    host: str
    port: int
    security: Security
    tls_required: bool
    auth: AuthKind
    username: str | None = None
    tls12: Tri = Tri.UNKNOWN
    # For certificate connectors: the name on the certificate the device presents.
    certificate_name: str | None = None
    # Where the sending check pretends to send (nothing is sent); the sender if empty.
    recipient: str = ""
    # The office's public IP the site profile knows, to spot a change.
    known_site_ip: str | None = None
    name: str = ""

    @classmethod
    def from_settings(
        cls,
        settings: DeviceSettings,
        *,
        tls12: Tri = Tri.UNKNOWN,
        certificate_name: str | None = None,
        recipient: str = "",
        known_site_ip: str | None = None,
        name: str = "",
    ) -> DeviceUnderTest:
        return cls(
            method=settings.method,
            sender=settings.sender,
            host=settings.server,
            port=settings.port,
            security=settings.security,
            tls_required=settings.tls_required,
            auth=settings.auth,
            username=settings.username,
            tls12=tls12,
            certificate_name=certificate_name,
            recipient=recipient,
            known_site_ip=known_site_ip,
            name=name,
        )

    @property
    def sender_domain(self) -> str:
        return normalise_domain(self.sender.rpartition("@")[2])

    @property
    def uses_relay(self) -> bool:
        return self.method in _RELAY

    @property
    def signs_in(self) -> bool:
        return self.auth is not AuthKind.NONE

    @property
    def login(self) -> str:
        return self.username or self.sender

    @property
    def test_recipient(self) -> str:
        return self.recipient.strip() or self.sender

    def problems(self) -> list[str]:
        """What keeps the checks from running, in plain words (empty when none)."""
        found: list[str] = []
        sender = check_email(self.sender)
        if not sender.ok:
            found.append(tr("Sender: ") + sender.error)
        if self.recipient.strip():
            recipient = check_email(self.recipient)
            if not recipient.ok:
                found.append(tr("Test recipient: ") + recipient.error)
        if not self.host.strip():
            found.append(tr("Enter the server the device uses."))
        if not 0 < self.port < 65536:
            found.append(tr("The port must be a number from 1 to 65535."))
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "method": str(self.method),
            "sender": self.sender,
            "host": self.host,
            "port": self.port,
            "security": str(self.security),
            "tls_required": self.tls_required,
            "auth": str(self.auth),
            "username": self.username if self.signs_in else None,
            "tls12": str(self.tls12),
            "certificate_name": self.certificate_name,
            "recipient": self.test_recipient,
            "known_site_ip": self.known_site_ip,
        }


def connect_target(device: DeviceUnderTest, cloud: Cloud) -> Endpoint:
    """Where the wizard connects to play the device.

    The device is set up with the values a device is told (`device_facing`: the
    worldwide names for the sandbox); the wizard connects where the cloud really
    serves them. For a real cloud both are the same.
    """
    facing = device_facing(cloud)
    host = device.host.strip().rstrip(".").lower()
    served = (
        (facing.smtp, cloud.smtp),
        (facing.legacy_tls_smtp, cloud.legacy_tls_smtp),
        (facing.hve_smtp, cloud.hve_smtp),
    )
    if facing is not cloud:
        for shown, real in served:
            if shown is not None and real is not None and host == shown.host.lower():
                return real if device.port == shown.port else Endpoint(real.host, device.port)
    if cloud.relay_endpoint is not None and facing.is_microsoft_mx(host):
        return cloud.relay_endpoint
    return Endpoint(device.host.strip(), device.port)


def cloud_addresses(cloud: Cloud) -> frozenset[str]:
    """Endpoint hosts the cloud itself gives as addresses (the sandbox's loopback)."""
    endpoints = [cloud.smtp, cloud.legacy_tls_smtp, cloud.hve_smtp, cloud.relay_endpoint]
    return frozenset(e.host for e in endpoints if e is not None and is_address(e.host))


def is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip().strip("[]"))
    except ValueError:
        return False
    return True


# --- probe results (filled in by services.troubleshoot) ----------------------------------


class LookupStatus(StrEnum):
    RESOLVED = "resolved"
    ADDRESS = "address"  # an IP address: nothing to look up
    NOT_FOUND = "not-found"  # the name does not exist (NXDOMAIN)
    NO_ADDRESS = "no-address"  # the name exists but has no A/AAAA record
    FAILED = "failed"  # no answer: timeout, SERVFAIL, unreachable DNS server


@dataclass(frozen=True)
class NameLookup:
    host: str
    role: str  # "device", "relay" (the domain's MX host) or "submission"
    status: LookupStatus
    addresses: tuple[str, ...] = ()
    detail: str = ""
    seconds: float = 0.0

    def describe(self) -> str:
        if self.status is LookupStatus.RESOLVED:
            return tr("{host} → {addresses} ({ms} ms)").format(
                host=self.host, addresses=", ".join(self.addresses), ms=_ms(self.seconds)
            )
        if self.status is LookupStatus.ADDRESS:
            return tr("{host} is an address; nothing to look up").format(host=self.host)
        return f"{self.host}: {_LOOKUP_WORDS[self.status]}" + (
            f" ({self.detail})" if self.detail else ""
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "role": self.role,
            "status": str(self.status),
            "addresses": list(self.addresses),
            "detail": self.detail,
            "seconds": round(self.seconds, 3),
        }


_LOOKUP_WORDS: dict[LookupStatus, str] = {
    LookupStatus.RESOLVED: tr("found"),
    LookupStatus.ADDRESS: tr("an address"),
    LookupStatus.NOT_FOUND: tr("no such name"),
    LookupStatus.NO_ADDRESS: tr("no address for the name"),
    LookupStatus.FAILED: tr("DNS did not answer"),
}


class PortRole(StrEnum):
    RELAY = "relay"  # port 25 at the tenant's MX host
    SUBMISSION = "submission"  # port 587 at the submission endpoint
    DEVICE = "device"  # the device's own endpoint when it is neither


NOMINAL_PORTS: dict[PortRole, int] = {PortRole.RELAY: 25, PortRole.SUBMISSION: 587}


class Reach(StrEnum):
    OPEN = "open"
    TIMEOUT = "timeout"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    NOT_RESOLVED = "not-resolved"
    CANCELLED = "cancelled"


_REACH_WORDS: dict[Reach, str] = {
    Reach.OPEN: tr("answers"),
    Reach.TIMEOUT: tr("no answer (timed out)"),
    Reach.REFUSED: tr("connection refused"),
    Reach.UNREACHABLE: tr("no route"),
    Reach.NOT_RESOLVED: tr("name not found"),
    Reach.CANCELLED: tr("stopped"),
}


@dataclass(frozen=True)
class PortProbe:
    role: PortRole
    host: str
    port: int  # where the wizard connected (the sandbox maps 25 and 587 to others)
    reach: Reach
    seconds: float
    detail: str = ""

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint(self.host, self.port)

    @property
    def nominal_port(self) -> int:
        return NOMINAL_PORTS.get(self.role, self.port)

    def describe(self) -> str:
        where = f"{self.host}:{self.port}"
        label = (
            tr("Port {n}").format(n=self.nominal_port)
            if self.role is not PortRole.DEVICE
            else tr("The device's port")
        )
        return tr("{label} ({where}): {word} after {ms} ms").format(
            label=label, where=where, word=_REACH_WORDS[self.reach], ms=_ms(self.seconds)
        ) + (f" ({self.detail})" if self.detail and self.reach is not Reach.OPEN else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "role": str(self.role),
            "nominal_port": self.nominal_port,
            "host": self.host,
            "port": self.port,
            "reach": str(self.reach),
            "seconds": round(self.seconds, 3),
            "detail": self.detail,
        }


TLS_VERSIONS: tuple[str, ...] = ("TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1")
MODERN_TLS = frozenset({"TLSv1.3", "TLSv1.2"})
TLS_NAMES: dict[str, str] = {
    "TLSv1.3": "TLS 1.3",
    "TLSv1.2": "TLS 1.2",
    "TLSv1.1": "TLS 1.1",
    "TLSv1": "TLS 1.0",
}


class TlsOutcome(StrEnum):
    ACCEPTED = "accepted"  # the handshake completed and the certificate verified
    REFUSED = "refused"  # the server would not agree to this version
    CERTIFICATE = "certificate"  # agreed, but the certificate did not verify
    NOT_HERE = "not-here"  # this computer cannot offer the version
    FAILED = "failed"  # the connection failed before the handshake


@dataclass(frozen=True)
class TlsAttempt:
    version: str  # "TLSv1.2"
    outcome: TlsOutcome
    detail: str = ""
    # The server's refusal of mail over this version (421 4.7.66), if it sent one.
    mail_refused: str = ""

    @property
    def name(self) -> str:
        return TLS_NAMES.get(self.version, self.version)

    @property
    def usable(self) -> bool:
        return self.outcome is TlsOutcome.ACCEPTED and not self.mail_refused

    def describe(self) -> str:
        words = {
            TlsOutcome.ACCEPTED: tr("accepted"),
            TlsOutcome.REFUSED: tr("refused"),
            TlsOutcome.CERTIFICATE: tr("agreed, certificate not trusted"),
            TlsOutcome.NOT_HERE: tr("this computer cannot offer it"),
            TlsOutcome.FAILED: tr("not tried: the connection failed"),
        }
        text = f"{self.name}: {words[self.outcome]}"
        if self.mail_refused:
            text += " " + tr("(but mail over it is refused: {reply})").format(
                reply=self.mail_refused
            )
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "outcome": str(self.outcome),
            "detail": self.detail,
            "mail_refused": self.mail_refused or None,
        }


@dataclass(frozen=True)
class TlsProbe:
    host: str
    port: int
    # None: the server did not get as far as its greeting.
    starttls: bool | None
    attempts: tuple[TlsAttempt, ...] = ()
    certificate: TlsDetails | None = None
    certificate_failure: ConnectionFailure | None = None
    certificate_detail: str = ""
    error: str = ""

    def attempt(self, version: str) -> TlsAttempt | None:
        return next((a for a in self.attempts if a.version == version), None)

    @property
    def agreed(self) -> tuple[str, ...]:
        """Versions the server agreed to (whatever became of the certificate)."""
        return tuple(
            a.version
            for a in self.attempts
            if a.outcome in (TlsOutcome.ACCEPTED, TlsOutcome.CERTIFICATE)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "starttls": self.starttls,
            "versions": [a.to_json() for a in self.attempts],
            "certificate": self.certificate.to_json() if self.certificate else None,
            "certificate_failure": str(self.certificate_failure)
            if self.certificate_failure
            else None,
            "certificate_detail": self.certificate_detail,
            "error": self.error,
        }


@dataclass(frozen=True)
class PublicIp:
    address: str | None
    source: str = ""  # how it was found, in plain words
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "source": self.source, "error": self.error}


@dataclass(frozen=True)
class TenantView:
    """What the connector check reads from the tenant."""

    connectors: tuple[InboundConnector, ...]
    accepted_domains: tuple[str, ...]
    reject_direct_send: bool | None

    def is_accepted(self, domain: str) -> bool:
        wanted = normalise_domain(domain)
        return any(normalise_domain(d) == wanted for d in self.accepted_domains)

    def is_accepted_or_subdomain(self, domain: str) -> bool:
        wanted = normalise_domain(domain)
        return any(
            wanted == (name := normalise_domain(d)) or wanted.endswith("." + name)
            for d in self.accepted_domains
        )


@dataclass(frozen=True)
class RuleInfo:
    """A mail flow rule (Get-TransportRule), reduced to what decides whether it touches
    a device's mail and what it then does."""

    name: str
    priority: int = 0
    enabled: bool = True
    mode: str = "Enforce"  # "Audit" / "AuditAndNotify" only report (test mode)
    from_addresses: tuple[str, ...] = ()
    sender_domains: tuple[str, ...] = ()
    sender_ip_ranges: tuple[str, ...] = ()
    from_words: tuple[str, ...] = ()
    from_scope: str = ""
    except_from: tuple[str, ...] = ()
    except_sender_domains: tuple[str, ...] = ()
    except_sender_ip_ranges: tuple[str, ...] = ()
    except_from_words: tuple[str, ...] = ()
    # Conditions the wizard cannot judge for the device (recipient, subject...).
    other_conditions: tuple[str, ...] = ()
    # (Exchange parameter, value as text), e.g. ("RedirectMessageTo", "it@contoso.com").
    actions: tuple[tuple[str, str], ...] = ()

    @property
    def test_mode(self) -> bool:
        return self.mode.strip().lower() not in ("", "enforce")


@dataclass(frozen=True)
class RuleEffect:
    """What one rule does to the device's mail."""

    rule: str
    priority: int
    severity: Severity
    effects: tuple[str, ...]
    # "" when it certainly applies; otherwise the conditions it also needs.
    condition: str = ""
    test_mode: bool = False

    def what(self) -> str:
        """What it does, and when (without the rule's name)."""
        text = _join(self.effects)
        if self.condition:
            text += " " + tr("when {condition}").format(condition=self.condition)
        if self.test_mode:
            text += " " + tr("(test mode: it only reports, changes nothing)")
        return text

    def describe(self) -> str:
        return tr("'{rule}' {what}").format(rule=self.rule, what=self.what())

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "priority": self.priority,
            "severity": str(self.severity),
            "effects": list(self.effects),
            "condition": self.condition or None,
            "test_mode": self.test_mode,
        }


@dataclass(frozen=True)
class RecentMessage:
    received: str
    recipient: str
    status: str  # as Exchange says it: Delivered, Failed, Quarantined, Pending...
    subject: str = ""
    from_ip: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "recipient": self.recipient,
            "status": self.status,
            "subject": self.subject,
            "from_ip": self.from_ip,
        }


# --- helpers -------------------------------------------------------------------------------


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _join(items: Sequence[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " " + tr("and") + " " + items[-1]


def _finding(
    check: CheckId,
    severity: Severity,
    title: str,
    details: str = "",
    fix: str = "",
    step: WizardStep | None = None,
    technical: Iterable[str] = (),
    *,
    checked: bool = True,
) -> Finding:
    return Finding(str(check), severity, title, details, fix, step, tuple(technical), checked)


def from_verdict(
    check: CheckId,
    verdict: Verdict,
    *,
    severity: Severity = Severity.PROBLEM,
    more: str = "",
    technical: Iterable[str] = (),
) -> Finding:
    """A finding in the words of the SMTP verdict catalog (the test message's too)."""
    details = " ".join(p for p in (verdict.explanation, more) if p)
    return _finding(check, severity, verdict.title, details, verdict.fix, verdict.step, technical)


def not_checked(
    check: CheckId, title: str, details: str = "", step: WizardStep | None = None
) -> Finding:
    """A check that could not run; says what would let it run."""
    return _finding(check, Severity.INFO, title, details, "", step, checked=False)


def sign_in_needed(check: CheckId, what: str) -> Finding:
    return not_checked(
        check,
        tr("Sign in to check this"),
        tr("Reading {what} needs an admin's sign-in (step Sign in).").format(what=what),
        WizardStep.SIGN_IN,
    )


def unreachable(check: CheckId) -> Finding:
    return not_checked(
        check,
        tr("The server could not be reached"),
        tr("The connection check above says why."),
    )


# --- 1. name resolution ---------------------------------------------------------------------


def check_resolution(
    device: DeviceUnderTest,
    lookups: Sequence[NameLookup],
    cloud: Cloud,
    expected: Endpoint | None,
) -> Finding:
    """The device's server name: does it resolve, and is it the right one?"""
    check = CheckId.RESOLVE
    technical = [lookup.describe() for lookup in lookups]
    own = next((lookup for lookup in lookups if lookup.role == "device"), None)
    if own is None:
        return not_checked(check, tr("The server's name was not looked up"))
    host = own.host
    right = expected.host if expected is not None else ""
    use_right = (
        tr("Enter {host} as the server on the device.").format(host=right)
        if right and right != host
        else tr("Correct the server's name on the device.")
    )
    if own.status in (LookupStatus.NOT_FOUND, LookupStatus.NO_ADDRESS):
        return _finding(
            check,
            Severity.PROBLEM,
            tr("The server name {host} does not exist").format(host=host)
            if own.status is LookupStatus.NOT_FOUND
            else tr("The server name {host} has no address").format(host=host),
            tr(
                "DNS knows no address for this name, so the device cannot connect. A typo "
                "in the server's name is the usual cause."
            ),
            use_right,
            WizardStep.SHEETS,
            technical,
        )
    if own.status is LookupStatus.FAILED:
        return _finding(
            check,
            Severity.WARNING,
            tr("The server's name could not be looked up from this computer"),
            tr("The DNS server did not answer ({detail}).").format(detail=own.detail or "-"),
            tr("Check this computer's network connection and DNS, then run the checks again."),
            WizardStep.OUTSIDE,
            technical,
        )
    port_note = _port_note(device, expected)
    if own.status is LookupStatus.ADDRESS:
        if host in cloud_addresses(cloud):
            return _finding(
                check,
                Severity.OK,
                tr("The device uses the address {host}").format(host=host),
                tr("That is where {cloud} listens; there is no name to look up.").format(
                    cloud=cloud.name
                )
                + port_note,
                "",
                None,
                technical,
            )
        return _finding(
            check,
            Severity.PROBLEM if device.signs_in else Severity.WARNING,
            tr("The device uses an IP address instead of the server's name"),
            tr(
                "Microsoft 365's addresses change without notice, and its certificate "
                "carries the name, not the address: a device that checks certificates "
                "refuses the connection."
            )
            + port_note,
            use_right,
            WizardStep.SHEETS,
            technical,
        )
    if right and right.lower() != host.lower() and not is_address(right):
        return _finding(
            check,
            Severity.WARNING,
            tr("The device uses {host}, not {right}").format(host=host, right=right),
            tr("The name resolves, but for {method} the server is {right}.").format(
                method=METHOD_INFO[device.method].title, right=right
            )
            + port_note,
            use_right,
            WizardStep.SHEETS,
            technical,
        )
    if device.port == 465:
        return _finding(
            check,
            Severity.PROBLEM,
            tr("Microsoft 365 does not offer port 465"),
            tr(
                "Port 465 (TLS from the first byte, 'SSL/TLS') is not served; devices use "
                "port 587 with STARTTLS, or 25 for relay."
            ),
            tr("Set the port to {port} with STARTTLS on the device.").format(
                port=expected.port if expected else 587
            ),
            WizardStep.SHEETS,
            technical,
        )
    return _finding(
        check,
        Severity.OK,
        tr("{host} resolves").format(host=host),
        tr("It has the addresses {addresses}.").format(addresses=", ".join(own.addresses))
        + port_note,
        "",
        None,
        technical,
    )


def _port_note(device: DeviceUnderTest, expected: Endpoint | None) -> str:
    if expected is None or expected.port == device.port:
        return ""
    return " " + tr("The device uses port {port}; the method's port is {expected}.").format(
        port=device.port, expected=expected.port
    )


# --- 2. ports 25 and 587 -------------------------------------------------------------------


def check_ports(device: DeviceUnderTest, probes: Sequence[PortProbe], target: Endpoint) -> Finding:
    """Port 25 and 587 side by side; a timeout on 25 with 587 open is a port-25 block."""
    check = CheckId.PORTS
    technical = [p.describe() for p in probes]
    technical.append(
        tr("Checked from this computer: run the checks on the device's network to see its path.")
    )
    by_role = {p.role: p for p in probes}
    relay = by_role.get(PortRole.RELAY)
    submission = by_role.get(PortRole.SUBMISSION)
    own = next((p for p in probes if p.endpoint == target), None)
    if own is None:
        return not_checked(check, tr("The device's port was not tried"))
    if own.reach is Reach.CANCELLED:
        return not_checked(check, tr("Stopped before the connection check finished"))
    on_relay = own.role is PortRole.RELAY
    where = f"{own.host}:{own.port}"
    if own.reach is Reach.OPEN:
        note = ""
        severity = Severity.OK
        if relay is not None and relay.reach is Reach.TIMEOUT and not on_relay:
            severity = Severity.INFO
            note = " " + tr(
                "Port 25 seems blocked on this network; that does not matter for this "
                "device, which uses port {port}."
            ).format(port=own.nominal_port)
        return _finding(
            check,
            severity,
            tr("The device's server answers on port {port}").format(port=own.nominal_port),
            tr("Connected to {where} in {ms} ms.").format(where=where, ms=_ms(own.seconds)) + note,
            "",
            None,
            technical,
        )
    if own.reach is Reach.TIMEOUT:
        other = submission if on_relay else relay
        if other is not None and other.reach is Reach.OPEN:
            if on_relay:
                return _finding(
                    check,
                    Severity.PROBLEM,
                    tr("Outbound port 25 is blocked on this network"),
                    tr(
                        "Connecting to port 25 timed out after {s:.1f} s while port 587 "
                        "answered in {ms} ms: the internet provider or a firewall blocks "
                        "port 25, so the device's mail never reaches Microsoft 365."
                    ).format(s=own.seconds, ms=_ms(other.seconds)),
                    tr(
                        "Ask the provider to open outbound port 25 to Microsoft 365, or "
                        "switch the device to a method on port 587 (SMTP AUTH with OAuth, "
                        "or High Volume Email)."
                    ),
                    WizardStep.METHOD,
                    technical,
                )
            return _finding(
                check,
                Severity.PROBLEM,
                tr("Outbound port {port} is blocked on this network").format(port=own.nominal_port),
                tr(
                    "Connecting to {where} timed out while port 25 answered: a firewall "
                    "blocks the submission port."
                ).format(where=where),
                tr(
                    "Open outbound port {port} to Microsoft 365 in the firewall, or use a "
                    "connector on port 25."
                ).format(port=own.nominal_port),
                WizardStep.OUTSIDE,
                technical,
            )
        return _finding(
            check,
            Severity.PROBLEM,
            tr("Microsoft 365 does not answer from this network"),
            tr(
                "Neither port 25 nor port 587 answered: the internet connection is down, or "
                "a firewall drops mail connections."
            ),
            tr("Check the internet connection and the firewall's outbound rules."),
            WizardStep.OUTSIDE,
            technical,
        )
    failure = {
        Reach.REFUSED: ConnectionFailure.REFUSED,
        Reach.UNREACHABLE: ConnectionFailure.UNREACHABLE,
        Reach.NOT_RESOLVED: ConnectionFailure.NAME_NOT_RESOLVED,
    }[own.reach]
    verdict = explain_connection_failure(failure, own.host, own.port)
    return from_verdict(check, verdict, technical=technical)


# --- 3. STARTTLS and TLS versions ---------------------------------------------------------


def check_tls(device: DeviceUnderTest, probe: TlsProbe, *, legacy_endpoint: bool) -> Finding:
    """Whether encryption can be set up the way the device does it.

    legacy_endpoint: the cloud offers an endpoint for devices stuck on TLS 1.0/1.1.
    """
    check = CheckId.TLS
    where = f"{probe.host}:{probe.port}"
    technical = [a.describe() for a in probe.attempts]
    if probe.error:
        technical.append(probe.error)
    if probe.starttls is None:
        return _finding(
            check,
            Severity.PROBLEM,
            tr("The server did not start the conversation"),
            tr("{where} accepted the connection but sent no greeting ({error}).").format(
                where=where, error=probe.error or "-"
            ),
            tr("Check the server and port; something in between may hold the connection."),
            WizardStep.SHEETS,
            technical,
        )
    if not probe.starttls:
        if device.security is Security.STARTTLS and device.tls_required:
            verdict = explain_connection_failure(
                ConnectionFailure.STARTTLS_UNAVAILABLE, probe.host, probe.port
            )
            return from_verdict(check, verdict, technical=technical)
        return _finding(
            check,
            Severity.INFO,
            tr("The server does not offer encryption"),
            tr("The device does not ask for it either, so its mail travels unencrypted."),
            "",
            None,
            technical,
        )
    agreed = probe.agreed
    names = _join([TLS_NAMES[v] for v in agreed])
    if not any(v in MODERN_TLS for v in agreed):
        verdict = explain_connection_failure(
            ConnectionFailure.TLS12_UNAVAILABLE, probe.host, probe.port
        )
        return from_verdict(
            check,
            verdict,
            more=tr(
                "Microsoft 365 always offers TLS 1.2: something between this computer and "
                "Microsoft (a proxy or a firewall inspecting mail) is in the way."
            ),
            technical=technical,
        )
    if device.security is Security.NONE:
        if device.signs_in:
            return _finding(
                check,
                Severity.PROBLEM,
                tr("The device signs in without encryption"),
                tr(
                    "Microsoft 365 offers sign-in only after STARTTLS, so the device is "
                    "refused (530 5.7.57 or 504 5.7.4)."
                ),
                tr("Switch STARTTLS on in the device's settings."),
                WizardStep.SHEETS,
                technical,
            )
        return _finding(
            check,
            Severity.INFO,
            tr("The device sends without encryption"),
            tr(
                "The server offers STARTTLS with {names}, but the device does not use it. "
                "This path allows it, unless a connector requires TLS."
            ).format(names=names),
            tr("Switch STARTTLS on in the device's settings if it can."),
            WizardStep.SHEETS,
            technical,
        )
    legacy = [a for a in probe.attempts if a.version not in MODERN_TLS]
    if device.tls12 is Tri.NO:
        if any(a.usable for a in legacy):
            return _finding(
                check,
                Severity.OK,
                tr("The device's older TLS is accepted here"),
                tr("The server takes mail over TLS 1.0/1.1, which this device needs."),
                "",
                None,
                technical,
            )
        refused = next((a.mail_refused for a in legacy if a.mail_refused), "")
        fix = (
            tr(
                "Update the device's firmware for TLS 1.2, or use the legacy TLS endpoint "
                "(the plan lets the tenant allow legacy TLS clients)."
            )
            if legacy_endpoint
            else tr(
                "Update the device's firmware for TLS 1.2; this cloud has no endpoint for "
                "older TLS, so a connector on port 25 is the other way."
            )
        )
        return _finding(
            check,
            Severity.PROBLEM,
            tr("The device's TLS 1.0/1.1 is refused"),
            (
                tr("The server agreed to {names}, but refuses mail over TLS 1.0/1.1 ({reply}).")
                if refused
                else tr("The server accepts {names} only, and this device has no TLS 1.2.")
            ).format(names=names, reply=refused),
            fix,
            WizardStep.PLAN if legacy_endpoint else WizardStep.METHOD,
            technical,
        )
    usable = _join([a.name for a in probe.attempts if a.usable])
    old_refused = [a.name for a in legacy if a.outcome is not TlsOutcome.NOT_HERE and not a.usable]
    return _finding(
        check,
        Severity.OK,
        tr("STARTTLS works with {names}").format(names=usable),
        tr("The server offers STARTTLS and takes mail over {names}.").format(names=usable)
        + (
            " "
            + tr("It refuses mail over {old}, as Microsoft 365 does.").format(
                old=_join(old_refused)
            )
            if old_refused
            else ""
        ),
        "",
        None,
        technical,
    )


# --- 4. the certificate -----------------------------------------------------------------------


def check_certificate(probe: TlsProbe, now: datetime) -> Finding:
    check = CheckId.CERTIFICATE
    if probe.certificate_failure is not None:
        verdict = explain_connection_failure(probe.certificate_failure, probe.host, probe.port)
        return from_verdict(
            check,
            verdict,
            technical=[probe.certificate_detail] if probe.certificate_detail else (),
        )
    cert = probe.certificate
    if cert is None:
        return not_checked(
            check,
            tr("No certificate to check"),
            tr("No encrypted connection was set up (see the encryption check)."),
        )
    technical = [
        tr("Subject: {value}").format(value=cert.subject or "-"),
        tr("Issuer: {value}").format(value=cert.issuer or "-"),
        tr("Names: {value}").format(value=", ".join(cert.names) or "-"),
        tr("Trusted by: {value}").format(value=cert.trusted_by),
    ]
    if cert.not_after is not None:
        technical.insert(
            2, tr("Valid until: {date}").format(date=cert.not_after.date().isoformat())
        )
        days = (cert.not_after - now).days
        if days <= CERTIFICATE_WARN_DAYS:
            return _finding(
                check,
                Severity.WARNING,
                tr("The server's certificate expires in {days} days").format(days=max(days, 0)),
                tr(
                    "Microsoft renews its certificates well ahead; one this close to its end "
                    "may come from a device in between that inspects TLS."
                ),
                tr("Check for a proxy or security appliance that inspects mail connections."),
                WizardStep.OUTSIDE,
                technical,
            )
    return _finding(
        check,
        Severity.OK,
        tr("The certificate is valid for {host}").format(host=probe.host),
        tr("Issued by {issuer}{until}; checked against {trusted}.").format(
            issuer=cert.issuer or "-",
            until=(
                tr(", valid until {date}").format(date=cert.not_after.date().isoformat())
                if cert.not_after
                else ""
            ),
            trusted=cert.trusted_by,
        ),
        "",
        None,
        technical,
    )


# --- 5. sign-in and sending permission ---------------------------------------------------------


def check_auth(device: DeviceUnderTest, result: SmtpTestResult) -> Finding:
    """The server's answer to sign-in (if any), the sender and the recipient."""
    check = CheckId.AUTH
    technical = []
    if result.auth_mechanism:
        technical.append(
            tr("Signed in with {mechanism} as {user}").format(
                mechanism=result.auth_mechanism, user=device.login
            )
        )
    if result.reply is not None:
        technical.append(
            tr("Server at {stage}: {code} {text}").format(
                stage=result.reply.stage.value, code=result.reply.code, text=result.reply.text
            )
        )
    if result.detail:
        technical.append(result.detail)
    if result.outcome is Outcome.CANCELLED:
        return not_checked(check, tr("Stopped before the sign-in check finished"))
    if result.outcome is Outcome.CHECKED:
        recipient = device.test_recipient
        if device.signs_in:
            title = tr("{user} signs in and may send as {sender}").format(
                user=device.login, sender=device.sender
            )
        else:
            title = tr("The server takes mail from {sender} without sign-in").format(
                sender=device.sender
            )
        return _finding(
            check,
            Severity.OK,
            title,
            tr(
                "The server accepted the sender and the recipient {recipient}. Nothing was "
                "sent: the check stopped before the message."
            ).format(recipient=recipient),
            "",
            None,
            technical,
        )
    verdict = result.verdict
    if device.method is Method.CONNECTOR and verdict.key == "5.7.54":
        # For a device that relies on a connector, "relay not allowed" means that no
        # connector recognised the office.
        verdict = explain_reply(550, "5.7.64 TenantAttribution; Relay Access Denied")
    more = ""
    if result.reply is not None:
        more = tr("The server answered: {code} {text}").format(
            code=result.reply.code, text=result.reply.text
        )
    return from_verdict(check, verdict, more=more, technical=technical)


# --- 6. the connector --------------------------------------------------------------------------


def _cert_matches(name: str, pattern: str) -> bool:
    name, pattern = name.lower().strip().rstrip("."), pattern.lower().strip().rstrip(".")
    if pattern.startswith("*."):
        return name.endswith(pattern[1:]) or name == pattern
    if name.startswith("*."):
        return pattern.endswith(name[1:]) and pattern.count(".") == name.count(".")
    return name == pattern


def connector_matches(
    connector: InboundConnector, domain: str, ip: str | None, certificate: str | None
) -> str | None:
    """How the connector recognises the office ("certificate", "ip"), or None."""
    if not connector.enabled or not connector.accepts_domain(domain):
        return None
    cert_name = connector.tls_sender_certificate_name
    if certificate and cert_name and _cert_matches(certificate, cert_name):
        return "certificate"
    if ip and connector.is_ip_connector and connector.covers(ip):
        return "ip"
    return None


def _connector_line(c: InboundConnector) -> str:
    return tr("'{name}' ({state}): sender domains {domains}; IPs {ips}; certificate {cert}").format(
        name=c.name,
        state=tr("on") if c.enabled else tr("off"),
        domains=", ".join(sorted(c.domains)) or "-",
        ips=", ".join(c.sender_ip_addresses) or "-",
        cert=c.tls_sender_certificate_name or "-",
    )


def check_connector(
    device: DeviceUnderTest, tenant: TenantView | None, public_ip: PublicIp | None
) -> Finding:
    check = CheckId.CONNECTOR
    ip = public_ip.address if public_ip is not None else None
    technical: list[str] = []
    if public_ip is not None:
        technical.append(
            tr("The office's public IP now: {ip} ({source})").format(ip=ip, source=public_ip.source)
            if ip
            else tr("The office's public IP could not be detected: {error}").format(
                error=public_ip.error or "-"
            )
        )
    changed = bool(ip and device.known_site_ip and device.known_site_ip != ip)
    if changed:
        technical.append(
            tr("The site profile has {old}: the address changed.").format(old=device.known_site_ip)
        )
    if tenant is None:
        finding = sign_in_needed(check, tr("the tenant's connectors"))
        return Finding(
            finding.id,
            finding.severity,
            finding.title,
            finding.details,
            finding.fix,
            finding.step,
            tuple(technical),
            checked=False,
        )
    technical += [_connector_line(c) for c in tenant.connectors] or [
        tr("Get-InboundConnector: (none)")
    ]
    domain = device.sender_domain
    cert = device.certificate_name
    matches = [
        (c, how) for c in tenant.connectors if (how := connector_matches(c, domain, ip, cert))
    ]
    # Certificate first: Microsoft attributes a connection by certificate before IP.
    matches.sort(key=lambda m: 0 if m[1] == "certificate" else 1)
    matched = matches[0][0] if matches else None
    for_domain = [c for c in tenant.connectors if c.enabled and c.accepts_domain(domain)]
    if device.method in (Method.SMTP_AUTH, Method.SMTP_AUTH_OAUTH, Method.HVE):
        return _finding(
            check,
            Severity.INFO,
            tr("Not needed: the device signs in"),
            tr("Connectors only decide about devices that send without signing in."),
            "",
            None,
            technical,
        )
    restricted = [
        c
        for c in for_domain
        if c is not matched
        and (
            (c.restrict_domains_to_ip_addresses and not (ip and c.covers(ip)))
            or (
                c.restrict_domains_to_certificate
                and not (
                    cert
                    and c.tls_sender_certificate_name
                    and _cert_matches(cert, c.tls_sender_certificate_name)
                )
            )
        )
    ]
    if matched is not None:
        how = matches[0][1]
        risk = ""
        cert_domain = matched.certificate_domain
        severity = Severity.OK
        if cert_domain and not tenant.is_accepted_or_subdomain(cert_domain):
            severity = Severity.WARNING
            risk = " " + tr(
                "Its certificate name {name} is not one of the tenant's domains; Microsoft "
                "warns such connectors may stop working without notice (MC1226222)."
            ).format(name=matched.tls_sender_certificate_name)
        note = (
            " "
            + tr("The site profile still has {old}; save the new address {ip} in the site.").format(
                old=device.known_site_ip, ip=ip
            )
            if changed
            else ""
        )
        return _finding(
            check,
            severity,
            tr("Connector '{name}' recognises the office").format(name=matched.name),
            (
                tr("It accepts the device's certificate {cert}.").format(cert=cert)
                if how == "certificate"
                else tr("It accepts the office's public IP {ip}.").format(ip=ip)
            )
            + risk
            + note,
            tr("Use a certificate for one of your own domains.") if risk else "",
            WizardStep.OUTSIDE if risk else None,
            technical,
        )
    ip_connectors = [c for c in for_domain if c.is_ip_connector]
    if device.method is Method.DIRECT_SEND:
        if restricted:
            return _ip_changed(check, restricted[0], device, ip, technical)
        if tenant.reject_direct_send is True:
            return _finding(
                check,
                Severity.PROBLEM,
                tr("The tenant refuses direct send, and no connector recognises the office"),
                tr(
                    "RejectDirectSend is on: anonymous mail from your domains is refused "
                    "(550 5.7.68) unless a connector recognises the sender."
                ),
                tr("Send through a connector for the office instead (connector relay)."),
                WizardStep.METHOD,
                technical,
            )
        return _finding(
            check,
            Severity.OK,
            tr("Direct send needs no connector"),
            tr("RejectDirectSend is off, so mail to your own mailboxes is taken without one."),
            "",
            None,
            technical,
        )
    # Connector relay.
    if ip is None and not cert:
        return _finding(
            check,
            Severity.WARNING,
            tr("The office's public IP could not be detected"),
            tr("Without it the wizard cannot tell which connector recognises the office."),
            tr("Enter the office's public IP in Site and devices, then run the checks again."),
            WizardStep.SITE,
            technical,
        )
    if ip_connectors:
        return _ip_changed(check, ip_connectors[0], device, ip, technical)
    cert_connectors = [c for c in for_domain if c.is_certificate_connector]
    if cert_connectors:
        expected = cert_connectors[0].tls_sender_certificate_name
        return _finding(
            check,
            Severity.PROBLEM,
            tr("Connector '{name}' does not recognise the device's certificate").format(
                name=cert_connectors[0].name
            ),
            tr("It expects a certificate issued to {expected}; the device presents {have}.").format(
                expected=expected, have=cert or tr("none that was entered")
            ),
            tr(
                "Install a certificate for {expected} on the device, or enter the name it "
                "presents above."
            ).format(expected=expected),
            WizardStep.OUTSIDE,
            technical,
        )
    switched_off = [c for c in tenant.connectors if not c.enabled and c.accepts_domain(domain)]
    if switched_off:
        return _finding(
            check,
            Severity.PROBLEM,
            tr("Connector '{name}' is switched off").format(name=switched_off[0].name),
            tr("While it is off, Microsoft 365 does not recognise the office."),
            tr("Switch it on in the Exchange admin center (Mail flow > Connectors)."),
            WizardStep.OUTSIDE,
            technical,
        )
    return _finding(
        check,
        Severity.PROBLEM,
        tr("The tenant has no connector for {domain}").format(domain=domain),
        tr(
            "Connector relay needs an inbound connector that recognises the office by its "
            "public IP or certificate; without one, mail to outside recipients is refused."
        ),
        tr("Let the plan create a connector for the office."),
        WizardStep.PLAN,
        technical,
    )


def _ip_changed(
    check: CheckId,
    connector: InboundConnector,
    device: DeviceUnderTest,
    ip: str | None,
    technical: list[str],
) -> Finding:
    accepted = ", ".join(connector.sender_ip_addresses) or tr("(no address)")
    return _finding(
        check,
        Severity.PROBLEM,
        tr("The office's public IP is now {ip}; connector '{name}' expects {accepted}").format(
            ip=ip or "?", name=connector.name, accepted=accepted
        ),
        tr(
            "Microsoft 365 no longer recognises the office, so the device's mail is refused "
            "(550 5.7.64). The office's address changed, for example after a new router or "
            "internet contract."
        ),
        tr(
            "Update the connector to {ip}: the wizard puts the new address into the site "
            "and the plan changes the connector."
        ).format(ip=ip or "?"),
        WizardStep.PLAN,
        technical,
    )


# --- 7. mail flow rules --------------------------------------------------------------------------


def _in_ranges(ip: str, ranges: Sequence[str]) -> bool:
    try:
        address = ipaddress.IPv4Address(ip)
    except ValueError:
        return False
    for entry in ranges:
        try:
            if any(address in net for net in parse_ip_entry(entry)):
                return True
        except ValueError:
            continue
    return False


def _domain_in(domain: str, domains: Sequence[str]) -> bool:
    """SenderDomainIs matches the domain and its subdomains."""
    wanted = normalise_domain(domain)
    for entry in domains:
        name = normalise_domain(entry)
        if wanted == name or wanted.endswith("." + name):
            return True
    return False


def _words_in(address: str, words: Sequence[str]) -> bool:
    text = address.lower()
    return any(w.strip().lower() and w.strip().lower() in text for w in words)


_ACTION_WORDS: dict[str, tuple[Severity, str]] = {
    "RedirectMessageTo": (Severity.PROBLEM, tr("redirects it to {value}")),
    "Quarantine": (Severity.PROBLEM, tr("sends it to quarantine")),
    "DeleteMessage": (Severity.PROBLEM, tr("deletes it without notice")),
    "RejectMessageReasonText": (Severity.PROBLEM, tr("rejects it ('{value}')")),
    "RejectMessageEnhancedStatusCode": (Severity.PROBLEM, tr("rejects it with {value}")),
    "ModerateMessageByUser": (Severity.WARNING, tr("holds it until {value} approves it")),
    "ModerateMessageByManager": (
        Severity.WARNING,
        tr("holds it until the sender's manager approves it"),
    ),
    "RouteMessageOutboundConnector": (
        Severity.WARNING,
        tr("routes it through the outbound connector {value}"),
    ),
    "BlindCopyTo": (Severity.INFO, tr("sends a hidden copy to {value}")),
    "CopyTo": (Severity.INFO, tr("sends a copy to {value}")),
    "AddToRecipients": (Severity.INFO, tr("adds {value} as a recipient")),
    "PrependSubject": (Severity.INFO, tr("puts '{value}' before the subject")),
    "ApplyHtmlDisclaimerText": (Severity.INFO, tr("adds a disclaimer")),
    "ApplyOME": (Severity.INFO, tr("encrypts it")),
    "ApplyRightsProtectionTemplate": (Severity.INFO, tr("protects it with {value}")),
    "SetHeaderName": (Severity.INFO, tr("sets the header {value}")),
    "GenerateIncidentReport": (Severity.INFO, tr("sends an incident report to {value}")),
    "NotifySender": (Severity.INFO, tr("notifies the sender")),
}
# Actions that change nothing about the message itself.
_SILENT_ACTIONS = frozenset({"StopRuleProcessing", "SenderNotificationType", "Mode"})


def _effect(name: str, value: str) -> tuple[Severity, str]:
    if name == "SetSCL":
        try:
            scl = int(value)
        except ValueError:
            return Severity.INFO, tr("sets the spam level to {value}").format(value=value)
        if scl >= 5:
            return Severity.WARNING, tr(
                "marks it as spam (SCL {scl}), so it lands in Junk or quarantine"
            ).format(scl=scl)
        if scl < 0:
            return Severity.INFO, tr("lets it skip spam filtering")
        return Severity.INFO, tr("sets the spam level to {scl}").format(scl=scl)
    if name in _ACTION_WORDS:
        severity, words = _ACTION_WORDS[name]
        return severity, words.format(value=value or "?")
    return Severity.INFO, tr("applies the action {name}").format(name=name)


def rule_effects(
    device: DeviceUnderTest,
    rules: Sequence[RuleInfo],
    ip: str | None,
    accepted_domains: Sequence[str] = (),
) -> tuple[RuleEffect, ...]:
    """The enabled rules whose sender conditions match the device's mail, and what they do."""
    sender = device.sender.strip().lower()
    domain = device.sender_domain
    found: list[RuleEffect] = []
    for rule in sorted(rules, key=lambda r: r.priority):
        if not rule.enabled:
            continue
        unknown: list[str] = []
        if rule.from_addresses and sender not in {a.strip().lower() for a in rule.from_addresses}:
            continue
        if rule.sender_domains and not _domain_in(domain, rule.sender_domains):
            continue
        if rule.from_words and not _words_in(sender, rule.from_words):
            continue
        if rule.sender_ip_ranges:
            if ip is None:
                unknown.append(
                    tr("the office's IP is in {ranges}").format(
                        ranges=", ".join(rule.sender_ip_ranges)
                    )
                )
            elif not _in_ranges(ip, rule.sender_ip_ranges):
                continue
        if rule.from_scope:
            scope = rule.from_scope.strip().lower()
            inside = any(
                domain == normalise_domain(d) or domain.endswith("." + normalise_domain(d))
                for d in accepted_domains
            )
            if scope == "notinorganization" and inside and device.signs_in:
                continue
            if scope == "inorganization" and not inside:
                continue
            if not device.signs_in:
                # Anonymous mail from an accepted domain may count either way.
                unknown.append(tr("the sender counts as {scope}").format(scope=rule.from_scope))
        if sender in {a.strip().lower() for a in rule.except_from}:
            continue
        if rule.except_sender_domains and _domain_in(domain, rule.except_sender_domains):
            continue
        if ip and rule.except_sender_ip_ranges and _in_ranges(ip, rule.except_sender_ip_ranges):
            continue
        if rule.except_from_words and _words_in(sender, rule.except_from_words):
            continue
        unknown += [tr("{condition} is met").format(condition=c) for c in rule.other_conditions]
        effects = [
            _effect(name, value) for name, value in rule.actions if name not in _SILENT_ACTIONS
        ]
        if not effects:
            continue
        severity = min((e[0] for e in effects), key=_SEVERITY_RANK.__getitem__)
        if rule.test_mode:
            severity = Severity.INFO
        elif unknown and severity is Severity.PROBLEM:
            # It depends on something the wizard cannot judge for the device.
            severity = Severity.WARNING
        found.append(
            RuleEffect(
                rule=rule.name,
                priority=rule.priority,
                severity=severity,
                effects=tuple(e[1] for e in effects),
                condition=_join(unknown),
                test_mode=rule.test_mode,
            )
        )
    return tuple(found)


_SEVERITY_RANK: dict[Severity, int] = {
    Severity.PROBLEM: 0,
    Severity.WARNING: 1,
    Severity.INFO: 2,
    Severity.OK: 3,
}


def check_rules(
    device: DeviceUnderTest,
    rules: Sequence[RuleInfo] | None,
    ip: str | None,
    accepted_domains: Sequence[str] = (),
) -> Finding:
    check = CheckId.RULES
    if rules is None:
        return sign_in_needed(check, tr("the mail flow rules (Get-TransportRule)"))
    effects = rule_effects(device, rules, ip, accepted_domains)
    technical = [e.describe() for e in effects]
    enabled = sum(1 for r in rules if r.enabled)
    technical.append(
        tr("{n} rules, {enabled} of them on (Get-TransportRule)").format(
            n=len(rules), enabled=enabled
        )
    )
    if not effects:
        return _finding(
            check,
            Severity.OK,
            tr("No mail flow rule touches mail from {sender}").format(sender=device.sender),
            tr("None of the {n} rules matches the sender, its domain or the office's IP.").format(
                n=len(rules)
            ),
            "",
            None,
            technical,
        )
    worst = min(effects, key=lambda e: _SEVERITY_RANK[e.severity])
    fix = tr(
        "Change or switch off the rule in the Exchange admin center (Mail flow > Rules), or "
        "add an exception for {sender}."
    ).format(sender=device.sender)
    if worst.severity in (Severity.PROBLEM, Severity.WARNING):
        title = tr("Mail flow rule '{rule}' {effects}").format(
            rule=worst.rule, effects=_join(worst.effects)
        )
        details = tr("Mail from {sender} is matched by: {rules}.").format(
            sender=device.sender, rules="; ".join(e.describe() for e in effects)
        )
        return _finding(check, worst.severity, title, details, fix, WizardStep.OUTSIDE, technical)
    return _finding(
        check,
        Severity.INFO,
        tr("{n} mail flow rule(s) touch the device's mail, harmlessly").format(n=len(effects)),
        "; ".join(e.describe() for e in effects) + ".",
        "",
        None,
        technical,
    )


# --- 8. the message trace ------------------------------------------------------------------------


def _status_of(status: str) -> str:
    value = status.strip().lower()
    if value in ("filteredasspam", "quarantined"):
        return "quarantined"
    if value in ("delivered", "failed"):
        return value
    return "pending"


def check_trace(
    device: DeviceUnderTest, messages: Sequence[RecentMessage] | None, hours: int
) -> Finding:
    check = CheckId.TRACE
    if messages is None:
        return sign_in_needed(check, tr("the message trace (Get-MessageTraceV2)"))
    technical = [
        f"{m.received}  {m.status:<11}  {m.recipient}  {m.subject}".rstrip() for m in messages[:20]
    ]
    if not messages:
        return _finding(
            check,
            Severity.WARNING,
            tr("No message from {sender} in the last {hours} hours").format(
                sender=device.sender, hours=hours
            ),
            tr(
                "Nothing the device sent reached Microsoft 365 lately. Messages refused "
                "during the conversation (at sign-in, sender or recipient) never show in "
                "the trace: the checks above say why they were refused."
            ),
            "",
            None,
            technical,
        )
    latest = messages[0]
    counts: dict[str, int] = {}
    for message in messages:
        key = _status_of(message.status)
        counts[key] = counts.get(key, 0) + 1
    summary = ", ".join(
        f"{n} {word}"
        for key, word in (
            ("delivered", tr("delivered")),
            ("failed", tr("failed")),
            ("quarantined", tr("quarantined")),
            ("pending", tr("pending")),
        )
        if (n := counts.get(key, 0))
    )
    details = tr(
        "{n} message(s) in the last {hours} hours: {summary}. Latest: {when} to {to}, {status}."
    ).format(
        n=len(messages),
        hours=hours,
        summary=summary,
        when=latest.received,
        to=latest.recipient,
        status=latest.status,
    )
    state = _status_of(latest.status)
    if state == "failed":
        return _finding(
            check,
            Severity.PROBLEM,
            tr("The device's latest message failed"),
            details,
            tr(
                "Open the message in the Exchange admin center (Mail flow > Message trace) "
                "to read why."
            ),
            WizardStep.OUTSIDE,
            technical,
        )
    if state == "quarantined":
        return _finding(
            check,
            Severity.PROBLEM,
            tr("The device's latest message is held in quarantine"),
            details,
            tr(
                "Release it in the Microsoft Defender portal (Quarantine) and check the "
                "mail flow rules and spam policies that caught it."
            ),
            WizardStep.OUTSIDE,
            technical,
        )
    if state == "pending":
        return _finding(
            check,
            Severity.INFO,
            tr("The device's latest message is still being delivered"),
            details,
            "",
            None,
            technical,
        )
    return _finding(
        check,
        Severity.OK,
        tr("The device's latest message was delivered"),
        details,
        "",
        None,
        technical,
    )


# --- the report ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TroubleshootReport:
    device: DeviceUnderTest
    cloud: str  # the cloud's name
    generated: datetime
    findings: tuple[Finding, ...]
    signed_in_as: str | None = None
    lookups: tuple[NameLookup, ...] = ()
    ports: tuple[PortProbe, ...] = ()
    tls: TlsProbe | None = None
    auth: SmtpTestResult | None = None
    public_ip: PublicIp | None = None
    connectors: tuple[InboundConnector, ...] | None = None
    rules: tuple[RuleEffect, ...] | None = None
    messages: tuple[RecentMessage, ...] | None = None
    trace_hours: int = 48
    elapsed: float = 0.0
    cancelled: bool = False

    def finding(self, check: CheckId) -> Finding | None:
        return next((f for f in self.findings if f.id == str(check)), None)

    @property
    def headline(self) -> Finding | None:
        return headline(self.findings)

    @property
    def at_risk(self) -> bool:
        return self.headline is not None

    @property
    def new_site_ip(self) -> str | None:
        """The detected public IP when it differs from the site's (for "Fix in Plan")."""
        ip = self.public_ip.address if self.public_ip is not None else None
        if ip and ip != self.device.known_site_ip:
            return ip
        return None

    @property
    def port25_blocked(self) -> bool:
        """Port 25 timed out while port 587 answered (for "Fix in Method")."""
        reach = {p.role: p.reach for p in self.ports}
        return (
            reach.get(PortRole.RELAY) is Reach.TIMEOUT
            and reach.get(PortRole.SUBMISSION) is Reach.OPEN
        )

    def to_json(self) -> dict[str, Any]:
        top = self.headline
        auth = self.auth
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": "troubleshoot",
            "generated_at": self.generated.isoformat(timespec="seconds"),
            "cloud": self.cloud,
            "signed_in_as": self.signed_in_as,
            "device": self.device.to_json(),
            "at_risk": self.at_risk,
            "headline": None
            if top is None
            else {"id": top.id, "title": top.title, "fix": top.fix, "step": str(top.step)},
            "cancelled": self.cancelled,
            "elapsed_seconds": round(self.elapsed, 2),
            "findings": [f.to_json() for f in self.findings],
            "name_lookups": [lookup.to_json() for lookup in self.lookups],
            "ports": [p.to_json() for p in self.ports],
            "tls": self.tls.to_json() if self.tls else None,
            "auth": None
            if auth is None
            else {
                "result": str(auth.outcome),
                "stage": str(auth.stage),
                "verdict": auth.verdict.key,
                "reply": auth.reply.to_json() if auth.reply else None,
                "auth_mechanism": auth.auth_mechanism,
                "transcript": [line.to_json() for line in auth.lines],
            },
            "public_ip": self.public_ip.to_json() if self.public_ip else None,
            "connectors": None
            if self.connectors is None
            else [
                {
                    "name": c.name,
                    "enabled": c.enabled,
                    "sender_domains": sorted(c.domains),
                    "sender_ip_addresses": list(c.sender_ip_addresses),
                    "tls_sender_certificate_name": c.tls_sender_certificate_name,
                    "matches": connector_matches(
                        c,
                        self.device.sender_domain,
                        self.public_ip.address if self.public_ip else None,
                        self.device.certificate_name,
                    ),
                }
                for c in self.connectors
            ],
            "transport_rules": None if self.rules is None else [r.to_json() for r in self.rules],
            "messages": None if self.messages is None else [m.to_json() for m in self.messages],
        }

    def document(self) -> FindingsDocument:
        device = self.device
        facts = [
            (tr("Device"), device.name or device.sender),
            (tr("Method"), METHOD_INFO[device.method].title),
            (tr("Sender"), device.sender),
            (tr("Server"), f"{device.host}:{device.port}"),
            (tr("Cloud"), self.cloud),
            (
                tr("Tenant checks"),
                tr("signed in as {upn}").format(upn=self.signed_in_as)
                if self.signed_in_as
                else tr("not signed in: connector, rules and trace not checked"),
            ),
        ]
        if self.public_ip is not None and self.public_ip.address:
            facts.append((tr("Office's public IP"), self.public_ip.address))
        sections = [Section(tr("Checks, in the order a connection is made"), self.findings)]
        if self.ports:
            sections.append(
                Section(
                    tr("Connections"),
                    table=Table(
                        (tr("Port"), tr("Connected to"), tr("Result"), tr("Time")),
                        tuple(
                            (
                                str(p.nominal_port)
                                if p.role is not PortRole.DEVICE
                                else tr("device"),
                                f"{p.host}:{p.port}",
                                _REACH_WORDS[p.reach],
                                f"{_ms(p.seconds)} ms",
                            )
                            for p in self.ports
                        ),
                    ),
                )
            )
        if self.tls is not None and self.tls.attempts:
            sections.append(
                Section(
                    tr("TLS versions"),
                    table=Table(
                        (tr("Version"), tr("Result")),
                        tuple((a.name, a.describe().split(": ", 1)[1]) for a in self.tls.attempts),
                    ),
                )
            )
        if self.rules:
            sections.append(
                Section(
                    tr("Mail flow rules touching the device's mail"),
                    table=Table(
                        (tr("Rule"), tr("What it does")),
                        tuple(
                            (
                                r.rule,
                                _join(r.effects) + (f" ({r.condition})" if r.condition else ""),
                            )
                            for r in self.rules
                        ),
                    ),
                )
            )
        if self.messages:
            sections.append(
                Section(
                    tr("Recent messages from {sender}").format(sender=device.sender),
                    table=Table(
                        (tr("Received"), tr("Recipient"), tr("Status"), tr("Subject")),
                        tuple(
                            (m.received, m.recipient, m.status, m.subject)
                            for m in self.messages[:25]
                        ),
                    ),
                )
            )
        return FindingsDocument(
            kind="troubleshoot",
            title=tr("Troubleshooting report"),
            subject=device.name or device.sender,
            generated=self.generated,
            facts=tuple(facts),
            sections=tuple(sections),
            summary=self.headline,
        )
