"""The wizard window: the registered pages in path order, size memory, safe closing.

Closing (Cancel, Finish, Escape, the window's close button) asks before discarding
unsaved changes to the site profile, stops all running work, and remembers the
window's size.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QWidget, QWizard

from wizard import APP_NAME
from wizard.core.journal import EntryOutcome
from wizard.ui.messages import UserMessage
from wizard.ui.navigation import PAGE_STEPS, ROUTES, PageId, Route, on_path, step_name
from wizard.ui.pages.base import WizardPage
from wizard.ui.session import WizardSession
from wizard.ui.settings import (
    UiSettings,
    fit_to_screen,
    load_ui_settings,
    on_a_screen,
    save_ui_settings,
)
from wizard.ui.style import Tone, app_stylesheet
from wizard.ui.widgets.step_list import StepList, StepState, StepView

__all__ = ["PageId", "RelayWizard", "Route"]

# Small enough for a 1366x768 laptop at 200% scaling; every page scrolls below it.
MIN_SIZE = (560, 380)


@dataclass(frozen=True)
class _Jump:
    origin: PageId  # the page that offered the fix
    target: PageId  # the page that makes it
    direct: bool  # entered with Next; False: reached by going back through the history


class RelayWizard(QWizard):
    # After `add_pages`: pages may appear after the window (see launch.py).
    pagesAdded = Signal()
    # Where one is, the route or a jump changed: the step list redraws.
    stepsChanged = Signal()

    def __init__(
        self,
        session: WizardSession,
        *,
        pages: Iterable[type[WizardPage]] | None = None,
        settings: UiSettings | None = None,
        remember_size: bool = True,
        more_pages_coming: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        """`pages`: the registered pages by default. `more_pages_coming`: the launcher
        shows the window with the first page only and calls `add_pages` right after,
        so the window appears before every page's module is imported."""
        super().__init__(parent)
        if pages is None:
            from wizard.ui.pages.registry import PAGES

            pages = PAGES
        self.session = session
        self._pages_pending = more_pages_coming
        self.setObjectName("relayWizard")
        title = APP_NAME
        if session.cloud.is_sandbox:
            title = self.tr("{app} — sandbox tenant").format(app=APP_NAME)
        self.setWindowTitle(title)
        # One look on every platform: a header with title and subtitle that follows
        # the palette (Aero and Mac styles hide the subtitle or add artwork).
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        # On the window (not only the application) so that every way of opening it,
        # the tests included, shows the same look.
        self.setStyleSheet(app_stylesheet())
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        for page_class in pages:
            self.setPage(int(page_class.page_id), page_class(session))
        if self.pageIds():
            self.setStartId(min(self.pageIds()))
        self._remember_size = remember_size
        self._closing = False
        # A side path chosen on Welcome (Troubleshoot, Audit), or the main path.
        self._route = Route.MAIN
        # Open "Fix in <step>" jumps, the latest last; `_entering` while one moves.
        self._jumps: list[_Jump] = []
        self._entering: PageId | None = None
        self._ever_visited: set[PageId] = set()
        self.confirm_box: QMessageBox | None = None
        # Beside the pages: where one is, what is done, what needs attention.
        self.step_list = StepList(self)
        self.setSideWidget(self.step_list)
        self.step_list.stepChosen.connect(self._step_chosen)
        self.currentIdChanged.connect(self._page_entered)
        self.stepsChanged.connect(self._refresh_steps)
        # A bound method, not a lambda: the connection must not keep the window alive.
        session.journalChanged.connect(self._journal_changed)
        session.tenantStale.connect(self._journal_changed)
        self.setMinimumSize(*MIN_SIZE)
        if settings is None:
            settings = load_ui_settings() if remember_size else UiSettings()
        self._apply_size(settings)

    # Pages ------------------------------------------------------------------------

    def add_pages(
        self, pages: Iterable[type[WizardPage]] | None = None, *, more_coming: bool = False
    ) -> None:
        """Add the pages that are not there yet (all registered ones by default).

        `more_coming`: the launcher adds them a few per turn of the event loop; the
        wizard still waits for the rest (pages_pending), and pagesAdded comes last."""
        if pages is None:
            from wizard.ui.pages.registry import PAGES

            pages = PAGES
        for page_class in pages:
            if int(page_class.page_id) not in self.pageIds():
                self.setPage(int(page_class.page_id), page_class(self.session))
        self.pages_pending = more_coming
        if more_coming:
            return
        self.pagesAdded.emit()
        self._refresh_steps()
        current = self.currentPage()
        if isinstance(current, WizardPage):
            current.refresh_complete()

    def page_for(self, page_id: PageId) -> WizardPage:
        page = self.page(int(page_id))
        if not isinstance(page, WizardPage):
            raise KeyError(f"no page {page_id.name}")
        return page

    def has_page(self, page_id: PageId) -> bool:
        return int(page_id) in self.pageIds()

    def current_page_id(self) -> PageId:
        return PageId(self.currentId())

    def registered(self) -> list[PageId]:
        """The pages there are, in path order, without the steps the method leaves out."""
        have = set(self.pageIds())
        method = self.session.profile.method
        return [p for p in PageId if int(p) in have and on_path(p, method)]

    # Routes and jumps (the Navigator protocol, wizard/ui/navigation.py) ----------------

    @property
    def pages_pending(self) -> bool:
        return self._pages_pending

    @pages_pending.setter
    def pages_pending(self, pending: bool) -> None:
        self._pages_pending = pending

    @property
    def route(self) -> Route:
        return self._route

    def set_route(self, route: Route) -> None:
        """Walk `route` (a side path, e.g. Welcome → Sign in → Troubleshoot) instead of
        the main path; Route.MAIN goes back to the main path."""
        self._route = route
        self._jumps = []
        self.stepsChanged.emit()

    def route_steps(self) -> tuple[PageId, ...]:
        """The registered pages of the current route, in walking order."""
        have = set(self.pageIds())
        method = self.session.profile.method
        return tuple(p for p in ROUTES[self._route] if int(p) in have and on_path(p, method))

    def route_next(self, page_id: PageId) -> int | None:
        if self._entering is not None:
            return int(self._entering)
        jump = self._direct_jump_at(page_id)
        if jump is not None:
            return int(jump.origin)
        if self._route is Route.MAIN:
            return None
        route = ROUTES[self._route]
        if page_id not in route:
            return None
        have = set(self.pageIds())
        for candidate in route[route.index(page_id) + 1 :]:
            if int(candidate) in have and on_path(candidate, self.session.profile.method):
                return int(candidate)
            if self.pages_pending:
                return int(candidate)  # not added yet; Next waits for it
        return -1

    def _direct_jump_at(self, page_id: PageId) -> _Jump | None:
        """The open jump that entered `page_id` directly (its Next and Back go home)."""
        for jump in reversed(self._jumps):
            if jump.direct:
                return jump if jump.target is page_id else None
        return None

    def can_go_to(self, target: PageId) -> bool:
        # A step the chosen method leaves out (the Relay step for a cloud method, the
        # Test step for the local relay) is not offered: its Next would lead nowhere.
        return (
            int(target) in self.pageIds()
            and int(target) != self.currentId()
            and on_path(target, self.session.profile.method)
        )

    def go_to(self, target: PageId) -> bool:
        """Jump to `target` (a "Fix in <step>" link) and keep the way back.

        A page in this run's history is reached by going back to it, and Next walks
        the path forward again to here. Any other page is entered directly: its Next
        and Back both return here. Either way this page's `returned_from_fix` runs when
        the technician comes back with Next.
        """
        if not self.can_go_to(target):
            return False
        origin = self.current_page_id()
        goal = int(target)
        if goal in self.visitedIds():
            while self.currentId() != goal:
                before = self.currentId()
                self.back()
                if self.currentId() == before:
                    return False
            self._jumps = [j for j in self._jumps if j.direct]
            self._jumps.append(_Jump(origin, target, direct=False))
            self._say_the_way_back(origin, target, direct=False)
            self.stepsChanged.emit()
            return True
        self._jumps.append(_Jump(origin, target, direct=True))
        self._entering = target
        try:
            self.next()
        finally:
            self._entering = None
        if self.currentId() != goal:
            self._jumps.pop()
            return False
        self._say_the_way_back(origin, target, direct=True)
        self.stepsChanged.emit()
        return True

    def _say_the_way_back(self, origin: PageId, target: PageId, *, direct: bool) -> None:
        """On the page of the fix: how to get back, so no technician is left guessing."""
        page = self.page(int(target))
        if not isinstance(page, WizardPage):
            return
        name = step_name(origin)
        page.show_message(
            UserMessage(
                Tone.INFO,
                self.tr(
                    "Fix it here, then press Next: it takes you back to {0}, which checks again."
                ).format(name)
                if direct
                else self.tr(
                    "Fix it here, then press Next through the steps back to {0}, which checks "
                    "again."
                ).format(name),
            )
        )

    def walk_to(self, target: PageId) -> bool:
        """Go to a step of the route as the step list offers it: back through the
        history, or forward page by page while each page on the way is complete (an
        incomplete one stops the walk and says why). No jump is recorded."""
        goal = int(target)
        if goal == self.currentId() or goal not in self.pageIds():
            return False
        if goal in self.visitedIds():
            while self.currentId() != goal:
                before = self.currentId()
                self.back()
                if self.currentId() == before:
                    return False
            return True
        for _ in range(len(PageId)):
            page = self.currentPage()
            if self.currentId() == goal:
                return True
            if page is None or not page.isComplete() or page.nextId() == -1:
                return False
            before = self.currentId()
            self.next()
            if self.currentId() == before:
                return False
        return self.currentId() == goal

    def validateCurrentPage(self) -> bool:
        if not super().validateCurrentPage():
            return False
        if self._entering is not None:
            return True
        jump = self._direct_jump_at(self.current_page_id())
        if jump is None:
            return True
        # Next on a page entered by a jump: home again, where the check runs again.
        # QWizard cannot move "forward" to a page in its history, so it is a Back.
        self.back()
        if self.currentId() == int(jump.origin):
            self._came_back(jump)
        return False

    def cleanupPage(self, id: int) -> None:
        # Leaving a jump's target backwards returns to the page that jumped.
        jump = self._direct_jump_at(PageId(id))
        if jump is not None:
            self._jumps.remove(jump)
        super().cleanupPage(id)

    def _page_entered(self, page_id: int) -> None:
        if page_id < 0:
            return
        self._ever_visited.add(PageId(page_id))
        entered = self.page(page_id)
        if isinstance(entered, WizardPage):
            entered.shown()
        for jump in reversed(self._jumps):
            if not jump.direct and int(jump.origin) == page_id:
                # Walked forward again from a step reached by going back.
                self._jumps.remove(jump)
                self._came_back(jump)
                break
        self.stepsChanged.emit()

    def _came_back(self, jump: _Jump) -> None:
        page = self.page(int(jump.origin))
        if isinstance(page, WizardPage):
            page.returned_from_fix(jump.target)

    def ever_visited(self) -> frozenset[PageId]:
        return frozenset(self._ever_visited)

    # The step list ------------------------------------------------------------------

    def step_views(self) -> tuple[StepView, ...]:
        """Each step of the route (and a jump's page off it), with its state."""
        current = self.currentId()
        steps = list(self.route_steps())
        if current >= 0 and PageId(current) not in steps:
            steps.append(PageId(current))
        history = set(self.visitedIds())
        following = -1
        page_now = self.currentPage()
        if page_now is not None and current >= 0:
            following = page_now.nextId()
        journal = self.session.journal
        views = []
        for page_id in steps:
            step = PAGE_STEPS.get(page_id)
            recorded = journal.step_outcome(step) if step is not None else None
            if int(page_id) == current:
                state = StepState.CURRENT
            elif recorded in (EntryOutcome.FAILED, EntryOutcome.ATTENTION) or (
                self.session.tenant_stale and page_id in (PageId.TENANT, PageId.PLAN)
            ):
                # A failure, or tenant state a later test or probe contradicted.
                state = StepState.ATTENTION
            elif int(page_id) in history or recorded is EntryOutcome.OK:
                state = StepState.DONE
            else:
                state = StepState.TODO
            reachable = int(page_id) == current or (
                int(page_id) in history
                or page_id in self._ever_visited
                or int(page_id) == following
            )
            views.append(StepView(page_id, step_name(page_id), state, reachable))
        return tuple(views)

    def _journal_changed(self, _journal: object) -> None:
        self._refresh_steps()

    def _refresh_steps(self) -> None:
        self.step_list.set_steps(self.step_views())

    def _step_chosen(self, page_id: object) -> None:
        if isinstance(page_id, PageId):
            self.walk_to(page_id)
        self._refresh_steps()

    # Size ---------------------------------------------------------------------------

    def _apply_size(self, settings: UiSettings) -> None:
        size = QSize(settings.width, settings.height)
        screen = self.screen()
        if screen is not None:
            size = fit_to_screen(size, screen.availableGeometry().size())
        self.resize(size.expandedTo(QSize(*MIN_SIZE)))
        where = on_a_screen(settings.position)
        if where is not None:
            self.move(where)
        if settings.maximized:
            self.setWindowState(self.windowState() | Qt.WindowState.WindowMaximized)

    def current_settings(self) -> UiSettings:
        maximized = self.isMaximized()
        size = self.normalGeometry().size() if maximized else self.size()
        # A maximized window's place says nothing about where its normal one goes.
        place = None if maximized else (self.pos().x(), self.pos().y())
        return UiSettings(size.width(), size.height(), maximized, place)

    # Closing -----------------------------------------------------------------------------

    def done(self, result: int) -> None:
        if self._closing:
            return
        if self.confirm_box is not None:
            return
        if self.session.has_unsaved_changes:
            self._ask_before_discarding(result)
            return
        self._close_now(result)

    def _close_now(self, result: int) -> None:
        self._closing = True
        if self._remember_size:
            save_ui_settings(self.current_settings())
        self.session.tasks.shutdown()
        super().done(result)

    def _ask_before_discarding(self, result: int) -> None:
        box = QMessageBox(self)
        box.setObjectName("discardChanges")
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle(self.tr("Unsaved changes"))
        box.setText(self.tr("Close without saving the site profile?"))
        box.setInformativeText(self.tr("The changes to this site are lost if you close now."))
        discard = box.addButton(
            self.tr("Close without saving"), QMessageBox.ButtonRole.DestructiveRole
        )
        keep = box.addButton(self.tr("Keep working"), QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        self.confirm_box = box

        def answered(_code: int) -> None:
            self.confirm_box = None
            box.deleteLater()
            if box.clickedButton() is discard:
                self._close_now(result)

        box.finished.connect(answered)
        box.open()
