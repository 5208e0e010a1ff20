"""`python main.py send-test` against the sandbox: exit codes, JSON, secrets."""

from __future__ import annotations

import io
import json
import socket
from typing import Any

import pytest

from wizard import cli
from wizard.app import build_parser
from wizard.sandbox.tenant import DEMO_DOMAIN
from wizard.services.secrets import SecretStore

SCANNER = f"scanner@{DEMO_DOMAIN}"
USER = f"user@{DEMO_DOMAIN}"


def _run(argv: list[str], monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    args = build_parser().parse_args(argv)
    return cli.run(args)


def _args(sandbox: Any, method: str, *extra: str, endpoint: str = "submission") -> list[str]:
    where = getattr(sandbox.smtp, endpoint)
    return [
        "send-test",
        "--method",
        method,
        "--from",
        SCANNER,
        "--to",
        USER,
        "--host",
        where.host,
        "--port",
        str(where.port),
        "--cafile",
        str(sandbox.ca_pem),
        "--timeout",
        "3",
        *extra,
    ]


def _smtp_auth_on(sandbox: Any) -> None:
    sandbox.state.mailbox(SCANNER).smtp_client_auth_disabled = False


def test_success_prints_transcript_and_verdict(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _smtp_auth_on(sandbox)
    code = _run(_args(sandbox, "smtp-auth", "--password-stdin"), monkeypatch, "demo\n")
    out = capsys.readouterr().out
    assert code == 0, out
    assert "S:  220 " in out and "C:  AUTH LOGIN" in out and "TLS " in out
    assert "The test message was accepted" in out and "Reference: RW-" in out


def test_json_document(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _smtp_auth_on(sandbox)
    code = _run(_args(sandbox, "smtp-auth", "--password-stdin", "--json"), monkeypatch, "demo\n")
    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert document["schema_version"] == 1
    assert document["method"] == "smtp-auth" and document["result"] == "sent"
    assert document["endpoint"]["port"] == sandbox.smtp.submission.port
    assert document["endpoint"]["security"] == "starttls"
    assert document["verdict"]["key"] == "accepted" and document["verdict"]["step"] == "sheets"
    assert document["tls"]["verified"] is True
    assert document["token"].startswith("RW-") and document["token"] in document["subject"]
    directions = {line["direction"] for line in document["transcript"]}
    assert directions == {"client", "server", "tls", "info"}
    assert all(line["time"].endswith("+00:00") for line in document["transcript"])


def test_refusal_exits_1_with_the_verdict(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The demo tenant has SMTP AUTH off for the tenant.
    code = _run(_args(sandbox, "smtp-auth", "--password-stdin", "--json"), monkeypatch, "demo\n")
    document = json.loads(capsys.readouterr().out)
    assert code == 1
    assert document["result"] == "refused"
    assert document["verdict"]["key"] == "5.7.139-tenant"
    assert document["reply"]["code"] == 535 and document["reply"]["stage"] == "auth"


def test_unreachable_exits_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = ["send-test", "--method", "direct-send", "--from", SCANNER, "--to", USER]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--timeout", "1", "--json"]
    code = _run(argv, monkeypatch)
    document = json.loads(capsys.readouterr().out)
    assert code == 3 and document["failure"] == "refused"


@pytest.mark.parametrize(
    "argv",
    [
        ["--method", "smtp-auth", "--from", "not-an-address", "--to", USER],
        ["--method", "direct-send", "--from", SCANNER, "--to", "nobody"],
        ["--method", "smtp-auth", "--from", SCANNER, "--to", USER],  # no password
        ["--method", "direct-send", "--from", SCANNER, "--to", USER, "--password-stdin"],
        ["--method", "smtp-auth-oauth", "--from", SCANNER, "--to", USER],  # no token
        ["--method", "smtp-auth", "--from", SCANNER, "--to", USER, "--keyring-entry", "Nowhere"],
    ],
)
def test_bad_input_exits_2(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _run(["send-test", *argv, "--host", "127.0.0.1", "--port", "1"], monkeypatch, "pw\n")
    assert code == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_keyring_entry(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _smtp_auth_on(sandbox)
    SecretStore().set("Contoso HQ", f"smtp-password:{SCANNER}", "demo")
    code = _run(_args(sandbox, "smtp-auth", "--keyring-entry", "Contoso HQ"), monkeypatch)
    assert code == 0, capsys.readouterr().out


def test_oauth_token_from_stdin_and_no_secret_in_output(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _smtp_auth_on(sandbox)
    token = sandbox.issue_token(SCANNER, ["https://outlook.office.com/SMTP.Send"])
    code = _run(
        _args(sandbox, "smtp-auth-oauth", "--password-stdin", "--json"), monkeypatch, token + "\n"
    )
    captured = capsys.readouterr()
    assert code == 0
    assert json.loads(captured.out)["auth_mechanism"] == "XOAUTH2"
    assert token not in captured.out and token not in captured.err


def test_relay_methods_default_to_the_mx_on_port_25(monkeypatch: pytest.MonkeyPatch) -> None:
    from wizard.cli.send_test import build_request

    args = build_parser().parse_args(
        ["send-test", "--method", "direct-send", "--from", SCANNER, "--to", USER]
    )
    request = build_request(args)
    assert request.host == "contoso-example.mail.protection.outlook.com"
    assert request.port == 25
    args = build_parser().parse_args(
        ["send-test", "--method", "smtp-auth", "--from", SCANNER, "--to", USER]
    )
    request = build_request(args)
    assert (request.host, request.port) == ("smtp.office365.com", 587)


def test_the_cli_default_timeout_is_the_senders() -> None:
    from wizard.cli import send_test
    from wizard.services import smtp_test

    assert send_test.DEFAULT_TIMEOUT == smtp_test.DEFAULT_TIMEOUT
