"""The record of one test message: every line of the SMTP conversation, and its outcome.

Pure data. The sender in `wizard.services.smtp_test` fills it in as the conversation
happens; the page, the CLI's JSON and the setup report read it. Lines are redacted
before they get here: no field of these objects may ever hold a password or token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from wizard.core.i18n import tr
from wizard.core.smtp_codes import ConnectionFailure, Verdict
from wizard.core.steps import STEP_TITLES

# Version of the JSON document `SmtpTestResult.to_json()` writes (CLI --json, report).
SCHEMA_VERSION = 1


class Direction(StrEnum):
    CLIENT = "client"  # what the wizard (playing the device) sent
    SERVER = "server"  # what the server answered
    TLS = "tls"  # the encryption: where it starts, version, cipher, certificate
    INFO = "info"  # what the wizard did or concluded between lines


# Markers in the copied/saved text form; fixed width so the columns line up.
MARKERS: dict[Direction, str] = {
    Direction.CLIENT: "C:",
    Direction.SERVER: "S:",
    Direction.TLS: "TLS",
    Direction.INFO: "--",
}


@dataclass(frozen=True)
class TranscriptLine:
    time: datetime  # timezone-aware
    direction: Direction
    text: str

    def to_text(self) -> str:
        stamp = self.time.astimezone().strftime("%H:%M:%S.%f")[:-3]
        return f"{stamp} {MARKERS[self.direction]:<3} {self.text}"

    def to_json(self) -> dict[str, str]:
        return {
            "time": self.time.isoformat(timespec="milliseconds"),
            "direction": str(self.direction),
            "text": self.text,
        }


class Transcript:
    """Lines in the order they happened; `on_line` sees each one as it is added."""

    def __init__(self, on_line: Callable[[TranscriptLine], None] | None = None) -> None:
        self._lines: list[TranscriptLine] = []
        self._on_line = on_line

    def add(self, time: datetime, direction: Direction, text: str) -> TranscriptLine:
        line = TranscriptLine(time, direction, text)
        self._lines.append(line)
        if self._on_line is not None:
            self._on_line(line)
        return line

    @property
    def lines(self) -> tuple[TranscriptLine, ...]:
        return tuple(self._lines)

    def to_text(self) -> str:
        return "\n".join(line.to_text() for line in self._lines) + ("\n" if self._lines else "")


@dataclass(frozen=True)
class TlsDetails:
    """What the encrypted connection looked like once it was set up."""

    version: str  # "TLSv1.3"
    cipher: str
    bits: int | None
    subject: str  # "CN=smtp.office365.com, O=Microsoft Corporation, ..."
    issuer: str
    not_after: datetime | None
    names: tuple[str, ...]  # subjectAltName DNS names and IP addresses
    # How the certificate was checked ("the system's trusted authorities", a CA file).
    trusted_by: str
    verified: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "cipher": self.cipher,
            "bits": self.bits,
            "subject": self.subject,
            "issuer": self.issuer,
            "not_after": self.not_after.isoformat() if self.not_after else None,
            "names": list(self.names),
            "trusted_by": self.trusted_by,
            "verified": self.verified,
        }


class Outcome(StrEnum):
    SENT = "sent"  # the server accepted the message (250 after DATA)
    REFUSED = "refused"  # the server answered with an error
    UNREACHABLE = "unreachable"  # no conversation: name, connection or TLS failed
    CANCELLED = "cancelled"
    # Troubleshooting (`envelope_only`): sign-in, sender and recipients were accepted,
    # and the conversation ended there; nothing was sent.
    CHECKED = "checked"


class Stage(StrEnum):
    """Where in the conversation the test ended."""

    CONNECT = "connect"
    BANNER = "banner"
    EHLO = "ehlo"
    STARTTLS = "starttls"
    AUTH = "auth"
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"
    DONE = "done"


STAGE_TITLES: dict[Stage, str] = {
    Stage.CONNECT: tr("connecting"),
    Stage.BANNER: tr("the server's greeting"),
    Stage.EHLO: tr("the greeting (EHLO)"),
    Stage.STARTTLS: tr("starting encryption (STARTTLS)"),
    Stage.AUTH: tr("signing in (AUTH)"),
    Stage.MAIL: tr("the sender (MAIL FROM)"),
    Stage.RCPT: tr("the recipient (RCPT TO)"),
    Stage.DATA: tr("the message (DATA)"),
    Stage.DONE: tr("done"),
}


@dataclass(frozen=True)
class ServerReply:
    stage: Stage
    code: int
    text: str  # lines joined with a space

    def to_json(self) -> dict[str, Any]:
        return {"stage": str(self.stage), "code": self.code, "text": self.text}


@dataclass(frozen=True)
class SendEndpoint:
    """Where and how the test connected: the values a device would be given."""

    host: str
    port: int
    security: str  # "starttls" or "none"
    tls_required: bool
    auth: str  # "none", "password" or "oauth"
    username: str | None

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "security": self.security,
            "tls_required": self.tls_required,
            "auth": self.auth,
            "username": self.username,
        }


@dataclass(frozen=True)
class SmtpTestResult:
    """Everything one test message produced; safe to show, save and export."""

    method: str
    endpoint: SendEndpoint
    sender: str
    recipients: tuple[str, ...]
    token: str  # the unique "RW-..." marker in the Subject and X-Relay-Wizard-Test
    message_id: str
    subject: str
    outcome: Outcome
    stage: Stage  # the last stage reached (DONE when sent)
    verdict: Verdict
    started: datetime
    finished: datetime
    lines: tuple[TranscriptLine, ...]
    failure: ConnectionFailure | None = None
    reply: ServerReply | None = None  # the server's refusal, or its final 250 when sent
    banner: str = ""
    capabilities: tuple[str, ...] = ()  # EHLO keywords of the last EHLO
    tls: TlsDetails | None = None
    auth_mechanism: str | None = None
    detail: str = ""  # technical detail of a connection failure (never a secret)

    @property
    def sent(self) -> bool:
        return self.outcome is Outcome.SENT

    @property
    def duration(self) -> float:
        return (self.finished - self.started).total_seconds()

    def transcript_text(self) -> str:
        return "\n".join(line.to_text() for line in self.lines) + ("\n" if self.lines else "")

    def to_json(self) -> dict[str, Any]:
        """The documented JSON document (schema_version 1) of `send-test --json`."""
        verdict = self.verdict
        return {
            "schema_version": SCHEMA_VERSION,
            "method": self.method,
            "endpoint": self.endpoint.to_json(),
            "sender": self.sender,
            "recipients": list(self.recipients),
            "token": self.token,
            "message_id": self.message_id,
            "subject": self.subject,
            "result": str(self.outcome),
            "stage": str(self.stage),
            "failure": str(self.failure) if self.failure else None,
            "reply": self.reply.to_json() if self.reply else None,
            "started": self.started.isoformat(timespec="milliseconds"),
            "finished": self.finished.isoformat(timespec="milliseconds"),
            "duration_seconds": round(self.duration, 3),
            "banner": self.banner,
            "capabilities": list(self.capabilities),
            "tls": self.tls.to_json() if self.tls else None,
            "auth_mechanism": self.auth_mechanism,
            "detail": self.detail,
            "verdict": {
                "key": verdict.key,
                "title": verdict.title,
                "explanation": verdict.explanation,
                "fix": verdict.fix,
                "step": str(verdict.step),
                "step_title": STEP_TITLES[verdict.step],
                "retryable": verdict.retryable,
            },
            "transcript": [line.to_json() for line in self.lines],
        }
