"""launch_gui: the window appears, opens --profile, runs --demo on the sandbox, and
closes cleanly; the crash dialog is there in the GUI only."""

from __future__ import annotations

import argparse
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from wizard import app
from wizard.core.errors import ProfileError
from wizard.core.methods import Method
from wizard.services import crash_hook, paths
from wizard.services.profile_store import save_profile
from wizard.ui import tasks
from wizard.ui.crash import CrashDialog, CrashReporter
from wizard.ui.launch import launch_gui
from wizard.ui.messages import report_error
from wizard.ui.pages.base import PageId
from wizard.ui.selftest import sample_profile
from wizard.ui.widgets.status_area import StatusArea
from wizard.ui.wizard import RelayWizard


def _run(args: argparse.Namespace, check: Callable[[RelayWizard], bool]) -> tuple[int, RelayWizard]:
    """Run launch_gui; `check(window)` is polled until it returns True, then the
    window is closed. Gives up (exit code 99) after 20 s instead of hanging."""
    assert not tasks.work_still_running()
    seen: list[RelayWizard] = []
    deadline = time.monotonic() + 20

    def poll() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, RelayWizard)]
        window = next((w for w in windows if w.isVisible()), None)
        if window is not None and check(window):
            seen.append(window)
            window.done(0)
            return
        if time.monotonic() > deadline:
            QApplication.exit(99)
            return
        QTimer.singleShot(20, poll)

    QTimer.singleShot(0, poll)
    code = launch_gui(args, start_demo=app.start_demo)
    assert seen, "the window never reached the expected state"
    return code, seen[0]


def _args(**values: object) -> argparse.Namespace:
    return argparse.Namespace(**{"demo": False, "profile": None, "verbose": False, **values})


def test_the_window_opens_with_every_page_and_closes(qtbot: QtBot) -> None:
    code, window = _run(_args(), lambda w: not w.pages_pending)
    assert code == 0
    assert window.registered()[0] is PageId.WELCOME
    assert {PageId.SITE, PageId.METHOD} <= set(window.registered())
    assert not window.session.cloud.is_sandbox
    assert crash_hook._crash_reporter is None  # removed again when the GUI ends


def test_profile_argument_opens_the_profile(qtbot: QtBot, tmp_path: Path) -> None:
    # SMTP AUTH: the launched window asks no DNS for a relay host (no internet here).
    path = save_profile(
        replace(sample_profile(), method=Method.SMTP_AUTH), tmp_path / "contoso.json"
    )
    code, window = _run(_args(profile=str(path)), lambda w: w.session.profile_path == path)
    assert code == 0
    assert window.session.profile.site.name == "Contoso Dental – Main office"


def test_demo_runs_on_the_sandbox_and_stops_it(qtbot: QtBot) -> None:
    code, window = _run(_args(demo=True), lambda w: not w.pages_pending)
    assert code == 0
    cloud = window.session.cloud
    assert cloud.is_sandbox and "sandbox" in window.windowTitle()
    assert window.session.profile.site.domain == "contoso.example"
    # Stopped on exit: its identity provider no longer accepts connections.
    host = urlsplit(cloud.authority_host)
    assert host.hostname == "127.0.0.1" and host.port
    with pytest.raises(OSError):
        socket.create_connection((host.hostname, host.port), timeout=1).close()


def test_a_crash_on_a_worker_thread_shows_the_dialog_on_the_ui_thread(
    qtbot: QtBot, expected_warnings: list[object]
) -> None:
    reporter = CrashReporter()
    crash_hook.set_crash_reporter(reporter)
    try:

        def boom() -> None:
            # What the installed threading.excepthook does on that thread.
            try:
                raise ValueError("password=hunter2 went wrong")
            except ValueError as exc:
                crash_hook.excepthook(type(exc), exc, exc.__traceback__)

        thread = threading.Thread(target=boom)
        thread.start()
        thread.join()
        qtbot.waitUntil(lambda: reporter.dialog is not None, timeout=3000)
        dialog = reporter.dialog
        assert isinstance(dialog, CrashDialog)
        assert dialog.thread() is QApplication.instance().thread()  # type: ignore[union-attr]
        details = dialog.details.toPlainText()
        assert "ValueError" in details and "hunter2" not in details  # redacted
        labels = " ".join(label.text() for label in dialog.findChildren(QLabel))
        assert f"Log file: {paths.log_file()}" in labels
        # A second crash while it is open goes into the same dialog.
        reporter("Traceback: second\nKeyError: 'x'")
        qtbot.waitUntil(lambda: "KeyError" in dialog.details.toPlainText(), timeout=3000)
        dialog.keep_button.click()
        qtbot.waitUntil(lambda: reporter.dialog is None, timeout=3000)
    finally:
        crash_hook.set_crash_reporter(None)
    assert any("Unhandled exception" in str(getattr(r, "msg", "")) for r in expected_warnings)


def test_the_message_bridge_logs_and_shows_errors(
    qtbot: QtBot, expected_warnings: list[object]
) -> None:
    area = StatusArea()
    qtbot.addWidget(area)
    expected = report_error(
        area,
        ProfileError("The file x.json is empty.", next_step="Open another profile."),
        doing="opening the profile",
    )
    assert area.message is expected and expected.word == "Problem"
    assert not expected_warnings  # an expected problem is not an app warning
    try:
        raise KeyError("token=abc123")
    except KeyError as exc:
        bug = exc
    shown = report_error(area, bug, doing="checking DNS")
    assert shown.what == "Something unexpected went wrong while checking DNS."
    assert "fault in Relay Wizard" in shown.why
    assert str(paths.log_file()) in shown.next_step
    assert "abc123" not in shown.detail
    assert len(expected_warnings) == 1  # logged at error level, with the traceback
