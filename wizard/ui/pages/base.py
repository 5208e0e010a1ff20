"""What every wizard page has: the session, a status area, and "why Next is off".

A page is a `WizardPage` subclass with a `page_id` and a `build()` that fills
`self.body`; it says what is still missing in `incomplete_reason()` (Next stays off
and the reason is shown under the page) and calls `self.refresh_complete()` when
that may have changed. Blocking work goes through `self.run_task(...)`, errors
through `self.show_error(...)`. Register the page in wizard/ui/pages/registry.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, TypeVar

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from wizard.core.steps import WizardStep
from wizard.ui.messages import UserMessage, report, report_error
from wizard.ui.navigation import (
    PATH,
    SIDE_PAGES,
    Navigator,
    PageId,
    next_registered,
    page_for_step,
)
from wizard.ui.session import WizardSession
from wizard.ui.style import Tone
from wizard.ui.tasks import CancelToken, Task, TaskCancelled
from wizard.ui.widgets.labels import HintLabel, StatusLine
from wizard.ui.widgets.status_area import StatusArea

if TYPE_CHECKING:
    from wizard.services.signin import SignedIn

T = TypeVar("T")

# Re-exported: pages and tests name the steps through this module too.
__all__ = ["PATH", "SIDE_PAGES", "PageId", "SandboxBanner", "WizardPage", "next_registered"]


class SandboxBanner(QFrame):
    """Shown on every page while the wizard talks to the built-in sandbox tenant."""

    def __init__(self, session: WizardSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        line = StatusLine(
            Tone.INFO,
            self.tr("Sandbox tenant"),
            self.tr(
                # One line at 200% too: it is on every page.
                "nothing leaves this computer; the tenant, its mail and DNS are simulated here."
            ),
            self,
        )
        layout.addWidget(line)
        self.setAccessibleName(line.plain_text())
        self.practice_button: QPushButton | None = None
        self._session = session
        # Which faults are planted now, so a screenshot or a class sees the exercise.
        self.faults_line = StatusLine(Tone.WARNING, self.tr("Practice faults"), "", self)
        self.faults_line.hide()
        layout.addWidget(self.faults_line)
        if session.practice is not None:
            row = QHBoxLayout()
            row.addWidget(
                HintLabel(
                    self.tr("Practise troubleshooting: break the demo tenant on purpose."),
                    self,
                ),
                1,
            )
            self.practice_button = QPushButton(self.tr("Practise a fault…"), self)
            # Not a default button: in a QWizard (a dialog) a focused push button would
            # take Enter, and Enter is the page's Next.
            self.practice_button.setAutoDefault(False)
            self.practice_button.clicked.connect(lambda: self._practise(session))
            row.addWidget(self.practice_button)
            layout.addLayout(row)
        session.cloudChanged.connect(lambda cloud: self.setVisible(cloud.is_sandbox))
        self.setVisible(session.cloud.is_sandbox)
        self.show_faults()

    def show_faults(self) -> None:
        """Name the faults planted now (they change only in the practice dialog)."""
        practice = self._session.practice
        if practice is None:
            return
        active = [info.title for info in practice.faults if practice.is_on(info.fault)]
        self.faults_line.set_status(
            Tone.WARNING, self.tr("Practice faults"), "; ".join(active) + "."
        )
        self.faults_line.setVisible(bool(active))

    def showEvent(self, event: QShowEvent) -> None:
        # Each page has its own banner: the one shown now reads the tenant's state.
        self.show_faults()
        super().showEvent(event)

    def _practise(self, session: WizardSession) -> None:
        from wizard.ui.practice_dialog import PracticeDialog

        assert session.practice is not None
        PracticeDialog(session.practice, self.window()).exec()
        self.show_faults()


class WizardPage(QWizardPage):
    page_id: ClassVar[PageId]
    # Pages that manage their own scrolling (e.g. two independently scrolling
    # columns) set this to False and lay out `self.body` themselves.
    scrolls: ClassVar[bool] = True

    def __init__(self, session: WizardSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(8)
        self.banner = SandboxBanner(session, self)
        root.addWidget(self.banner)
        self.body = QWidget()
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setContentsMargins(0, 0, 4, 0)
        self.body_layout.setSpacing(12)
        if self.scrolls:
            self.scroll_area: QScrollArea | None = QScrollArea(self)
            self.scroll_area.setWidgetResizable(True)
            self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
            self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
            self.scroll_area.setWidget(self.body)
            root.addWidget(self.scroll_area, 1)
        else:
            self.scroll_area = None
            root.addWidget(self.body, 1)
        # Below the scrolling body, always in view: a page's main action if it has one.
        self.footer_layout = QVBoxLayout()
        self.footer_layout.setSpacing(6)
        root.addLayout(self.footer_layout)
        self.status = StatusArea(self)
        root.addWidget(self.status)
        self.why_not = StatusLine(Tone.INFO, self.tr("To continue"), "", self)
        self.why_not.hide()
        root.addWidget(self.why_not)
        self.build()
        self.completeChanged.connect(self._show_why_not)
        self._show_why_not()

    # For subclasses ------------------------------------------------------------

    def build(self) -> None:
        """Create the page's widgets in `self.body_layout`."""
        raise NotImplementedError

    def incomplete_reason(self) -> str | None:
        """What the user still has to do before Next, in plain words; None when done."""
        return None

    def refresh_complete(self) -> None:
        self.completeChanged.emit()

    def run_task(
        self,
        work: Callable[[CancelToken], T],
        on_done: Callable[[T | None, BaseException | None], None],
        *,
        name: str,
        label: str,
        cancellable: bool = True,
        on_progress: Callable[[object], None] | None = None,
    ) -> Task[T]:
        """Run blocking work off the UI thread; progress shows after half a second."""
        task = self.session.tasks.run(work, on_done, name=name, on_progress=on_progress)
        self.status.track(task, label, cancellable=cancellable)
        return task

    def sign_in_as_mailbox(self, mailbox: str) -> None:
        """Browser sign-in as a device's own mailbox (its XOAUTH2 token), off the UI thread.

        The page's `mailbox_signed_in(account)` runs afterwards on success; failures are
        shown here (a cancel silently).
        """
        sign_in = self.session.sign_in

        def work(token: CancelToken) -> SignedIn:
            return sign_in.sign_in_browser(mailbox=mailbox, login_hint=mailbox, cancel=token)

        self.run_task(
            work,
            self._mailbox_sign_in_done,
            name="mailbox sign-in",
            label=self.tr("Waiting for the sign-in in your browser…"),
        )

    def _mailbox_sign_in_done(self, account: SignedIn | None, error: BaseException | None) -> None:
        if error is not None or account is None:
            if not isinstance(error, TaskCancelled):
                self.show_error(
                    error or RuntimeError("no account"), doing=self.tr("signing in as the mailbox")
                )
            self.mailbox_signed_in(None)
            return
        self.mailbox_signed_in(account)

    def mailbox_signed_in(self, account: SignedIn | None) -> None:
        """Pages that offer a mailbox sign-in react here (None: it did not happen)."""

    def show_error(self, error: BaseException, *, doing: str) -> UserMessage:
        return report_error(self.status, error, doing=doing)

    def show_message(self, message: UserMessage) -> None:
        report(self.status, message)

    # QWizardPage ------------------------------------------------------------------

    def isComplete(self) -> bool:
        return self._pending_reason() is None and self.incomplete_reason() is None

    def nextId(self) -> int:
        nav = self.navigator()
        wizard = self.wizard()
        if wizard is None:
            return -1
        if nav is not None:
            # A side path chosen on Welcome, or a "Fix in <step>" jump.
            chosen = nav.route_next(self.page_id)
            if chosen is not None:
                return chosen
        following = next_registered(self.page_id, wizard.pageIds(), self.session.profile.method)
        if following == -1 and self.page_id in PATH and nav is not None and nav.pages_pending:
            # The next pages are still being added (launch.py): this is not the last
            # page, so Next (disabled for the moment) rather than Finish.
            return int(PATH[min(PATH.index(self.page_id) + 1, len(PATH) - 1)])
        return following

    def _pending_reason(self) -> str | None:
        nav = self.navigator()
        if nav is not None and nav.pages_pending:
            return self.tr("Getting the next steps ready…")
        return None

    # Moving ---------------------------------------------------------------------------

    def navigator(self) -> Navigator | None:
        """The wizard, as far as moving goes (None before the page is added)."""
        wizard = self.wizard()
        return wizard if isinstance(wizard, Navigator) else None

    def can_go_to_step(self, step: WizardStep | None) -> bool:
        """Whether "Fix in <step>" can be offered: the step has a page one can reach."""
        target = page_for_step(step)
        nav = self.navigator()
        return target is not None and nav is not None and nav.can_go_to(target)

    def go_to_step(self, step: WizardStep | None, *, come_back: bool = True) -> bool:
        """Go to the page that fixes `step`; coming back re-runs `returned_from_fix`.
        `come_back=False`: just go there along the path (nothing to fix, e.g. "Go to
        Sheets" after a passed test)."""
        target = page_for_step(step)
        nav = self.navigator()
        if target is None or nav is None:
            return False
        return nav.go_to(target) if come_back else nav.walk_to(target)

    def shown(self) -> None:
        """The page became the current one, forwards (after `initializePage`) or by
        going back to it; pages showing what may have changed since refresh here."""

    def returned_from_fix(self, fixed_at: PageId) -> None:
        """The technician went to `fixed_at` from here and came back with Next: pages
        that sent them (a failed test, a finding) re-run that check here."""

    def cleanupPage(self) -> None:
        # Going Back keeps what was entered: the values live in the session, and
        # QWizard's default would reset registered fields.
        pass

    def _show_why_not(self) -> None:
        reason = self._pending_reason() or self.incomplete_reason()
        if reason:
            self.why_not.set_status(Tone.INFO, self.tr("To continue"), reason)
        self.why_not.setVisible(bool(reason))
