"""The test message against the sandbox tenant: every method, every catalog reply, TLS,
timeouts, cancelling, and secrets that must never show up anywhere."""

from __future__ import annotations

import base64
import json
import logging
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.sandbox_fixtures import allow_legacy_tls, legacy_tls_available
from wizard.core.device_settings import AuthKind, Security, device_settings
from wizard.core.errors import InvalidInput
from wizard.core.methods import Method
from wizard.core.redact import MASK
from wizard.core.smtp_codes import ConnectionFailure
from wizard.core.steps import WizardStep
from wizard.core.transcript import Direction, Outcome, Stage
from wizard.sandbox.tenant import (
    DEMO_DOMAIN,
    Account,
    InboundConnector,
    Mailbox,
    TenantState,
)
from wizard.services.smtp_test import (
    TEST_HEADER,
    Credentials,
    SendTestRequest,
    SmtpTest,
    envelope_address,
)
from wizard.services.smtp_wire import classify_failure

SCANNER = f"scanner@{DEMO_DOMAIN}"
RECEPTION = f"reception@{DEMO_DOMAIN}"
USER = f"user@{DEMO_DOMAIN}"
HVE = f"hve-scanner@{DEMO_DOMAIN}"
OUTSIDE = "someone@fabrikam.example"
SMTP_SEND = "https://outlook.office.com/SMTP.Send"
OTHER_IP = "198.51.100.77"


def _request(
    sandbox: Any,
    method: Method,
    *,
    sender: str = SCANNER,
    to: str = USER,
    username: str | None = None,
    timeout: float = 3.0,
    **changes: Any,
) -> SendTestRequest:
    settings = device_settings(
        method, sandbox.cloud, domain=DEMO_DOMAIN, sender=sender, username=username
    )
    request = SendTestRequest.from_settings(settings, [to], cloud=sandbox.cloud, timeout=timeout)
    return replace(request, **changes) if changes else request


def _smtp_auth_on(state: TenantState, address: str = SCANNER) -> None:
    mailbox = state.mailbox(address)
    assert mailbox is not None
    mailbox.smtp_client_auth_disabled = False


def _add_hve_account(state: TenantState) -> None:
    state.accounts.append(Account(HVE, "HVE scanner", password="demo"))
    state.mailboxes.append(Mailbox(HVE, "HVE scanner", licensed=False, hve_account=True))


def _add_connector(
    state: TenantState, *, require_tls: bool = False, connector_type: str = "OnPremises"
) -> None:
    state.connectors.append(
        InboundConnector(
            "Relay Wizard - office",
            connector_type=connector_type,
            sender_domains=[DEMO_DOMAIN],
            sender_ip_addresses=[state.site_public_ip],
            restrict_domains_to_ip_addresses=True,
            require_tls=require_tls,
        )
    )


def _token(sandbox: Any, upn: str = SCANNER) -> str:
    token: str = sandbox.issue_token(upn, [SMTP_SEND])
    return token


# -- every method succeeds once the tenant is set up for it ---------------------------


def _setup_smtp_auth(sandbox: Any) -> tuple[dict[str, Any], Credentials]:
    _smtp_auth_on(sandbox.state)
    return {}, Credentials(password="demo")


def _setup_oauth(sandbox: Any) -> tuple[dict[str, Any], Credentials]:
    _smtp_auth_on(sandbox.state)
    token = _token(sandbox)
    return {}, Credentials(token_provider=lambda: token)


def _setup_hve(sandbox: Any) -> tuple[dict[str, Any], Credentials]:
    _add_hve_account(sandbox.state)
    return {"sender": HVE}, Credentials(password="demo")


def _setup_direct_send(sandbox: Any) -> tuple[dict[str, Any], Credentials]:
    return {}, Credentials()


def _setup_connector(sandbox: Any) -> tuple[dict[str, Any], Credentials]:
    _add_connector(sandbox.state)
    return {"to": OUTSIDE}, Credentials()


SUCCESS: dict[Method, Callable[[Any], tuple[dict[str, Any], Credentials]]] = {
    Method.SMTP_AUTH: _setup_smtp_auth,
    Method.SMTP_AUTH_OAUTH: _setup_oauth,
    Method.HVE: _setup_hve,
    Method.DIRECT_SEND: _setup_direct_send,
    Method.CONNECTOR: _setup_connector,
}


