"""The live SMTP transcript: monospace, one line at a time, each direction its colour.

The text itself carries the direction marker ("C:", "S:", "TLS", "--"), so the colour
only helps the eye; copying gives exactly the text that is shown.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent
from PySide6.QtGui import QFontDatabase, QPalette, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from wizard.core.transcript import Direction, TranscriptLine
from wizard.ui.style import Tone, tone_colour

_TONES: dict[Direction, Tone | None] = {
    Direction.CLIENT: Tone.INFO,
    Direction.SERVER: None,  # the palette's own text colour
    Direction.TLS: Tone.GOOD,
    Direction.INFO: Tone.NEUTRAL,
}


class TranscriptView(QPlainTextEdit):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("transcript")
        self.setReadOnly(True)
        self.setUndoRedoEnabled(False)
        # Server replies are long; wrapping would break the columns of time and marker.
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setAccessibleName(self.tr("Transcript of the test message"))
        self.setPlaceholderText(
            self.tr("The conversation with the server appears here, line by line.")
        )
        self._lines: list[TranscriptLine] = []
        lines = self.fontMetrics().lineSpacing()
        self.setMinimumHeight(lines * 10)

    @property
    def lines(self) -> tuple[TranscriptLine, ...]:
        return tuple(self._lines)

    def text(self) -> str:
        return "\n".join(line.to_text() for line in self._lines) + ("\n" if self._lines else "")

    def clear_lines(self) -> None:
        self._lines.clear()
        self.clear()

    def set_lines(self, lines: tuple[TranscriptLine, ...]) -> None:
        self.clear_lines()
        for line in lines:
            self.append_line(line)

    def append_line(self, line: TranscriptLine) -> None:
        self._lines.append(line)
        bar = self.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 2
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        if len(self._lines) > 1:
            cursor.insertText("\n", QTextCharFormat())
        cursor.insertText(line.to_text(), self._format(line.direction))
        # Follow the conversation unless the user scrolled up to read.
        if at_end:
            bar.setValue(bar.maximum())

    def _format(self, direction: Direction) -> QTextCharFormat:
        fmt = QTextCharFormat()
        tone = _TONES[direction]
        if tone is not None:
            fmt.setForeground(tone_colour(tone, self.palette()))
        else:
            fmt.setForeground(self.palette().color(QPalette.ColorRole.Text))
        return fmt

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        changed = (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange)
        if event.type() in changed and self._lines:
            # Light and dark need other shades: paint the lines again.
            lines = tuple(self._lines)
            self.set_lines(lines)
