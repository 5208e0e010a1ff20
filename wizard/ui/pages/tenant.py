"""Tenant check: what the tenant's settings mean for the chosen method. Read only.

The check runs every time the page opens (off the UI thread, cancellable: a fraction
of a second), again on "Check again", and again when a test or probe contradicts what
was read (the page says what did not match). Each finding is a card: status icon +
word + colour, a plain title, what it means, the value it rests on, and the step that
fixes it. The snapshot is kept in the session for the plan, the DNS step (MX and DKIM
targets) and the report.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

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
        # Why the tenant is being read again (a test or probe disagreed with it).
        self.stale_line = StatusLine(Tone.WARNING, self.tr("Read again"), "", self.body)
        self.stale_line.hide()
        self.body_layout.addWidget(self.stale_line)
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
        # Cards made but not yet in the layout: placed one per turn of the event loop.
        self._unplaced: list[FindingCard] = []
        self._place_timer = QTimer(self)
        self._place_timer.setInterval(0)
        self._place_timer.timeout.connect(self._place_next_card)
        self.task: Task[TenantSnapshot] | None = None
        self._key: tuple[object, ...] | None = None
        self.check_button.clicked.connect(self.start_check)
        self.session.tenantStale.connect(self._contradicted)

    # State ---------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._reading or bool(self._unplaced)

    @property
    def _reading(self) -> bool:
        return self.task is not None and self.task.running

    def initializePage(self) -> None:
        if self.session.signed_in is None:
            self._show_skipped()
            return
        # Read again on every visit: the tenant may have changed since (a planted fault,
        # another admin, the plan), and a read takes a fraction of a second.
        self._show_stale(self.session.tenant_stale)
        self.start_check()

    def shown(self) -> None:
        # Come back to (Back, a "Fix in" jump): read again, the tenant may have changed.
        if not self._reading and self.session.signed_in is not None:
            self._show_stale(self.session.tenant_stale)
            self.start_check()

    def _show_stale(self, reason: str) -> None:
        if reason:
            self.stale_line.set_status(Tone.WARNING, self.tr("Read again"), reason)
        self.stale_line.setVisible(bool(reason))

    def _contradicted(self, reason: str) -> None:
        if self.isVisible() and self.session.signed_in is not None:
            self._show_stale(reason)
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
        self._unplaced = []
        self._place_timer.stop()
        for card in self.cards:
            self.body_layout.removeWidget(card)
            card.deleteLater()
        self.cards = []
        self.summary.clear()

    # Checking ------------------------------------------------------------------------------

    def start_check(self) -> None:
        # Cards of an earlier read still being placed do not stop a new read (it clears
        # them): a read that answered another question must be asked again at once.
        if self._reading or self.session.signed_in is None:
            return
        session = self.session
        try:
            admin, graph = session.tenant_clients()
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
        if key != check_key(self.session):
            # The site or method changed while reading: this read answers another
            # question, so ask the tenant again.
            self.start_check()

    def _show(self, snapshot: TenantSnapshot) -> None:
        self._clear()
        self.check_button.setEnabled(True)
        profile = self.session.profile
        method = profile.method
        findings = analyse(
            snapshot,
            profile,
            method,
            self.session.chosen_variant(),
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
        # Made now (finding() sees them all), put on the page one per turn of the event
        # loop: laying out and painting eight cards of wrapped text in one go held the
        # window some 60 ms; one at a time, each turn is short.
        self.cards = [FindingCard(finding, self.body) for finding in findings]
        self._unplaced = list(self.cards)
        self._place_next_card()
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

    def _place_next_card(self) -> None:
        if not self._unplaced:
            self._place_timer.stop()
            return
        card = self._unplaced.pop(0)
        self.body_layout.insertWidget(self._first_card + self.cards.index(card), card)
        if self._unplaced:
            self._place_timer.start()
        else:
            self._place_timer.stop()
            self.refresh_complete()

    def finding(self, finding_id: str) -> FindingCard | None:
        return next((c for c in self.cards if c.finding.id == finding_id), None)
