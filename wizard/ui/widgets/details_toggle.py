"""A fold-out button that says what it does: "Show details" or "Hide details"."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolButton, QWidget


class DetailsToggle(QToolButton):
    """Checkable; checked means the details show. Its words and arrow follow the
    state, so a card that opened by itself says "Hide details", not "Details"."""

    def __init__(
        self, subject: str, parent: QWidget | None = None, *, technical: bool = False
    ) -> None:
        super().__init__(parent)
        self._subject = subject
        self._technical = technical
        self.setCheckable(True)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggled.connect(lambda _shown: self._show_state())
        self._show_state()

    def set_subject(self, subject: str) -> None:
        self._subject = subject
        self._show_state()

    def _show_state(self) -> None:
        shown = self.isChecked()
        if self._technical:
            text = self.tr("Hide technical details") if shown else self.tr("Show technical details")
        else:
            text = self.tr("Hide details") if shown else self.tr("Show details")
        self.setText(text)
        self.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        name = (
            self.tr("Hide the details of {0}") if shown else self.tr("Show the details of {0}")
        ).format(self._subject)
        self.setAccessibleName(name)
        self.setToolTip(name)
