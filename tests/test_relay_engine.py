"""The local relay end to end on real sockets: a device (smtplib) -> the relay ->
the sandbox's submission endpoint with XOAUTH2 -> the message in the tenant."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from tests.m365_helpers import SCANNER
from tests.relay_helpers import (
    OUTSIDE,
    allow_smtp_auth,
    delivered,
    device_client,
    enroll,
    relay_config,
    scan,
    with_scanner,
)
from tests.sandbox_fixtures import wait_for
from wizard.sandbox.server import Sandbox
from wizard.services.relay import RelayServer, relay_status
from wizard.services.relay.status import TokenState
from wizard.services.secrets import SecretStore


def test_a_scan_goes_through_the_relay_to_the_tenant(sandbox: Sandbox, tmp_path: Path) -> None:
    store = SecretStore()
    allow_smtp_auth(sandbox)
    config, device, password = with_scanner(relay_config(sandbox, tmp_path), store)
    enroll(sandbox, config, store)
    with RelayServer(config, secrets=store) as relay:
        with device_client(relay.port()) as smtp:
            smtp.login(device.username, password)
            refused = smtp.send_message(scan("Scan 1"))
            assert refused == {}
        assert wait_for(lambda: delivered(sandbox, "Scan 1") == [OUTSIDE])
        assert wait_for(lambda: relay.status().delivered == 1)
        status = relay.status()
        assert status.queued == 0 and status.failed == 0
        assert status.tokens == {SCANNER: TokenState.OK.value}
        assert status.last_delivery is not None
        # Seen from outside (the wizard, `relay status`): running, nothing queued.
        assert wait_for(lambda: relay_status(config).running)
    # The message reached the tenant as the device's mailbox over OAuth.
    with sandbox.state.lock:
        [entry] = [e for e in sandbox.state.trace if e.subject == "Scan 1"]
    assert entry.sender == SCANNER
    assert b"scan.pdf" in entry.raw
    assert not relay_status(config).running
    log = (tmp_path / "relay.log").read_text(encoding="utf-8")
    assert "delivered" in log and password not in log


def test_the_queue_is_on_disk_before_the_250(
    sandbox: Sandbox, tmp_path: Path, expected_warnings: list[logging.LogRecord]
) -> None:
    """Nothing signed in yet: the message is accepted, kept on disk, and held."""
    store = SecretStore()
    allow_smtp_auth(sandbox)
    config, device, password = with_scanner(relay_config(sandbox, tmp_path), store)
    with RelayServer(config, secrets=store) as relay:
        with device_client(relay.port()) as smtp:
            smtp.login(device.username, password)
            smtp.send_message(scan("Held"))
            code, _ = smtp.noop()
            assert code == 250
        files = list((tmp_path / "queue").glob("*.msg"))
        assert len(files) == 1
        envelope = json.loads(files[0].read_bytes().split(b"\n", 1)[0])
        assert envelope["recipients"] == [OUTSIDE] and envelope["mailbox"] == SCANNER
        assert wait_for(lambda: "Sign in as" in relay.status().last_error)
        assert relay.status().tokens.get(SCANNER) == TokenState.MISSING.value
    assert delivered(sandbox, "Held") == []
    assert any("holding the mail" in r.getMessage() for r in expected_warnings)


@pytest.mark.parametrize("plain", [False, True])
def test_plain_port_only_when_opted_in(sandbox: Sandbox, tmp_path: Path, plain: bool) -> None:
    store = SecretStore()
    config, _, _ = with_scanner(
        relay_config(sandbox, tmp_path, plain_port=0 if plain else None), store
    )
    with RelayServer(config, secrets=store) as relay:
        kinds = sorted(tls for _, _, tls in relay.addresses)
        assert kinds == ([False, True] if plain else [True])


def test_a_device_without_tls_on_the_opted_in_plain_port(sandbox: Sandbox, tmp_path: Path) -> None:
    store = SecretStore()
    allow_smtp_auth(sandbox)
    config, device, password = with_scanner(relay_config(sandbox, tmp_path, plain_port=0), store)
    enroll(sandbox, config, store)
    with RelayServer(config, secrets=store) as relay:
        with device_client(relay.port(starttls=False), starttls=False) as smtp:
            # STARTTLS is offered to devices that can, AUTH is allowed without it here.
            assert smtp.has_extn("starttls") and smtp.has_extn("auth")
            smtp.login(device.username, password)
            assert smtp.send_message(scan("Plain")) == {}
        assert wait_for(lambda: delivered(sandbox, "Plain") == [OUTSIDE])
        # The STARTTLS port still refuses AUTH in the clear.
        with device_client(relay.port(), starttls=False) as smtp:
            assert not smtp.has_extn("auth")
