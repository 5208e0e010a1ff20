"""No dead ends: every jump a page offers lands on a page whose Next and Back work, and
Next leads back to the page that jumped, which runs its check again.

Driven with qtbot against the sandbox, the way a technician clicks. QWizard's own
complaints ("Page 3 already met") are Qt warnings, which fail any test here.
"""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot

from tests.m365_helpers import SCANNER, profile
from wizard.core.methods import Method
from wizard.core.profile import SiteProfile
from wizard.core.steps import WizardStep
from wizard.sandbox.server import Sandbox
from wizard.services.troubleshooter import TroubleshootOptions
from wizard.ui.navigation import PATH, ROUTES, STEP_PAGES, PageId, Route, on_path
from wizard.ui.pages.audit import AuditPage
from wizard.ui.pages.registry import PAGES
from wizard.ui.pages.signin import SignInPage
from wizard.ui.pages.test_message import TestMessagePage
from wizard.ui.pages.troubleshoot import TroubleshootPage
from wizard.ui.pages.welcome import StartMode, WelcomePage
from wizard.ui.session import WizardSession
from wizard.ui.settings import DEFAULT_SIZE
from wizard.ui.widgets.step_list import StepState
from wizard.ui.wizard import RelayWizard

TODAY = date(2026, 11, 27)
FAST = TroubleshootOptions(connect_timeout=0.6, smtp_timeout=5.0, dns_timeout=1.0)


def open_wizard(qtbot: QtBot, sandbox: Sandbox, site: SiteProfile) -> RelayWizard:
    session = WizardSession(sandbox.cloud, site, clock=lambda: TODAY)
    wizard = RelayWizard(session, pages=PAGES, remember_size=False)
    qtbot.addWidget(wizard)
    wizard.resize(*DEFAULT_SIZE)
    wizard.show()
    qtbot.waitExposed(wizard)
    return wizard


def press_next(qtbot: QtBot, wizard: RelayWizard) -> None:
    """Next as a person presses it: once it is on (a page may still be reading)."""
    next_button = wizard.button(QWizard.WizardButton.NextButton)
    qtbot.waitUntil(lambda: next_button.isVisible() and next_button.isEnabled(), timeout=15_000)
    before = wizard.currentId()
    qtbot.mouseClick(next_button, Qt.MouseButton.LeftButton)
    assert wizard.currentId() != before, f"Next did nothing on {PageId(before).name}"


def settle(qtbot: QtBot, wizard: RelayWizard) -> None:
    qtbot.waitUntil(lambda: not wizard.session.tasks.busy, timeout=20_000)


def skip_sign_in(wizard: RelayWizard) -> None:
    page = wizard.currentPage()
    assert isinstance(page, SignInPage)
    page.skip_box.setChecked(True)


