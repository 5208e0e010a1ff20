"""One SMTP connection to a sandbox endpoint, speaking like an Exchange Online server.

aiosmtpd carries the connection, the command loop and the STARTTLS switch; this class
replaces the commands whose wording or rules differ from Exchange: the greeting and
EHLO list, AUTH (LOGIN, PLAIN, XOAUTH2; only after STARTTLS), MAIL/RCPT with the
parameters Exchange announces (SIZE, BODY, SMTPUTF8, DSN), DATA and BDAT (CHUNKING).
The endpoint subclasses decide who may send what (smtp/endpoints.py).
"""

from __future__ import annotations

import asyncio
import binascii
import collections
import logging
import ssl
import time
from base64 import b64decode
from dataclasses import dataclass, field
from typing import Any, AnyStr

from aiosmtpd.smtp import MISSING, SMTP, TLSSetupException

from wizard.sandbox.smtp import replies
from wizard.sandbox.smtp.auth import CheckToken, SignIn
from wizard.sandbox.tenant import TenantState

log = logging.getLogger(__name__)

IDLE_TIMEOUT = 300.0
COMMAND_LINE_LIMIT = 16384
LEGACY_TLS_VERSIONS = frozenset({"SSLv3", "TLSv1", "TLSv1.1"})
MAIL_BODY_TYPES = frozenset({"7BIT", "8BITMIME", "BINARYMIME"})


@dataclass
class EndpointConfig:
    """What every connection to one endpoint shares."""

    kind: str  # "submission", "hve" or "mx"
    state: TenantState
    banner_host: str
    stamp_host: str
    tls_context: ssl.SSLContext | None
    check_token: CheckToken | None = None
    offers_auth: bool = True
    # smtp-legacy.office365.com: TLS 1.0/1.1 is served once the tenant opts in with
    # Set-TransportConfig -AllowLegacyTLSClients $true.
    legacy_endpoint: bool = False
    # Live connections, so stopping the endpoint can close them.
    sessions: set[ExchangeSession] = field(default_factory=set)


class _Handler:
    """aiosmtpd's handler object: only its exception hook is used."""

    async def handle_exception(self, error: Exception) -> str:
        if isinstance(error, TLSSetupException):
            cause = error.__cause__ or error
            log.info("sandbox SMTP: TLS handshake failed: %s", cause)
            return "454 4.7.0 TLS negotiation failed"
        log.error("sandbox SMTP session failed", exc_info=error)
        return "451 4.3.0 Error processing message"


