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


def test_relay_methods_default_to_the_domains_mx_on_port_25(sandbox: Any) -> None:
    from wizard.cli.send_test import build_request
    from wizard.sandbox.tenant import microsoft_mx_host

    dns = f"{sandbox.dns.host}:{sandbox.dns.port}"
    args = build_parser().parse_args(
        ["send-test", "--method", "direct-send", "--from", SCANNER, "--to", USER]
        + ["--nameserver", dns]
    )
    request = build_request(args)
    # The live MX (Microsoft's suffixed token), never the dashed domain.
    assert request.host == microsoft_mx_host(DEMO_DOMAIN)
    assert request.port == 25
    args = build_parser().parse_args(
        ["send-test", "--method", "smtp-auth", "--from", SCANNER, "--to", USER]
    )
    request = build_request(args)
    assert (request.host, request.port) == ("smtp.office365.com", 587)


def test_a_relay_host_that_cannot_be_found_is_explained(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with sandbox.state.lock:
        sandbox.state.set_record(DEMO_DOMAIN, "MX", "10 mx1.mimecast.com.")
    dns = f"{sandbox.dns.host}:{sandbox.dns.port}"
    argv = ["send-test", "--method", "connector", "--from", SCANNER, "--to", USER]
    code = _run([*argv, "--nameserver", dns], monkeypatch)
    err = capsys.readouterr().err
    assert code == 2 and "relay host for contoso.example was not found" in err
    assert f"Settings > Domains > {DEMO_DOMAIN}" in err and "--host" in err


def test_the_cli_default_timeout_is_the_senders() -> None:
    from wizard.cli import send_test
    from wizard.services import smtp_test

    assert send_test.DEFAULT_TIMEOUT == smtp_test.DEFAULT_TIMEOUT


def test_local_relay_send_test_plays_the_device(
    sandbox: Any,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """send-test --method local-relay is the device: it signs in to the relay with the
    relay's own user name and password, checks the relay's certificate with its CA, and
    the relay delivers to the tenant."""
    from tests.relay_helpers import allow_smtp_auth, delivered, enroll, relay_config, with_scanner
    from tests.sandbox_fixtures import wait_for
    from wizard.services.relay import RelayServer

    store = SecretStore()
    allow_smtp_auth(sandbox)
    config, device, password = with_scanner(relay_config(sandbox, tmp_path), store)
    enroll(sandbox, config, store)
    missing = _run(
        ["send-test", "--method", "local-relay", "--from", SCANNER, "--to", USER], monkeypatch
    )
    assert missing == cli.EXIT_USAGE
    assert "--host is needed for the local relay" in capsys.readouterr().err
    with RelayServer(config, secrets=store) as relay:
        argv = [
            "send-test", "--method", "local-relay", "--from", SCANNER, "--to", USER,
            "--host", "127.0.0.1", "--port", str(relay.port()), "--username", device.username,
            "--cafile", str(tmp_path / "relay-ca.pem"), "--password-stdin", "--timeout", "5",
        ]  # fmt: skip
        code = _run(argv, monkeypatch, password + "\n")
        captured = capsys.readouterr()
        out = captured.out
        assert code == 0, (out, captured.err)
        assert "STARTTLS" in out and password not in out

        def subjects() -> list[str]:
            with sandbox.state.lock:
                return [e.subject for e in sandbox.state.trace if e.sender == SCANNER]

        assert wait_for(lambda: len(subjects()) == 1)
        (subject,) = subjects()
        assert subject.startswith("Relay Wizard test message")
        assert wait_for(lambda: delivered(sandbox, subject) == [USER])
        # --keyring-entry reads the relay's password for the device (the Relay step's).
        keyring = [*argv[: argv.index("--password-stdin")], "--keyring-entry", config.site]
        assert _run([*keyring, "--timeout", "5"], monkeypatch) == 0
