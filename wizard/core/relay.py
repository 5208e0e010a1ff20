"""The local relay's configuration and its rules, pure (no I/O).

The relay is a small SMTP server on an always-on office computer for devices that can
send with a password but not with OAuth. It accepts mail only from the devices it was
given (their IP address *and* their own user name and password *and* their own sender
address), keeps each message durably, and sends it onward to the cloud's submission
host with XOAUTH2 as the device's mailbox (M365-FACTS.md, "OAuth for SMTP").

    config = RelayConfig(site="Contoso HQ", listen_address="192.168.1.20",
                         hostname="relay.contoso.lan", devices=(RelayDevice(...),),
                         onward=OnwardTarget.from_cloud(cloud, tenant_id, client_id))
    problems = validate(config)          # plain-words problems, empty when usable
    data = config.to_dict()              # the relay's JSON file (no secrets in it)

Why XOAUTH2 to the submission host and not Graph `sendMail`: SMTP submission takes the
device's message as it is (headers, attachments, MIME) and answers 250 only when
Exchange has accepted it, with the usual 4xx/5xx codes that tell a retry from a
refusal; `sendMail` answers 202 (queued, not delivered) and would need the message
rebuilt as JSON or sent as base64 MIME with a 4 MB request limit per call. The delegated
scope is SMTP.Send on Office 365 Exchange Online, the same app and consent as the
wizard's OAuth test.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from wizard.core.i18n import tr
from wizard.core.validation import check_email, check_port

SCHEMA_VERSION = 1
SUBMISSION_PORT = 587
PLAIN_PORT = 25

# Exchange Online's limits per mailbox (M365-FACTS.md: 30 messages a minute and
# 10,000 recipients a day for SMTP AUTH client submission; Microsoft Learn "Exchange
# Online limits": 500 recipients per message, 35 MB default message size).
EXCHANGE_MESSAGES_PER_MINUTE = 30
EXCHANGE_RECIPIENTS_PER_DAY = 10_000
EXCHANGE_RECIPIENTS_PER_MESSAGE = 500
EXCHANGE_MAX_MESSAGE_BYTES = 35 * 1024 * 1024

# Secret names in the keyring (SecretStore purposes; the site is the relay's site).
DEVICE_PASSWORD_PURPOSE = "relay-device-password:{username}"
REFRESH_TOKEN_PURPOSE = "relay-refresh-token:{mailbox}"

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_HOSTNAME_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def device_password_purpose(username: str) -> str:
    return DEVICE_PASSWORD_PURPOSE.format(username=username.lower())


def refresh_token_purpose(mailbox: str) -> str:
    return REFRESH_TOKEN_PURPOSE.format(mailbox=mailbox.lower())


# --- the model ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RelayDevice:
    """One device the relay accepts: from this IP, with this user name, as this sender.

    The sender is the device's own mailbox in Microsoft 365: the relay signs in to the
    submission host as that mailbox, so Exchange sees the mailbox send its own mail
    (no Send As needed). The password lives in the keyring, never here.
    """

    name: str
    ip: str
    username: str
    sender: str

    @property
    def mailbox(self) -> str:
        return self.sender.lower()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ip": self.ip, "username": self.username, "sender": self.sender}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RelayDevice:
        return cls(
            name=str(data.get("name", "")),
            ip=str(data.get("ip", "")),
            username=str(data.get("username", "")),
            sender=str(data.get("sender", "")),
        )


@dataclass(frozen=True)
class RelayLimits:
    """What the relay accepts and how it paces the onward submission."""

    # Onward submissions per mailbox per minute (Exchange's limit; more waits in the queue).
    messages_per_minute: int = EXCHANGE_MESSAGES_PER_MINUTE
    # Recipients per mailbox per rolling 24 hours; beyond it the relay refuses (452).
    recipients_per_day: int = EXCHANGE_RECIPIENTS_PER_DAY
    recipients_per_message: int = EXCHANGE_RECIPIENTS_PER_MESSAGE
    max_message_bytes: int = EXCHANGE_MAX_MESSAGE_BYTES
    # A device whose mail waits in the queue beyond this gets 452 until it drains, so
    # a runaway device cannot fill the disk.
    max_queued_per_device: int = 1000
    # Transient failures are retried for this long before the message fails.
    give_up_after_seconds: int = 2 * 24 * 3600

    def to_dict(self) -> dict[str, Any]:
        return {
            "messages_per_minute": self.messages_per_minute,
            "recipients_per_day": self.recipients_per_day,
            "recipients_per_message": self.recipients_per_message,
            "max_message_bytes": self.max_message_bytes,
            "max_queued_per_device": self.max_queued_per_device,
            "give_up_after_seconds": self.give_up_after_seconds,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RelayLimits:
        default = cls()
        values: dict[str, int] = {}
        for key, fallback in default.to_dict().items():
            raw = data.get(key, fallback)
            values[key] = raw if isinstance(raw, int) and not isinstance(raw, bool) else fallback
        return cls(**values)


@dataclass(frozen=True)
class OnwardTarget:
    """Where and how the relay sends onward: the cloud's submission host with XOAUTH2.

    Copied from the Cloud when the relay is set up, so the relay (a service without
    the wizard) knows its endpoints; the sandbox's loopback ports are just other values.
    """

    cloud: str
    tenant: str
    client_id: str
    authority_host: str
    smtp_host: str
    smtp_port: int
    smtp_scope: str
    # Extra CA file to trust (the sandbox's own CA); None: the system's store.
    ca_bundle: str | None = None

    @classmethod
    def from_cloud(cls, cloud: Any, tenant: str, client_id: str) -> OnwardTarget:
        """From a wizard.core.clouds.Cloud (typed Any to keep this module light)."""
        return cls(
            cloud=str(cloud.id.value),
            tenant=tenant,
            client_id=client_id,
            authority_host=str(cloud.authority_host),
            smtp_host=str(cloud.smtp.host),
            smtp_port=int(cloud.smtp.port),
            smtp_scope=str(cloud.smtp_oauth_scope),
            ca_bundle=cloud.ca_bundle,
        )

    @property
    def authority(self) -> str:
        return f"{self.authority_host.rstrip('/')}/{self.tenant}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "cloud": self.cloud,
            "tenant": self.tenant,
            "client_id": self.client_id,
            "authority_host": self.authority_host,
            "smtp_host": self.smtp_host,
            "smtp_port": self.smtp_port,
            "smtp_scope": self.smtp_scope,
            "ca_bundle": self.ca_bundle,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OnwardTarget:
        ca = data.get("ca_bundle")
        return cls(
            cloud=str(data.get("cloud", "")),
            tenant=str(data.get("tenant", "")),
            client_id=str(data.get("client_id", "")),
            authority_host=str(data.get("authority_host", "")),
            smtp_host=str(data.get("smtp_host", "")),
            smtp_port=_int(data.get("smtp_port"), SUBMISSION_PORT),
            smtp_scope=str(data.get("smtp_scope", "")),
            ca_bundle=str(ca) if ca else None,
        )


@dataclass(frozen=True)
class RelayConfig:
    """Everything the relay needs to run; no secrets (those are in the keyring).

    `listen_address` is one LAN address of this computer, never all interfaces unless
    `allow_all_interfaces` is set on purpose. Port 587 always offers STARTTLS and
    accepts AUTH only after it; `plain_port` (usually 25) is opened only when the
    technician opts in for devices that cannot do TLS, and still requires AUTH.
    """

    site: str
    listen_address: str
    hostname: str
    onward: OnwardTarget
    devices: tuple[RelayDevice, ...] = ()
    submission_port: int = SUBMISSION_PORT
    plain_port: int | None = None
    # Empty: the relay makes its own certificate for hostname + listen_address.
    cert_file: str = ""
    key_file: str = ""
    # Empty: the relay's data folder (services decide where that is).
    data_dir: str = ""
    # Where to send a short report when a message fails for good (optional).
    admin_report_address: str | None = None
    limits: RelayLimits = field(default_factory=RelayLimits)
    allow_all_interfaces: bool = False

    def device_for_username(self, username: str) -> RelayDevice | None:
        wanted = username.strip().lower()
        return next((d for d in self.devices if d.username.lower() == wanted), None)

    def devices_at(self, ip: str) -> tuple[RelayDevice, ...]:
        normal = _normal_ip(ip)
        return tuple(d for d in self.devices if _normal_ip(d.ip) == normal)

    def with_device(self, device: RelayDevice) -> RelayConfig:
        """This config with `device` added (or replacing the one with its user name)."""
        others = tuple(d for d in self.devices if d.username.lower() != device.username.lower())
        return replace(self, devices=(*others, device))

    def without_device(self, username: str) -> RelayConfig:
        wanted = username.lower()
        return replace(self, devices=tuple(d for d in self.devices if d.username != wanted))

    @property
    def mailboxes(self) -> tuple[str, ...]:
        return tuple(sorted({d.mailbox for d in self.devices}))

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "site": self.site,
            "listen_address": self.listen_address,
            "hostname": self.hostname,
            "submission_port": self.submission_port,
            "plain_port": self.plain_port,
            "cert_file": self.cert_file,
            "key_file": self.key_file,
            "data_dir": self.data_dir,
            "admin_report_address": self.admin_report_address,
            "allow_all_interfaces": self.allow_all_interfaces,
            "limits": self.limits.to_dict(),
            "onward": self.onward.to_dict(),
            "devices": [d.to_dict() for d in self.devices],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RelayConfig:
        """Read a config file's JSON; unknown keys are ignored, validate() judges the rest."""
        devices = data.get("devices")
        plain = data.get("plain_port")
        report = data.get("admin_report_address")
        limits = data.get("limits")
        onward = data.get("onward")
        return cls(
            site=str(data.get("site", "")),
            listen_address=str(data.get("listen_address", "")),
            hostname=str(data.get("hostname", "")),
            onward=OnwardTarget.from_dict(onward if isinstance(onward, dict) else {}),
            devices=tuple(RelayDevice.from_dict(d) for d in devices or [] if isinstance(d, dict))
            if isinstance(devices, list)
            else (),
            submission_port=_int(data.get("submission_port"), SUBMISSION_PORT),
            plain_port=_int(plain, PLAIN_PORT) if plain is not None else None,
            cert_file=str(data.get("cert_file") or ""),
            key_file=str(data.get("key_file") or ""),
            data_dir=str(data.get("data_dir") or ""),
            admin_report_address=str(report) if report else None,
            limits=RelayLimits.from_dict(limits if isinstance(limits, dict) else {}),
            allow_all_interfaces=data.get("allow_all_interfaces") is True,
        )


