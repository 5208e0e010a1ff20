"""The wire side of the test message: smtplib with every line recorded, and TLS.

What the wizard sends is captured in `RecordingSMTP.send()`, what the server
answers in `LineReader`, which replaces smtplib's socket file. Both go through one
`Recorder`, which redacts sign-in lines and every known secret before anything keeps
them. Connecting and reading look at a cancel flag every tenth of a second, so a
cancelled test stops at once instead of waiting for a timeout.
"""

from __future__ import annotations

import base64
import binascii
import errno
import logging
import os
import re
import select
import smtplib
import socket
import ssl
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import certifi

from wizard.core.errors import InvalidInput
from wizard.core.i18n import tr
from wizard.core.redact import MASK, redact
from wizard.core.smtp_codes import ConnectionFailure
from wizard.core.transcript import Direction, Stage, TlsDetails, Transcript

if TYPE_CHECKING:
    # typeshed's name for bytes-like; only for annotations (Python 3.12 has it built in).
    from typing_extensions import Buffer

log = logging.getLogger("wizard.services.smtp_test")

# How often a blocked read or connect looks at the cancel flag.
_SLICE = 0.1
_WOULD_BLOCK = {errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY, 10035}
# OpenSSL reasons that mean "no TLS version both sides accept".
_TLS_VERSION_REASONS = {
    "UNSUPPORTED_PROTOCOL",
    "TLSV1_ALERT_PROTOCOL_VERSION",
    "NO_PROTOCOLS_AVAILABLE",
    "VERSION_TOO_LOW",
    "WRONG_SSL_VERSION",
}
# X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH
_NAME_MISMATCH_CODES = {62, 64}
# RFC 5321 4.5.3.1.5 allows 512 bytes per reply line; servers vary, so allow more, but
# not without end. Exchange's longest reply (EHLO) is about a dozen lines.
MAX_REPLY_LINE = 2048
MAX_REPLY_LINES = 100
MAX_REPLY_BYTES = 64 * 1024
# Mozilla's whole list is about 250 KB.
MAX_CA_FILE_BYTES = 4 * 1024 * 1024
# X509_V_ERR_CERT_NOT_YET_VALID, X509_V_ERR_CERT_HAS_EXPIRED
_NOT_YET_VALID_CODE = 9
_EXPIRED_CODE = 10
_VERBS = {"ehlo", "helo", "mail", "rcpt", "data", "rset", "noop", "quit", "starttls", "auth"}


class Cancelled(Exception):
    """Internal: the user cancelled; unwinds smtplib without being mistaken for I/O."""


class Recorder:
    """Turns raw protocol lines into redacted transcript lines, as they happen."""

    def __init__(self, transcript: Transcript, now: Callable[[], datetime]) -> None:
        self._transcript = transcript
        self._now = now
        self._secrets: list[str] = []
        self.masking = False  # set while an AUTH exchange is on the wire

    def add_secret(self, secret: str) -> None:
        self._secrets.append(secret)
        # The base64 form travels on the wire; mask it too should it ever show up.
        self._secrets.append(base64.b64encode(secret.encode()).decode())

    def clean(self, text: str) -> str:
        return redact(text, *self._secrets)

    def literal(self, text: str) -> str:
        """Only the known secrets masked: "250-AUTH LOGIN PLAIN" must stay as it is."""
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text

    def add(self, direction: Direction, text: str) -> None:
        cleaned = self.literal(text) if direction is Direction.SERVER else self.clean(text)
        line = self._transcript.add(self._now(), direction, cleaned)
        log.debug("smtp %s %s", direction.value, line.text)

    def client(self, data: Buffer | str) -> None:
        text = data if isinstance(data, str) else bytes(data).decode("utf-8", "replace")
        lines = text.split("\r\n")
        if lines and lines[-1] == "":
            lines.pop()
        for line in lines:
            if self.masking:
                match = re.match(r"(?i)(AUTH\s+\S+)(\s+\S+)?", line)
                if match:
                    line = match.group(1) + (" " + MASK if match.group(2) else "")
                else:
                    line = MASK + " " + tr("(sign-in data hidden)")
            self.add(Direction.CLIENT, line)

    def server(self, raw: bytes) -> None:
        text = raw.decode("utf-8", "replace").rstrip("\r\n")
        self.add(Direction.SERVER, text)
        # A sign-in challenge is base64; show what it says (e.g. "Username:").
        if text.startswith("334 ") and len(text) > 4:
            decoded = decode_challenge(text[4:].strip())
            if decoded:
                self.add(Direction.INFO, tr("(the server asks: {text})").format(text=decoded))


