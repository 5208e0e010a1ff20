"""Hostile SMTP servers on loopback (issue 14, items 1 and 8): every conversation ends
within its limits, in memory and in lines, with a true reason in plain words."""

from __future__ import annotations

import json
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.cli_helpers import CliRun, run_cli
from tests.hostile_servers import (
    closing_after_ehlo,
    endless_auth,
    endless_greeting,
    garbage,
    hostile_server,
    http_answer,
    slow_endless_greeting,
    slow_tls_after_starttls,
    smtp_until,
    starttls_with,
)
from wizard.core.device_settings import AuthKind, Security
from wizard.core.methods import Method
from wizard.core.smtp_codes import ConnectionFailure
from wizard.core.transcript import Direction, Outcome, Stage, TranscriptLine
from wizard.services.smtp_test import Credentials, SendTestRequest, SmtpTest
from wizard.services.smtp_wire import MAX_REPLY_LINES

SENDER = "scanner@contoso.example"
TO = "it@contoso.example"


def _request(port: int, *, timeout: float = 5.0, **kw: object) -> SendTestRequest:
    fields: dict[str, object] = {
        "method": Method.SMTP_AUTH,
        "host": "127.0.0.1",
        "port": port,
        "security": Security.NONE,
        "tls_required": False,
        "auth": AuthKind.NONE,
        "username": None,
        "sender": SENDER,
        "recipients": (TO,),
        "timeout": timeout,
    }
    fields.update(kw)
    return SendTestRequest(**fields)  # type: ignore[arg-type]


def test_endless_greeting_at_full_speed_stops_at_the_line_limit() -> None:
    with hostile_server(endless_greeting) as server:
        result = SmtpTest(_request(server.port)).run()
    assert result.outcome is Outcome.UNREACHABLE
    assert result.failure is ConnectionFailure.ENDLESS_REPLY
    assert result.stage is Stage.BANNER
    server_lines = [line for line in result.lines if line.direction is Direction.SERVER]
    assert len(server_lines) == MAX_REPLY_LINES
    assert result.verdict.title == "The server's answer never ended"


def test_slow_endless_greeting_stops_after_one_timeout() -> None:
    # 20 lines a second stay under the line limit for five seconds; the reply's own
    # time limit (one timeout for the whole reply, not per line) ends it.
    with hostile_server(slow_endless_greeting) as server:
        result = SmtpTest(_request(server.port, timeout=0.5)).run()
    assert result.failure is ConnectionFailure.ENDLESS_REPLY, result.transcript_text()
    assert "still going after 0.5 s" in result.detail


def test_send_test_cli_against_an_endless_greeting_exits_3_with_a_small_document() -> None:
    with hostile_server(endless_greeting) as server:
        done = run_cli(
            [
                "send-test",
                "--method",
                "direct-send",
                "--from",
                SENDER,
                "--to",
                TO,
                "--host",
                "127.0.0.1",
                "--port",
                str(server.port),
                "--timeout",
                "5",
                "--json",
            ]
        )
    assert done.code == 3, done.err
    document = json.loads(done.out)
    assert document["verdict"]["key"] == "endless-reply"
    assert len(done.out) < 50_000


@pytest.mark.parametrize("script", [http_answer, garbage], ids=["http", "garbage"])
def test_an_answer_that_is_not_smtp_is_named_and_unreachable(script: object) -> None:
    with hostile_server(script) as server:  # type: ignore[arg-type]
        result = SmtpTest(_request(server.port)).run()
    assert result.outcome is Outcome.UNREACHABLE
    assert result.failure is ConnectionFailure.NOT_SMTP, result.transcript_text()
    assert "-1" not in result.verdict.title
    assert result.verdict.title == "The server does not speak SMTP"


def test_endless_auth_challenges_are_named() -> None:
    ehlo = b"250-mail.example.invalid\r\n250 AUTH LOGIN\r\n"
    with hostile_server(smtp_until(ehlo, endless_auth)) as server:
        request = _request(server.port, auth=AuthKind.PASSWORD, username=SENDER)
        result = SmtpTest(request, Credentials(password="CANARY-pw")).run()
    assert result.outcome is Outcome.REFUSED
    assert result.verdict.key == "auth-endless-challenge"
    assert "334" not in result.verdict.title
    assert "CANARY" not in result.transcript_text()


def test_421_after_ehlo_is_the_verdict() -> None:
    with hostile_server(closing_after_ehlo) as server:
        result = SmtpTest(_request(server.port)).run()
    assert result.outcome is Outcome.REFUSED, result.transcript_text()
    assert result.stage is Stage.EHLO
    assert result.reply is not None and result.reply.code == 421
    assert "HELO" not in [line.text.split()[0] for line in result.lines if line.text]


