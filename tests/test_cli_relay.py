"""`relay-wizard relay ...`: init, add-device, status, test; exit codes and JSON."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from tests.m365_helpers import SCANNER
from tests.relay_helpers import (
    OUTSIDE,
    allow_smtp_auth,
    delivered,
    device_client,
    enroll,
    free_port,
    relay_config,
    scan,
)
from tests.sandbox_fixtures import wait_for
from wizard import app
from wizard.sandbox.server import Sandbox
from wizard.services.relay import RelayServer, load_config, save_config
from wizard.services.secrets import SecretStore


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = app.main(["relay", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_init_refuses_all_interfaces_and_bad_addresses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "relay.json"
    common = [
        "--config",
        str(path),
        "--site",
        "HQ",
        "--hostname",
        "relay.contoso.lan",
        "--tenant",
        "contoso.com",
        "--client-id",
        "5e1f7a2c-3b8d-4c6e-9a0f-d2b4c6e8f0a1",
    ]
    code, _, err = run(capsys, "init", *common, "--listen", "0.0.0.0")
    assert code == 2 and "every network" in err and not path.exists()
    code, out, _ = run(capsys, "init", *common, "--listen", "192.168.1.20")
    assert code == 0 and path.exists()
    config = load_config(path)
    assert config.onward.smtp_host == "smtp.office365.com" and config.plain_port is None
    code, _, err = run(
        capsys,
        "add-device",
        "--config",
        str(path),
        "--name",
        "Scanner",
        "--ip",
        "8.8.8.8",
        "--sender",
        "scanner@contoso.com",
    )
    assert code == 2 and "public address" in err


def test_status_says_not_running_and_no_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "status", "--config", str(tmp_path / "none.json"))
    assert code == 1 and "not set up" in err
    code, _, err = run(capsys, "install-service", "--config", str(tmp_path / "none.json"))
    assert code == 1 and "not set up" in err
    assert run(capsys)[0] == 2


def test_add_device_status_and_test_through_a_running_relay(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    allow_smtp_auth(sandbox)
    config = replace(relay_config(sandbox, tmp_path / "data"), submission_port=free_port())
    path = save_config(config, tmp_path / "relay.json")
    code, out, _ = run(
        capsys,
        "add-device",
        "--config",
        str(path),
        "--name",
        "Scanner",
        "--ip",
        "127.0.0.1",
        "--sender",
        SCANNER,
        "--json",
    )
    assert code == 0
    added = json.loads(out)
    assert added["device"]["username"] == "scanner" and len(added["password"]) == 20
    config = load_config(path, check=False)
    enroll(sandbox, config, SecretStore())
    code, out, _ = run(capsys, "status", "--config", str(path), "--json")
    assert code == 1 and json.loads(out)["running"] is False
    with RelayServer(config, config_path=path):
        code, out, err = run(
            capsys, "test", "--config", str(path), "--device", "scanner", "--to", OUTSIDE
        )
        assert code == 0, err
        assert "Queued as" in out
        token = out.split("Message-ID: <")[1].split(".")[0]
        subject = f"Relay Wizard: test message through the office relay {token}"
        assert wait_for(lambda: len(delivered(sandbox, subject)) == 1)
        assert wait_for(lambda: run(capsys, "status", "--config", str(path))[0] == 0)
        code, out, _ = run(capsys, "status", "--config", str(path), "--json")
        status = json.loads(out)
        assert status["schema_version"] == 1 and status["running"] is True
        assert status["queued"] == 0 and status["tokens"] == {SCANNER: "ok"}
        code, out, _ = run(capsys, "status", "--config", str(path))
        assert "Relay: running" in out and f"{SCANNER}: sign-in ok" in out
    code, _, err = run(
        capsys, "test", "--config", str(path), "--device", "scanner", "--to", OUTSIDE
    )
    assert code == 3 and "cannot be reached" in err


def test_a_device_added_while_the_relay_runs_may_send_at_once(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    allow_smtp_auth(sandbox)
    config = replace(relay_config(sandbox, tmp_path / "data"), submission_port=free_port())
    path = save_config(config, tmp_path / "relay.json")
    enroll(sandbox, config, SecretStore())
    with RelayServer(config, config_path=path) as relay:
        code, out, _ = run(
            capsys,
            "add-device",
            "--config",
            str(path),
            "--name",
            "Scanner",
            "--ip",
            "127.0.0.1",
            "--sender",
            SCANNER,
            "--json",
        )
        assert code == 0
        password = json.loads(out)["password"]
        # The running relay notices the changed settings by itself, within seconds.
        assert wait_for(lambda: relay.config.device_for_username("scanner") is not None, 10)
        with device_client(relay.port()) as smtp:
            smtp.login("scanner", password)
            assert smtp.send_message(scan("Added live")) == {}
        assert wait_for(lambda: delivered(sandbox, "Added live") == [OUTSIDE])
        assert relay.status().tokens == {SCANNER: "ok"}