def b64(text: str) -> str:
    # UTF-8, not smtplib's ASCII: passwords such as "Passwört" are real.
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def decode_challenge(encoded: str) -> str | None:
    try:
        text = base64.b64decode(encoded, validate=True).decode("utf-8").strip("\0 ")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return text if text and text.isprintable() else None


class ServerMisbehaved(smtplib.SMTPException):
    """The server's answer broke SMTP's shape; stops the conversation with a reason.

    Not an OSError on purpose: smtplib turns those into "disconnected", which would hide
    that the server did answer, only not as a mail server does. An SMTPException, so
    that every caller that already handles smtplib's errors handles this one too.
    """

    def __init__(self, failure: ConnectionFailure, detail: str) -> None:
        super().__init__(failure, detail)
        self.failure = failure
        self.detail = detail


class LineReader:
    """smtplib's socket file, replaced: records each line, honours cancel and deadlines.

    Bounds every reply, which smtplib does not: a line over MAX_REPLY_LINE bytes, a
    reply over MAX_REPLY_LINES lines or MAX_REPLY_BYTES, or one that is still going when
    its time limit is up stops the conversation (a server sending "220-" lines forever
    would otherwise hold the test and fill memory with its transcript).
    """

    def __init__(
        self,
        sock: socket.socket,
        timeout: float,
        stopped: Callable[[], bool],
        on_line: Callable[[bytes], None],
        deadline: float | None = None,
    ) -> None:
        self._sock = sock
        self._timeout = timeout
        self._stopped = stopped
        self._on_line = on_line
        # The whole conversation's end (time.monotonic()); None: per reply only.
        self._deadline = deadline
        self._buffer = bytearray()
        self._reply_ends = time.monotonic() + timeout
        self._reply_lines = 0
        self._reply_bytes = 0

    def start_reply(self) -> None:
        """A new reply begins: it must be complete within one timeout."""
        self._reply_ends = time.monotonic() + self._timeout
        self._reply_lines = 0
        self._reply_bytes = 0

    def _ends(self) -> float:
        ends = min(self._reply_ends, time.monotonic() + self._timeout)
        return ends if self._deadline is None else min(ends, self._deadline)

    def _deliver(self, line: bytes) -> bytes:
        self._reply_lines += 1
        self._reply_bytes += len(line)
        if self._reply_lines > MAX_REPLY_LINES or self._reply_bytes > MAX_REPLY_BYTES:
            raise ServerMisbehaved(
                ConnectionFailure.ENDLESS_REPLY,
                tr("one answer ran over {lines} lines or {kib} KiB").format(
                    lines=MAX_REPLY_LINES, kib=MAX_REPLY_BYTES // 1024
                ),
            )
        self._on_line(line)
        return line

    def readline(self, limit: int = -1) -> bytes:
        ends = self._ends()
        while True:
            end = self._buffer.find(b"\n") + 1
            if end == 0 and len(self._buffer) > MAX_REPLY_LINE:
                raise ServerMisbehaved(
                    ConnectionFailure.NOT_SMTP,
                    tr("a line of more than {n} bytes").format(n=MAX_REPLY_LINE),
                )
            if end == 0 and 0 < limit <= len(self._buffer):
                end = limit
            if end:
                if limit > 0:
                    end = min(end, limit)
                line = bytes(self._buffer[:end])
                del self._buffer[:end]
                return self._deliver(line)
            if self._stopped():
                raise Cancelled()
            remaining = ends - time.monotonic()
            if remaining <= 0:
                self._time_is_up()
            self._sock.settimeout(min(_SLICE, remaining))
            try:
                chunk = self._sock.recv(4096)
            except (TimeoutError, ssl.SSLWantReadError):
                continue
            finally:
                self._sock.settimeout(self._timeout)
            if not chunk:
                line = bytes(self._buffer)
                self._buffer.clear()
                if line:
                    self._deliver(line)
                return line
            self._buffer += chunk

    def _time_is_up(self) -> None:
        if self._reply_lines:
            # It is talking, but the reply does not end.
            raise ServerMisbehaved(
                ConnectionFailure.ENDLESS_REPLY,
                tr("one answer was still going after {s:g} s").format(s=self._timeout),
            )
        if self._deadline is not None and time.monotonic() >= self._deadline:
            raise ServerMisbehaved(
                ConnectionFailure.TOO_SLOW, tr("the whole conversation ran over its time limit")
            )
        raise TimeoutError("timed out")

    def close(self) -> None:
        self._buffer.clear()


