"""The change plan: what the tenant needs for the chosen method, and what it has.

`build_plan()` compares the desired state of the method (from the site profile, the
advisor's variant and the cloud) with a `TenantSnapshot` and lists each change with
its plain-words title, why it is needed, the exact PowerShell equivalent and the
cmdlet the Exchange admin API runs. Rules that keep the tenant safe:

- Access is never widened: a connector accepts the site's one public IP (or its
  certificate) and nothing more; SMTP AUTH is switched on for the devices' mailboxes
  only, the tenant switch stays as it is.
- Nothing that exists is changed silently: a connector with the wizard's name but
  other settings, or another connector that already covers the site with a wider
  range, is a conflict that waits for the user's explicit choice.
- A change whose state is already right is "already done", so building the plan
  again after applying it lists nothing to change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from wizard.core.advisor import Variant
from wizard.core.clouds import Cloud
from wizard.core.i18n import tr
from wizard.core.methods import METHOD_INFO, SUBMISSION_METHODS, Method, Tri
from wizard.core.profile import SiteProfile
from wizard.core.retirement import basic_auth_can_be_called_ready, basic_auth_proof
from wizard.core.tenant import (
    InboundConnector,
    TenantSnapshot,
    certificate_key,
    distinct_addresses,
    normalise_domain,
)
from wizard.core.validation import Validated, check_domain, check_public_ipv4

CONNECTOR_NAME_PREFIX = "Relay Wizard - "
# Exchange object names are at most 64 characters.
_MAX_NAME = 64


class ChangeKind(StrEnum):
    MAILBOX_SMTP_AUTH = "mailbox-smtp-auth"
    LEGACY_TLS = "legacy-tls"
    CONNECTOR = "connector"
    HVE_ACCOUNT = "hve-account"


class ChangeStatus(StrEnum):
    NEEDED = "needed"
    DONE = "already-done"
    CONFLICT = "conflict"  # waits for the user's choice
    SKIPPED = "skipped"  # the user chose to leave things as they are
    BLOCKED = "blocked"  # cannot be made; `detail` says why


class Resolution(StrEnum):
    UPDATE_EXISTING = "update-existing"
    CREATE_SEPARATE = "create-separate"
    KEEP_EXISTING = "keep-existing"


class SwitchParameter:
    """A PowerShell switch (`-HVEAccount`): true in JSON, a bare name in PowerShell."""

    _instance: SwitchParameter | None = None

    def __new__(cls) -> SwitchParameter:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "SWITCH"


SWITCH = SwitchParameter()

ParamValue = str | bool | None | tuple[str, ...] | SwitchParameter

_BAREWORD = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


def ps_literal(value: ParamValue) -> str:
    """A parameter value as PowerShell source; strings single-quoted, quotes doubled."""
    if value is None:
        return "$null"
    if isinstance(value, bool):
        return "$true" if value else "$false"
    if isinstance(value, SwitchParameter):
        return ""
    if isinstance(value, tuple):
        return ",".join(ps_literal(v) for v in value) if value else "@()"
    if _BAREWORD.match(value):
        return value
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class Cmdlet:
    """One Exchange cmdlet call, as InvokeCommand runs it and as PowerShell shows it.

    Secret parameters (an HVE account's password) are named here but their values are
    supplied only when the change is applied, so a plan can be shown, logged and
    compared without ever holding a secret.
    """

    name: str
    parameters: tuple[tuple[str, ParamValue], ...]
    secret_parameters: tuple[str, ...] = ()

    def parameter(self, key: str) -> ParamValue:
        return dict(self.parameters).get(key)

    def invoke_parameters(self, secrets: Mapping[str, str] | None = None) -> dict[str, object]:
        result: dict[str, object] = {}
        for key, value in self.parameters:
            if isinstance(value, SwitchParameter):
                result[key] = True
            elif isinstance(value, tuple):
                result[key] = list(value)
            else:
                result[key] = value
        for key in self.secret_parameters:
            secret = (secrets or {}).get(key)
            if not secret:
                raise KeyError(key)
            result[key] = secret
        return result

    def powershell(self) -> str:
        parts = [self.name]
        for key, value in self.parameters:
            literal = ps_literal(value)
            parts.append(f"-{key}" if isinstance(value, SwitchParameter) else f"-{key} {literal}")
        for key in self.secret_parameters:
            parts.append(f"-{key} (Read-Host -AsSecureString -Prompt '{key}')")
        return " ".join(parts)


@dataclass(frozen=True)
class ConflictOption:
    resolution: Resolution
    label: str
    cmdlet: Cmdlet | None  # None: nothing is run


@dataclass(frozen=True)
class Change:
    id: str  # stable across rebuilds of the plan, so a choice or a result can follow it
    kind: ChangeKind
    title: str
    why: str
    status: ChangeStatus
    # What is (or would be) run; for an already-done change, the command that set it.
    cmdlet: Cmdlet | None
    detail: str = ""  # the state found, the conflict or the reason it is blocked
    options: tuple[ConflictOption, ...] = ()
    chosen: Resolution | None = None

    @property
    def powershell(self) -> str:
        return self.cmdlet.powershell() if self.cmdlet else ""


@dataclass(frozen=True)
class Plan:
    method: Method
    variant: Variant
    changes: tuple[Change, ...]
    notes: tuple[str, ...] = ()
    # Why the method cannot work in this tenant as it is; nothing should be applied.
    blockers: tuple[str, ...] = ()

    @property
    def to_apply(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.status is ChangeStatus.NEEDED)

    @property
    def unresolved(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.status is ChangeStatus.CONFLICT)

    @property
    def nothing_to_change(self) -> bool:
        return not self.to_apply and not self.unresolved

    @property
    def can_apply(self) -> bool:
        return bool(self.to_apply) and not self.unresolved and not self.blockers

    def change(self, change_id: str) -> Change | None:
        return next((c for c in self.changes if c.id == change_id), None)


# --- who signs in ------------------------------------------------------------------


def sending_addresses(profile: SiteProfile) -> tuple[str, ...]:
    """The mailboxes (SMTP AUTH) or HVE accounts the site's devices sign in as."""
    return distinct_addresses(p.username or p.sender for p in profile.printers)


def sender_domains(profile: SiteProfile) -> tuple[str, ...]:
    """The site's domain and every domain its devices send from, normalised, sorted."""
    domains = {normalise_domain(profile.site.domain)} if profile.site.domain.strip() else set()
    for printer in profile.printers:
        if "@" in printer.sender:
            domains.add(normalise_domain(printer.sender.rpartition("@")[2]))
    return tuple(sorted(d for d in domains if d))


def connector_name(site_name: str) -> str:
    """The wizard's connector for a site; stable so re-runs find it again."""
    cleaned = re.sub(r"[^\w .-]+", " ", site_name, flags=re.UNICODE)
    cleaned = " ".join(cleaned.split()) or "Site"
    return (CONNECTOR_NAME_PREFIX + cleaned)[:_MAX_NAME].rstrip()


# --- the desired connector ---------------------------------------------------------


@dataclass(frozen=True)
class DesiredConnector:
    """The relay connector the site needs: an OnPremises connector matched by what it knows.

    In the current New-InboundConnector reference (learn.microsoft.com/powershell/module/
    exchangepowershell/new-inboundconnector) RequireTls, RestrictDomainsToIPAddresses,
    RestrictDomainsToCertificate and the scoping by SenderDomains "apply only to Partner
    type connectors". An OnPremises connector (the kind that may relay to the internet) is
    matched by its SenderIPAddresses or TlsSenderCertificateName, so that is all the plan
    sets, requires and compares. SenderDomains is a mandatory parameter of the cmdlet and
    is sent with the site's domains, but it restricts nothing on this kind of connector.
    """

    name: str
    sender_domains: tuple[str, ...]
    ip: str | None  # IP connector: the site's one public address
    certificate_name: str | None  # certificate connector: the name on the certificate
    comment: str

    @property
    def recognised_by(self) -> str:
        if self.ip:
            return tr("the office's public IP address {ip}").format(ip=self.ip)
        return tr("a TLS certificate issued to {name}").format(name=self.certificate_name)

    def matches(self, existing: InboundConnector) -> bool:
        """`existing` recognises exactly the office (its one IP, or its certificate name)."""
        if self.ip:
            return existing.accepts_only(self.ip)
        want = certificate_key(self.certificate_name or "")
        return existing.certificate_key == want

    def differences(self, existing: InboundConnector) -> list[str]:
        """What differs, in plain words; empty when the connector does the site's job."""
        found: list[str] = []
        if not existing.is_on_premises:
            found.append(
                tr(
                    "it is a '{kind}' connector, which does not relay your devices' mail to "
                    "the internet; that takes an 'OnPremises' connector"
                ).format(kind=existing.connector_type)
            )
        if self.ip:
            if not existing.accepts_only(self.ip):
                found.append(_ip_difference(existing, self.ip))
        elif not self.matches(existing):
            found.append(
                tr("it expects the certificate {have} instead of {want}").format(
                    have=existing.tls_sender_certificate_name or tr("(none)"),
                    want=self.certificate_name,
                )
            )
        if not existing.enabled:
            found.append(tr("it is switched off"))
        return found

    def _recognition_parameters(self) -> list[tuple[str, ParamValue]]:
        if self.ip:
            return [("SenderIPAddresses", (self.ip,))]
        return [("TlsSenderCertificateName", self.certificate_name or "")]

    def new_cmdlet(self) -> Cmdlet:
        return Cmdlet(
            "New-InboundConnector",
            (
                ("Name", self.name),
                ("ConnectorType", "OnPremises"),
                ("SenderDomains", self.sender_domains),
                *self._recognition_parameters(),
                ("Enabled", True),
                ("Comment", self.comment),
            ),
        )

    def set_cmdlet(self, existing: InboundConnector) -> Cmdlet:
        """Bring `existing` to the desired state, touching only what differs."""
        params: list[tuple[str, ParamValue]] = [("Identity", existing.identity or existing.name)]
        if not existing.is_on_premises:
            params.append(("ConnectorType", "OnPremises"))
        if self.ip:
            if not existing.accepts_only(self.ip):
                params.append(("SenderIPAddresses", (self.ip,)))
        elif not self.matches(existing):
            params.append(("TlsSenderCertificateName", self.certificate_name or ""))
        if not existing.enabled:
            params.append(("Enabled", True))
        return Cmdlet("Set-InboundConnector", tuple(params))


def _ip_difference(existing: InboundConnector, ip: str) -> str:
    listed = ", ".join(existing.sender_ip_addresses) or tr("(none)")
    count = existing.address_count()
    if existing.covers(ip) and count is not None and count > 1:
        return tr(
            "it accepts {listed} ({n} addresses), wider than the office's one address {ip}"
        ).format(listed=listed, n=count, ip=ip)
    if count is None:
        return tr("it lists addresses the wizard cannot read ({listed})").format(listed=listed)
    return tr("it accepts {listed}, not the office's current address {ip}").format(
        listed=listed, ip=ip
    )


# --- building the plan -------------------------------------------------------------


@dataclass
class _Builder:
    profile: SiteProfile
    method: Method
    variant: Variant
    snapshot: TenantSnapshot
    cloud: Cloud
    resolutions: Mapping[str, Resolution]
    certificate_name: str | None
    today: date | None = None
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)

    def plan(self) -> Plan:
        return Plan(
            self.method,
            self.variant,
            tuple(self.changes),
            tuple(self.notes),
            tuple(dict.fromkeys(self.blockers)),
        )

    def block(self, change: Change) -> None:
        self.changes.append(change)
        if change.detail:
            self.blockers.append(change.detail)

    # -- checks every method shares

    def domains_accepted(self) -> None:
        for domain in sender_domains(self.profile):
            if not self.snapshot.is_accepted(domain):
                self.blockers.append(
                    tr(
                        "{domain} is not an accepted domain of the tenant {tenant}: Microsoft "
                        "365 only relays mail from its own domains. Add the domain in the "
                        "Microsoft 365 admin center, or check that you signed in to the right "
                        "tenant."
                    ).format(domain=domain, tenant=self.snapshot.display_name)
                )

    # -- SMTP AUTH

    def smtp_auth(self) -> None:
        addresses = sending_addresses(self.profile)
        if not addresses:
            self.blockers.append(
                tr("No device has a mailbox to sign in as; enter the sender in Site and devices.")
            )
        tenant_off = self.snapshot.smtp_auth_disabled
        for address in addresses:
            cmdlet = Cmdlet(
                "Set-CASMailbox",
                (("Identity", address), ("SmtpClientAuthenticationDisabled", False)),
            )
            change_id = f"{ChangeKind.MAILBOX_SMTP_AUTH}:{address}"
            title = tr("Switch SMTP AUTH on for {address} only").format(address=address)
            why = (
                tr(
                    "The office relay signs in to this mailbox with OAuth to send the device's "
                    "mail. Switching it on for this one mailbox leaves every other mailbox, "
                    "and the tenant-wide switch, as they are."
                )
                if self.method is Method.LOCAL_RELAY
                else tr(
                    "The device signs in to this mailbox to send. Switching it on for this one "
                    "mailbox leaves every other mailbox, and the tenant-wide switch, as they are."
                )
            )
            box = self.snapshot.mailbox(address)
            if box is None or not box.exists:
                self.block(
                    Change(
                        change_id,
                        ChangeKind.MAILBOX_SMTP_AUTH,
                        title,
                        why,
                        ChangeStatus.BLOCKED,
                        cmdlet,
                        tr(
                            "There is no mailbox {address} in this tenant. Create a licensed "
                            "mailbox for the device, or correct the sender in Site and devices."
                        ).format(address=address),
                    )
                )
                continue
            if box.smtp_auth_disabled is False:
                detail = tr("Already switched on for this mailbox.")
                if (
                    self.method is Method.SMTP_AUTH
                    and self.today is not None
                    and not basic_auth_can_be_called_ready(self.today)
                ):
                    # The switch is set, but that no longer says a password works.
                    detail += " " + tr(
                        "That does not make password (Basic) sign-in work: the test message "
                        "shows whether it does."
                    )
                status = ChangeStatus.DONE
            elif box.smtp_auth_disabled is None and tenant_off is False:
                # Works today by inheritance, but would stop the day the tenant switch
                # goes off; pinning the mailbox value keeps the device sending.
                status = ChangeStatus.NEEDED
                detail = tr(
                    "The mailbox inherits the tenant's setting, which is on today. Setting it "
                    "on the mailbox keeps the device sending if the tenant switch is turned off."
                )
            elif box.smtp_auth_disabled is True:
                status = ChangeStatus.NEEDED
                detail = tr("Switched off for this mailbox (SmtpClientAuthenticationDisabled).")
            else:
                status = ChangeStatus.NEEDED
                detail = tr("The mailbox inherits the tenant's setting, which is off.")
            self.changes.append(
                Change(change_id, ChangeKind.MAILBOX_SMTP_AUTH, title, why, status, cmdlet, detail)
            )
        if self.variant is Variant.LEGACY_TLS:
            self.legacy_tls()
        if self.method is Method.SMTP_AUTH and self.today is not None:
            self.notes.append(basic_auth_proof(self.today))
        if self.method is Method.SMTP_AUTH and self.snapshot.security_defaults is Tri.YES:
            self.blockers.append(
                tr(
                    "Security Defaults are on in this tenant: they block password sign-in "
                    "for SMTP (535 5.7.139) whatever the switches say. Choose OAuth, High "
                    "Volume Email or a connector instead."
                )
            )
        if tenant_off is False:
            self.notes.append(
                tr(
                    "SMTP AUTH is on for the whole tenant. The wizard leaves that as it is; "
                    "switching it off (Set-TransportConfig -SmtpClientAuthenticationDisabled "
                    "$true) after the devices have their own mailbox setting is safer."
                )
            )

    def legacy_tls(self) -> None:
        change_id = str(ChangeKind.LEGACY_TLS)
        cmdlet = Cmdlet("Set-TransportConfig", (("AllowLegacyTLSClients", True),))
        title = tr("Let devices with TLS 1.0/1.1 use the legacy endpoint")
        if self.cloud.legacy_tls_smtp is None:
            self.block(
                Change(
                    change_id,
                    ChangeKind.LEGACY_TLS,
                    title,
                    "",
                    ChangeStatus.BLOCKED,
                    None,
                    tr(
                        "{cloud} has no endpoint for devices without TLS 1.2; update the "
                        "device's firmware or choose a connector."
                    ).format(cloud=self.cloud.name),
                )
            )
            return
        why = tr(
            "The device cannot do TLS 1.2, so it must send to {host}; the tenant has to allow "
            "legacy TLS clients for that. A firmware update that adds TLS 1.2 is the better "
            "fix in the long run."
        ).format(host=self.cloud.legacy_tls_smtp.host)
        done = self.snapshot.allow_legacy_tls_clients is True
        self.changes.append(
            Change(
                change_id,
                ChangeKind.LEGACY_TLS,
                title,
                why,
                ChangeStatus.DONE if done else ChangeStatus.NEEDED,
                cmdlet,
                tr("Legacy TLS clients are already allowed.")
                if done
                else tr("Legacy TLS clients are not allowed (AllowLegacyTLSClients is off)."),
            )
        )

    # -- connectors

    def desired_connector(self) -> DesiredConnector | None:
        site = self.profile.site
        use_certificate = self.variant is Variant.CERTIFICATE_CONNECTOR
        ip: str | None = None
        certificate: str | None = None
        if use_certificate:
            if not (self.certificate_name or site.domain).strip():
                self.blockers.append(
                    tr("Enter the site's domain: the connector's certificate is named after it.")
                )
                return None
            checked = check_certificate_name(self.certificate_name or site.domain, self.snapshot)
            if not checked.ok or checked.value is None:
                self.blockers.append(checked.error)
                return None
            certificate = checked.value
        else:
            checked = check_public_ipv4(site.public_ip or "")
            if not checked.ok or checked.value is None:
                self.blockers.append(
                    tr(
                        "A connector recognises the office by its static public IP address, "
                        "and the site has none entered: enter it in Site and devices (the "
                        "'Detect' button finds it)."
                    )
                    if not site.public_ip
                    else checked.error
                )
                return None
            ip = checked.value
        domains = sender_domains(self.profile)
        if not domains:
            self.blockers.append(tr("Enter the site's domain in Site and devices."))
            return None
        return DesiredConnector(
            name=connector_name(site.name),
            sender_domains=domains,
            ip=ip,
            certificate_name=certificate,
            comment=tr("Relay for the printers and scanners of {site}, set up by Relay Wizard.")
            .format(site=site.name or site.domain)
            .strip(),
        )

    def connector(self, why: str) -> None:
        desired = self.desired_connector()
        if desired is None:
            return
        change_id = str(ChangeKind.CONNECTOR)
        title = tr("Create the connector '{name}' for {by}").format(
            name=desired.name, by=desired.recognised_by
        )
        existing = self.snapshot.connector(desired.name)
        if existing is not None:
            self._existing_named(change_id, desired, existing, why)
            return
        covering = [c for c in self.snapshot.connectors if c.enabled and self._covers(c, desired)]
        # Whoever made it (the admin center, a script, another tool) and whatever its
        # name: an enabled OnPremises connector that recognises exactly the office does
        # the job.
        adoptable = next((c for c in covering if not desired.differences(c)), None)
        if adoptable is not None:
            self.changes.append(
                Change(
                    change_id,
                    ChangeKind.CONNECTOR,
                    tr("Use the existing connector '{name}'").format(name=adoptable.name),
                    why,
                    ChangeStatus.DONE,
                    None,
                    tr("'{name}' already accepts mail from {by} only.").format(
                        name=adoptable.name, by=desired.recognised_by
                    ),
                )
            )
            return
        new = desired.new_cmdlet()
        if covering:
            names = ", ".join(f"'{c.name}'" for c in covering)
            problems = "; ".join(
                f"'{c.name}': " + "; ".join(desired.differences(c)) for c in covering
            )
            detail = tr(
                "{names} already covers {by}, with other settings ({problems}). The wizard "
                "does not change a connector it did not create."
            ).format(names=names, by=desired.recognised_by, problems=problems)
            options = (
                ConflictOption(
                    Resolution.CREATE_SEPARATE,
                    tr("Create '{name}' for this office only; leave {names} as it is").format(
                        name=desired.name, names=names
                    ),
                    new,
                ),
                ConflictOption(
                    Resolution.KEEP_EXISTING,
                    tr("Make no connector change; keep relying on {names}").format(names=names),
                    None,
                ),
            )
            self._conflict(change_id, title, why, detail, options, new)
            return
        self.changes.append(
            Change(
                change_id,
                ChangeKind.CONNECTOR,
                title,
                why,
                ChangeStatus.NEEDED,
                new,
                tr("The tenant has no connector for this office yet."),
            )
        )

    def _covers(self, connector: InboundConnector, desired: DesiredConnector) -> bool:
        if desired.ip:
            return connector.covers(desired.ip)
        return connector.certificate_key == certificate_key(desired.certificate_name or "")

    def _existing_named(
        self, change_id: str, desired: DesiredConnector, existing: InboundConnector, why: str
    ) -> None:
        differences = desired.differences(existing)
        if not differences:
            self.changes.append(
                Change(
                    change_id,
                    ChangeKind.CONNECTOR,
                    tr("Connector '{name}' for {by}").format(
                        name=desired.name, by=desired.recognised_by
                    ),
                    why,
                    ChangeStatus.DONE,
                    desired.new_cmdlet(),
                    tr("The connector exists with exactly these settings."),
                )
            )
            return
        update = desired.set_cmdlet(existing)
        detail = tr("A connector called '{name}' already exists, but {problems}.").format(
            name=existing.name, problems="; ".join(differences)
        )
        options = (
            ConflictOption(
                Resolution.UPDATE_EXISTING,
                tr("Change '{name}' to accept {by} only").format(
                    name=existing.name, by=desired.recognised_by
                ),
                update,
            ),
            ConflictOption(
                Resolution.KEEP_EXISTING,
                tr("Leave '{name}' as it is").format(name=existing.name),
                None,
            ),
        )
        title = tr("Bring the connector '{name}' to the site's settings").format(name=existing.name)
        self._conflict(change_id, title, why, detail, options, update)

    def _conflict(
        self,
        change_id: str,
        title: str,
        why: str,
        detail: str,
        options: tuple[ConflictOption, ...],
        first: Cmdlet,
    ) -> None:
        chosen = self.resolutions.get(change_id)
        option = next((o for o in options if o.resolution is chosen), None)
        if option is None:
            self.changes.append(
                Change(
                    change_id,
                    ChangeKind.CONNECTOR,
                    title,
                    why,
                    ChangeStatus.CONFLICT,
                    first,
                    detail,
                    options,
                )
            )
            return
        status = ChangeStatus.SKIPPED if option.cmdlet is None else ChangeStatus.NEEDED
        self.changes.append(
            Change(
                change_id,
                ChangeKind.CONNECTOR,
                title,
                why,
                status,
                option.cmdlet,
                detail,
                options,
                option.resolution,
            )
        )

    # -- High Volume Email

    def hve(self) -> None:
        if self.cloud.hve_smtp is None:
            self.blockers.append(
                tr("High Volume Email is not offered in {cloud}.").format(cloud=self.cloud.name)
            )
            return
        addresses = sending_addresses(self.profile)
        if not addresses:
            self.blockers.append(
                tr("Enter the address the HVE account sends from in Site and devices.")
            )
        for address in addresses:
            change_id = f"{ChangeKind.HVE_ACCOUNT}:{address}"
            cmdlet = Cmdlet(
                "New-MailUser",
                (
                    ("HVEAccount", SWITCH),
                    ("Name", address[:_MAX_NAME]),
                    ("PrimarySmtpAddress", address),
                ),
                secret_parameters=("Password",),
            )
            title = tr("Create the High Volume Email account {address}").format(address=address)
            why = tr(
                "The device signs in to the High Volume Email endpoint with this account. It "
                "is a mail user without a licence; its password is kept in this computer's "
                "keyring for the device's settings sheet."
            )
            domain = address.rpartition("@")[2]
            if self.snapshot.hve_account(address) is not None:
                self.changes.append(
                    Change(
                        change_id,
                        ChangeKind.HVE_ACCOUNT,
                        title,
                        why,
                        ChangeStatus.DONE,
                        cmdlet,
                        tr("The HVE account already exists."),
                    )
                )
                continue
            box = self.snapshot.mailbox(address)
            blocked = ""
            if box is not None and box.exists:
                blocked = tr(
                    "{address} is already a mailbox; an HVE account needs an address of its "
                    "own (for example scanner-hve@{domain}). Change it in Site and devices."
                ).format(address=address, domain=domain)
            elif not self.snapshot.is_accepted(domain):
                blocked = tr("{domain} is not an accepted domain of this tenant.").format(
                    domain=domain
                )
            if blocked:
                self.block(
                    Change(
                        change_id,
                        ChangeKind.HVE_ACCOUNT,
                        title,
                        why,
                        ChangeStatus.BLOCKED,
                        cmdlet,
                        blocked,
                    )
                )
                continue
            self.changes.append(
                Change(
                    change_id,
                    ChangeKind.HVE_ACCOUNT,
                    title,
                    why,
                    ChangeStatus.NEEDED,
                    cmdlet,
                    tr("There is no HVE account with this address yet."),
                )
            )
        self.notes.append(
            tr(
                "High Volume Email is billed per message: check the tenant's billing policy "
                "(Get-BillingPolicy -ResourceType HVE) and link the account to it "
                "(Set-HVEAccountBillingPolicy) if Microsoft asks for it."
            )
        )


