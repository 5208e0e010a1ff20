"""The Audit path lets Exchange decide: a role-group member audits; a refusal is retryable."""

from __future__ import annotations

from pathlib import Path

import requests
from pytestqt.qtbot import QtBot

from tests.test_troubleshoot_pages import choose, click, go_next, http, open_wizard, shot
from wizard.core.profile import SiteProfile
from wizard.sandbox.exchange.rbac import ORGANIZATION_MANAGEMENT, role_group_admin
from wizard.sandbox.server import Sandbox
from wizard.ui.pages.audit import AuditPage
from wizard.ui.pages.base import PageId
from wizard.ui.pages.signin import SignInPage
from wizard.ui.pages.welcome import StartMode

__all__ = ["http"]  # the fixture, used by name


def test_a_role_group_member_audits_and_a_refusal_can_be_retried(
    qtbot: QtBot, sandbox: Sandbox, http: requests.Session, output_dir: Path
) -> None:
    upn = role_group_admin(sandbox.state)
    wizard, browser = open_wizard(qtbot, sandbox, SiteProfile(), http, upn)
    choose(qtbot, wizard, StartMode.AUDIT)
    go_next(qtbot, wizard)
    signin = wizard.currentPage()
    assert isinstance(signin, SignInPage)
    click(qtbot, signin.browser_button)
    qtbot.waitUntil(
        lambda: not signin.running and wizard.session.tenant_identity is not None,
        timeout=15_000,
    )
    browser.join(10)
    go_next(qtbot, wizard)
    page = wizard.currentPage()
    assert isinstance(page, AuditPage) and wizard.current_page_id() is PageId.AUDIT
    assert page.signed_line.word == "Signed in"
    assert "no Entra admin role in the token; Exchange will decide" in page.signed_line.text
    qtbot.waitUntil(lambda: not page.running and page.report is not None, timeout=15_000)
    report = page.report
    assert report is not None and report.signed_in_as == upn

    # Exchange takes the role group away: "Audit again" gets its refusal, in plain words.
    account = sandbox.state.account(upn)
    assert account is not None
    with sandbox.state.lock:
        account.roles.discard(ORGANIZATION_MANAGEMENT)
    click(qtbot, page.again_button)
    qtbot.waitUntil(lambda: not page.running, timeout=15_000)
    assert page.overall.word == "Exchange refused"
    assert page.overall.text.startswith(f"{upn} may not run Get-")
    message = page.status.message
    assert message is not None and "Organization Management" in message.plain()
    assert page.again_button.isEnabled()
    shot(wizard, output_dir / "audit-page-exchange-refused.png")

    # Given back, the same sign-in audits again.
    with sandbox.state.lock:
        account.roles.add(ORGANIZATION_MANAGEMENT)
    click(qtbot, page.again_button)
    qtbot.waitUntil(lambda: not page.running and page.report is not None, timeout=15_000)
    assert page.overall.word in ("At risk", "Nothing at risk")