class ExchangeSession(SMTP):
    """The protocol shared by the three endpoints; subclasses add the rules."""

    # An XOAUTH2 line carries a whole access token (often 2-3 KB).
    line_length_limit = COMMAND_LINE_LIMIT

    def __init__(self, config: EndpointConfig, loop: asyncio.AbstractEventLoop) -> None:
        self.config = config
        self.signed_in: SignIn | None = None
        self.source_ip = ""
        self._chunks: list[bytes] | None = None
        self._data_started = 0.0
        super().__init__(
            _Handler(),
            hostname=config.banner_host,
            ident=replies.banner(),
            tls_context=config.tls_context,
            data_size_limit=replies.MAX_MESSAGE_SIZE,
            enable_SMTPUTF8=True,
            decode_data=False,
            auth_require_tls=True,
            timeout=IDLE_TIMEOUT,
            loop=loop,
        )
        # aiosmtpd keeps these limits in a dict shared by the class; give each
        # connection its own.
        self.command_size_limits = collections.defaultdict(
            lambda: SMTP.command_size_limit,
            {"AUTH": COMMAND_LINE_LIMIT, "MAIL": 1024, "RCPT": 1024},
        )

    # -- connection ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first = self.transport is None
        super().connection_made(transport)
        if first:
            self.source_ip = self.simulated_source_ip()
            self.config.sessions.add(self)

    def connection_lost(self, error: Exception | None) -> None:
        self.config.sessions.discard(self)
        super().connection_lost(error)

    def simulated_source_ip(self) -> str:
        """The public address this connection comes "from" (the office, by default)."""
        with self.config.state.lock:
            return self.config.state.site_public_ip

    def abort(self) -> None:
        """Drop the connection at once (the endpoint is stopping)."""
        for transport in (self.transport, self._original_transport):
            if transport is not None:
                transport.abort()  # type: ignore[attr-defined]

    @property
    def tls_version(self) -> str | None:
        if self.session is None or not self.session.ssl:
            return None
        ssl_object = self.session.ssl.get("ssl_object")
        return ssl_object.version() if ssl_object is not None else None

    @property
    def tls_active(self) -> bool:
        return self._tls_protocol is not None

    @property
    def legacy_tls(self) -> bool:
        return self.tls_version in LEGACY_TLS_VERSIONS

    @property
    def legacy_tls_refused(self) -> bool:
        """Old TLS is refused everywhere but on the legacy endpoint of an opted-in tenant."""
        if not self.legacy_tls:
            return False
        return not (self.config.legacy_endpoint and self.config.state.allow_legacy_tls_clients)

    def peer_certificate(self) -> dict[str, Any] | None:
        if self.session is None or not self.session.ssl:
            return None
        cert = self.session.ssl.get("peercert")
        return cert or None

    async def push(self, status: AnyStr) -> None:
        if isinstance(status, str):
            await super().push(self._exchange_wording(status))
        else:
            await super().push(status)

    def _exchange_wording(self, status: str) -> str:
        # Replies aiosmtpd still writes itself, in Exchange's words.
        if status == "220 Ready to start TLS":
            return replies.STARTTLS_READY
        if status.startswith('500 Error: command "'):
            command = status.split('"')[1]
            status = replies.UNRECOGNIZED_COMMAND.format(command=command)
        elif status in ("500 Error: bad syntax", "500 Error: strict ASCII mode"):
            status = "500 5.5.2 Syntax error"
        elif status == "500 Command line too long":
            status = replies.LINE_TOO_LONG
        return replies.stamp(status, self.config.stamp_host)

    async def close_with(self, reply: str) -> None:
        """Answer, then hang up (4xx replies that end the session)."""
        await self.push(reply)
        assert self._handler_coroutine is not None
        self._handler_coroutine.cancel()
        if self.transport is not None:
            self.transport.close()

    def _set_rset_state(self) -> None:
        super()._set_rset_state()  # type: ignore[no-untyped-call]
        self._chunks = None
        self.reset_transaction()

    def reset_transaction(self) -> None:
        """Forget what the rules decided for the current message (subclasses)."""

    # -- greeting and capabilities --------------------------------------------------

    def ehlo_keywords(self) -> list[str]:
        keywords = [f"SIZE {replies.MAX_MESSAGE_SIZE}", "PIPELINING", "DSN", "ENHANCEDSTATUSCODES"]
        if self.tls_context is not None and not self.tls_active:
            keywords.append("STARTTLS")
        if self.config.offers_auth and self.tls_active:
            keywords.append("AUTH LOGIN XOAUTH2")
        keywords += ["8BITMIME", "BINARYMIME", "CHUNKING", "SMTPUTF8"]
        return keywords

    async def smtp_EHLO(self, hostname: str) -> None:
        if not hostname:
            await self.push("501 5.5.4 Invalid domain name")
            return
        assert self.session is not None
        self._set_rset_state()
        self.session.extended_smtp = True
        self.session.host_name = hostname
        lines = [f"{self.hostname} Hello [{self.source_ip}]", *self.ehlo_keywords()]
        for i, line in enumerate(lines):
            await self.push(("250-" if i < len(lines) - 1 else "250 ") + line)

    async def smtp_HELO(self, hostname: str) -> None:
        if not hostname:
            await self.push("501 5.5.4 Invalid domain name")
            return
        assert self.session is not None
        self._set_rset_state()
        self.session.extended_smtp = False
        self.session.host_name = hostname
        await self.push(f"250 {self.hostname} Hello [{self.source_ip}]")

    async def smtp_STARTTLS(self, arg: str) -> None:
        if arg:
            await self.push(replies.INVALID_ARGUMENTS)
        elif self.tls_context is None:
            await self.push("454 4.7.0 TLS not available")
        elif self.tls_active:
            await self.push(replies.TLS_ALREADY_ACTIVE)
        else:
            await super().smtp_STARTTLS(arg)
            # RFC 3207 4.2: nothing learnt before TLS survives it.
            self.signed_in = None
            self._set_rset_state()

    async def smtp_NOOP(self, arg: str) -> None:
        await self.push(replies.NOOP_OK)

    async def smtp_RSET(self, arg: str) -> None:
        self._set_rset_state()
        await self.push(replies.RESET_OK)

    async def smtp_QUIT(self, arg: str) -> None:
        await self.close_with(replies.CLOSING)

    async def smtp_HELP(self, arg: str) -> None:
        await self.push("214 HELO EHLO STARTTLS RCPT DATA BDAT RSET MAIL QUIT HELP AUTH NOOP")

    async def smtp_VRFY(self, arg: str) -> None:
        await self.push("252 2.1.5 Cannot VRFY user")

    async def smtp_EXPN(self, arg: str) -> None:
        await self.push(replies.NOT_IMPLEMENTED)

    # -- AUTH -------------------------------------------------------------------------

    async def smtp_AUTH(self, arg: str) -> None:
        assert self.session is not None
        if not self.session.host_name:
            await self.push(replies.SEND_HELLO_FIRST)
            return
        # Exchange offers AUTH only inside TLS and answers any AUTH before it with
        # "Unrecognized authentication type" (the MX never offers it).
        if not self.config.offers_auth or not self.tls_active:
            await self.push(replies.AUTH_UNRECOGNIZED)
            return
        if self.legacy_tls_refused:
            await self.close_with(replies.LEGACY_TLS)
            return
        if self.signed_in is not None:
            await self.push(replies.ALREADY_AUTHENTICATED)
            return
        mechanism, _, initial = (arg or "").strip().partition(" ")
        mechanism = mechanism.upper()
        # PLAIN is not announced (Exchange Online lists LOGIN and XOAUTH2) but is
        # taken inside TLS, as the issue asks of the stand-in.
        handlers = {
            "LOGIN": self._auth_login,
            "PLAIN": self._auth_plain,
            "XOAUTH2": self._auth_xoauth2,
        }
        handler = handlers.get(mechanism)
        if handler is None:
            await self.push(replies.AUTH_UNRECOGNIZED if mechanism else replies.INVALID_ARGUMENTS)
            return
        outcome = await handler(initial.strip())
        if outcome is None:
            return  # aborted; the reply is already sent
        if outcome.ok:
            self.signed_in = outcome
            self.session.authenticated = True
            log.info(
                "sandbox %s: %s signed in (%s)", self.config.kind, outcome.mailbox, outcome.method
            )
        await self.push(outcome.reply)

    async def _initial_or_challenge(self, initial: str, challenge: str) -> bytes | None:
        if initial and initial != "=":
            try:
                return b64decode(initial.encode("ascii"), validate=True)
            except (binascii.Error, UnicodeEncodeError):
                await self.push("501 5.5.2 Cannot decode base64")
                return None
        if initial == "=":
            return b""
        answer = await self.challenge_auth(challenge)
        return None if answer is MISSING else answer

    async def _auth_login(self, initial: str) -> SignIn | None:
        username = await self._initial_or_challenge(initial, replies.LOGIN_USERNAME)
        if username is None:
            return None
        password = await self._initial_or_challenge("", replies.LOGIN_PASSWORD)
        if password is None:
            return None
        return self._basic(username, password)

    async def _auth_plain(self, initial: str) -> SignIn | None:
        blob = await self._initial_or_challenge(initial, "")
        if blob is None:
            return None
        parts = blob.split(b"\x00")
        if len(parts) != 3:
            return SignIn(replies.AUTH_FAILED, method="basic")
        return self._basic(parts[1], parts[2])

    async def _auth_xoauth2(self, initial: str) -> SignIn | None:
        blob = await self._initial_or_challenge(initial, "")
        if blob is None:
            return None
        return self.oauth_sign_in(blob)

    def _basic(self, username: bytes, password: bytes) -> SignIn:
        try:
            user, secret = username.decode("utf-8"), password.decode("utf-8")
        except UnicodeDecodeError:
            return SignIn(replies.AUTH_FAILED, method="basic")
        return self.basic_sign_in(user.strip(), secret)

    def basic_sign_in(self, username: str, password: str) -> SignIn:
        return SignIn(replies.AUTH_UNRECOGNIZED)

    def oauth_sign_in(self, blob: bytes) -> SignIn:
        return SignIn(replies.AUTH_UNRECOGNIZED)

    # -- the mail transaction -------------------------------------------------------------

    async def check_sender(self, sender: str) -> str | None:
        """A refusal for MAIL FROM, or None (subclasses)."""
        return None

    async def check_recipient(self, recipient: str) -> str | None:
        """A refusal for RCPT TO, or None (subclasses)."""
        return None

    def check_content(self, content: bytes) -> str | None:
        """A refusal at the end of DATA, or None (subclasses)."""
        return None

    def accept(self, content: bytes) -> str:
        """Take the message; returns the 250 reply (subclasses)."""
        raise NotImplementedError

    def _path(self, keyword: str, arg: str | None) -> tuple[str, list[str]] | str:
        """(address, parameters) of "FROM:<a> X=Y", or the refusal to send."""
        text = (arg or "").strip()
        if text[: len(keyword)].upper() != keyword:
            return replies.INVALID_ARGUMENTS
        text = text[len(keyword) :].strip()
        if text.startswith("<>"):
            return "", text[2:].split()
        address, rest = self._getaddr(text)
        if address is None or (not address and keyword == "TO:"):
            return replies.INVALID_ADDRESS
        return address, (rest or "").split()

    def _mail_params_refusal(self, params: list[str]) -> str | None:
        assert self.envelope is not None
        for param in params:
            name, _, value = param.partition("=")
            name = name.upper()
            if name == "SIZE":
                if not value.isdigit():
                    return replies.INVALID_ARGUMENTS
                if int(value) > replies.MAX_MESSAGE_SIZE:
                    return replies.SIZE_EXCEEDED
            elif name == "BODY":
                if value.upper() not in MAIL_BODY_TYPES:
                    return replies.INVALID_ARGUMENTS
            elif name == "SMTPUTF8":
                self.envelope.smtp_utf8 = True
            elif name == "RET":
                if value.upper() not in ("FULL", "HDRS"):
                    return replies.INVALID_ARGUMENTS
            elif name not in ("ENVID", "AUTH"):
                return replies.UNSUPPORTED_PARAMETER
        return None

    async def smtp_MAIL(self, arg: str | None) -> None:
        assert self.session is not None and self.envelope is not None
        if not self.session.host_name:
            await self.push(replies.SEND_HELLO_FIRST)
            return
        if self.legacy_tls_refused:
            await self.close_with(replies.LEGACY_TLS)
            return
        if self.envelope.mail_from is not None:
            await self.push(replies.SENDER_ALREADY_GIVEN)
            return
        parsed = self._path("FROM:", arg)
        if isinstance(parsed, str):
            await self.push(parsed)
            return
        address, params = parsed
        refusal = self._mail_params_refusal(params) or await self.check_sender(address)
        if refusal:
            self.reset_transaction()
            if refusal.startswith("421"):
                await self.close_with(refusal)
            else:
                await self.push(refusal)
            return
        self.envelope.mail_from = address
        self.envelope.mail_options = params
        await self.push(replies.SENDER_OK)

    async def smtp_RCPT(self, arg: str | None) -> None:
        assert self.session is not None and self.envelope is not None
        if not self.session.host_name:
            await self.push(replies.SEND_HELLO_FIRST)
            return
        if self.envelope.mail_from is None:
            await self.push(replies.NEED_MAIL)
            return
        parsed = self._path("TO:", arg)
        if isinstance(parsed, str):
            await self.push(parsed)
            return
        address, params = parsed
        for param in params:
            if param.partition("=")[0].upper() not in ("NOTIFY", "ORCPT"):
                await self.push(replies.UNSUPPORTED_PARAMETER)
                return
        refusal = await self.check_recipient(address)
        if refusal:
            await self.push(refusal)
            return
        self.envelope.rcpt_tos.append(address)
        self.envelope.rcpt_options.extend(params)
        await self.push(replies.RECIPIENT_OK)

    def _transaction_refusal(self) -> str | None:
        assert self.session is not None and self.envelope is not None
        if not self.session.host_name:
            return replies.SEND_HELLO_FIRST
        if self.envelope.mail_from is None:
            return replies.NEED_MAIL
        if not self.envelope.rcpt_tos:
            return replies.NEED_RCPT
        return None

    async def smtp_DATA(self, arg: str) -> None:
        refusal = self._transaction_refusal()
        if refusal is None and arg:
            refusal = replies.INVALID_ARGUMENTS
        if refusal is None and self._chunks is not None:
            refusal = replies.BAD_SEQUENCE
        if refusal:
            await self.push(refusal)
            return
        self._data_started = time.monotonic()
        await self.push(replies.DATA_GO)
        lines: list[bytes] = []
        size = 0
        too_big = too_long = False
        while True:
            try:
                line = await self._reader.readuntil(b"\r\n")
            except asyncio.LimitOverrunError as overrun:
                await self._reader.read(overrun.consumed)
                too_long = True
                continue
            if line == b".\r\n":
                break
            if line.startswith(b"."):
                line = line[1:]  # RFC 5321 4.5.2 dot transparency
            size += len(line)
            if size > replies.MAX_MESSAGE_SIZE:
                too_big = True
                lines.clear()
            elif not too_big:
                lines.append(line)
        if too_big or too_long:
            self._set_rset_state()
            await self.push(replies.SIZE_EXCEEDED if too_big else replies.LINE_TOO_LONG)
            return
        await self._finish(b"".join(lines))

    async def smtp_BDAT(self, arg: str) -> None:
        parts = (arg or "").split()
        last = len(parts) == 2 and parts[1].upper() == "LAST"
        if not parts or not parts[0].isdigit() or len(parts) > 2 or (len(parts) == 2 and not last):
            await self.push(replies.INVALID_ARGUMENTS)
            return
        size = int(parts[0])
        if size > replies.MAX_MESSAGE_SIZE:
            await self.close_with(replies.SIZE_EXCEEDED)  # too big to read and resync
            return
        chunk = await self._reader.readexactly(size)
        refusal = self._transaction_refusal()
        if refusal:
            await self.push(refusal)
            return
        if self._chunks is None:
            self._chunks = []
            self._data_started = time.monotonic()
        self._chunks.append(chunk)
        if sum(len(c) for c in self._chunks) > replies.MAX_MESSAGE_SIZE:
            self._set_rset_state()
            await self.push(replies.SIZE_EXCEEDED)
            return
        if not last:
            await self.push(f"250 2.0.0 {size} bytes received")
            return
        content = b"".join(self._chunks)
        self._chunks = None
        await self._finish(content)

    async def _finish(self, content: bytes) -> None:
        refusal = self.check_content(content)
        reply = refusal or self.accept(content)
        self._set_rset_state()
        await self.push(reply)
