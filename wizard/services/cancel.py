"""Cooperative cancellation for services, without knowing who asks to stop.

Services accept any object with a `cancelled` property and a `wait(seconds)` method:
the UI's CancelToken has both, and `CancelFlag` gives scripts and tests the same.
"""

from __future__ import annotations

import threading
from typing import Protocol

from wizard.core.errors import WizardError
from wizard.core.i18n import tr


class Cancellation(Protocol):
    @property
    def cancelled(self) -> bool: ...

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True (early) once cancelled."""
        ...


class CancelFlag:
    """A `Cancellation` over a threading.Event."""

    def __init__(self) -> None:
        self._event = threading.Event()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        self._event.set()

    def wait(self, seconds: float) -> bool:
        return self._event.wait(seconds)


class NeverCancelled:
    """For callers that cannot cancel: waits really sleep."""

    @property
    def cancelled(self) -> bool:
        return False

    def wait(self, seconds: float) -> bool:
        threading.Event().wait(seconds)
        return False


class Cancelled(WizardError):
    """The user stopped the work before it finished."""

    def __init__(self) -> None:
        super().__init__(tr("Stopped before it finished."))


def check(cancel: Cancellation | None) -> None:
    if cancel is not None and cancel.cancelled:
        raise Cancelled()