@pytest.mark.parametrize("method", list(SUCCESS))
def test_each_method_succeeds(sandbox: Any, method: Method) -> None:
    options, credentials = SUCCESS[method](sandbox)
    request = _request(sandbox, method, **options)
    streamed: list[str] = []
    result = SmtpTest(request, credentials, on_line=lambda line: streamed.append(line.text)).run()

    assert result.outcome is Outcome.SENT, result.transcript_text()
    assert result.verdict.key == "accepted" and result.verdict.step is WizardStep.SHEETS
    assert result.stage is Stage.DONE and result.reply is not None and result.reply.code == 250
    # Streamed line by line, the same lines the result keeps.
    assert streamed == [line.text for line in result.lines]
    directions = {line.direction for line in result.lines}
    assert {Direction.CLIENT, Direction.SERVER, Direction.TLS, Direction.INFO} <= directions
    assert result.banner.startswith("XX0") and "Microsoft ESMTP MAIL Service" in result.banner
    assert "STARTTLS" not in result.capabilities  # the list after STARTTLS
    # TLS: where it starts, and what it was.
    tls = result.tls
    assert tls is not None and tls.verified
    assert tls.version in ("TLSv1.2", "TLSv1.3") and tls.cipher and tls.bits
    assert "Relay Wizard sandbox" in tls.issuer and "127.0.0.1" in tls.names
    assert tls.not_after is not None
    text = result.transcript_text()
    assert "STARTTLS" in text and "Certificate verified" in text
    if request.auth is AuthKind.NONE:
        assert result.auth_mechanism is None and "AUTH" not in _client_lines(result)
    else:
        expected = "XOAUTH2" if request.auth is AuthKind.OAUTH else "LOGIN"
        assert result.auth_mechanism == expected
    # The message reached the sandbox with the reference in Subject and header.
    with sandbox.state.lock:
        entries = [e for e in sandbox.state.trace if result.token in e.subject]
    assert entries and entries[0].message_id == result.message_id
    assert f"{TEST_HEADER}: {result.token}".encode() in entries[0].raw
    assert result.token in result.subject


def _client_lines(result: Any) -> str:
    return "\n".join(line.text for line in result.lines if line.direction is Direction.CLIENT)


# -- every reply of the catalog, produced by the tenant's state ------------------------


def _tenant_off(sandbox: Any) -> tuple[dict[str, Any], Credentials]:
    return {}, Credentials(password="demo")  # demo tenant: SMTP AUTH off, mailbox inherits


def _mailbox_off(sandbox: Any) -> tuple[dict[str, Any], Credentials]:
    sandbox.state.smtp_client_auth_disabled = False
    mailbox = sandbox.state.mailbox(SCANNER)
    mailbox.smtp_client_auth_disabled = True
    return {}, Credentials(password="demo")


def _security_defaults(sandbox: Any) -> tuple[dict[str, Any], Credentials]:
    _smtp_auth_on(sandbox.state)
    sandbox.state.security_defaults = True
    return {}, Credentials(password="demo")


def _basic_retired(sandbox: Any) -> tuple[dict[str, Any], Credentials]:
    _smtp_auth_on(sandbox.state)
    sandbox.state.basic_auth_retired = True
    return {}, Credentials(password="demo")


def _wrong_password(sandbox: Any) -> tuple[dict[str, Any], Credentials]:
    _smtp_auth_on(sandbox.state)
    return {}, Credentials(password="not-the-password")


def _bad_token(sandbox: Any) -> tuple[dict[str, Any], Credentials]:
    _smtp_auth_on(sandbox.state)
    return {"method": Method.SMTP_AUTH_OAUTH}, Credentials(token_provider=lambda: "not.a.token")


def _no_auth(sandbox: Any) -> tuple[dict[str, Any], Credentials]:
    # A device with authentication switched off, pointed at the submission endpoint.
    return {"changes": {"auth": AuthKind.NONE}}, Credentials()


