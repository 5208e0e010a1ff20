"""The exact values a device needs for a method: what goes on the printer's web page."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from wizard.core.advisor import SMTP_AUTH_MESSAGES_PER_MINUTE, SMTP_AUTH_RECIPIENTS_PER_DAY
from wizard.core.clouds import Cloud, Endpoint
from wizard.core.i18n import tr
from wizard.core.methods import METHOD_INFO, Method, Tri


class Security(StrEnum):
    STARTTLS = "starttls"
    NONE = "none"


class AuthKind(StrEnum):
    NONE = "none"
    PASSWORD = "password"
    OAUTH = "oauth"


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
    mx_host: str | None = None,
    tls12: Tri = Tri.YES,
) -> DeviceSettings:
    """Values for one device.

    mx_host: the tenant's MX host for the domain when known (from Graph); computed in
    the classic form otherwise. tls12: whether the device has TLS 1.2; a device without
    it is sent to the legacy endpoint where the cloud has one.
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
    if method is Method.HVE:
        if cloud.hve_smtp is None:
            raise ValueError(f"{cloud.id} has no High Volume Email endpoint")
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
    relay = cloud.relay_target(mx_host or cloud.classic_mx_host(domain))
    if method is Method.DIRECT_SEND:
        return DeviceSettings(
            method,
            relay.host,
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
                tr("Leave authentication off."),
                tr("The sender address must be in one of your domains."),
            ),
        )
    return DeviceSettings(
        method,
        relay.host,
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
            tr("Leave authentication off: the connector recognises the office."),
            tr("The sender address must be in one of your domains."),
        ),
    )
