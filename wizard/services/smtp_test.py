"""Send one test message exactly the way the device will, and record every line of it.

The conversation runs through `smtplib` with every line recorded and redacted as it
happens (`smtp_wire`), so a password or token can never reach the transcript, the
log, the JSON output or an exception.

TLS is always verified: against the system's trusted authorities, or against a CA
file trusted explicitly (the sandbox's CA, or `--cafile`). There is no switch to
turn verification off.

Typical use:

    request = SendTestRequest.from_settings(settings, ["it@contoso.com"], cafile=ca)
    result = SmtpTest(request, Credentials(password=pw), on_line=print).run()
    result.verdict.title  # plain words, whatever happened
"""

from __future__ import annotations

import logging
import math
import secrets
import smtplib
import ssl
import textwrap
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.policy import SMTPUTF8 as SMTPUTF8_POLICY
from email.utils import format_datetime
from typing import Any, Protocol

from wizard.core.clouds import Cloud
from wizard.core.device_settings import AuthKind, DeviceSettings, Security
from wizard.core.errors import InvalidInput
from wizard.core.i18n import tr
from wizard.core.methods import METHOD_INFO, Method
from wizard.core.smtp_codes import (
    ConnectionFailure,
    Verdict,
    explain_accepted,
    explain_cancelled,
    explain_connection_failure,
    explain_endless_challenge,
    explain_envelope_accepted,
    explain_international_address,
    explain_mechanism_not_offered,
    explain_reply,
)
from wizard.core.transcript import (
    Direction,
    Outcome,
    SendEndpoint,
    ServerReply,
    SmtpTestResult,
    Stage,
    TlsDetails,
    Transcript,
    TranscriptLine,
)
from wizard.core.validation import check_email, domain_to_ascii
from wizard.services.smtp_wire import (
    Cancelled,
    Recorder,
    RecordingSMTP,
    ServerMisbehaved,
    b64,
    classify_failure,
    decode_challenge,
    helo_name,
    legacy_tls_version,
    text_lines,
    tls_context,
    tls_details,
    tls_lines,
)

log = logging.getLogger(__name__)

TOKEN_PREFIX = "RW-"
TEST_HEADER = "X-Relay-Wizard-Test"
DEFAULT_TIMEOUT = 20.0
# The longest time limit the test accepts: beyond it a test is no longer "a test".
MAX_TIMEOUT = 600.0
# The whole conversation may take this many time limits (connect, greeting, TLS, sign-in
# and the message each take one answer or two), so a server that answers each step just
# in time still cannot hold the test for long.
CONVERSATION_TIMEOUTS = 3
# No 0/O or 1/I: the reference is read aloud and typed into a search box.
_TOKEN_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_RELAY_METHODS = {Method.DIRECT_SEND, Method.CONNECTOR}
# EHLO answers that mean "I do not know EHLO" (RFC 5321 4.1.4): only then try HELO.
_EHLO_UNKNOWN = {500, 502, 504}

TokenProvider = Callable[[], str]


class CancelState(Protocol):
    @property
    def cancelled(self) -> bool: ...


LineCallback = Callable[[TranscriptLine], None]


def new_test_token() -> str:
    """A short unique reference ("RW-7K3M9QX2TD") to find the message again."""
    return TOKEN_PREFIX + "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(10))