def choose(qtbot: QtBot, wizard: RelayWizard, mode: StartMode) -> None:
    welcome = wizard.page_for(PageId.WELCOME)
    assert isinstance(welcome, WelcomePage)
    radio = welcome._buttons()[mode]
    qtbot.mouseClick(radio, Qt.MouseButton.LeftButton, pos=QPoint(8, radio.height() // 2))
    assert welcome.mode is mode


def walk_to(qtbot: QtBot, wizard: RelayWizard, goal: PageId) -> None:
    for _ in range(len(PageId)):
        if wizard.current_page_id() is goal:
            return
        if wizard.current_page_id() is PageId.SIGN_IN:
            skip_sign_in(wizard)
        press_next(qtbot, wizard)
    assert wizard.current_page_id() is goal


def come_back(qtbot: QtBot, wizard: RelayWizard, origin: PageId) -> int:
    """Press Next until the page that jumped is current again; how many presses."""
    presses = 0
    while wizard.current_page_id() is not origin:
        press_next(qtbot, wizard)
        presses += 1
        assert presses <= len(PATH), "Next never led back"
    return presses


def test_every_jump_from_the_test_page_comes_back_and_sends_again(
    qtbot: QtBot, sandbox: Sandbox
) -> None:
    wizard = open_wizard(qtbot, sandbox, profile(Method.SMTP_AUTH))
    walk_to(qtbot, wizard, PageId.TEST)
    page = wizard.currentPage()
    assert isinstance(page, TestMessagePage)
    page._password.setText("wrong password")  # a failing test is still a test
    page.send()
    qtbot.waitUntil(lambda: wizard.session.test_result is not None, timeout=15_000)
    settle(qtbot, wizard)

    for step, target in STEP_PAGES.items():
        if target is PageId.TEST:
            continue
        if not on_path(target, Method.SMTP_AUTH):
            # The Relay step belongs to the local relay's path only: never offered here.
            assert not page.can_go_to_step(step)
            continue
        before = wizard.session.test_result
        assert page.can_go_to_step(step)
        assert page.go_to_step(step), step
        assert wizard.current_page_id() is target
        # The page of the fix says how to get back.
        landed = wizard.page_for(target)
        assert landed.status.message is not None
        assert "Test message, which checks again" in landed.status.message.what
        # The step list says where one is now.
        view = wizard.step_list.view(target)
        assert view is not None and view.state is StepState.CURRENT
        back = wizard.button(QWizard.WizardButton.BackButton)
        assert back.isVisible() and back.isEnabled(), step
        presses = come_back(qtbot, wizard, PageId.TEST)
        # A page after Test (Sheets) was entered directly: one Next returns.
        if PATH.index(target) > PATH.index(PageId.TEST):
            assert presses == 1

        # Coming back runs the check that sent the technician away: a new test.
        def sent_again(previous: object = before) -> bool:
            return wizard.session.test_result is not previous

        qtbot.waitUntil(sent_again, timeout=15_000)
        settle(qtbot, wizard)

    # Back from a page entered directly returns too, without sending again.
    assert page.go_to_step(WizardStep.SHEETS)
    sent = wizard.session.test_result
    qtbot.mouseClick(wizard.button(QWizard.WizardButton.BackButton), Qt.MouseButton.LeftButton)
    assert wizard.current_page_id() is PageId.TEST
    assert wizard.session.test_result is sent
    settle(qtbot, wizard)


@pytest.mark.parametrize("mode", [StartMode.TROUBLESHOOT, StartMode.AUDIT])
def test_every_jump_from_a_side_path_comes_back(
    qtbot: QtBot, sandbox: Sandbox, mode: StartMode
) -> None:
    wizard = open_wizard(qtbot, sandbox, profile(Method.SMTP_AUTH_OAUTH))
    choose(qtbot, wizard, mode)
    route = Route.TROUBLESHOOT if mode is StartMode.TROUBLESHOOT else Route.AUDIT
    assert wizard.route is route
    origin = ROUTES[route][-1]
    walk_to(qtbot, wizard, origin)
    page = wizard.currentPage()
    assert isinstance(page, (TroubleshootPage, AuditPage))
    if isinstance(page, TroubleshootPage):
        page.options = FAST
    # The end of the side path: Finish, not Next.
    assert wizard.button(QWizard.WizardButton.FinishButton).isVisible()
    for step, target in STEP_PAGES.items():
        if not on_path(target, Method.SMTP_AUTH_OAUTH):
            assert not page.can_go_to_step(step)  # the local relay's step only
            continue
        before = page.report if isinstance(page, TroubleshootPage) else None
        assert page.go_to_step(step), step
        assert wizard.current_page_id() is target
        come_back(qtbot, wizard, origin)
        assert wizard.route is route
        # Still the last step of its path.
        assert wizard.button(QWizard.WizardButton.FinishButton).isVisible()
        if isinstance(page, TroubleshootPage):
            # The checks ran again for the device as the profile has it now.
            def checked_again(previous: object = before, checks: TroubleshootPage = page) -> bool:
                return not checks.running and checks.report is not previous

            qtbot.waitUntil(checked_again, timeout=20_000)
        settle(qtbot, wizard)


def test_the_step_list_goes_to_reachable_steps_only(qtbot: QtBot, sandbox: Sandbox) -> None:
    wizard = open_wizard(qtbot, sandbox, profile(Method.SMTP_AUTH))
    steps = wizard.step_list
    chosen = wizard.session.profile.method
    assert [v.page_id for v in steps.views] == [
        p for p in PATH if wizard.has_page(p) and on_path(p, chosen)
    ]
    first = steps.views[0]
    assert first.state is StepState.CURRENT
    # The next step can be reached; the ones after it not yet.
    site = steps.view(PageId.SITE)
    dns = steps.view(PageId.DNS)
    assert site is not None and site.reachable and site.state is StepState.TODO
    assert dns is not None and not dns.reachable
    walk_to(qtbot, wizard, PageId.DNS)
    settle(qtbot, wizard)
    method = steps.view(PageId.METHOD)
    assert method is not None and method.state is StepState.DONE
    # A click on a done step goes back to it; one on a step seen before comes forward.
    item = steps.item(PageId.METHOD)
    assert item is not None
    steps.list.itemClicked.emit(item)
    assert wizard.current_page_id() is PageId.METHOD
    item = steps.item(PageId.DNS)
    assert item is not None
    steps.list.itemClicked.emit(item)
    assert wizard.current_page_id() is PageId.DNS
    settle(qtbot, wizard)
    # A failed test marks its step as needing attention.
    walk_to(qtbot, wizard, PageId.TEST)
    page = wizard.currentPage()
    assert isinstance(page, TestMessagePage)
    page._password.setText("wrong password")
    page.send()
    qtbot.waitUntil(lambda: wizard.session.test_result is not None, timeout=15_000)
    settle(qtbot, wizard)
    press_next(qtbot, wizard)
    test = steps.view(PageId.TEST)
    assert test is not None and test.state is StepState.ATTENTION
    assert "needs attention" in (steps.item(PageId.TEST) or item).toolTip()


def test_go_to_sheets_after_a_passed_test_moves_on_without_a_way_back(
    qtbot: QtBot, sandbox: Sandbox
) -> None:
    sandbox.state.mailbox(SCANNER).smtp_client_auth_disabled = False  # type: ignore[union-attr]
    wizard = open_wizard(qtbot, sandbox, profile(Method.SMTP_AUTH))
    walk_to(qtbot, wizard, PageId.TEST)
    page = wizard.currentPage()
    assert isinstance(page, TestMessagePage)
    page._password.setText("demo")
    page.send()
    qtbot.waitUntil(lambda: page.verdict.go_button.isVisible(), timeout=15_000)
    settle(qtbot, wizard)
    result = wizard.session.test_result
    assert result is not None and result.sent
    qtbot.mouseClick(page.verdict.go_button, Qt.MouseButton.LeftButton)
    assert wizard.current_page_id() is PageId.SHEETS
    press_next(qtbot, wizard)
    assert wizard.current_page_id() is PageId.SUMMARY
    assert wizard.session.test_result is result  # nothing was sent again
    settle(qtbot, wizard)


def test_navigation_lives_in_one_place() -> None:
    """Pages move only through the Navigator: no getattr on the wizard, no page
    importing another page to find where a step lives."""
    root = Path(__file__).resolve().parent.parent / "wizard"
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for name in ("jump_to", "route_next", "set_route", "go_to", "pages_pending"):
            assert f'getattr(wizard, "{name}"' not in text, path
        assert "STEP_PAGES" not in text or path.name == "navigation.py", path
    pages = root / "ui" / "pages"
    # A dialog module is not a page; the registry lists every page by design.
    allowed = {"wizard.ui.pages.base", "wizard.ui.pages.printer_dialog"}
    for path in pages.glob("*.py"):
        if path.name in ("registry.py", "__init__.py"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "wizard.ui.pages."
            ):
                assert node.module in allowed, f"{path.name} imports {node.module}"