class BoundedSMTP(smtplib.SMTP):
    """smtplib.SMTP whose every reply is bounded in lines, bytes and time, and whose
    whole conversation ends at `deadline` (time.monotonic()); cancellable."""

    def __init__(
        self,
        timeout: float,
        helo_name: str,
        stopped: Callable[[], bool],
        deadline: float | None = None,
        on_line: Callable[[bytes], None] | None = None,
    ) -> None:
        self._stopped = stopped
        self._deadline = deadline
        self._on_line = on_line or (lambda _line: None)
        # Called with the peer's address once the TCP connection stands.
        self.on_connected: Callable[[tuple[Any, ...]], None] | None = None
        # The real cause behind smtplib's SMTPServerDisconnected ("timed out", reset).
        self.read_error: BaseException | None = None
        super().__init__(timeout=timeout, local_hostname=helo_name)

    def remaining(self) -> float:
        """Seconds left for the next step: one timeout, or less near the deadline."""
        if self._deadline is None:
            return self.timeout
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise ServerMisbehaved(
                ConnectionFailure.TOO_SLOW, tr("the whole conversation ran over its time limit")
            )
        return min(self.timeout, left)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = open_connection(host, port, self.remaining(), self._stopped)
        if self.on_connected is not None:
            self.on_connected(sock.getpeername())
        return sock

    def wrap_tls(self, context: ssl.SSLContext, server_hostname: str) -> None:
        """The same steps as smtplib.starttls() after its STARTTLS, with a bounded handshake.

        The handshake runs non-blocking against one time limit as a whole (the rest of
        the conversation's, at most one timeout) and looks at the cancel flag every
        tenth of a second, so a Cancel during a slow handshake stops it at once instead
        of after the timeout.
        """
        assert self.sock is not None
        ends = time.monotonic() + self.remaining()
        self.sock.setblocking(False)
        tls = context.wrap_socket(
            self.sock, server_hostname=server_hostname, do_handshake_on_connect=False
        )
        self.sock = tls
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                readable, writable = [tls], []
            except ssl.SSLWantWriteError:
                readable, writable = [], [tls]
            if self._stopped():
                raise Cancelled()
            left = ends - time.monotonic()
            if left <= 0:
                raise TimeoutError("the TLS handshake did not finish in time")
            select.select(readable, writable, [], min(_SLICE, left))
        tls.settimeout(self.timeout)
        self.file = None
        self.helo_resp = None
        self.ehlo_resp = None
        self.esmtp_features = {}
        self.does_esmtp = False

    def getreply(self) -> tuple[int, bytes]:
        if self.file is None and self.sock is not None:
            self.file = LineReader(
                self.sock, self.timeout, self._stopped, self._on_line, self._deadline
            )
        if isinstance(self.file, LineReader):
            self.file.start_reply()
        try:
            code, text = super().getreply()
        except smtplib.SMTPServerDisconnected as exc:
            self.read_error = exc.__context__
            raise
        except ServerMisbehaved:
            # As smtplib does when the connection breaks: nothing more is said on it.
            self.close()
            raise
        if code == -1:
            self.close()
            # smtplib's answer to a line that does not start with a number (an HTTP
            # server's "HTTP/1.1 400", a banner of another protocol, noise).
            first = text.decode("utf-8", "replace").splitlines()[:1]
            raise ServerMisbehaved(
                ConnectionFailure.NOT_SMTP,
                tr("it answered: {text}").format(text=(first[0] if first else "")[:80]),
            )
        return code, text


class RecordingSMTP(BoundedSMTP):
    """BoundedSMTP that records both directions (redacted) as they happen."""

    def __init__(
        self,
        recorder: Recorder,
        timeout: float,
        helo_name: str,
        stopped: Callable[[], bool],
        deadline: float | None = None,
    ) -> None:
        self._recorder = recorder
        super().__init__(timeout, helo_name, stopped, deadline, recorder.server)

    def putcmd(self, cmd: str, args: str = "") -> None:
        # smtplib sends "mail", "rcpt"; devices and Exchange's logs use upper case.
        # Only known verbs: a base64 sign-in line must go out exactly as it is.
        super().putcmd(cmd.upper() if cmd.lower() in _VERBS else cmd, args)

    def send(self, s: Buffer | str) -> None:
        self._recorder.client(s)
        super().send(s)


