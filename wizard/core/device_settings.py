"""The exact values a device needs for a method: what goes on the printer's web page."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from wizard.core.advisor import SMTP_AUTH_MESSAGES_PER_MINUTE, SMTP_AUTH_RECIPIENTS_PER_DAY
from wizard.core.clouds import SUBMISSION_PORT, Cloud, Endpoint
from wizard.core.i18n import tr
from wizard.core.methods import METHOD_INFO, Method, Tri
from wizard.core.relay_host import RelayHost, RelayHostSource, not_found_advice


class Security(StrEnum):
    STARTTLS = "starttls"
    NONE = "none"


class AuthKind(StrEnum):
    NONE = "none"
    PASSWORD = "password"
    OAUTH = "oauth"


@dataclass(frozen=True)
class LocalRelayAccess:
    """How one device reaches the office relay (drawn from the relay's configuration).

    host is the relay computer's LAN address (or a name that resolves to it on the
    office network); starttls False only for a device the technician let use the plain
    LAN port. certificate_sha256 is the fingerprint of the certificate the relay made
    for itself, so a device that checks certificates can be told which one to trust.
    """

    host: str
    port: int
    starttls: bool
    username: str
    certificate_sha256: str | None = None


@dataclass(frozen=True)
class DeviceSettings:
    method: Method
    server: str
    port: int
    security: Security
    # False where TLS is optional (direct send, an IP connector without RequireTls):
    # STARTTLS is still used when the device offers it.
    tls_required: bool
    auth: AuthKind
    username: str | None
    sender: str
    internal_only: bool
    reach: str
    limits: tuple[str, ...]
    notes: tuple[str, ...]
    # Direct send and connector relay: where `server` came from (None for the fixed
    # submission hosts). server is "" when the relay host could not be found.
    relay_host: RelayHost | None = None

    @property
    def host_found(self) -> bool:
        return bool(self.server)

    @property
    def server_display(self) -> str:
        """The server as shown to a person: a guess is marked, a missing host says so."""
        if self.relay_host is not None:
            return self.relay_host.display
        return self.server

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint(self.server, self.port)

    def as_public_dict(self) -> dict[str, object]:
        """The non-secret values, e.g. for the QR code and JSON output."""
        return {
            "method": str(self.method),
            "server": self.server,
            "port": self.port,
            "security": str(self.security),
            "tls_required": self.tls_required,
            "auth": str(self.auth),
            "username": self.username,
            "sender": self.sender,
        }


def device_settings(
    method: Method,
    cloud: Cloud,
    *,
    domain: str,
    sender: str,
    username: str | None = None,
    mx_host: RelayHost | str | None = None,
    tls12: Tri = Tri.YES,
    local_relay: LocalRelayAccess | None = None,
) -> DeviceSettings:
    """Values for one device.

    mx_host: the relay host decided by `decide_relay_host` (a plain string counts as
    the tenant's value). Never computed here: without one, direct send and relay get
    no server and a note saying where to find it. tls12: whether the device has TLS 1.2;
    a device without it is sent to the legacy endpoint where the cloud has one.
    local_relay: for the local relay, how this device reaches it; without it the
    server is "" (the relay is not set up yet) and a note says where to set it up.
    """
    internal_only = METHOD_INFO[method].internal_only
    reach = (
        tr("Mailboxes in your own organisation only")
        if internal_only
        else tr("Anyone, inside or outside the organisation")
    )
    if method in (Method.SMTP_AUTH, Method.SMTP_AUTH_OAUTH):
        endpoint = cloud.smtp
        notes: list[str] = [tr("Always use the host name, never an IP address.")]
        if tls12 is Tri.NO and cloud.legacy_tls_smtp is not None:
            endpoint = cloud.legacy_tls_smtp
            notes.append(tr("Legacy TLS endpoint: the tenant must allow legacy TLS clients."))
        auth = AuthKind.OAUTH if method is Method.SMTP_AUTH_OAUTH else AuthKind.PASSWORD
        return DeviceSettings(
            method,
            endpoint.host,
            endpoint.port,
            Security.STARTTLS,
            True,
            auth,
            username or sender,
            sender,
            internal_only,
            reach,
            (
                tr("{n} messages a minute").format(n=SMTP_AUTH_MESSAGES_PER_MINUTE),
                tr("{n} recipients a day").format(n=SMTP_AUTH_RECIPIENTS_PER_DAY),
            ),
            tuple(notes),
        )
    if method is Method.LOCAL_RELAY:
        return _local_relay_settings(cloud, sender, username, internal_only, reach, local_relay)
    if method is Method.HVE:
        if cloud.hve_smtp is None:
            # Plain words: callers show this message as it is (CLI, wizard).
            raise ValueError(
                tr("High Volume Email is not offered in {cloud}: choose another method.").format(
                    cloud=cloud.name
                )
            )
        return DeviceSettings(
            method,
            cloud.hve_smtp.host,
            cloud.hve_smtp.port,
            Security.STARTTLS,
            True,
            AuthKind.PASSWORD,
            username or sender,
            sender,
            internal_only,
            reach,
            (tr("Metered: billed per recipient"),),
            (tr("Sign in with the HVE account, not a user's mailbox."),),
        )
    if isinstance(mx_host, str):
        chosen = RelayHost(domain, mx_host.strip().rstrip("."), RelayHostSource.TENANT, True)
    elif mx_host is None:
        chosen = RelayHost(domain, "", RelayHostSource.GUESS, False)
    else:
        chosen = mx_host
    host_notes: tuple[str, ...] = ()
    if cloud.relay_endpoint is not None:
        pass  # the sandbox's own relay listener: a known endpoint, nothing to find
    elif not chosen.found:
        host_notes = (not_found_advice(domain),)
    elif chosen.is_guess:
        host_notes = (
            tr(
                "The server name is a guess that resolves in DNS but is not confirmed by "
                "the tenant: compare it with the MX value in the admin center."
            ),
        )
    relay = cloud.relay_target(chosen.host)
    server = relay.host if chosen.found or cloud.relay_endpoint is not None else ""
    decided: RelayHost | None = None if cloud.relay_endpoint is not None else chosen
    if method is Method.DIRECT_SEND:
        return DeviceSettings(
            method,
            server,
            relay.port,
            Security.STARTTLS if tls12 is not Tri.NO else Security.NONE,
            False,
            AuthKind.NONE,
            None,
            sender,
            internal_only,
            reach,
            (),
            (
                *host_notes,
                tr("Leave authentication off."),
                tr("The sender address must be in one of your domains."),
            ),
            decided,
        )
    return DeviceSettings(
        method,
        server,
        relay.port,
        Security.STARTTLS if tls12 is not Tri.NO else Security.NONE,
        tls12 is not Tri.NO,
        AuthKind.NONE,
        None,
        sender,
        internal_only,
        reach,
        (),
        (
            *host_notes,
            tr("Leave authentication off: the connector recognises the office."),
            tr("The sender address must be in one of your domains."),
        ),
        decided,
    )


def _local_relay_settings(
    cloud: Cloud,
    sender: str,
    username: str | None,
    internal_only: bool,
    reach: str,
    access: LocalRelayAccess | None,
) -> DeviceSettings:
    """`username`: the device's relay user name when `access` is not known (a command
    line that gives the relay's address itself); never the mailbox's."""
    # The per-mailbox limits still apply: the relay submits as the device's mailbox.
    limits = (
        tr("{n} messages a minute").format(n=SMTP_AUTH_MESSAGES_PER_MINUTE),
        tr("{n} recipients a day").format(n=SMTP_AUTH_RECIPIENTS_PER_DAY),
    )
    onward = tr(
        "The relay sends the mail on to {host} as the sender's mailbox, signed in with "
        "Microsoft (OAuth); the device never talks to Microsoft 365 itself."
    ).format(host=cloud.smtp.host)
    if access is None:
        return DeviceSettings(
            Method.LOCAL_RELAY,
            "",
            SUBMISSION_PORT,
            Security.STARTTLS,
            True,
            AuthKind.PASSWORD,
            username,
            sender,
            internal_only,
            reach,
            limits,
            (
                tr(
                    "The relay is not set up for this device yet: add the device on the "
                    "Relay step, which gives its address, user name and password."
                ),
                onward,
            ),
        )
    notes = [
        tr(
            "Use the user name and password the relay made for this device, not the "
            "mailbox's own: they only open the relay, and only from this device's address."
        ),
        onward,
    ]
    if access.starttls:
        fingerprint = access.certificate_sha256 or tr("shown on the Relay step")
        notes.append(
            tr(
                "The relay uses its own certificate, made for its name and address. If the "
                "device checks server certificates, import the relay's CA certificate "
                "(relay-ca.pem in the relay's data folder on the relay's computer) into the "
                "device's trusted certificates and compare its SHA-256 fingerprint: "
                "{fingerprint}."
            ).format(fingerprint=fingerprint)
        )
    else:
        notes.append(
            tr(
                "Plain port without encryption, for a device without TLS 1.2: the password "
                "crosses the office network unencrypted. Use it on the office network only."
            )
        )
    return DeviceSettings(
        Method.LOCAL_RELAY,
        access.host,
        access.port,
        Security.STARTTLS if access.starttls else Security.NONE,
        access.starttls,
        AuthKind.PASSWORD,
        access.username,
        sender,
        internal_only,
        reach,
        limits,
        tuple(notes),
    )
