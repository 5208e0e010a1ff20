"""DNS: is the domain's DNS right for Microsoft 365 and the chosen method?

Every check has a row from the start ("Checking…"); rows fill in one by one as the
answers come in (the service reports each result through the task's progress), and
a failing row unfolds to what it means and the exact record to publish, with copy
buttons. "Check again" reruns everything; the work runs off the UI thread and can
be cancelled. The finished report is kept in the session for the report and sheets.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from wizard.core.dns.context import expected_from_snapshot
from wizard.core.dns.model import (
    CHECK_ORDER,
    CHECK_TITLES,
    CheckId,
    CheckResult,
    CheckStatus,
    DnsReport,
    RecordFix,
)
from wizard.core.methods import METHOD_INFO
from wizard.core.tenant import TenantSnapshot
from wizard.services.dns.checks import DnsCheckRequest, dns_settings_for, run_dns_checks
from wizard.services.dns.client import DnsClient
from wizard.ui.pages.base import PageId, WizardPage
from wizard.ui.style import Tone, scaled_font
from wizard.ui.tasks import CancelToken, Task, TaskCancelled
from wizard.ui.text import plural
from wizard.ui.widgets.copy import CopyButton
from wizard.ui.widgets.details_toggle import DetailsToggle
from wizard.ui.widgets.labels import HintLabel, StatusLine
from wizard.ui.widgets.values import ValueRows, clear_layout

TONES: dict[CheckStatus, Tone] = {
    CheckStatus.PASS: Tone.GOOD,
    CheckStatus.WARNING: Tone.WARNING,
    CheckStatus.FAIL: Tone.BAD,
    CheckStatus.INFO: Tone.INFO,
    CheckStatus.ERROR: Tone.NEUTRAL,
}


class FixBox(QFrame):
    """The record to publish: host, type, value and TTL, each copyable where typed."""

    def __init__(self, fix: RecordFix, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fix = fix
        self.setObjectName("statusMessage")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(4)
        heading = QLabel(title, self)
        heading.setFont(scaled_font(heading, 1.0, bold=True))
        layout.addWidget(heading)
        rows = ValueRows(self)
        rows.add(self.tr("Host (name)"), fix.host, copy=True)
        rows.add(self.tr("Type"), fix.rtype)
        rows.add(self.tr("Value"), fix.value, copy=True)
        rows.add(self.tr("TTL"), self.tr("{0} seconds").format(fix.ttl))
        if fix.replaces:
            rows.add(self.tr("Replaces"), "\n".join(fix.replaces))
        layout.addWidget(rows)
        self.value_copy = next(
            (b for b in rows.findChildren(CopyButton) if b.value() == fix.value), None
        )
        if fix.note:
            layout.addWidget(HintLabel(fix.note, self))
        if fix.warning:
            layout.addWidget(StatusLine(Tone.WARNING, self.tr("Careful"), fix.warning, self))
        if fix.alternative is not None:
            layout.addWidget(FixBox(fix.alternative, self.tr("Or publish this instead"), self))


class CheckRow(QFrame):
    """One check: icon + word, title, summary; details and the fix fold out."""

    def __init__(self, check_id: CheckId, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.check_id = check_id
        self.result: CheckResult | None = None
        self.setObjectName("card")
        # Never squeezed below what its text needs: a long list scrolls instead of
        # clipping every card's lines (the page's scroll area gives out the height).
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(4)
        top = QHBoxLayout()
        self.status_line = StatusLine(Tone.NEUTRAL, self.tr("Checking…"), "", self)
        self.status_line.setMinimumWidth(
            self.fontMetrics().horizontalAdvance("Could not check") + 40
        )
        self.title = QLabel(CHECK_TITLES[check_id], self)
        self.title.setFont(scaled_font(self.title, 1.0, bold=True))
        self.title.setWordWrap(True)
        self.toggle = DetailsToggle(CHECK_TITLES[check_id], self)
        self.toggle.setEnabled(False)
        top.addWidget(self.status_line, 0)
        top.addWidget(self.title, 1)
        top.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(top)
        self.summary = QLabel("", self)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.summary)
        self.details = QWidget(self)
        self.details_layout = QVBoxLayout(self.details)
        self.details_layout.setContentsMargins(0, 4, 0, 0)
        self.details_layout.setSpacing(6)
        self.details.hide()
        layout.addWidget(self.details)
        self.fix_box: FixBox | None = None
        self.toggle.toggled.connect(self.details.setVisible)

    def set_pending(self) -> None:
        self.result = None
        self.status_line.set_status(Tone.NEUTRAL, self.tr("Checking…"))
        self.summary.setText("")
        self.summary.hide()
        clear_layout(self.details_layout)
        self.fix_box = None
        self.toggle.setChecked(False)
        self.toggle.setEnabled(False)

    def set_result(self, result: CheckResult) -> None:
        self.result = result
        self.status_line.set_status(TONES[result.status], result.status.label)
        self.summary.setText(result.summary)
        self.summary.show()
        # Rebuilt while hidden, so showing it shows every new child at once.
        self.details.hide()
        clear_layout(self.details_layout)
        self.fix_box = None
        for line in result.details:
            label = QLabel(line, self.details)
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.details_layout.addWidget(label)
        if result.found:
            found = ValueRows(self.details)
            found.add(self.tr("Now in DNS"), "\n".join(result.found))
            self.details_layout.addWidget(found)
        if result.fix is not None and result.status is not CheckStatus.PASS:
            self.fix_box = FixBox(result.fix, self.tr("Record to publish"), self.details)
            self.details_layout.addWidget(self.fix_box)
        has_more = self.details_layout.count() > 0
        self.toggle.setEnabled(has_more)
        # Problems open by themselves: the fix is what the user came for.
        self.toggle.setChecked(
            has_more and result.status in (CheckStatus.FAIL, CheckStatus.WARNING)
        )
        self.details.setVisible(self.toggle.isChecked())
        self.setAccessibleName(
            f"{CHECK_TITLES[self.check_id]}: {result.status.label}. {result.summary}"
        )


class DnsPage(WizardPage):
    page_id = PageId.DNS

    def build(self) -> None:
        self.setTitle(self.tr("DNS"))
        self.setSubTitle(
            self.tr(
                "Check that your domain's DNS records fit Microsoft 365 and the way the "
                "devices will send. Anything wrong comes with the exact record to publish."
            )
        )
        inputs = ValueRows(self.body)
        self.inputs = inputs
        self.body_layout.addWidget(inputs)
        ip_row = QHBoxLayout()
        ip_label = QLabel(self.tr("Office's public IP:"), self.body)
        self.ip_edit = QLineEdit(self.body)
        self.ip_edit.setPlaceholderText(self.tr("Detect automatically"))
        self.ip_edit.setAccessibleName(self.tr("Office's public IP address"))
        self.ip_edit.setMinimumWidth(
            self.fontMetrics().horizontalAdvance("Detected: 203.0.113.255") + 24
        )
        ip_label.setBuddy(self.ip_edit)
        ip_row.addWidget(ip_label)
        ip_row.addWidget(self.ip_edit)
        ip_row.addWidget(
            HintLabel(
                self.tr("Leave empty to detect it; needed for direct send and relay."), self.body
            ),
            1,
        )
        self.body_layout.addLayout(ip_row)
        self.overall = StatusLine(Tone.NEUTRAL, self.tr("Not checked yet"), "", self.body)
        self.body_layout.addWidget(self.overall)
        self.rows: dict[CheckId, CheckRow] = {}
        for check_id in CHECK_ORDER:
            row = CheckRow(check_id, self.body)
            self.rows[check_id] = row
            self.body_layout.addWidget(row)
        self.body_layout.addStretch(1)

        action = QHBoxLayout()
        self.check_button = QPushButton(self.tr("&Check again"), self)
        self.check_button.setAccessibleName(self.tr("Check the DNS records again"))
        self.check_button.setAutoDefault(False)
        action.addWidget(self.check_button)
        action.addWidget(
            HintLabel(
                self.tr("DNS changes can take from minutes to a few hours to show everywhere."),
                self,
            ),
            1,
        )
        self.footer_layout.addLayout(action)
        self.task: Task[DnsReport] | None = None
        # Results as they come, shown one per turn of the event loop: a fast DNS server
        # answers every check at once, and eleven rows rebuilt in one go held the window.
        self._arrived: list[CheckResult] = []
        self._arrival_timer = QTimer(self)
        self._arrival_timer.setInterval(0)
        self._arrival_timer.timeout.connect(self._show_next_result)
        self._finish_after: tuple[DnsReport | None, BaseException | None] | None = None
        self._last_request: DnsCheckRequest | None = None
        self.report: DnsReport | None = None
        self.check_button.clicked.connect(self.start_check)
        self.ip_edit.returnPressed.connect(self.start_check)

    # Inputs -----------------------------------------------------------------------

    def _request(self) -> DnsCheckRequest:
        profile = self.session.profile
        domain = profile.site.domain
        snapshot = getattr(self.session, "tenant_snapshot", None)
        expected = expected_from_snapshot(
            snapshot if isinstance(snapshot, TenantSnapshot) else None, domain
        )
        return DnsCheckRequest(
            domain,
            method=profile.method,
            site_ip=self.ip_edit.text().strip() or None,
            expected=expected,
        )

    def _show_inputs(self) -> None:
        profile = self.session.profile
        self.inputs.clear()
        self.inputs.add(self.tr("Domain"), profile.site.domain or self.tr("(not entered)"))
        method = profile.method
        self.inputs.add(
            self.tr("Sending method"),
            METHOD_INFO[method].title
            if method
            else self.tr("not chosen yet: every method's needs are shown"),
        )

    def initializePage(self) -> None:
        self._show_inputs()
        if not self.ip_edit.text() and self.session.profile.site.public_ip:
            self.ip_edit.setText(self.session.profile.site.public_ip)
        kept = self.session.dns_report
        # Coming back with the same domain, method, address and tenant expectations
        # shows the last result; anything changed (e.g. signed in since) checks again.
        if kept is not None and self._last_request == self._request():
            self._show_report(kept)
            return
        self.start_check()

    # Running ----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        working = self.task is not None and self.task.running
        return working or bool(self._arrived) or self._finish_after is not None

    def start_check(self) -> None:
        if self.running:
            return
        if not self.session.profile.site.domain:
            self.overall.set_status(
                Tone.INFO,
                self.tr("No domain"),
                self.tr("Enter the mail domain on the Site step first."),
            )
            return
        request = self._request()
        self._last_request = request
        cloud = self.session.cloud
        for row in self.rows.values():
            row.set_pending()
        self.status.clear_message()
        self.overall.set_status(Tone.NEUTRAL, self.tr("Checking…"), request.domain)
        self.check_button.setEnabled(False)

        def work(token: CancelToken) -> DnsReport:
            with DnsClient(dns_settings_for(cloud)) as client:
                return run_dns_checks(
                    request,
                    cloud,
                    client,
                    on_result=token.report,
                    is_cancelled=lambda: token.cancelled,
                )

        self.task = self.run_task(
            work,
            self._finished,
            name="dns check",
            label=self.tr("Checking the DNS records of {0}…").format(request.domain),
            on_progress=self._one_result,
        )

    def _one_result(self, value: object) -> None:
        if isinstance(value, CheckResult):
            self._arrived.append(value)
            self._arrival_timer.start()

    def _show_next_result(self) -> None:
        if self._arrived:
            result = self._arrived.pop(0)
            self.rows[result.id].set_result(result)
        if not self._arrived:
            self._arrival_timer.stop()
            pending, self._finish_after = self._finish_after, None
            if pending is not None:
                self._finish(*pending)

    def _finished(self, report: DnsReport | None, error: BaseException | None) -> None:
        if self._arrived:
            # The end waits for the results still to show (the page is running till then).
            self._finish_after = (report, error)
            return
        self._finish(report, error)

    def _finish(self, report: DnsReport | None, error: BaseException | None) -> None:
        self.check_button.setEnabled(True)
        self.task = None
        if isinstance(error, TaskCancelled):
            self.overall.set_status(
                Tone.NEUTRAL, self.tr("Stopped"), self.tr("The check was cancelled.")
            )
            for row in self.rows.values():
                if row.result is None:
                    row.status_line.set_status(Tone.NEUTRAL, self.tr("Not checked"))
            return
        if error is not None or report is None:
            self.overall.set_status(Tone.BAD, self.tr("Could not check"), "")
            self.show_error(error or RuntimeError("no report"), doing=self.tr("checking DNS"))
            return
        self._show_report(report)
        self.session.set_dns_report(report)

    def _show_report(self, report: DnsReport) -> None:
        self.report = report
        if report.site_ip and not self.ip_edit.text():
            self.ip_edit.setPlaceholderText(self.tr("Detected: {0}").format(report.site_ip))
        for check in report.checks:
            row = self.rows[check.id]
            # Rows that showed this very result as it came in are not built again.
            if row.result != check:
                row.set_result(check)
        fixes = len(report.fixes())
        overall = report.overall
        if report.has_problems:
            self.overall.set_status(
                TONES[CheckStatus.FAIL if overall is CheckStatus.FAIL else CheckStatus.WARNING],
                self.tr("Needs attention"),
                self.tr("{0} to publish at your DNS host. Then press Check again.").format(
                    plural("DnsPage", "%n record", "%n records", fixes)
                ),
            )
        elif report.has_errors:
            self.overall.set_status(
                Tone.NEUTRAL,
                self.tr("Some checks could not be done"),
                self.tr("The DNS server did not answer every question; check again in a moment."),
            )
        else:
            self.overall.set_status(
                Tone.GOOD,
                self.tr("All good"),
                self.tr("The DNS records are ready for Microsoft 365."),
            )
