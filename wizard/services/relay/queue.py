"""The relay's durable queue: one file per message, on disk before the device hears 250.

    queue/<id>.msg      envelope (one JSON line) + the message exactly as received
    queue/<id>.state    attempts, next attempt, last error (rewritten atomically)
    failed/<id>.msg     a message that failed for good, with failed/<id>.reason.json
    delivered.log       one line per delivered message (id, time, reply; no content)

A message is written to a temporary file, fsynced, renamed into place and the folder
fsynced, and only then does the relay answer 250: a power cut after the 250 cannot
lose it. Delivered messages are removed (rename-free unlink, then the folder fsynced)
the moment the cloud answers 250, so a restart does not send them again. The one
window left is between the cloud's 250 and that unlink (microseconds); a crash exactly
there sends the message again on restart rather than lose it (at least once).
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

QUEUE = "queue"
FAILED = "failed"
DELIVERED_LOG = "delivered.log"
MSG = ".msg"
STATE = ".state"
# An envelope line is small; a longer first line is not one of ours.
MAX_ENVELOPE_BYTES = 256 * 1024


@dataclass
class Envelope:
    id: str
    username: str
    mailbox: str
    sender: str
    recipients: list[str]
    client_ip: str
    received_at: float
    size: int = 0
    # A report to the admin about another message (never reported on itself).
    report: bool = False

    def to_json(self) -> bytes:
        return json.dumps(self.__dict__, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_json(cls, line: bytes) -> Envelope:
        data: dict[str, Any] = json.loads(line)
        return cls(
            id=str(data["id"]),
            username=str(data.get("username", "")),
            mailbox=str(data["mailbox"]),
            sender=str(data["sender"]),
            recipients=[str(r) for r in data["recipients"]],
            client_ip=str(data.get("client_ip", "")),
            received_at=float(data.get("received_at", 0.0)),
            size=int(data.get("size", 0)),
            report=bool(data.get("report", False)),
        )


@dataclass
class DeliveryState:
    attempts: int = 0
    next_attempt: float = 0.0
    last_error: str = ""
    first_error_at: float | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeliveryState:
        first = data.get("first_error_at")
        return cls(
            attempts=int(data.get("attempts", 0)),
            next_attempt=float(data.get("next_attempt", 0.0)),
            last_error=str(data.get("last_error", "")),
            first_error_at=float(first) if first is not None else None,
        )


@dataclass
class Queued:
    envelope: Envelope
    state: DeliveryState = field(default_factory=DeliveryState)


def new_id() -> str:
    """Sortable by arrival (nanoseconds), unique (random tail)."""
    return f"{time.time_ns():020d}-{secrets.token_hex(4)}"


def _fsync_dir(directory: Path) -> None:
    # Windows cannot open a folder for fsync; NTFS journals the rename itself.
    if os.name == "nt":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_durably(path: Path, chunks: list[bytes]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        for chunk in chunks:
            handle.write(chunk)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


class MessageQueue:
    """Thread-safe; the listener adds, the delivery worker takes and settles."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.queue_dir = directory / QUEUE
        self.failed_dir = directory / FAILED
        for folder in (directory, self.queue_dir, self.failed_dir):
            folder.mkdir(parents=True, exist_ok=True)
            # Scans and their recipients: readable by the relay's own account only.
            if os.name != "nt":
                os.chmod(folder, 0o700)
        self._lock = threading.Lock()
        self._items: dict[str, Queued] = {}
        self._load()

    def _load(self) -> None:
        """Read what a previous run left: queued messages resume, half-written ones go
        (their device never heard 250 and sends again)."""
        for path in sorted(self.queue_dir.iterdir()):
            if path.name.startswith(".") and path.name.endswith(".tmp"):
                path.unlink(missing_ok=True)
                continue
            if not path.name.endswith(MSG):
                continue
            try:
                envelope = self._read_envelope(path)
            except (OSError, ValueError, KeyError, TypeError):
                # Unreadable: keep it where a person can look at it, never drop it.
                os.replace(path, self.failed_dir / path.name)
                self._write_reason(path.name.removesuffix(MSG), "unreadable queue file")
                continue
            state = DeliveryState()
            state_path = path.with_suffix(STATE)
            try:
                state = DeliveryState.from_dict(json.loads(state_path.read_bytes()))
            except (OSError, ValueError, TypeError):
                pass
            # A restart (after a fix, a reboot, a crash) tries at once; the attempts
            # so far still count towards the backoff and the give-up time.
            state.next_attempt = 0.0
            self._items[envelope.id] = Queued(envelope, state)
        for path in self.queue_dir.glob(f"*{STATE}"):
            if not path.with_suffix(MSG).exists():
                path.unlink(missing_ok=True)

    @staticmethod
    def _read_envelope(path: Path) -> Envelope:
        with open(path, "rb") as handle:
            line = handle.readline(MAX_ENVELOPE_BYTES)
        return Envelope.from_json(line)

    # -- adding

    def add(self, envelope: Envelope, content: bytes) -> None:
        """Durable when this returns; only then may the relay answer 250."""
        envelope.size = len(content)
        path = self.queue_dir / f"{envelope.id}{MSG}"
        _write_durably(path, [envelope.to_json(), b"\n", content])
        with self._lock:
            self._items[envelope.id] = Queued(envelope)

    # -- reading

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def items(self) -> list[Queued]:
        with self._lock:
            return sorted(self._items.values(), key=lambda q: q.envelope.id)

    def count_for(self, username: str) -> int:
        with self._lock:
            return sum(1 for q in self._items.values() if q.envelope.username == username)

    def content(self, message_id: str) -> bytes:
        with open(self.queue_dir / f"{message_id}{MSG}", "rb") as handle:
            handle.readline(MAX_ENVELOPE_BYTES)
            return handle.read()

    def failed_count(self) -> int:
        return sum(1 for p in self.failed_dir.iterdir() if p.name.endswith(MSG))

    # -- settling

    def delivered(self, message_id: str, reply: str) -> None:
        path = self.queue_dir / f"{message_id}{MSG}"
        path.unlink(missing_ok=True)
        path.with_suffix(STATE).unlink(missing_ok=True)
        _fsync_dir(self.queue_dir)
        with self._lock:
            self._items.pop(message_id, None)
        line = json.dumps({"id": message_id, "at": time.time(), "reply": reply[:200]}) + "\n"
        with open(self.directory / DELIVERED_LOG, "a", encoding="utf-8") as log:
            log.write(line)

    def retry_later(self, message_id: str, state: DeliveryState) -> None:
        path = self.queue_dir / f"{message_id}{STATE}"
        data = json.dumps(state.__dict__).encode("utf-8")
        _write_durably(path, [data])
        with self._lock:
            item = self._items.get(message_id)
            if item is not None:
                item.state = state

    def fail(self, message_id: str, reason: str) -> None:
        """Move the message to the failed folder with its reason (written first)."""
        self._write_reason(message_id, reason)
        source = self.queue_dir / f"{message_id}{MSG}"
        os.replace(source, self.failed_dir / source.name)
        source.with_suffix(STATE).unlink(missing_ok=True)
        _fsync_dir(self.queue_dir)
        with self._lock:
            self._items.pop(message_id, None)

    def _write_reason(self, message_id: str, reason: str) -> None:
        data = json.dumps({"id": message_id, "failed_at": time.time(), "reason": reason})
        _write_durably(self.failed_dir / f"{message_id}.reason.json", [data.encode("utf-8")])

    def retry_all_now(self) -> None:
        with self._lock:
            for item in self._items.values():
                item.state.next_attempt = 0.0
