"""Troubleshoot for a device behind the local relay: the relay runs, answers at the
device's address, holds the mailbox's sign-in; each problem offers the step that fixes it.
Real sockets: the relay from the engine, the sandbox tenant behind it."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from pytestqt.qtbot import QtBot

from tests.m365_helpers import SCANNER, profile
from tests.relay_helpers import allow_smtp_auth, enroll, onward
from tests.test_troubleshoot_pages import (
    PAGES,
    open_wizard,
    run_checks,
    settle,
    shot,
    to_troubleshoot,
)
from wizard.core.methods import Method
from wizard.core.relay import RelayConfig
from wizard.core.troubleshoot.model import CheckId
from wizard.core.troubleshoot.relay_checks import RelayCheck
from wizard.sandbox.server import Sandbox
from wizard.services.http import make_session
from wizard.services.relay import RelayServer, add_device, default_config_path, save_config
from wizard.services.relay.tokens import forget_refresh_token
from wizard.services.secrets import SecretStore
from wizard.ui.pages.base import PageId
from wizard.ui.pages.relay import RelayPage

SITE = "Main office"


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[requests.Session]:
    with make_session(sandbox.cloud) as session:
        yield session


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _relay_on_this_computer(sandbox: Sandbox) -> RelayConfig:
    """What the Relay step leaves behind: the settings file, the device's password and
    the mailbox's sign-in in the keyring."""
    store = SecretStore()
    allow_smtp_auth(sandbox)
    config = RelayConfig(
        site=SITE,
        listen_address="127.0.0.1",
        hostname="relay.contoso.lan",
        onward=onward(sandbox),
        submission_port=_free_port(),
    )
    config, _device, _password = add_device(
        config, store, name="Scanner", ip="127.0.0.1", sender=SCANNER
    )
    enroll(sandbox, config, store)
    save_config(config, default_config_path())
    return config


def test_a_healthy_relay_and_the_faults_that_stop_it(
    qtbot: QtBot,
    sandbox: Sandbox,
    http: requests.Session,
    output_dir: Path,
    expected_warnings: list[logging.LogRecord],
) -> None:
    config = _relay_on_this_computer(sandbox)
    pages = [*PAGES, RelayPage]
    wizard, _browser = open_wizard(qtbot, sandbox, profile(Method.LOCAL_RELAY), http)
    for page_class in pages:
        if not wizard.has_page(page_class.page_id):
            wizard.add_pages([page_class])
    relay = RelayServer(config, secrets=SecretStore(), config_path=default_config_path()).start()
    try:
        page = to_troubleshoot(qtbot, wizard, sign_in=False)
        # The device's values come from the relay's settings on this computer.
        qtbot.waitUntil(lambda: page.host_edit.text() == "127.0.0.1", timeout=5000)
        assert page.port_spin.value() == config.submission_port
        device = page.device()
        assert device is not None and device.username == "scanner"
        assert page.relay_title.isVisible()
        run_checks(qtbot, page)
        qtbot.waitUntil(lambda: len(page.relay_findings) == 3, timeout=15000)
        words = {RelayCheck(f.id): f.severity.value for f in page.relay_findings}
        assert words == {c: "ok" for c in RelayCheck}, page.relay_findings
        # The wire checks talk to the relay and trust its own CA, as its devices do.
        assert page.rows[CheckId.CERTIFICATE].status_line.word == "OK"
        assert page.rows[CheckId.AUTH].status_line.word == "OK"
        shot(wizard, output_dir / "troubleshoot-relay-ok.png")

        # The mailbox's sign-in is gone: the token check says so, fixed on the Relay step.
        forget_refresh_token(SecretStore(), SITE, SCANNER)
        relay.stop()
        relay = RelayServer(
            config, secrets=SecretStore(), config_path=default_config_path()
        ).start()
        page.relay_findings = ()
        run_checks(qtbot, page)
        qtbot.waitUntil(lambda: len(page.relay_findings) == 3, timeout=15000)
        token = page.relay_rows[RelayCheck.TOKEN]
        assert token.title.text() == f"The relay has no sign-in for {SCANNER}"
        assert token.fix_button.isVisible() and token.fix_button.text() == "Fix in Local relay"

        # The relay stopped: not running and not answering, fixed on the Relay step.
        relay.stop()
        page.relay_findings = ()
        run_checks(qtbot, page)
        qtbot.waitUntil(lambda: len(page.relay_findings) == 3, timeout=15000)
        runs = page.relay_rows[RelayCheck.RUNS]
        assert runs.title.text() == "The relay is not running"
        assert runs.fix_button.text() == "Fix in Local relay"
        assert page.relay_rows[RelayCheck.REACHABLE].status_line.word == "Problem"
        shot(wizard, output_dir / "troubleshoot-relay-stopped.png")
        runs.fix_button.click()
        assert wizard.current_page_id() is PageId.RELAY
    finally:
        relay.stop()
        settle(qtbot, wizard)
        wizard.session.tasks.shutdown()
    # The TLS check offers TLS 1.0 and 1.1 on purpose; the relay's SMTP library logs each
    # refused handshake as an error (to be quieted in the engine's log).
    assert {r.name for r in expected_warnings} <= {"mail.log"}


def test_other_methods_show_no_relay_rows(
    qtbot: QtBot, sandbox: Sandbox, http: requests.Session
) -> None:
    wizard, _browser = open_wizard(qtbot, sandbox, profile(Method.SMTP_AUTH), http)
    try:
        page = to_troubleshoot(qtbot, wizard, sign_in=False)
        assert not page.relay_title.isVisible()
        assert not any(row.isVisible() for row in page.relay_rows.values())
    finally:
        settle(qtbot, wizard)
        wizard.session.tasks.shutdown()
