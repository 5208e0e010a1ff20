"""Misbehaving servers on loopback for the hostile-input tests (issue 14, "Hard edges").

Each is a real TCP (or UDP) server on 127.0.0.1 that runs a small script per
connection in its own thread: a greeting that never ends, an HTTP answer on an SMTP
port, sign-in challenges without end, a 421 after EHLO, a certificate out of date.
Stopping closes the listening socket and every connection, then joins the threads,
so no test leaves one behind.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

import dns.message

Script = Callable[["Conversation"], None]


class Conversation:
    """One accepted connection, as a script sees it: lines in, bytes out."""

    def __init__(self, sock: socket.socket, stop: threading.Event) -> None:
        self.sock = sock
        self.stop = stop
        self._buffer = b""

    def send(self, data: bytes) -> bool:
        """False once the client has gone (the script then ends)."""
        try:
            self.sock.sendall(data)
        except OSError:
            return False
        return True

    def line(self) -> bytes | None:
        """The client's next line, or None when it has closed the connection."""
        while b"\n" not in self._buffer:
            try:
                chunk = self.sock.recv(4096)
            except OSError:
                return None
            if not chunk:
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.rstrip(b"\r")

    def start_tls(self, context: ssl.SSLContext) -> bool:
        """The server's half of STARTTLS; False when the client refuses the handshake."""
        try:
            self.sock = context.wrap_socket(self.sock, server_side=True)
        except (OSError, ssl.SSLError):
            return False
        return True


class HostileServer:
    def __init__(self, script: Script) -> None:
        self._script = script
        self._stop = threading.Event()
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._acceptor = threading.Thread(target=self._accept, name="hostile-accept")

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _peer = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(5)
            thread = threading.Thread(target=self._run, args=(sock,), name="hostile-conn")
            with self._lock:
                self._socks.append(sock)
                self._threads.append(thread)
            thread.start()

    def _run(self, sock: socket.socket) -> None:
        conversation = Conversation(sock, self._stop)
        try:
            self._script(conversation)
        except OSError:
            pass  # the client hung up mid-script: that is its right
        finally:
            with suppress(OSError):
                conversation.sock.close()

    def start(self) -> HostileServer:
        self._acceptor.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._acceptor.join()
        self._listener.close()
        with self._lock:
            socks, threads = list(self._socks), list(self._threads)
        for sock in socks:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join()
        for sock in socks:
            sock.close()


@contextmanager
def hostile_server(script: Script) -> Iterator[HostileServer]:
    server = HostileServer(script).start()
    try:
        yield server
    finally:
        server.stop()


# Scripts ------------------------------------------------------------------------------


def endless_greeting(c: Conversation) -> None:
    """`220-` lines as fast as the socket takes them, never the last line."""
    line = b"220-mail.example.invalid still greeting you\r\n" * 64
    while not c.stop.is_set() and c.send(line):
        pass


def slow_endless_greeting(c: Conversation) -> None:
    """`220-` lines at 20 a second, for as long as anyone listens."""
    while not c.stop.is_set() and c.send(b"220-mail.example.invalid still greeting you\r\n"):
        c.stop.wait(0.05)  # the server's pace, not a wait in the test


def http_answer(c: Conversation) -> None:
    """A web server on the port: it answers the silence with an HTTP error."""
    c.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


def garbage(c: Conversation) -> None:
    """Noise without a line end."""
    c.send(bytes(range(32, 127)) * 100)


def smtp_until(reply_to_ehlo: bytes, then: Callable[[Conversation, bytes], bool]) -> Script:
    """A greeting, an EHLO answer, then `then(conversation, line)` per client line until
    it returns False."""

    def script(c: Conversation) -> None:
        c.send(b"220 mail.example.invalid ESMTP\r\n")
        line = c.line()
        if line is None:
            return
        c.send(reply_to_ehlo)
        while (line := c.line()) is not None and then(c, line):
            pass

    return script


def endless_auth(c: Conversation, line: bytes) -> bool:
    """Every sign-in line answered with yet another "Username:" challenge."""
    if line.upper().startswith(b"QUIT"):
        c.send(b"221 bye\r\n")
        return False
    return c.send(b"334 VXNlcm5hbWU6\r\n")


def closing_after_ehlo(c: Conversation) -> None:
    """Exchange's busy answer: 421 to EHLO, then it hangs up."""
    c.send(b"220 mail.example.invalid ESMTP\r\n")
    if c.line() is not None:
        c.send(b"421 4.3.2 Service not available, closing transmission channel\r\n")


def starttls_with(context: ssl.SSLContext) -> Script:
    """A server that offers STARTTLS and presents the certificate in `context`."""

    def then(c: Conversation, line: bytes) -> bool:
        if line.upper() == b"STARTTLS":
            c.send(b"220 2.0.0 Ready to start TLS\r\n")
            c.start_tls(context)
            return False
        c.send(b"221 bye\r\n")
        return False

    return smtp_until(b"250-mail.example.invalid\r\n250 STARTTLS\r\n", then)