def _wrong_from(sandbox: Any) -> tuple[dict[str, Any], Credentials]:
    _smtp_auth_on(sandbox.state)
    return {"sender": RECEPTION, "username": SCANNER}, Credentials(password="demo")


def _ip_not_in_connector(sandbox: Any) -> tuple[dict[str, Any], Credentials]:
    _add_connector(sandbox.state)
    sandbox.state.relay_source_ip = OTHER_IP  # the office's IP changed
    return {"method": Method.CONNECTOR, "to": OUTSIDE}, Credentials()


def _reject_direct_send(sandbox: Any) -> tuple[dict[str, Any], Credentials]:
    sandbox.state.reject_direct_send = True
    return {"method": Method.DIRECT_SEND}, Credentials()


def _outside_via_direct_send(sandbox: Any) -> tuple[dict[str, Any], Credentials]:
    return {"method": Method.DIRECT_SEND, "to": OUTSIDE}, Credentials()


def _connector_requires_tls(sandbox: Any) -> tuple[dict[str, Any], Credentials]:
    # RequireTls is a Partner-only switch (New-InboundConnector reference): a Partner
    # connector for the office refuses plain mail, here to an internal recipient.
    _add_connector(sandbox.state, require_tls=True, connector_type="Partner")
    return {
        "method": Method.CONNECTOR,
        "to": f"user@{DEMO_DOMAIN}",
        "changes": {"security": Security.NONE, "tls_required": False},
    }, Credentials()


def _unknown_recipient(sandbox: Any) -> tuple[dict[str, Any], Credentials]:
    return {"method": Method.DIRECT_SEND, "to": f"nobody@{DEMO_DOMAIN}"}, Credentials()


# name -> (setup, verdict key, stage, reply code, the fix's step)
FAILURES: dict[str, tuple[Callable[[Any], Any], str, Stage, int, WizardStep]] = {
    "tenant switch off": (_tenant_off, "5.7.139-tenant", Stage.AUTH, 535, WizardStep.PLAN),
    "mailbox switch off": (_mailbox_off, "5.7.139-mailbox", Stage.AUTH, 535, WizardStep.PLAN),
    "security defaults": (
        _security_defaults,
        "5.7.139-security-defaults",
        Stage.AUTH,
        535,
        WizardStep.METHOD,
    ),
    "basic auth retired": (_basic_retired, "5.7.30", Stage.AUTH, 550, WizardStep.METHOD),
    "wrong password": (_wrong_password, "5.7.3", Stage.AUTH, 535, WizardStep.TEST),
    "bad token": (_bad_token, "5.7.3", Stage.AUTH, 535, WizardStep.TEST),
    "no sign-in": (_no_auth, "5.7.57", Stage.MAIL, 530, WizardStep.SHEETS),
    "wrong From": (_wrong_from, "5.7.60", Stage.MAIL, 550, WizardStep.SITE),
    "IP not in connector": (_ip_not_in_connector, "5.7.64", Stage.RCPT, 550, WizardStep.PLAN),
    "RejectDirectSend": (_reject_direct_send, "5.7.68", Stage.RCPT, 550, WizardStep.METHOD),
    "outside via direct send": (
        _outside_via_direct_send,
        "5.7.54",
        Stage.RCPT,
        550,
        WizardStep.METHOD,
    ),
    "connector requires TLS": (
        _connector_requires_tls,
        "5.7.3-starttls",
        Stage.MAIL,
        451,
        WizardStep.SHEETS,
    ),
    "unknown recipient": (
        _unknown_recipient,
        "5.4.1-recipient",
        Stage.RCPT,
        550,
        WizardStep.TEST,
    ),
}


@pytest.mark.parametrize("name", list(FAILURES))
def test_each_refusal_is_explained(sandbox: Any, name: str) -> None:
    setup, key, stage, code, step = FAILURES[name]
    options, credentials = setup(sandbox)
    method = options.pop("method", Method.SMTP_AUTH)
    changes = options.pop("changes", {})
    request = _request(sandbox, method, **options, **changes)
    result = SmtpTest(request, credentials).run()

    assert result.outcome is Outcome.REFUSED, result.transcript_text()
    assert result.verdict.key == key, result.transcript_text()
    assert result.stage is stage and result.reply is not None
    assert result.reply.stage is stage and result.reply.code == code
    assert result.verdict.step is step
    assert result.verdict.title and result.verdict.explanation and result.verdict.fix
    # The server's own words stay in the transcript, and the conversation ends politely.
    assert any(line.text.startswith(str(code)) for line in result.lines)
    assert _client_lines(result).splitlines()[-1] == "QUIT"
    with sandbox.state.lock:
        assert not [e for e in sandbox.state.trace if result.token in e.subject]


