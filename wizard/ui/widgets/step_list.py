"""The step list beside the pages: where you are, what is done, what needs attention.

Each step is an icon, its title and (for screen readers and the tooltip) a word; the
colour only repeats what the icon and word say. A step one can reach is a clickable
item; the wizard (wizard/ui/wizard.py) decides what is reachable and goes there.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QFont, QFontMetrics
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from wizard.ui.navigation import PageId
from wizard.ui.style import Tone, tone_colour
from wizard.ui.widgets.labels import HintLabel


class StepState(Enum):
    CURRENT = "current"
    DONE = "done"
    ATTENTION = "attention"
    TODO = "todo"


_GLYPHS: dict[StepState, str] = {
    StepState.CURRENT: "\u25b6",  # ▶
    StepState.DONE: "\u2713",  # ✓
    StepState.ATTENTION: "!",
    StepState.TODO: "\u25cb",  # ○
}
_TONES: dict[StepState, Tone] = {
    StepState.CURRENT: Tone.INFO,
    StepState.DONE: Tone.GOOD,
    StepState.ATTENTION: Tone.WARNING,
    StepState.TODO: Tone.NEUTRAL,
}


@dataclass(frozen=True)
class StepView:
    page_id: PageId
    title: str
    state: StepState
    reachable: bool


class StepList(QWidget):
    stepChosen = Signal(object)  # PageId

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("stepList")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 8, 0)
        title = QLabel(self.tr("Steps"), self)
        font = title.font()
        font.setBold(True)
        title.setFont(font)
        layout.addWidget(title)
        self.list = QListWidget(self)
        self.list.setObjectName("steps")
        self.list.setAccessibleName(self.tr("Steps of the wizard"))
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        # A first width for "Plan and apply" and a mark; set_steps widens it to the
        # longest step name in bold (the current step's), so none is cut off.
        self.list.setFixedWidth(self.fontMetrics().horizontalAdvance("M") * 13)
        layout.addWidget(self.list, 1)
        self.legend = HintLabel(
            self.tr("\u25b6 you are here\n\u2713 done\n! needs attention\n\u25cb not yet"), self
        )
        layout.addWidget(self.legend)
        self.views: tuple[StepView, ...] = ()
        self.list.itemActivated.connect(self._activated)
        self.list.itemClicked.connect(self._activated)

    @staticmethod
    def word(state: StepState) -> str:
        from wizard.core.i18n import tr

        return {
            StepState.CURRENT: tr("you are here"),
            StepState.DONE: tr("done"),
            StepState.ATTENTION: tr("needs attention"),
            StepState.TODO: tr("not yet"),
        }[state]

    def set_steps(self, views: tuple[StepView, ...]) -> None:
        if views == self.views:
            return
        self.views = views
        self.list.blockSignals(True)
        self.list.clear()
        for view in views:
            item = QListWidgetItem(f"{_GLYPHS[view.state]} {view.title}", self.list)
            described = f"{view.title}: {self.word(view.state)}"
            item.setToolTip(described)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, described)
            item.setData(Qt.ItemDataRole.UserRole, int(view.page_id))
            item.setForeground(QBrush(tone_colour(_TONES[view.state], self.palette())))
            flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
            if not view.reachable:
                flags = Qt.ItemFlag.NoItemFlags
            item.setFlags(flags)
            if view.state is StepState.CURRENT:
                font = item.font()
                font.setBold(True)
                item.setFont(font)
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        self._fit_width()

    def _fit_width(self) -> None:
        bold = QFont(self.list.font())
        bold.setBold(True)
        metrics = QFontMetrics(bold)
        widest = max(
            (
                metrics.horizontalAdvance(self.list.item(row).text())
                for row in range(self.list.count())
            ),
            default=0,
        )
        # The item's own padding, the frame and a vertical scroll bar should one appear.
        room = 2 * self.list.frameWidth() + self.list.verticalScrollBar().sizeHint().width() + 12
        self.list.setFixedWidth(max(self.fontMetrics().horizontalAdvance("M") * 13, widest + room))

    def view(self, page_id: PageId) -> StepView | None:
        return next((v for v in self.views if v.page_id is page_id), None)

    def item(self, page_id: PageId) -> QListWidgetItem | None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == int(page_id):
                return item
        return None

    def _activated(self, item: QListWidgetItem) -> None:
        value = item.data(Qt.ItemDataRole.UserRole)
        view = self.view(PageId(int(value))) if isinstance(value, int) else None
        if view is not None and view.reachable and view.state is not StepState.CURRENT:
            self.stepChosen.emit(view.page_id)
