"""The running relay: the SMTP listener, the durable queue and the delivery worker.

    server = RelayServer(config, secrets=SecretStore(), config_path=path).start()
    server.status()          # RelayStatus: queue length, last delivery, last error, tokens
    server.retry_now()       # try every queued message now (after a fix, "Retry now")
    server.stop()            # stops listening; the message in hand is finished first

Threads: one asyncio loop for the listener (every device session), one delivery
worker (onward submission, one message at a time, paced per mailbox at Exchange's 30
messages a minute). The queue on disk is the truth: a restart, a crash or a killed
process resumes from it.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import logging
import logging.handlers
import os
import ssl
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from wizard.core.errors import InvalidInput, NetworkError, SecretStoreError, WizardError
from wizard.core.i18n import tr
from wizard.core.relay import (
    Outcome,
    RelayConfig,
    RelayDevice,
    backoff_seconds,
    device_password_purpose,
    validate,
)
from wizard.services.relay.certs import ensure_certificate
from wizard.services.relay.config_store import data_dir, load_config
from wizard.services.relay.devices import password_matches
from wizard.services.relay.listener import SESSION_TIMEOUT, RelayHandler, RelaySMTP
from wizard.services.relay.onward import Result, Submitter
from wizard.services.relay.queue import (
    DeliveryState,
    Envelope,
    MessageQueue,
    Queued,
    new_id,
)
from wizard.services.relay.status import RelayStatus, TokenState, write_status
from wizard.services.relay.tokens import MailboxNeedsSignIn, MailboxTokens, load_refresh_token
from wizard.services.secrets import SecretStore

log = logging.getLogger("wizard.services.relay")

LOG_FILE = "relay.log"
START_TIMEOUT = 10.0
# The status file is rewritten at most this often (and when the relay stops).
STATUS_EVERY = 0.5
# A mailbox held for a missing or refused sign-in is looked at again this often (a
# new sign-in in the wizard writes the keyring; the service notices).
HOLD_CHECK_EVERY = 10.0
# 5.7.139 (SMTP AUTH off for the mailbox) needs an admin; try again this often.
HELD_RETRY = 300.0
MINUTE = 60.0
# How often a running relay looks whether its settings file changed.
CONFIG_CHECK_EVERY = 2.0

Backoff = Callable[[int], float]


class RelayServer:
    def __init__(
        self,
        config: RelayConfig,
        *,
        secrets: SecretStore | None = None,
        config_path: Path | None = None,
        backoff: Backoff = backoff_seconds,
        clock: Callable[[], float] = time.time,
        log_file: bool = True,
    ) -> None:
        self.config = config
        self.secrets = secrets or SecretStore()
        self.config_path = config_path
        self.directory = data_dir(config, config_path)
        self._backoff = backoff
        self._clock = clock
        self._log_file = log_file
        self._lock = threading.RLock()
        # start/stop only; the worker never takes it (stop joins the worker).
        self._lifecycle = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._worker: threading.Thread | None = None
        self._servers: list[asyncio.base_events.Server] = []
        self._handler: RelayHandler | None = None
        self._config_mtime: float | None = None
        self._config_checked = 0.0
        self._sessions: set[RelaySMTP] = set()
        self._queue: MessageQueue | None = None
        self._tokens: MailboxTokens | None = None
        self._submitter: Submitter | None = None
        self._passwords: dict[str, str | None] = {}
        self._status = RelayStatus()
        self._status_written = 0.0
        self._status_dirty = True
        self._sent_times: dict[str, collections.deque[float]] = {}
        # mailbox -> (why, fingerprint of the refresh token when held, next look)
        self._holds: dict[str, tuple[str, str, float]] = {}
        self._auth_failures: dict[str, int] = {}
        # Bumped by retry_now(): an attempt in flight when it was asked retries at once.
        self._retry_epoch = 0
        self._attempt_epoch = 0
        self._log_handler: logging.Handler | None = None
        self.addresses: list[tuple[str, int, bool]] = []  # (host, port, starttls)

    # -- lifecycle -------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    @property
    def queue(self) -> MessageQueue:
        if self._queue is None:
            raise RuntimeError("the relay is not running; call start() first")
        return self._queue

    def port(self, starttls: bool = True) -> int:
        return next(p for _, p, tls in self.addresses if tls == starttls)

    def __enter__(self) -> RelayServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _check(self) -> None:
        problems = [
            p
            for p in validate(self.config)
            # Port 0 (any free port) is for tests and the benchmark only.
            if not (p.field == "submission_port" and self.config.submission_port == 0)
            and not (p.field == "plain_port" and self.config.plain_port == 0)
        ]
        if problems:
            raise InvalidInput(
                tr("The relay's settings cannot be used: {problem}").format(
                    problem=problems[0].message
                ),
                detail="; ".join(f"{p.field}: {p.message}" for p in problems),
            )

    def start(self) -> RelayServer:
        with self._lifecycle:
            if self.running:
                return self
            self._check()
            self.directory.mkdir(parents=True, exist_ok=True)
            self._attach_log()
            try:
                self._start()
            except BaseException:
                self._shutdown()
                raise
        return self

    def _start(self) -> None:
        config = self.config
        # Read every device's password once: a locked keyring fails the start with its
        # own explanation rather than each device's first AUTH.
        self._passwords = {
            d.username: self.secrets.get(config.site, device_password_purpose(d.username))
            for d in config.devices
        }
        self._queue = MessageQueue(self.directory)
        self._tokens = MailboxTokens(config, self.secrets, clock=self._clock)
        self._submitter = Submitter(config.onward, local_hostname=config.hostname)
        context = self._tls_context()
        handler = RelayHandler(
            config, self._queue, self._password_ok, self._queued, clock=self._clock
        )
        self._handler = handler
        self._config_mtime = self._mtime()
        loop = asyncio.new_event_loop()
        self._loop = loop
        ready = threading.Event()
        self._loop_thread = threading.Thread(
            target=self._run_loop, args=(loop, ready), name="relay-listener", daemon=True
        )
        self._loop_thread.start()
        ready.wait(START_TIMEOUT)
        # (port, TLS required): 587 requires STARTTLS before AUTH; the opted-in plain
        # port offers STARTTLS too but lets a device without TLS sign in in the clear.
        listen: list[tuple[int, bool]] = [(config.submission_port, True)]
        if config.plain_port is not None:
            listen.append((config.plain_port, False))
        host = "" if config.allow_all_interfaces else config.listen_address
        for port, tls in listen:
            future = asyncio.run_coroutine_threadsafe(
                self._serve(handler, host, port, context, tls), loop
            )
            try:
                server = future.result(START_TIMEOUT)
            except PermissionError as exc:
                raise NetworkError(
                    tr("The relay may not listen on port {port} on this computer.").format(
                        port=port
                    ),
                    tr(
                        "Linux lets only services with the right to do so use ports below "
                        "1024 (587 and 25 are)."
                    ),
                    tr(
                        "Install the relay as a system service (install-service --system), "
                        "which grants that right, or run it as an administrator."
                    ),
                    detail=f"{type(exc).__name__}: {exc}",
                    retryable=False,
                ) from None
            except OSError as exc:
                raise NetworkError(
                    tr("The relay cannot listen on {address} port {port}.").format(
                        address=config.listen_address, port=port
                    ),
                    tr("Another program uses the port, or the address is not this computer's."),
                    tr("Choose this computer's own LAN address, or stop the other mail server."),
                    detail=f"{type(exc).__name__}: {exc}",
                    retryable=False,
                ) from None
            self._servers.append(server)
            for sock in server.sockets:
                bound = sock.getsockname()
                self.addresses.append((str(bound[0]), int(bound[1]), tls))
        with self._lock:
            self._status = RelayStatus(
                running=True,
                pid=os.getpid(),
                listening=[
                    f"{h}:{p} ({'STARTTLS' if tls else 'plain'})" for h, p, tls in self.addresses
                ],
                ports=[[h, p, tls] for h, p, tls in self.addresses],
                queued=len(self._queue),
                failed=self._queue.failed_count(),
                tokens={m: self._initial_token_state(m) for m in config.mailboxes},
                started_at=time.time(),
            )
        self._write_status(force=True)
        self._worker = threading.Thread(target=self._work, name="relay-delivery", daemon=True)
        self._worker.start()
        if config.plain_port is not None:
            log.info(
                "port %d accepts AUTH without TLS for devices that cannot encrypt "
                "(opted in); keep it to the office network",
                config.plain_port,
            )
        log.info(
            "relay started: %s; %d message(s) in the queue",
            ", ".join(self._status.listening),
            len(self._queue),
        )

    def _initial_token_state(self, mailbox: str) -> str:
        found = load_refresh_token(self.secrets, self.config.site, mailbox)
        return (TokenState.OK if found else TokenState.MISSING).value

    def _tls_context(self) -> ssl.SSLContext:
        config = self.config
        if config.cert_file:
            cert_file, key_file = config.cert_file, config.key_file
        else:
            made = ensure_certificate(
                self.directory,
                site=config.site,
                hostname=config.hostname,
                address=config.listen_address,
            )
            cert_file, key_file = str(made.cert_file), str(made.key_file)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        # TLS 1.2 or newer, as Exchange Online asks of devices too.
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(cert_file, key_file)
        except (OSError, ssl.SSLError) as exc:
            raise WizardError(
                tr("The relay's certificate cannot be used."),
                next_step=tr("Check the certificate and key files, or let the relay make its own."),
                detail=f"{type(exc).__name__}: {exc}",
            ) from None
        return context

    @staticmethod
    def _run_loop(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        loop.run_forever()
        loop.close()

    async def _serve(
        self,
        handler: RelayHandler,
        host: str,
        port: int,
        context: ssl.SSLContext,
        tls_required: bool,
    ) -> asyncio.base_events.Server:
        loop = asyncio.get_running_loop()

        def factory() -> RelaySMTP:
            with warnings.catch_warnings():
                # aiosmtpd warns on every connection that AUTH without TLS is risky; on
                # the plain port that is the technician's explicit choice (logged once
                # at start), not news for each device.
                warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
                return self._session(handler, context, tls_required, loop)

        return await loop.create_server(factory, host=host or None, port=port)

    def _session(
        self,
        handler: RelayHandler,
        context: ssl.SSLContext,
        tls_required: bool,
        loop: asyncio.AbstractEventLoop,
    ) -> RelaySMTP:
        return RelaySMTP(
            handler,
            self._sessions,
            hostname=self.config.hostname,
            ident="Relay Wizard relay",
            tls_context=context,
            require_starttls=tls_required,
            auth_required=True,
            # Plain port: AUTH without TLS is what the technician opted in to.
            auth_require_tls=tls_required,
            data_size_limit=self.config.limits.max_message_bytes,
            timeout=SESSION_TIMEOUT,
            loop=loop,
        )

    def stop(self) -> None:
        with self._lifecycle:
            self._shutdown()

    def _shutdown(self) -> None:
        self._stopping.set()
        self._wake.set()
        loop = self._loop
        if loop is not None and loop.is_running():

            async def close() -> None:
                for server in self._servers:
                    server.close()
                current = asyncio.current_task()
                # A connection accepted just now still gets its session: let the loop
                # finish making it, then drop it with the others. Cancelling the loop's
                # own accept task instead would leave its socket open.
                for _ in range(5):
                    await asyncio.sleep(0)
                    for session in list(self._sessions):
                        session.close_session()
                    pending = [t for t in asyncio.all_tasks() if t is not current]
                    if not pending:
                        break
                    await asyncio.wait(pending, timeout=1.0)
                leftover = [t for t in asyncio.all_tasks() if t is not current]
                for task in leftover:
                    task.cancel()
                await asyncio.gather(*leftover, return_exceptions=True)
                for server in self._servers:
                    await server.wait_closed()
                # Closing transports finish in the loop's next rounds (call_soon).
                for _ in range(3):
                    await asyncio.sleep(0)

            try:
                asyncio.run_coroutine_threadsafe(close(), loop).result(START_TIMEOUT)
            except (TimeoutError, RuntimeError):
                pass
            loop.call_soon_threadsafe(loop.stop)
        if self._loop_thread is not None:
            self._loop_thread.join(START_TIMEOUT)
        if self._worker is not None:
            self._worker.join(START_TIMEOUT + 60)
        if self._submitter is not None:
            self._submitter.close()
        if self._queue is not None:
            with self._lock:
                self._status.running = False
            self._write_status(force=True)
            log.info("relay stopped; %d message(s) left in the queue", len(self._queue))
        self._servers = []
        self._loop = None
        self._loop_thread = None
        self._worker = None
        self.addresses = []
        self._detach_log()
        self._stopping.clear()

    def _attach_log(self) -> None:
        if not self._log_file:
            return
        handler = logging.handlers.RotatingFileHandler(
            self.directory / LOG_FILE, maxBytes=1_000_000, backupCount=3, encoding="utf-8"
        )
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        handler.setLevel(logging.INFO)
        log.addHandler(handler)
        if log.getEffectiveLevel() > logging.INFO:
            log.setLevel(logging.INFO)
        self._log_handler = handler

    def _detach_log(self) -> None:
        if self._log_handler is not None:
            log.removeHandler(self._log_handler)
            self._log_handler.close()
            self._log_handler = None

    # -- settings changed while running ------------------------------------------------

    def _mtime(self) -> float | None:
        if self.config_path is None:
            return None
        try:
            return self.config_path.stat().st_mtime
        except OSError:
            return None

    def reload_if_changed(self, *, force: bool = False) -> bool:
        """Take devices and limits from a changed settings file (a device added in the
        wizard or with `relay add-device`) without a restart; True if taken.

        Where it listens, its certificate and where it sends onward need a restart:
        such a change is logged and left for the next start.
        """
        if self.config_path is None or self._handler is None:
            return False
        mtime = self._mtime()
        if not force and (mtime is None or mtime == self._config_mtime):
            return False
        self._config_mtime = mtime
        try:
            new = load_config(self.config_path)
        except WizardError as exc:
            log.warning("the changed relay settings cannot be used, keeping the old: %s", exc)
            return False
        kept = replace(new, devices=self.config.devices, limits=self.config.limits)
        if kept != self.config:
            log.warning(
                "the relay's address, certificate or onward settings changed; they take "
                "effect when the relay is restarted"
            )
        passwords = {
            d.username: self.secrets.get(new.site, device_password_purpose(d.username))
            for d in new.devices
        }
        taken = replace(self.config, devices=new.devices, limits=new.limits)
        with self._lock:
            self._passwords = passwords
            self.config = taken
            self._handler.config = taken
            self._handler.budget.limit = taken.limits.recipients_per_day
            for mailbox in taken.mailboxes:
                self._status.tokens.setdefault(mailbox, self._initial_token_state(mailbox))
            self._status_dirty = True
        log.info("relay settings reloaded: %d device(s)", len(taken.devices))
        return True

    # -- what the listener asks -------------------------------------------------------

    def _password_ok(self, device: RelayDevice, given: str) -> bool:
        return password_matches(self._passwords.get(device.username), given)

    def _queued(self, envelope: Envelope) -> None:
        with self._lock:
            self._status_dirty = True
        self._wake.set()

    # -- status -----------------------------------------------------------------------

    def status(self) -> RelayStatus:
        with self._lock:
            status = RelayStatus.from_dict(self._status.to_dict())
        if self._queue is not None:
            status.queued = len(self._queue)
            status.failed = self._queue.failed_count()
        return status

    def _set(self, **changes: object) -> None:
        with self._lock:
            for name, value in changes.items():
                setattr(self._status, name, value)
            self._status_dirty = True

    def _error(self, text: str) -> None:
        self._set(last_error=text, last_error_at=time.time())

    def _set_token(self, mailbox: str, state: TokenState) -> None:
        with self._lock:
            if self._status.tokens.get(mailbox) != state.value:
                self._status.tokens[mailbox] = state.value
                self._status_dirty = True

    def _write_status(self, force: bool = False) -> None:
        now = time.monotonic()
        with self._lock:
            if not force and (not self._status_dirty or now - self._status_written < STATUS_EVERY):
                return
            self._status_dirty = False
            self._status_written = now
        status = self.status()
        try:
            write_status(self.directory, status)
        except OSError as exc:
            log.error("could not write the relay's status file: %s", exc)

    # -- delivery ---------------------------------------------------------------------

    def retry_now(self) -> None:
        """Try every queued message now: after the network is back or a new sign-in."""
        with self._lock:
            self._holds.clear()
            self._auth_failures.clear()
            self._retry_epoch += 1
            if self._queue is not None:
                self._queue.retry_all_now()
        self._wake.set()

    def _rate_free_at(self, mailbox: str, now: float) -> float:
        """When the mailbox may send its next message (now, or when a minute slot frees)."""
        times = self._sent_times.setdefault(mailbox, collections.deque())
        while times and times[0] <= now - MINUTE:
            times.popleft()
        if len(times) < self.config.limits.messages_per_minute:
            return now
        return times[0] + MINUTE

    def _fingerprint(self, mailbox: str) -> str:
        try:
            token = load_refresh_token(self.secrets, self.config.site, mailbox) or ""
        except SecretStoreError:
            return "?"
        return hashlib.sha256(token.encode()).hexdigest()

    def _held(self, mailbox: str, now: float) -> bool:
        with self._lock:
            hold = self._holds.get(mailbox)
        if hold is None:
            return False
        why, fingerprint, look_at = hold
        if now < look_at:
            return True
        if why == "sign-in" and self._fingerprint(mailbox) == fingerprint:
            with self._lock:
                self._holds[mailbox] = (why, fingerprint, now + HOLD_CHECK_EVERY)
            return True
        with self._lock:
            self._holds.pop(mailbox, None)
            self._auth_failures.pop(mailbox, None)
        return False

    def _hold(self, mailbox: str, why: str, wait: float = HOLD_CHECK_EVERY) -> None:
        with self._lock:
            self._holds[mailbox] = (why, self._fingerprint(mailbox), self._clock() + wait)

    def _next(self) -> tuple[Queued | None, float]:
        """The next message to send, or None and how long to wait."""
        now = self._clock()
        wait = 5.0
        for item in self.queue.items():
            mailbox = item.envelope.mailbox
            if self._held(mailbox, now):
                continue
            due = max(item.state.next_attempt, self._rate_free_at(mailbox, now))
            if due <= now:
                return item, 0.0
            wait = min(wait, due - now)
        return None, max(wait, 0.01)

    def _work(self) -> None:
        assert self._submitter is not None
        while not self._stopping.is_set():
            try:
                self._check_config()
                # Cleared before looking, so a message queued meanwhile wakes the wait.
                self._wake.clear()
                item, wait = self._next()
                if item is None:
                    self._write_status()
                    self._submitter.close_idle()
                    limit = STATUS_EVERY if self._status_dirty else CONFIG_CHECK_EVERY
                    self._wake.wait(min(wait, limit))
                    continue
                self._deliver(item)
                self._write_status()
            except Exception as exc:  # noqa: BLE001 - the worker must outlive any one message
                log.exception("the delivery worker hit an unexpected error")
                self._error(f"{type(exc).__name__}: {exc}"[:300])
                self._stopping.wait(1.0)
        self._write_status(force=True)

    def _check_config(self) -> None:
        now = time.monotonic()
        if now - self._config_checked >= CONFIG_CHECK_EVERY:
            self._config_checked = now
            self.reload_if_changed()

    def _deliver(self, item: Queued) -> None:
        assert self._tokens is not None and self._submitter is not None
        envelope = item.envelope
        mailbox = envelope.mailbox
        tokens = self._tokens
        with self._lock:
            self._attempt_epoch = self._retry_epoch
        try:
            content = self.queue.content(envelope.id)
        except OSError as exc:
            self._fail(item, f"the queued file cannot be read: {exc}")
            return
        try:
            result = self._submitter.send(
                mailbox,
                envelope.sender,
                envelope.recipients,
                content,
                lambda: tokens.access_token(mailbox),
            )
        except MailboxNeedsSignIn as exc:
            missing = not tokens.has_refresh_token(mailbox)
            self._set_token(mailbox, TokenState.MISSING if missing else TokenState.REFUSED)
            self._error(exc.plain())
            log.warning("holding the mail of %s: %s", mailbox, exc.plain())
            self._hold(mailbox, "sign-in")
            return
        except (NetworkError, SecretStoreError) as exc:
            if isinstance(exc, NetworkError):
                self._set_token(mailbox, TokenState.UNREACHABLE)
            self._retry(item, exc.plain())
            return
        self._settle(item, result)

    def _settle(self, item: Queued, result: Result) -> None:
        envelope = item.envelope
        mailbox = envelope.mailbox
        if result.outcome is Outcome.DELIVERED:
            self.queue.delivered(envelope.id, result.reply)
            self._sent_times.setdefault(mailbox, collections.deque()).append(self._clock())
            self._auth_failures.pop(mailbox, None)
            self._set_token(mailbox, TokenState.OK)
            with self._lock:
                self._status.delivered += 1
                self._status.last_delivery = time.time()
                self._status_dirty = True
            log.info("delivered %s as %s: %s", envelope.id, mailbox, result.reply)
            for rcpt, reply in result.refused:
                log.warning("%s: recipient %s refused: %s", envelope.id, rcpt, reply)
                self._report(envelope, f"recipient {rcpt} refused: {reply}")
            return
        if result.outcome is Outcome.NEEDS_SIGN_IN:
            assert self._tokens is not None
            self._tokens.forget_access_token(mailbox)
            failures = self._auth_failures.get(mailbox, 0) + 1
            self._auth_failures[mailbox] = failures
            if failures >= 2:
                # A fresh token was refused too: the sign-in itself is no good.
                self._set_token(mailbox, TokenState.REFUSED)
                text = tr(
                    "Microsoft 365 refused the relay's sign-in for {mailbox} ({reply}). "
                    "Its mail waits in the queue; sign in as {mailbox} again in the "
                    "wizard's Relay step."
                ).format(mailbox=mailbox, reply=result.reply)
                self._error(text)
                log.warning("holding the mail of %s: %s", mailbox, text)
                self._hold(mailbox, "sign-in")
            return
        if result.outcome is Outcome.HELD:
            text = tr(
                "Microsoft 365 does not let {mailbox} send with SMTP AUTH ({reply}). Its mail "
                "waits in the queue; switch SMTP AUTH on for this mailbox (wizard: Plan)."
            ).format(mailbox=mailbox, reply=result.reply)
            self._error(text)
            log.warning("holding the mail of %s: %s", mailbox, text)
            self._hold(mailbox, "tenant", HELD_RETRY)
            return
        if result.outcome is Outcome.RETRY:
            self._retry(item, result.reply)
            return
        self._fail(item, result.reply)

    def _retry(self, item: Queued, why: str) -> None:
        now = self._clock()
        state = item.state
        first = state.first_error_at if state.first_error_at is not None else now
        if now - min(first, item.envelope.received_at) > self.config.limits.give_up_after_seconds:
            self._fail(item, f"gave up after {state.attempts + 1} attempts: {why}")
            return
        attempts = state.attempts + 1
        delay = self._backoff(attempts)
        # Under the lock retry_now() takes: a "retry now" asked while this attempt was
        # under way is not undone by writing the backoff after it.
        with self._lock:
            if self._retry_epoch != self._attempt_epoch:
                delay = 0.0
            self.queue.retry_later(
                item.envelope.id,
                DeliveryState(attempts, now + delay, why[:500], first),
            )
        self._error(why)
        log.warning(
            "%s not delivered yet (attempt %d), next try in %.0f s: %s",
            item.envelope.id,
            attempts,
            delay,
            why,
        )

    def _fail(self, item: Queued, reason: str) -> None:
        self.queue.fail(item.envelope.id, reason)
        self._error(reason)
        log.error("%s failed for good: %s", item.envelope.id, reason)
        self._report(item.envelope, reason)

    def _report(self, envelope: Envelope, reason: str) -> None:
        """A short note to the admin address, sent as the device's mailbox (queued)."""
        admin = self.config.admin_report_address
        if not admin or envelope.report:
            return
        message = EmailMessage()
        message["From"] = envelope.mailbox
        message["To"] = admin
        message["Subject"] = tr("Relay: a message could not be delivered")
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = make_msgid(domain=self.config.hostname)
        message.set_content(
            tr(
                "The relay on {host} could not deliver a message.\n\n"
                "Device user: {user}\nSender: {sender}\nRecipients: {rcpts}\n"
                "Received: {received}\nReason: {reason}\n\n"
                "The message is kept in the relay's failed folder as {id}.msg.\n"
            ).format(
                host=self.config.hostname,
                user=envelope.username,
                sender=envelope.sender,
                rcpts=", ".join(envelope.recipients),
                received=formatdate(envelope.received_at, localtime=True),
                reason=reason,
                id=envelope.id,
            )
        )
        report = Envelope(
            id=new_id(),
            username=envelope.username,
            mailbox=envelope.mailbox,
            sender=envelope.mailbox,
            recipients=[admin],
            client_ip="",
            received_at=self._clock(),
            report=True,
        )
        try:
            self.queue.add(report, message.as_bytes())
        except OSError as exc:
            log.error("could not queue the report to %s: %s", admin, exc)
