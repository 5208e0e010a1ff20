"""The Sheets page: previews drawn off the UI thread, export one or all, the report."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from pytestqt.qtbot import QtBot

from tests.memory_keyring import MemoryKeyring
from tests.pdf_helpers import poppler_pages, squash
from tests.ui_helpers import TODAY, choose_file
from wizard.core.clouds import CLOUDS, CloudId
from wizard.core.methods import Method
from wizard.core.profile import SiteProfile
from wizard.core.relay_host import decide_relay_host
from wizard.core.sheet import PASSWORD_IN_KEYRING, printer_password_purpose
from wizard.export.layout import Paper
from wizard.services.profile_store import load_profile
from wizard.services.secrets import SecretStore
from wizard.ui.pages.sheets import SheetsPage
from wizard.ui.selftest import sample_profile
from wizard.ui.session import WizardSession
from wizard.ui.settings import DEFAULT_SIZE
from wizard.ui.style import Tone
from wizard.ui.wizard import RelayWizard

CANARY = "Canary-Ui-5b1d"


class _UrlCatcher(QObject):
    """Qt's own hook for QDesktopServices: the URLs the page asked the desktop to open."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url)


@pytest.fixture
def opened_urls() -> Iterator[list[QUrl]]:
    catcher = _UrlCatcher()
    QDesktopServices.setUrlHandler("file", catcher, "open")  # type: ignore[arg-type]
    yield catcher.urls
    QDesktopServices.unsetUrlHandler("file")


TENANT_MX = "contoso-com01b.mail.protection.outlook.com"


def _page(qtbot: QtBot, profile: SiteProfile) -> tuple[RelayWizard, SheetsPage]:
    session = WizardSession(CLOUDS[CloudId.WORLDWIDE], profile, clock=lambda: TODAY)
    # What a tenant check leaves in the session: the tenant's MX for the domain (no
    # lookup on the internet from a test).
    session.set_relay_host(
        decide_relay_host(CLOUDS[CloudId.WORLDWIDE], profile.site.domain, tenant_mx=TENANT_MX)
    )
    wizard = RelayWizard(session, pages=[SheetsPage], remember_size=False)
    qtbot.addWidget(wizard)
    wizard.resize(*DEFAULT_SIZE)
    wizard.show()
    qtbot.waitExposed(wizard)
    page = wizard.currentPage()
    assert isinstance(page, SheetsPage)
    count = len(profile.printers)
    qtbot.waitUntil(lambda: len(page.previews) == count, timeout=10000)
    return wizard, page


def _wait_idle(qtbot: QtBot, page: SheetsPage) -> None:
    qtbot.waitUntil(lambda: page.isComplete(), timeout=15000)


def test_previews_then_export_all_and_open_the_folder(
    qtbot: QtBot, tmp_path: Path, output_dir: Path, opened_urls: list[QUrl]
) -> None:
    profile = sample_profile()
    wizard, page = _page(qtbot, profile)
    assert page.printer_list.count() == len(profile.printers)
    preview = page.preview.pixmap()
    assert preview is not None and not preview.isNull()
    wizard.grab().save(str(output_dir / "ui-sheets-page.png"))

    # Pick the second printer: its own preview shows.
    page.printer_list.setCurrentRow(1)
    assert page.preview.pixmap() is not None and not page.preview.pixmap().isNull()

    # Export all as one PDF through the file dialog, as a user would.
    target = tmp_path / "all-sheets.pdf"
    qtbot.mouseClick(page.export_button, Qt.MouseButton.LeftButton)
    choose_file(qtbot, page, "sheetsFileDialog", target)
    _wait_idle(qtbot, page)
    message = page.status.message
    assert message is not None and message.tone is Tone.GOOD, message
    pages = poppler_pages(target)
    assert len(pages) == len(profile.printers)
    for printer, text in zip(profile.printers, pages, strict=True):
        assert printer.name in text and printer.sender in text
        # The tenant's MX host, never the computed dashed name.
        assert TENANT_MX in squash(text) and "contoso-com.mail" not in text
    # The profile was saved at the end, next to nothing secret.
    saved_path = wizard.session.profile_path
    assert saved_path is not None and saved_path.exists()
    assert load_profile(saved_path) == wizard.session.profile
    assert not wizard.session.has_unsaved_changes

    qtbot.mouseClick(page.open_button, Qt.MouseButton.LeftButton)
    assert [Path(u.toLocalFile()) for u in opened_urls] == [tmp_path]


