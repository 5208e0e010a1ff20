"""Plan and apply: the commit page. Every change, its PowerShell equivalent, then Apply.

The plan is built (pure) from the tenant check's snapshot: each change shows what it
does, why, and the exact PowerShell line with a copy button. A conflict (an existing
connector with other settings) waits for the user's choice. Apply is enabled only
after the explicit confirmation; it runs off the UI thread, each change reports
"Running" then its result, the first failure stops the run, and "Retry the rest"
starts again from a fresh read of the tenant, so nothing is made twice. Running the
page again on a tenant that has everything says "Nothing to change".
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from wizard.core.errors import WizardError
from wizard.core.plan import Change, ChangeStatus, Plan, Resolution, build_plan
from wizard.core.tenant import TenantSnapshot
from wizard.services.apply import (
    ApplyResult,
    ChangeResult,
    Outcome,
    apply_plan,
    keyring_secrets,
)
from wizard.services.cancel import Cancelled
from wizard.services.exchange_admin import ExchangeAdmin
from wizard.services.tenant_check import check_site
from wizard.ui.messages import UserMessage
from wizard.ui.pages.base import PageId, WizardPage
from wizard.ui.style import Tone, scaled_font
from wizard.ui.tasks import CancelToken, Task, TaskCancelled
from wizard.ui.widgets.copy import CopyButton
from wizard.ui.widgets.labels import HintLabel, StatusLine


def _tr(text: str) -> str:
    return QCoreApplication.translate("PlanPage", text)


def _status_look(change: Change, outcome: Outcome | None) -> tuple[Tone, str]:
    """Icon tone and word for a change: its result if it ran, else its plan status."""
    if outcome is not None:
        return {
            Outcome.RUNNING: (Tone.INFO, _tr("Running…")),
            Outcome.APPLIED: (Tone.GOOD, _tr("Done")),
            Outcome.FAILED: (Tone.BAD, _tr("Failed")),
            Outcome.NOT_RUN: (Tone.NEUTRAL, _tr("Not run")),
            Outcome.ALREADY_DONE: (Tone.GOOD, _tr("Already done")),
            Outcome.SKIPPED: (Tone.NEUTRAL, _tr("Left as is")),
            Outcome.BLOCKED: (Tone.BAD, _tr("Blocked")),
        }[outcome]
    return {
        ChangeStatus.NEEDED: (Tone.INFO, _tr("To do")),
        ChangeStatus.DONE: (Tone.GOOD, _tr("Already done")),
        ChangeStatus.CONFLICT: (Tone.WARNING, _tr("Choose")),
        ChangeStatus.SKIPPED: (Tone.NEUTRAL, _tr("Left as is")),
        ChangeStatus.BLOCKED: (Tone.BAD, _tr("Blocked")),
    }[change.status]


def _mono(widget: QWidget) -> QFont:
    font = QFont(widget.font())
    font.setStyleHint(QFont.StyleHint.Monospace)
    font.setFamilies(["DejaVu Sans Mono", "Consolas", "Menlo", "monospace"])
    return font


class ChangeCard(QFrame):
    """One change: status, title, why, the PowerShell line, choices for a conflict."""

    def __init__(
        self,
        change: Change,
        on_choice: Callable[[str, Resolution], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.change = change
        self.outcome: Outcome | None = None
        self.setObjectName("card")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(4)
        top = QHBoxLayout()
        tone, word = _status_look(change, None)
        self.status_line = StatusLine(tone, word, "", self)
        self.status_line.setMinimumWidth(self.fontMetrics().horizontalAdvance("Already done") + 40)
        self.title = QLabel(change.title, self)
        self.title.setFont(scaled_font(self.title, 1.0, bold=True))
        self.title.setWordWrap(True)
        top.addWidget(self.status_line, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.title, 1)
        layout.addLayout(top)
        if change.why:
            layout.addWidget(HintLabel(change.why, self))
        self.detail = QLabel(change.detail, self)
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail.setVisible(bool(change.detail))
        layout.addWidget(self.detail)
        self.choices: dict[Resolution, QRadioButton] = {}
        if change.options:
            group = QButtonGroup(self)
            for option in change.options:
                button = QRadioButton(option.label, self)
                button.setChecked(option.resolution is change.chosen)
                group.addButton(button)
                self.choices[option.resolution] = button
                layout.addWidget(button)
                button.toggled.connect(self._chooser(on_choice, option.resolution))
        self.powershell = QLabel(change.powershell, self)
        self.powershell.setFont(_mono(self.powershell))
        self.powershell.setWordWrap(True)
        self.powershell.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.powershell.setAccessibleName(self.tr("PowerShell: {0}").format(change.powershell))
        self.copy_button: CopyButton | None = None
        if change.powershell and change.status is ChangeStatus.CONFLICT:
            layout.addWidget(HintLabel(self.tr("With the first choice, the wizard runs:"), self))
        if change.powershell:
            code = QFrame(self)
            code.setObjectName("statusMessage")
            code_layout = QHBoxLayout(code)
            code_layout.setContentsMargins(8, 4, 4, 4)
            code_layout.addWidget(self.powershell, 1)
            self.copy_button = CopyButton(
                change.powershell, self.tr("the PowerShell command"), code
            )
            code_layout.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignTop)
            layout.addWidget(code)
        else:
            self.powershell.hide()
        self.error_line = StatusLine(Tone.BAD, self.tr("Failed"), "", self)
        self.error_line.hide()
        layout.addWidget(self.error_line)

    def _chooser(
        self, on_choice: Callable[[str, Resolution], None], resolution: Resolution
    ) -> Callable[[bool], None]:
        def chosen(checked: bool) -> None:
            if checked:
                on_choice(self.change.id, resolution)

        return chosen

    def set_outcome(self, result: ChangeResult) -> None:
        self.outcome = result.outcome
        tone, word = _status_look(self.change, result.outcome)
        self.status_line.set_status(tone, word)
        for button in self.choices.values():
            button.setEnabled(False)
        if result.outcome is Outcome.APPLIED:
            self.detail.setText(self.tr("Made just now."))
            self.detail.show()
        if result.error is not None:
            self.error_line.set_status(Tone.BAD, self.tr("Failed"), result.error.plain())
            self.error_line.show()
        elif result.warnings:
            self.error_line.set_status(
                Tone.WARNING, self.tr("Exchange said"), " ".join(result.warnings)
            )
            self.error_line.show()
        else:
            self.error_line.hide()


class PlanPage(WizardPage):
    page_id = PageId.PLAN

    def build(self) -> None:
        self.setTitle(self.tr("Plan and apply"))
        self.setSubTitle(
            self.tr(
                "These are the changes the chosen method needs in the tenant, each with its "
                "PowerShell equivalent. Nothing changes until you confirm and press Apply."
            )
        )
        self.overall = StatusLine(Tone.NEUTRAL, self.tr("No plan yet"), "", self.body)
        self.body_layout.addWidget(self.overall)
        # Why the tenant is being read again (a test or probe disagreed with it).
        self.stale_line = StatusLine(Tone.WARNING, self.tr("Read again"), "", self.body)
        self.stale_line.hide()
        self.body_layout.addWidget(self.stale_line)
        # Notes and change cards go straight into the body from here on: a nested
        # container would not pass the wrapped labels' heights on to the scroll area.
        self._first_item = self.body_layout.count()
        self._items: list[QWidget] = []
        copy_row = QHBoxLayout()
        self.copy_all = CopyButton(
            self._all_powershell,
            self.tr("every PowerShell command of the plan"),
            self.body,
            label=self.tr("Copy all as PowerShell"),
        )
        copy_row.addWidget(self.copy_all)
        copy_row.addWidget(
            HintLabel(
                self.tr("For your records, or for an admin who prefers to run them."), self.body
            ),
            1,
        )
        self.body_layout.addLayout(copy_row)
        self.body_layout.addStretch(1)

        self.confirm_box = QCheckBox(self)
        self.footer_layout.addWidget(self.confirm_box)
        action = QHBoxLayout()
        self.apply_button = QPushButton(self.tr("&Apply the changes"), self)
        self.apply_button.setDefault(True)
        self.retry_button = QPushButton(self.tr("&Retry the rest"), self)
        self.retry_button.setAutoDefault(False)
        self.retry_button.hide()
        self.skip_box = QCheckBox(
            self.tr("Continue without applying (someone else makes these changes)"), self
        )
        action.addWidget(self.apply_button)
        action.addWidget(self.retry_button)
        action.addStretch(1)
        action.addWidget(self.skip_box)
        self.footer_layout.addLayout(action)
        fresh = QHBoxLayout()
        self.read_label = HintLabel("", self)
        self.check_button = QPushButton(self.tr("Chec&k again"), self)
        self.check_button.setAutoDefault(False)
        self.check_button.setAccessibleName(self.tr("Read the tenant again and rebuild the plan"))
        fresh.addWidget(self.read_label, 1)
        fresh.addWidget(self.check_button)
        self.footer_layout.addLayout(fresh)

        self.plan: Plan | None = None
        self.snapshot: TenantSnapshot | None = None
        self.result: ApplyResult | None = None
        self.resolutions: dict[str, Resolution] = {}
        self.cards: dict[str, ChangeCard] = {}
        self.task: Task[object] | None = None
        self._latest: TenantSnapshot | None = None
        # What the user confirmed: a plan with other changes must be confirmed again.
        self._confirmed: frozenset[tuple[str, str]] = frozenset()
        self.confirm_box.toggled.connect(self._confirm_toggled)
        self.skip_box.toggled.connect(lambda _on: self.refresh_complete())
        self.apply_button.clicked.connect(self.apply)
        self.retry_button.clicked.connect(self.retry)
        self.check_button.clicked.connect(self.check_again)
        self.session.tenantStale.connect(self._contradicted)

    # Building the plan ------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.task is not None and self.task.running

    def initializePage(self) -> None:
        if self.running:
            return
        if self.session.signed_in is None:
            self._show_skipped()
            return
        # The plan is built from the tenant as it is now, read on every visit: what an
        # earlier visit showed as "Done" may have changed since (a planted fault,
        # another admin). The last result stays on screen until the new read is in.
        self._show_stale(self.session.tenant_stale)
        self._read_and_plan()

    def shown(self) -> None:
        # Come back to (Back, a "Fix in" jump): the plan rests on a fresh read.
        if not self.running and self.session.signed_in is not None:
            self._show_stale(self.session.tenant_stale)
            self._read_and_plan()

    def check_again(self) -> None:
        if not self.running and self.session.signed_in is not None:
            self._show_stale("")
            self._read_and_plan()

    def _show_stale(self, reason: str) -> None:
        if reason:
            self.stale_line.set_status(Tone.WARNING, self.tr("Read again"), reason)
        self.stale_line.setVisible(bool(reason))

    def _contradicted(self, reason: str) -> None:
        if self.isVisible() and not self.running and self.session.signed_in is not None:
            self._show_stale(reason)
            self._read_and_plan()

    def _show_read_at(self) -> None:
        snapshot = self.snapshot
        if snapshot is None or snapshot.read_at is None:
            self.read_label.setText("")
            return
        self.read_label.setText(
            self.tr("The plan rests on the tenant as read at {time}.").format(
                time=snapshot.read_at.astimezone().strftime("%H:%M:%S")
            )
        )

    def _show_skipped(self) -> None:
        self._clear()
        self.plan = None
        self.overall.set_status(
            Tone.NEUTRAL,
            self.tr("Skipped"),
            self.tr(
                "You are not signed in, so the wizard cannot see or change the tenant. Go "
                "Back to Sign in to make the changes here."
            ),
        )
        self._update_buttons()

    def _clear(self) -> None:
        for item in self._items:
            self.body_layout.removeWidget(item)
            item.deleteLater()
        self._items = []
        self.cards = {}

    def _plan_from(self, snapshot: TenantSnapshot) -> None:
        if snapshot is not self.snapshot:
            # A new read: an earlier run's results describe another state of the tenant.
            self.result = None
            self.retry_button.hide()
        self.snapshot = snapshot
        self._show_read_at()
        method = self.session.profile.method
        if method is None:
            self._clear()
            self.plan = None
            self.overall.set_status(
                Tone.INFO, self.tr("No method chosen"), self.tr("Choose a method first.")
            )
            self._update_buttons()
            return
        self.plan = build_plan(
            self.session.profile,
            method,
            self.session.chosen_variant(),
            snapshot,
            self.session.cloud,
            self.resolutions,
            today=self.session.today(),
        )
        self._show_plan(self.plan)

    def _show_plan(self, plan: Plan, result: ApplyResult | None = None) -> None:
        self._clear()
        for blocker in plan.blockers:
            self._add(StatusLine(Tone.BAD, self.tr("Cannot apply"), blocker, self.body))
        for note in plan.notes:
            self._add(StatusLine(Tone.INFO, self.tr("Note"), note, self.body))
        outcomes = {r.change_id: r for r in result.results} if result else {}
        for change in plan.changes:
            card = ChangeCard(change, self._choose, self.body)
            self.cards[change.id] = card
            self._add(card)
            if change.id in outcomes:
                card.set_outcome(outcomes[change.id])
        self._show_overall(plan, result)
        if result is None:
            self._sync_confirmation(plan)
        tenant = self.snapshot.display_name if self.snapshot else self.tr("the tenant")
        self.confirm_box.setText(
            self.tr("I have read these changes and want to apply them to {0}.").format(tenant)
        )
        self._update_buttons()

    def _add(self, widget: QWidget) -> None:
        self.body_layout.insertWidget(self._first_item + len(self._items), widget)
        self._items.append(widget)

    def _show_overall(self, plan: Plan, result: ApplyResult | None) -> None:
        if result is not None:
            if result.complete and not result.nothing_to_change:
                self.overall.set_status(Tone.GOOD, self.tr("Done"), result.summary())
            elif result.nothing_to_change and result.failed is None:
                self.overall.set_status(Tone.GOOD, self.tr("Nothing to change"), result.summary())
            else:
                self.overall.set_status(Tone.BAD, self.tr("Not finished"), result.summary())
            return
        if plan.blockers:
            self.overall.set_status(
                Tone.BAD,
                self.tr("Cannot apply"),
                self.tr("The method cannot work in this tenant as it is; see below."),
            )
        elif plan.unresolved:
            self.overall.set_status(
                Tone.WARNING,
                self.tr("Your choice is needed"),
                self.tr("An existing setting is in the way; choose what to do with it below."),
            )
        elif plan.nothing_to_change:
            self.overall.set_status(
                Tone.GOOD,
                self.tr("Nothing to change"),
                self.tr("The tenant already has every setting this method needs."),
            )
        else:
            count = len(plan.to_apply)
            self.overall.set_status(
                Tone.INFO,
                self.tr("1 change to make")
                if count == 1
                else self.tr("{0} changes to make").format(count),
                self.tr("Read them, tick the confirmation, then press Apply."),
            )

    @staticmethod
    def _lines(plan: Plan | None) -> frozenset[tuple[str, str]]:
        return frozenset((c.id, c.powershell) for c in plan.to_apply) if plan else frozenset()

    def _confirm_toggled(self, checked: bool) -> None:
        self._confirmed = self._lines(self.plan) if checked else frozenset()
        self._update_buttons()

    def _sync_confirmation(self, plan: Plan) -> None:
        """Keep the tick only while every change to apply was among those confirmed."""
        lines = self._lines(plan)
        if self.confirm_box.isChecked() and not (lines and lines <= self._confirmed):
            self.confirm_box.setChecked(False)

    def _choose(self, change_id: str, resolution: Resolution) -> None:
        self.resolutions[change_id] = resolution
        if self.snapshot is not None and not self.running:
            self.result = None
            self.retry_button.hide()
            self._plan_from(self.snapshot)

    def _all_powershell(self) -> str:
        if self.plan is None:
            return ""
        changes = self.plan.to_apply or tuple(c for c in self.plan.changes if c.powershell)
        return "\n".join(c.powershell for c in changes if c.powershell)

    # Completeness and buttons ----------------------------------------------------------

    def _update_buttons(self) -> None:
        plan = self.plan
        can = plan is not None and plan.can_apply and not self.running
        self.confirm_box.setVisible(plan is not None and bool(plan.to_apply))
        self.apply_button.setEnabled(can and self.confirm_box.isChecked())
        if plan is not None and plan.nothing_to_change and not plan.blockers:
            self.apply_button.setText(self.tr("Nothing to change"))
        else:
            self.apply_button.setText(self.tr("&Apply the changes"))
        self.apply_button.setVisible(plan is not None)
        self.retry_button.setEnabled(not self.running and self.confirm_box.isChecked())
        done = plan is not None and plan.nothing_to_change and not plan.blockers
        self.skip_box.setVisible(plan is not None and not done)
        self.copy_all.setEnabled(bool(self._all_powershell()))
        self.check_button.setEnabled(not self.running and self.session.signed_in is not None)
        self.refresh_complete()

    def incomplete_reason(self) -> str | None:
        if self.session.signed_in is None:
            return None if self.session.tenant_skipped else self.tr("Sign in first.")
        if self.running:
            return self.tr("Wait until the changes are applied.")
        if self.plan is None:
            return self.tr("The plan is not ready yet.")
        if self.skip_box.isChecked():
            return None
        if self.plan.blockers:
            return self.tr(
                "This method cannot work in the tenant as it is: go Back and choose another, "
                "fix what is listed, or continue without applying."
            )
        if self.plan.unresolved:
            return self.tr("Choose what to do with the existing setting.")
        if not self.plan.nothing_to_change:
            return self.tr("Apply the changes, or continue without applying.")
        return None

    # Reading and applying ----------------------------------------------------------------

    def _rechecker(self) -> tuple[ExchangeAdmin, Callable[[CancelToken], Callable[[], Plan]]]:
        """On the UI thread: the admin client and a maker of the after-apply re-read.

        The re-read reads the tenant again and rebuilds the plan with the same
        choices; everything it needs is taken from the session here, not on the worker.
        """
        session = self.session
        admin, graph = session.tenant_clients()
        profile = session.profile
        method = profile.method
        cloud = session.cloud
        variant = session.chosen_variant()
        resolutions = dict(self.resolutions)
        today = session.today()
        assert method is not None

        def make(token: CancelToken) -> Callable[[], Plan]:
            def recheck() -> Plan:
                snapshot = check_site(admin, graph, cloud, profile, method, cancel=token)
                self._latest = snapshot
                return build_plan(
                    profile, method, variant, snapshot, cloud, resolutions, today=today
                )

            return recheck

        return admin, make

    def _read_and_plan(self) -> None:
        if self.session.profile.method is None:
            self._plan_from_none()
            return
        try:
            admin, graph = self.session.tenant_clients()
        except WizardError as exc:
            self.show_error(exc, doing=self.tr("reading the tenant"))
            return
        session = self.session
        profile, method, cloud = session.profile, session.profile.method, session.cloud

        def work(token: CancelToken) -> object:
            return check_site(admin, graph, cloud, profile, method, cancel=token)

        self.overall.set_status(Tone.NEUTRAL, self.tr("Reading the tenant…"), "")
        self.task = self.run_task(
            work, self._read_done, name="tenant check", label=self.tr("Reading the tenant…")
        )
        self._update_buttons()

    def _plan_from_none(self) -> None:
        self._clear()
        self.plan = None
        self.overall.set_status(
            Tone.INFO, self.tr("No method chosen"), self.tr("Choose a method first.")
        )
        self._update_buttons()

    def _read_done(self, snapshot: object, error: BaseException | None) -> None:
        self.task = None
        if error is not None or not isinstance(snapshot, TenantSnapshot):
            if not isinstance(error, (TaskCancelled, Cancelled)):
                self.show_error(
                    error or RuntimeError("no snapshot"), doing=self.tr("reading the tenant")
                )
            self.overall.set_status(Tone.BAD, self.tr("Could not read the tenant"), "")
            self._update_buttons()
            return
        self.session.set_tenant_snapshot(snapshot)
        self._plan_from(snapshot)

    def apply(self) -> None:
        plan = self.plan
        if plan is None or not plan.can_apply or not self.confirm_box.isChecked() or self.running:
            return
        self._run(plan)

    def retry(self) -> None:
        """Apply what is left, from a fresh read of the tenant (made changes are done)."""
        if self.running or not self.confirm_box.isChecked():
            return
        self.retry_button.hide()
        self._read_then_apply()

    def _read_then_apply(self) -> None:
        session = self.session
        try:
            admin, graph = session.tenant_clients()
        except WizardError as exc:
            self.show_error(exc, doing=self.tr("reading the tenant"))
            return
        profile, method, cloud = session.profile, session.profile.method, session.cloud

        def work(token: CancelToken) -> object:
            return check_site(admin, graph, cloud, profile, method, cancel=token)

        def done(snapshot: object, error: BaseException | None) -> None:
            self._read_done(snapshot, error)
            if self.plan is not None and self.plan.can_apply:
                self._run(self.plan)

        self.task = self.run_task(
            work, done, name="tenant check", label=self.tr("Reading the tenant again…")
        )
        self._update_buttons()

    def _run(self, plan: Plan) -> None:
        self.status.clear_message()
        site = self.session.profile.site
        site_key = site.name.strip() or site.domain.strip() or "default"
        secrets = keyring_secrets(self.session.secrets, site_key)
        self.result = None
        for card in self.cards.values():
            for button in card.choices.values():
                button.setEnabled(False)

        try:
            admin, make_recheck = self._rechecker()
        except WizardError as exc:
            self.show_error(exc, doing=self.tr("applying the plan"))
            return
        self._latest = None

        def work(token: CancelToken) -> object:
            result = apply_plan(
                plan,
                admin,
                recheck=make_recheck(token),
                secrets=secrets,
                cancel=token,
                progress=token.report,
            )
            return result, self._latest

        self.task = self.run_task(
            work,
            lambda value, error: self._applied(plan, value, error),
            name="apply plan",
            label=self.tr("Applying the changes…"),
            on_progress=self._progress,
        )
        self._update_buttons()

    def _progress(self, value: object) -> None:
        if isinstance(value, ChangeResult):
            card = self.cards.get(value.change_id)
            if card is not None:
                card.set_outcome(value)

    def _applied(self, plan: Plan, value: object, error: BaseException | None) -> None:
        self.task = None
        if isinstance(error, (TaskCancelled, Cancelled)):
            self.show_message(
                UserMessage(
                    Tone.INFO,
                    self.tr("Stopped."),
                    self.tr("Changes that finished are made; read the tenant again to see."),
                )
            )
            self.retry_button.show()
            self._update_buttons()
            return
        if error is not None or not isinstance(value, tuple):
            self.show_error(error or RuntimeError("no result"), doing=self.tr("applying the plan"))
            self.retry_button.show()
            self._update_buttons()
            return
        result, snapshot = value
        assert isinstance(result, ApplyResult)
        self.result = result
        if isinstance(snapshot, TenantSnapshot):
            self.session.set_tenant_snapshot(snapshot)
            self.snapshot = snapshot
            self._show_read_at()
        self.session.set_apply_result(result)
        # Show the plan as it was applied, with each change's result.
        self._show_plan(plan, result)
        if result.verified is not None:
            self.plan = result.verified
        failed = result.failed
        if failed is not None and failed.error is not None:
            self.show_error(
                failed.error, doing=self.tr("applying '{0}'").format(failed.change.title)
            )
        elif result.recheck_error is not None:
            self.show_error(result.recheck_error, doing=self.tr("reading the tenant again"))
        self.retry_button.setVisible(not result.complete and not result.nothing_to_change)
        self._update_buttons()
