"""ui.tasks: work runs on a worker thread, results come back on the UI thread, and
closing while work runs neither crashes nor hangs."""

from __future__ import annotations

import threading
import time

import pytest
from pytestqt.qtbot import QtBot

from wizard.core.errors import NetworkError
from wizard.ui.tasks import CancelToken, TaskCancelled, TaskRunner


class Outcome:
    def __init__(self) -> None:
        self.calls: list[tuple[object, BaseException | None, threading.Thread]] = []
        self.done = threading.Event()

    def __call__(self, result: object, error: BaseException | None) -> None:
        self.calls.append((result, error, threading.current_thread()))
        self.done.set()


def test_result_arrives_on_the_ui_thread(qtbot: QtBot) -> None:
    runner = TaskRunner()
    outcome = Outcome()
    worker_threads: list[threading.Thread] = []

    def work(token: CancelToken) -> int:
        worker_threads.append(threading.current_thread())
        return 42

    task = runner.run(work, outcome, name="answer")
    with qtbot.waitSignal(task.finished, timeout=5000):
        pass
    assert outcome.calls == [(42, None, threading.main_thread())]
    assert worker_threads and worker_threads[0] is not threading.main_thread()
    assert not runner.busy


def test_errors_are_delivered_not_raised(qtbot: QtBot) -> None:
    runner = TaskRunner()
    outcome = Outcome()

    def work(token: CancelToken) -> None:
        raise NetworkError("The server did not answer.", next_step="Try again.")

    task = runner.run(work, outcome, name="fails")
    with qtbot.waitSignal(task.finished, timeout=5000):
        pass
    (result, error, thread) = outcome.calls[0]
    assert result is None
    assert isinstance(error, NetworkError) and error.what == "The server did not answer."
    assert thread is threading.main_thread()


def test_progress_reports_arrive_in_order(qtbot: QtBot) -> None:
    runner = TaskRunner()
    outcome = Outcome()
    seen: list[object] = []

    def work(token: CancelToken) -> str:
        for line in ("220 ready", "250 ok", "221 bye"):
            token.report(line)
        return "done"

    task = runner.run(work, outcome, name="lines", on_progress=seen.append)
    with qtbot.waitSignal(task.finished, timeout=5000):
        pass
    assert seen == ["220 ready", "250 ok", "221 bye"]
    assert outcome.calls[0][0] == "done"


def test_cancel_wakes_cooperative_work(qtbot: QtBot) -> None:
    runner = TaskRunner()
    outcome = Outcome()
    started = threading.Event()

    def work(token: CancelToken) -> str:
        started.set()
        token.wait(30)  # a long poll that a cancel cuts short
        token.raise_if_cancelled()
        return "finished anyway"

    task = runner.run(work, outcome, name="poll")
    assert started.wait(5)
    begun = time.monotonic()
    task.cancel()
    with qtbot.waitSignal(task.finished, timeout=5000):
        pass
    assert time.monotonic() - begun < 2
    assert isinstance(outcome.calls[0][1], TaskCancelled)


def test_shutdown_stops_cooperative_work_and_drops_its_callback(qtbot: QtBot) -> None:
    runner = TaskRunner()
    outcome = Outcome()
    started = threading.Event()

    def work(token: CancelToken) -> str:
        started.set()
        token.wait(30)
        return "late"

    runner.run(work, outcome, name="poll")
    assert started.wait(5)
    begun = time.monotonic()
    assert runner.shutdown() is True
    assert time.monotonic() - begun < 1.5
    qtbot.wait(50)  # let any queued delivery arrive: it must be dropped
    assert outcome.calls == []
    with pytest.raises(RuntimeError):
        runner.run(work, outcome, name="after shutdown")


def test_shutdown_abandons_work_that_ignores_cancel(qtbot: QtBot) -> None:
    """Work blocked on an Event nobody sets: closing must not wait for it forever."""
    runner = TaskRunner()
    outcome = Outcome()
    release = threading.Event()
    started = threading.Event()
    finished = threading.Event()

    def work(token: CancelToken) -> str:
        started.set()
        release.wait(30)
        finished.set()
        return "too late"

    runner.run(work, outcome, name="stubborn")
    assert started.wait(5)
    begun = time.monotonic()
    assert runner.shutdown(wait_seconds=0.2) is False
    assert time.monotonic() - begun < 1.0
    # The runner is gone (as when the window is deleted); the worker ends later.
    runner.deleteLater()
    qtbot.wait(10)
    release.set()
    assert finished.wait(5)
    qtbot.wait(50)
    assert outcome.calls == []
