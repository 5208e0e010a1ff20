"""The Sheets step for the local relay: each printer's sheet gives the relay's address
and the device's relay user name; its password (the relay's) only in the export that
asks for it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from pytestqt.qtbot import QtBot

from tests.memory_keyring import MemoryKeyring
from tests.pdf_helpers import poppler_pages, squash
from tests.ui_helpers import TODAY
from wizard.core.clouds import CLOUDS, CloudId
from wizard.core.methods import Method
from wizard.core.relay import OnwardTarget, RelayConfig, RelayDevice, device_password_purpose
from wizard.core.sheet import PASSWORD_IN_KEYRING
from wizard.core.vendors import FieldKey
from wizard.services.secrets import SecretStore
from wizard.ui.pages.sheets import SheetsPage
from wizard.ui.selftest import sample_profile
from wizard.ui.session import WizardSession
from wizard.ui.settings import DEFAULT_SIZE
from wizard.ui.wizard import RelayWizard

CANARY = "Canary-Relay-9c2e"


def test_relay_sheets_and_the_relays_passwords(
    qtbot: QtBot, tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    profile = replace(sample_profile(), method=Method.LOCAL_RELAY)
    devices = tuple(
        RelayDevice(p.name, f"192.168.1.{50 + i}", f"device-{i}", p.sender)
        for i, p in enumerate(profile.printers)
    )
    config = RelayConfig(
        site=profile.site.name,
        listen_address="192.168.1.20",
        hostname="relay.contoso.lan",
        onward=OnwardTarget("worldwide", "t", "c", "https://login", "smtp", 587, "s"),
        devices=devices,
    )
    for device in devices:
        SecretStore().set(profile.site.name, device_password_purpose(device.username), CANARY)
    session = WizardSession(CLOUDS[CloudId.WORLDWIDE], profile, clock=lambda: TODAY)
    session.set_local_relay(config, tmp_path / "relay.json", "AB:CD")
    wizard = RelayWizard(session, pages=[SheetsPage], remember_size=False)
    qtbot.addWidget(wizard)
    wizard.resize(*DEFAULT_SIZE)
    wizard.show()
    page = wizard.currentPage()
    assert isinstance(page, SheetsPage)
    qtbot.waitUntil(lambda: len(page.previews) == len(profile.printers), timeout=10000)
    for sheet, device in zip(page.sheets, devices, strict=True):
        assert sheet.row(FieldKey.SERVER).value == "192.168.1.20"
        assert sheet.row(FieldKey.USERNAME).value == device.username
        assert not sheet.includes_password
    assert page.include_password.isVisible()

    plain = tmp_path / "plain.pdf"
    page.export_to(plain, per_printer=False)
    qtbot.waitUntil(page.isComplete, timeout=15000)
    assert all(CANARY not in squash(t) for t in poppler_pages(plain))
    assert squash(PASSWORD_IN_KEYRING) in squash(poppler_pages(plain)[0])
    page.include_password.setChecked(True)
    secret = tmp_path / "secret.pdf"
    page.export_to(secret, per_printer=False)
    qtbot.waitUntil(lambda: secret.exists() and page.isComplete(), timeout=15000)
    texts = [squash(t) for t in poppler_pages(secret)]
    assert all(CANARY in t and "192.168.1.20" in t for t in texts)
