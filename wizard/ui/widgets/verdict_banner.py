"""The verdict of a test message: icon + word + colour, what happened, why, the fix.

"Go to <step>" is offered when the wizard has the page that applies the fix; the
page decides that and connects the button.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from wizard.core.smtp_codes import Verdict
from wizard.core.steps import STEP_TITLES, WizardStep
from wizard.core.transcript import Outcome, SmtpTestResult
from wizard.ui.style import Tone, scaled_font
from wizard.ui.widgets.copy import CopyButton
from wizard.ui.widgets.labels import HintLabel, StatusLine


class VerdictBanner(QFrame):
    """Icon + word + colour, the verdict's title, why, the fix and "Go to <step>"."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusMessage")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(6)
        self.headline = StatusLine(Tone.INFO, "", "", self)
        self.headline.setFont(scaled_font(self, 1.1))
        self.explanation = QLabel(self)
        self.explanation.setWordWrap(True)
        self.explanation.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fix = QLabel(self)
        self.fix.setWordWrap(True)
        self.fix.setTextFormat(Qt.TextFormat.RichText)
        self.fix.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.server = HintLabel("", self)
        row = QHBoxLayout()
        self.go_button = QPushButton(self)
        self.go_button.setAutoDefault(False)
        self.reference = HintLabel("", self)
        self.reference.setWordWrap(False)
        self.copy_reference = CopyButton("", self.tr("the test's reference"), self)
        row.addWidget(self.go_button)
        row.addStretch(1)
        row.addWidget(self.reference)
        row.addWidget(self.copy_reference)
        for widget in (self.headline, self.explanation, self.fix, self.server):
            layout.addWidget(widget)
        layout.addLayout(row)
        self.step: WizardStep | None = None
        self.hide()

    def show_result(self, result: SmtpTestResult, can_go: bool) -> None:
        verdict: Verdict = result.verdict
        tone, word = {
            Outcome.SENT: (Tone.GOOD, self.tr("Accepted")),
            Outcome.REFUSED: (Tone.BAD, self.tr("Refused")),
            Outcome.UNREACHABLE: (Tone.BAD, self.tr("Not reached")),
            Outcome.CANCELLED: (Tone.NEUTRAL, self.tr("Cancelled")),
        }[result.outcome]
        self.headline.set_status(tone, word, verdict.title)
        self.explanation.setText(verdict.explanation)
        step_title = STEP_TITLES[verdict.step]
        label = self.tr("Next") if result.sent else self.tr("What to do")
        self.fix.setText(
            f"<b>{html.escape(label)}:</b> {html.escape(verdict.fix)}"
            + (
                f" <i>({html.escape(self.tr('step: {step}').format(step=step_title))})</i>"
                if verdict.step is not WizardStep.TEST
                else ""
            )
        )
        server = ""
        if result.reply is not None and not result.sent:
            server = self.tr("The server said: {code} {text}").format(
                code=result.reply.code, text=result.reply.text
            )
        elif result.detail:
            server = self.tr("Detail: {detail}").format(detail=result.detail)
        self.server.setText(server)
        self.server.setVisible(bool(server))
        self.step = verdict.step if can_go else None
        self.go_button.setText(self.tr("Go to {step}").format(step=step_title))
        self.go_button.setAccessibleName(self.tr("Go to the step {step}").format(step=step_title))
        self.go_button.setVisible(can_go)
        self.reference.setText(self.tr("Reference {token}").format(token=result.token))
        self.copy_reference.set_value(result.token)
        self.setAccessibleName(self.headline.plain_text())
        self.show()
