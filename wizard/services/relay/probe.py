"""A test message through the relay, sent the way the device will send it.

From the device's point of view: connect to the relay's address and port, STARTTLS
(port 587) or not (the opted-in plain port), AUTH with the device's relay user name
and password, MAIL FROM its own address. The relay's refusals come back as typed
errors carrying its own reply, which already says what to fix.
"""

from __future__ import annotations

import secrets
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate

from wizard.core.errors import NetworkError, PermissionDenied, ServiceError, TlsFailure
from wizard.core.i18n import tr
from wizard.core.relay import RelayConfig, RelayDevice

TIMEOUT = 30.0


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = (
        exc.smtp_error.decode("utf-8", "replace")
        if isinstance(exc.smtp_error, bytes)
        else str(exc.smtp_error)
    )
    return f"{exc.smtp_code} {text}"


@dataclass(frozen=True)
class RelayTestResult:
    """What the Relay step shows and traces (Get-MessageTraceV2 by sender + Message-ID)."""

    reply: str  # the relay's "250 2.0.0 Queued as <id>"
    queue_id: str
    message_id: str
    token: str  # in the subject, as the Test page's messages carry one
    sender: str
    sent_at: datetime


def test_message(
    device: RelayDevice, to: str, hostname: str, token: str | None = None
) -> EmailMessage:
    """The test message as the device would send it; with `token`, its subject and
    Message-ID carry it so the message trace can find it (see RelayTestResult)."""
    domain = device.sender.rpartition("@")[2] or hostname
    message = EmailMessage()
    message["From"] = device.sender
    message["To"] = to
    subject = tr("Relay Wizard: test message through the office relay")
    message["Subject"] = f"{subject} {token}" if token else subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = f"<{token or 'relay-test'}.{secrets.token_hex(6)}@{domain}>"
    message.set_content(
        tr(
            "This message went from {device} through the relay on {host} to Microsoft 365, "
            "the way the device's own mail will go."
        ).format(device=device.name or device.username, host=hostname)
    )
    return message


def send_through_relay(
    config: RelayConfig,
    device: RelayDevice,
    password: str,
    *,
    to: str,
    host: str | None = None,
    port: int | None = None,
    starttls: bool = True,
    ca_file: str | None = None,
    source_address: tuple[str, int] | None = None,
    timeout: float = TIMEOUT,
    token: str | None = None,
) -> RelayTestResult:
    """Send one test message through the relay as `device`; returns the relay's 250
    reply, its queue id and the message's id for the trace.

    `ca_file` is the relay's CA (relay-ca.pem) to verify the relay as a careful device
    would; the name checked is the address connected to (`host`, by default the
    listen address, which the relay's certificate carries). `token` (default: a short
    random one) goes into the subject and Message-ID: the wizard passes its RW- token
    so the message trace finds the message onward."""
    host = host or config.listen_address
    port = port or (config.submission_port if starttls else (config.plain_port or 25))
    token = token or secrets.token_hex(4).upper()
    message = test_message(device, to, config.hostname, token)
    message_id = str(message["Message-ID"])
    sent_at = datetime.now(UTC)
    try:
        with smtplib.SMTP(
            host, port, timeout=timeout, local_hostname="relay-test", source_address=source_address
        ) as smtp:
            smtp.ehlo()
            if starttls:
                context = ssl.create_default_context(cafile=ca_file)
                if ca_file is None:
                    # Like most printers: encrypt, but accept the relay's own certificate.
                    context.check_hostname = False
                    context.verify_mode = ssl.CERT_NONE
                smtp.starttls(context=context)
                smtp.ehlo()
            smtp.login(device.username, password)
            code, text = smtp.mail(device.sender)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, text, device.sender)
            code, text = smtp.rcpt(to)
            if code not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({to: (code, text)})
            code, text = smtp.data(message.as_bytes())
            if code != 250:
                raise smtplib.SMTPDataError(code, text)
            answer = f"{code} {text.decode('utf-8', 'replace')}"
    except ssl.SSLError as exc:
        raise TlsFailure(
            tr("The relay's certificate was not accepted."),
            tr("A device that checks certificates needs the relay's CA (relay-ca.pem)."),
            tr("Install relay-ca.pem on the device, or let it accept the relay's certificate."),
            detail=f"{type(exc).__name__}: {exc}",
        ) from None
    except smtplib.SMTPAuthenticationError as exc:
        raise PermissionDenied(
            tr("The relay refused the device's user name or password."),
            tr("The relay answered: {reply}").format(reply=_reply(exc)),
            tr("Type the user name and password from the device's sheet again."),
            detail=_reply(exc),
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        replies = "; ".join(
            f"{r}: {c} {m.decode('utf-8', 'replace')}" for r, (c, m) in exc.recipients.items()
        )
        raise ServiceError(
            tr("The relay refused the recipient."), tr("It answered: {reply}").format(reply=replies)
        ) from None
    except smtplib.SMTPResponseException as exc:
        raise ServiceError(
            tr("The relay refused the test message."),
            tr("It answered: {reply}").format(reply=_reply(exc)),
            detail=_reply(exc),
        ) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise NetworkError(
            tr("The relay at {host}:{port} cannot be reached.").format(host=host, port=port),
            tr("It is not running, or a firewall on this computer blocks the port."),
            tr("Start the relay (relay-wizard relay status tells), and allow the port."),
            detail=f"{type(exc).__name__}: {exc}",
        ) from None
    queue_id = answer.rsplit(" ", 1)[-1] if "Queued as" in answer else ""
    return RelayTestResult(answer, queue_id, message_id, token, device.sender, sent_at)
