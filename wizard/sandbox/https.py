"""A small threaded HTTP(S) server on loopback, and the request/response it hands to apps.

Each sandbox service (identity, admin API, Graph, the sign-in pages) is a plain
function `Request -> Response`; this module does the sockets. TLS is negotiated in
the connection's own thread so a slow or broken client cannot stall the accept
loop. `stop()` closes open keep-alive connections and joins every handler thread,
so starting and stopping a sandbox leaves no thread or socket behind.
"""

from __future__ import annotations

import json
import logging
import socket
import ssl
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
# A handler thread gives up on a silent client after this long.
CONNECTION_TIMEOUT = 30.0


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    client: tuple[str, int]
    base_url: str
    # Set when the server is stopping: a deliberately slow answer waits on it.
    stopping: threading.Event = field(default_factory=threading.Event, repr=False)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def form(self) -> dict[str, str]:
        """An application/x-www-form-urlencoded body, first value of each field."""
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[0] for k, v in parsed.items()}

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def of_json(
        cls, status: int, data: Any, headers: list[tuple[str, str]] | None = None
    ) -> Response:
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        return cls(status, body, "application/json; charset=utf-8", list(headers or []))

    @classmethod
    def of_html(
        cls, status: int, text: str, headers: list[tuple[str, str]] | None = None
    ) -> Response:
        return cls(status, text.encode("utf-8"), "text/html; charset=utf-8", list(headers or []))


App = Callable[[Request], Response]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""
    timeout = CONNECTION_TIMEOUT
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def do_PATCH(self) -> None:  # noqa: N802
        self._dispatch()

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch()

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        split = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            client=(str(self.client_address[0]), int(self.client_address[1])),
            base_url=self.server.base_url,
            stopping=self.server.stopping,
        )
        try:
            response = self.server.app(request)
        except Exception:
            # A bug in the sandbox: make it loud (the test suite fails on errors logged).
            log.exception("%s failed on %s %s", self.server.name, self.command, split.path)
            response = Response.of_json(500, {"error": {"code": "InternalServerError"}})
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("request-id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-store")
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("%s: " + format, self.server.name, *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # joined by server_close(): nothing outlives stop()
    block_on_close = True

    def __init__(self, app: App, name: str, context: ssl.SSLContext | None) -> None:
        self.app = app
        self.name = name
        self.context = context
        self.stopping = threading.Event()
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__((LOOPBACK, 0), _Handler)
        scheme = "https" if context is not None else "http"
        self.base_url = f"{scheme}://{LOOPBACK}:{self.server_address[1]}"

    def _track(self, sock: socket.socket) -> None:
        with self._open_lock:
            self._open.add(sock)

    def _untrack(self, sock: socket.socket) -> None:
        with self._open_lock:
            self._open.discard(sock)

    def process_request(self, request: Any, client_address: Any) -> None:
        self._track(request)
        super().process_request(request, client_address)

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(CONNECTION_TIMEOUT)
        if self.context is None:
            super().finish_request(request, client_address)
            return
        try:
            conn = self.context.wrap_socket(request, server_side=True)
        except (OSError, ValueError) as exc:
            # A client that does not trust the sandbox CA, or speaks TLS 1.0.
            log.debug("%s: TLS handshake with %s failed: %s", self.name, client_address, exc)
            return
        self._track(conn)
        try:
            super().finish_request(conn, client_address)
        finally:
            self._untrack(conn)
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def shutdown_request(self, request: Any) -> None:
        self._untrack(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Connections cut by a client or by stop() are normal here, not errors.
        log.debug("%s: connection from %s ended abruptly", self.name, client_address, exc_info=True)

    def close_open_connections(self) -> None:
        with self._open_lock:
            open_sockets = list(self._open)
        for sock in open_sockets:
            try:
                # socket.socket.shutdown, not SSLSocket.shutdown: wake the reader with
                # EOF without tearing down the TLS object under its feet.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass


class LoopbackServer:
    """One listener on 127.0.0.1 with a free port, serving `app` in its own threads."""

    def __init__(self, app: App, *, name: str, ssl_context: ssl.SSLContext | None = None) -> None:
        self._server = _Server(app, name, ssl_context)
        self._thread: threading.Thread | None = None
        self.name = name

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return self._server.base_url

    @property
    def stopping(self) -> threading.Event:
        return self._server.stopping

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sandbox-{self.name}",
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.close_open_connections()
        self._server.server_close()  # also joins the connection threads
