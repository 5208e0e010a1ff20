"""The Troubleshoot and Audit paths in the wizard, driven with qtbot against the sandbox.

Screenshots land in test-output/ for a person to look at.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import requests
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QWizard
from pytestqt.qtbot import QtBot

from tests.m365_helpers import ADMIN, SCANNER, profile
from tests.pdf_helpers import pages_text
from tests.test_audit import plant_exposure
from wizard.core.methods import Method, Tri
from wizard.core.plan import connector_name
from wizard.core.profile import SiteProfile
from wizard.core.troubleshoot.model import CheckId
from wizard.sandbox.identity.browser import StandInBrowser
from wizard.sandbox.server import Sandbox
from wizard.sandbox.tenant import (
    DEMO_DOMAIN,
    DEMO_SITE_IP,
    InboundConnector,
    TransportRule,
    microsoft_mx_host,
)
from wizard.services.http import make_session
from wizard.services.signin import SignIn, SignInSettings
from wizard.services.troubleshooter import TroubleshootOptions
from wizard.ui.pages.audit import AuditPage
from wizard.ui.pages.base import PageId
from wizard.ui.pages.method import MethodPage
from wizard.ui.pages.plan import PlanPage
from wizard.ui.pages.signin import SignInPage
from wizard.ui.pages.site import SitePage
from wizard.ui.pages.tenant import TenantPage
from wizard.ui.pages.troubleshoot import TroubleshootPage
from wizard.ui.pages.welcome import StartMode, WelcomePage
from wizard.ui.session import WizardSession
from wizard.ui.settings import DEFAULT_SIZE
from wizard.ui.wizard import RelayWizard, Route

TODAY = date(2026, 11, 27)
NEW_IP = "198.51.100.77"
FAST = TroubleshootOptions(connect_timeout=0.6, smtp_timeout=5.0, dns_timeout=1.0)
PAGES = [
    WelcomePage,
    SitePage,
    MethodPage,
    SignInPage,
    TenantPage,
    PlanPage,
    TroubleshootPage,
    AuditPage,
]


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[requests.Session]:
    """The sign-in's HTTP session, closed after the test (no socket left to the GC)."""
    with make_session(sandbox.cloud) as session:
        yield session


def open_wizard(
    qtbot: QtBot,
    sandbox: Sandbox,
    site: SiteProfile,
    http: requests.Session,
    upn: str | None = ADMIN,
) -> tuple[RelayWizard, StandInBrowser]:
    session = WizardSession(sandbox.cloud, site, clock=lambda: TODAY)
    browser = StandInBrowser(upn, ca_pem=sandbox.ca_pem)
    session.set_sign_in(SignIn(sandbox.cloud, SignInSettings(), session=http, opener=browser.open))
    wizard = RelayWizard(session, pages=PAGES, remember_size=False)
    qtbot.addWidget(wizard)
    wizard.resize(*DEFAULT_SIZE)
    wizard.show()
    qtbot.waitExposed(wizard)
    return wizard, browser


def click(qtbot: QtBot, button: object) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def go_next(qtbot: QtBot, wizard: RelayWizard) -> None:
    button = wizard.button(QWizard.WizardButton.NextButton)
    assert button.isVisible() and button.isEnabled()
    click(qtbot, button)


def shot(wizard: RelayWizard, path: Path) -> None:
    QApplication.processEvents()
    assert wizard.grab().save(str(path))


