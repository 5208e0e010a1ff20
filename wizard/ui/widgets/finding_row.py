"""One finding of the Troubleshoot path or the audit: status, plain words, the fix.

Status is icon + word + colour. A finding that needs action (or a check that needs a
sign-in) offers "Fix in <step>" when that step's page can be reached; the technical
lines it rests on fold out under "Show technical details" with a copy button.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from wizard.core.findings import Finding, Severity
from wizard.core.steps import STEP_TITLES, WizardStep
from wizard.ui.style import Tone, scaled_font
from wizard.ui.widgets.copy import CopyButton
from wizard.ui.widgets.details_toggle import DetailsToggle
from wizard.ui.widgets.labels import HintLabel, StatusLine

SEVERITY_TONES: dict[Severity, Tone] = {
    Severity.OK: Tone.GOOD,
    Severity.INFO: Tone.INFO,
    Severity.WARNING: Tone.WARNING,
    Severity.PROBLEM: Tone.BAD,
}


def finding_tone(finding: Finding) -> Tone:
    return SEVERITY_TONES[finding.severity] if finding.checked else Tone.NEUTRAL


class FindingRow(QFrame):
    """A finding in a card. `heading`: the check's name (Troubleshoot); None shows the
    finding's own title as the heading (audit)."""

    fixRequested = Signal(object)  # WizardStep

    def __init__(self, heading: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.heading_text = heading
        self.finding: Finding | None = None
        self.setObjectName("card")
        # Never squeezed below what its text needs: a long list scrolls instead of
        # clipping every card's lines.
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(3)
        top = QHBoxLayout()
        self.status_line = StatusLine(Tone.NEUTRAL, self.tr("Waiting"), "", self)
        self.status_line.setMinimumWidth(self.fontMetrics().horizontalAdvance("Not checked") + 40)
        self.heading = QLabel(heading or "", self)
        self.heading.setFont(scaled_font(self.heading, 1.0, bold=True))
        self.heading.setWordWrap(True)
        self.heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.toggle = DetailsToggle(heading or self.tr("this finding"), self, technical=True)
        self.toggle.setEnabled(False)
        top.addWidget(self.status_line, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.heading, 1)
        top.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(top)
        self.title = QLabel("", self)
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.title.setFont(scaled_font(self.title, 1.0, bold=heading is not None))
        self.title.hide()
        layout.addWidget(self.title)
        self.details = QLabel("", self)
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.hide()
        layout.addWidget(self.details)
        fix_row = QHBoxLayout()
        self.fix_label = QLabel("", self)
        self.fix_label.setWordWrap(True)
        self.fix_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fix_button = QPushButton(self)
        self.fix_button.setAutoDefault(False)
        fix_row.addWidget(self.fix_label, 1)
        fix_row.addWidget(self.fix_button, 0, Qt.AlignmentFlag.AlignTop)
        self.fix_box = QWidget(self)
        self.fix_box.setLayout(fix_row)
        fix_row.setContentsMargins(0, 2, 0, 0)
        self.fix_box.hide()
        layout.addWidget(self.fix_box)
        self.more = QWidget(self)
        more_layout = QHBoxLayout(self.more)
        more_layout.setContentsMargins(0, 2, 0, 0)
        self.technical = HintLabel("", self.more)
        self.technical.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.copy = CopyButton(lambda: self.technical.text(), self.tr("the details"), self.more)
        more_layout.addWidget(self.technical, 1)
        more_layout.addWidget(self.copy, 0, Qt.AlignmentFlag.AlignTop)
        self.more.hide()
        layout.addWidget(self.more)
        self.toggle.toggled.connect(self.more.setVisible)
        self.fix_button.clicked.connect(self._fix_clicked)

    def set_pending(self, word: str) -> None:
        self.finding = None
        self.status_line.set_status(Tone.NEUTRAL, word)
        for widget in (self.title, self.details, self.fix_box, self.more):
            widget.hide()
        self.toggle.setChecked(False)
        self.toggle.setEnabled(False)
        self.setAccessibleName(f"{self.heading_text or ''}: {word}")

    def set_finding(self, finding: Finding, can_fix: Callable[[WizardStep], bool]) -> None:
        self.finding = finding
        self.status_line.set_status(finding_tone(finding), finding.word)
        if self.heading_text is None:
            self.heading.setText(finding.title)
            self.toggle.set_subject(finding.title)
            self.title.hide()
        else:
            self.title.setText(finding.title)
            self.title.show()
        self.details.setText(finding.details)
        self.details.setVisible(bool(finding.details))
        step = finding.step
        offers = step is not None and (finding.needs_action or not finding.checked)
        if offers and step is not None:
            if step is WizardStep.OUTSIDE:
                where = self.tr("outside the wizard")
            else:
                where = self.tr("step {0}").format(STEP_TITLES[step])
            text = (
                self.tr("Fix ({0}): {1}").format(where, finding.fix)
                if finding.fix
                else self.tr("Next: {0}.").format(where)
            )
            self.fix_label.setText(text)
            reachable = step is not WizardStep.OUTSIDE and can_fix(step)
            self.fix_button.setText(self.tr("Fix in {0}").format(STEP_TITLES[step]))
            self.fix_button.setAccessibleName(
                self.tr("Go to the step {0} to fix: {1}").format(STEP_TITLES[step], finding.title)
            )
            self.fix_button.setVisible(reachable)
            self.fix_box.show()
        elif finding.fix and finding.needs_action:
            self.fix_label.setText(self.tr("Fix: {0}").format(finding.fix))
            self.fix_button.hide()
            self.fix_box.show()
        else:
            self.fix_box.hide()
        self.technical.setText("\n".join(finding.technical))
        self.toggle.setEnabled(bool(finding.technical))
        self.toggle.setChecked(False)
        self.more.hide()
        self.setAccessibleName(
            f"{self.heading_text or finding.title}: {finding.word}. {finding.title}. "
            f"{finding.details}"
        )

    def _fix_clicked(self) -> None:
        if self.finding is not None and self.finding.step is not None:
            self.fixRequested.emit(self.finding.step)