def open_connection(
    host: str, port: int, timeout: float, stopped: Callable[[], bool]
) -> socket.socket:
    """Open a TCP connection that a cancel interrupts within a tenth of a second."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    last: OSError | None = None
    for family, kind, proto, _name, address in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            result = sock.connect_ex(address)
            if result not in (0, *_WOULD_BLOCK):
                raise OSError(result, errno.errorcode.get(result, str(result)))
            deadline = time.monotonic() + timeout
            while result != 0:
                if stopped():
                    raise Cancelled()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("timed out")
                _r, writable, failed = select.select([], [sock], [sock], min(_SLICE, remaining))
                if writable or failed:
                    result = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if result:
                        # OSError(errno, ...) becomes ConnectionRefusedError etc.
                        raise OSError(result, errno.errorcode.get(result, str(result)))
                    break
            sock.settimeout(timeout)
            return sock
        except Cancelled:
            sock.close()
            raise
        except OSError as exc:
            sock.close()
            last = exc
    raise last or OSError(errno.EHOSTUNREACH, "no address")


def tls_context(cafile: str | None) -> tuple[ssl.SSLContext, str]:
    """A verifying client context (TLS 1.2 or newer) and what it trusts, in words."""
    try:
        if cafile:
            # A CA bundle is a regular file of some kilobytes: OpenSSL would read a
            # device such as /dev/zero for ever.
            if not os.path.isfile(cafile) or os.path.getsize(cafile) > MAX_CA_FILE_BYTES:
                raise OSError(errno.EINVAL, "not a regular file of at most 4 MB")
            context = ssl.create_default_context(cafile=cafile)
            trusted_by = tr("the certificate authority in {file}").format(file=cafile)
        else:
            context = ssl.create_default_context()
            # Also Mozilla's list (certifi, which requests brings): a frozen app on
            # macOS has no OpenSSL store of its own.
            context.load_verify_locations(cafile=certifi.where())
            trusted_by = tr("this computer's trusted certificate authorities")
    except (OSError, ssl.SSLError) as exc:
        raise InvalidInput(
            tr("The certificate authority file cannot be used."),
            why=tr("It must be a PEM file with one or more CA certificates."),
            next_step=tr("Check the path given with --cafile."),
            detail=f"{cafile}: {type(exc).__name__}: {exc}",
        ) from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context, trusted_by


def legacy_tls_version(
    host: str,
    port: int,
    cafile: str | None,
    timeout: float,
    stopped: Callable[[], bool] = lambda: False,
) -> str | None:
    """Which TLS version older than 1.2 the server speaks, if only such a one works.

    Asked only after a handshake at TLS 1.2 or newer failed without saying why (many
    servers just hang up): a second connection offers TLS 1.0/1.1, still verifying the
    certificate, and is closed right after the handshake without sending anything.
    """
    if not getattr(ssl, "HAS_TLSv1_1", False):
        return None
    context, _trusted = tls_context(cafile)
    with warnings.catch_warnings():
        # Deprecated on purpose: this connection only learns the version.
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    # TLS 1.0/1.1 handshakes sign with SHA-1, which OpenSSL's default level refuses.
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    # Bounded like the test itself: the same server may never finish its greeting.
    smtp = BoundedSMTP(timeout, helo_name(), stopped, time.monotonic() + 3 * timeout)
    try:
        code, _banner = smtp.connect(host, port)
        if code != 220 or smtp.ehlo()[0] != 250 or not smtp.has_extn("starttls"):
            return None
        if smtp.docmd("STARTTLS")[0] != 220 or smtp.sock is None:
            return None
        smtp.wrap_tls(context, host)
        return smtp.sock.version() if isinstance(smtp.sock, ssl.SSLSocket) else None
    except (OSError, smtplib.SMTPException, ServerMisbehaved):
        return None
    finally:
        smtp.close()


def classify_failure(
    exc: BaseException, *, stage: Stage, port: int, relay: bool
) -> tuple[ConnectionFailure, str]:
    """Which kind of connection failure an exception is, and its technical detail.

    relay: the endpoint stands for port 25 (direct send, connector), so a timeout
    before the greeting most likely means the port is blocked on the way out.
    """
    if isinstance(exc, ServerMisbehaved):
        return exc.failure, exc.detail
    if isinstance(exc, socket.gaierror):
        return ConnectionFailure.NAME_NOT_RESOLVED, f"{exc.strerror or exc}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        detail = exc.verify_message or str(exc)
        if exc.verify_code in _NAME_MISMATCH_CODES:
            return ConnectionFailure.CERTIFICATE_NAME, detail
        if exc.verify_code == _EXPIRED_CODE:
            return ConnectionFailure.CERTIFICATE_EXPIRED, detail
        if exc.verify_code == _NOT_YET_VALID_CODE:
            return ConnectionFailure.CERTIFICATE_NOT_YET_VALID, detail
        return ConnectionFailure.CERTIFICATE_UNTRUSTED, detail
    if isinstance(exc, ssl.SSLError):
        reason = getattr(exc, "reason", None) or ""
        detail = f"{reason or type(exc).__name__}: {exc}"
        if reason in _TLS_VERSION_REASONS:
            return ConnectionFailure.TLS12_UNAVAILABLE, detail
        return ConnectionFailure.TLS_HANDSHAKE, detail
    if isinstance(exc, ConnectionRefusedError):
        return ConnectionFailure.REFUSED, str(exc)
    if isinstance(exc, TimeoutError):
        early = stage in (Stage.CONNECT, Stage.BANNER)
        if early and (port == 25 or relay):
            return ConnectionFailure.PORT25_BLOCKED, "timed out"
        return ConnectionFailure.TIMEOUT, "timed out"
    if isinstance(exc, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
        return ConnectionFailure.DISCONNECTED, str(exc)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return ConnectionFailure.DISCONNECTED, str(exc)
    if isinstance(exc, OSError) and stage is Stage.CONNECT:
        return ConnectionFailure.UNREACHABLE, f"{exc.strerror or exc}"
    return ConnectionFailure.DISCONNECTED, f"{type(exc).__name__}: {exc}"


def helo_name() -> str:
    """This computer's name as a DNS label: what a device would greet with."""
    raw = socket.gethostname().split(".")[0].lower()
    label = re.sub(r"[^a-z0-9-]", "-", raw).strip("-")[:63]
    return label or "relay-wizard"


