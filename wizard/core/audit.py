"""The relay audit: what in a tenant lets devices and apps send, and what is at risk.

Read-only and pure: `audit_tenant()` reads a `TenantSnapshot` holding every mailbox
(the audit service reads them all) and says, in plain words:

- SMTP AUTH exposure: the tenant switch and every mailbox's own and effective value.
  A mailbox without its own value inherits the tenant's, so an audit that looks only
  for mailboxes switched on by hand misses them (M365-FACTS);
- inbound connectors at risk: a certificate name that is not an accepted domain, and
  connectors that recognise senders by IP address (message MC1226222);
- RejectDirectSend, High Volume Email accounts;
- what changes for this tenant at the end of December 2026 and in 2027 (MC786329).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from wizard.core.findings import Finding, FindingsDocument, Section, Severity, Table, at_risk
from wizard.core.i18n import ntr, tr
from wizard.core.methods import Tri
from wizard.core.retirement import (
    BASIC_OFF_BY_DEFAULT,
    FINAL_REMOVAL_WINDOW_START,
    HVE_BASIC_UNTIL,
    BasicAuthPhase,
    basic_auth_outlook,
    hve_basic_supported,
)
from wizard.core.steps import WizardStep
from wizard.core.tenant import HveAccount, InboundConnector, MailboxState, TenantSnapshot

SCHEMA_VERSION = 1
# How many addresses a finding names before it says "and N more".
_NAMED = 8


def _ps(value: bool | None) -> str:
    return "$null" if value is None else ("$true" if value else "$false")


def _names(addresses: list[str]) -> str:
    shown = ", ".join(addresses[:_NAMED])
    if len(addresses) > _NAMED:
        shown += " " + tr("and {n} more").format(n=len(addresses) - _NAMED)
    return shown


@dataclass(frozen=True)
class MailboxExposure:
    """One mailbox's SMTP AUTH switch. Values are SmtpClientAuthenticationDisabled:
    True means SMTP AUTH is off; `own` None means the mailbox inherits the tenant's."""

    address: str
    display_name: str
    own: bool | None
    effective: bool | None

    @property
    def inherited(self) -> bool:
        return self.own is None

    @property
    def exposed(self) -> bool:
        """SMTP AUTH works for this mailbox (passwords too, unless something else blocks)."""
        return self.effective is False

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "display_name": self.display_name,
            "own": self.own,
            "effective": self.effective,
            "inherited": self.inherited,
            "smtp_auth_enabled": None if self.effective is None else not self.effective,
        }


@dataclass(frozen=True)
class ConnectorRisk:
    connector: InboundConnector
    severity: Severity
    risks: tuple[str, ...]
    recognises_by: str  # "ip", "certificate", "ip+certificate" or "nothing"
    certificate_domain_accepted: bool | None

    def to_json(self) -> dict[str, Any]:
        c = self.connector
        return {
            "name": c.name,
            "enabled": c.enabled,
            "connector_type": c.connector_type,
            "sender_domains": sorted(c.domains),
            "sender_ip_addresses": list(c.sender_ip_addresses),
            "addresses_accepted": c.address_count(),
            "tls_sender_certificate_name": c.tls_sender_certificate_name,
            "certificate_domain_accepted": self.certificate_domain_accepted,
            "restrict_domains_to_ip_addresses": c.restrict_domains_to_ip_addresses,
            "restrict_domains_to_certificate": c.restrict_domains_to_certificate,
            "require_tls": c.require_tls,
            "recognises_by": self.recognises_by,
            "severity": str(self.severity),
            "at_risk": self.severity in (Severity.WARNING, Severity.PROBLEM),
            "risks": list(self.risks),
        }


@dataclass(frozen=True)
class DateImpact:
    when: str  # as Microsoft says it
    day: date
    what: str
    passed: bool
    impact: str  # what it means for this tenant
    affected: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "when": self.when,
            "date": self.day.isoformat(),
            "passed": self.passed,
            "what": self.what,
            "impact": self.impact,
            "affected": list(self.affected),
        }


