"""The whole demo, walked as a technician walks it, and what the documents then say.

The main path (site, device, method, sign-in, tenant check, apply, DNS, test, sheets,
summary) against the sandbox: the Summary, the setup report PDF and the sheet PDF must
name the change that was made, the DNS state and the test message's reference, all
drawn from the one session journal; the saved profile's history shows it on reopening.
The side paths: Troubleshoot with a planted fault, its fix jump, the fix, the re-test;
then the Audit, which must agree with what the fix did.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
import requests
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QWizard
from pytestqt.qtbot import QtBot

from tests.m365_helpers import ADMIN, SCANNER, profile
from tests.pdf_helpers import pages_text
from wizard.core.clouds import device_facing
from wizard.core.journal import EntryKind, EntryOutcome
from wizard.core.methods import Method
from wizard.core.profile import SiteProfile
from wizard.core.sheet import build_site_sheets
from wizard.core.troubleshoot.model import CheckId
from wizard.sandbox.identity.browser import StandInBrowser
from wizard.sandbox.practice import Fault, Practice
from wizard.sandbox.server import Sandbox
from wizard.services.http import make_session
from wizard.services.message_trace import TraceState
from wizard.services.profile_store import load_profile
from wizard.services.signin import SignIn, SignInSettings
from wizard.services.troubleshooter import TroubleshootOptions
from wizard.services.vendors import vendor_by_id
from wizard.ui.navigation import PageId
from wizard.ui.pages.audit import AuditPage
from wizard.ui.pages.method import MethodPage
from wizard.ui.pages.plan import PlanPage
from wizard.ui.pages.registry import PAGES
from wizard.ui.pages.sheets import SheetsPage
from wizard.ui.pages.signin import SignInPage
from wizard.ui.pages.summary import SummaryPage
from wizard.ui.pages.tenant import TenantPage
from wizard.ui.pages.test_message import TestMessagePage
from wizard.ui.pages.troubleshoot import TroubleshootPage
from wizard.ui.pages.welcome import StartMode, WelcomePage
from wizard.ui.session import WizardSession
from wizard.ui.settings import DEFAULT_SIZE
from wizard.ui.widgets.step_list import StepState
from wizard.ui.wizard import RelayWizard

TODAY = date(2026, 11, 27)
FAST = TroubleshootOptions(connect_timeout=0.6, smtp_timeout=5.0, dns_timeout=1.0)


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[requests.Session]:
    with make_session(sandbox.cloud) as session:
        yield session


def open_wizard(
    qtbot: QtBot,
    sandbox: Sandbox,
    site: SiteProfile,
    http: requests.Session,
    practice: Practice | None = None,
) -> tuple[RelayWizard, StandInBrowser]:
    session = WizardSession(sandbox.cloud, site, clock=lambda: TODAY)
    session.practice = practice
    browser = StandInBrowser(ADMIN, ca_pem=sandbox.ca_pem)
    session.set_sign_in(SignIn(sandbox.cloud, SignInSettings(), session=http, opener=browser.open))
    wizard = RelayWizard(session, pages=PAGES, remember_size=False)
    qtbot.addWidget(wizard)
    wizard.resize(*DEFAULT_SIZE)
    wizard.show()
    qtbot.waitExposed(wizard)
    return wizard, browser


def click(qtbot: QtBot, button: object) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def press_next(qtbot: QtBot, wizard: RelayWizard) -> None:
    button = wizard.button(QWizard.WizardButton.NextButton)
    qtbot.waitUntil(lambda: button.isVisible() and button.isEnabled(), timeout=15_000)
    before = wizard.currentId()
    click(qtbot, button)
    assert wizard.currentId() != before


def settle(qtbot: QtBot, wizard: RelayWizard) -> None:
    qtbot.waitUntil(lambda: not wizard.session.tasks.busy, timeout=20_000)


def current(wizard: RelayWizard, kind: type) -> object:
    page = wizard.currentPage()
    assert isinstance(page, kind), type(page)
    return page


def sign_in(qtbot: QtBot, wizard: RelayWizard, browser: StandInBrowser) -> None:
    page = current(wizard, SignInPage)
    assert isinstance(page, SignInPage)
    click(qtbot, page.browser_button)
    qtbot.waitUntil(
        lambda: not page.running and wizard.session.tenant_identity is not None, timeout=15_000
    )
    browser.join(10)


def choose(qtbot: QtBot, wizard: RelayWizard, mode: StartMode) -> None:
    welcome = wizard.page_for(PageId.WELCOME)
    assert isinstance(welcome, WelcomePage)
    radio = welcome._buttons()[mode]
    qtbot.mouseClick(radio, Qt.MouseButton.LeftButton, pos=QPoint(8, radio.height() // 2))


def shot(wizard: RelayWizard, path: Path) -> None:
    QApplication.processEvents()
    assert wizard.grab().save(str(path))


def test_main_path_documents_say_what_happened(
    qtbot: QtBot, sandbox: Sandbox, http: requests.Session, tmp_path: Path, output_dir: Path
) -> None:
    start = replace(profile(Method.SMTP_AUTH), method=None)
    wizard, browser = open_wizard(qtbot, sandbox, start, http)
    session = wizard.session
    press_next(qtbot, wizard)  # Welcome: a new setup
    assert wizard.current_page_id() is PageId.SITE
    press_next(qtbot, wizard)  # the site and its scanner, as entered

    method = current(wizard, MethodPage)
    assert isinstance(method, MethodPage)
    card = next(c for c in method.cards if c.assessment.method is Method.SMTP_AUTH)
    card.radio.click()
    assert session.profile.method is Method.SMTP_AUTH
    press_next(qtbot, wizard)

    sign_in(qtbot, wizard, browser)
    press_next(qtbot, wizard)
    tenant = current(wizard, TenantPage)
    assert isinstance(tenant, TenantPage)
    qtbot.waitUntil(lambda: not tenant.running and bool(tenant.cards), timeout=15_000)
    press_next(qtbot, wizard)

    plan = current(wizard, PlanPage)
    assert isinstance(plan, PlanPage)
    qtbot.waitUntil(lambda: not plan.running and plan.plan is not None, timeout=15_000)
    change = plan.cards[f"mailbox-smtp-auth:{SCANNER}"].change
    plan.confirm_box.setChecked(True)
    click(qtbot, plan.apply_button)
    qtbot.waitUntil(lambda: not plan.running and plan.result is not None, timeout=15_000)
    assert plan.overall.word == "Done"
    press_next(qtbot, wizard)

    assert wizard.current_page_id() is PageId.DNS
    qtbot.waitUntil(lambda: session.dns_report is not None, timeout=15_000)
    dns = session.journal.last(EntryKind.DNS_CHECKED)
    assert dns is not None
    settle(qtbot, wizard)
    press_next(qtbot, wizard)

    test = current(wizard, TestMessagePage)
    assert isinstance(test, TestMessagePage)
    # What the device is given, in the demo too: Microsoft 365's host, not a loopback port.
    assert "server smtp.office365.com, port 587" in test._settings_line.text()
    test._password.setText("demo")
    click(qtbot, test.send_button)
    qtbot.waitUntil(
        lambda: session.trace_result is not None and session.trace_result.final, timeout=20_000
    )
    result = session.test_result
    assert result is not None and result.sent
    trace = session.trace_result
    assert trace is not None and trace.state is TraceState.DELIVERED
    token = result.token
    press_next(qtbot, wizard)

    sheets = current(wizard, SheetsPage)
    assert isinstance(sheets, SheetsPage)
    settle(qtbot, wizard)
    (sheet,) = sheets.sheets
    assert sheet.last_test is not None and token in sheet.last_test.summary
    sheet_pdf = tmp_path / "sheet.pdf"
    sheets.export_to(sheet_pdf, per_printer=False)
    qtbot.waitUntil(lambda: sheet_pdf.exists() and sheets.isComplete(), timeout=15_000)
    report_pdf = tmp_path / "report.pdf"
    sheets.export_report(report_pdf)
    qtbot.waitUntil(lambda: report_pdf.exists() and sheets.isComplete(), timeout=15_000)
    press_next(qtbot, wizard)

    summary = current(wizard, SummaryPage)
    assert isinstance(summary, SummaryPage)
    shot(wizard, output_dir / "summary-after-the-path.png")
    done = summary.done_text()
    assert "Nothing changed" not in done
    assert change.title in done and change.powershell in done
    assert dns.title in done
    assert token in done and "delivered" in done
    assert "Exported the sheets: sheet.pdf" in done
    # Every step of the path is done; none needs attention.
    states = {v.page_id: v.state for v in wizard.step_list.views}
    assert states[PageId.PLAN] is StepState.DONE and states[PageId.TEST] is StepState.DONE

    report = " ".join(pages_text(report_pdf.read_bytes()))
    assert change.title in report and "Set-CASMailbox" in report
    assert "Not run" not in report
    for item in dns.items:
        assert item.label in report
    assert token in report and "delivered" in report
    sheet_text = " ".join(pages_text(sheet_pdf.read_bytes()))
    assert f"{token} delivered" in sheet_text
    assert "No test message has been recorded" not in sheet_text

    # Saved from the Summary too: with the history, and nothing left unsaved.
    path = tmp_path / "main-office.json"
    summary.save_to(path)
    qtbot.waitUntil(lambda: session.profile_path == path and summary.isComplete(), timeout=5_000)
    assert not session.has_unsaved_changes
    # The saved profile keeps the history; reopening it shows what was done and when.
    saved = load_profile(path)
    assert saved.history[-1].kind is EntryKind.REPORT_EXPORTED
    kinds = {e.kind for e in saved.history}
    assert {EntryKind.CHANGE, EntryKind.DNS_CHECKED, EntryKind.TEST_SENT} <= kinds
    assert '"demo"' not in path.read_text(encoding="utf-8")  # the password never
    # A sheet printed later from the saved profile alone (the CLI's `sheet`) says it too.
    (later,) = build_site_sheets(saved, device_facing(sandbox.cloud), vendor_by_id, today=TODAY)
    assert later.last_test is not None and later.last_test.summary == f"{token} delivered"
    settle(qtbot, wizard)
    again, _browser = open_wizard(qtbot, sandbox, SiteProfile(), http)
    welcome = again.page_for(PageId.WELCOME)
    assert isinstance(welcome, WelcomePage)
    welcome.open_profile(path)
    qtbot.waitUntil(lambda: again.session.profile_path == path, timeout=5_000)
    assert welcome.last_time.isVisible()
    assert welcome.last_time.text().startswith("Last time, ")
    assert token in welcome.last_time.text() and change.title in welcome.last_time.text()
    settle(qtbot, again)


def test_side_paths_troubleshoot_fix_retest_then_audit(
    qtbot: QtBot, sandbox: Sandbox, http: requests.Session, output_dir: Path
) -> None:
    state = sandbox.state
    # The scanner used to work: SMTP AUTH on for its mailbox. Then the fault is planted.
    state.mailbox(SCANNER).smtp_client_auth_disabled = False  # type: ignore[union-attr]
    practice = Practice(state)
    practice.set(Fault.MAILBOX_SMTP_AUTH_OFF, True)
    wizard, browser = open_wizard(qtbot, sandbox, profile(Method.SMTP_AUTH), http, practice)
    session = wizard.session

    choose(qtbot, wizard, StartMode.TROUBLESHOOT)
    press_next(qtbot, wizard)
    sign_in(qtbot, wizard, browser)
    press_next(qtbot, wizard)
    page = current(wizard, TroubleshootPage)
    assert isinstance(page, TroubleshootPage)
    page.options = FAST
    page.password_edit.setText("demo")
    click(qtbot, page.run_button)
    qtbot.waitUntil(lambda: not page.running and page.report is not None, timeout=30_000)
    auth = page.rows[CheckId.AUTH]
    assert auth.status_line.word == "Problem"
    assert auth.fix_button.isVisible() and auth.fix_button.text() == "Fix in Plan and apply"
    found = auth.title.text()
    shot(wizard, output_dir / "side-path-found.png")

    # The fix jump lands on the plan, built on the tenant as it is now.
    click(qtbot, auth.fix_button)
    plan = current(wizard, PlanPage)
    assert isinstance(plan, PlanPage)
    qtbot.waitUntil(lambda: not plan.running and plan.plan is not None, timeout=15_000)
    assert plan.read_label.text().startswith("The plan rests on the tenant as read at ")
    card = plan.cards[f"mailbox-smtp-auth:{SCANNER}"]
    assert card.status_line.word == "To do"
    plan.confirm_box.setChecked(True)
    click(qtbot, plan.apply_button)
    qtbot.waitUntil(lambda: not plan.running and plan.result is not None, timeout=15_000)
    assert plan.overall.word == "Done"
    assert not state.mailbox(SCANNER).smtp_client_auth_disabled  # type: ignore[union-attr]

    # Next: back to the findings, and the checks run again; the fix holds.
    before = page.report
    press_next(qtbot, wizard)
    assert wizard.current_page_id() is PageId.TROUBLESHOOT
    qtbot.waitUntil(lambda: not page.running and page.report is not before, timeout=30_000)
    assert page.rows[CheckId.AUTH].status_line.word == "OK"
    assert wizard.button(QWizard.WizardButton.FinishButton).isVisible()
    shot(wizard, output_dir / "side-path-retested.png")
    settle(qtbot, wizard)

    # The Audit path: it reads the tenant and agrees with what the fix did.
    wizard.restart()
    choose(qtbot, wizard, StartMode.AUDIT)
    press_next(qtbot, wizard)
    assert session.signed_in is not None
    press_next(qtbot, wizard)
    audit = current(wizard, AuditPage)
    assert isinstance(audit, AuditPage)
    qtbot.waitUntil(lambda: not audit.running and audit.report is not None, timeout=15_000)
    report = audit.report
    assert report is not None
    assert "the tenant as read at" in audit.read_label.text()
    scanner = next(m for m in report.mailboxes if m.address == SCANNER)
    assert scanner.effective is False  # SMTP AUTH not disabled: the scanner may sign in
    assert wizard.button(QWizard.WizardButton.FinishButton).isVisible()
    # The journal holds the whole story, in order: found, fixed, checked again, audited.
    journal = session.journal
    changes = journal.changes()
    assert changes and changes[-1].command.startswith("Set-CASMailbox")
    runs = journal.of_kind(EntryKind.TROUBLESHOOT)
    before_fix, after_fix = runs[-2:]
    assert before_fix.outcome is EntryOutcome.ATTENTION
    assert found in [i.label for i in before_fix.items]
    assert found not in [i.label for i in after_fix.items]
    kinds = [e.kind for e in journal.entries]
    assert kinds.index(EntryKind.CHANGE) < len(kinds) - 1 - kinds[::-1].index(
        EntryKind.TROUBLESHOOT
    )
    assert kinds[-1] is EntryKind.AUDIT
    settle(qtbot, wizard)


def test_a_refused_test_sends_the_plan_back_to_the_tenant(
    qtbot: QtBot, sandbox: Sandbox, http: requests.Session, output_dir: Path
) -> None:
    practice = Practice(sandbox.state)
    wizard, browser = open_wizard(qtbot, sandbox, profile(Method.SMTP_AUTH), http, practice)
    session = wizard.session
    for _ in range(3):
        press_next(qtbot, wizard)  # Welcome, Site, Method
    sign_in(qtbot, wizard, browser)
    press_next(qtbot, wizard)
    press_next(qtbot, wizard)  # the tenant check, once it has read
    plan = current(wizard, PlanPage)
    assert isinstance(plan, PlanPage)
    qtbot.waitUntil(lambda: not plan.running and plan.plan is not None, timeout=15_000)
    plan.confirm_box.setChecked(True)
    click(qtbot, plan.apply_button)
    qtbot.waitUntil(lambda: not plan.running and plan.result is not None, timeout=15_000)
    assert plan.overall.word == "Done"
    press_next(qtbot, wizard)
    press_next(qtbot, wizard)  # DNS
    test = current(wizard, TestMessagePage)
    assert isinstance(test, TestMessagePage)

    # Someone switches SMTP AUTH off again: the test is refused, and what the plan
    # showed as done no longer holds.
    practice.set(Fault.MAILBOX_SMTP_AUTH_OFF, True)
    test._password.setText("demo")
    click(qtbot, test.send_button)
    qtbot.waitUntil(lambda: session.test_result is not None, timeout=15_000)
    refused = session.test_result
    assert refused is not None and not refused.sent
    assert session.tenant_stale.startswith(f"The test message {refused.token} was refused")
    states = {v.page_id: v.state for v in wizard.step_list.views}
    assert states[PageId.PLAN] is StepState.ATTENTION
    assert states[PageId.TENANT] is StepState.ATTENTION
    settle(qtbot, wizard)
    assert test.verdict.go_button.isVisible()
    click(qtbot, test.verdict.go_button)

    # Back on the plan: read again, saying why; the change is to do again.
    assert wizard.current_page_id() is PageId.PLAN
    qtbot.waitUntil(lambda: not plan.running and plan.plan is not None, timeout=15_000)
    assert plan.stale_line.isVisible() and refused.token in plan.stale_line.text
    assert plan.cards[f"mailbox-smtp-auth:{SCANNER}"].status_line.word == "To do"
    shot(wizard, output_dir / "plan-read-again-after-a-refused-test.png")
    plan.confirm_box.setChecked(True)
    click(qtbot, plan.apply_button)
    qtbot.waitUntil(lambda: not plan.running and plan.result is not None, timeout=15_000)

    # Next walks back to the test, which is sent again, and goes through.
    press_next(qtbot, wizard)
    press_next(qtbot, wizard)
    assert wizard.current_page_id() is PageId.TEST
    qtbot.waitUntil(lambda: session.test_result is not refused and not test._busy(), timeout=15_000)
    again = session.test_result
    assert again is not None and again.sent, again.verdict.title if again else None
    settle(qtbot, wizard)
