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
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from wizard import APP_ID, APP_NAME, ORG_NAME, __version__
from wizard.core.clouds import CLOUDS, CloudId
from wizard.core.profile import Site, SiteProfile
from wizard.ui.pages.base import PageId
from wizard.ui.qt_platform import check_platform_libraries

if TYPE_CHECKING:
    from wizard.sandbox.server import Sandbox

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


def _start_sandbox() -> Sandbox:
    """The demo's sandbox, started before any widget exists.

    Not overlapped with the window's construction on another thread: importing and
    starting it while PySide6 builds its first widgets crashed the process now and
    then (a segmentation fault inside widget constructors), and a demo that starts
    0.3 s later is better than one that sometimes does not start.
    """
    from wizard.sandbox.server import Sandbox

    return Sandbox().start()


def launch_gui(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    hint = check_platform_libraries()
    if hint is not None:
        # Qt would abort the process with a message that often names the wrong file.
        log.error("%s", hint)
        if sys.stderr is not None:
            print(hint, file=sys.stderr)
        return 1
    sandbox = _start_sandbox() if getattr(args, "demo", False) else None
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
        if sandbox is not None:
            stack.callback(sandbox.stop)
            cloud = sandbox.cloud
            state = sandbox.state
            profile = demo_profile(state.display_name, state.default_domain, state.site_public_ip)
        session = WizardSession(cloud, profile)
        if sandbox is not None:
            from wizard.sandbox.practice import Practice

            session.practice = Practice(sandbox.state)
        # The first page only, so the window is there before every page's module is
        # imported; the others follow as soon as the event loop runs.
        window = RelayWizard(session, pages=(WelcomePage,), more_pages_coming=True)
        window.show()
        log.info("Window shown %.0f ms after launch", (time.perf_counter() - started) * 1000)
        QTimer.singleShot(0, window.add_pages)
        profile_arg = getattr(args, "profile", None)
        if profile_arg:
            welcome = window.page_for(PageId.WELCOME)
            assert isinstance(welcome, WelcomePage)
            path = Path(profile_arg).expanduser()
            QTimer.singleShot(0, lambda: welcome.open_profile(path))
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
