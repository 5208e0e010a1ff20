"""The sandbox's three SMTP endpoints on loopback, served by one event-loop thread.

- `submission`: the stand-in for smtp.office365.com:587 (SMTP AUTH client submission)
- `hve`: the stand-in for smtp.hve.mx.microsoft:587 (High Volume Email)
- `mx`: the stand-in for every <domain>.mail.protection.outlook.com:25 (direct send
  and connector relay)

Port 25 blocked (`TenantState.mx_port_blocked`): a real blocked port 25 drops the
connection attempt on the way, so the client's connect() times out. The MX stand-in
does the same with its own listening socket: it shrinks the listen backlog to 0 and
fills the single queue place with a connection of its own that it never accepts. The
kernel then drops every further SYN, so `smtplib.SMTP(host, port, timeout=t)` raises
`TimeoutError` (socket.timeout) after t seconds, from connect(), exactly like a
filtered port. The switch takes effect before the assignment returns (the endpoints
watch the state), and switching it off accepts the filler and opens the door again.

TLS: `server_ssl_context` serves STARTTLS on all three (TLS 1.2 or newer). Optional:
- `mx_ssl_context`: a server context that asks for client certificates
  (verify_mode CERT_OPTIONAL, the sandbox CA trusted) so certificate connectors
  (TlsSenderCertificateName) can match; without it the MX matches connectors by IP only
  (unless `server_ssl_context` itself asks for certificates).
- `legacy_tls_context`: a server context that still completes TLS 1.0/1.1 handshakes.
  With it, a client that negotiates TLS 1.0/1.1 gets what Exchange Online answers such
  clients, "421 4.7.66 TLS 1.0 and 1.1 are not supported..." (to AUTH or MAIL), and is
  disconnected. Without it such a client fails the TLS handshake itself.
"""

from __future__ import annotations

import asyncio
import logging
import select
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any

from wizard.core.clouds import Endpoint
from wizard.sandbox.smtp import replies
from wizard.sandbox.smtp.auth import CheckToken
from wizard.sandbox.smtp.endpoints import MxSession, SubmissionSession
from wizard.sandbox.smtp.session import EndpointConfig, ExchangeSession
from wizard.sandbox.tenant import TenantState

log = logging.getLogger(__name__)


class _ChatterAtDebug(logging.Filter):
    """aiosmtpd logs every connection and command at INFO ("Peer: ...", "EHLO ...") on
    "mail.log": the sandbox's side of the wire, which filled the user's log (235 of
    303 lines in one demo). It is kept at DEBUG: in the log with --verbose only.
    Warnings and errors pass unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)


_aiosmtpd_log = logging.getLogger("mail.log")
if not any(isinstance(f, _ChatterAtDebug) for f in _aiosmtpd_log.filters):
    _aiosmtpd_log.addFilter(_ChatterAtDebug())

HOST = "127.0.0.1"
BACKLOG = 64
START_TIMEOUT = 10.0


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((HOST, 0))
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class _Door:
    """The MX listener, which can stop answering like a port filtered on the way."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        factory: Callable[[], ExchangeSession],
    ) -> None:
        self._loop = loop
        self._sock = sock
        self._factory = factory
        self._lock = threading.Lock()
        self._blocked = False
        self._plug: socket.socket | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def port(self) -> int:
        port: int = self._sock.getsockname()[1]
        return port

    def open(self) -> None:
        """Start accepting (call in the loop's thread)."""
        self._loop.add_reader(self._sock, self._on_readable)

    def set_blocked(self, blocked: bool) -> None:
        """Close or open the door; any thread; effective when this returns."""
        with self._lock:
            if blocked == self._blocked:
                return
            self._blocked = blocked
            if blocked:
                # One place in the accept queue, taken by our own connection: the
                # kernel drops every SYN after it (accept queue full).
                self._sock.listen(0)
                plug = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                plug.setblocking(False)
                plug.connect_ex(self._sock.getsockname())
                select.select([], [plug], [], 1.0)  # established = queued
                self._plug = plug
                self._loop.call_soon_threadsafe(self._pause)
            else:
                self._sock.listen(BACKLOG)
                self._loop.call_soon_threadsafe(self.open)
        log.info("sandbox MX: port 25 %s", "blocked" if blocked else "open again")

    def _pause(self) -> None:
        self._loop.remove_reader(self._sock)

    def _on_readable(self) -> None:
        while True:
            with self._lock:
                if self._blocked:
                    self._loop.remove_reader(self._sock)
                    return
                try:
                    conn, address = self._sock.accept()
                except (BlockingIOError, InterruptedError):
                    return
                except OSError as error:
                    log.info("sandbox MX: accept failed: %s", error)
                    return
                plug = self._plug
                if plug is not None and address == plug.getsockname():
                    conn.close()
                    plug.close()
                    self._plug = None
                    continue
            conn.setblocking(False)
            task = self._loop.create_task(self._serve(conn))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _serve(self, conn: socket.socket) -> None:
        try:
            await self._loop.connect_accepted_socket(self._factory, conn)
        except OSError as error:
            log.info("sandbox MX: connection lost at once: %s", error)
            conn.close()

    def close(self) -> None:
        """Stop for good (call in the loop's thread)."""
        self._loop.remove_reader(self._sock)
        with self._lock:
            self._sock.close()
            if self._plug is not None:
                self._plug.close()
                self._plug = None
        for task in self._tasks:
            task.cancel()


