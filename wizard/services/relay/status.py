"""What the relay is doing, as the Relay step, `relay status` and Troubleshoot show it.

The running relay writes `status.json` into its data folder (atomically, when
something changes and every few seconds); `relay_status()` reads it from any process
and adds what it can see itself (is the port answering, how many files are queued).
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from wizard.core.relay import RelayConfig
from wizard.services.atomic import write_atomic
from wizard.services.relay.config_store import data_dir

STATUS_FILE = "status.json"
# A status file older than this while the process is gone means "not running".
STALE_AFTER = 30.0


class TokenState(StrEnum):
    OK = "ok"  # an access token was had (or a refresh token is held, none asked yet)
    MISSING = "missing"  # no refresh token in the keyring: sign in as the mailbox
    REFUSED = "refused"  # Microsoft refused the refresh token (revoked, expired)
    UNREACHABLE = "unreachable"  # the sign-in service could not be reached


@dataclass
class RelayStatus:
    running: bool = False
    pid: int | None = None
    listening: list[str] = field(default_factory=list)  # "192.168.1.20:587 (STARTTLS)"
    # [host, port, starttls] of each listener, for checks from outside
    ports: list[list[Any]] = field(default_factory=list)
    queued: int = 0
    failed: int = 0
    delivered: int = 0  # since the relay started
    last_delivery: float | None = None  # unix time
    last_error: str = ""
    last_error_at: float | None = None
    # mailbox -> TokenState value
    tokens: dict[str, str] = field(default_factory=dict)
    started_at: float | None = None
    updated_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RelayStatus:
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in known}
        try:
            return cls(**values)
        except TypeError:
            return cls()


def write_status(directory: Path, status: RelayStatus) -> None:
    status.updated_at = time.time()
    write_atomic(directory / STATUS_FILE, json.dumps(status.to_dict(), indent=2).encode())


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if os.name == "nt":
        # Signal 0 is CTRL_C_EVENT on Windows: it would interrupt, not ask. The port
        # answering (checked next) tells there.
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, another user's (a system service)
    except OSError:
        return False
    return True


def _answers(host: str, port: int, timeout: float = 2.0) -> bool:
    """Whether an SMTP server greets on host:port: the banner, then QUIT.

    A refusal (554: this computer is not one of the devices) still means the relay
    runs. Waiting for the greeting, rather than hanging up at once, lets the relay
    finish the connection it accepted before it is judged.
    """
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            banner = sock.recv(512)
            if banner.startswith(b"220"):
                sock.sendall(b"QUIT\r\n")
                sock.recv(512)
            return banner[:3] in (b"220", b"554")
    except OSError:
        return False


def count_files(directory: Path, suffix: str) -> int:
    try:
        return sum(1 for p in directory.iterdir() if p.name.endswith(suffix))
    except OSError:
        return 0


def relay_status(config: RelayConfig, config_path: Path | None = None) -> RelayStatus:
    """The relay's state seen from outside (another process, the wizard, the CLI)."""
    directory = data_dir(config, config_path)
    try:
        data = json.loads((directory / STATUS_FILE).read_text(encoding="utf-8"))
        status = RelayStatus.from_dict(data if isinstance(data, dict) else {})
    except (OSError, ValueError):
        status = RelayStatus()
    alive = status.pid is not None and _pid_alive(status.pid)
    host, port = config.listen_address, config.submission_port
    if status.ports:
        host, port = str(status.ports[0][0]), int(status.ports[0][1])
    port_open = alive and _answers(host, port)
    status.running = bool(status.running and alive and port_open)
    # The folders are the truth for the counts, whatever the relay last wrote.
    status.queued = count_files(directory / "queue", ".msg")
    status.failed = count_files(directory / "failed", ".msg")
    return status
