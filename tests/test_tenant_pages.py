"""Sign in, Tenant check and Plan and apply pages, driven with qtbot against the sandbox."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QWizard
from pytestqt.qtbot import QtBot

from tests.m365_helpers import ADMIN, SCANNER, USER, changing_calls, profile
from wizard.core.methods import Method
from wizard.core.plan import Resolution, connector_name
from wizard.core.profile import SiteProfile
from wizard.sandbox.exchange.rbac import ORGANIZATION_MANAGEMENT, role_group_admin
from wizard.sandbox.identity.browser import StandInBrowser, complete_device_sign_in
from wizard.sandbox.server import Sandbox
from wizard.sandbox.tenant import DEMO_SITE_IP, HttpFault, InboundConnector
from wizard.services.signin import SignIn, SignInSettings, load_settings
from wizard.ui.pages.base import PageId
from wizard.ui.pages.plan import PlanPage
from wizard.ui.pages.signin import SignInPage
from wizard.ui.pages.tenant import TenantPage
from wizard.ui.session import WizardSession
from wizard.ui.settings import DEFAULT_SIZE
from wizard.ui.wizard import RelayWizard

TODAY = date(2026, 11, 27)


def open_wizard(
    qtbot: QtBot, sandbox: Sandbox, site: SiteProfile, upn: str | None = ADMIN
) -> tuple[RelayWizard, StandInBrowser]:
    session = WizardSession(sandbox.cloud, site, clock=lambda: TODAY)
    browser = StandInBrowser(upn, ca_pem=sandbox.ca_pem)
    session.set_sign_in(SignIn(sandbox.cloud, SignInSettings(), opener=browser.open))
    wizard = RelayWizard(session, pages=[SignInPage, TenantPage, PlanPage], remember_size=False)
    qtbot.addWidget(wizard)
    wizard.resize(*DEFAULT_SIZE)
    wizard.show()
    qtbot.waitExposed(wizard)
    return wizard, browser


def signin_page(wizard: RelayWizard) -> SignInPage:
    page = wizard.page_for(PageId.SIGN_IN)
    assert isinstance(page, SignInPage)
    return page


def tenant_page(wizard: RelayWizard) -> TenantPage:
    page = wizard.page_for(PageId.TENANT)
    assert isinstance(page, TenantPage)
    return page


def plan_page(wizard: RelayWizard) -> PlanPage:
    page = wizard.page_for(PageId.PLAN)
    assert isinstance(page, PlanPage)
    return page


def plan_ready(qtbot: QtBot, wizard: RelayWizard) -> PlanPage:
    """The Plan page once it has read the tenant (it does on every visit)."""
    page = plan_page(wizard)
    qtbot.waitUntil(lambda: not page.running and page.plan is not None, timeout=15_000)
    return page


def shot(wizard: RelayWizard, path: Path) -> None:
    """A screenshot after pending layout work ran, as a person would see the window."""
    QApplication.processEvents()
    assert wizard.grab().save(str(path))


def next_enabled(wizard: RelayWizard) -> bool:
    return wizard.button(QWizard.WizardButton.NextButton).isEnabled()


def click(qtbot: QtBot, button: object) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def sign_in_on_page(qtbot: QtBot, wizard: RelayWizard) -> SignInPage:
    page = signin_page(wizard)
    assert not next_enabled(wizard)
    assert "Sign in with an admin account" in page.why_not.plain_text()
    assert page.state_line.word == "Not signed in"
    click(qtbot, page.browser_button)
    qtbot.waitUntil(
        lambda: not page.running and wizard.session.tenant_identity is not None, timeout=15_000
    )
    return page


def go_next(qtbot: QtBot, wizard: RelayWizard) -> None:
    assert next_enabled(wizard), wizard.currentPage().why_not.plain_text()  # type: ignore[attr-defined]
    click(qtbot, wizard.button(QWizard.WizardButton.NextButton))


def check_done(page: TenantPage) -> bool:
    return not page.running and bool(page.cards)


def apply_on_page(qtbot: QtBot, page: PlanPage) -> None:
    assert not page.apply_button.isEnabled(), "Apply must wait for the confirmation"
    page.confirm_box.setChecked(True)
    assert page.apply_button.isEnabled()
    click(qtbot, page.apply_button)
    qtbot.waitUntil(lambda: not page.running and page.result is not None, timeout=15_000)


def test_demo_path_connector_then_smtp_auth(
    qtbot: QtBot, sandbox: Sandbox, output_dir: Path
) -> None:
    wizard, browser = open_wizard(qtbot, sandbox, profile(Method.CONNECTOR))
    page = sign_in_on_page(qtbot, wizard)
    browser.join(10)
    assert page.state_line.word == "Signed in"
    assert page.values.values["Tenant"] == "Contoso (demo) (contoso.example)"
    assert page.values.values["Admin role"] == "Global Administrator"
    assert not page.tenant_warning.isVisible()
    shot(wizard, output_dir / "signin-page.png")

    go_next(qtbot, wizard)
    tenant = tenant_page(wizard)
    qtbot.waitUntil(lambda: check_done(tenant), timeout=15_000)
    assert tenant.overall.word in ("Needs attention", "Looks good")
    connectors = tenant.finding("connectors")
    assert connectors is not None and connectors.status_line.word == "Note"
    assert (
        connectors.fix_label is not None
        and connectors.fix_label.text() == "More in the step: Plan and apply."
    )
    assert wizard.session.tenant_snapshot is not None
    shot(wizard, output_dir / "tenant-page.png")

    go_next(qtbot, wizard)
    plan = plan_ready(qtbot, wizard)
    card = plan.cards["connector"]
    assert card.status_line.word == "To do"
    # It says when the tenant it rests on was read, and can read it again.
    assert plan.read_label.text().startswith("The plan rests on the tenant as read at ")
    assert plan.check_button.isEnabled()
    assert card.powershell.text().startswith(
        f"New-InboundConnector -Name '{connector_name('Main office')}' -ConnectorType OnPremises"
    )
    assert f"-SenderIPAddresses '{DEMO_SITE_IP}' -Enabled $true" in card.powershell.text()
    assert "RestrictDomains" not in card.powershell.text()
    assert card.copy_button is not None
    click(qtbot, card.copy_button)
    assert QGuiApplication.clipboard().text() == card.change.powershell
    assert not plan.isComplete()
    assert "Apply the changes" in plan.why_not.plain_text()
    shot(wizard, output_dir / "plan-page.png")
    apply_on_page(qtbot, plan)
    assert card.status_line.word == "Done"
    assert plan.overall.word == "Done"
    assert plan.isComplete()
    shot(wizard, output_dir / "plan-page-applied.png")
    (made,) = sandbox.state.connectors
    assert made.sender_ip_addresses == [DEMO_SITE_IP] and made.connector_type == "OnPremises"

    # Back and forth: the page says there is nothing to change and changes nothing.
    wizard.back()
    wizard.next()
    plan = plan_ready(qtbot, wizard)
    assert plan.overall.word == "Nothing to change"
    assert plan.cards["connector"].status_line.word == "Already done"
    assert not plan.apply_button.isEnabled() and plan.apply_button.text() == "Nothing to change"

    # Now SMTP AUTH for the scanner's mailbox.
    wizard.back()
    wizard.session.set_method(Method.SMTP_AUTH_OAUTH)
    tenant = tenant_page(wizard)
    click(qtbot, tenant.check_button)
    qtbot.waitUntil(lambda: check_done(tenant), timeout=15_000)
    mailbox = tenant.finding(f"mailbox:{SCANNER}")
    assert mailbox is not None and mailbox.status_line.word == "Warning"
    go_next(qtbot, wizard)
    plan = plan_ready(qtbot, wizard)
    card = plan.cards[f"mailbox-smtp-auth:{SCANNER}"]
    assert card.powershell.text() == (
        f"Set-CASMailbox -Identity '{SCANNER}' -SmtpClientAuthenticationDisabled $false"
    )
    apply_on_page(qtbot, plan)
    assert plan.cards[f"mailbox-smtp-auth:{SCANNER}"].status_line.word == "Done"
    wizard.back()
    wizard.next()
    assert plan_ready(qtbot, wizard).overall.word == "Nothing to change"

    # The sandbox shows exactly those two changes.
    assert [c for c, _ in changing_calls(sandbox)] == ["New-InboundConnector", "Set-CASMailbox"]
    state = sandbox.state
    assert state.mailbox(SCANNER).smtp_client_auth_disabled is False  # type: ignore[union-attr]
    assert state.smtp_client_auth_disabled is True
    assert all(m.smtp_client_auth_disabled is None for m in state.mailboxes if m.address != SCANNER)


def test_role_group_member_without_an_entra_role_goes_on(
    qtbot: QtBot, sandbox: Sandbox, output_dir: Path
) -> None:
    upn = role_group_admin(sandbox.state)
    wizard, browser = open_wizard(qtbot, sandbox, profile(Method.CONNECTOR), upn)
    page = sign_in_on_page(qtbot, wizard)
    browser.join(10)
    assert page.values.values["Admin role"] == (
        "no Entra admin role in the token; Exchange will decide"
    )
    assert page.state_line.word == "Signed in"
    assert "Exchange lets the account read the tenant" in page.state_line.text
    assert not page.recheck_button.isVisible()
    assert next_enabled(wizard)
    shot(wizard, output_dir / "signin-page-role-group.png")


def test_a_gdap_token_without_role_ids_goes_on(qtbot: QtBot, sandbox: Sandbox) -> None:
    # A GDAP technician: Exchange Administrator in the tenant, but the token carries no
    # `wids` claim at all. Exchange's answer decides, and it lets them in.
    from wizard.sandbox.tenant import EXCHANGE_ADMIN, Account

    upn = "tech@msp.example"
    sandbox.state.accounts.append(
        Account(upn, "Tess Technician", {EXCHANGE_ADMIN}, token_without_wids=True)
    )
    token = sandbox.issue_token(upn, [f"{sandbox.admin_api}/.default"])
    assert "wids" not in sandbox.tokens.verify(token, sandbox.admin_api)
    wizard, browser = open_wizard(qtbot, sandbox, profile(Method.CONNECTOR), upn)
    page = sign_in_on_page(qtbot, wizard)
    browser.join(10)
    assert page.values.values["Admin role"] == "no roles in the token; Exchange will decide"
    assert page.state_line.word == "Signed in" and next_enabled(wizard)


def test_account_exchange_refuses_is_told_and_may_check_again(
    qtbot: QtBot, sandbox: Sandbox, output_dir: Path
) -> None:
    wizard, browser = open_wizard(qtbot, sandbox, profile(Method.CONNECTOR), USER)
    page = signin_page(wizard)
    click(qtbot, page.browser_button)
    qtbot.waitUntil(lambda: not page.running and page.recheck_button.isVisible(), timeout=15_000)
    browser.join(10)
    # Signed in, not blocked by the token: Exchange's own answer is what stops it.
    assert wizard.session.signed_in is not None
    assert page.state_line.word == "Exchange refused"
    assert f"{USER} may not run Get-AcceptedDomain in Exchange." in page.state_line.text
    assert "membership of Organization Management" in page.state_line.text
    assert not next_enabled(wizard)
    assert "may not run Get-AcceptedDomain" in page.why_not.plain_text()
    shot(wizard, output_dir / "signin-page-exchange-refused.png")

    # An admin adds the account to the role group; "Check again" asks Exchange again.
    account = sandbox.state.account(USER)
    assert account is not None
    with sandbox.state.lock:
        account.roles.add(ORGANIZATION_MANAGEMENT)
    click(qtbot, page.recheck_button)
    qtbot.waitUntil(
        lambda: not page.running and wizard.session.tenant_identity is not None, timeout=15_000
    )
    assert page.state_line.word == "Signed in"
    assert not page.recheck_button.isVisible()
    assert next_enabled(wizard)
    click(qtbot, page.sign_out_button)
    assert wizard.session.signed_in is None
    assert page.state_line.word == "Not signed in"


def test_device_code_on_the_page(qtbot: QtBot, sandbox: Sandbox, output_dir: Path) -> None:
    sandbox.state.device_code_interval = 1
    wizard, _ = open_wizard(qtbot, sandbox, profile(Method.CONNECTOR))
    page = signin_page(wizard)
    click(qtbot, page.code_button)
    qtbot.waitUntil(lambda: page.code_panel.isVisible(), timeout=10_000)
    code = page.code_panel.code
    assert code is not None and page.code_panel.code_label.text() == code.user_code
    click(qtbot, page.code_panel.copy_code)
    assert QGuiApplication.clipboard().text() == code.user_code
    shot(wizard, output_dir / "signin-page-code.png")
    helper = threading.Thread(
        target=complete_device_sign_in, args=(code.verification_uri, code.user_code, ADMIN)
    )
    helper.start()
    # Then a second code for the Microsoft Graph client (its own app, AADSTS65002 else).
    qtbot.waitUntil(lambda: page.code_panel.skip_graph.isVisible(), timeout=15_000)
    helper.join(10)
    second = page.code_panel.code
    assert second is not None and second.user_code != code.user_code
    assert "Microsoft Graph" in page.code_panel.intro.text()
    shot(wizard, output_dir / "signin-page-graph-code.png")
    helper = threading.Thread(
        target=complete_device_sign_in, args=(second.verification_uri, second.user_code, ADMIN)
    )
    helper.start()
    qtbot.waitUntil(
        lambda: not page.running and wizard.session.tenant_identity is not None, timeout=15_000
    )
    helper.join(10)
    assert not page.code_panel.isVisible()
    assert page.state_line.word == "Signed in" and next_enabled(wizard)
    # Graph reads work: the Graph client holds a token for the same admin.
    assert wizard.session.sign_in.graph_token()


def test_the_graph_code_may_be_skipped(qtbot: QtBot, sandbox: Sandbox) -> None:
    from wizard.services.signin import NeedsSignIn

    sandbox.state.device_code_interval = 1
    wizard, _ = open_wizard(qtbot, sandbox, profile(Method.CONNECTOR))
    page = signin_page(wizard)
    click(qtbot, page.code_button)
    qtbot.waitUntil(lambda: page.code_panel.isVisible(), timeout=10_000)
    code = page.code_panel.code
    assert code is not None
    complete_device_sign_in(code.verification_uri, code.user_code, ADMIN)
    qtbot.waitUntil(lambda: page.code_panel.skip_graph.isVisible(), timeout=15_000)
    click(qtbot, page.code_panel.skip_graph)
    qtbot.waitUntil(
        lambda: not page.running and wizard.session.tenant_identity is not None, timeout=15_000
    )
    assert page.state_line.word == "Signed in" and next_enabled(wizard)
    with pytest.raises(NeedsSignIn):
        wizard.session.sign_in.graph_token()


def test_cancel_in_the_browser_says_so(qtbot: QtBot, sandbox: Sandbox) -> None:
    wizard, browser = open_wizard(qtbot, sandbox, profile(Method.CONNECTOR), None)
    page = signin_page(wizard)
    click(qtbot, page.browser_button)
    qtbot.waitUntil(lambda: not page.running, timeout=15_000)
    browser.join(10)
    message = page.status.message
    assert message is not None and message.what == "Sign-in was cancelled."
    assert wizard.session.signed_in is None and not next_enabled(wizard)


def test_skipping_sign_in_walks_on(qtbot: QtBot, sandbox: Sandbox, output_dir: Path) -> None:
    wizard, _ = open_wizard(qtbot, sandbox, profile(Method.CONNECTOR))
    page = signin_page(wizard)
    shot(wizard, output_dir / "signin-page-start.png")
    page.prepare_self_test()
    go_next(qtbot, wizard)
    assert tenant_page(wizard).overall.word == "Skipped"
    go_next(qtbot, wizard)
    assert plan_page(wizard).overall.word == "Skipped"
    assert changing_calls(sandbox) == []


def test_conflicting_connector_needs_a_choice_and_failure_offers_retry(
    qtbot: QtBot, sandbox: Sandbox, output_dir: Path
) -> None:
    name = connector_name("Main office")
    with sandbox.state.lock:
        sandbox.state.connectors.append(
            InboundConnector(
                name,
                sender_domains=["contoso.example"],
                sender_ip_addresses=["203.0.113.0/24"],
                restrict_domains_to_ip_addresses=True,
                require_tls=True,
            )
        )
    wizard, browser = open_wizard(qtbot, sandbox, profile(Method.CONNECTOR))
    sign_in_on_page(qtbot, wizard)
    browser.join(10)
    go_next(qtbot, wizard)
    tenant = tenant_page(wizard)
    qtbot.waitUntil(lambda: check_done(tenant), timeout=15_000)
    go_next(qtbot, wizard)
    plan = plan_ready(qtbot, wizard)
    card = plan.cards["connector"]
    assert card.status_line.word == "Choose"
    assert "256 addresses" in card.detail.text()
    assert plan.overall.word == "Your choice is needed"
    shot(wizard, output_dir / "plan-page-conflict.png")
    assert not plan.apply_button.isEnabled() and not plan.confirm_box.isVisible()
    # The user chooses to narrow it; the first attempt fails on the server.
    card.choices[Resolution.UPDATE_EXISTING].setChecked(True)
    card = plan.cards["connector"]
    assert card.status_line.word == "To do"
    assert card.powershell.text() == (
        f"Set-InboundConnector -Identity '{name}' -SenderIPAddresses '{DEMO_SITE_IP}'"
    )
    sandbox.state.http_faults.append(HttpFault(500, match="Set-InboundConnector"))
    assert not plan.apply_button.isEnabled()
    plan.confirm_box.setChecked(True)
    assert plan.apply_button.isEnabled()
    click(qtbot, plan.apply_button)
    qtbot.waitUntil(lambda: not plan.running and plan.result is not None, timeout=15_000)
    assert plan.cards["connector"].status_line.word == "Failed"
    assert plan.overall.word == "Not finished"
    assert plan.retry_button.isVisible() and plan.retry_button.isEnabled()
    assert sandbox.state.connectors[0].sender_ip_addresses == ["203.0.113.0/24"]
    click(qtbot, plan.retry_button)
    qtbot.waitUntil(
        lambda: not plan.running and plan.result is not None and plan.result.complete,
        timeout=15_000,
    )
    assert plan.cards["connector"].status_line.word == "Done"
    assert sandbox.state.connectors[0].sender_ip_addresses == [DEMO_SITE_IP]
    assert len(sandbox.state.connectors) == 1


def test_browser_that_never_returns_switches_to_a_code(qtbot: QtBot, sandbox: Sandbox) -> None:
    """AADSTS50011 and friends show only in the browser: the code takes over."""
    sandbox.state.device_code_interval = 1
    wizard, _ = open_wizard(qtbot, sandbox, profile(Method.CONNECTOR))
    opened: list[str] = []

    def silent_browser(url: str) -> bool:
        opened.append(url)
        return True

    wizard.session.set_sign_in(SignIn(sandbox.cloud, SignInSettings(), opener=silent_browser))
    page = signin_page(wizard)
    click(qtbot, page.browser_button)
    qtbot.waitUntil(lambda: bool(opened), timeout=10_000)
    assert page.running and page.waiting_hint.isVisible()
    assert "AADSTS50011" in page.waiting_hint.text()
    assert page.code_button.isEnabled() and not page.browser_button.isEnabled()
    click(qtbot, page.code_button)
    qtbot.waitUntil(lambda: page.code_panel.isVisible(), timeout=10_000)
    assert not page.waiting_hint.isVisible()
    code = page.code_panel.code
    assert code is not None
    helper = threading.Thread(
        target=complete_device_sign_in, args=(code.verification_uri, code.user_code, ADMIN)
    )
    helper.start()
    # The Graph client's code comes next; this test is about the admin's: skip it.
    qtbot.waitUntil(lambda: page.code_panel.skip_graph.isVisible(), timeout=15_000)
    click(qtbot, page.code_panel.skip_graph)
    qtbot.waitUntil(
        lambda: not page.running and wizard.session.tenant_identity is not None, timeout=15_000
    )
    helper.join(10)
    assert page.state_line.word == "Signed in"
    assert page.status.message is None or "stopped" not in page.status.message.what.lower()


def test_advanced_client_id_and_tenant_are_checked_and_kept(qtbot: QtBot, sandbox: Sandbox) -> None:
    wizard, _ = open_wizard(qtbot, sandbox, profile(Method.CONNECTOR))
    page = signin_page(wizard)
    assert not page.advanced.isVisible()
    click(qtbot, page.advanced_toggle)
    assert page.advanced.isVisible()
    page.client_edit.setText("not-a-guid")
    page.client_edit.editingFinished.emit()
    assert page.client_field.error.isVisible()
    assert "client id looks like" in page.client_field.error.text
    mine = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    page.client_edit.setText(mine.upper())
    page.client_edit.editingFinished.emit()
    page.tenant_edit.setText("Contoso.Example")
    page.tenant_edit.editingFinished.emit()
    assert not page.client_field.error.isVisible()
    assert wizard.session.sign_in.settings == SignInSettings(mine, "contoso.example")
    assert load_settings() == SignInSettings(mine, "contoso.example")
    # An app the tenant does not know is refused in plain words (device code asks at once).
    click(qtbot, page.code_button)
    qtbot.waitUntil(lambda: not page.running, timeout=10_000)
    message = page.status.message
    assert message is not None and "not known in this organisation" in message.what
