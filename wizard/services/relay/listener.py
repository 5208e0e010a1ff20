"""The relay's SMTP side (aiosmtpd): only known devices, only signed in, only as themselves.

Every refusal answers with a clear SMTP reply (wizard.core.relay.REPLIES) and is
logged with the client's address, so an open-relay attempt shows in the relay's log.

- a client whose IP is not a configured device's: 554 at connect, then closed;
- port 587: STARTTLS first (aiosmtpd `require_starttls`), AUTH only after it;
- MAIL before AUTH: 530; a user name from another device's IP: 535;
- MAIL FROM or the From header other than the device's own mailbox: 550 5.7.1;
- more recipients than Exchange takes per message, or the mailbox's daily recipient
  budget used up, or the device's queue full: 452 (the device tries again later);
- the message is written durably to the queue, then 250 with its queue id.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from email.utils import getaddresses
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from wizard.core.relay import (
    Refusal,
    RelayConfig,
    RelayDevice,
    authenticate,
    client_allowed,
    reply,
    sender_allowed,
)
from wizard.core.validation import check_email
from wizard.services.relay.queue import Envelope as QueuedEnvelope
from wizard.services.relay.queue import MessageQueue, new_id

log = logging.getLogger("wizard.services.relay")

SESSION_TIMEOUT = 120.0
DAY = 24 * 3600.0


def _ip(session: Session) -> str:
    peer = session.peer
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return str(peer or "")


class DailyBudget:
    """Recipients per mailbox over the last 24 hours (Exchange's 10,000 a day)."""

    def __init__(self, limit: int, clock: Callable[[], float] = time.time) -> None:
        self.limit = limit
        self._clock = clock
        self._used: dict[str, collections.deque[tuple[float, int]]] = {}

    def _total(self, mailbox: str) -> int:
        entries = self._used.setdefault(mailbox, collections.deque())
        cutoff = self._clock() - DAY
        while entries and entries[0][0] < cutoff:
            entries.popleft()
        return sum(n for _, n in entries)

    def allows(self, mailbox: str, count: int) -> bool:
        return self._total(mailbox) + count <= self.limit

    def spend(self, mailbox: str, count: int) -> None:
        self._used.setdefault(mailbox, collections.deque()).append((self._clock(), count))


class RelayHandler:
    """aiosmtpd hooks; runs on the listener's event loop."""

    def __init__(
        self,
        config: RelayConfig,
        queue: MessageQueue,
        password_ok: Callable[[RelayDevice, str], bool],
        on_queued: Callable[[QueuedEnvelope], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.clock = clock
        self.queue = queue
        self.password_ok = password_ok
        self.on_queued = on_queued
        self.budget = DailyBudget(config.limits.recipients_per_day, clock)

    # -- AUTH

    def authenticator(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        ip = _ip(session)
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        username = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        candidate = self.config.device_for_username(username)
        ok = candidate is not None and self.password_ok(candidate, password)
        device, refusal = authenticate(self.config, ip, username, ok)
        if device is None:
            assert refusal is not None
            text = reply(refusal, ip=ip)
            log.warning("refused AUTH from %s as %r: %s", ip, username[:64], text)
            return AuthResult(success=False, handled=False, message=text)
        log.info("%s signed in as %s (%s)", ip, device.username, device.name)
        return AuthResult(success=True, auth_data=device)

    @staticmethod
    def _device(session: Session) -> RelayDevice | None:
        data = session.auth_data
        return data if session.authenticated and isinstance(data, RelayDevice) else None

    # -- the transaction

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        device = self._device(session)
        ip = _ip(session)
        if device is None:
            text = reply(Refusal.AUTH_REQUIRED)
            log.warning("refused MAIL FROM %r from %s: not signed in", address[:200], ip)
            return text
        if not sender_allowed(device, address):
            text = reply(Refusal.SENDER_NOT_ALLOWED, sender=address[:200], allowed=device.mailbox)
            log.warning(
                "refused MAIL FROM %r from %s (%s): %s", address[:200], ip, device.username, text
            )
            return text
        if self.queue.count_for(device.username) >= self.config.limits.max_queued_per_device:
            text = reply(Refusal.QUEUE_FULL)
            log.warning("refused mail of %s: %s", device.username, text)
            return text
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Sender OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        device = self._device(session)
        if device is None:
            return reply(Refusal.AUTH_REQUIRED)
        limit = self.config.limits.recipients_per_message
        if len(envelope.rcpt_tos) >= limit:
            return reply(Refusal.TOO_MANY_RECIPIENTS, limit=limit)
        if not check_email(address).ok:
            return reply(Refusal.BAD_RECIPIENT)
        if not self.budget.allows(device.mailbox, len(envelope.rcpt_tos) + 1):
            text = reply(
                Refusal.DAILY_LIMIT,
                limit=self.config.limits.recipients_per_day,
                mailbox=device.mailbox,
            )
            log.warning("refused a recipient of %s: %s", device.username, text)
            return text
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Recipient OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        device = self._device(session)
        if device is None:
            return reply(Refusal.AUTH_REQUIRED)
        content = envelope.original_content or envelope.content
        if not isinstance(content, bytes):
            content = str(content or "").encode("utf-8", "surrogateescape")
        limit = self.config.limits.max_message_bytes
        if len(content) > limit:
            return reply(Refusal.TOO_BIG, limit=limit)
        headers = BytesHeaderParser(policy=default_policy).parsebytes(content)
        senders = [a for _, a in getaddresses([str(v) for v in headers.get_all("From") or []])]
        wrong = [a for a in senders if a and not sender_allowed(device, a)]
        if wrong:
            text = reply(
                Refusal.FROM_HEADER_NOT_ALLOWED, sender=wrong[0][:200], allowed=device.mailbox
            )
            log.warning("refused a message of %s from %s: %s", device.username, _ip(session), text)
            return text
        queued = QueuedEnvelope(
            id=new_id(),
            username=device.username,
            mailbox=device.mailbox,
            sender=str(envelope.mail_from),
            recipients=list(envelope.rcpt_tos),
            client_ip=_ip(session),
            received_at=self.clock(),
        )
        loop = asyncio.get_running_loop()
        try:
            # fsync takes milliseconds; other devices' sessions go on meanwhile.
            await loop.run_in_executor(None, self.queue.add, queued, content)
        except OSError as exc:
            log.error("could not queue a message of %s: %s", device.username, exc)
            return "451 4.3.0 The relay could not store the message; try again later"
        self.budget.spend(device.mailbox, len(queued.recipients))
        log.info(
            "queued %s from %s (%s) for %d recipient(s), %d bytes",
            queued.id,
            device.username,
            queued.client_ip,
            len(queued.recipients),
            len(content),
        )
        self.on_queued(queued)
        return f"250 2.0.0 Queued as {queued.id}"


class RelaySMTP(SMTP):
    """aiosmtpd's SMTP, refusing clients that are not configured devices at connect."""

    def __init__(
        self, handler: RelayHandler, sessions: set[RelaySMTP] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(handler, authenticator=handler.authenticator, **kwargs)
        self._relay_handler = handler
        # Open sessions, so a stopping relay closes each one instead of leaving it.
        self._sessions = sessions if sessions is not None else set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The first call brings the socket's own transport; after STARTTLS a second
        # call brings the TLS one on top of it. The socket's is the one to close.
        if getattr(self, "_raw_transport", None) is None:
            self._raw_transport: asyncio.BaseTransport | None = transport
        self._sessions.add(self)
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        raw = getattr(self, "_raw_transport", None)
        if raw is None or raw.is_closing():
            self._sessions.discard(self)

    def eof_received(self) -> bool | None:
        # aiosmtpd keeps a plain connection half-open after the client's EOF and cancels
        # its session task; a client that hangs up at once (a port check) cancels the
        # task before it ever runs, and the socket would stay open for good. SMTP has
        # no use for half-open connections: returning False closes it.
        super().eof_received()
        return False

    def close_session(self) -> None:
        """Drop the connection now (the relay is stopping): no TLS goodbye to wait for,
        which could outlive the event loop and leave the socket open."""
        for transport in (self.transport, getattr(self, "_raw_transport", None)):
            if transport is not None and not transport.is_closing():
                abort = getattr(transport, "abort", None)
                if callable(abort):
                    abort()
                else:
                    transport.close()

    async def _handle_client(self) -> None:
        assert self.session is not None
        ip = _ip(self.session)
        # The handler's config, not a copy: a device added while running counts at once.
        if not client_allowed(self._relay_handler.config, ip):
            text = reply(Refusal.CLIENT_NOT_ALLOWED, ip=ip)
            log.warning("refused a connection from %s: not a configured device", ip)
            await self.push(text)
            if self.transport is not None:
                self.transport.close()
            return
        try:
            await super()._handle_client()
        except asyncio.CancelledError:
            # aiosmtpd cancels this task when the client hangs up; a hang-up during
            # the greeting (a port check) escapes its own handler and would leave the
            # half-closed socket open for good.
            transport = getattr(self, "_raw_transport", None) or self.transport
            if transport is not None and not transport.is_closing():
                transport.close()
            raise


class _DropAiosmtpdDeprecation(logging.Filter):
    """aiosmtpd 1.4 warns about its own legacy `login_data` on every successful AUTH
    through an `authenticator` (it sets the attribute itself); nothing to act on."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = str(record.msg)
        # The second: said per connection on the opted-in plain port; the relay logs
        # that choice once when it starts.
        return not (
            text.startswith("Session.login_data is deprecated")
            or text.startswith("auth_required == True but auth_require_tls == False")
        )


class _AiosmtpdChatterAtDebug(logging.Filter):
    """aiosmtpd logs every command line at INFO; the relay's own log says what matters
    (who signed in, what was queued, refused, delivered) in plain words. Its chatter
    is kept at DEBUG (logged with --verbose only). A filter, not a level on the logger:
    the logger is aiosmtpd's, shared with everything else in the process."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)


_aiosmtpd_log = logging.getLogger("mail.log")
for _filter in (_DropAiosmtpdDeprecation, _AiosmtpdChatterAtDebug):
    if not any(isinstance(f, _filter) for f in _aiosmtpd_log.filters):
        _aiosmtpd_log.addFilter(_filter())