def _int(value: Any, fallback: int) -> int:
    if isinstance(value, bool):
        return fallback
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return fallback


def _normal_ip(text: str) -> str:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return text.strip().lower()
    # An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


# --- validation -------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One reason the config cannot be used as it is; `field` names what to fix."""

    field: str
    message: str


def check_listen_address(text: str, *, allow_all: bool = False) -> Problem | None:
    raw = text.strip()
    if not raw:
        return Problem(
            "listen_address",
            tr("Choose the address of this computer on the devices' network, e.g. 192.168.1.20."),
        )
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return Problem(
            "listen_address",
            tr("'{text}' is not an IP address of this computer.").format(text=raw),
        )
    if address.is_unspecified and not allow_all:
        return Problem(
            "listen_address",
            tr(
                "The relay does not listen on every network of this computer by default: "
                "choose the one address the devices reach it on."
            ),
        )
    if address.is_multicast:
        return Problem("listen_address", tr("A multicast address cannot be listened on."))
    return None


def check_device_ip(text: str) -> Problem | None:
    raw = text.strip()
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return Problem(
            "ip",
            tr(
                "'{text}' is not an IP address. Enter the device's own address, e.g. 192.168.1.50."
            ).format(text=raw),
        )
    if address.is_unspecified or address.is_multicast:
        return Problem("ip", tr("Enter the device's own address, not a network-wide one."))
    if not (address.is_private or address.is_loopback or address.is_link_local):
        return Problem(
            "ip",
            tr(
                "{ip} is a public address. The relay is for devices on the office network; "
                "it never accepts mail from the internet."
            ).format(ip=raw),
        )
    return None