@dataclass(frozen=True)
class SendTestRequest:
    """Where and how to send: the device's settings plus the test's recipients."""

    method: Method
    host: str
    port: int
    security: Security
    tls_required: bool
    auth: AuthKind
    username: str | None
    sender: str
    recipients: tuple[str, ...]
    # PEM file of the certificate authority to trust instead of the system's store.
    cafile: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    # The name the wizard greets with (EHLO); this computer's name by default.
    helo_name: str | None = None
    # Troubleshooting: stop once the recipients are accepted and send nothing.
    envelope_only: bool = False

    @classmethod
    def from_settings(
        cls,
        settings: DeviceSettings,
        recipients: Sequence[str],
        *,
        cloud: Cloud | None = None,
        cafile: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> SendTestRequest:
        """The request for a device's settings; trusts the cloud's CA unless told otherwise."""
        return cls(
            method=settings.method,
            host=settings.server,
            port=settings.port,
            security=settings.security,
            tls_required=settings.tls_required,
            auth=settings.auth,
            username=settings.username,
            sender=settings.sender,
            recipients=tuple(recipients),
            cafile=cafile or (cloud.ca_bundle if cloud is not None else None),
            timeout=timeout,
        )

    @property
    def conversation_limit(self) -> float:
        """Seconds the whole conversation may take, from connecting to QUIT."""
        return self.timeout * CONVERSATION_TIMEOUTS

    @property
    def endpoint(self) -> SendEndpoint:
        return SendEndpoint(
            self.host,
            self.port,
            str(self.security),
            self.tls_required,
            str(self.auth),
            self.username if self.auth is not AuthKind.NONE else None,
        )

    def problems(self) -> list[str]:
        """What is wrong with the request, in plain words (empty when it can be sent)."""
        found = []
        if not self.host.strip():
            found.append(tr("Enter the server's name."))
        elif not self.host.isprintable() or any(c.isspace() for c in self.host.strip()):
            found.append(tr("The server's name has spaces or control characters in it."))
        if not 0 < self.port < 65536:
            found.append(tr("The port must be a number from 1 to 65535."))
        sender = check_email(self.sender)
        if not sender.ok:
            found.append(tr("Sender: ") + sender.error)
        if not self.recipients:
            found.append(tr("Enter a recipient."))
        for recipient in self.recipients:
            checked = check_email(recipient)
            if not checked.ok:
                found.append(tr("Recipient: ") + checked.error)
        if self.auth is not AuthKind.NONE and not (self.username or "").strip():
            found.append(tr("This method signs in: enter the user name (the mailbox address)."))
        elif self.username is not None and not self.username.isprintable():
            # A line break would end the AUTH line early and forge the next one.
            found.append(tr("The user name has a line break or control character in it."))
        if not math.isfinite(self.timeout) or not 0 < self.timeout <= MAX_TIMEOUT:
            found.append(
                tr(
                    "The time limit must be a number of seconds above 0 and at most {max:g}."
                ).format(max=MAX_TIMEOUT)
            )
        return found


class Credentials:
    """The secret for signing in. Its repr never shows it."""

    __slots__ = ("_password", "_token_provider")

    def __init__(
        self, *, password: str | None = None, token_provider: TokenProvider | None = None
    ) -> None:
        self._password = password
        self._token_provider = token_provider

    @property
    def password(self) -> str | None:
        return self._password

    def token(self) -> str | None:
        return self._token_provider() if self._token_provider is not None else None

    def __repr__(self) -> str:
        return "Credentials(<hidden>)"


def envelope_address(address: str) -> tuple[str, bool]:
    """The address as MAIL FROM / RCPT TO carry it (the domain in its ASCII form), and
    whether it needs SMTPUTF8 (letters beyond ASCII before the @)."""
    local, _, domain = address.rpartition("@")
    try:
        domain = domain_to_ascii(domain)
    except UnicodeError:
        pass  # validated before; leave it for the server to judge
    return f"{local}@{domain}", not local.isascii()


def build_message(request: SendTestRequest, token: str, now: datetime) -> tuple[EmailMessage, str]:
    """The test message (plain text, the reference in Subject and a header)."""
    domain = request.sender.rpartition("@")[2] or "relay-wizard.invalid"
    # Short enough to stay on one header line; the reference makes it easy to find.
    message_id = f"<{token}.{secrets.token_hex(6)}@{domain}>"
    subject = tr("Relay Wizard test message {token}").format(token=token)
    message = EmailMessage(policy=SMTP_POLICY)
    # Headers carry domains in their ASCII form, as the envelope does.
    message["From"] = envelope_address(request.sender)[0]
    message["To"] = ", ".join(envelope_address(r)[0] for r in request.recipients)
    message["Subject"] = subject
    message["Date"] = format_datetime(now.astimezone())
    message["Message-ID"] = message_id
    message[TEST_HEADER] = token
    security = tr("STARTTLS") if request.security is Security.STARTTLS else tr("no encryption")
    signed_in = (
        tr("signed in as {user}").format(user=request.username)
        if request.auth is not AuthKind.NONE
        else tr("without signing in")
    )
    paragraphs = [
        tr("This is a test message from Relay Wizard for Microsoft 365."),
        tr("It was sent the way the device will send: {method}.").format(
            method=METHOD_INFO[request.method].title
        ),
        tr("Server {host}, port {port}, {security}, {signed_in}.").format(
            host=request.host, port=request.port, security=security, signed_in=signed_in
        )
        + "\n"
        + tr("Reference: {token}").format(token=token)
        + "\n"
        + tr("Sent: {when}").format(when=now.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")),
        tr("If you can read this, the settings work. There is no need to reply."),
    ]
    # Short lines keep the body readable as it is (no quoted-printable soft breaks).
    body = "\n\n".join(
        "\n".join(textwrap.fill(line, 72) for line in paragraph.split("\n"))
        for paragraph in paragraphs
    )
    message.set_content(body + "\n")
    return message, message_id


class _NoSmtpUtf8(Exception):
    """Internal: an international address, and the server does not offer SMTPUTF8."""


class _NoStartTls(Exception):
    """Internal: encryption is required and the server does not offer STARTTLS."""


class _EndlessChallenge(Exception):
    """Internal: the server answered every sign-in step with yet another challenge."""


class _Refused(Exception):
    """Internal: the server answered a step with an error."""

    def __init__(self, stage: Stage, code: int, text: str) -> None:
        super().__init__(stage, code)
        self.stage = stage
        self.code = code
        self.text = text


def _text(reply: bytes | str) -> str:
    raw = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return " ".join(part.strip() for part in raw.splitlines() if part.strip())


class SmtpTest:
    """One test message: `run()` it on a worker thread, `cancel()` from any thread."""

    def __init__(
        self,
        request: SendTestRequest,
        credentials: Credentials | None = None,
        *,
        on_line: LineCallback | None = None,
        now: Callable[[], datetime] | None = None,
        token: str | None = None,
        cancel: CancelState | None = None,
    ) -> None:
        """cancel: anything with a `cancelled` property (the UI's CancelToken, a
        services.cancel.CancelFlag); looked at every tenth of a second."""
        problems = request.problems()
        if problems:
            raise InvalidInput(" ".join(problems))
        self.request = request
        self.token = token or new_test_token()
        self._credentials = credentials or Credentials()
        self._now = now or (lambda: datetime.now(UTC))
        self._transcript = Transcript(on_line)
        self._recorder = Recorder(self._transcript, self._now)
        self._stop = threading.Event()
        self._cancel = cancel
        # Filled in as the conversation goes; read by _result().
        self._stage = Stage.CONNECT
        self._banner = ""
        self._capabilities: tuple[str, ...] = ()
        self._tls: TlsDetails | None = None
        self._mechanism: str | None = None
        self._smtp: RecordingSMTP | None = None

    def cancel(self) -> None:
        self._stop.set()

    def _is_stopped(self) -> bool:
        return self._stop.is_set() or (self._cancel is not None and self._cancel.cancelled)

    @property
    def cancelled(self) -> bool:
        return self._is_stopped()

    def run(self) -> SmtpTestResult:
        """Send the message; every outcome (also a failure) is a result, never a raise.

        Raises only before connecting: InvalidInput for a missing password or a bad CA
        file, and whatever the token provider raises (a SignInError).
        """
        request = self.request
        secret = self._secret()
        context, trusted_by = tls_context(request.cafile)
        started = self._now()
        message, message_id = build_message(request, self.token, started)
        info = self._recorder.add
        info(
            Direction.INFO,
            tr("Test {token}: {method} via {host}:{port}").format(
                token=self.token,
                method=request.method.value,
                host=request.host,
                port=request.port,
            ),
        )
        smtp = RecordingSMTP(
            self._recorder,
            request.timeout,
            request.helo_name or helo_name(),
            self._is_stopped,
            deadline=time.monotonic() + request.conversation_limit,
        )
        self._smtp = smtp
        outcome: Outcome
        verdict: Verdict
        failure: ConnectionFailure | None = None
        reply: ServerReply | None = None
        detail = ""
        try:
            final = self._converse(smtp, secret, context, trusted_by, message)
            if request.envelope_only:
                outcome = Outcome.CHECKED
                reply = ServerReply(Stage.RCPT, final[0], final[1])
                verdict = explain_envelope_accepted(f"{final[0]} {final[1]}")
                info(Direction.INFO, tr("Stopped before the message: nothing was sent."))
            else:
                outcome = Outcome.SENT
                self._stage = Stage.DONE
                reply = ServerReply(Stage.DATA, final[0], final[1])
                verdict = explain_accepted(f"{final[0]} {final[1]}")
                info(Direction.INFO, tr("Accepted: {title}").format(title=verdict.title))
        except Cancelled:
            outcome = Outcome.CANCELLED
            verdict = explain_cancelled()
            info(Direction.INFO, tr("Cancelled."))
        except _NoSmtpUtf8:
            outcome = Outcome.REFUSED
            verdict = explain_international_address()
            info(Direction.INFO, tr("Stopped: {title}").format(title=verdict.title))
        except _EndlessChallenge:
            outcome = Outcome.REFUSED
            verdict = explain_endless_challenge()
            info(Direction.INFO, tr("Stopped: {title}").format(title=verdict.title))
        except ServerMisbehaved as misbehaved:
            # No polite QUIT: its answer would be as endless as the last one.
            smtp.close()
            outcome = Outcome.UNREACHABLE
            failure = misbehaved.failure
            detail = self._recorder.clean(misbehaved.detail)
            verdict = explain_connection_failure(failure, request.host, request.port)
            info(
                Direction.INFO,
                tr("Stopped at {stage}: {title} ({detail})").format(
                    stage=self._stage.value, title=verdict.title, detail=detail
                ),
            )
        except _NoStartTls:
            outcome = Outcome.UNREACHABLE
            failure = ConnectionFailure.STARTTLS_UNAVAILABLE
            verdict = explain_connection_failure(failure, request.host, request.port)
            info(Direction.INFO, tr("Stopped: {title}").format(title=verdict.title))
        except _Refused as refused:
            outcome = Outcome.REFUSED
            reply = ServerReply(refused.stage, refused.code, refused.text)
            verdict = self._explain_refusal(refused)
            info(
                Direction.INFO,
                tr("Refused at {stage}: {title}").format(
                    stage=refused.stage.value, title=verdict.title
                ),
            )
        except (OSError, smtplib.SMTPException) as exc:
            cause: BaseException = exc
            if isinstance(exc, smtplib.SMTPServerDisconnected) and smtp.read_error is not None:
                cause = smtp.read_error
            if isinstance(cause, Cancelled) or self._is_stopped():
                outcome = Outcome.CANCELLED
                verdict = explain_cancelled()
                info(Direction.INFO, tr("Cancelled."))
            else:
                failure, detail = classify_failure(
                    cause,
                    stage=self._stage,
                    port=request.port,
                    relay=request.method in _RELAY_METHODS,
                )
                if failure is ConnectionFailure.TLS_HANDSHAKE and self._stage is Stage.STARTTLS:
                    failure, detail = self._probe_old_tls(failure, detail)
                detail = self._recorder.clean(detail)
                outcome = Outcome.UNREACHABLE
                verdict = explain_connection_failure(failure, request.host, request.port)
                info(
                    Direction.INFO,
                    tr("Stopped at {stage}: {title} ({detail})").format(
                        stage=self._stage.value, title=verdict.title, detail=detail
                    ),
                )
        finally:
            self._close(smtp)
        finished = self._now()
        log.info(
            "Test message %s (%s) via %s:%s: %s (%s)",
            self.token,
            request.method.value,
            request.host,
            request.port,
            outcome.value,
            verdict.key,
        )
        return SmtpTestResult(
            method=request.method.value,
            endpoint=request.endpoint,
            sender=request.sender,
            recipients=request.recipients,
            token=self.token,
            message_id=message_id,
            subject=str(message["Subject"]),
            outcome=outcome,
            stage=self._stage,
            verdict=verdict,
            started=started,
            finished=finished,
            lines=self._transcript.lines,
            failure=failure,
            reply=reply,
            banner=self._banner,
            capabilities=self._capabilities,
            tls=self._tls,
            auth_mechanism=self._mechanism,
            detail=detail,
        )

    def _probe_old_tls(
        self, failure: ConnectionFailure, detail: str
    ) -> tuple[ConnectionFailure, str]:
        """A handshake that just ended: is the server stuck below TLS 1.2?"""
        if self._is_stopped():
            return failure, detail
        request = self.request
        info = self._recorder.add
        info(Direction.TLS, tr("Checking whether the server speaks only TLS 1.0 or 1.1…"))
        version = legacy_tls_version(
            request.host, request.port, request.cafile, request.timeout, self._is_stopped
        )
        if version is None:
            info(Direction.TLS, tr("It does not; the handshake failed for another reason."))
            return failure, detail
        info(
            Direction.TLS,
            tr("The server agreed to {version} and to nothing newer.").format(version=version),
        )
        return ConnectionFailure.TLS12_UNAVAILABLE, tr("the server offers only {version}").format(
            version=version
        )

    # The conversation -----------------------------------------------------------

    def _secret(self) -> str | None:
        request = self.request
        if request.auth is AuthKind.PASSWORD:
            password = self._credentials.password
            if not password:
                raise InvalidInput(
                    tr("This method signs in with a password, and none was given."),
                    next_step=tr("Type the mailbox's password, or keep it in the keyring."),
                )
            self._recorder.add_secret(password)
            return password
        if request.auth is AuthKind.OAUTH:
            token = self._credentials.token()
            if not token:
                raise InvalidInput(
                    tr("This method signs in with a Microsoft token, and none is available."),
                    next_step=tr("Sign in as the sending mailbox first."),
                )
            self._recorder.add_secret(token)
            return token
        return None

    def _converse(
        self,
        smtp: RecordingSMTP,
        secret: str | None,
        context: ssl.SSLContext,
        trusted_by: str,
        message: EmailMessage,
    ) -> tuple[int, str]:
        request = self.request
        info = self._recorder.add
        self._stage = Stage.CONNECT
        info(
            Direction.INFO,
            tr("Connecting to {host} port {port}").format(host=request.host, port=request.port),
        )

        def connected(peer: tuple[Any, ...]) -> None:
            self._stage = Stage.BANNER
            info(Direction.INFO, tr("Connected to {address}").format(address=peer[0]))

        smtp.on_connected = connected
        code, banner = smtp.connect(request.host, request.port)
        self._banner = _text(banner)
        if code != 220:
            raise _Refused(Stage.BANNER, code, self._banner)
        self._stage = Stage.EHLO
        self._greet(smtp)
        offers_tls = smtp.has_extn("starttls")
        if request.security is Security.STARTTLS:
            if offers_tls:
                self._start_tls(smtp, context, trusted_by)
            elif request.tls_required:
                raise _NoStartTls()
            else:
                info(
                    Direction.TLS,
                    tr("The server does not offer STARTTLS: the message goes unencrypted."),
                )
        elif offers_tls:
            info(
                Direction.TLS,
                tr("The device's settings say no encryption: STARTTLS is not used."),
            )
        if request.auth is not AuthKind.NONE:
            assert secret is not None
            self._stage = Stage.AUTH
            self._sign_in(smtp, secret)
        self._stage = Stage.MAIL
        sender, international = envelope_address(request.sender)
        recipients = [envelope_address(r) for r in request.recipients]
        international = international or any(utf8 for _address, utf8 in recipients)
        options: list[str] = []
        if international:
            # An address with non-ASCII letters before the @ travels only with SMTPUTF8.
            if not smtp.has_extn("smtputf8"):
                raise _NoSmtpUtf8()
            options.append("SMTPUTF8")
        code, text = smtp.mail(sender, options)
        if code != 250:
            raise _Refused(Stage.MAIL, code, _text(text))
        self._stage = Stage.RCPT
        for recipient, _utf8 in recipients:
            code, text = smtp.rcpt(recipient)
            if code not in (250, 251):
                raise _Refused(Stage.RCPT, code, _text(text))
        if request.envelope_only:
            return code, _text(text)
        self._stage = Stage.DATA
        policy = SMTPUTF8_POLICY if international else SMTP_POLICY
        try:
            code, text = smtp.data(message.as_bytes(policy=policy))
        except smtplib.SMTPDataError as exc:
            raise _Refused(Stage.DATA, exc.smtp_code, _text(exc.smtp_error)) from None
        if code != 250:
            raise _Refused(Stage.DATA, code, _text(text))
        return code, _text(text)

    def _greet(self, smtp: RecordingSMTP) -> None:
        code, text = smtp.ehlo()
        if code != 250:
            if code not in _EHLO_UNKNOWN:
                # A 421 "closing" or a 5xx refusal: the server's own answer, not a
                # reason to try HELO on a connection it has closed.
                raise _Refused(Stage.EHLO, code, _text(text))
            code, text = smtp.helo()
            if code != 250:
                raise _Refused(Stage.EHLO, code, _text(text))
            self._capabilities = ()
            return
        lines = text_lines(smtp.ehlo_resp or b"")
        self._capabilities = tuple(lines[1:])

    def _start_tls(self, smtp: RecordingSMTP, context: ssl.SSLContext, trusted_by: str) -> None:
        info = self._recorder.add
        self._stage = Stage.STARTTLS
        code, text = smtp.docmd("STARTTLS")
        if code != 220:
            raise _Refused(Stage.STARTTLS, code, _text(text))
        info(
            Direction.TLS,
            tr("Starting TLS: the handshake begins."),
        )
        # smtplib.starttls() would send STARTTLS itself; this does the rest of its steps.
        smtp.wrap_tls(context, self.request.host)
        assert isinstance(smtp.sock, ssl.SSLSocket)
        self._tls = tls_details(smtp.sock, trusted_by)
        for line in tls_lines(self._tls, self.request.host):
            info(Direction.TLS, line)
        self._stage = Stage.EHLO
        self._greet(smtp)

    def _sign_in(self, smtp: RecordingSMTP, secret: str) -> None:
        request = self.request
        username = request.username or request.sender
        offered = tuple(smtp.esmtp_features.get("auth", "").upper().split())
        initial: str | None
        if request.auth is AuthKind.OAUTH:
            mechanism = "XOAUTH2"
            initial = f"user={username}\x01auth=Bearer {secret}\x01\x01"
        elif "LOGIN" in offered or "PLAIN" not in offered:
            # What devices do: wait for "Username:" and "Password:".
            mechanism, initial = "LOGIN", None
        else:
            mechanism, initial = "PLAIN", f"\0{username}\0{secret}"
        self._mechanism = mechanism
        self._recorder.add(
            Direction.INFO,
            tr("Signing in as {user} with {mechanism} (credentials hidden)").format(
                user=username, mechanism=mechanism
            ),
        )

        def answer(challenge: str, round_: int) -> str:
            if mechanism == "LOGIN":
                prompt = challenge.lower()
                if "password" in prompt or ("user" not in prompt and round_ > 1):
                    return secret
                return username
            # XOAUTH2: a challenge after the initial response carries an error
            # document; the client answers with an empty line and the server says 535.
            return ""

        self._recorder.masking = True
        try:
            if initial is None:
                code, resp = smtp.docmd("AUTH", mechanism)
            else:
                code, resp = smtp.docmd("AUTH", f"{mechanism} {b64(initial)}")
            round_ = 0
            while code == 334:
                round_ += 1
                if round_ > 5:
                    raise _EndlessChallenge()
                challenge = decode_challenge(_text(resp)) or ""
                code, resp = smtp.docmd(b64(answer(challenge, round_)))
        finally:
            self._recorder.masking = False
        if code not in (235, 503):
            raise _Refused(Stage.AUTH, code, _text(resp))

    def _explain_refusal(self, refused: _Refused) -> Verdict:
        offered = tuple(
            (self._smtp.esmtp_features.get("auth", "") if self._smtp else "").upper().split()
        )
        if (
            refused.stage is Stage.AUTH
            and refused.code == 504
            and self._tls is not None
            and self._mechanism is not None
            and self._mechanism not in offered
        ):
            return explain_mechanism_not_offered(self._mechanism, offered)
        return explain_reply(refused.code, refused.text)

    def _close(self, smtp: RecordingSMTP) -> None:
        """QUIT politely when the connection still stands, then close it."""
        if smtp.sock is not None and not self._is_stopped():
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException, Cancelled):
                pass
        try:
            smtp.close()
        except OSError:
            pass


def send_test_message(
    request: SendTestRequest,
    credentials: Credentials | None = None,
    *,
    on_line: LineCallback | None = None,
) -> SmtpTestResult:
    """Send one test message and return what happened (see `SmtpTest.run`)."""
    return SmtpTest(request, credentials, on_line=on_line).run()
