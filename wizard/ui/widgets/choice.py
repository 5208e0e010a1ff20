"""A yes / no / not sure question, as three radio buttons.

Many answers a small-office admin does not know yet ("is port 25 open?"); "Not sure"
is a real answer the advisor handles, not a missing one.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QRadioButton, QWidget

from wizard.core.methods import Tri


class TriChoice(QWidget):
    changed = Signal(object)  # Tri

    def __init__(
        self, question: str, value: Tri = Tri.UNKNOWN, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setAccessibleName(question)
        # A label's mnemonic only moves the focus to a buddy that accepts focus; the
        # focus then goes on to the checked answer (the focus proxy), and Tab skips
        # this container (Qt leaves widgets with a proxy out of the chain).
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(16)
        self._group = QButtonGroup(self)
        self._buttons: dict[Tri, QRadioButton] = {}
        labels = {Tri.YES: self.tr("Yes"), Tri.NO: self.tr("No"), Tri.UNKNOWN: self.tr("Not sure")}
        for tri in (Tri.YES, Tri.NO, Tri.UNKNOWN):
            button = QRadioButton(labels[tri], self)
            button.setAccessibleName(f"{question} {labels[tri]}")
            self._group.addButton(button)
            self._buttons[tri] = button
            layout.addWidget(button)
        layout.addStretch(1)
        self._group.buttonToggled.connect(self._toggled)
        self.set_value(value)

    def buttons(self) -> dict[Tri, QRadioButton]:
        return dict(self._buttons)

    def value(self) -> Tri:
        for tri, button in self._buttons.items():
            if button.isChecked():
                return tri
        return Tri.UNKNOWN

    def set_value(self, value: Tri) -> None:
        if self._buttons[value].isChecked():
            return
        self._buttons[value].setChecked(True)

    def _toggled(self, button: QRadioButton, checked: bool) -> None:
        if checked:
            # Focusing the question (a label's buddy, a test) lands on the answer.
            self.setFocusProxy(button)
            self.changed.emit(self.value())
