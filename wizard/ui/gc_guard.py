"""Cyclic garbage collection on the UI thread only.

Python runs its cycle collector in whichever thread happens to allocate when a
threshold is crossed: a worker thread (a DNS check, the sandbox's servers) can then
collect a closed window's widgets, and a QWidget destroyed outside the UI thread
corrupts Qt's state; the process crashes later, somewhere unrelated. So automatic
collection is switched off and a timer on the UI thread collects instead, with the
same thresholds Python would use.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500


class UiThreadGarbageCollector(QObject):
    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.collect)
        self.timer.start(interval_ms)

    def collect(self) -> None:
        counts = gc.get_count()
        # The oldest generation over its threshold (collecting it collects the
        # younger ones too), as Python's own collector decides.
        for generation in (2, 1, 0):
            if counts[generation] > self.thresholds[generation]:
                gc.collect(generation)
                return


_installed: UiThreadGarbageCollector | None = None


def install(parent: QObject) -> UiThreadGarbageCollector:
    """Once per process, on the UI thread, parented to the application."""
    global _installed
    if _installed is None:
        _installed = UiThreadGarbageCollector(parent)
    return _installed
