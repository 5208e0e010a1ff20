"""Audit: a tenant's relay exposure, read only, after signing in.

Reached from Welcome ("Audit a tenant's relay exposure") through the Sign in step:
an audit is about a tenant, not a site, so it needs no profile and no method, and it
must never sit inside the setup path where a plan could change things. It runs when
the page opens (off the UI thread, cancellable) and on "Audit again": findings worst
first, every mailbox's SMTP AUTH switch (own and effective, inherited shown), and
what changes at the end of December 2026 and in 2027. Exports as PDF and JSON.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from wizard.core.audit import AuditReport
from wizard.core.journal import EntryKind, findings_checked
from wizard.core.steps import WizardStep
from wizard.services.audit import run_audit
from wizard.services.cancel import Cancelled
from wizard.services.exchange_admin import ExchangeAdmin, ExchangeRoleRefused
from wizard.services.graph import Graph
from wizard.services.http import make_session
from wizard.ui.findings_export import FindingsExporter, safe_file_stem
from wizard.ui.pages.base import PageId, WizardPage
from wizard.ui.style import Tone
from wizard.ui.tasks import CancelToken, Task, TaskCancelled
from wizard.ui.text import plural
from wizard.ui.widgets.finding_row import FindingRow, finding_tone
from wizard.ui.widgets.labels import HintLabel, SectionTitle, StatusLine
from wizard.ui.widgets.values import ValueRows, clear_layout


class AuditPage(WizardPage):
    page_id = PageId.AUDIT

    def build(self) -> None:
        self.exporter = FindingsExporter(
            self,
            title=self.tr("Export the audit"),
            dialog_name="exportAuditDialog",
            saved=self.tr("The audit was saved to {0}."),
        )
        self.setTitle(self.tr("Relay audit"))
        self.setSubTitle(
            self.tr(
                "What in this tenant lets devices and apps send mail, what is at risk, and "
                "what changes at the end of December 2026 and in 2027. Nothing is changed."
            )
        )
        layout = self.body_layout
        self.signed_line = StatusLine(Tone.NEUTRAL, self.tr("Not signed in"), "", self.body)
        layout.addWidget(self.signed_line)
        self.overall = StatusLine(Tone.NEUTRAL, self.tr("Not audited yet"), "", self.body)
        layout.addWidget(self.overall)
        layout.addWidget(SectionTitle(self.tr("Findings"), self.body))
        self.findings_box = QWidget(self.body)
        self.findings_layout = QVBoxLayout(self.findings_box)
        self.findings_layout.setContentsMargins(0, 0, 0, 0)
        self.findings_layout.setSpacing(8)
        layout.addWidget(self.findings_box)
        layout.addWidget(SectionTitle(self.tr("SMTP AUTH per mailbox"), self.body))
        layout.addWidget(
            HintLabel(
                self.tr(
                    "Own setting: the mailbox's SmtpClientAuthenticationDisabled ($null "
                    "inherits the tenant's). Effective: what applies."
                ),
                self.body,
            )
        )
        self.table = QTableWidget(0, 4, self.body)
        self.table.setHorizontalHeaderLabels(
            [self.tr("Mailbox"), self.tr("Own setting"), self.tr("Effective"), self.tr("Inherited")]
        )
        self.table.setAccessibleName(self.tr("SMTP AUTH per mailbox"))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setMinimumHeight(self.fontMetrics().lineSpacing() * 8)
        layout.addWidget(self.table)
        layout.addWidget(SectionTitle(self.tr("What changes, and when"), self.body))
        self.dates = ValueRows(self.body)
        layout.addWidget(self.dates)
        layout.addStretch(1)

        actions = QHBoxLayout()
        self.again_button = QPushButton(self.tr("&Audit again"), self)
        self.again_button.setDefault(True)
        self.pdf_button = QPushButton(self.tr("Export &PDF…"), self)
        self.json_button = QPushButton(self.tr("Export &JSON…"), self)
        for button in (self.pdf_button, self.json_button):
            button.setAutoDefault(False)
        # When the tenant was read: the audit is a picture of that moment.
        self.read_label = HintLabel(self.tr("Read only: Get- cmdlets only."), self)
        actions.addWidget(self.read_label, 1)
        actions.addWidget(self.pdf_button)
        actions.addWidget(self.json_button)
        actions.addWidget(self.again_button)
        self.footer_layout.addLayout(actions)

        self.task: Task[AuditReport] | None = None
        self.report: AuditReport | None = None
        self.rows: list[FindingRow] = []
        # Rows made but not yet in the layout: placed one per turn of the event loop.
        self._unplaced: list[FindingRow] = []
        self._place_timer = QTimer(self)
        self._place_timer.setInterval(0)
        self._place_timer.timeout.connect(self._place_next_row)
        self.again_button.clicked.connect(self.start_audit)
        self.pdf_button.clicked.connect(lambda: self._choose_export("pdf"))
        self.json_button.clicked.connect(lambda: self._choose_export("json"))
        self.session.signedInChanged.connect(lambda _a: self._signed_in_changed())
        self._update_buttons()

    # State --------------------------------------------------------------------------------

    def initializePage(self) -> None:
        self._show_signed_in()
        # Audited afresh on every visit: the tenant may have changed since (a fix made
        # from here, a planted fault), and a read takes a moment.
        if self._can_audit() and not self._auditing:
            self.start_audit()

    def _can_audit(self) -> bool:
        # The token's roles are a hint: Exchange's answer to the audit's reads decides.
        return self.session.signed_in is not None

    def _signed_in_changed(self) -> None:
        self._show_signed_in()
        account = self.session.signed_in
        if self.report is not None and (account is None or self.report.signed_in_as != account.upn):
            self._clear()
        self._update_buttons()

    def _show_signed_in(self) -> None:
        account = self.session.signed_in
        if account is None:
            self.signed_line.set_status(
                Tone.WARNING,
                self.tr("Sign in first"),
                self.tr(
                    "The audit reads the tenant: go Back to Sign in with an Exchange or "
                    "Global Administrator, or a member of Exchange's Organization "
                    "Management role group."
                ),
            )
        elif account.has_admin_role is not True:
            self.signed_line.set_status(
                Tone.INFO,
                self.tr("Signed in"),
                self.tr("as {0}: {1}.").format(account.upn, account.role_text),
            )
        else:
            self.signed_line.set_status(
                Tone.GOOD, self.tr("Signed in"), self.tr("as {0}.").format(account.upn)
            )

    @property
    def running(self) -> bool:
        return self._auditing or bool(self._unplaced)

    @property
    def _auditing(self) -> bool:
        return self.task is not None and self.task.running

    def _update_buttons(self) -> None:
        self.again_button.setEnabled(self._can_audit() and not self.running)
        has = self.report is not None and not self.running
        self.pdf_button.setEnabled(has)
        self.json_button.setEnabled(has)

    # Running --------------------------------------------------------------------------------

    def start_audit(self) -> None:
        # Rows of an earlier audit still being placed do not stop a new one (it clears
        # them): coming back from a fix audits again at once.
        if self._auditing or not self._can_audit():
            return
        account = self.session.signed_in
        assert account is not None
        cloud = self.session.cloud
        sign_in = self.session.sign_in
        upn = account.upn

        def work(token: CancelToken) -> AuditReport:
            with make_session(cloud) as http:
                admin = ExchangeAdmin.for_sign_in(cloud, sign_in, account, session=http)
                graph = Graph(cloud, sign_in.graph_token, session=http)
                return run_audit(admin, graph, cloud, cancel=token, signed_in_as=upn)

        self.status.clear_message()
        self.overall.set_status(Tone.NEUTRAL, self.tr("Reading the tenant…"), "")
        self.task = self.run_task(
            work,
            self._finished,
            name="audit",
            label=self.tr("Reading the tenant's mail settings…"),
        )
        self._update_buttons()

    def _finished(self, report: AuditReport | None, error: BaseException | None) -> None:
        self.task = None
        if isinstance(error, (TaskCancelled, Cancelled)):
            self.overall.set_status(Tone.NEUTRAL, self.tr("Stopped"), self.tr("Audit cancelled."))
        elif isinstance(error, ExchangeRoleRefused):
            # Exchange's role check, not the token, said no: "Audit again" once it says yes.
            # An earlier audit of this account is no longer what it may see.
            self._clear()
            self.overall.set_status(Tone.BAD, self.tr("Exchange refused"), error.what)
            self.show_error(error, doing=self.tr("auditing"))
        elif error is not None or report is None:
            self.overall.set_status(Tone.BAD, self.tr("Could not audit"), "")
            self.show_error(error or RuntimeError("no report"), doing=self.tr("auditing"))
        else:
            self.show_report(report)
            self.session.record(
                findings_checked(
                    EntryKind.AUDIT, report.tenant_name, report.findings, self.session.now()
                )
            )
        self._update_buttons()

    def _clear(self) -> None:
        self.report = None
        for row in self._unplaced:  # not in the layout yet: clear_layout would miss them
            row.setParent(None)
            row.deleteLater()
        self._unplaced = []
        self._place_timer.stop()
        clear_layout(self.findings_layout)
        self.rows = []
        self.table.setRowCount(0)
        self.dates.clear()
        self.read_label.setText(self.tr("Read only: Get- cmdlets only."))
        self.overall.set_status(Tone.NEUTRAL, self.tr("Not audited yet"), "")

    def _can_fix(self, step: WizardStep) -> bool:
        return self.can_go_to_step(step)

    def show_report(self, report: AuditReport) -> None:
        self._clear()
        self.report = report
        self.read_label.setText(
            self.tr("Read only (Get- cmdlets only); the tenant as read at {0}.").format(
                report.generated.astimezone().strftime("%H:%M:%S")
            )
        )
        for finding in report.findings:
            row = FindingRow(None, self.findings_box)
            row.hide()
            row.set_finding(finding, self._can_fix)
            row.fixRequested.connect(self.fix)
            self.rows.append(row)
        # Made now, put on the page one per turn of the event loop: laying out and
        # painting every row in one go held the window 40-50 ms.
        self._unplaced = list(self.rows)
        self._place_next_row()
        top = next((f for f in report.findings if f.needs_action), None)
        actions = sum(1 for f in report.findings if f.needs_action)
        if top is None:
            self.overall.set_status(
                Tone.GOOD,
                self.tr("Nothing at risk"),
                self.tr("{0}: no finding needs action.").format(report.tenant_name),
            )
        else:
            self.overall.set_status(
                finding_tone(top),
                self.tr("At risk"),
                self.tr("{0}: {1} need action, first: {2}").format(
                    report.tenant_name,
                    plural("AuditPage", "%n finding", "%n findings", actions),
                    top.title,
                ),
            )
        self.table.setRowCount(len(report.mailboxes))
        for index, box in enumerate(report.mailboxes):
            own = "$null" if box.own is None else ("$true" if box.own else "$false")
            if box.effective is None:
                effective = self.tr("unknown")
            else:
                effective = self.tr("Off") if box.effective else self.tr("ON: can use SMTP AUTH")
            cells = (
                box.address,
                own,
                effective,
                self.tr("yes, from the tenant") if box.inherited else self.tr("no"),
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(index, column, item)
        for date in report.dates:
            self.dates.add(date.when, f"{date.what}\n{date.impact}")

    def _place_next_row(self) -> None:
        if not self._unplaced:
            self._place_timer.stop()
            return
        row = self._unplaced.pop(0)
        self.findings_layout.addWidget(row)
        row.show()
        if self._unplaced:
            self._place_timer.start()
        else:
            self._place_timer.stop()
            self._update_buttons()

    def fix(self, step: WizardStep) -> None:
        """Go to the step that fixes a finding; Next there comes back and audits again."""
        self.go_to_step(step)

    def returned_from_fix(self, fixed_at: PageId) -> None:
        self.start_audit()

    # Export ----------------------------------------------------------------------------------

    def _choose_export(self, kind: str) -> None:
        report = self.report
        if report is None:
            return
        name = safe_file_stem(report.tenant_name, "tenant")
        self.exporter.choose(report, f"relay-audit-{name}.{kind}", kind)

    def export(self, path: Path, kind: str) -> None:
        if self.report is not None:
            self.exporter.export(self.report, path, kind)
