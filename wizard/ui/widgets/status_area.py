"""A page's status area: the progress of running work, and the latest message.

Work that takes longer than half a second shows a progress bar and a Cancel button;
quicker work shows nothing, so the page does not flicker.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from wizard.ui.messages import UserMessage
from wizard.ui.style import Tone
from wizard.ui.tasks import Task
from wizard.ui.widgets.copy import CopyButton
from wizard.ui.widgets.labels import HintLabel, StatusLine

PROGRESS_DELAY_MS = 500


class StatusArea(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(self.tr("Status"))
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(6)

        # Progress row.
        self._progress_row = QWidget(self)
        row = QHBoxLayout(self._progress_row)
        row.setContentsMargins(0, 0, 0, 0)
        self._progress_label = QLabel(self._progress_row)
        self._progress_bar = QProgressBar(self._progress_row)
        self._progress_bar.setRange(0, 0)
        self._progress_bar.setTextVisible(False)
        self._progress_bar.setMaximumWidth(220)
        self._cancel = QPushButton(self.tr("Cancel"), self._progress_row)
        self._cancel.setAutoDefault(False)
        self._cancel.setAccessibleName(self.tr("Cancel the work in progress"))
        row.addWidget(self._progress_label, 1)
        row.addWidget(self._progress_bar)
        row.addWidget(self._cancel)
        self._progress_row.hide()
        outer.addWidget(self._progress_row)
        self._progress_task: Task[Any] | None = None
        self._delay = QTimer(self)
        self._delay.setSingleShot(True)
        self._delay.timeout.connect(self._reveal_progress)
        self._cancel.clicked.connect(self._cancel_task)

        # Message box.
        self._box = QFrame(self)
        self._box.setObjectName("statusMessage")
        box = QVBoxLayout(self._box)
        box.setContentsMargins(10, 8, 10, 8)
        box.setSpacing(4)
        self._headline = StatusLine(Tone.INFO, "", "", self._box)
        self._why = HintLabel("", self._box)
        self._next = QLabel(self._box)
        self._next.setWordWrap(True)
        self._next.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        details_row = QHBoxLayout()
        self._details_toggle = QPushButton(self.tr("Show details"), self._box)
        self._details_toggle.setCheckable(True)
        self._details_toggle.setAutoDefault(False)
        self._details_toggle.setAccessibleName(self.tr("Show technical details"))
        self._details_copy = CopyButton(self._details_text, self.tr("the details"), self._box)
        details_row.addWidget(self._details_toggle)
        details_row.addWidget(self._details_copy)
        details_row.addStretch(1)
        self._details = QPlainTextEdit(self._box)
        self._details.setReadOnly(True)
        self._details.setAccessibleName(self.tr("Technical details"))
        self._details.setMaximumHeight(self.fontMetrics().lineSpacing() * 6)
        self._details.hide()
        self._details_toggle.toggled.connect(self._details.setVisible)
        box.addWidget(self._headline)
        box.addWidget(self._why)
        box.addWidget(self._next)
        box.addLayout(details_row)
        box.addWidget(self._details)
        self._details_widgets = (self._details_toggle, self._details_copy)
        self._box.hide()
        outer.addWidget(self._box)
        self._message: UserMessage | None = None

    # Messages ---------------------------------------------------------------

    @property
    def message(self) -> UserMessage | None:
        return self._message

    def show_message(self, message: UserMessage) -> None:
        self._message = message
        self._headline.set_status(message.tone, message.word, message.what)
        self._why.setText(message.why)
        self._why.setVisible(bool(message.why))
        self._next.setText(self.tr("What to do: {step}").format(step=message.next_step))
        self._next.setVisible(bool(message.next_step))
        self._details.setPlainText(message.detail)
        for widget in self._details_widgets:
            widget.setVisible(bool(message.detail))
        self._details_toggle.setChecked(False)
        self._box.setAccessibleName(message.plain())
        self._box.show()

    def clear_message(self) -> None:
        self._message = None
        self._box.hide()

    def _details_text(self) -> str:
        if self._message is None:
            return ""
        return "\n".join(part for part in (self._message.plain(), self._message.detail) if part)

    # Progress ---------------------------------------------------------------

    def track(self, task: Task[Any], label: str, *, cancellable: bool = True) -> None:
        """Show progress for `task` if it runs longer than half a second."""
        self._progress_task = task
        self._progress_label.setText(label)
        self._progress_bar.setAccessibleName(label)
        self._cancel.setVisible(cancellable)
        self._cancel.setEnabled(True)
        task.finished.connect(self._task_finished)
        self._delay.start(PROGRESS_DELAY_MS)

    @property
    def progress_visible(self) -> bool:
        return self._progress_row.isVisible()

    def _reveal_progress(self) -> None:
        if self._progress_task is not None and self._progress_task.running:
            self._progress_row.show()

    def _task_finished(self, _result: object, _error: object) -> None:
        sender = self.sender()
        if sender is self._progress_task or sender is None:
            self._progress_task = None
            self._delay.stop()
            self._progress_row.hide()

    def _cancel_task(self) -> None:
        if self._progress_task is not None:
            self._cancel.setEnabled(False)
            self._progress_label.setText(self.tr("Stopping…"))
            self._progress_task.cancel()
