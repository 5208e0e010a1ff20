"""Plant faults in the demo tenant, to practise the Troubleshoot path.

Only offered while the wizard runs on the built-in sandbox (the session carries a
`Practice` then); every change takes effect at once and can be undone here.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, Protocol

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from wizard.ui.settings import remember_dialog_size
from wizard.ui.widgets.labels import HintLabel


class PracticeFault(Protocol):
    """One fault the demo tenant can be given (its id, a title and what it does)."""

    @property
    def fault(self) -> Hashable: ...

    @property
    def title(self) -> str: ...

    @property
    def detail(self) -> str: ...


class PracticeControls(Protocol):
    """What the demo offers for practice. The launcher (wizard.app) hands the sandbox's
    own `Practice` to the session; the UI never imports the sandbox."""

    @property
    def faults(self) -> Sequence[PracticeFault]: ...

    def is_on(self, fault: Any) -> bool: ...

    def set(self, fault: Any, on: bool) -> None: ...


class PracticeDialog(QDialog):
    def __init__(self, practice: PracticeControls, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("practiceDialog")
        self.practice = practice
        self.setWindowTitle(self.tr("Practise a fault"))
        outer = QVBoxLayout(self)
        # The faults scroll (at 200% on a 1080-pixel screen they are taller than it);
        # the Close button stays in view.
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        intro = HintLabel(
            self.tr(
                "Break the demo tenant the way real setups break, then use Troubleshoot "
                "(on the Welcome page) or the test message to find out what happened. "
                "Changes apply at once; untick to put things back."
            ),
            body,
        )
        layout.addWidget(intro)
        self.boxes: dict[Hashable, QCheckBox] = {}
        for info in practice.faults:
            box = QCheckBox(info.title, body)
            box.setChecked(practice.is_on(info.fault))
            box.setAccessibleDescription(info.detail)
            box.toggled.connect(lambda on, fault=info.fault: self.practice.set(fault, on))
            hint = HintLabel(info.detail, body)
            hint.setContentsMargins(24, 0, 0, 6)
            layout.addWidget(box)
            layout.addWidget(hint)
            self.boxes[info.fault] = box
        layout.addStretch(1)
        if self.boxes:
            next(iter(self.boxes.values())).setFocus()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        outer.addWidget(buttons)
        # Wide enough for the longest hint on two lines, tall enough for every fault
        # where the screen has room.
        metrics = self.fontMetrics()
        remember_dialog_size(
            self,
            "practiceDialog",
            QSize(
                metrics.averageCharWidth() * 90,
                metrics.lineSpacing() * (4 + 4 * len(practice.faults)),
            ),
        )