# DNS ----------------------------------------------------------------------------------

DnsAnswerer = Callable[[dns.message.Message, bool], bytes | None]


class HostileDns:
    """UDP and TCP on one loopback port; `answer(query, tcp)` gives the bytes to send
    (None: say nothing)."""

    def __init__(self, answer: DnsAnswerer) -> None:
        self._answer = answer
        self._stop = threading.Event()
        self._tcp = socket.socket()
        self._tcp.bind(("127.0.0.1", 0))
        self.port: int = self._tcp.getsockname()[1]
        self._tcp.listen(8)
        self._tcp.settimeout(0.05)
        self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._udp.bind(("127.0.0.1", self.port))
        self._udp.settimeout(0.05)
        self._threads = [
            threading.Thread(target=self._serve_udp, name="hostile-dns-udp"),
            threading.Thread(target=self._serve_tcp, name="hostile-dns-tcp"),
        ]

    def _reply(self, data: bytes, tcp: bool) -> bytes | None:
        import dns.exception

        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return None
        return self._answer(query, tcp)

    def _serve_udp(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self._udp.recvfrom(65535)
            except TimeoutError:
                continue
            reply = self._reply(data, False)
            if reply is not None:
                self._udp.sendto(reply, peer)

    def _serve_tcp(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _peer = self._tcp.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    size = int.from_bytes(conn.recv(2), "big")
                    data = b""
                    while len(data) < size:
                        chunk = conn.recv(size - len(data))
                        if not chunk:
                            break
                        data += chunk
                    reply = self._reply(data, True)
                    if reply is not None:
                        conn.sendall(len(reply).to_bytes(2, "big") + reply)
                except OSError:
                    pass

    def __enter__(self) -> HostileDns:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self._tcp.close()
        self._udp.close()


def truncated_everywhere(query: dns.message.Message, tcp: bool) -> bytes:
    """An empty answer with the TC flag, over UDP and over TCP alike."""
    import dns.flags

    response = dns.message.make_response(query)
    response.flags |= dns.flags.TC
    return response.to_wire()


# HTTPS --------------------------------------------------------------------------------


def https_answer(context: ssl.SSLContext, body: Callable[[Conversation], None]) -> Script:
    """TLS, then the request's head read, then `body` writes the answer."""

    def script(c: Conversation) -> None:
        if not c.start_tls(context):
            return
        while (line := c.line()) is not None and line:
            pass
        body(c)

    return script


def endless_chunks(c: Conversation) -> None:
    """A 200 whose chunked body never ends."""
    c.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
    c.send(b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n" % 65536 + b" " * 65536 + b"\r\n"
    while not c.stop.is_set() and c.send(chunk):
        pass


def trickle(c: Conversation) -> None:
    """A 200 that sends its promised kilobyte one byte at a time, 20 bytes a second."""
    c.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
    while not c.stop.is_set() and c.send(b" "):
        c.stop.wait(0.05)  # the server's pace, not a wait in the test


def slow_tls_after_starttls(context: ssl.SSLContext, events: list[str] | None = None) -> Script:
    """STARTTLS accepted, then a real TLS handshake whose every byte from the server
    comes 50 ms after the last: each read gets data in time, the whole never does.
    `events` gets "handshake done" if a client waited for all of it."""

    def then(c: Conversation, line: bytes) -> bool:
        if line.upper() != b"STARTTLS":
            c.send(b"502 5.5.2 not here\r\n")
            return True
        c.send(b"220 2.0.0 Ready to start TLS\r\n")
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = context.wrap_bio(incoming, outgoing, server_side=True)
        while not c.stop.is_set():
            try:
                tls.do_handshake()
                if events is not None:
                    events.append("handshake done")
                return False
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError:
                return False
            for byte in outgoing.read():
                if c.stop.wait(0.05) or not c.send(bytes([byte])):
                    return False
            try:
                data = c.sock.recv(4096)
            except OSError:
                return False
            if not data:
                return False
            incoming.write(data)
        return False

    return smtp_until(b"250-mail.example.invalid\r\n250 STARTTLS\r\n", then)


def private_address_for_everything(query: dns.message.Message, tcp: bool) -> bytes:
    """Every A question answered with 10.0.0.1: a LAN resolver playing "what is my IP"."""
    import dns.rdatatype
    import dns.rrset

    response = dns.message.make_response(query)
    question = query.question[0]
    if question.rdtype == dns.rdatatype.A:
        response.answer.append(dns.rrset.from_text(question.name, 60, "IN", "A", "10.0.0.1"))
    return response.to_wire()
