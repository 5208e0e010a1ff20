"""Plant faults in the demo tenant, to practise the Troubleshoot path.

Only offered while the wizard runs on the built-in sandbox (the session carries a
`Practice` then); every change takes effect at once and can be undone here.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLayout,
    QVBoxLayout,
    QWidget,
)

from wizard.sandbox.practice import FAULTS, Fault, Practice
from wizard.ui.widgets.labels import HintLabel


class PracticeDialog(QDialog):
    def __init__(self, practice: Practice, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.practice = practice
        self.setWindowTitle(self.tr("Practise a fault"))
        layout = QVBoxLayout(self)
        layout.setSpacing(6)
        # Wrapped labels get their height from the width: a fixed-size layout gives
        # every label the height its text needs (a resizable one clipped the intro).
        layout.setSizeConstraint(QLayout.SizeConstraint.SetFixedSize)
        intro = HintLabel(
            self.tr(
                "Break the demo tenant the way real setups break, then use Troubleshoot "
                "(on the Welcome page) or the test message to find out what happened. "
                "Changes apply at once; untick to put things back."
            ),
            self,
        )
        layout.addWidget(intro)
        self.boxes: dict[Fault, QCheckBox] = {}
        for info in FAULTS:
            box = QCheckBox(info.title, self)
            box.setChecked(practice.is_on(info.fault))
            box.setAccessibleDescription(info.detail)
            box.toggled.connect(lambda on, fault=info.fault: self.practice.set(fault, on))
            hint = HintLabel(info.detail, self)
            hint.setContentsMargins(24, 0, 0, 6)
            layout.addWidget(box)
            layout.addWidget(hint)
            self.boxes[info.fault] = box
        if self.boxes:
            next(iter(self.boxes.values())).setFocus()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
