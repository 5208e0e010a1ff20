"""The method advisor: which way should these devices send, and why.

Pure: the inputs are what the devices can do, what the site needs, what is known of
the tenant, the cloud and today's date; the output ranks every method with reasons,
blockers and warnings in plain words. Every rule comes from M365-FACTS.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum

from wizard.core.clouds import Cloud
from wizard.core.i18n import tr
from wizard.core.methods import Method, Tri
from wizard.core.retirement import BasicAuthPhase, basic_auth_outlook, hve_basic_supported

# Per-mailbox limits of SMTP AUTH client submission.
SMTP_AUTH_RECIPIENTS_PER_DAY = 10_000
SMTP_AUTH_MESSAGES_PER_MINUTE = 30
# Above this share of the daily limit we warn that growth will hit it.
_NEAR_LIMIT = 0.5


@dataclass(frozen=True)
class DeviceCapabilities:
    """What the device (or every device of the site, combined) can do."""

    tls12: Tri = Tri.UNKNOWN
    smtp_auth: Tri = Tri.UNKNOWN
    oauth: Tri = Tri.UNKNOWN
    # Devices that offer only implicit TLS on port 465 cannot use SMTP AUTH or HVE.
    port_465_only: bool = False

    @staticmethod
    def weakest(devices: Iterable[DeviceCapabilities]) -> DeviceCapabilities:
        """What every one of the devices can do: one method serves the whole site."""
        items = list(devices)
        if not items:
            return DeviceCapabilities()

        def all_of(values: list[Tri]) -> Tri:
            if Tri.NO in values:
                return Tri.NO
            if Tri.UNKNOWN in values:
                return Tri.UNKNOWN
            return Tri.YES

        return DeviceCapabilities(
            tls12=all_of([d.tls12 for d in items]),
            smtp_auth=all_of([d.smtp_auth for d in items]),
            oauth=all_of([d.oauth for d in items]),
            port_465_only=any(d.port_465_only for d in items),
        )


@dataclass(frozen=True)
class SiteNeeds:
    external_recipients: Tri = Tri.UNKNOWN
    static_ip: Tri = Tri.UNKNOWN
    port25_open: Tri = Tri.UNKNOWN
    # Messages a day from all devices together.
    daily_volume: int = 50


@dataclass(frozen=True)
class TenantFacts:
    security_defaults: Tri = Tri.UNKNOWN
    reject_direct_send: Tri = Tri.UNKNOWN


class Variant(StrEnum):
    STANDARD = "standard"
    LEGACY_TLS = "legacy-tls"  # smtp-legacy.office365.com for TLS 1.0/1.1 devices
    IP_CONNECTOR = "ip"
    CERTIFICATE_CONNECTOR = "certificate"
    # Local relay for a device without TLS 1.2: plain port 25 on the office network,
    # which the technician switches on for that device.
    PLAIN_LAN = "plain-lan"


@dataclass(frozen=True)
class Assessment:
    method: Method
    variant: Variant
    score: int
    reasons: tuple[str, ...]
    blockers: tuple[str, ...]
    warnings: tuple[str, ...]
    # What the method takes to set up (kept apart from the reasons it fits).
    needs: tuple[str, ...] = ()
    recommended: bool = False

    @property
    def usable(self) -> bool:
        return not self.blockers


@dataclass(frozen=True)
class Advice:
    ranked: tuple[Assessment, ...]
    today: date

    @property
    def recommended(self) -> Assessment | None:
        return next((a for a in self.ranked if a.recommended), None)

    def for_method(self, method: Method) -> Assessment:
        return next(a for a in self.ranked if a.method is method)


@dataclass
class _Draft:
    method: Method
    score: int
    variant: Variant = Variant.STANDARD
    reasons: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    needs: list[str] = field(default_factory=list)

    def done(self) -> Assessment:
        # Each open question costs a little, so a method that is known to work
        # ranks above one that only might.
        score = self.score - 5 * len(self.warnings)
        return Assessment(
            self.method,
            self.variant,
            score,
            tuple(self.reasons),
            tuple(self.blockers),
            tuple(self.warnings),
            tuple(self.needs),
        )


# Order used when scores tie: the more secure and robust method first.
_TIE_ORDER = [
    Method.SMTP_AUTH_OAUTH,
    Method.CONNECTOR,
    Method.DIRECT_SEND,
    Method.HVE,
    Method.LOCAL_RELAY,
    Method.SMTP_AUTH,
]

# The local relay's score: shown as an option below the cloud methods that fit, and
# first when none does (`_no_cloud_fit`).
_RELAY_AS_OPTION = 30
_RELAY_WHEN_NOTHING_ELSE = 150


def advise(
    device: DeviceCapabilities,
    site: SiteNeeds,
    tenant: TenantFacts,
    cloud: Cloud,
    today: date,
) -> Advice:
    drafts = [
        _smtp_auth_oauth(device, site, cloud),
        _smtp_auth_basic(device, site, tenant, cloud, today),
        _direct_send(device, site, tenant),
        _connector(device, site),
        _hve(device, site, cloud, today),
    ]
    relay = _local_relay(device, site, cloud, today)
    if _no_cloud_fit([d.done() for d in drafts]) and not relay.blockers:
        relay.score = _RELAY_WHEN_NOTHING_ELSE
        relay.reasons.insert(
            0,
            tr(
                "No way of sending straight to Microsoft 365 fits these devices and this "
                "site for the long run: the relay bridges the gap."
            ),
        )
    drafts.append(relay)
    assessments = [d.done() for d in drafts]
    assessments.sort(key=lambda a: (not a.usable, -a.score, _TIE_ORDER.index(a.method)))
    ranked = [replace(a, recommended=(i == 0 and a.usable)) for i, a in enumerate(assessments)]
    return Advice(tuple(ranked), today)


def _submission_common(
    draft: _Draft, device: DeviceCapabilities, site: SiteNeeds, cloud: Cloud
) -> None:
    """Rules shared by both kinds of SMTP AUTH client submission."""
    if device.port_465_only:
        draft.blockers.append(
            tr(
                "The device only offers port 465 (implicit SSL/TLS); Microsoft 365 accepts "
                "SMTP AUTH on port 587 with STARTTLS only."
            )
        )
    if device.tls12 is Tri.NO:
        if cloud.legacy_tls_smtp is not None:
            draft.variant = Variant.LEGACY_TLS
            draft.warnings.append(
                tr(
                    "The device has no TLS 1.2: it must use {host} and the tenant must allow "
                    "legacy TLS clients (Set-TransportConfig -AllowLegacyTLSClients $true). "
                    "A firmware update that adds TLS 1.2 is the better fix."
                ).format(host=cloud.legacy_tls_smtp.host)
            )
        else:
            draft.blockers.append(
                tr(
                    "The device has no TLS 1.2, and {cloud} offers no legacy TLS endpoint "
                    "for TLS 1.0/1.1 devices."
                ).format(cloud=cloud.name)
            )
    elif device.tls12 is Tri.UNKNOWN:
        draft.warnings.append(
            tr(
                "Check that the device supports TLS 1.2; {host} refuses older TLS (421 4.7.66)."
            ).format(host=cloud.smtp.host)
        )
    if site.daily_volume > SMTP_AUTH_RECIPIENTS_PER_DAY:
        draft.blockers.append(
            tr(
                "{n} messages a day is more than one mailbox may send ({limit} recipients a "
                "day, {per_min} messages a minute)."
            ).format(
                n=site.daily_volume,
                limit=SMTP_AUTH_RECIPIENTS_PER_DAY,
                per_min=SMTP_AUTH_MESSAGES_PER_MINUTE,
            )
        )
    elif site.daily_volume > SMTP_AUTH_RECIPIENTS_PER_DAY * _NEAR_LIMIT:
        draft.warnings.append(
            tr(
                "{n} messages a day is close to the mailbox limit of {limit} recipients a day."
            ).format(n=site.daily_volume, limit=SMTP_AUTH_RECIPIENTS_PER_DAY)
        )
    draft.reasons.append(tr("Can send to anyone, inside or outside the organisation."))
    draft.reasons.append(
        tr(
            "Works from any internet connection on port 587: no static IP, and port 25 may "
            "stay blocked."
        )
    )
    draft.reasons.append(tr("Copies of sent mail land in the mailbox's Sent Items."))


def _smtp_auth_oauth(device: DeviceCapabilities, site: SiteNeeds, cloud: Cloud) -> _Draft:
    draft = _Draft(Method.SMTP_AUTH_OAUTH, score=100)
    if device.oauth is Tri.NO:
        draft.blockers.append(tr("The device cannot sign in with OAuth for Microsoft 365."))
    elif device.oauth is Tri.UNKNOWN:
        draft.score -= 30
        draft.warnings.append(
            tr(
                "Check that the device offers OAuth 2.0 for Microsoft 365 (often listed as "
                "'OAuth' or 'Microsoft 365' in its e-mail settings); many models need a "
                "firmware update."
            )
        )
    else:
        draft.reasons.append(tr("The device can sign in with OAuth: no password is stored on it."))
    draft.reasons.append(
        tr("Keeps working after Basic authentication is retired at the end of December 2026.")
    )
    if device.smtp_auth is Tri.NO and device.oauth is not Tri.YES:
        draft.blockers.append(tr("The device cannot sign in to an SMTP server at all."))
    _submission_common(draft, device, site, cloud)
    draft.needs.append(
        tr(
            "A licensed mailbox with SMTP AUTH switched on for that mailbox only (the wizard "
            "does it)."
        )
    )
    draft.needs.append(tr("One sign-in on the device with that mailbox's account."))
    return draft


def _smtp_auth_basic(
    device: DeviceCapabilities, site: SiteNeeds, tenant: TenantFacts, cloud: Cloud, today: date
) -> _Draft:
    outlook = basic_auth_outlook(today)
    base = {
        BasicAuthPhase.SUPPORTED: 40,
        BasicAuthPhase.OFF_BY_DEFAULT: 20,
        BasicAuthPhase.REMOVAL_WINDOW: 10,
        BasicAuthPhase.REMOVED: 0,
    }[outlook.phase]
    draft = _Draft(Method.SMTP_AUTH, score=base)
    if device.smtp_auth is Tri.NO:
        draft.blockers.append(
            tr("The device cannot sign in to an SMTP server with a user name and password.")
        )
    elif device.smtp_auth is Tri.UNKNOWN:
        draft.warnings.append(
            tr(
                "Check that the device can sign in to its SMTP server (often called 'SMTP "
                "authentication' or 'SMTP AUTH')."
            )
        )
    if outlook.phase is BasicAuthPhase.REMOVED:
        draft.blockers.append(outlook.headline + " " + outlook.detail)
    else:
        draft.warnings.append(outlook.headline + " " + outlook.detail)
    if tenant.security_defaults is Tri.YES:
        draft.blockers.append(
            tr(
                "Security Defaults are on in this tenant; they block password sign-in for "
                "SMTP (535 5.7.139) whatever the SMTP AUTH switches say."
            )
        )
    elif tenant.security_defaults is Tri.UNKNOWN:
        draft.warnings.append(
            tr(
                "If the tenant has Security Defaults on, password sign-in for SMTP is "
                "blocked; the tenant check will tell."
            )
        )
    _submission_common(draft, device, site, cloud)
    draft.needs.append(
        tr(
            "A licensed mailbox with SMTP AUTH switched on for that mailbox only (the wizard "
            "does it), its password stored on the device."
        )
    )
    return draft


def _port25_rules(draft: _Draft, site: SiteNeeds) -> None:
    if site.port25_open is Tri.NO:
        draft.blockers.append(
            tr(
                "Outbound port 25 is blocked at this site (by the internet provider or the "
                "firewall); this method needs it."
            )
        )
    elif site.port25_open is Tri.UNKNOWN:
        draft.warnings.append(
            tr(
                "Needs outbound port 25, which many internet providers block; the test "
                "message will show whether it is open."
            )
        )


def _direct_send(device: DeviceCapabilities, site: SiteNeeds, tenant: TenantFacts) -> _Draft:
    draft = _Draft(Method.DIRECT_SEND, score=60)
    if site.external_recipients is Tri.YES:
        draft.blockers.append(
            tr(
                "Direct send reaches only mailboxes in your own organisation, and this site "
                "must mail outside recipients (550 5.7.54)."
            )
        )
    elif site.external_recipients is Tri.UNKNOWN:
        draft.warnings.append(
            tr(
                "Only mailboxes in your own organisation can be reached; mail to anyone "
                "outside is refused (550 5.7.54)."
            )
        )
    else:
        draft.score += 10
        draft.reasons.append(
            tr("The site only mails its own organisation, which is all direct send can do.")
        )
    _port25_rules(draft, site)
    if tenant.reject_direct_send is Tri.YES:
        draft.blockers.append(
            tr(
                "The tenant rejects direct send (RejectDirectSend is on; 550 5.7.68). A "
                "connector for the device is the way instead."
            )
        )
    elif tenant.reject_direct_send is Tri.UNKNOWN:
        draft.warnings.append(
            tr(
                "If the tenant has RejectDirectSend switched on, direct send is refused "
                "(550 5.7.68); the tenant check will tell."
            )
        )
    if device.tls12 is Tri.NO:
        draft.score += 15
        draft.reasons.append(
            tr("Works for devices without TLS 1.2: encryption is optional on this path.")
        )
    draft.reasons.append(tr("No mailbox, licence or password on the device."))
    draft.reasons.append(tr("Nothing to change in the tenant."))
    draft.needs.append(tr("A sender address in one of your own domains."))
    draft.needs.append(tr("Outbound port 25 from the office to your domain's MX host."))
    if site.static_ip is not Tri.YES:
        draft.reasons.append(tr("Works without a static IP address."))
    draft.warnings.append(
        tr(
            "Anonymous mail can land in Junk unless SPF authorises the office's public IP; "
            "the DNS step gives the exact record."
        )
    )
    return draft


def _connector(device: DeviceCapabilities, site: SiteNeeds) -> _Draft:
    draft = _Draft(Method.CONNECTOR, score=80, variant=Variant.IP_CONNECTOR)
    _port25_rules(draft, site)
    if site.static_ip is Tri.NO:
        draft.variant = Variant.CERTIFICATE_CONNECTOR
        draft.score -= 40
        draft.warnings.append(
            tr(
                "Without a static public IP only a certificate connector can work: the device "
                "(or a relay server in front of it) must present a TLS certificate for one "
                "of your domains, which few printers can do."
            )
        )
        if device.tls12 is Tri.NO:
            draft.blockers.append(
                tr(
                    "A certificate connector needs TLS, and the device has no TLS 1.2; "
                    "without a static IP no connector can recognise it."
                )
            )
    elif site.static_ip is Tri.UNKNOWN:
        draft.warnings.append(
            tr(
                "Needs a static public IP address that belongs to this office alone; a "
                "dynamic or shared IP is unsupported and can stop working without notice."
            )
        )
    else:
        draft.reasons.append(
            tr(
                "The office's static public IP identifies the device; the connector accepts "
                "that address only."
            )
        )
    if device.tls12 is Tri.NO and site.static_ip is not Tri.NO:
        draft.score += 15
        draft.reasons.append(
            tr(
                "Works for devices without TLS 1.2: the connector can accept unencrypted "
                "mail from the office IP."
            )
        )
    draft.reasons.append(tr("Can send to anyone, inside or outside the organisation."))
    draft.needs.append(tr("An inbound connector restricted to the office (the wizard creates it)."))
    draft.needs.append(tr("Outbound port 25 from the office to your domain's MX host."))
    draft.reasons.append(tr("No mailbox, licence or password on the device."))
    draft.reasons.append(tr("Not affected by the retirement of Basic authentication."))
    return draft


def _hve(device: DeviceCapabilities, site: SiteNeeds, cloud: Cloud, today: date) -> _Draft:
    draft = _Draft(Method.HVE, score=50)
    if cloud.hve_smtp is None:
        draft.blockers.append(
            tr("High Volume Email is not offered in {cloud}.").format(cloud=cloud.name)
        )
    if site.external_recipients is Tri.YES:
        draft.blockers.append(
            tr(
                "High Volume Email reaches only mailboxes in your own organisation, and this "
                "site must mail outside recipients."
            )
        )
    elif site.external_recipients is Tri.UNKNOWN:
        draft.warnings.append(tr("Only mailboxes in your own organisation can be reached."))
    if device.tls12 is Tri.NO:
        draft.blockers.append(tr("High Volume Email requires TLS 1.2, which the device lacks."))
    if device.port_465_only:
        draft.blockers.append(tr("High Volume Email needs port 587; the device only offers 465."))
    if device.smtp_auth is Tri.NO and device.oauth is not Tri.YES:
        draft.blockers.append(
            tr(
                "The HVE account signs in with a password or OAuth, and the device cannot "
                "sign in to an SMTP server."
            )
        )
    if site.daily_volume > SMTP_AUTH_RECIPIENTS_PER_DAY * _NEAR_LIMIT:
        draft.score += 45
        draft.reasons.append(
            tr("Built for high volumes of internal mail, beyond a mailbox's limits.")
        )
    if device.oauth is not Tri.YES:
        if hve_basic_supported(today):
            draft.reasons.append(
                tr("Accepts a password (Basic authentication) until September 2028.")
            )
        else:
            draft.blockers.append(
                tr(
                    "High Volume Email stopped accepting passwords in September 2028, and "
                    "the device cannot use OAuth."
                )
            )
    draft.reasons.append(tr("Needs no licence: the HVE account is a mail user."))
    draft.needs.append(tr("An HVE account in the tenant (the wizard creates it)."))
    draft.warnings.append(
        tr("Billed per message (metered); check the tenant's HVE billing policy.")
    )
    return draft


def _no_cloud_fit(cloud_methods: list[Assessment]) -> bool:
    """True when no cloud method is a lasting fit, so the local relay is the advice.

    Password SMTP AUTH is a stopgap (Basic is switched off at the end of December 2026
    and removed in the second half of 2027), and a certificate connector needs a device
    that presents a TLS certificate for the domain, which few printers can do: neither
    counts as a fit. Every other usable method does.
    """
    for a in cloud_methods:
        if not a.usable or a.method is Method.SMTP_AUTH:
            continue
        if a.method is Method.CONNECTOR and a.variant is Variant.CERTIFICATE_CONNECTOR:
            continue
        return False
    return True


def _local_relay(device: DeviceCapabilities, site: SiteNeeds, cloud: Cloud, today: date) -> _Draft:
    draft = _Draft(Method.LOCAL_RELAY, score=_RELAY_AS_OPTION)
    # The relay asks every device for the user name and password the wizard made for it
    # (and checks its IP address): a device that cannot sign in at all cannot use it.
    if device.smtp_auth is Tri.NO:
        draft.blockers.append(
            tr(
                "The relay asks each device for its own user name and password, and the "
                "device cannot sign in to an SMTP server."
            )
        )
    elif device.smtp_auth is Tri.UNKNOWN:
        draft.warnings.append(
            tr(
                "Check that the device can sign in to its SMTP server with a user name and "
                "password (often called 'SMTP authentication' or 'SMTP AUTH')."
            )
        )
    else:
        draft.reasons.append(
            tr(
                "The device signs in the way it already can, with a user name and password; "
                "that password only opens the relay, never the mailbox."
            )
        )
    if device.port_465_only:
        draft.blockers.append(
            tr(
                "The device only offers port 465 (implicit SSL/TLS); the relay listens on "
                "port 587 with STARTTLS (or plain port 25 on the office network)."
            )
        )
    if device.tls12 is Tri.NO:
        draft.variant = Variant.PLAIN_LAN
        draft.warnings.append(
            tr(
                "The device has no TLS 1.2: it must use the relay's plain port 25, which "
                "you switch on for it. Its password then crosses the office network "
                "unencrypted; a firmware update that adds TLS 1.2 is the better fix."
            )
        )
    elif device.tls12 is Tri.UNKNOWN:
        draft.warnings.append(
            tr(
                "Check that the device supports TLS 1.2 with STARTTLS; without it only the "
                "relay's plain port 25 on the office network is left."
            )
        )
    if site.daily_volume > SMTP_AUTH_RECIPIENTS_PER_DAY:
        draft.blockers.append(
            tr(
                "{n} messages a day is more than one mailbox may send ({limit} recipients a "
                "day), and the relay sends as the device's mailbox."
            ).format(n=site.daily_volume, limit=SMTP_AUTH_RECIPIENTS_PER_DAY)
        )
    outlook = basic_auth_outlook(today)
    if outlook.phase is BasicAuthPhase.SUPPORTED:
        draft.reasons.append(
            tr(
                "Keeps a password-only device sending when Microsoft switches Basic SMTP AUTH "
                "off by default at the end of December 2026 ({days} days from today) and "
                "removes it in the second half of 2027: the relay signs in to Microsoft 365 "
                "with OAuth."
            ).format(days=outlook.days_until_off)
        )
    else:
        draft.reasons.append(
            tr(
                "Basic SMTP AUTH has been off by default since the end of December 2026 and "
                "is removed in the second half of 2027; the relay signs in to Microsoft 365 "
                "with OAuth, so a password-only device keeps sending."
            )
        )
    draft.reasons.append(tr("Can send to anyone, inside or outside the organisation."))
    draft.reasons.append(
        tr(
            "Works without a static IP address, and outbound port 25 may stay blocked: the "
            "relay sends on port 587 to {host}."
        ).format(host=cloud.smtp.host)
    )
    draft.reasons.append(
        tr(
            "Mail is kept in the relay's queue until Microsoft 365 takes it, so a network "
            "outage delays it instead of losing it."
        )
    )
    draft.needs.append(
        tr(
            "An always-on Windows, macOS or Linux computer on the devices' network, where "
            "the wizard installs the relay as a service."
        )
    )
    draft.needs.append(
        tr(
            "A licensed mailbox per sender address, with SMTP AUTH switched on for that "
            "mailbox only (the wizard does it)."
        )
    )
    draft.needs.append(
        tr(
            "One sign-in with Microsoft per mailbox, so the relay can send as it (its token "
            "is kept in that computer's keyring)."
        )
    )
    draft.warnings.append(
        tr(
            "One more thing to keep running: while that computer is off, asleep or "
            "disconnected, the devices cannot send."
        )
    )
    return draft
