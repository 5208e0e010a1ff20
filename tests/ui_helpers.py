"""Helpers for the wizard's UI tests: build a wizard, walk it, look at its widgets."""

from __future__ import annotations

import atexit
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QFileDialog,
    QLineEdit,
    QPlainTextEdit,
    QTableWidget,
    QWidget,
    QWizard,
)
from pytestqt.qtbot import QtBot

from wizard.core.clouds import CLOUDS, Cloud, CloudId
from wizard.core.profile import SiteProfile
from wizard.sandbox.dns_server import DnsServer
from wizard.sandbox.tenant import TenantState
from wizard.ui.pages.base import WizardPage
from wizard.ui.pages.method import MethodPage
from wizard.ui.pages.site import SitePage
from wizard.ui.pages.summary import SummaryPage
from wizard.ui.pages.welcome import WelcomePage
from wizard.ui.session import WizardSession
from wizard.ui.settings import DEFAULT_SIZE
from wizard.ui.wizard import RelayWizard

# A fixed day before the end of December 2026, so the advice does not drift.
TODAY = date(2026, 11, 2)

# The pages these tests drive; later pages have their own tests (and talk to the
# sandbox), so they are left out here.
FIRST_PAGES: tuple[type[WizardPage], ...] = (WelcomePage, SitePage, MethodPage, SummaryPage)

# The sample profile's domain as public DNS has it: its MX carries Microsoft's
# suffixed token. The pages look the relay host up there, never on the internet.
CONTOSO_MX = "contoso-com01b.mail.protection.outlook.com"
_public_dns: DnsServer | None = None


def worldwide_on_loopback_dns() -> Cloud:
    """Worldwide, with DNS questions going to a loopback stand-in for public DNS."""
    global _public_dns
    if _public_dns is None:
        state = TenantState(tenant_id="t", display_name="Public DNS", initial_domain="x.example")
        state.set_record("contoso.com", "MX", f"0 {CONTOSO_MX}.")
        _public_dns = DnsServer(state)
        _public_dns.start()
        atexit.register(_public_dns.stop)
    return replace(CLOUDS[CloudId.WORLDWIDE], dns_server=_public_dns.endpoint)


def make_wizard(
    qtbot: QtBot,
    profile: SiteProfile | None = None,
    *,
    cloud: Cloud | None = None,
    today: date = TODAY,
    remember_size: bool = False,
    pages: tuple[type[WizardPage], ...] = FIRST_PAGES,
) -> RelayWizard:
    session = WizardSession(cloud or worldwide_on_loopback_dns(), profile, clock=lambda: today)
    wizard = RelayWizard(session, pages=pages, remember_size=remember_size)
    qtbot.addWidget(wizard)
    wizard.resize(*DEFAULT_SIZE)
    wizard.show()
    qtbot.waitExposed(wizard)
    return wizard


def next_button(wizard: QWizard) -> QAbstractButton:
    return wizard.button(QWizard.WizardButton.NextButton)


def click_next(qtbot: QtBot, wizard: QWizard) -> None:
    button = next_button(wizard)
    assert button.isEnabled(), "Next is off"
    before = wizard.currentId()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert wizard.currentId() != before


def type_into(qtbot: QtBot, edit: QLineEdit, text: str, *, leave: bool = True) -> None:
    """Replace the text as a user would, then leave the field (editingFinished)."""
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)
    qtbot.keyClicks(edit, text)
    if leave:
        edit.editingFinished.emit()


def wait_for_file_dialog(qtbot: QtBot, parent: QWidget, name: str) -> QFileDialog:
    found: list[QFileDialog] = []

    def visible() -> bool:
        dialog = parent.findChild(QFileDialog, name)
        if dialog is not None and dialog.isVisible():
            found.append(dialog)
            return True
        return False

    qtbot.waitUntil(visible, timeout=5000)
    return found[0]


def choose_file(qtbot: QtBot, parent: QWidget, name: str, path: Path) -> None:
    dialog = wait_for_file_dialog(qtbot, parent, name)
    dialog.selectFile(str(path))
    dialog.accept()


INPUT_TYPES = (
    QLineEdit,
    QComboBox,
    QAbstractSpinBox,
    QAbstractButton,
    QTableWidget,
    QPlainTextEdit,
)


def inputs(root: QWidget) -> Iterator[QWidget]:
    """Every visible widget a user can operate, below `root`."""
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, INPUT_TYPES) or not widget.isVisibleTo(root):
            continue
        if isinstance(widget, QLineEdit) and isinstance(
            widget.parent(), (QComboBox, QAbstractSpinBox)
        ):
            continue  # the editor inside a combo or spin box: named through its owner
        if widget.focusPolicy() == Qt.FocusPolicy.NoFocus:
            continue
        yield widget
