"""The wizard's first pages, driven as a user would: Welcome -> Site -> Method -> Summary."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWizard
from pytestqt.qtbot import QtBot

from tests.ui_helpers import (
    FIRST_PAGES,
    choose_file,
    click_next,
    make_wizard,
    next_button,
    type_into,
)
from wizard.core.clouds import CLOUDS, Cloud, CloudId, Endpoint, sandbox_cloud
from wizard.core.methods import Method, Tri
from wizard.core.profile import SCHEMA_VERSION, Printer, SiteProfile
from wizard.sandbox.dns_server import DnsServer
from wizard.sandbox.server import Sandbox
from wizard.sandbox.tenant import TenantState
from wizard.services.profile_store import save_profile
from wizard.ui.pages.base import PageId, WizardPage
from wizard.ui.pages.method import MethodPage
from wizard.ui.pages.printer_dialog import PrinterDialog
from wizard.ui.pages.site import SitePage
from wizard.ui.pages.summary import SummaryPage
from wizard.ui.pages.welcome import StartMode, WelcomePage
from wizard.ui.selftest import sample_profile
from wizard.ui.session import WizardSession
from wizard.ui.settings import DEFAULT_SIZE, load_ui_settings, settings_path
from wizard.ui.tasks import CancelToken
from wizard.ui.wizard import RelayWizard


def _page(wizard: RelayWizard, page_id: PageId) -> WizardPage:
    return wizard.page_for(page_id)


def _cell(site: SitePage, row: int, column: int) -> str:
    item = site.table.item(row, column)
    assert item is not None
    return item.text()


def _add_device(
    qtbot: QtBot,
    site: SitePage,
    *,
    name: str,
    vendor: str,
    sender: str,
    tls12: Tri = Tri.YES,
    smtp_auth: Tri = Tri.YES,
    oauth: Tri = Tri.NO,
) -> PrinterDialog:
    qtbot.mouseClick(site.add_button, Qt.MouseButton.LeftButton)
    dialog = site.dialog
    assert dialog is not None and dialog.isVisible()
    type_into(qtbot, dialog.name, name)
    dialog.vendor.setCurrentIndex(dialog.vendor.findData(vendor))
    type_into(qtbot, dialog.sender_address, sender)
    for choice, value in (
        (dialog.tls12, tls12),
        (dialog.smtp_auth, smtp_auth),
        (dialog.oauth, oauth),
    ):
        qtbot.mouseClick(choice.buttons()[value], Qt.MouseButton.LeftButton)
    return dialog


def test_walk_the_first_pages_and_save_the_profile(qtbot: QtBot, tmp_path: Path) -> None:
    # contoso.com's DNS, served on loopback: its MX carries Microsoft's suffixed token,
    # and the relay host the Method page shows is read from it, never computed.
    state = TenantState(tenant_id="t", display_name="Contoso", initial_domain="c.example")
    state.set_record("contoso.com", "MX", f"0 {CONTOSO_MX}.")
    with DnsServer(state) as dns:
        _walk(qtbot, tmp_path, replace(CLOUDS[CloudId.WORLDWIDE], dns_server=dns.endpoint))


CONTOSO_MX = "contoso-com01b.mail.protection.outlook.com"


def _walk(qtbot: QtBot, tmp_path: Path, cloud: Cloud) -> None:
    wizard = make_wizard(qtbot, cloud=cloud)
    assert wizard.current_page_id() is PageId.WELCOME
    assert wizard.registered() == [PageId.WELCOME, PageId.SITE, PageId.METHOD, PageId.SUMMARY]
    click_next(qtbot, wizard)

    site = _page(wizard, PageId.SITE)
    assert isinstance(site, SitePage)
    assert not next_button(wizard).isEnabled()
    assert site.why_not.isVisible() and "site's name cannot be empty" in site.why_not.text

    type_into(qtbot, site.site_name, "Contoso HQ")
    type_into(qtbot, site.domain, "contoso")
    # A bad domain: the field says why, and so does the line under the page.
    assert site._domain.error.isVisible()
    assert "has no dot" in site._domain.error.text
    assert not next_button(wizard).isEnabled()
    assert "has no dot" in site.why_not.text
    qtbot.keyClicks(site.domain, ".com")
    assert not site._domain.error.isVisible()

    type_into(qtbot, site.public_ip, "192.168.1.20")
    assert site._ip.error.isVisible() and "private (LAN) address" in site._ip.error.text
    assert not next_button(wizard).isEnabled()
    type_into(qtbot, site.public_ip, "203.0.113.7")
    assert not site._ip.error.isVisible()

    qtbot.mouseClick(site.external.buttons()[Tri.YES], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(site.static_ip.buttons()[Tri.YES], Qt.MouseButton.LeftButton)
    assert site.why_not.text == "Add at least one device that sends mail."
    assert not next_button(wizard).isEnabled()

    dialog = _add_device(
        qtbot, site, name="Reception scanner", vendor="canon", sender="scanner@fabrikam.com"
    )
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    # A sender outside the site's domain cannot be saved.
    assert not ok.isEnabled()
    assert "is not in the domain contoso.com" in dialog.why_not.text
    assert dialog._sender.error.isVisible()
    type_into(qtbot, dialog.sender_address, "scanner@contoso.com")
    assert ok.isEnabled()
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    assert site.table.rowCount() == 1
    assert _cell(site, 0, 0) == "Reception scanner"
    assert next_button(wizard).isEnabled() and not site.why_not.isVisible()

    # A second device with the same name is refused in the dialog.
    dialog = _add_device(
        qtbot, site, name="reception scanner", vendor="hp", sender="mfp@contoso.com"
    )
    assert "already called" in dialog.why_not.text
    type_into(qtbot, dialog.name, "Back office MFP")
    qtbot.mouseClick(
        dialog.buttons.button(dialog.buttons.StandardButton.Ok), Qt.MouseButton.LeftButton
    )
    assert site.table.rowCount() == 2

    click_next(qtbot, wizard)
    method = _page(wizard, PageId.METHOD)
    assert isinstance(method, MethodPage)
    assert not next_button(wizard).isEnabled()
    assert method.why_not.text == "Pick how the devices should send."
    first = method.cards[0]
    assert first.assessment.recommended and first.badge is not None
    assert first.badge.word == "Recommended"
    # Mail must leave the organisation: direct send is shown, blocked, with the reason.
    direct = method.card(Method.DIRECT_SEND)
    assert not direct.radio.isEnabled()
    assert "550 5.7.54" in direct.accessibleDescription()
    basic = method.card(Method.SMTP_AUTH)
    assert "end of December 2026 (in 59 days)" in basic.accessibleDescription()

    qtbot.mouseClick(method.card(Method.CONNECTOR).radio, Qt.MouseButton.LeftButton)
    assert wizard.session.profile.method is Method.CONNECTOR
    qtbot.waitUntil(lambda: method.preview.values["Server"] == CONTOSO_MX, timeout=10000)
    assert method.preview.values["Server from"] == "from the domain's MX record in DNS"
    assert method.preview.values["Port"] == "25"
    assert method.preview.values["Sender (From)"] == "scanner@contoso.com"
    assert next_button(wizard).isEnabled()

    click_next(qtbot, wizard)
    summary = _page(wizard, PageId.SUMMARY)
    assert isinstance(summary, SummaryPage)
    assert wizard.button(QWizard.WizardButton.FinishButton).isVisible()
    assert summary.section("site")["Mail domain"] == "contoso.com"
    assert summary.section("Back office MFP")["Sender (From)"] == "mfp@contoso.com"
    assert summary.saved_label.text() == "Not saved yet."

    target = tmp_path / "contoso-hq.json"
    qtbot.mouseClick(summary.save_button, Qt.MouseButton.LeftButton)
    choose_file(qtbot, summary, "saveProfileDialog", target)
    qtbot.waitUntil(lambda: wizard.session.profile_path == target, timeout=5000)
    assert not wizard.session.has_unsaved_changes
    assert summary.saved_label.text() == f"Saved to {target}"
    saved = json.loads(target.read_text(encoding="utf-8"))
    assert saved["schema_version"] == SCHEMA_VERSION
    assert saved["site"] == {
        "name": "Contoso HQ",
        "domain": "contoso.com",
        "cloud": "worldwide",
        "public_ip": "203.0.113.7",
        "external_recipients": "yes",
        "static_ip": "yes",
        "port25_open": "unknown",
        "daily_volume": 50,
    }
    assert saved["method"] == "connector"
    assert [p["name"] for p in saved["printers"]] == ["Reception scanner", "Back office MFP"]
    assert saved["printers"][0]["vendor"] == "canon"
    assert saved["printers"][0]["sender"] == "scanner@contoso.com"
    assert saved["printers"][0]["oauth"] == "no"

    # Nothing unsaved: Finish closes at once.
    qtbot.mouseClick(wizard.button(QWizard.WizardButton.FinishButton), Qt.MouseButton.LeftButton)
    assert not wizard.isVisible()


def test_a_damaged_profile_is_explained_and_left_unchanged(qtbot: QtBot, tmp_path: Path) -> None:
    damaged = tmp_path / "broken.json"
    content = b'{"schema_version": 1, "site": {"name": "Contoso"'
    damaged.write_bytes(content)
    wizard = make_wizard(qtbot)
    welcome = _page(wizard, PageId.WELCOME)
    assert isinstance(welcome, WelcomePage)
    qtbot.mouseClick(welcome._choose, Qt.MouseButton.LeftButton)
    choose_file(qtbot, welcome, "openProfileDialog", damaged)
    qtbot.waitUntil(lambda: welcome.status.message is not None, timeout=5000)
    message = welcome.status.message
    assert message is not None
    assert message.word == "Problem"
    assert "broken.json is damaged or incomplete" in message.what
    assert "left unchanged" in message.next_step
    assert damaged.read_bytes() == content
    assert welcome.mode is StartMode.OPEN
    assert not next_button(wizard).isEnabled()
    assert "Choose the site profile to open" in welcome.why_not.text


def test_an_opened_profile_fills_the_pages(qtbot: QtBot, tmp_path: Path) -> None:
    path = save_profile(replace(sample_profile(), method=None), tmp_path / "contoso.json")
    wizard = make_wizard(qtbot)
    welcome = _page(wizard, PageId.WELCOME)
    assert isinstance(welcome, WelcomePage)
    welcome.open_profile(path)
    qtbot.waitUntil(lambda: wizard.session.profile_path == path, timeout=5000)
    assert not wizard.session.has_unsaved_changes
    assert "Contoso Dental" in welcome._opened.text()
    click_next(qtbot, wizard)
    site = _page(wizard, PageId.SITE)
    assert isinstance(site, SitePage)
    assert site.site_name.text() == "Contoso Dental – Main office"
    assert site.domain.text() == "contoso.com"
    assert site.table.rowCount() == 2
    assert site.external.value() is Tri.YES
    # "Start a new setup" after opening starts from nothing, as it says.
    wizard.back()
    welcome.set_mode(StartMode.NEW)
    click_next(qtbot, wizard)
    assert site.site_name.text() == "" and site.table.rowCount() == 0
    assert wizard.session.profile_path is None


def test_a_saved_method_that_no_longer_fits_is_cleared_with_a_reason(qtbot: QtBot) -> None:
    profile = replace(sample_profile(), method=Method.DIRECT_SEND)  # mail must leave the org
    wizard = make_wizard(qtbot, profile)
    click_next(qtbot, wizard)
    click_next(qtbot, wizard)
    method = _page(wizard, PageId.METHOD)
    assert wizard.session.profile.method is None
    assert method.status.message is not None
    assert "cannot be used here now" in method.status.message.what
    assert "550 5.7.54" in method.status.message.why
    assert not next_button(wizard).isEnabled()


def test_cancel_asks_before_discarding_unsaved_changes(qtbot: QtBot) -> None:
    wizard = make_wizard(qtbot)
    click_next(qtbot, wizard)
    site = _page(wizard, PageId.SITE)
    assert isinstance(site, SitePage)
    type_into(qtbot, site.site_name, "Contoso HQ")
    assert wizard.session.has_unsaved_changes
    qtbot.mouseClick(wizard.button(QWizard.WizardButton.CancelButton), Qt.MouseButton.LeftButton)
    box = wizard.confirm_box
    assert isinstance(box, QMessageBox) and box.isVisible()
    keep = next(b for b in box.buttons() if b.text() == "Keep working")
    qtbot.mouseClick(keep, Qt.MouseButton.LeftButton)
    assert wizard.isVisible() and wizard.confirm_box is None

    wizard.close()  # the window's close button goes the same way
    box = wizard.confirm_box
    assert isinstance(box, QMessageBox)
    discard = next(b for b in box.buttons() if b.text() == "Close without saving")
    qtbot.mouseClick(discard, Qt.MouseButton.LeftButton)
    assert not wizard.isVisible()


def test_closing_while_work_runs_neither_crashes_nor_hangs(qtbot: QtBot) -> None:
    wizard = make_wizard(qtbot)
    welcome = _page(wizard, PageId.WELCOME)
    release = threading.Event()
    started = threading.Event()
    results: list[object] = []

    def stubborn(token: CancelToken) -> str:
        started.set()
        release.wait(30)  # ignores the cancel token
        return "late"

    def cooperative(token: CancelToken) -> str:
        token.wait(30)
        return "late"

    welcome.run_task(stubborn, lambda r, e: results.append(r), name="stubborn", label="Waiting…")
    welcome.run_task(cooperative, lambda r, e: results.append(r), name="polite", label="Waiting…")
    assert started.wait(5)
    begun = time.monotonic()
    wizard.reject()
    assert not wizard.isVisible()
    assert time.monotonic() - begun < 3
    wizard.deleteLater()
    qtbot.wait(20)
    release.set()
    qtbot.wait(100)
    assert results == []


def test_slow_work_shows_progress_that_can_be_cancelled(qtbot: QtBot) -> None:
    wizard = make_wizard(qtbot)
    welcome = _page(wizard, PageId.WELCOME)
    outcome: list[BaseException | None] = []

    def slow(token: CancelToken) -> None:
        token.wait(30)

    welcome.run_task(slow, lambda r, e: outcome.append(e), name="slow", label="Checking…")
    assert not welcome.status.progress_visible  # nothing flickers for quick work
    qtbot.waitUntil(lambda: welcome.status.progress_visible, timeout=3000)
    qtbot.mouseClick(welcome.status._cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(outcome), timeout=3000)
    assert type(outcome[0]).__name__ == "TaskCancelled"
    assert not welcome.status.progress_visible


def test_the_window_remembers_its_size(qtbot: QtBot) -> None:
    wizard = make_wizard(qtbot, remember_size=True)
    wizard.resize(700, 520)
    wizard.reject()
    assert settings_path().exists()
    assert (load_ui_settings().width, load_ui_settings().height) == (700, 520)
    again = RelayWizard(WizardSession(wizard.session.cloud), pages=FIRST_PAGES)
    qtbot.addWidget(again)
    assert (again.width(), again.height()) == (700, 520)


def test_a_damaged_settings_file_means_the_default_size(qtbot: QtBot) -> None:
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text("{not json", encoding="utf-8")
    assert load_ui_settings().width == DEFAULT_SIZE[0]


def test_the_sandbox_is_announced_on_every_page(qtbot: QtBot) -> None:
    cloud = sandbox_cloud(
        identity="https://127.0.0.1:1/",
        admin_api="https://127.0.0.1:2",
        graph="https://127.0.0.1:3",
        smtp=Endpoint("127.0.0.1", 4),
        relay=Endpoint("127.0.0.1", 5),
        dns=Endpoint("127.0.0.1", 6),
        ca_bundle="/nonexistent/ca.pem",
        tenant_id="00000000-0000-0000-0000-000000000000",
    )
    wizard = make_wizard(qtbot, sample_profile(), cloud=cloud)
    assert "sandbox" in wizard.windowTitle()
    welcome = _page(wizard, PageId.WELCOME)
    assert isinstance(welcome, WelcomePage)
    assert welcome._sandbox_note.isVisible() and not welcome._cloud.isVisible()
    for page_id in wizard.registered():
        if page_id is not PageId.WELCOME:
            click_next(qtbot, wizard)
        page = _page(wizard, page_id)
        assert page.banner.isVisible(), page_id
        assert "nothing leaves this computer" in page.banner.accessibleName()
    assert wizard.session.profile.site.cloud.value == "sandbox"


def test_choosing_a_cloud_changes_the_advice(qtbot: QtBot) -> None:
    profile = replace(
        sample_profile(),
        method=None,
        printers=tuple(replace(p, tls12=Tri.NO) for p in sample_profile().printers),
    )
    wizard = make_wizard(qtbot, profile)
    welcome = _page(wizard, PageId.WELCOME)
    assert isinstance(welcome, WelcomePage)
    welcome._cloud.setCurrentIndex(welcome._cloud.findData("gcc-high"))
    assert wizard.session.cloud.id.value == "gcc-high"
    assert wizard.session.profile.site.cloud.value == "gcc-high"
    click_next(qtbot, wizard)
    click_next(qtbot, wizard)
    method = _page(wizard, PageId.METHOD)
    assert isinstance(method, MethodPage)
    hve = method.card(Method.HVE)
    assert not hve.radio.isEnabled()
    assert "not offered in Microsoft 365 GCC High" in hve.accessibleDescription()


def test_printers_can_be_edited_and_removed_with_the_keyboard(qtbot: QtBot) -> None:
    wizard = make_wizard(qtbot, sample_profile())
    click_next(qtbot, wizard)
    site = _page(wizard, PageId.SITE)
    assert isinstance(site, SitePage)
    site.table.setFocus()
    site.table.selectRow(1)
    qtbot.keyClick(site.table, Qt.Key.Key_Return)
    dialog = site.dialog
    assert dialog is not None and dialog.windowTitle().startswith("Edit device")
    assert dialog.name.text() == "Back office MFP"
    assert dialog.vendor.currentData() == "hp"
    type_into(qtbot, dialog.location, "Upstairs")
    qtbot.mouseClick(
        dialog.buttons.button(dialog.buttons.StandardButton.Ok), Qt.MouseButton.LeftButton
    )
    edited = wizard.session.profile.printers[1]
    assert edited == replace(sample_profile().printers[1], location="Upstairs")
    site.table.selectRow(0)
    qtbot.keyClick(site.table, Qt.Key.Key_Delete)
    assert [p.name for p in wizard.session.profile.printers] == ["Back office MFP"]


def test_a_domain_change_flags_devices_outside_it(qtbot: QtBot) -> None:
    wizard = make_wizard(qtbot, sample_profile())
    click_next(qtbot, wizard)
    site = _page(wizard, PageId.SITE)
    assert isinstance(site, SitePage)
    type_into(qtbot, site.domain, "fabrikam.com")
    assert not next_button(wizard).isEnabled()
    assert "is not in the domain fabrikam.com" in site.why_not.text
    assert _cell(site, 0, 4) == "Fix"


def test_every_profile_field_round_trips_through_the_dialog(qtbot: QtBot) -> None:
    printer = Printer(
        name="Lab printer",
        vendor="epson",
        model="WorkForce Pro",
        location="Lab",
        sender="lab@contoso.com",
        username="svc-lab@contoso.com",
        tls12=Tri.NO,
        smtp_auth=Tri.UNKNOWN,
        oauth=Tri.YES,
        port_465_only=True,
    )
    profile = replace(SiteProfile(site=sample_profile().site), printers=(printer,))
    wizard = make_wizard(qtbot, profile)
    click_next(qtbot, wizard)
    site = _page(wizard, PageId.SITE)
    assert isinstance(site, SitePage)
    site.table.selectRow(0)
    site.edit_printer()
    assert site.dialog is not None
    assert site.dialog.printer() == printer


def test_detect_fills_the_public_ip_from_dns(qtbot: QtBot, sandbox: Sandbox) -> None:
    sandbox.state.site_public_ip = "198.51.100.77"
    wizard = make_wizard(qtbot, SiteProfile(), cloud=sandbox.cloud)
    click_next(qtbot, wizard)
    page = wizard.currentPage()
    assert isinstance(page, SitePage)
    qtbot.mouseClick(page.detect_ip, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.public_ip.text() == "198.51.100.77", timeout=5000)
    assert wizard.session.profile.site.public_ip == "198.51.100.77"
    qtbot.waitUntil(page.detect_ip.isEnabled)