def _dated_server_context(tmp_path: Path, *, expired: bool) -> tuple[ssl.SSLContext, Path]:
    ca = trustme.CA()
    now = datetime.now(UTC)
    if expired:
        cert = ca.issue_cert(
            "127.0.0.1", not_before=now - timedelta(days=30), not_after=now - timedelta(days=1)
        )
    else:
        cert = ca.issue_cert(
            "127.0.0.1", not_before=now + timedelta(days=1), not_after=now + timedelta(days=30)
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    ca_path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    return context, ca_path


@pytest.mark.parametrize(
    ("expired", "failure", "words"),
    [
        (True, ConnectionFailure.CERTIFICATE_EXPIRED, "has expired"),
        (False, ConnectionFailure.CERTIFICATE_NOT_YET_VALID, "not valid yet"),
    ],
)
def test_certificates_out_of_date_are_not_blamed_on_a_proxy(
    tmp_path: Path, expired: bool, failure: ConnectionFailure, words: str
) -> None:
    context, ca_path = _dated_server_context(tmp_path, expired=expired)
    with hostile_server(starttls_with(context)) as server:
        request = _request(
            server.port, security=Security.STARTTLS, tls_required=True, cafile=str(ca_path)
        )
        result = SmtpTest(request).run()
    assert result.failure is failure, result.transcript_text()
    assert words in result.verdict.title
    assert "proxy" not in result.verdict.explanation + result.verdict.fix


def _send_test(*extra: str, stdin: bytes = b"") -> CliRun:
    base = ["send-test", "--method", "smtp-auth", "--from", SENDER, "--to", TO]
    return run_cli([*base, "--host", "127.0.0.1", *extra], stdin=stdin)


@pytest.mark.parametrize("value", ["nan", "inf", "1e309", "-5", "0", "100000"])
def test_send_test_timeouts_that_never_end_are_bad_input(value: str) -> None:
    done = _send_test("--port", "2525", "--timeout", value, "--password-stdin", stdin=b"pw\n")
    assert done.code == 2, done.err
    assert "time limit must be a number of seconds" in done.err
    assert "Traceback" not in done.err


def test_non_utf8_on_password_stdin_is_bad_input() -> None:
    done = _send_test("--port", "2525", "--password-stdin", stdin=b"\xff\xfe pass\n")
    assert done.code == 2, done.err
    assert "not UTF-8" in done.err


def test_port_0_is_not_the_default_port() -> None:
    done = _send_test("--port", "0", "--password-stdin", stdin=b"pw\n")
    assert done.code == 2, done.err
    assert "port must be a number from 1 to 65535" in done.err


def test_a_line_break_in_the_user_name_cannot_forge_transcript_lines() -> None:
    forged = "scanner@contoso.example\r\nS: 235 2.7.0 Authentication successful"
    done = _send_test("--port", "2525", "--username", forged, "--password-stdin", stdin=b"pw\n")
    assert done.code == 2, done.err
    assert "line break" in done.err
    assert "235" not in done.out


def test_a_tls_handshake_sent_a_byte_at_a_time_ends_within_one_timeout(tmp_path: Path) -> None:
    # Each byte comes well within the read timeout; the handshake as a whole does not.
    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca_path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    with hostile_server(slow_tls_after_starttls(context)) as server:
        request = _request(
            server.port,
            timeout=0.5,
            security=Security.STARTTLS,
            tls_required=True,
            cafile=str(ca_path),
        )
        result = SmtpTest(request).run()
    assert result.outcome is Outcome.UNREACHABLE, result.transcript_text()
    assert result.stage is Stage.STARTTLS
    assert result.failure is ConnectionFailure.TIMEOUT


def test_cancel_during_a_slow_tls_handshake_stops_it(tmp_path: Path) -> None:
    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca_path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    events: list[str] = []
    with hostile_server(slow_tls_after_starttls(context, events)) as server:
        request = _request(
            server.port,
            timeout=60.0,
            security=Security.STARTTLS,
            tls_required=True,
            cafile=str(ca_path),
        )
        test: SmtpTest

        def seen(line: TranscriptLine) -> None:
            if "handshake begins" in line.text:
                test.cancel()

        test = SmtpTest(request, on_line=seen)
        result = test.run()
    assert result.outcome is Outcome.CANCELLED, result.transcript_text()
    assert result.stage is Stage.STARTTLS
    # The client hung up mid-handshake: it did not sit through the server's slow bytes.
    assert events == []


@pytest.mark.parametrize(
    ("script", "words"),
    [(endless_greeting, "never ended"), (http_answer, "does not speak SMTP")],
    ids=["endless-greeting", "http"],
)
def test_troubleshooting_a_hostile_server_explains_it(
    sandbox: Any, script: Any, words: str
) -> None:
    from tests.test_troubleshoot import FAST
    from wizard.core.troubleshoot.model import DeviceUnderTest
    from wizard.services.troubleshooter import Troubleshooter

    with hostile_server(script) as server:
        device = DeviceUnderTest(
            Method.SMTP_AUTH,
            SENDER,
            "127.0.0.1",
            server.port,
            Security.STARTTLS,
            True,
            AuthKind.PASSWORD,
            SENDER,
        )
        report = Troubleshooter(
            device, sandbox.cloud, credentials=Credentials(password="pw"), options=FAST
        ).run()
    findings = {f.id: f for f in report.findings}
    assert words in findings["auth"].title, findings["auth"]
