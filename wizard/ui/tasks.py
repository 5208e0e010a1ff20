"""The one way to run blocking work: off the UI thread, with the result back on it.

    task = runner.run(load_it, self._loaded, name="open profile")

`load_it(token)` runs on a worker thread of a QThreadPool; `self._loaded(result, error)`
runs later on the UI thread, where widgets may be touched. Exactly one of the two is
meaningful: `error` is None on success; `TaskCancelled` when the work was cancelled.

Cancelling is cooperative: the callable receives a `CancelToken` and checks it
(`token.raise_if_cancelled()`, or sleeps with `token.wait(seconds)`, which wakes at
once on cancel). Network services pass their own timeouts, so work always ends.

Closing the wizard calls `TaskRunner.shutdown()`: it cancels everything, waits a
short while, and abandons what is still running: those callbacks never run, so a
late result cannot touch a closed window. `work_still_running()` tells the launcher
whether such a stuck worker remains when the app exits (see launch.py).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QObject, QThreadPool, Signal

log = logging.getLogger(__name__)

T = TypeVar("T")

# Enough for a DNS check, a sign-in and a test message at once; more would only queue.
MAX_WORKERS = 4
# How long closing the wizard waits for cancelled work before abandoning it.
SHUTDOWN_WAIT_SECONDS = 2.0


class TaskCancelled(Exception):
    """The work was cancelled before it finished (delivered as the task's error)."""

    def __init__(self) -> None:
        super().__init__("cancelled")


class CancelToken:
    """Handed to the work: tells it to stop, and carries its progress reports."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._report: Callable[[object], None] | None = None

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        self._event.set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise TaskCancelled()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; returns True (early) if the work was cancelled."""
        return self._event.wait(seconds)

    def report(self, value: object) -> None:
        """Send a partial result to the UI thread (a DNS check done, a transcript line)."""
        if self._report is not None and not self._event.is_set():
            self._report(value)


class _Relay(QObject):
    """Carries every task's signals from the workers to the UI thread.

    One instance for the process, made on the UI thread and never deleted: a worker
    must never hold the last reference to a Qt object (deleting a QObject from a
    thread other than its own corrupts Qt's state), so the workers hold only this
    immortal relay and plain Python data.
    """

    finished = Signal(int, object, object, object)  # key, result, error, work box
    progress = Signal(int, object)

    def __init__(self) -> None:
        super().__init__()
        self.tasks: weakref.WeakValueDictionary[int, Task[Any]] = weakref.WeakValueDictionary()
        # Queued to this object's (the UI) thread when emitted from a worker.
        self.finished.connect(self._finished)
        self.progress.connect(self._progress)

    def _finished(self, key: int, result: object, error: object, box: list[object]) -> None:
        # The work callable (and whatever widgets it captured) is released here, on
        # the UI thread, rather than by the worker when its job ends.
        box.clear()
        task = self.tasks.pop(key, None)
        if task is not None:
            task._deliver(result, error)

    def _progress(self, key: int, value: object) -> None:
        task = self.tasks.get(key)
        if task is not None:
            task._deliver_progress(value)


_the_relay: _Relay | None = None


def _relay() -> _Relay:
    """The process's relay; first asked for by a TaskRunner, on the UI thread."""
    global _the_relay
    if _the_relay is None:
        _the_relay = _Relay()
    return _the_relay


class Task(QObject, Generic[T]):
    """A running piece of work, seen from the UI thread."""

    finished = Signal(object, object)  # (result, error), on the UI thread
    progress = Signal(object)

    def __init__(self, name: str, token: CancelToken, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.token = token
        self.started = time.monotonic()
        self._running = True
        self._abandoned = False
        self._done = threading.Event()  # set by the worker when the callable returned

    @property
    def running(self) -> bool:
        return self._running

    def cancel(self) -> None:
        self.token.cancel()

    def _deliver(self, result: object, error: object) -> None:
        if self._abandoned:
            return
        self._running = False
        self.finished.emit(result, error)

    def _deliver_progress(self, value: object) -> None:
        if not self._abandoned and self._running:
            self.progress.emit(value)

    def _abandon(self) -> None:
        self._abandoned = True
        self._running = False


_pool: QThreadPool | None = None
_pool_lock = threading.Lock()
_in_flight = 0
_in_flight_lock = threading.Lock()
_ids = itertools.count(1)


def _thread_pool() -> QThreadPool:
    """One private pool for the process.

    Not Qt's global pool (QCoreApplication's destructor waits for that one without a
    time limit) and never destroyed before exit, so no destructor can block the UI
    thread on a worker that is still running.
    """
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = QThreadPool()
            _pool.setObjectName("relay-wizard-tasks")
            _pool.setMaxThreadCount(MAX_WORKERS)
        return _pool


def work_still_running() -> bool:
    """True while any task's callable has not returned (e.g. one that was abandoned)."""
    with _in_flight_lock:
        return _in_flight > 0


def _count(delta: int) -> None:
    global _in_flight
    with _in_flight_lock:
        _in_flight += delta


class TaskRunner(QObject):
    """Starts tasks, keeps them referenced until their result arrives, stops them all."""

    busyChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks: dict[int, Task[Any]] = {}
        self._closed = False

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    def running(self) -> list[Task[Any]]:
        return list(self._tasks.values())

    def run(
        self,
        work: Callable[[CancelToken], T],
        on_done: Callable[[T | None, BaseException | None], None],
        *,
        name: str,
        on_progress: Callable[[object], None] | None = None,
    ) -> Task[T]:
        """Run `work(token)` on a worker; call `on_done(result, error)` on this thread.

        Pass bound methods of widgets as callbacks: Qt then drops the call if the
        widget was deleted meanwhile.
        """
        if self._closed:
            raise RuntimeError("the task runner was shut down")
        token = CancelToken()
        # No Qt parent: the runner's dict and the caller hold it, all on this thread.
        task: Task[T] = Task(name, token)
        key = next(_ids)
        self._tasks[key] = task
        # Connected before the worker starts, so no result can arrive unobserved.
        task.finished.connect(lambda _r, _e: self._forget(key))
        task.finished.connect(on_done)
        if on_progress is not None:
            task.progress.connect(on_progress)
        relay = _relay()
        relay.tasks[key] = task
        token._report = lambda value: relay.progress.emit(key, value)
        done = task._done
        box: list[object] = [work]

        def job() -> None:
            result: object = None
            error: BaseException | None = None
            call: object = None
            try:
                token.raise_if_cancelled()
                call = box[0]
                assert callable(call)
                result = call(token)
                if token.cancelled:
                    result, error = None, TaskCancelled()
            except BaseException as exc:  # noqa: BLE001 - every failure goes to on_done
                result, error = None, exc
            finally:
                # A traceback keeps this frame alive: drop the callable from it too.
                call = None
                done.set()
                _count(-1)
            try:
                relay.finished.emit(key, result, error, box)
            except RuntimeError:
                # Only at interpreter shutdown, when Qt's objects are already gone.
                pass

        _count(+1)
        log.debug("task %s started", name)
        _thread_pool().start(job)
        if len(self._tasks) == 1:
            self.busyChanged.emit(True)
        return task

    def _forget(self, key: int) -> None:
        task = self._tasks.pop(key, None)
        if task is not None:
            log.debug("task %s finished after %.2f s", task.name, time.monotonic() - task.started)
            if not self._tasks:
                self.busyChanged.emit(False)

    def cancel_all(self) -> None:
        for task in self._tasks.values():
            task.cancel()

    def shutdown(self, wait_seconds: float = SHUTDOWN_WAIT_SECONDS) -> bool:
        """Cancel every task and wait for them a little; True if all of them stopped.

        Whatever still runs afterwards is abandoned: its callback never runs. Called
        when the wizard closes, so it must neither hang nor leave a callback that
        touches a closed window.
        """
        self._closed = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        deadline = time.monotonic() + wait_seconds
        stuck = []
        for task in tasks:
            if not task._done.wait(max(0.0, deadline - time.monotonic())):
                stuck.append(task.name)
        for task in tasks:
            task._abandon()
        self._tasks.clear()
        if tasks:
            self.busyChanged.emit(False)
        if stuck:
            log.info("Abandoned work that did not stop in time: %s", ", ".join(stuck))
        return not stuck
