"""Tenant check: what the tenant's settings mean for the chosen method. Read only.

The check runs when the page opens (off the UI thread, cancellable) and again on
"Check again". Each finding is a card: status icon + word + colour, a plain title,
what it means, the value it rests on, and the step that fixes it. The snapshot is
kept in the session for the plan, the DNS step (MX and DKIM targets) and the report.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from wizard.core.advisor import Variant
from wizard.core.methods import METHOD_INFO
from wizard.core.steps import STEP_TITLES, WizardStep
from wizard.core.tenant import TenantSnapshot
from wizard.core.tenant_findings import (
    SEVERITY_WORDS,
    Finding,
    Severity,
    analyse,
    worst,
)
from wizard.services.cancel import Cancelled
from wizard.services.tenant_check import addresses_for, check_site
from wizard.ui.pages.base import PageId, WizardPage
from wizard.ui.pages.signin import tenant_clients
from wizard.ui.session import WizardSession
from wizard.ui.style import Tone, scaled_font
from wizard.ui.tasks import CancelToken, Task, TaskCancelled
from wizard.ui.text import plural
from wizard.ui.widgets.labels import HintLabel, StatusLine
from wizard.ui.widgets.values import ValueRows

SEVERITY_TONES: dict[Severity, Tone] = {
    Severity.OK: Tone.GOOD,
    Severity.INFO: Tone.INFO,
    Severity.WARNING: Tone.WARNING,
    Severity.PROBLEM: Tone.BAD,
}


def chosen_variant(session: WizardSession) -> Variant:
    method = session.profile.method
    if method is None:
        return Variant.STANDARD
    return session.advice.for_method(method).variant


def check_key(session: WizardSession) -> tuple[object, ...]:
    """What a snapshot was read for; a different key means reading the tenant again."""
    account = session.signed_in
    profile = session.profile
    return (
        account.home_account_id if account else None,
        profile.site.domain.strip().lower(),
        addresses_for(profile, profile.method),
    )


class FindingCard(QFrame):
    def __init__(self, finding: Finding, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.finding = finding
        self.setObjectName("card")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(3)
        top = QHBoxLayout()
        self.status_line = StatusLine(
            SEVERITY_TONES[finding.severity], SEVERITY_WORDS[finding.severity], "", self
        )
        self.status_line.setMinimumWidth(self.fontMetrics().horizontalAdvance("Warning") + 40)
        title = QLabel(finding.title, self)
        title.setFont(scaled_font(title, 1.0, bold=True))
        title.setWordWrap(True)
        title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top.addWidget(self.status_line, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(title, 1)
        layout.addLayout(top)
        if finding.detail:
            detail = QLabel(finding.detail, self)
            detail.setWordWrap(True)
            detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            layout.addWidget(detail)
        self.fix_label: QLabel | None = None
        if finding.fix_step is not None and finding.severity is not Severity.OK:
            step = STEP_TITLES[finding.fix_step]
            if finding.severity is Severity.INFO:
                text = (
                    self.tr("Up to you, outside the wizard.")
                    if finding.fix_step is WizardStep.OUTSIDE
                    else self.tr("More in the step: {0}.").format(step)
                )
            elif finding.fix_step is WizardStep.OUTSIDE:
                text = self.tr("Fixed outside the wizard.")
            else:
                text = self.tr("Fixed in the step: {0}.").format(step)
            self.fix_label = HintLabel(text, self)
            layout.addWidget(self.fix_label)
        if finding.technical:
            technical = HintLabel(finding.technical, self)
            technical.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            layout.addWidget(technical)
        self.setAccessibleName(
            f"{SEVERITY_WORDS[finding.severity]}: {finding.title}. {finding.detail}"
        )


class TenantPage(WizardPage):
    page_id = PageId.TENANT

    def build(self) -> None:
        self.setTitle(self.tr("Tenant check"))
        self.setSubTitle(
            self.tr(
                "What the tenant's settings mean for the way the devices will send. Nothing "
                "is changed here; the next step lists the changes for you to confirm."
            )
        )
        self.overall = StatusLine(Tone.NEUTRAL, self.tr("Not checked yet"), "", self.body)
        self.body_layout.addWidget(self.overall)
        self.summary = ValueRows(self.body)
        self.body_layout.addWidget(self.summary)
        # The finding cards go straight into the body, after these: a nested container
        # would not pass the wrapped labels' heights on to the scroll area.
        self._first_card = self.body_layout.count()
        self.body_layout.addStretch(1)
        action = QHBoxLayout()
        self.check_button = QPushButton(self.tr("&Check again"), self)
        self.check_button.setAutoDefault(False)
        self.check_button.setAccessibleName(self.tr("Read the tenant's settings again"))
        action.addWidget(self.check_button)
        action.addWidget(
            HintLabel(self.tr("Some changes take up to 30 minutes to show in Exchange."), self), 1
        )
        self.footer_layout.addLayout(action)
        self.cards: list[FindingCard] = []
        self.task: Task[TenantSnapshot] | None = None
        self._key: tuple[object, ...] | None = None
        self.check_button.clicked.connect(self.start_check)

    # State ---------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.task is not None and self.task.running

    def initializePage(self) -> None:
        if self.session.signed_in is None:
            self._show_skipped()
            return
        snapshot = self.session.tenant_snapshot
        if snapshot is not None and self._key == check_key(self.session):
            self._show(snapshot)
            return
        self.start_check()

    def incomplete_reason(self) -> str | None:
        if self.session.signed_in is None:
            if self.session.tenant_skipped:
                return None
            return self.tr("Sign in first (go Back to Sign in).")
        if self.running:
            return self.tr("Wait for the check to finish, or cancel it.")
        if self.session.tenant_snapshot is None:
            return self.tr("The tenant has not been read yet: press Check again.")
        return None

    def _show_skipped(self) -> None:
        self._clear()
        self.check_button.setEnabled(False)
        self.overall.set_status(
            Tone.NEUTRAL,
            self.tr("Skipped") if self.session.tenant_skipped else self.tr("Not signed in"),
            self.tr(
                "You chose to continue without signing in, so the tenant was not read. Go "
                "Back to Sign in to check it."
            )
            if self.session.tenant_skipped
            else self.tr("Sign in first: go Back to Sign in."),
        )
        self.refresh_complete()

    def _clear(self) -> None:
        for card in self.cards:
            self.body_layout.removeWidget(card)
            card.deleteLater()
        self.cards = []
        self.summary.clear()

    # Checking ------------------------------------------------------------------------------

    def start_check(self) -> None:
        if self.running or self.session.signed_in is None:
            return
        session = self.session
        try:
            admin, graph = tenant_clients(session)
        except Exception as exc:  # noqa: BLE001 - shown as any other failure
            self.show_error(exc, doing=self.tr("reading the tenant"))
            return
        profile = session.profile
        method = profile.method
        cloud = session.cloud
        key = check_key(session)
        self._clear()
        self.status.clear_message()
        self.check_button.setEnabled(False)
        self.overall.set_status(Tone.NEUTRAL, self.tr("Reading the tenant…"), "")

        def work(token: CancelToken) -> TenantSnapshot:
            return check_site(admin, graph, cloud, profile, method, cancel=token)

        def done(snapshot: TenantSnapshot | None, error: BaseException | None) -> None:
            self._finished(key, snapshot, error)

        self.task = self.run_task(
            work,
            done,
            name="tenant check",
            label=self.tr("Reading the tenant's settings…"),
        )
        self.refresh_complete()

    def _finished(
        self, key: tuple[object, ...], snapshot: TenantSnapshot | None, error: BaseException | None
    ) -> None:
        self.task = None
        self.check_button.setEnabled(True)
        if isinstance(error, (TaskCancelled, Cancelled)):
            self.overall.set_status(Tone.NEUTRAL, self.tr("Stopped"), self.tr("Check again."))
            self.refresh_complete()
            return
        if error is not None or snapshot is None:
            self.overall.set_status(Tone.BAD, self.tr("Could not read the tenant"), "")
            self.show_error(
                error or RuntimeError("no snapshot"), doing=self.tr("reading the tenant")
            )
            self.refresh_complete()
            return
        self._key = key
        self.session.set_tenant_snapshot(snapshot)
        self._show(snapshot)

    def _show(self, snapshot: TenantSnapshot) -> None:
        self._clear()
        self.check_button.setEnabled(True)
        profile = self.session.profile
        method = profile.method
        findings = analyse(
            snapshot,
            profile,
            method,
            chosen_variant(self.session),
            self.session.cloud,
            self.session.today(),
        )
        self.summary.add(self.tr("Tenant"), snapshot.display_name)
        if snapshot.default_domain:
            self.summary.add(self.tr("Default domain"), snapshot.default_domain)
        self.summary.add(
            self.tr("Checked for"),
            METHOD_INFO[method].title if method else self.tr("no method chosen yet"),
        )
        if snapshot.read_at is not None:
            self.summary.add(self.tr("Read at"), snapshot.read_at.astimezone().strftime("%H:%M:%S"))
        for finding in findings:
            card = FindingCard(finding, self.body)
            self.body_layout.insertWidget(self._first_card + len(self.cards), card)
            self.cards.append(card)
        level = worst(findings)
        counts = {s: sum(1 for f in findings if f.severity is s) for s in Severity}
        if level is Severity.PROBLEM:
            self.overall.set_status(
                Tone.BAD,
                self.tr("Problems found"),
                self.tr("{0} and {1}; each says where it is fixed.").format(
                    plural("TenantPage", "%n problem", "%n problems", counts[Severity.PROBLEM]),
                    plural("TenantPage", "%n warning", "%n warnings", counts[Severity.WARNING]),
                ),
            )
        elif level is Severity.WARNING:
            self.overall.set_status(
                Tone.WARNING,
                self.tr("Needs attention"),
                self.tr("{0}; the plan fixes what the wizard can.").format(
                    plural("TenantPage", "%n warning", "%n warnings", counts[Severity.WARNING])
                ),
            )
        else:
            self.overall.set_status(
                Tone.GOOD,
                self.tr("Looks good"),
                self.tr("Nothing in the tenant stands in the way."),
            )
        self.refresh_complete()

    def finding(self, finding_id: str) -> FindingCard | None:
        return next((c for c in self.cards if c.finding.id == finding_id), None)
