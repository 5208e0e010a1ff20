"""The DNS page in --demo: results one by one, fixes with copy buttons, Check again."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from tests.dns_helpers import publish
from wizard.core.dns.model import CheckId, CheckStatus
from wizard.core.methods import Method
from wizard.core.profile import Site, SiteProfile
from wizard.ui.pages.dns import DnsPage
from wizard.ui.session import WizardSession
from wizard.ui.wizard import RelayWizard

GREEN = {CheckStatus.PASS, CheckStatus.INFO}


def open_dns_page(qtbot: QtBot, sandbox: Any, method: Method | None) -> tuple[RelayWizard, DnsPage]:
    state = sandbox.state
    profile = SiteProfile(
        site=Site(name=state.display_name, domain=state.default_domain), method=method
    )
    session = WizardSession(sandbox.cloud, profile)
    wizard = RelayWizard(session, pages=[DnsPage], remember_size=False)
    qtbot.addWidget(wizard)
    wizard.resize(960, 680)
    wizard.show()
    qtbot.waitExposed(wizard)
    page = wizard.currentPage()
    assert isinstance(page, DnsPage)
    return wizard, page


def all_done(page: DnsPage) -> bool:
    return not page.running and all(row.result is not None for row in page.rows.values())


def test_demo_page_shows_problems_fixes_and_turns_green(
    qtbot: QtBot, sandbox: Any, output_dir: Any
) -> None:
    wizard, page = open_dns_page(qtbot, sandbox, Method.CONNECTOR)
    qtbot.waitUntil(lambda: all_done(page), timeout=10_000)
    statuses = {cid: row.result.status for cid, row in page.rows.items() if row.result}
    assert {c for c, s in statuses.items() if s not in GREEN} == {
        CheckId.SPF_SITE_IP,
        CheckId.DKIM_SELECTOR2,
        CheckId.DMARC,
    }
    spf_row = page.rows[CheckId.SPF_SITE_IP]
    assert spf_row.status_line.word == "Problem" and spf_row.details.isVisible()
    assert spf_row.fix_box is not None and spf_row.fix_box.value_copy is not None
    spf_row.fix_box.value_copy.click()
    assert QGuiApplication.clipboard().text() == (
        "v=spf1 include:spf.protection.outlook.com ip4:203.0.113.25 -all"
    )
    assert page.overall.word == "Needs attention"
    assert wizard.session.dns_report is not None
    wizard.grab().save(str(output_dir / "dns-page-demo.png"))
    # The passing rows stay folded; one unfolds on request.
    mx_row = page.rows[CheckId.MX]
    assert not mx_row.details.isVisible()

    for row in page.rows.values():
        if row.result is not None and row.result.fix is not None and row.result.status not in GREEN:
            publish(sandbox.state, row.result.fix)
    qtbot.mouseClick(page.check_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: all_done(page) and page.overall.word == "All good", timeout=10_000)
    assert all(row.result and row.result.status in GREEN for row in page.rows.values())
    wizard.grab().save(str(output_dir / "dns-page-green.png"))
    # More cards than fit: the page scrolls, no card is squeezed and clipped, not even
    # at once when the last result came in (what the screenshot above shows).
    assert page.scroll_area is not None and page.scroll_area.verticalScrollBar().maximum() > 0
    for row in page.rows.values():
        # The height its text needs at its width (wrapped labels).
        needed = row.heightForWidth(row.width())
        assert needed > 0 and row.height() >= needed, (row.check_id, row.height(), needed)


def test_checking_does_not_block_the_ui(qtbot: QtBot, sandbox: Any) -> None:
    sandbox.state.dns_delay = 0.15  # every answer takes a while
    wizard, page = open_dns_page(qtbot, sandbox, None)
    started = time.monotonic()
    # The window keeps painting and answering while the check runs.
    assert page.running and not page.check_button.isEnabled()
    assert page.rows[CheckId.MX].status_line.word == "Checking…"
    qtbot.waitUntil(lambda: page.rows[CheckId.MX].result is not None, timeout=10_000)
    assert page.running, "results must arrive before the whole check ends"
    qtbot.waitUntil(lambda: all_done(page), timeout=10_000)
    assert time.monotonic() - started < 5
    assert page.check_button.isEnabled()


def test_cancel_stops_the_check(qtbot: QtBot, sandbox: Any) -> None:
    sandbox.state.dns_delay = 0.4  # slow enough to cancel in the middle
    wizard, page = open_dns_page(qtbot, sandbox, Method.DIRECT_SEND)
    assert page.task is not None
    qtbot.waitUntil(lambda: page.status.progress_visible, timeout=5_000)
    page.task.cancel()
    qtbot.waitUntil(lambda: not page.running, timeout=10_000)
    assert page.overall.word == "Stopped"
    assert wizard.session.dns_report is None  # a partial check is not kept
    assert page.check_button.isEnabled()


def test_coming_back_reuses_the_report_unless_something_changed(qtbot: QtBot, sandbox: Any) -> None:
    wizard, page = open_dns_page(qtbot, sandbox, Method.SMTP_AUTH_OAUTH)
    qtbot.waitUntil(lambda: all_done(page), timeout=10_000)
    first = wizard.session.dns_report
    page.initializePage()
    assert not page.running and wizard.session.dns_report is first
    site_ip = page.rows[CheckId.SPF_SITE_IP].result
    assert site_ip is not None and site_ip.status is CheckStatus.INFO  # not needed
    wizard.session.set_method(Method.DIRECT_SEND)
    page.initializePage()
    assert page.running
    qtbot.waitUntil(lambda: all_done(page), timeout=10_000)
    site_ip = page.rows[CheckId.SPF_SITE_IP].result
    assert site_ip is not None and site_ip.status is CheckStatus.FAIL
    assert wizard.session.dns_report is not first