@dataclass(frozen=True)
class AuditReport:
    tenant_id: str
    tenant_name: str
    generated: datetime
    today: date
    tenant_disabled: bool | None
    security_defaults: Tri
    mailboxes: tuple[MailboxExposure, ...]
    connectors: tuple[ConnectorRisk, ...]
    reject_direct_send: bool | None
    hve_accounts: tuple[HveAccount, ...]
    dates: tuple[DateImpact, ...]
    findings: tuple[Finding, ...]
    unreadable: tuple[str, ...] = ()
    signed_in_as: str | None = None

    @property
    def at_risk(self) -> bool:
        return at_risk(self.findings)

    @property
    def exposed(self) -> tuple[MailboxExposure, ...]:
        return tuple(m for m in self.mailboxes if m.exposed)

    def to_json(self) -> dict[str, Any]:
        """The documented `audit --json` document (README: Command line)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": "audit",
            "tenant": {
                "id": self.tenant_id,
                "name": self.tenant_name,
                "signed_in_as": self.signed_in_as,
            },
            "generated_at": self.generated.isoformat(timespec="seconds"),
            "at_risk": self.at_risk,
            "findings": [f.to_json() for f in self.findings],
            "smtp_auth": {
                "tenant_disabled": self.tenant_disabled,
                "security_defaults": {Tri.YES: True, Tri.NO: False}.get(self.security_defaults),
                "mailboxes": [m.to_json() for m in self.mailboxes],
            },
            "connectors": [c.to_json() for c in self.connectors],
            "reject_direct_send": self.reject_direct_send,
            "hve_accounts": [
                {"address": a.address, "display_name": a.display_name} for a in self.hve_accounts
            ],
            "dates": [d.to_json() for d in self.dates],
            "unreadable": list(self.unreadable),
        }

    def document(self) -> FindingsDocument:
        def onoff(value: bool | None) -> str:
            if value is None:
                return tr("unknown")
            return tr("off") if value else tr("on")

        facts = (
            (tr("Tenant"), self.tenant_name),
            (tr("Tenant ID"), self.tenant_id),
            (tr("Signed in as"), self.signed_in_as or "-"),
            (tr("SMTP AUTH for the tenant"), onoff(self.tenant_disabled)),
            (
                tr("Mailboxes that can use SMTP AUTH"),
                tr("{n} of {total}").format(n=len(self.exposed), total=len(self.mailboxes)),
            ),
            (
                tr("RejectDirectSend"),
                {True: tr("on"), False: tr("off"), None: tr("unknown")}[self.reject_direct_send],
            ),
        )
        sections = [
            Section(tr("Findings"), self.findings),
            Section(
                tr("SMTP AUTH per mailbox"),
                table=Table(
                    (tr("Mailbox"), tr("Own setting"), tr("Effective"), tr("Inherited")),
                    tuple(
                        (
                            m.address,
                            _ps(m.own),
                            tr("SMTP AUTH on") if m.exposed else onoff(m.effective),
                            tr("yes") if m.inherited else tr("no"),
                        )
                        for m in self.mailboxes
                    ),
                ),
                text=tr(
                    "Own setting is the mailbox's SmtpClientAuthenticationDisabled ($null "
                    "inherits the tenant's); Effective is what applies."
                ),
            ),
        ]
        if self.connectors:
            sections.append(
                Section(
                    tr("Inbound connectors"),
                    table=Table(
                        (tr("Connector"), tr("Recognises"), tr("Risk")),
                        tuple(
                            (
                                c.connector.name,
                                ", ".join(c.connector.sender_ip_addresses)
                                or c.connector.tls_sender_certificate_name
                                or "-",
                                " ".join(c.risks) or tr("none found"),
                            )
                            for c in self.connectors
                        ),
                    ),
                )
            )
        if self.hve_accounts:
            sections.append(
                Section(
                    tr("High Volume Email accounts"),
                    table=Table(
                        (tr("Address"), tr("Name")),
                        tuple((a.address, a.display_name) for a in self.hve_accounts),
                    ),
                )
            )
        sections.append(
            Section(
                tr("What changes, and when"),
                table=Table(
                    (tr("When"), tr("What Microsoft changes"), tr("For this tenant")),
                    tuple((d.when, d.what, d.impact) for d in self.dates),
                ),
            )
        )
        return FindingsDocument(
            kind="audit",
            title=tr("Relay audit"),
            subject=self.tenant_name,
            generated=self.generated,
            facts=facts,
            sections=tuple(sections),
            summary=next((f for f in self.findings if f.needs_action), None),
        )


class _Audit:
    def __init__(self, snapshot: TenantSnapshot, today: date) -> None:
        self.snapshot = snapshot
        self.today = today
        self.found: list[Finding] = []

    def add(
        self,
        id: str,
        severity: Severity,
        title: str,
        details: str = "",
        fix: str = "",
        step: WizardStep | None = None,
        technical: tuple[str, ...] = (),
    ) -> None:
        self.found.append(Finding(id, severity, title, details, fix, step, technical))

    # -- SMTP AUTH -----------------------------------------------------------------------

    def mailboxes(self) -> tuple[MailboxExposure, ...]:
        tenant = self.snapshot.smtp_auth_disabled
        boxes = [m for m in self.snapshot.mailboxes if m.exists]
        return tuple(
            MailboxExposure(
                m.address,
                m.display_name,
                m.smtp_auth_disabled,
                m.effective_smtp_auth_disabled(tenant),
            )
            for m in sorted(boxes, key=lambda m: m.address.lower())
        )

    def smtp_auth(self, boxes: tuple[MailboxExposure, ...]) -> None:
        tenant = self.snapshot.smtp_auth_disabled
        technical = ("Get-TransportConfig: SmtpClientAuthenticationDisabled = " + _ps(tenant),)
        inherited = [m.address for m in boxes if m.exposed and m.inherited]
        explicit = [m.address for m in boxes if m.exposed and not m.inherited]
        if tenant is False:
            self.add(
                "smtp-auth-tenant",
                Severity.WARNING,
                tr("SMTP AUTH is on for the whole tenant"),
                tr(
                    "Every mailbox without its own setting can sign in to SMTP, which "
                    "attackers use for password spraying; {n} mailbox(es) inherit it."
                ).format(n=len(inherited)),
                tr(
                    "Switch it off for the tenant (Set-TransportConfig "
                    "-SmtpClientAuthenticationDisabled $true) after switching it on for the "
                    "devices' own mailboxes; the wizard's plan does the mailbox part."
                ),
                WizardStep.OUTSIDE,
                technical,
            )
        elif tenant is True:
            self.add(
                "smtp-auth-tenant",
                Severity.OK,
                tr("SMTP AUTH is off for the tenant as a whole"),
                tr("Only mailboxes switched on one by one can use it."),
                "",
                None,
                technical,
            )
        else:
            self.add(
                "smtp-auth-tenant",
                Severity.WARNING,
                tr("The tenant's SMTP AUTH switch could not be read"),
                tr("Mailboxes that inherit it cannot be judged."),
                tr("Check that the account may read the transport configuration."),
                WizardStep.SIGN_IN,
                technical,
            )
        if inherited:
            self.add(
                "smtp-auth-inherited",
                Severity.WARNING,
                tr("{n} mailbox(es) can use SMTP AUTH only because the tenant allows it").format(
                    n=len(inherited)
                ),
                tr(
                    "They have no setting of their own ($null) and inherit the tenant's: "
                    "{names}. Nobody chose this for them, and an audit that looks only for "
                    "mailboxes switched on by hand misses them."
                ).format(names=_names(inherited)),
                tr(
                    "Give the mailboxes that really send by SMTP their own setting "
                    "(Set-CASMailbox -SmtpClientAuthenticationDisabled $false), then switch "
                    "it off for the tenant."
                ),
                WizardStep.OUTSIDE,
                tuple(
                    f"Get-CASMailbox {a}: SmtpClientAuthenticationDisabled = $null"
                    for a in inherited
                ),
            )
        if explicit:
            self.add(
                "smtp-auth-mailboxes",
                Severity.INFO,
                tr("{n} mailbox(es) have SMTP AUTH switched on for themselves").format(
                    n=len(explicit)
                ),
                tr(
                    "{names}. That is how a device's mailbox should be set up; make sure "
                    "each of them still needs it and has a strong password or uses OAuth."
                ).format(names=_names(explicit)),
                "",
                None,
                tuple(
                    f"Get-CASMailbox {a}: SmtpClientAuthenticationDisabled = $false"
                    for a in explicit
                ),
            )
        if not inherited and not explicit and tenant is not None:
            self.add(
                "smtp-auth-mailboxes",
                Severity.OK,
                tr("No mailbox can use SMTP AUTH"),
                tr("Neither the tenant nor any of the {n} mailboxes allows it.").format(
                    n=len(boxes)
                ),
            )
        sd = self.snapshot.security_defaults
        if sd is Tri.YES and (inherited or explicit):
            self.add(
                "security-defaults",
                Severity.INFO,
                tr("Security Defaults block password sign-in for SMTP"),
                tr(
                    "Mailboxes with SMTP AUTH on can still send with OAuth tokens, but not "
                    "with passwords (535 5.7.139)."
                ),
            )

    # -- connectors --------------------------------------------------------------------------

    def connectors(self) -> tuple[ConnectorRisk, ...]:
        result = []
        for c in self.snapshot.connectors:
            risk = self._connector(c)
            result.append(risk)
            if risk.risks:
                self.add(
                    f"connector:{c.name}",
                    risk.severity,
                    tr("Connector '{name}' is at risk").format(name=c.name)
                    if risk.severity in (Severity.WARNING, Severity.PROBLEM)
                    else tr("Connector '{name}'").format(name=c.name),
                    " ".join(risk.risks),
                    tr(
                        "Prefer a certificate connector with a certificate for one of your "
                        "domains, unique to this tenant; restrict IP connectors to the "
                        "office's own static address."
                    )
                    if risk.severity in (Severity.WARNING, Severity.PROBLEM)
                    else "",
                    WizardStep.OUTSIDE
                    if risk.severity in (Severity.WARNING, Severity.PROBLEM)
                    else None,
                    (
                        f"Get-InboundConnector '{c.name}': ConnectorType = {c.connector_type}; "
                        f"SenderIPAddresses = {', '.join(c.sender_ip_addresses) or '-'}; "
                        f"TlsSenderCertificateName = {c.tls_sender_certificate_name or '-'}; "
                        f"Enabled = {_ps(c.enabled)}",
                    ),
                )
        if not self.snapshot.connectors:
            self.add(
                "connectors",
                Severity.OK,
                tr("The tenant has no inbound connectors"),
                tr("Nothing can relay through the tenant by IP address or certificate."),
            )
        return tuple(result)

    def _connector(self, c: InboundConnector) -> ConnectorRisk:
        risks: list[str] = []
        severity = Severity.OK
        cert_domain = c.certificate_domain
        cert_ok: bool | None = None
        if cert_domain:
            cert_ok = self.snapshot.is_accepted_or_subdomain(cert_domain)
            if not cert_ok:
                severity = Severity.WARNING
                risks.append(
                    tr(
                        "Its certificate name {name} is not one of the tenant's accepted "
                        "domains: Microsoft warns such connectors may stop working without "
                        "notice (MC1226222)."
                    ).format(name=c.tls_sender_certificate_name)
                )
        if c.is_ip_connector:
            count = c.address_count()
            if count is None:
                severity = Severity.WARNING
                risks.append(
                    tr("Its address list cannot be understood: {list}.").format(
                        list=", ".join(c.sender_ip_addresses)
                    )
                )
            elif count > 1:
                severity = Severity.WARNING
                risks.append(
                    tr(
                        "It recognises senders by IP address and accepts {n} addresses "
                        "({list}): anything sending from them can relay through the tenant, "
                        "and an address shared with other tenants may stop being recognised "
                        "(MC1226222)."
                    ).format(n=count, list=", ".join(c.sender_ip_addresses))
                )
            else:
                if severity is Severity.OK:
                    severity = Severity.INFO
                risks.append(
                    tr(
                        "It recognises senders by the IP address {ip}. Microsoft may stop "
                        "recognising an address shared with other tenants (MC1226222): make "
                        "sure it is the office's own static address."
                    ).format(ip=", ".join(c.sender_ip_addresses))
                )
        if not c.enabled and risks:
            severity = Severity.INFO
            risks.insert(0, tr("It is switched off, so none of this applies now."))
        how = "+".join(
            part
            for part, present in (
                ("ip", c.is_ip_connector),
                ("certificate", c.is_certificate_connector),
            )
            if present
        )
        return ConnectorRisk(c, severity, tuple(risks), how or "nothing", cert_ok)

    # -- RejectDirectSend, HVE ----------------------------------------------------------------

    def direct_send(self) -> None:
        reject = self.snapshot.reject_direct_send
        technical = ("Get-OrganizationConfig: RejectDirectSend = " + _ps(reject),)
        if reject is True:
            self.add(
                "reject-direct-send",
                Severity.OK,
                tr("Anonymous mail that claims to be from your domains is refused"),
                tr("RejectDirectSend is on: only signed-in senders and connectors can use them."),
                "",
                None,
                technical,
            )
        elif reject is False:
            self.add(
                "reject-direct-send",
                Severity.WARNING,
                tr("Anyone can send mail into the tenant that claims to be from your domains"),
                tr(
                    "RejectDirectSend is off: anonymous mail from your own domains is taken "
                    "(direct send), which is also how spoofed mail gets in."
                ),
                tr(
                    "Once every device signs in or goes through a connector, switch it on "
                    "(Set-OrganizationConfig -RejectDirectSend $true)."
                ),
                WizardStep.OUTSIDE,
                technical,
            )
        else:
            self.add(
                "reject-direct-send",
                Severity.INFO,
                tr("Whether the tenant refuses direct send could not be read"),
                "",
                "",
                None,
                technical,
            )

    def hve(self) -> None:
        accounts = self.snapshot.hve_accounts
        if accounts:
            self.add(
                "hve",
                Severity.INFO,
                ntr(
                    "%n High Volume Email account",
                    "%n High Volume Email accounts",
                    len(accounts),
                ),
                tr(
                    "{names}. They send to your own mailboxes only and may sign in with a "
                    "password until September 2028."
                ).format(names=_names([a.address for a in accounts])),
            )
        else:
            self.add(
                "hve",
                Severity.OK,
                tr("No High Volume Email accounts"),
            )

    # -- dates ----------------------------------------------------------------------------------

    def dates(self, boxes: tuple[MailboxExposure, ...]) -> tuple[DateImpact, ...]:
        exposed = tuple(m.address for m in boxes if m.exposed)
        hve = tuple(a.address for a in self.snapshot.hve_accounts)
        today = self.today
        off = tr(
            "Basic SMTP AUTH is switched off by default in existing tenants; Microsoft says "
            "an admin can switch it back on, but had not published how (MC786329, revised 27 "
            "January 2026)."
        )
        removal = tr("Microsoft removes Basic SMTP AUTH for good, on a date it will announce.")
        hve_end = tr("High Volume Email stops taking passwords.")
        if exposed:
            off_impact = tr(
                "{n} mailbox(es) can use SMTP AUTH today. Any device or app among them that "
                "signs in with a password stops sending then, unless Basic can be switched "
                "back on (Microsoft had not published how); OAuth keeps working."
            ).format(n=len(exposed))
            removal_impact = tr(
                "Devices and apps still signing in with a password to these {n} mailbox(es) "
                "stop for good: move them to OAuth, a connector or High Volume Email before "
                "then."
            ).format(n=len(exposed))
        else:
            off_impact = removal_impact = tr(
                "No mailbox can use SMTP AUTH, so nothing changes for this tenant."
            )
        hve_impact = (
            tr("{n} HVE account(s) must sign in with OAuth from then on.").format(n=len(hve))
            if hve
            else tr("No HVE accounts: nothing changes.")
        )
        return (
            DateImpact(
                tr("end of December 2026"),
                BASIC_OFF_BY_DEFAULT,
                off,
                today >= BASIC_OFF_BY_DEFAULT,
                off_impact,
                exposed,
            ),
            DateImpact(
                tr("second half of 2027"),
                FINAL_REMOVAL_WINDOW_START,
                removal,
                today >= FINAL_REMOVAL_WINDOW_START,
                removal_impact,
                exposed,
            ),
            DateImpact(
                tr("September 2028"),
                HVE_BASIC_UNTIL,
                hve_end,
                not hve_basic_supported(today),
                hve_impact,
                hve,
            ),
        )

    def retirement(self, boxes: tuple[MailboxExposure, ...]) -> None:
        exposed = [m.address for m in boxes if m.exposed]
        outlook = basic_auth_outlook(self.today)
        if not exposed:
            self.add(
                "basic-auth",
                Severity.OK,
                tr("The retirement of Basic SMTP AUTH changes nothing here"),
                tr("No mailbox can use SMTP AUTH."),
                "",
                None,
                ("MC786329",),
            )
            return
        severity = (
            Severity.WARNING
            if outlook.phase in (BasicAuthPhase.SUPPORTED, BasicAuthPhase.OFF_BY_DEFAULT)
            else Severity.PROBLEM
        )
        self.add(
            "basic-auth",
            severity,
            outlook.headline.rstrip("."),
            tr(
                "{detail} It affects every device or app signing in with a password to one "
                "of the {n} mailbox(es) with SMTP AUTH on."
            ).format(detail=outlook.detail, n=len(exposed)),
            tr(
                "Find what signs in with a password and move it to OAuth, a connector or "
                "High Volume Email; the wizard's Method step compares them."
            ),
            WizardStep.METHOD,
            ("MC786329",),
        )

    def unreadable(self) -> None:
        for i, text in enumerate(self.snapshot.unreadable):
            self.add(
                f"unreadable:{i}",
                Severity.INFO,
                tr("Part of the tenant could not be read"),
                text,
            )


def audit_tenant(
    snapshot: TenantSnapshot,
    *,
    today: date,
    generated: datetime,
    signed_in_as: str | None = None,
) -> AuditReport:
    """The audit of a snapshot that holds every mailbox of the tenant."""
    run = _Audit(snapshot, today)
    boxes = run.mailboxes()
    run.smtp_auth(boxes)
    run.retirement(boxes)
    connectors = run.connectors()
    run.direct_send()
    run.hve()
    run.unreadable()
    dates = run.dates(boxes)
    order = {id(f): i for i, f in enumerate(run.found)}
    rank = {Severity.PROBLEM: 0, Severity.WARNING: 1, Severity.INFO: 2, Severity.OK: 3}
    findings = tuple(sorted(run.found, key=lambda f: (rank[f.severity], order[id(f)])))
    return AuditReport(
        tenant_id=snapshot.tenant_id,
        tenant_name=snapshot.display_name,
        generated=generated,
        today=today,
        tenant_disabled=snapshot.smtp_auth_disabled,
        security_defaults=snapshot.security_defaults,
        mailboxes=boxes,
        connectors=connectors,
        reject_direct_send=snapshot.reject_direct_send,
        hve_accounts=snapshot.hve_accounts,
        dates=dates,
        findings=findings,
        unreadable=snapshot.unreadable,
        signed_in_as=signed_in_as,
    )


def mailbox_states(items: list[MailboxState]) -> tuple[MailboxState, ...]:
    """Every mailbox once (Get-CASMailbox may list one under several names)."""
    seen: dict[str, MailboxState] = {}
    for item in items:
        seen.setdefault(item.address.lower(), item)
    return tuple(seen.values())
