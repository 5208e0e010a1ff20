"""Garbage is collected on the UI thread, by the timer, never by a worker thread."""

from __future__ import annotations

import gc
import weakref

from pytestqt.qtbot import QtBot

from wizard.ui.gc_guard import UiThreadGarbageCollector


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cycle collector frees it


def test_cycles_are_freed_by_the_ui_thread_timer(qtbot: QtBot) -> None:
    collector = UiThreadGarbageCollector(interval_ms=20)
    try:
        assert not gc.isenabled()
        node = _Node()
        gone = weakref.ref(node)
        del node
        # Enough allocations to cross the youngest generation's threshold.
        junk = [_Node() for _ in range(collector.thresholds[0] + 10)]
        del junk
        assert gone() is not None  # automatic collection is off
        qtbot.waitUntil(lambda: gone() is None, timeout=3000)
    finally:
        collector.timer.stop()
        collector.deleteLater()