def text_lines(reply: bytes) -> list[str]:
    return [part.strip() for part in reply.decode("utf-8", "replace").splitlines()]


def _name(pairs: Any) -> str:
    """'CN=x, O=y' from getpeercert()'s tuple-of-tuples form."""
    parts = []
    for rdn in pairs or ():
        for key, value in rdn:
            short = {
                "commonName": "CN",
                "organizationName": "O",
                "organizationalUnitName": "OU",
                "countryName": "C",
                "stateOrProvinceName": "ST",
                "localityName": "L",
            }.get(key, key)
            parts.append(f"{short}={value}")
    return ", ".join(parts)


def tls_details(sock: ssl.SSLSocket, trusted_by: str) -> TlsDetails:
    cipher = sock.cipher()
    cert: dict[str, Any] = dict(sock.getpeercert() or {})
    not_after = None
    if cert.get("notAfter"):
        not_after = datetime.fromtimestamp(ssl.cert_time_to_seconds(cert["notAfter"]), UTC)
    names = tuple(value for _kind, value in cert.get("subjectAltName", ()))
    return TlsDetails(
        version=sock.version() or "",
        cipher=cipher[0] if cipher else "",
        bits=cipher[2] if cipher else None,
        subject=_name(cert.get("subject")),
        issuer=_name(cert.get("issuer")),
        not_after=not_after,
        names=names,
        trusted_by=trusted_by,
        verified=True,
    )


def tls_lines(tls: TlsDetails, host: str) -> list[str]:
    lines = [
        tr("{version} established, cipher {cipher} ({bits}-bit); encrypted from here on").format(
            version=tls.version, cipher=tls.cipher, bits=tls.bits
        ),
        tr("Certificate subject: {subject}").format(subject=tls.subject or "-"),
        tr("Certificate issuer: {issuer}").format(issuer=tls.issuer or "-"),
    ]
    if tls.not_after is not None:
        days = (tls.not_after - datetime.now(UTC)).days
        lines.append(
            tr("Certificate valid until {date} ({days} days left)").format(
                date=tls.not_after.strftime("%Y-%m-%d"), days=days
            )
        )
    if tls.names:
        shown = ", ".join(tls.names[:6]) + (" ..." if len(tls.names) > 6 else "")
        lines.append(tr("Certificate names: {names}").format(names=shown))
    lines.append(
        tr("Certificate verified: trusted by {trusted_by}; it is valid for {host}.").format(
            trusted_by=tls.trusted_by, host=host
        )
    )
    return lines