def check_username(text: str) -> Problem | None:
    if not _USERNAME.match(text):
        return Problem(
            "username",
            tr(
                "A device's user name is 1-64 small letters, digits, dots, dashes or "
                "underscores, e.g. scanner-hq."
            ),
        )
    return None


def check_hostname(text: str) -> Problem | None:
    raw = text.strip().lower().rstrip(".")
    if not raw:
        return Problem("hostname", tr("Enter this computer's name on the network."))
    labels = raw.split(".")
    if len(raw) > 253 or not all(_HOSTNAME_LABEL.match(label) for label in labels):
        return Problem(
            "hostname", tr("'{text}' is not a valid computer name.").format(text=text.strip())
        )
    return None


def check_device(device: RelayDevice) -> list[Problem]:
    problems: list[Problem] = []
    if not device.name.strip():
        problems.append(Problem("name", tr("Give the device a name, e.g. 'Scanner, 2nd floor'.")))
    ip = check_device_ip(device.ip)
    if ip:
        problems.append(ip)
    user = check_username(device.username)
    if user:
        problems.append(user)
    sender = check_email(device.sender)
    if not sender.ok:
        problems.append(Problem("sender", sender.error))
    return problems


def validate(config: RelayConfig) -> list[Problem]:
    """Everything that stops this config from running safely, in plain words."""
    problems: list[Problem] = []
    if not config.site.strip():
        problems.append(Problem("site", tr("Name the site the relay serves.")))
    listen = check_listen_address(config.listen_address, allow_all=config.allow_all_interfaces)
    if listen:
        problems.append(listen)
    host = check_hostname(config.hostname)
    if host:
        problems.append(host)
    for name, port in (
        ("submission_port", config.submission_port),
        ("plain_port", config.plain_port),
    ):
        if port is None:
            continue
        checked = check_port(port)
        if not checked.ok:
            problems.append(Problem(name, checked.error))
    if config.plain_port is not None and config.plain_port == config.submission_port:
        problems.append(
            Problem("plain_port", tr("The plain port must differ from the STARTTLS port."))
        )
    if bool(config.cert_file) != bool(config.key_file):
        problems.append(
            Problem("cert_file", tr("Give both the certificate file and its key file, or neither."))
        )
    onward = config.onward
    if not (onward.tenant and onward.client_id and onward.smtp_host and onward.authority_host):
        problems.append(
            Problem(
                "onward",
                tr(
                    "The relay does not know where to send onward: sign in to the tenant and "
                    "choose the app registration in the wizard's Relay step."
                ),
            )
        )
    elif not onward.authority_host.startswith("https://"):
        problems.append(Problem("onward", tr("The sign-in address must start with https://.")))
    if config.admin_report_address:
        report = check_email(config.admin_report_address)
        if not report.ok:
            problems.append(Problem("admin_report_address", report.error))
    seen: dict[str, str] = {}
    for device in config.devices:
        for problem in check_device(device):
            problems.append(Problem(f"devices.{device.username}.{problem.field}", problem.message))
        key = device.username.lower()
        if key in seen:
            problems.append(
                Problem(
                    f"devices.{device.username}.username",
                    tr("Two devices share the user name '{name}'; each needs its own.").format(
                        name=device.username
                    ),
                )
            )
        seen[key] = device.name
    limits = config.limits
    if not 1 <= limits.messages_per_minute <= 10_000:
        problems.append(Problem("limits", tr("Messages per minute must be between 1 and 10,000.")))
    if not 1 <= limits.recipients_per_message <= EXCHANGE_RECIPIENTS_PER_MESSAGE:
        problems.append(
            Problem(
                "limits",
                tr("Recipients per message must be between 1 and {max}.").format(
                    max=EXCHANGE_RECIPIENTS_PER_MESSAGE
                ),
            )
        )
    if limits.max_message_bytes < 1024:
        problems.append(Problem("limits", tr("The largest message size is too small.")))
    return problems