def test_export_one_file_per_ticked_printer(qtbot: QtBot, tmp_path: Path) -> None:
    wizard, page = _page(qtbot, sample_profile())
    first = page.printer_list.item(0)
    first.setCheckState(Qt.CheckState.Unchecked)
    assert [s.printer_name for s in page.selected_sheets()] == [
        p.name for p in wizard.session.profile.printers[1:]
    ]
    page.per_printer.setChecked(True)
    page.export_to(tmp_path / "out", per_printer=True)
    _wait_idle(qtbot, page)
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(files) == len(wizard.session.profile.printers) - 1
    assert first.text().replace(" ", "-") + ".pdf" not in files

    # Nothing ticked: nothing to export.
    for i in range(page.printer_list.count()):
        page.printer_list.item(i).setCheckState(Qt.CheckState.Unchecked)
    assert not page.export_button.isEnabled()


def test_paper_change_redraws_the_previews(qtbot: QtBot) -> None:
    _wizard, page = _page(qtbot, sample_profile())
    page.paper.setCurrentIndex(page.paper.findData(Paper.A4.value))
    qtbot.waitUntil(lambda: len(page.previews) == page.printer_list.count(), timeout=10000)
    a4 = page.previews[page.printer_list.item(0).text()].size()
    page.paper.setCurrentIndex(page.paper.findData(Paper.LETTER.value))
    qtbot.waitUntil(lambda: len(page.previews) == page.printer_list.count(), timeout=10000)
    letter = page.previews[page.printer_list.item(0).text()].size()
    assert letter.width() > a4.width() and letter.height() < a4.height()


def test_passwords_only_in_the_export_that_asks(
    qtbot: QtBot, tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    from dataclasses import replace

    profile = replace(sample_profile(), method=Method.SMTP_AUTH)
    for printer in profile.printers:
        SecretStore().set(profile.site.name, printer_password_purpose(printer), CANARY)
    _wizard, page = _page(qtbot, profile)
    assert page.include_password.isVisible()
    # The previews never hold a password.
    assert all(not s.includes_password for s in page.sheets)

    plain = tmp_path / "plain.pdf"
    page.export_to(plain, per_printer=False)
    _wait_idle(qtbot, page)
    assert all(CANARY not in squash(t) for t in poppler_pages(plain))
    assert squash(PASSWORD_IN_KEYRING) in squash(poppler_pages(plain)[0])

    page.include_password.setChecked(True)
    secret = tmp_path / "secret.pdf"
    page.export_to(secret, per_printer=False)
    _wait_idle(qtbot, page)
    assert all(CANARY in squash(t) for t in poppler_pages(secret))
    message = page.status.message
    assert message is not None and message.tone is Tone.WARNING


def test_a_missing_keyring_password_stops_the_export(
    qtbot: QtBot, tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    from dataclasses import replace

    profile = replace(sample_profile(), method=Method.SMTP_AUTH)
    _wizard, page = _page(qtbot, profile)
    page.include_password.setChecked(True)
    target = tmp_path / "never.pdf"
    page.export_to(target, per_printer=False)
    _wait_idle(qtbot, page)
    message = page.status.message
    assert message is not None and message.tone is Tone.BAD
    assert "no password" in message.what
    assert not target.exists()


def test_setup_report_from_the_page(qtbot: QtBot, tmp_path: Path) -> None:
    profile = sample_profile()
    _wizard, page = _page(qtbot, profile)
    target = tmp_path / "report.pdf"
    page.export_report(target)
    _wait_idle(qtbot, page)
    text = " ".join(" ".join(p.split()) for p in poppler_pages(target))
    assert profile.site.name in text and "Not run: no test message has been sent." in text
    assert "Why this method:" in text  # the advisor's reasons, from the session


def test_nothing_to_print_without_a_method(qtbot: QtBot) -> None:
    from dataclasses import replace

    session = WizardSession(
        CLOUDS[CloudId.WORLDWIDE], replace(sample_profile(), method=None), clock=lambda: TODAY
    )
    wizard = RelayWizard(session, pages=[SheetsPage], remember_size=False)
    qtbot.addWidget(wizard)
    wizard.show()
    page = wizard.currentPage()
    assert isinstance(page, SheetsPage)
    assert page.notice.isVisible() and page.printer_list.count() == 0
    assert not page.export_button.isEnabled() and not page.report_button.isEnabled()
