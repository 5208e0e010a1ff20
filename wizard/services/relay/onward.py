"""Onward submission: STARTTLS to the cloud's submission host, AUTH XOAUTH2 as the
device's mailbox, then the message exactly as the device sent it.

SASL XOAUTH2 as M365-FACTS.md and Microsoft Learn ("Authenticate an IMAP, POP or SMTP
connection using OAuth") describe it: base64 of `user=<mailbox>^Aauth=Bearer
<token>^A^A`; 235 2.7.0 is success, 535 5.7.3 a refused token. On a refusal the server
may first answer 334 with a base64 JSON error; the client then sends an empty line.

One connection per mailbox is kept open between messages (RSET between them), so a
burst of scans costs one TLS handshake and one AUTH, not one each. Every socket
operation has a timeout; nothing here waits unbounded.
"""

from __future__ import annotations

import base64
import logging
import smtplib
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

import certifi

from wizard.core.relay import OnwardTarget, Outcome, classify_reply

log = logging.getLogger(__name__)

TIMEOUT = 60.0
# A kept connection unused this long is closed (Exchange drops idle ones too).
IDLE_SECONDS = 30.0


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    reply: str  # the server's reply, or what went wrong, for the log and the status
    refused: tuple[tuple[str, str], ...] = ()  # (recipient, reply) refused for good


def xoauth2(mailbox: str, token: str) -> str:
    return base64.b64encode(f"user={mailbox}\x01auth=Bearer {token}\x01\x01".encode()).decode()


def _reply(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return f"{code} {' '.join(text.split())}"[:500]


class _Connection:
    def __init__(self, smtp: smtplib.SMTP, token: str) -> None:
        self.smtp = smtp
        self.token = token
        self.last_used = time.monotonic()


class Submitter:
    """Sends queued messages onward; one kept connection per mailbox."""

    def __init__(
        self,
        target: OnwardTarget,
        *,
        local_hostname: str = "relay",
        timeout: float = TIMEOUT,
    ) -> None:
        self.target = target
        self.local_hostname = local_hostname
        self.timeout = timeout
        self._context = ssl.create_default_context(cafile=target.ca_bundle)
        if not target.ca_bundle:
            # Also Mozilla's list (certifi, which requests brings): a frozen app on macOS
            # has no OpenSSL store of its own (as the SMTP test does, smtp_wire.py).
            self._context.load_verify_locations(cafile=certifi.where())
        self._context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._connections: dict[str, _Connection] = {}

    def close(self, mailbox: str | None = None) -> None:
        for key in [mailbox] if mailbox else list(self._connections):
            conn = self._connections.pop(key, None) if key else None
            if conn is not None:
                try:
                    conn.smtp.quit()
                except (smtplib.SMTPException, OSError):
                    conn.smtp.close()

    def close_idle(self) -> None:
        now = time.monotonic()
        for mailbox, conn in list(self._connections.items()):
            if now - conn.last_used > IDLE_SECONDS:
                self.close(mailbox)

    def _open(self, mailbox: str, token: str) -> _Connection | Result:
        # Host given to the constructor: STARTTLS checks the certificate against it.
        smtp = smtplib.SMTP(
            self.target.smtp_host,
            self.target.smtp_port,
            timeout=self.timeout,
            local_hostname=self.local_hostname,
        )
        try:
            if smtp.sock is not None:
                # A message goes as several TLS records; with Nagle the short last one
                # waits for the server's delayed ACK (about 40 ms a message on Linux).
                smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            smtp.ehlo()
            smtp.starttls(context=self._context)
            smtp.ehlo()
            code, message = smtp.docmd("AUTH", "XOAUTH2 " + xoauth2(mailbox, token))
            if code == 334:
                # The error comes as a base64 JSON challenge; an empty answer ends it.
                code, message = smtp.docmd("")
        except BaseException:
            smtp.close()
            raise
        if code != 235:
            smtp.close()
            return Result(classify_reply(code, _reply(code, message)), _reply(code, message))
        return _Connection(smtp, token)

    def send(
        self,
        mailbox: str,
        sender: str,
        recipients: list[str],
        content: bytes,
        token: Callable[[], str],
    ) -> Result:
        """Submit one message; the outcome says delivered, retry, hold or failed.

        `token()` gives the mailbox's access token (it may raise the token errors,
        which the caller turns into a hold or a retry).
        """
        try:
            conn = self._connections.get(mailbox)
            access = token()
            if conn is not None and conn.token != access:
                self.close(mailbox)
                conn = None
            if conn is not None:
                try:
                    conn.smtp.rset()
                except (smtplib.SMTPException, OSError):
                    self.close(mailbox)
                    conn = None
            if conn is None:
                opened = self._open(mailbox, access)
                if isinstance(opened, Result):
                    return opened
                conn = opened
                self._connections[mailbox] = conn
            result = self._transaction(conn.smtp, sender, recipients, content)
            conn.last_used = time.monotonic()
            if result.outcome is not Outcome.DELIVERED:
                self.close(mailbox)
            return result
        except ssl.SSLCertVerificationError as exc:
            self.close(mailbox)
            return Result(
                Outcome.RETRY, f"certificate of {self.target.smtp_host} not trusted: {exc}"
            )
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError) as exc:
            self.close(mailbox)
            return Result(Outcome.RETRY, f"connection lost: {exc}"[:300])
        except smtplib.SMTPResponseException as exc:
            self.close(mailbox)
            reply = _reply(exc.smtp_code, exc.smtp_error)
            return Result(classify_reply(exc.smtp_code, reply), reply)
        except TimeoutError:
            self.close(mailbox)
            return Result(Outcome.RETRY, f"{self.target.smtp_host} did not answer in time")
        except (OSError, smtplib.SMTPException) as exc:
            self.close(mailbox)
            return Result(
                Outcome.RETRY,
                f"{self.target.smtp_host}:{self.target.smtp_port} unreachable: "
                f"{type(exc).__name__}: {exc}"[:300],
            )

    @staticmethod
    def _transaction(
        smtp: smtplib.SMTP, sender: str, recipients: list[str], content: bytes
    ) -> Result:
        code, message = smtp.mail(sender)
        if code != 250:
            return Result(classify_reply(code, _reply(code, message)), _reply(code, message))
        accepted: list[str] = []
        refused: list[tuple[str, str]] = []
        transient: str = ""
        for rcpt in recipients:
            code, message = smtp.rcpt(rcpt)
            if code in (250, 251):
                accepted.append(rcpt)
            elif 400 <= code < 500:
                transient = _reply(code, message)
            else:
                refused.append((rcpt, _reply(code, message)))
        if transient:
            # Send nothing now, so a later attempt cannot send twice to the ones that
            # were accepted this time.
            smtp.rset()
            return Result(Outcome.RETRY, transient)
        if not accepted:
            return Result(Outcome.FAILED, refused[0][1] if refused else "no recipients")
        code, message = smtp.data(content)
        reply = _reply(code, message)
        if code != 250:
            return Result(classify_reply(code, reply), reply)
        return Result(Outcome.DELIVERED, reply, tuple(refused))
