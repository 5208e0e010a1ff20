"""Label: value rows, each value selectable and, where it is typed elsewhere, copyable."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QLayout, QWidget

from wizard.ui.widgets.copy import CopyButton
from wizard.ui.widgets.labels import HintLabel


class ValueRows(QWidget):
    """Rows of values. `stacked` puts each name above its value (narrow columns)."""

    def __init__(self, parent: QWidget | None = None, *, stacked: bool = False) -> None:
        super().__init__(parent)
        self._stacked = stacked
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setHorizontalSpacing(10)
        self._grid.setVerticalSpacing(2 if stacked else 4)
        self._grid.setColumnStretch(3, 1)
        self.values: dict[str, str] = {}
        # Our own row counter: QGridLayout.rowCount() never shrinks after a clear.
        self._row = 0

    def clear(self) -> None:
        clear_layout(self._grid)
        self.values = {}
        self._row = 0

    def add(self, name: str, value: str, *, copy: bool = False) -> None:
        row = self._row
        text = QLabel(value, self)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        text.setAccessibleName(f"{name}: {value}")
        copyable = copy and bool(value)
        # A value the user copies stays on one line (a host name must not break);
        # explanations wrap.
        text.setWordWrap(not copyable)
        if self._stacked:
            label: QLabel = HintLabel(name, self)
            # A little air above each name but the first.
            label.setContentsMargins(0, 6 if row else 0, 0, 0)
            self._grid.addWidget(label, row, 0, 1, 4)
            row += 1
            first = 0
        else:
            label = QLabel(name + ":", self)
            align = Qt.AlignmentFlag.AlignVCenter if copyable else Qt.AlignmentFlag.AlignTop
            self._grid.addWidget(label, row, 0, align)
            first = 1
        label.setBuddy(text)
        if copyable:
            self._grid.addWidget(text, row, first)
            self._grid.addWidget(CopyButton(value, name.lower(), self), row, first + 1)
        else:
            self._grid.addWidget(text, row, first, 1, 4 - first)
        self._row = row + 1
        self.values[name] = value


def clear_layout(layout: QLayout) -> None:
    """Remove and delete everything in `layout`."""
    while layout.count():
        item = layout.takeAt(0)
        widget = item.widget() if item is not None else None
        if widget is not None:
            # Hidden and detached at once: deleteLater alone leaves it on screen until
            # the event loop comes round.
            widget.hide()
            widget.setParent(None)
            widget.deleteLater()
        else:
            inner = item.layout() if item is not None else None
            if inner is not None:
                clear_layout(inner)