# -- connection failures ---------------------------------------------------------------


@pytest.fixture
def other_ca(tmp_path: Path) -> Path:
    """A second certificate authority: the sandbox's certificate is not signed by it."""
    ca = trustme.CA(organization_name="Some other CA")
    path = tmp_path / "other-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def test_untrusted_certificate(sandbox: Any, other_ca: Path) -> None:
    _smtp_auth_on(sandbox.state)
    request = _request(sandbox, Method.SMTP_AUTH, cafile=str(other_ca))
    result = SmtpTest(request, Credentials(password="demo")).run()
    assert result.outcome is Outcome.UNREACHABLE
    assert result.failure is ConnectionFailure.CERTIFICATE_UNTRUSTED
    assert result.stage is Stage.STARTTLS and result.tls is None
    assert "issuer" in result.detail or "certificate" in result.detail
    # Nothing was signed in: the password never went out.
    assert "AUTH" not in _client_lines(result)


def test_certificate_for_another_name(
    tmp_path: Path, expected_warnings: list[logging.LogRecord]
) -> None:
    """A server whose certificate names another host: classified as a name mismatch."""
    controller, port, ca_path = _aiosmtpd_server(tmp_path, ("mail.other.example",))
    try:
        result = SmtpTest(_relay_request(port, ca_path)).run()
    finally:
        controller.stop()
    assert result.failure is ConnectionFailure.CERTIFICATE_NAME, result.transcript_text()
    assert result.verdict.step is WizardStep.SHEETS
    # aiosmtpd logs the handshake our client broke off; nothing else may warn.
    assert all(r.name == "mail.log" for r in expected_warnings)


