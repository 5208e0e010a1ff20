"""Side-by-side columns that stack when the window is narrow (200% on a small laptop)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QBoxLayout, QWidget


class Reflow(QObject):
    """Watches `owner`'s width; below `min_width` (in average characters) the layout's
    columns go top to bottom, above it left to right."""

    def __init__(self, owner: QWidget, layout: QBoxLayout, min_chars: int) -> None:
        super().__init__(owner)
        self._owner = owner
        self._layout = layout
        self._min_chars = min_chars
        owner.installEventFilter(self)
        self.apply()

    @property
    def stacked(self) -> bool:
        return self._layout.direction() is QBoxLayout.Direction.TopToBottom

    def apply(self) -> None:
        threshold = self._owner.fontMetrics().averageCharWidth() * self._min_chars
        wanted = (
            QBoxLayout.Direction.TopToBottom
            if self._owner.width() < threshold
            else QBoxLayout.Direction.LeftToRight
        )
        if self._layout.direction() is not wanted:
            self._layout.setDirection(wanted)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._owner and event.type() == QEvent.Type.Resize:
            self.apply()
        return False
