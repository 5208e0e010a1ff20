"""The wizard window: the registered pages in path order, size memory, safe closing.

Closing (Cancel, Finish, Escape, the window's close button) asks before discarding
unsaved changes to the site profile, stops all running work, and remembers the
window's size.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QWidget, QWizard

from wizard import APP_NAME
from wizard.ui.pages.base import PageId, WizardPage
from wizard.ui.session import WizardSession
from wizard.ui.settings import (
    UiSettings,
    fit_to_screen,
    load_ui_settings,
    on_a_screen,
    save_ui_settings,
)
from wizard.ui.style import app_stylesheet

__all__ = ["PageId", "RelayWizard"]

# Small enough for a 1366x768 laptop at 200% scaling; every page scrolls below it.
MIN_SIZE = (560, 380)


class RelayWizard(QWizard):
    # After `add_pages`: pages may appear after the window (see launch.py).
    pagesAdded = Signal()

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
        self.pages_pending = more_pages_coming
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
        # A side path chosen on Welcome (Troubleshoot, Audit); None is the main path.
        self._route: tuple[PageId, ...] | None = None
        # A "Fix in <step>" jump: (from, to), and the route to restore on coming back.
        self._jump: tuple[PageId, PageId] | None = None
        self._route_before_jump: tuple[PageId, ...] | None = None
        self.confirm_box: QMessageBox | None = None
        self.setMinimumSize(*MIN_SIZE)
        if settings is None:
            settings = load_ui_settings() if remember_size else UiSettings()
        self._apply_size(settings)

    # Pages ------------------------------------------------------------------------

    def add_pages(self, pages: Iterable[type[WizardPage]] | None = None) -> None:
        """Add the pages that are not there yet (all registered ones by default)."""
        if pages is None:
            from wizard.ui.pages.registry import PAGES

            pages = PAGES
        for page_class in pages:
            if int(page_class.page_id) not in self.pageIds():
                self.setPage(int(page_class.page_id), page_class(self.session))
        self.pages_pending = False
        self.pagesAdded.emit()
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
        return [PageId(i) for i in sorted(self.pageIds())]

    # Side paths and jumps -------------------------------------------------------------

    @property
    def route(self) -> tuple[PageId, ...] | None:
        return self._route

    def set_route(self, route: Sequence[PageId] | None) -> None:
        """Walk `route` (a side path, e.g. Welcome → Sign in → Troubleshoot) instead of
        the main path; None goes back to the main path."""
        self._route = tuple(route) if route else None
        self._jump = None
        self._route_before_jump = None

    def route_next(self, page_id: PageId) -> int | None:
        """The page after `page_id` on the side path or jump; None: the main path decides."""
        if self._jump is not None and self._jump[0] is page_id:
            return int(self._jump[1])
        route = self._route
        if route is None or page_id not in route:
            return None
        have = set(self.pageIds())
        for candidate in route[route.index(page_id) + 1 :]:
            if int(candidate) in have:
                return int(candidate)
            if self.pages_pending:
                return int(candidate)  # not added yet; Next waits for it
        return -1

    def jump_to(self, target: PageId) -> bool:
        """Go straight to `target` (a "Fix in <step>" link); Back returns to this page.

        A page already in this run's history is reached by going back to it; any other
        is entered directly, and from there the main path continues.
        """
        goal = int(target)
        if goal not in self.pageIds() or goal == self.currentId():
            return False
        if goal in self.visitedIds():
            while self.currentId() != goal:
                before = self.currentId()
                self.back()
                if self.currentId() == before:
                    return False
            return True
        self._route_before_jump = self._route
        self._jump = (self.current_page_id(), target)
        self._route = None
        self.next()
        if self.currentId() != goal:
            self._route, self._jump = self._route_before_jump, None
            return False
        return True

    def cleanupPage(self, id: int) -> None:
        # Leaving the jump's target backwards returns to the page that jumped: its
        # side path applies again, before QWizard asks it whether it is the last page.
        if self._jump is not None and id == int(self._jump[1]):
            self._route, self._jump = self._route_before_jump, None
            self._route_before_jump = None
        super().cleanupPage(id)

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