# --- the relay's decisions (the listener asks these) --------------------------------------


class Refusal(StrEnum):
    """Why the relay refuses a client or a command; each has its SMTP reply."""

    CLIENT_NOT_ALLOWED = "client-not-allowed"
    AUTH_REQUIRED = "auth-required"
    TLS_REQUIRED = "tls-required"
    BAD_CREDENTIALS = "bad-credentials"
    WRONG_COMPUTER = "wrong-computer"
    SENDER_NOT_ALLOWED = "sender-not-allowed"
    FROM_HEADER_NOT_ALLOWED = "from-header-not-allowed"
    TOO_MANY_RECIPIENTS = "too-many-recipients"
    DAILY_LIMIT = "daily-limit"
    QUEUE_FULL = "queue-full"
    TOO_BIG = "too-big"
    BAD_RECIPIENT = "bad-recipient"


# The replies follow RFC 3463's enhanced codes; the texts say what to fix on the
# device, as the relay's own log and the Troubleshoot step show them too.
REPLIES: dict[Refusal, str] = {
    Refusal.CLIENT_NOT_ALLOWED: "554 5.7.1 This relay does not accept mail from {ip}; "
    "only the devices it was set up for may send",
    Refusal.AUTH_REQUIRED: "530 5.7.0 Authentication required: sign in with the device's "
    "relay user name and password",
    Refusal.TLS_REQUIRED: "538 5.7.11 Encryption required: use STARTTLS before AUTH",
    Refusal.BAD_CREDENTIALS: "535 5.7.8 Authentication credentials invalid",
    Refusal.WRONG_COMPUTER: "535 5.7.8 This user name may not sign in from {ip}",
    Refusal.SENDER_NOT_ALLOWED: "550 5.7.1 Sender {sender} is not allowed: this device may "
    "send only as {allowed}",
    Refusal.FROM_HEADER_NOT_ALLOWED: "550 5.7.1 The From header {sender} is not allowed: "
    "this device may send only as {allowed}",
    Refusal.TOO_MANY_RECIPIENTS: "452 4.5.3 Too many recipients (at most {limit} per message)",
    Refusal.DAILY_LIMIT: "452 4.5.3 Daily recipient limit of {limit} reached for {mailbox}; "
    "try again later",
    Refusal.QUEUE_FULL: "452 4.3.1 The relay holds too many messages of this device; "
    "try again later",
    Refusal.TOO_BIG: "552 5.3.4 Message too big (at most {limit} bytes)",
    Refusal.BAD_RECIPIENT: "501 5.1.3 Bad recipient address syntax",
}


