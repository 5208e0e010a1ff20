"""The Troubleshoot path's model: the device, what each probe found, and the report.

`services.troubleshooter` runs the probes (DNS, TCP, STARTTLS, sign-in, the tenant's
connectors, mail flow rules and message trace) and keeps their raw results in the
types below; `troubleshoot_wire` (checks 1-5) and `troubleshoot_tenant` (6-8) turn
each into a `Finding` with the step that fixes it. The checks run in `CHECK_ORDER`,
the order in which a connection is made: a name that does not resolve explains every
later failure, so it comes first.

Pure: no I/O, no clock (the caller passes "now").
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from wizard.core.clouds import Cloud, Endpoint, device_facing
from wizard.core.device_settings import AuthKind, DeviceSettings, Security
from wizard.core.findings import Finding, FindingsDocument, Section, Severity, Table, headline
from wizard.core.i18n import tr
from wizard.core.mail_rules import RuleEffect
from wizard.core.methods import METHOD_INFO, Method, Tri
from wizard.core.smtp_codes import (
    ConnectionFailure,
    Verdict,
)
from wizard.core.steps import WizardStep
from wizard.core.tenant import InboundConnector, normalise_domain
from wizard.core.transcript import SmtpTestResult, TlsDetails
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


# --- probe results (filled in by services.troubleshooter) ----------------------------------


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
                host=self.host, addresses=", ".join(self.addresses), ms=ms(self.seconds)
            )
        if self.status is LookupStatus.ADDRESS:
            return tr("{host} is an address; nothing to look up").format(host=self.host)
        return f"{self.host}: {LOOKUP_WORDS[self.status]}" + (
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


LOOKUP_WORDS: dict[LookupStatus, str] = {
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


REACH_WORDS: dict[Reach, str] = {
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
            label=label, where=where, word=REACH_WORDS[self.reach], ms=ms(self.seconds)
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


def ms(seconds: float) -> int:
    return round(seconds * 1000)


def make_finding(
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
    return make_finding(
        check, severity, verdict.title, details, verdict.fix, verdict.step, technical
    )


def not_checked(
    check: CheckId, title: str, details: str = "", step: WizardStep | None = None
) -> Finding:
    """A check that could not run; says what would let it run."""
    return make_finding(check, Severity.INFO, title, details, "", step, checked=False)


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


# --- how a connector recognises the office ---------------------------------------------


def cert_matches(name: str, pattern: str) -> bool:
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
    if certificate and cert_name and cert_matches(certificate, cert_name):
        return "certificate"
    if ip and connector.is_ip_connector and connector.covers(ip):
        return "ip"
    return None


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
                                REACH_WORDS[p.reach],
                                f"{ms(p.seconds)} ms",
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
                        tuple((r.rule, r.what()) for r in self.rules),
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
