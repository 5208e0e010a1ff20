"""A small "Copy" button for any value the user may need elsewhere."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QPushButton, QSizePolicy, QWidget

# How long the button says "Copied" after a click.
_CONFIRM_MS = 1500


class CopyButton(QPushButton):
    """Copies a value to the clipboard; the value is read at click time."""

    def __init__(
        self,
        value: str | Callable[[], str],
        what: str,
        parent: QWidget | None = None,
        *,
        label: str | None = None,
    ) -> None:
        super().__init__(parent)
        self._value = value
        self._what = what
        self._idle_text = label or self.tr("Copy")
        self.setText(self._idle_text)
        self.setAccessibleName(self.tr("Copy {what}").format(what=what))
        self.setToolTip(self.tr("Copy {what} to the clipboard").format(what=what))
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.setAutoDefault(False)
        self.setDefault(False)
        # Keep the width stable when the text changes to "Copied".
        width = max(
            self.fontMetrics().horizontalAdvance(t) for t in (self._idle_text, self.tr("Copied"))
        )
        self.setMinimumWidth(width + 2 * self.fontMetrics().averageCharWidth() + 12)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(lambda: self.setText(self._idle_text))
        self.clicked.connect(self.copy)

    def set_value(self, value: str | Callable[[], str]) -> None:
        """A new value: a "Copied" left over from the old one would be a false claim."""
        if value != self._value:
            self._timer.stop()
            self.setText(self._idle_text)
        self._value = value

    def value(self) -> str:
        return self._value() if callable(self._value) else self._value

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.value())
        self.setText(self.tr("Copied"))
        self._timer.start(_CONFIRM_MS)
