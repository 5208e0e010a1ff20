"""The relay is never an open relay: every attempt outside what it was given is
refused with a clear SMTP reply, logged, and nothing reaches the tenant."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.m365_helpers import SCANNER
from tests.relay_helpers import (
    INSIDE,
    OTHER_COMPUTER,
    OUTSIDE,
    allow_smtp_auth,
    device_client,
    enroll,
    relay_config,
    scan,
    subjects,
    with_scanner,
)
from wizard.core.relay import RelayDevice, RelayLimits
from wizard.sandbox.server import Sandbox
from wizard.services.relay import RelayServer, add_device
from wizard.services.secrets import SecretStore

COPIER_IP = "127.0.0.3"


class Relay:
    def __init__(self, server: RelayServer, device: RelayDevice, password: str) -> None:
        self.server = server
        self.device = device
        self.password = password

    @property
    def port(self) -> int:
        return self.server.port()


@pytest.fixture
def relay(sandbox: Sandbox, tmp_path: Path) -> Iterator[Relay]:
    store = SecretStore()
    allow_smtp_auth(sandbox)
    limits = RelayLimits(recipients_per_message=2)
    config, device, password = with_scanner(relay_config(sandbox, tmp_path, limits=limits), store)
    # A second device at its own address: its user name is not the scanner's.
    config, _, _ = add_device(
        config, store, name="Copier", ip=COPIER_IP, sender=f"copier@{SCANNER.split('@')[1]}"
    )
    enroll(sandbox, config, store)
    with RelayServer(config, secrets=store) as server:
        yield Relay(server, device, password)
    assert subjects(sandbox) == [], "nothing refused may reach the tenant"
    assert not list((tmp_path / "queue").glob("*.msg"))


def _messages(records: list[logging.LogRecord]) -> str:
    return " | ".join(r.getMessage() for r in records if r.name == "wizard.services.relay")


def test_a_computer_that_is_not_a_device_is_refused_at_connect(
    relay: Relay, expected_warnings: list[logging.LogRecord]
) -> None:
    with pytest.raises(smtplib.SMTPConnectError) as refused:
        smtplib.SMTP("127.0.0.1", relay.port, timeout=10, source_address=(OTHER_COMPUTER, 0))
    assert refused.value.smtp_code == 554
    assert f"does not accept mail from {OTHER_COMPUTER}".encode() in refused.value.smtp_error
    assert f"refused a connection from {OTHER_COMPUTER}" in _messages(expected_warnings)


def test_no_auth_no_mail(relay: Relay, expected_warnings: list[logging.LogRecord]) -> None:
    with device_client(relay.port) as smtp:
        code, text = smtp.mail(SCANNER)
        assert code == 530, text
        code, _ = smtp.rcpt(OUTSIDE)
        assert code in (503, 530)


def test_no_starttls_no_auth(relay: Relay) -> None:
    with device_client(relay.port, starttls=False) as smtp:
        assert not smtp.has_extn("auth")
        code, text = smtp.docmd("AUTH", "PLAIN AHNjYW5uZXIAeA==")
        assert code == 530 and b"STARTTLS" in text
        code, _ = smtp.mail(SCANNER)
        assert code == 530


def test_a_wrong_password_is_refused(
    relay: Relay, expected_warnings: list[logging.LogRecord]
) -> None:
    with device_client(relay.port) as smtp:
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            smtp.login(relay.device.username, relay.password[:-1] + "x")
    assert refused.value.smtp_code == 535
    assert "refused AUTH from 127.0.0.1" in _messages(expected_warnings)


def test_another_devices_user_name_from_this_computer_is_refused(
    relay: Relay, expected_warnings: list[logging.LogRecord]
) -> None:
    store = SecretStore()
    copier = relay.server.config.device_for_username("copier")
    assert copier is not None
    password = store.get(relay.server.config.site, "relay-device-password:copier")
    assert password
    with device_client(relay.port) as smtp:
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            smtp.login("copier", password)
    assert b"may not sign in from 127.0.0.1" in refused.value.smtp_error


@pytest.mark.parametrize(
    "sender", [f"ceo@{SCANNER.split('@')[1]}", "scanner@fabrikam.example", "someone@gmail.com"]
)
def test_only_its_own_sender(
    relay: Relay, sender: str, expected_warnings: list[logging.LogRecord]
) -> None:
    with device_client(relay.port) as smtp:
        smtp.login(relay.device.username, relay.password)
        code, text = smtp.mail(sender)
    assert code == 550
    assert f"may send only as {SCANNER}".encode() in text
    assert "refused MAIL FROM" in _messages(expected_warnings)


def test_a_forged_from_header_is_refused(
    relay: Relay, expected_warnings: list[logging.LogRecord]
) -> None:
    with device_client(relay.port) as smtp:
        smtp.login(relay.device.username, relay.password)
        with pytest.raises(smtplib.SMTPDataError) as refused:
            smtp.send_message(scan("Forged", sender=INSIDE), from_addr=SCANNER)
    assert refused.value.smtp_code == 550
    assert b"The From header" in refused.value.smtp_error


def test_at_most_exchanges_recipients_per_message(relay: Relay) -> None:
    with device_client(relay.port) as smtp:
        smtp.login(relay.device.username, relay.password)
        assert smtp.mail(SCANNER)[0] == 250
        assert smtp.rcpt("a@fabrikam.example")[0] == 250
        assert smtp.rcpt("b@fabrikam.example")[0] == 250
        code, text = smtp.rcpt("c@fabrikam.example")
        assert code == 452 and b"at most 2" in text
        assert smtp.rcpt("not an address")[0] in (452, 501, 553)
        smtp.rset()
