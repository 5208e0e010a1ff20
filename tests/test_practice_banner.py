"""Practice mode: the demo banner names the faults that are planted (issue 13, item 8)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.ui_helpers import FIRST_PAGES
from wizard.sandbox.practice import Fault, Practice
from wizard.sandbox.server import Sandbox
from wizard.ui.pages.base import PageId
from wizard.ui.practice_dialog import PracticeDialog
from wizard.ui.selftest import sample_profile
from wizard.ui.session import WizardSession
from wizard.ui.wizard import RelayWizard


def test_the_banner_shows_the_active_faults(qtbot: QtBot, sandbox: Sandbox) -> None:
    session = WizardSession(sandbox.cloud, sample_profile())
    session.practice = Practice(sandbox.state)
    wizard = RelayWizard(session, pages=FIRST_PAGES, remember_size=False)
    qtbot.addWidget(wizard)
    wizard.show()
    qtbot.waitExposed(wizard)
    banner = wizard.page_for(PageId.WELCOME).banner
    assert banner.practice_button is not None
    assert not banner.faults_line.isVisible()
    # Planted in the dialog, as a trainer does.
    dialog = PracticeDialog(session.practice, wizard)
    qtbot.addWidget(dialog)
    dialog.boxes[Fault.PORT25_BLOCKED].setChecked(True)
    dialog.boxes[Fault.SECURITY_DEFAULTS].setChecked(True)
    dialog.reject()
    banner.show_faults()
    assert banner.faults_line.isVisible()
    text = banner.faults_line.plain_text()
    assert "The internet provider blocks port 25" in text
    assert "Security Defaults are switched on" in text
    # Every page's banner reads the state when it shows.
    wizard.next()
    site_banner = wizard.page_for(PageId.SITE).banner
    assert site_banner.faults_line.isVisible()
    assert site_banner.faults_line.plain_text() == text
    session.practice.set(Fault.PORT25_BLOCKED, False)
    session.practice.set(Fault.SECURITY_DEFAULTS, False)
    wizard.back()
    assert not banner.faults_line.isVisible()


def test_enter_on_the_banner_button_is_still_next(qtbot: QtBot, sandbox: Sandbox) -> None:
    """The banner's button takes the first focus on a page; Enter there goes on (Next),
    it does not open the practice dialog."""
    session = WizardSession(sandbox.cloud, sample_profile())
    session.practice = Practice(sandbox.state)
    wizard = RelayWizard(session, pages=FIRST_PAGES, remember_size=False)
    qtbot.addWidget(wizard)
    wizard.show()
    qtbot.waitExposed(wizard)
    button = wizard.page_for(PageId.WELCOME).banner.practice_button
    assert button is not None and not button.autoDefault()
    button.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(button, Qt.Key.Key_Return)
    assert wizard.current_page_id() is PageId.SITE