def choose(qtbot: QtBot, wizard: RelayWizard, mode: StartMode) -> None:
    welcome = wizard.page_for(PageId.WELCOME)
    assert isinstance(welcome, WelcomePage)
    button = welcome._buttons()[mode]
    # On the round indicator: the button is as wide as the page, its text is not.
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton, pos=QPoint(8, button.height() // 2))
    assert welcome.mode is mode


def to_troubleshoot(qtbot: QtBot, wizard: RelayWizard, *, sign_in: bool) -> TroubleshootPage:
    choose(qtbot, wizard, StartMode.TROUBLESHOOT)
    welcome = wizard.page_for(PageId.WELCOME)
    assert isinstance(welcome, WelcomePage)
    assert "The steps: Sign in → Troubleshoot a device." in welcome._steps.text()
    go_next(qtbot, wizard)
    signin = wizard.page_for(PageId.SIGN_IN)
    assert isinstance(signin, SignInPage)
    if sign_in:
        click(qtbot, signin.browser_button)
        qtbot.waitUntil(
            lambda: not signin.running and wizard.session.signed_in is not None, timeout=15_000
        )
    else:
        signin.skip_box.setChecked(True)
    go_next(qtbot, wizard)
    page = wizard.currentPage()
    assert isinstance(page, TroubleshootPage)
    page.options = FAST
    # The relay host (direct send, connector) is looked up in DNS when the page opens.
    qtbot.waitUntil(lambda: not wizard.session.relay_host_pending, timeout=10_000)
    return page


def settle(qtbot: QtBot, wizard: RelayWizard) -> None:
    """Let the pages' own work (the Plan page reads the tenant) end before the sandbox
    stops, so no connection is cut in the middle."""
    qtbot.waitUntil(lambda: not wizard.session.tasks.busy, timeout=15_000)


def run_checks(qtbot: QtBot, page: TroubleshootPage) -> None:
    assert page.run_button.isEnabled(), page.run_button.toolTip()
    click(qtbot, page.run_button)
    assert page.running
    qtbot.waitUntil(lambda: not page.running and page.report is not None, timeout=30_000)


def test_port_25_block_is_named_and_fixed_in_method(
    qtbot: QtBot, sandbox: Sandbox, http: requests.Session, output_dir: Path, tmp_path: Path
) -> None:
    wizard, _browser = open_wizard(qtbot, sandbox, profile(Method.CONNECTOR), http)
    page = to_troubleshoot(qtbot, wizard, sign_in=False)
    # The device comes from the opened profile, with its sheet's values.
    assert page.device_combo.currentText() == "Scanner"
    assert page.sender_edit.text() == SCANNER
    # The relay host is the domain's live MX (Microsoft's suffixed token), looked up.
    qtbot.waitUntil(lambda: page.host_edit.text() == microsoft_mx_host(DEMO_DOMAIN), timeout=10000)
    assert page.port_spin.value() == 25
    assert page.signed_line.word == "Not signed in"
    # The last step of this path: Finish, not Next.
    assert wizard.button(QWizard.WizardButton.FinishButton).isVisible()
    assert not wizard.button(QWizard.WizardButton.NextButton).isVisible()

    sandbox.state.mx_port_blocked = True
    run_checks(qtbot, page)
    ports = page.rows[CheckId.PORTS]
    assert ports.status_line.word == "Problem"
    assert ports.title.text() == "Outbound port 25 is blocked on this network"
    assert page.overall.word == "Found"
    assert page.overall.text == "Outbound port 25 is blocked on this network — fix in Method"
    assert ports.fix_button.isVisible() and ports.fix_button.text() == "Fix in Method"
    for check in (CheckId.TLS, CheckId.CERTIFICATE, CheckId.AUTH):
        assert page.rows[check].status_line.word == "Not checked"
    rules = page.rows[CheckId.RULES]
    assert rules.title.text() == "Sign in to check this"
    assert rules.fix_button.text() == "Fix in Sign in"
    assert page.pdf_button.isEnabled() and page.json_button.isEnabled()
    assert page.scroll_area is not None
    page.scroll_area.ensureWidgetVisible(page.rows[CheckId.AUTH])
    shot(wizard, output_dir / "troubleshoot-port25.png")

    # Both exports, read back.
    pdf, doc = tmp_path / "findings.pdf", tmp_path / "findings.json"
    page.export(pdf, "pdf")
    page.export(doc, "json")
    qtbot.waitUntil(lambda: pdf.exists() and doc.exists(), timeout=10_000)
    text = " ".join(pages_text(pdf.read_bytes()))
    assert "TROUBLESHOOTING REPORT" in text and "FIRST TO FIX" in text
    assert "Outbound port 25 is blocked on this network" in text
    data = json.loads(doc.read_text(encoding="utf-8"))
    assert data["kind"] == "troubleshoot" and data["headline"]["id"] == "ports"
    assert data["headline"]["step"] == "method"
    assert [f["id"] for f in data["findings"]] == [str(c) for c in CheckId]

    # Fix in Method jumps there; Back comes back to the findings, still the last step.
    click(qtbot, ports.fix_button)
    assert wizard.current_page_id() is PageId.METHOD
    # What the check found goes into the site: the advice now avoids port 25.
    assert wizard.session.profile.site.port25_open is Tri.NO
    assert wizard.session.advice.ranked[0].method is Method.SMTP_AUTH_OAUTH
    shot(wizard, output_dir / "troubleshoot-fix-in-method.png")
    click(qtbot, wizard.button(QWizard.WizardButton.BackButton))
    assert wizard.current_page_id() is PageId.TROUBLESHOOT
    assert page.report is not None and ports.status_line.word == "Problem"
    QApplication.processEvents()
    assert wizard.button(QWizard.WizardButton.FinishButton).isVisible()

    # Fix in Sign in goes back along the path to the Sign in step.
    click(qtbot, rules.fix_button)
    assert wizard.current_page_id() is PageId.SIGN_IN


def test_signed_in_the_changed_ip_and_the_redirect_rule_are_found(
    qtbot: QtBot, sandbox: Sandbox, http: requests.Session, output_dir: Path
) -> None:
    state = sandbox.state
    with state.lock:
        state.connectors.append(
            InboundConnector(
                name=connector_name("Main office"),
                sender_domains=[DEMO_DOMAIN],
                sender_ip_addresses=[DEMO_SITE_IP],
                restrict_domains_to_ip_addresses=True,
            )
        )
        state.transport_rules.append(
            TransportRule(
                name="Scans to the archive",
                from_addresses=[SCANNER],
                actions={"RedirectMessageTo": ["archive@fabrikam.example"]},
            )
        )
    state.site_public_ip = NEW_IP
    wizard, browser = open_wizard(qtbot, sandbox, profile(Method.CONNECTOR), http)
    page = to_troubleshoot(qtbot, wizard, sign_in=True)
    browser.join(10)
    assert page.signed_line.word == "Signed in"
    # Relay outside is what the connector is for: an OnPremises connector does not refuse
    # internal mail from other addresses (RestrictDomainsToIPAddresses is Partner-only).
    page.recipient_edit.setText("it@fabrikam.example")
    run_checks(qtbot, page)
    auth = page.rows[CheckId.AUTH]
    assert auth.title.text() == "No connector recognises this device"
    connector = page.rows[CheckId.CONNECTOR]
    assert connector.status_line.word == "Problem"
    assert NEW_IP in connector.title.text()
    rules = page.rows[CheckId.RULES]
    assert rules.title.text() == (
        "Mail flow rule 'Scans to the archive' redirects it to archive@fabrikam.example"
    )
    assert rules.status_line.word == "Problem"
    # A rule is changed in the Exchange admin center: no button, the words say where.
    assert not rules.fix_button.isVisible()
    assert "outside the wizard" in rules.fix_label.text()
    assert page.overall.text == "No connector recognises this device — fix in Plan and apply"
    assert page.scroll_area is not None
    page.scroll_area.ensureWidgetVisible(page.rows[CheckId.RULES])
    shot(wizard, output_dir / "troubleshoot-ip-changed.png")

    # Fixing the connector takes the new address into the site, then opens the plan.
    click(qtbot, connector.fix_button)
    assert wizard.session.profile.site.public_ip == NEW_IP
    assert wizard.current_page_id() is PageId.PLAN
    settle(qtbot, wizard)


def test_cancelling_the_checks(qtbot: QtBot, sandbox: Sandbox, http: requests.Session) -> None:
    wizard, _browser = open_wizard(qtbot, sandbox, profile(Method.CONNECTOR), http)
    page = to_troubleshoot(qtbot, wizard, sign_in=False)
    page.options = TroubleshootOptions(connect_timeout=30)
    sandbox.state.mx_port_blocked = True
    click(qtbot, page.run_button)
    qtbot.waitUntil(lambda: page.rows[CheckId.RESOLVE].finding is not None, timeout=10_000)
    assert page.task is not None
    page.task.cancel()
    qtbot.waitUntil(lambda: not page.running, timeout=5_000)
    assert page.overall.word == "Stopped"
    assert page.rows[CheckId.TRACE].status_line.word == "Not checked"
    assert page.report is None and not page.pdf_button.isEnabled()


def test_a_typed_device_without_a_profile(
    qtbot: QtBot, sandbox: Sandbox, http: requests.Session
) -> None:
    sandbox.state.mailbox(SCANNER).smtp_client_auth_disabled = False  # type: ignore[union-attr]
    sandbox.state.basic_auth_retired = True
    wizard, _browser = open_wizard(qtbot, sandbox, SiteProfile(), http)
    page = to_troubleshoot(qtbot, wizard, sign_in=False)
    assert page.device_combo.currentText() == "Typed by hand"
    page.method_combo.setCurrentIndex(page.method_combo.findData(Method.SMTP_AUTH.value))
    page.sender_edit.setText(SCANNER)
    page.sender_edit.editingFinished.emit()
    assert page.host_edit.text() == "smtp.office365.com" and page.port_spin.value() == 587
    assert page.password_edit.isVisible() and not page.cert_edit.isVisible()
    page.password_edit.setText("demo")
    run_checks(qtbot, page)
    auth = page.rows[CheckId.AUTH]
    assert auth.title.text() == "Basic authentication is no longer accepted"
    assert auth.fix_button.text() == "Fix in Method"
    assert page.report is not None
    assert "demo" != page.report.to_json()["device"]["username"]


def test_audit_path_reads_the_tenant_and_exports(
    qtbot: QtBot, sandbox: Sandbox, http: requests.Session, output_dir: Path, tmp_path: Path
) -> None:
    plant_exposure(sandbox.state)
    wizard, browser = open_wizard(qtbot, sandbox, SiteProfile(), http)
    choose(qtbot, wizard, StartMode.AUDIT)
    go_next(qtbot, wizard)
    assert wizard.current_page_id() is PageId.SIGN_IN
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
    assert isinstance(page, AuditPage)
    qtbot.waitUntil(lambda: not page.running and page.report is not None, timeout=15_000)
    report = page.report
    assert report is not None
    assert page.overall.word == "At risk"
    assert page.table.rowCount() == len(report.mailboxes) == 5

    def cell(row: int, column: int) -> str:
        item = page.table.item(row, column)
        assert item is not None
        return item.text()

    cells = {cell(r, 0): cell(r, 3) for r in range(page.table.rowCount())}
    assert cells[f"user@{DEMO_DOMAIN}"] == "yes, from the tenant"
    assert cells[SCANNER] == "no"
    assert len(page.rows) == len(report.findings)
    assert page.rows[0].status_line.word == "Warning"
    assert wizard.button(QWizard.WizardButton.FinishButton).isVisible()
    shot(wizard, output_dir / "audit-page.png")
    assert page.scroll_area is not None
    page.scroll_area.ensureWidgetVisible(page.table)
    shot(wizard, output_dir / "audit-page-mailboxes.png")

    pdf, doc = tmp_path / "audit.pdf", tmp_path / "audit.json"
    page.export(pdf, "pdf")
    page.export(doc, "json")
    qtbot.waitUntil(lambda: pdf.exists() and doc.exists(), timeout=10_000)
    assert json.loads(doc.read_text(encoding="utf-8")) == report.to_json()
    assert "RELAY AUDIT" in " ".join(pages_text(pdf.read_bytes()))
    # Signing out forgets the audit of that account.
    wizard.session.sign_in.sign_out()
    wizard.session.signed_in_changed()
    assert page.report is None and page.table.rowCount() == 0


def test_welcome_routes_back_to_the_main_path(
    qtbot: QtBot, sandbox: Sandbox, http: requests.Session
) -> None:
    wizard, _browser = open_wizard(qtbot, sandbox, profile(Method.CONNECTOR), http)
    choose(qtbot, wizard, StartMode.AUDIT)
    assert wizard.page_for(PageId.WELCOME).nextId() == int(PageId.SIGN_IN)
    assert wizard.page_for(PageId.SIGN_IN).nextId() == int(PageId.AUDIT)
    choose(qtbot, wizard, StartMode.NEW)
    assert wizard.route is Route.MAIN
    assert wizard.page_for(PageId.WELCOME).nextId() == int(PageId.SITE)
    assert wizard.page_for(PageId.SIGN_IN).nextId() == int(PageId.TENANT)
    # Side pages are never on the main path.
    assert wizard.page_for(PageId.PLAN).nextId() == -1


def test_a_fault_planted_from_the_sandbox_banner_is_found(
    qtbot: QtBot, sandbox: Sandbox, http: requests.Session, output_dir: Path
) -> None:
    from wizard.sandbox.practice import Fault, Practice
    from wizard.ui.practice_dialog import PracticeDialog

    session_practice = Practice(sandbox.state)
    session = WizardSession(sandbox.cloud, profile(Method.CONNECTOR), clock=lambda: TODAY)
    session.practice = session_practice
    wizard = RelayWizard(session, pages=PAGES, remember_size=False)
    qtbot.addWidget(wizard)
    wizard.resize(*DEFAULT_SIZE)
    wizard.show()
    qtbot.waitExposed(wizard)
    welcome = wizard.page_for(PageId.WELCOME)
    assert welcome.banner.practice_button is not None
    assert welcome.banner.practice_button.isVisible()

    # What the banner's button opens; ticking a box plants the fault at once.
    dialog = PracticeDialog(session_practice, wizard)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    shot_path = output_dir / "practice-dialog.png"
    assert dialog.grab().save(str(shot_path))
    dialog.boxes[Fault.PORT25_BLOCKED].click()
    assert sandbox.state.mx_port_blocked
    dialog.close()

    page = to_troubleshoot(qtbot, wizard, sign_in=False)
    run_checks(qtbot, page)
    ports = page.rows[CheckId.PORTS]
    assert ports.status_line.word == "Problem"
    assert ports.fix_button.text() == "Fix in Method"