def check_certificate_name(name: str, snapshot: TenantSnapshot) -> Validated[str]:
    """A connector's TlsSenderCertificateName: a host name of one of the tenant's accepted
    domains, or a wildcard directly under an accepted domain; returns it as compared.

    Relay by certificate works only when the certificate's name is an accepted domain
    (M365-FACTS "Connectors", MC1226222: other certificate connectors "may stop working
    without notice"). A wildcard reaches every name under its domain, so it is allowed
    only where that domain itself is accepted: "*.contoso.com" for contoso.com, never
    "*", "*.onmicrosoft.com" or "*.com". The New-InboundConnector reference
    (learn.microsoft.com/powershell/module/exchangepowershell/new-inboundconnector,
    -TlsSenderCertificateName): "A valid value is an SMTP domain. Wildcards are supported
    to indicate a domain and all subdomains (for example, *.contoso.com), but you can't
    embed the wildcard character (for example, domain.*.contoso.com is not valid)."
    """
    text = name.strip().rstrip(".")
    wildcard = text.startswith("*.")
    base = text[2:] if wildcard else text
    domain = check_domain(base)
    if "*" in base or not domain.ok or domain.value is None:
        return Validated.bad(
            tr(
                "The certificate name {name} is not a domain name: give the name on the "
                "certificate, e.g. relay.contoso.com or *.contoso.com."
            ).format(name=text or name)
        )
    if wildcard:
        accepted = {normalise_domain(d.name) for d in snapshot.accepted_domains}
        if normalise_domain(domain.value) not in accepted:
            return Validated.bad(
                tr(
                    "The certificate name {name} is a wildcard over more than the tenant's "
                    "accepted domains: a wildcard is allowed only directly under one of "
                    "them (e.g. *.contoso.com when contoso.com is accepted)."
                ).format(name=text)
            )
    elif not snapshot.is_accepted_or_subdomain(domain.value):
        return Validated.bad(
            tr(
                "The certificate name {name} is not one of the tenant's accepted "
                "domains: a certificate connector needs a certificate for one of "
                "your own domains."
            ).format(name=text)
        )
    return Validated.good(certificate_key(text))