def _aiosmtpd_server(
    tmp_path: Path,
    names: tuple[str, ...],
    configure: Callable[[ssl.SSLContext], None] | None = None,
) -> tuple[Any, int, Path]:
    """A plain aiosmtpd server with STARTTLS and a certificate for `names`."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP as AioSMTP

    ca = trustme.CA()
    cert = ca.issue_cert(*names)
    ca_path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    if configure is not None:
        configure(context)
    port = _free_port()

    class _Server(Controller):
        def factory(self) -> AioSMTP:
            return AioSMTP(self.handler, tls_context=context, hostname=names[0])

    controller = _Server(object(), hostname="127.0.0.1", port=port)
    controller.start()
    return controller, port, ca_path


def _relay_request(port: int, cafile: Path) -> SendTestRequest:
    return SendTestRequest(
        Method.DIRECT_SEND,
        "127.0.0.1",
        port,
        Security.STARTTLS,
        False,
        AuthKind.NONE,
        None,
        SCANNER,
        (USER,),
        cafile=str(cafile),
        timeout=3.0,
    )


@pytest.mark.skipif(not legacy_tls_available(), reason="this OpenSSL has no TLS 1.1")
def test_server_without_tls12(tmp_path: Path, expected_warnings: list[logging.LogRecord]) -> None:
    """A server stuck on TLS 1.0/1.1: classified as "TLS 1.2 is not available"."""

    def old_tls_only(context: ssl.SSLContext) -> None:
        allow_legacy_tls(context)
        with warnings.catch_warnings():  # TLSv1_1 is deprecated, which is the point
            warnings.simplefilter("ignore", DeprecationWarning)
            context.maximum_version = ssl.TLSVersion.TLSv1_1

    controller, port, ca_path = _aiosmtpd_server(tmp_path, ("127.0.0.1",), old_tls_only)
    try:
        result = SmtpTest(_relay_request(port, ca_path)).run()
    finally:
        controller.stop()
    assert result.failure is ConnectionFailure.TLS12_UNAVAILABLE, result.transcript_text()
    assert result.stage is Stage.STARTTLS
    assert all(r.name == "mail.log" for r in expected_warnings)


def test_international_sender_uses_smtputf8(sandbox: Any) -> None:
    sender = f"jürgen@{DEMO_DOMAIN}"
    result = SmtpTest(_request(sandbox, Method.DIRECT_SEND, sender=sender)).run()
    assert result.outcome is Outcome.SENT, result.transcript_text()
    assert f"MAIL FROM:<{sender}> SMTPUTF8" in _client_lines(result)
    with sandbox.state.lock:
        entry = next(e for e in sandbox.state.trace if result.token in e.subject)
    assert entry.sender == sender and f"From: {sender}".encode() in entry.raw


def test_international_sender_without_smtputf8(tmp_path: Path) -> None:
    controller, port, ca_path = _aiosmtpd_server(tmp_path, ("127.0.0.1",))
    try:
        request = replace(_relay_request(port, ca_path), sender=f"jürgen@{DEMO_DOMAIN}")
        result = SmtpTest(request).run()
    finally:
        controller.stop()
    assert result.outcome is Outcome.REFUSED and result.verdict.key == "smtputf8"
    assert result.stage is Stage.MAIL and result.verdict.step is WizardStep.SITE


def test_envelope_addresses() -> None:
    assert envelope_address("user@bücher.example") == ("user@xn--bcher-kva.example", False)
    assert envelope_address("jürgen@contoso.example") == ("jürgen@contoso.example", True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that takes the connection and never says a word."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        yield server.getsockname()[1]


def test_silent_server_times_out(silent_port: int) -> None:
    request = SendTestRequest(
        Method.SMTP_AUTH,
        "127.0.0.1",
        silent_port,
        Security.STARTTLS,
        True,
        AuthKind.PASSWORD,
        SCANNER,
        SCANNER,
        (USER,),
        timeout=0.5,
    )
    began = time.monotonic()
    result = SmtpTest(request, Credentials(password="demo")).run()
    assert time.monotonic() - began < 3
    assert result.outcome is Outcome.UNREACHABLE
    assert result.failure is ConnectionFailure.TIMEOUT and result.stage is Stage.BANNER


def test_blocked_port_25_is_named(sandbox: Any) -> None:
    sandbox.state.mx_port_blocked = True
    request = _request(sandbox, Method.DIRECT_SEND, timeout=0.5)
    result = SmtpTest(request).run()
    assert result.failure is ConnectionFailure.PORT25_BLOCKED, result.transcript_text()
    assert result.stage is Stage.CONNECT
    assert "587" in result.verdict.fix and result.verdict.step is WizardStep.METHOD


def test_closed_port_is_refused() -> None:
    request = SendTestRequest(
        Method.DIRECT_SEND,
        "127.0.0.1",
        _free_port(),
        Security.STARTTLS,
        False,
        AuthKind.NONE,
        None,
        SCANNER,
        (USER,),
        timeout=1.0,
    )
    result = SmtpTest(request).run()
    assert result.failure is ConnectionFailure.REFUSED
    assert result.outcome is Outcome.UNREACHABLE


def test_cancel_stops_at_once(silent_port: int) -> None:
    request = SendTestRequest(
        Method.DIRECT_SEND,
        "127.0.0.1",
        silent_port,
        Security.STARTTLS,
        False,
        AuthKind.NONE,
        None,
        SCANNER,
        (USER,),
        timeout=30.0,
    )
    connecting = threading.Event()

    def seen(line: Any) -> None:
        if line.text.startswith("Connecting"):
            connecting.set()

    test = SmtpTest(request, on_line=seen)
    results: list[Any] = []
    worker = threading.Thread(target=lambda: results.append(test.run()))
    worker.start()
    assert connecting.wait(5)
    began = time.monotonic()
    test.cancel()
    worker.join(5)
    assert not worker.is_alive() and time.monotonic() - began < 1.5
    assert results[0].outcome is Outcome.CANCELLED
    assert results[0].verdict.key == "cancelled"


# -- secrets -----------------------------------------------------------------------------


def _leaks(secret: str, *texts: str) -> list[str]:
    forms = {
        secret,
        base64.b64encode(secret.encode()).decode(),
        base64.b64encode(f"\0{SCANNER}\0{secret}".encode()).decode(),
        base64.b64encode(f"user={SCANNER}\x01auth=Bearer {secret}\x01\x01".encode()).decode(),
    }
    return [form for form in forms for text in texts if form in text]


def test_password_and_token_appear_nowhere(sandbox: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    password = "Canary-Pässwort-7c1e9b"
    account = sandbox.state.account(SCANNER)
    account.password = password
    _smtp_auth_on(sandbox.state)
    token = _token(sandbox)
    bad_token = "canary.token.0a1b2c3d4e5f"
    runs = [
        (Method.SMTP_AUTH, Credentials(password=password), Outcome.SENT),
        (Method.SMTP_AUTH, Credentials(password=password + "-wrong"), Outcome.REFUSED),
        (Method.SMTP_AUTH_OAUTH, Credentials(token_provider=lambda: token), Outcome.SENT),
        (Method.SMTP_AUTH_OAUTH, Credentials(token_provider=lambda: bad_token), Outcome.REFUSED),
    ]
    texts: list[str] = []
    for method, credentials, outcome in runs:
        result = SmtpTest(_request(sandbox, method), credentials).run()
        assert result.outcome is outcome
        texts += [result.transcript_text(), json.dumps(result.to_json()), repr(result)]
        texts.append(repr(credentials))
        assert any(MASK in line.text for line in result.lines if line.direction is Direction.CLIENT)
    # An exception raised after the secret was handed over says nothing of it.
    bad = replace(_request(sandbox, Method.SMTP_AUTH), cafile="/nonexistent/ca.pem")
    with pytest.raises(InvalidInput) as raised:
        SmtpTest(bad, Credentials(password=password)).run()
    texts += [str(raised.value), raised.value.plain(), raised.value.detail]
    texts.append(caplog.text)
    for secret in (password, password + "-wrong", token, bad_token):
        assert not _leaks(secret, *texts), secret


# -- the request itself ------------------------------------------------------------------


def test_bad_input_is_refused_before_connecting() -> None:
    request = SendTestRequest(
        Method.SMTP_AUTH,
        "",
        0,
        Security.STARTTLS,
        True,
        AuthKind.PASSWORD,
        None,
        "not an address",
        (),
    )
    with pytest.raises(InvalidInput) as raised:
        SmtpTest(request)
    text = raised.value.what
    assert "server" in text and "port" in text and "recipient" in text.lower()


def test_missing_password_is_bad_input(sandbox: Any) -> None:
    with pytest.raises(InvalidInput):
        SmtpTest(_request(sandbox, Method.SMTP_AUTH), Credentials()).run()


@pytest.mark.parametrize(
    "error,stage,port,relay,kind",
    [
        (
            socket.gaierror(-2, "Name or service not known"),
            Stage.CONNECT,
            587,
            False,
            ConnectionFailure.NAME_NOT_RESOLVED,
        ),
        (
            ConnectionRefusedError(111, "refused"),
            Stage.CONNECT,
            587,
            False,
            ConnectionFailure.REFUSED,
        ),
        (TimeoutError("timed out"), Stage.CONNECT, 25, False, ConnectionFailure.PORT25_BLOCKED),
        (TimeoutError("timed out"), Stage.BANNER, 2525, True, ConnectionFailure.PORT25_BLOCKED),
        (TimeoutError("timed out"), Stage.CONNECT, 587, False, ConnectionFailure.TIMEOUT),
        # Late in the conversation a timeout is the server's, not a blocked port.
        (TimeoutError("timed out"), Stage.DATA, 25, True, ConnectionFailure.TIMEOUT),
        (ConnectionResetError(104, "reset"), Stage.MAIL, 25, True, ConnectionFailure.DISCONNECTED),
        (
            OSError(101, "Network is unreachable"),
            Stage.CONNECT,
            587,
            False,
            ConnectionFailure.UNREACHABLE,
        ),
    ],
)
def test_connection_failures_are_classified(
    error: BaseException, stage: Stage, port: int, relay: bool, kind: ConnectionFailure
) -> None:
    assert classify_failure(error, stage=stage, port=port, relay=relay)[0] is kind
