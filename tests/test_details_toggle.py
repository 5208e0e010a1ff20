"""The Details fold-outs say what they do, and their words follow the state."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from wizard.core.dns.model import CheckId, CheckResult, CheckStatus
from wizard.core.findings import Finding, Severity
from wizard.ui.pages.dns import CheckRow
from wizard.ui.widgets.finding_row import FindingRow


def test_a_findings_toggle_says_show_then_hide(qtbot: QtBot) -> None:
    row = FindingRow("Connection to port 25")
    qtbot.addWidget(row)
    row.show()
    row.set_finding(
        Finding("port25", Severity.PROBLEM, "Port 25 is blocked", technical=("timeout 10 s",)),
        lambda _step: False,
    )
    assert row.toggle.text() == "Show technical details"
    assert row.toggle.accessibleName() == "Show the details of Connection to port 25"
    assert not row.more.isVisible()
    qtbot.mouseClick(row.toggle, Qt.MouseButton.LeftButton)
    assert row.more.isVisible()
    assert row.toggle.text() == "Hide technical details"
    assert row.toggle.accessibleName() == "Hide the details of Connection to port 25"


def test_a_dns_card_that_opened_by_itself_offers_to_hide(qtbot: QtBot) -> None:
    row = CheckRow(CheckId.SPF)
    qtbot.addWidget(row)
    row.show()
    row.set_result(
        CheckResult(CheckId.SPF, CheckStatus.FAIL, "No SPF record.", details=("none found",))
    )
    assert row.details.isVisible()
    assert row.toggle.text() == "Hide details"
    qtbot.mouseClick(row.toggle, Qt.MouseButton.LeftButton)
    assert not row.details.isVisible()
    assert row.toggle.text() == "Show details"
