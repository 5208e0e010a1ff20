"""What the tenant's state means for the chosen method: findings in plain words.

Each finding has a severity (ok, info, warning, problem), a one-line title, the
detail a small-office admin needs, the technical value it rests on, and the wizard
step that fixes it. Pure: `analyse()` reads a `TenantSnapshot`, the site profile, the
method, the cloud and today's date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from wizard.core.advisor import Variant
from wizard.core.clouds import Cloud
from wizard.core.i18n import tr
from wizard.core.methods import METHOD_INFO, SUBMISSION_METHODS, Method, Tri
from wizard.core.plan import connector_name, sender_domains, sending_addresses
from wizard.core.profile import SiteProfile
from wizard.core.retirement import (
    BasicAuthPhase,
    basic_auth_outlook,
    hve_basic_supported,
)
from wizard.core.steps import WizardStep
from wizard.core.tenant import InboundConnector, MxSource, TenantSnapshot


class Severity(StrEnum):
    OK = "ok"
    INFO = "info"
    WARNING = "warning"
    PROBLEM = "problem"


SEVERITY_ORDER: dict[Severity, int] = {
    Severity.PROBLEM: 0,
    Severity.WARNING: 1,
    Severity.INFO: 2,
    Severity.OK: 3,
}

SEVERITY_WORDS: dict[Severity, str] = {
    Severity.OK: tr("OK"),
    Severity.INFO: tr("Note"),
    Severity.WARNING: tr("Warning"),
    Severity.PROBLEM: tr("Problem"),
}


@dataclass(frozen=True)
class Finding:
    id: str
    severity: Severity
    title: str
    detail: str = ""
    fix_step: WizardStep | None = None
    technical: str = ""  # the value(s) it rests on, as Exchange names them


def worst(findings: tuple[Finding, ...] | list[Finding]) -> Severity:
    if not findings:
        return Severity.OK
    return min((f.severity for f in findings), key=SEVERITY_ORDER.__getitem__)


def _ps_bool(value: bool | None) -> str:
    return "$null" if value is None else ("$true" if value else "$false")


@dataclass
class _Analysis:
    snapshot: TenantSnapshot
    profile: SiteProfile
    method: Method | None
    variant: Variant
    cloud: Cloud
    today: date

    def __post_init__(self) -> None:
        self.found: list[Finding] = []

    def add(
        self,
        id: str,
        severity: Severity,
        title: str,
        detail: str = "",
        fix_step: WizardStep | None = None,
        technical: str = "",
    ) -> None:
        self.found.append(Finding(id, severity, title, detail, fix_step, technical))

    @property
    def uses_smtp_auth(self) -> bool:
        # The local relay submits onward as each device's mailbox, like SMTP AUTH.
        return self.method in SUBMISSION_METHODS

    @property
    def uses_connector(self) -> bool:
        return self.method is Method.CONNECTOR or (
            self.method is Method.DIRECT_SEND and self.snapshot.reject_direct_send is True
        )

    # -----------------------------------------------------------------------------

    def run(self) -> tuple[Finding, ...]:
        # Within a severity, the order below is the order shown: what decides the
        # method's fate first, background last.
        self.unreadable()
        self.domains()
        self.connectors()
        self.smtp_auth()
        self.hve()
        self.direct_send()
        self.security_defaults()
        self.legacy_tls()
        self.retirement()
        self.dkim()
        self.mx()
        self.default_domain()
        order = {id(f): i for i, f in enumerate(self.found)}
        return tuple(sorted(self.found, key=lambda f: (SEVERITY_ORDER[f.severity], order[id(f)])))

    def unreadable(self) -> None:
        for i, text in enumerate(self.snapshot.unreadable):
            self.add(
                f"unreadable:{i}",
                Severity.INFO,
                tr("Part of the tenant could not be read"),
                text,
                None,
            )

    def domains(self) -> None:
        snap = self.snapshot
        accepted = ", ".join(d.name for d in snap.accepted_domains) or tr("(none)")
        site_domain = self.profile.site.domain.strip()
        for domain in sender_domains(self.profile):
            if snap.is_accepted(domain):
                self.add(
                    f"domain:{domain}",
                    Severity.OK,
                    tr("{domain} is an accepted domain of {tenant}").format(
                        domain=domain, tenant=snap.display_name
                    ),
                    tr("Microsoft 365 treats mail from this domain as the organisation's own."),
                    None,
                    tr("Get-AcceptedDomain: {list}").format(list=accepted),
                )
            else:
                is_site = domain == site_domain.lower()
                self.add(
                    f"domain:{domain}",
                    Severity.PROBLEM,
                    tr("{domain} is not a domain of the tenant {tenant}").format(
                        domain=domain, tenant=snap.display_name
                    ),
                    tr(
                        "Microsoft 365 only relays or delivers device mail from the tenant's "
                        "own domains. Either you signed in to another organisation's tenant, "
                        "or the domain still has to be added and verified in the Microsoft "
                        "365 admin center."
                    )
                    if is_site
                    else tr(
                        "A device sends from this domain, which the tenant does not own; "
                        "change the device's sender address."
                    ),
                    WizardStep.SIGN_IN if is_site else WizardStep.SITE,
                    tr("Get-AcceptedDomain: {list}").format(list=accepted),
                )

    def default_domain(self) -> None:
        default = self.snapshot.default_domain
        if default:
            self.add(
                "default-domain",
                Severity.INFO,
                tr("The tenant's default domain is {domain}").format(domain=default),
                tr(
                    "New mailboxes and accounts get addresses in this domain unless told otherwise."
                ),
            )

    def mx(self) -> None:
        mx = self.snapshot.mx
        if mx is None:
            return
        # Only the tenant's own value is a finding: a computed host is never offered
        # (Microsoft's token cannot be derived from the domain name).
        if mx.source is MxSource.GRAPH:
            self.add(
                "mx",
                Severity.INFO,
                tr("Mail for {domain} is received by {host}").format(
                    domain=mx.domain, host=mx.host
                ),
                tr("The tenant reports this MX host; the DNS step checks that DNS agrees."),
                WizardStep.DNS,
                "serviceConfigurationRecords: mailExchange",
            )

    def smtp_auth(self) -> None:
        snap = self.snapshot
        tenant_off = snap.smtp_auth_disabled
        technical = "Get-TransportConfig: SmtpClientAuthenticationDisabled = " + _ps_bool(
            tenant_off
        )
        if tenant_off is False:
            self.add(
                "smtp-auth-tenant",
                Severity.WARNING if self.uses_smtp_auth else Severity.INFO,
                tr("SMTP AUTH is on for the whole tenant"),
                tr(
                    "Every mailbox without its own setting can send with SMTP AUTH, which "
                    "attackers use for password spraying. Safer: switch it off for the tenant "
                    "and on only for the devices' mailboxes (the wizard does the mailbox part)."
                ),
                WizardStep.OUTSIDE,
                technical,
            )
        elif tenant_off is True:
            self.add(
                "smtp-auth-tenant",
                Severity.OK,
                tr("SMTP AUTH is off for the tenant as a whole"),
                tr("Only mailboxes switched on one by one can send with SMTP AUTH."),
                None,
                technical,
            )
        if not self.uses_smtp_auth:
            return
        for address in sending_addresses(self.profile):
            box = snap.mailbox(address)
            if box is None or not box.exists:
                self.add(
                    f"mailbox:{address}",
                    Severity.PROBLEM,
                    tr("There is no mailbox {address}").format(address=address),
                    tr(
                        "SMTP AUTH signs in to a licensed mailbox. Create the mailbox in the "
                        "Microsoft 365 admin center, or correct the device's sender."
                    ),
                    WizardStep.SITE,
                    "Get-CASMailbox: not found",
                )
                continue
            effective = box.effective_smtp_auth_disabled(tenant_off)
            own = _ps_bool(box.smtp_auth_disabled)
            technical = (
                f"Get-CASMailbox {address}: SmtpClientAuthenticationDisabled = {own}; "
                f"effective = {_ps_bool(effective)}"
            )
            if box.smtp_auth_disabled is None:
                inherits = tr("inherits the tenant's setting")
            else:
                inherits = tr("has its own setting")
            if effective is False:
                self.add(
                    f"mailbox:{address}",
                    Severity.OK if box.smtp_auth_disabled is False else Severity.INFO,
                    tr("SMTP AUTH is on for {address}").format(address=address),
                    tr("The mailbox {how}.").format(how=inherits)
                    + (
                        ""
                        if box.smtp_auth_disabled is False
                        else " "
                        + tr(
                            "The plan sets it on the mailbox, so it keeps working if the "
                            "tenant switch is turned off."
                        )
                    ),
                    None if box.smtp_auth_disabled is False else WizardStep.PLAN,
                    technical,
                )
            else:
                self.add(
                    f"mailbox:{address}",
                    Severity.WARNING,
                    tr("SMTP AUTH is off for {address}").format(address=address),
                    tr(
                        "The mailbox {how}, so the device would be refused with 535 5.7.139. "
                        "The plan switches it on for this mailbox only."
                    ).format(how=inherits),
                    WizardStep.PLAN,
                    technical,
                )

    def security_defaults(self) -> None:
        state = self.snapshot.security_defaults
        basic = self.method is Method.SMTP_AUTH
        technical = "identitySecurityDefaultsEnforcementPolicy: isEnabled = " + str(state)
        if state is Tri.YES:
            self.add(
                "security-defaults",
                Severity.PROBLEM if basic else Severity.INFO,
                tr("Security Defaults are on"),
                tr(
                    "They block password sign-in for SMTP (535 5.7.139) whatever the SMTP "
                    "AUTH switches say. Choose OAuth, High Volume Email or a connector."
                )
                if basic
                else tr(
                    "They block password (Basic) sign-in for SMTP; the chosen method does not "
                    "depend on it."
                ),
                WizardStep.METHOD if basic else None,
                technical,
            )
        elif state is Tri.NO:
            self.add(
                "security-defaults",
                Severity.OK if basic else Severity.INFO,
                tr("Security Defaults are off"),
                tr(
                    "Password sign-in for SMTP is not blocked by them; make sure Conditional "
                    "Access or MFA protect the admin accounts instead."
                ),
                None,
                technical,
            )
        else:
            self.add(
                "security-defaults",
                Severity.WARNING if basic else Severity.INFO,
                tr("Whether Security Defaults are on could not be read"),
                tr(
                    "Reading them needs the Policy.Read.All permission. If they are on, "
                    "password sign-in for SMTP is blocked (535 5.7.139); the test message "
                    "will show it."
                )
                if basic
                else tr(
                    "Reading them needs the Policy.Read.All permission; the chosen method "
                    "does not depend on them."
                ),
                WizardStep.TEST if basic else None,
                technical,
            )

    def legacy_tls(self) -> None:
        allowed = self.snapshot.allow_legacy_tls_clients
        technical = "Get-TransportConfig: AllowLegacyTLSClients = " + _ps_bool(allowed)
        needs = self.uses_smtp_auth and self.variant is Variant.LEGACY_TLS
        if needs and self.cloud.legacy_tls_smtp is None:
            self.add(
                "legacy-tls",
                Severity.PROBLEM,
                tr("{cloud} has no endpoint for devices without TLS 1.2").format(
                    cloud=self.cloud.name
                ),
                tr("Update the device's firmware to get TLS 1.2, or choose a connector."),
                WizardStep.METHOD,
                technical,
            )
        elif needs and allowed is not True:
            self.add(
                "legacy-tls",
                Severity.WARNING,
                tr("Devices with TLS 1.0/1.1 are not allowed yet"),
                tr(
                    "The device has no TLS 1.2 and must use the legacy endpoint, which the "
                    "tenant has to allow. The plan switches it on."
                ),
                WizardStep.PLAN,
                technical,
            )
        elif allowed is True:
            self.add(
                "legacy-tls",
                Severity.OK if needs else Severity.INFO,
                tr("Devices with TLS 1.0/1.1 may use the legacy endpoint"),
                tr("Old devices can sign in at the legacy endpoint; TLS 1.2 is still better."),
                None,
                technical,
            )

    def direct_send(self) -> None:
        reject = self.snapshot.reject_direct_send
        technical = "Get-OrganizationConfig: RejectDirectSend = " + _ps_bool(reject)
        if self.method is Method.DIRECT_SEND:
            if reject is True:
                self.add(
                    "reject-direct-send",
                    Severity.WARNING,
                    tr("The tenant refuses direct send (RejectDirectSend is on)"),
                    tr(
                        "Anonymous mail from your domains is rejected with 550 5.7.68 unless a "
                        "connector recognises the sender. The plan adds a connector for the "
                        "office instead."
                    ),
                    WizardStep.PLAN,
                    technical,
                )
            elif reject is False:
                self.add(
                    "reject-direct-send",
                    Severity.OK,
                    tr("The tenant accepts direct send"),
                    tr("RejectDirectSend is off, so devices can deliver to your own mailboxes."),
                    None,
                    technical,
                )
        elif reject is False:
            self.add(
                "reject-direct-send",
                Severity.INFO,
                tr("The tenant accepts anonymous mail that claims to be from your domains"),
                tr(
                    "RejectDirectSend is off. Once every device uses a connector or signs in, "
                    "switching it on (Set-OrganizationConfig -RejectDirectSend $true) stops "
                    "spoofed mail from your own domains."
                ),
                WizardStep.OUTSIDE,
                technical,
            )
        elif reject is True:
            self.add(
                "reject-direct-send",
                Severity.OK,
                tr("The tenant refuses anonymous mail from your domains (RejectDirectSend)"),
                tr(
                    "Spoofed mail from your domains is rejected; the chosen method is not affected."
                ),
                None,
                technical,
            )

    def connectors(self) -> None:
        snap = self.snapshot
        site = self.profile.site
        ours = connector_name(site.name).casefold()
        if not snap.connectors:
            self.add(
                "connectors",
                Severity.INFO,
                tr("The tenant has no inbound connectors"),
                tr("The plan creates one for this office.") if self.uses_connector else "",
                WizardStep.PLAN if self.uses_connector else None,
                "Get-InboundConnector: (none)",
            )
            return
        for connector in snap.connectors:
            self._connector(connector, connector.name.casefold() == ours)

    def _connector(self, c: InboundConnector, ours: bool) -> None:
        site = self.profile.site
        key = f"connector:{c.name}"
        # An OnPremises connector is matched by SenderIPAddresses or TlsSenderCertificateName
        # only; RequireTls and RestrictDomainsTo* apply to Partner connectors only
        # (New-InboundConnector reference), so they are shown for those alone.
        technical = (
            f"Get-InboundConnector '{c.name}': ConnectorType = {c.connector_type}; "
            f"SenderIPAddresses = {', '.join(c.sender_ip_addresses) or '-'}; "
            f"TlsSenderCertificateName = {c.tls_sender_certificate_name or '-'}; "
            + (
                ""
                if c.is_on_premises
                else f"RequireTls = {_ps_bool(c.require_tls)}; "
                f"RestrictDomainsToIPAddresses = {_ps_bool(c.restrict_domains_to_ip_addresses)}; "
            )
            + f"Enabled = {_ps_bool(c.enabled)}"
        )
        risks: list[tuple[Severity, str, WizardStep | None]] = []
        if not c.enabled:
            risks.append((Severity.INFO, tr("It is switched off."), None))
        cert_domain = c.certificate_domain
        if cert_domain and not self.snapshot.is_accepted_or_subdomain(cert_domain):
            risks.append(
                (
                    Severity.WARNING,
                    tr(
                        "Its certificate name {name} is not one of the tenant's accepted "
                        "domains; Microsoft warns such connectors may stop working without "
                        "notice (MC1226222). Use a certificate for one of your domains."
                    ).format(name=c.tls_sender_certificate_name),
                    WizardStep.OUTSIDE,
                )
            )
        if c.is_ip_connector:
            nets = c.networks()
            count = c.address_count()
            if nets is None:
                risks.append(
                    (
                        Severity.WARNING,
                        tr("Its address list could not be understood: {list}.").format(
                            list=", ".join(c.sender_ip_addresses)
                        ),
                        WizardStep.OUTSIDE,
                    )
                )
            if site.static_ip is Tri.NO:
                risks.append(
                    (
                        Severity.WARNING,
                        tr(
                            "It recognises senders by IP address, but this site has no static "
                            "IP: when the address changes, or if it is shared with others, mail "
                            "is refused (550 5.7.64)."
                        ),
                        WizardStep.METHOD,
                    )
                )
            if site.public_ip and nets is not None:
                covers = c.covers(site.public_ip)
                if not covers and ours:
                    risks.append(
                        (
                            Severity.PROBLEM,
                            tr(
                                "It accepts {list}, but the office's public IP is now {ip}: "
                                "the devices' mail is refused (550 5.7.64)."
                            ).format(list=", ".join(c.sender_ip_addresses), ip=site.public_ip),
                            WizardStep.PLAN,
                        )
                    )
                elif not covers and self._serves_site(c):
                    risks.append(
                        (
                            Severity.WARNING,
                            tr(
                                "It accepts mail from your domains from {list}, not from the "
                                "office's current public IP {ip}; if it was meant for this "
                                "office, its address is out of date."
                            ).format(list=", ".join(c.sender_ip_addresses), ip=site.public_ip),
                            WizardStep.PLAN if self.uses_connector else WizardStep.OUTSIDE,
                        )
                    )
                elif covers and count is not None and count > 1:
                    risks.append(
                        (
                            Severity.WARNING,
                            tr(
                                "It accepts {n} addresses ({list}), more than the office's "
                                "one address {ip}: anyone sending from the others can relay "
                                "through your tenant."
                            ).format(
                                n=count, list=", ".join(c.sender_ip_addresses), ip=site.public_ip
                            ),
                            WizardStep.PLAN if self.uses_connector else WizardStep.OUTSIDE,
                        )
                    )
        if not risks:
            self.add(
                key,
                Severity.OK,
                tr("Connector '{name}' looks right").format(name=c.name),
                tr("This is the connector the wizard set up for the site.")
                if ours
                else tr("Nothing in it puts the site's mail at risk."),
                None,
                technical,
            )
            return
        severity = min((r[0] for r in risks), key=SEVERITY_ORDER.__getitem__)
        step = next(r[2] for r in risks if r[0] is severity)
        self.add(
            key,
            severity,
            tr("Connector '{name}' needs attention").format(name=c.name),
            " ".join(r[1] for r in risks),
            step,
            technical,
        )

    def _serves_site(self, c: InboundConnector) -> bool:
        # SenderDomains does not scope an OnPremises connector: it serves every domain.
        return c.is_on_premises

    def dkim(self) -> None:
        domain = self.profile.site.domain.strip()
        if not domain or not self.snapshot.is_accepted(domain):
            return
        config = self.snapshot.dkim_for(domain)
        technical = "Get-DkimSigningConfig: " + (
            f"Enabled = {_ps_bool(config.enabled)}" if config else tr("no entry")
        )
        if config is not None and config.enabled:
            self.add(
                "dkim",
                Severity.OK,
                tr("Microsoft 365 signs mail from {domain} with DKIM").format(domain=domain),
                tr("The DNS step checks that both selector records are published."),
                WizardStep.DNS,
                technical,
            )
        else:
            self.add(
                "dkim",
                Severity.WARNING,
                tr("DKIM signing is off for {domain}").format(domain=domain),
                tr(
                    "Mail from the devices is more likely to land in Junk at other "
                    "organisations. Publish the two selector records (the DNS step shows "
                    "them), then switch signing on in the Defender portal "
                    "(Set-DkimSigningConfig -Enabled $true)."
                ),
                WizardStep.DNS,
                technical,
            )

    def hve(self) -> None:
        if self.method is not Method.HVE:
            return
        if self.cloud.hve_smtp is None:
            self.add(
                "hve",
                Severity.PROBLEM,
                tr("High Volume Email is not offered in {cloud}").format(cloud=self.cloud.name),
                tr("Choose another method."),
                WizardStep.METHOD,
            )
            return
        for address in sending_addresses(self.profile):
            if self.snapshot.hve_account(address) is not None:
                self.add(
                    f"hve:{address}",
                    Severity.OK,
                    tr("The HVE account {address} exists").format(address=address),
                    "",
                    None,
                    "Get-MailUser -HVEAccount",
                )
                continue
            box = self.snapshot.mailbox(address)
            if box is not None and box.exists:
                self.add(
                    f"hve:{address}",
                    Severity.PROBLEM,
                    tr("{address} is a mailbox, not free for an HVE account").format(
                        address=address
                    ),
                    tr("Give the HVE account an address of its own in Site and devices."),
                    WizardStep.SITE,
                    "Get-CASMailbox: found",
                )
            else:
                self.add(
                    f"hve:{address}",
                    Severity.INFO,
                    tr("The HVE account {address} does not exist yet").format(address=address),
                    tr("The plan creates it."),
                    WizardStep.PLAN,
                    "Get-MailUser -HVEAccount",
                )

    def retirement(self) -> None:
        outlook = basic_auth_outlook(self.today)
        if self.method is Method.SMTP_AUTH:
            severity = {
                BasicAuthPhase.SUPPORTED: Severity.WARNING,
                BasicAuthPhase.OFF_BY_DEFAULT: Severity.WARNING,
                BasicAuthPhase.REMOVAL_WINDOW: Severity.PROBLEM,
                BasicAuthPhase.REMOVED: Severity.PROBLEM,
            }[outlook.phase]
            dates = "; ".join(f"{d.when}: {d.what}" for d in outlook.dates[:2])
            self.add(
                "basic-auth",
                severity,
                outlook.headline.rstrip("."),
                outlook.detail + " " + dates,
                WizardStep.METHOD,
                "MC786329",
            )
        elif self.method is Method.HVE and self.profile.capabilities.oauth is not Tri.YES:
            if hve_basic_supported(self.today):
                self.add(
                    "basic-auth",
                    Severity.INFO,
                    tr("High Volume Email accepts passwords until September 2028"),
                    tr("After that the device has to sign in with OAuth."),
                    None,
                )
            else:
                self.add(
                    "basic-auth",
                    Severity.PROBLEM,
                    tr("High Volume Email no longer accepts passwords"),
                    tr("Since September 2028 HVE needs OAuth; choose another method."),
                    WizardStep.METHOD,
                )
        elif self.method is Method.LOCAL_RELAY:
            self.add(
                "basic-auth",
                Severity.OK,
                tr("Not affected by the retirement of Basic authentication"),
                tr(
                    "The devices' passwords only open the local relay; the relay signs in to "
                    "Microsoft 365 as each mailbox with OAuth."
                ),
            )
        elif self.method is not None:
            self.add(
                "basic-auth",
                Severity.OK,
                tr("Not affected by the retirement of Basic authentication"),
                tr("{method} does not sign in with a password.").format(
                    method=METHOD_INFO[self.method].title
                ),
            )


def analyse(
    snapshot: TenantSnapshot,
    profile: SiteProfile,
    method: Method | None,
    variant: Variant,
    cloud: Cloud,
    today: date,
) -> tuple[Finding, ...]:
    """Findings about the tenant for this site and method, the worst first."""
    return _Analysis(snapshot, profile, method, variant, cloud, today).run()