class SmtpEndpoints:
    """Submission, HVE and MX stand-ins on free loopback ports."""

    def __init__(
        self,
        state: TenantState,
        server_ssl_context: ssl.SSLContext,
        check_smtp_token: CheckToken,
        *,
        mx_ssl_context: ssl.SSLContext | None = None,
        legacy_tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.state = state
        submission_tls = legacy_tls_context or server_ssl_context
        mx_tls = mx_ssl_context or server_ssl_context
        self._configs = {
            "submission": EndpointConfig(
                "submission",
                state,
                replies.SUBMISSION_HOST,
                replies.BACKEND_HOST,
                submission_tls,
                check_smtp_token,
            ),
            "legacy": EndpointConfig(
                "submission",
                state,
                replies.LEGACY_HOST,
                replies.BACKEND_HOST,
                submission_tls,
                check_smtp_token,
                legacy_endpoint=True,
            ),
            "hve": EndpointConfig(
                "hve",
                state,
                replies.HVE_HOST,
                replies.BACKEND_HOST,
                submission_tls,
                check_smtp_token,
            ),
            "mx": EndpointConfig(
                "mx", state, replies.MX_HOST, replies.EOP_HOST, mx_tls, offers_auth=False
            ),
        }
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list[asyncio.base_events.Server] = []
        self._ports: dict[str, int] = {}
        self._door: _Door | None = None

    # -- endpoints ------------------------------------------------------------------

    def _endpoint(self, kind: str) -> Endpoint:
        if kind not in self._ports:
            raise RuntimeError("the SMTP endpoints are not running")
        return Endpoint(HOST, self._ports[kind])

    @property
    def submission(self) -> Endpoint:
        return self._endpoint("submission")

    @property
    def hve(self) -> Endpoint:
        return self._endpoint("hve")

    @property
    def legacy(self) -> Endpoint:
        """The smtp-legacy.office365.com stand-in (TLS 1.0/1.1 once the tenant allows)."""
        return self._endpoint("legacy")

    @property
    def mx(self) -> Endpoint:
        return self._endpoint("mx")

    # -- life cycle -----------------------------------------------------------------

    def __enter__(self) -> SmtpEndpoints:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        if self._loop is not None:
            return
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=self._run, name="sandbox-smtp", daemon=True)
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._open(), loop).result(START_TIMEOUT)
        except BaseException:
            self.stop()
            raise
        self.state.watch(self._on_state_change)
        self._on_state_change("mx_port_blocked", self.state.mx_port_blocked)
        log.info("sandbox SMTP: submission %s, hve %s, mx %s", self.submission, self.hve, self.mx)

    def _run(self) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def _factory(self, kind: str) -> Callable[[], ExchangeSession]:
        config = self._configs[kind]
        loop = self._loop
        assert loop is not None
        session_class = MxSession if kind == "mx" else SubmissionSession
        return lambda: session_class(config, loop)

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        for kind in ("submission", "legacy", "hve"):
            sock = _listening_socket()
            self._ports[kind] = sock.getsockname()[1]
            server = await loop.create_server(self._factory(kind), sock=sock)
            self._servers.append(server)
        door = _Door(loop, _listening_socket(), self._factory("mx"))
        self._ports["mx"] = door.port
        door.open()
        self._door = door

    def _on_state_change(self, name: str, value: Any) -> None:
        if name == "mx_port_blocked" and self._door is not None:
            self._door.set_blocked(bool(value))

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        self.state.unwatch(self._on_state_change)
        if loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(self._close(), loop).result(START_TIMEOUT)
            finally:
                loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
        self._loop = self._thread = None
        self._ports.clear()

    async def _close(self) -> None:
        for server in self._servers:
            server.close()
        if self._door is not None:
            self._door.close()
            self._door = None
        for config in self._configs.values():
            for session in list(config.sessions):
                session.abort()
            config.sessions.clear()
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()
        # Let the transports' close callbacks run before the loop stops.
        await asyncio.sleep(0)
