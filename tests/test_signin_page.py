"""The Sign in page with a browser command that never returns (issue 13, item 4)."""

from __future__ import annotations

import threading
from datetime import date

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from tests.m365_helpers import ADMIN, profile
from wizard.core.methods import Method
from wizard.sandbox.identity.browser import complete_sign_in
from wizard.sandbox.server import Sandbox
from wizard.services.signin import SignIn, SignInSettings
from wizard.ui.pages.base import PageId
from wizard.ui.pages.signin import SignInPage
from wizard.ui.session import WizardSession
from wizard.ui.settings import DEFAULT_SIZE
from wizard.ui.wizard import RelayWizard


def test_sign_in_goes_on_while_the_browser_command_never_returns(
    qtbot: QtBot, sandbox: Sandbox
) -> None:
    # Like webbrowser's generic launcher, the command waits for the browser process,
    # which stays open after the browser said "Authentication complete".
    release = threading.Event()
    urls: list[str] = []

    def never_returns(url: str) -> bool:
        urls.append(url)
        release.wait(60)
        return True

    session = WizardSession(
        sandbox.cloud, profile(Method.CONNECTOR), clock=lambda: date(2026, 11, 27)
    )
    session.set_sign_in(SignIn(sandbox.cloud, SignInSettings(), opener=never_returns))
    wizard = RelayWizard(session, pages=[SignInPage], remember_size=False)
    qtbot.addWidget(wizard)
    wizard.resize(*DEFAULT_SIZE)
    wizard.show()
    qtbot.waitExposed(wizard)
    page = wizard.page_for(PageId.SIGN_IN)
    assert isinstance(page, SignInPage)
    # The browser has the focus while the person signs in.
    browser_window = QWidget()
    qtbot.addWidget(browser_window)
    browser_window.show()
    qtbot.waitExposed(browser_window)
    try:
        qtbot.mouseClick(page.browser_button, Qt.MouseButton.LeftButton)
        assert page.waiting_hint.isVisible()
        assert "If nothing happens" in page.waiting_hint.text()
        assert "copy the sign-in address" in page.waiting_hint.text()
        assert page.code_button.isEnabled(), "the code is offered while the browser waits"
        browser_window.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is browser_window, timeout=5_000)
        qtbot.waitUntil(lambda: len(urls) == 1, timeout=5_000)
        # The address to paste into a browser by hand, if no window opened.
        qtbot.waitUntil(page.copy_address.isVisible, timeout=5_000)
        page.copy_address.click()
        assert QGuiApplication.clipboard().text() == urls[0]
        complete_sign_in(urls[0], ADMIN, ca_pem=sandbox.ca_pem)
        # Graph has its own client: a second round in the same browser. It starts
        # only when the first round went on without the first command returning.
        qtbot.waitUntil(lambda: len(urls) == 2, timeout=5_000)
        with qtbot.waitSignal(session.signedInChanged, timeout=2_000):
            complete_sign_in(urls[1], ADMIN, ca_pem=sandbox.ca_pem)
        account = session.signed_in
        assert account is not None and account.upn == ADMIN
        qtbot.waitUntil(lambda: not page.running, timeout=5_000)
        assert not page.waiting_hint.isVisible()
        assert not page.copy_address.isVisible()
        assert page.isComplete()
        assert QApplication.activeWindow() is wizard, "the wizard comes back to the front"
    finally:
        release.set()