def build_plan(
    profile: SiteProfile,
    method: Method,
    variant: Variant,
    snapshot: TenantSnapshot,
    cloud: Cloud,
    resolutions: Mapping[str, Resolution] | None = None,
    *,
    certificate_name: str | None = None,
    today: date | None = None,
) -> Plan:
    """The changes `method` needs in this tenant; see the module's rules.

    `today` dates what the plan says about Basic SMTP AUTH (MC786329); the wizard always
    passes it.
    """
    if method is Method.CONNECTOR and variant not in (
        Variant.IP_CONNECTOR,
        Variant.CERTIFICATE_CONNECTOR,
    ):
        variant = Variant.IP_CONNECTOR if profile.site.public_ip else Variant.CERTIFICATE_CONNECTOR
    builder = _Builder(
        profile, method, variant, snapshot, cloud, resolutions or {}, certificate_name, today
    )
    builder.domains_accepted()
    if method in SUBMISSION_METHODS:
        # The local relay submits as each device's mailbox with OAuth: the same switch.
        builder.smtp_auth()
    elif method is Method.CONNECTOR:
        builder.connector(
            tr(
                "Microsoft 365 accepts the devices' mail for any recipient only when a "
                "connector recognises the office. This one recognises only the office's "
                "public IP address (or its certificate), and Microsoft 365 relays only mail "
                "from your own accepted domains, so it is no open relay."
            )
        )
    elif method is Method.DIRECT_SEND:
        if snapshot.reject_direct_send is True:
            builder.variant = Variant.IP_CONNECTOR
            builder.notes.append(
                tr(
                    "The tenant rejects direct send (RejectDirectSend is on, 550 5.7.68), so "
                    "the devices need a connector that recognises the office instead. The "
                    "devices keep sending to the same MX host on port 25."
                )
            )
            builder.connector(
                tr(
                    "RejectDirectSend refuses anonymous mail from your domains unless a "
                    "connector recognises the sender; this connector recognises the office."
                )
            )
        else:
            builder.notes.append(
                tr(
                    "Direct send needs no change in the tenant. If someone switches "
                    "RejectDirectSend on later, the devices need a connector."
                )
            )
    elif method is Method.HVE:
        builder.hve()
    info = METHOD_INFO[method]
    if not builder.changes and not builder.blockers:
        builder.notes.append(
            tr("{title}: nothing to change in the tenant.").format(title=info.title)
        )
    return builder.plan()