def reply(refusal: Refusal, **values: object) -> str:
    return REPLIES[refusal].format(**values)


def client_allowed(config: RelayConfig, ip: str) -> bool:
    """Only addresses of configured devices may even talk to the relay."""
    return bool(config.devices_at(ip))


def authenticate(
    config: RelayConfig, ip: str, username: str, password_ok: bool
) -> tuple[RelayDevice | None, Refusal | None]:
    """The device that signed in, or why not. `password_ok` is the caller's
    constant-time comparison with the keyring's password (this module holds no secrets)."""
    device = config.device_for_username(username)
    if device is None or not password_ok:
        return None, Refusal.BAD_CREDENTIALS
    if _normal_ip(device.ip) != _normal_ip(ip):
        return None, Refusal.WRONG_COMPUTER
    return device, None


def sender_allowed(device: RelayDevice, sender: str) -> bool:
    return sender.strip().lower() == device.mailbox


# --- onward outcomes and the retry schedule ------------------------------------------------


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"  # transient: network down, 4xx, token refresh failing
    NEEDS_SIGN_IN = "needs-sign-in"  # the mailbox's sign-in is gone: hold, do not drop
    HELD = "held"  # the tenant refuses the mailbox (SMTP AUTH off): hold until fixed
    FAILED = "failed"  # permanent: 5xx for this message


def classify_reply(code: int, text: str = "") -> Outcome:
    """What an onward SMTP reply means for the queued message.

    535 5.7.3 on AUTH is the token (expired or revoked): a new token may fix it, so
    it never fails the message (M365-FACTS.md error table). 5.7.139 (SMTP AUTH off for
    the mailbox or tenant) needs an admin's fix, not a dropped message.
    """
    if 200 <= code < 300:
        return Outcome.DELIVERED
    if "5.7.139" in text:
        return Outcome.HELD
    if code == 535:
        return Outcome.NEEDS_SIGN_IN
    if 400 <= code < 500:
        return Outcome.RETRY
    return Outcome.FAILED


# Seconds before attempt n+1 after n failed attempts (1-based): quick at first for a
# blip, then slower, capped at 15 minutes (as mail servers do, RFC 5321 4.5.4.1 asks
# for at least 30 minutes between tries to one destination; ours is one host we own
# the relationship with and a device waits for its scan).
_BACKOFF = (5, 15, 30, 60, 120, 300, 600, 900)


def backoff_seconds(attempts: int) -> float:
    if attempts <= 0:
        return 0.0
    return float(_BACKOFF[min(attempts, len(_BACKOFF)) - 1])
