"""Start the GUI: the application, the crash dialog, the session, the window.

The window must appear quickly, so only what the first page needs is imported
before it is shown.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from wizard import APP_ID, APP_NAME, ORG_NAME, __version__
from wizard.core.clouds import CLOUDS, CloudId
from wizard.core.profile import Site, SiteProfile
from wizard.ui.pages.base import PageId
from wizard.ui.qt_platform import check_platform_libraries

if TYPE_CHECKING:
    from wizard.core.clouds import Cloud
    from wizard.ui.pages.base import WizardPage
    from wizard.ui.practice_dialog import PracticeControls
    from wizard.ui.wizard import RelayWizard

log = logging.getLogger(__name__)


def create_application() -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    # Qt 6 scales by the screen's exact factor (150%, 175%...) when this is set;
    # it is the default, stated here because the layouts are tested at 100 and 200%.
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    app = QApplication(sys.argv[:1])
    app.setApplicationName(APP_ID)
    app.setApplicationDisplayName(APP_NAME)
    app.setOrganizationName(ORG_NAME)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)
    from wizard.ui.style import app_stylesheet

    app.setStyleSheet(app_stylesheet())
    return app


def _guard_garbage_collection(app: QApplication) -> None:
    from wizard.ui.gc_guard import install

    install(app)


def demo_profile(name: str, domain: str, public_ip: str | None) -> SiteProfile:
    """The demo starts with the sandbox tenant's office filled in; devices are added."""
    return SiteProfile(site=Site(name=name, domain=domain, public_ip=public_ip))


@dataclass(frozen=True)
class DemoTenant:
    """The sandbox tenant behind --demo, as the window needs it.

    The launcher (`wizard.app.start_demo`) starts the sandbox and builds this: the UI
    never imports the sandbox. It is started before any widget exists: starting it
    while PySide6 built its first widgets on another thread crashed the process now
    and then (a segmentation fault inside widget constructors), and a demo that
    starts 0.3 s later is better than one that sometimes does not start.
    """

    cloud: Cloud
    profile: SiteProfile
    practice: PracticeControls
    stop: Callable[[], None]


class _FirstPaint(QObject):
    """Logs when the window is first painted (on screen, not just asked to show;
    tests/bench/bench_startup.py waits for this line), then calls `then`."""

    def __init__(self, started: float, then: Callable[[], None]) -> None:
        super().__init__()
        self._started = started
        self._then = then

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            elapsed = (time.perf_counter() - self._started) * 1000
            log.info("Window painted %.0f ms after launch", elapsed)
            # After this paint has been drawn, not in the middle of it.
            QTimer.singleShot(0, self, self._then)
        return False


def _add_pages_in_turns(window: RelayWizard) -> None:
    """The other pages, after the first paint: their modules one per turn of the
    event loop, then the pages one per turn, so the window that is already on
    screen keeps painting and answering while they are built (together they took
    0.3-0.6 s, and ran before the first paint)."""
    if not window.pages_pending or getattr(window, "_adding_pages", False):
        return
    window._adding_pages = True  # type: ignore[attr-defined]
    import importlib
    import pkgutil

    import wizard.ui.pages as package

    # Listed without importing them; empty where the bundle cannot list (registry then
    # imports them all in one turn).
    modules = [f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__)]
    modules = [m for m in modules if not m.endswith(".registry")]
    pending: list[type[WizardPage]] = []

    def step() -> None:
        if modules:
            importlib.import_module(modules.pop(0))
        elif not pending:
            from wizard.ui.pages.registry import PAGES

            pending.extend(p for p in PAGES if int(p.page_id) not in window.pageIds())
            if not pending:
                window.add_pages([])
                return
        else:
            window.add_pages([pending.pop(0)], more_coming=bool(pending))
            if not pending:
                return
        QTimer.singleShot(0, window, step)

    QTimer.singleShot(0, window, step)


def launch_gui(args: argparse.Namespace, start_demo: Callable[[], DemoTenant] | None = None) -> int:
    """The window; with `--demo`, on the tenant `start_demo` starts (wizard.app wires
    the sandbox in)."""
    started = time.perf_counter()
    hint = check_platform_libraries()
    if hint is not None:
        # Qt would abort the process with a message that often names the wrong file.
        log.error("%s", hint)
        if sys.stderr is not None:
            print(hint, file=sys.stderr)
        return 1
    demo: DemoTenant | None = None
    if getattr(args, "demo", False):
        if start_demo is None:
            raise ValueError("--demo needs the launcher's sandbox (wizard.app.start_demo)")
        demo = start_demo()
    app = create_application()
    _guard_garbage_collection(app)
    from wizard.ui.crash import install_crash_reporter, uninstall_crash_reporter
    from wizard.ui.pages.welcome import WelcomePage
    from wizard.ui.session import WizardSession
    from wizard.ui.tasks import work_still_running
    from wizard.ui.wizard import RelayWizard

    install_crash_reporter(app)
    with contextlib.ExitStack() as stack:
        cloud = CLOUDS[CloudId.WORLDWIDE]
        profile: SiteProfile | None = None
        if demo is not None:
            stack.callback(demo.stop)
            cloud = demo.cloud
            profile = demo.profile
        session = WizardSession(cloud, profile)
        if demo is not None:
            session.practice = demo.practice
        # The first page only, so the window is there before every page's module is
        # imported; the others follow as soon as the event loop runs.
        window = RelayWizard(session, pages=(WelcomePage,), more_pages_coming=True)
        painted = _FirstPaint(started, lambda: _add_pages_in_turns(window))
        window.installEventFilter(painted)
        window.show()
        log.info("Window shown %.0f ms after launch", (time.perf_counter() - started) * 1000)
        # Should no paint ever come (a window kept off screen), the pages follow anyway.
        QTimer.singleShot(1000, window, lambda: _add_pages_in_turns(window))
        profile_arg = getattr(args, "profile", None)
        if profile_arg:
            welcome = window.page_for(PageId.WELCOME)
            assert isinstance(welcome, WelcomePage)
            path = Path(profile_arg).expanduser()
            # Opening it walks on to later pages: once they are all there.
            window.pagesAdded.connect(lambda: welcome.open_profile(path))
        try:
            code = app.exec()
        finally:
            uninstall_crash_reporter()
            session.tasks.shutdown()
    if work_still_running():
        # A worker that ignored its cancel token would make Qt's thread pool wait for
        # it at interpreter exit; the window is closed, so leave without waiting.
        log.info("Leaving without waiting for abandoned work")
        logging.shutdown()
        os._exit(code)
    return code
