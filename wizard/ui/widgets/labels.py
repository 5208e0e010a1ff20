"""Labels: hints, inline field errors, status badges and status lines.

A status is always icon + word + colour. Colours follow the palette and are picked
again when it changes (the user switches between light and dark).
"""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QPalette, QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QWidget

from wizard.ui.style import Tone, scaled_font, secondary_text_colour, tone_colour
from wizard.ui.widgets.icons import status_pixmap


def _icon_size(widget: QWidget) -> int:
    return max(12, round(widget.fontMetrics().height() * 0.95))


class HintLabel(QLabel):
    """A one-line explanation under a field, in a quieter colour."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setObjectName("hint")
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # No setSizePolicy here: it would drop the height-for-width flag that word
        # wrapping sets, and layouts would then give the label odd heights.
        self._recolour()

    def _recolour(self) -> None:
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.WindowText, secondary_text_colour(QPalette()))
        self.setPalette(palette)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.ApplicationPaletteChange:
            self._recolour()


class SectionTitle(QLabel):
    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setFont(scaled_font(self, 1.1, bold=True))
        self.setWordWrap(True)
        self.setAccessibleName(text)


class StatusLine(QWidget):
    """Icon, a coloured bold word, then plain text that wraps: "(x) Problem: ...".

    Used for reasons, warnings and blockers, and as the headline of messages.
    """

    def __init__(
        self,
        tone: Tone,
        word: str,
        text: str = "",
        parent: QWidget | None = None,
        *,
        selectable: bool = True,
    ) -> None:
        super().__init__(parent)
        self._tone, self._word, self._text = tone, word, text
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self._icon = QLabel(self)
        self._icon.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
        self._label = QLabel(self)
        self._label.setTextFormat(Qt.TextFormat.RichText)
        self._label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        if selectable:
            self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self._icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self._label, 1)
        self._render()

    @property
    def text(self) -> str:
        return self._text

    @property
    def word(self) -> str:
        return self._word

    @property
    def tone(self) -> Tone:
        return self._tone

    def set_status(self, tone: Tone, word: str, text: str = "") -> None:
        self._tone, self._word, self._text = tone, word, text
        self._render()

    def plain_text(self) -> str:
        return f"{self._word}: {self._text}" if self._text else self._word

    def _render(self) -> None:
        size = _icon_size(self)
        ratio = self.devicePixelRatioF()
        tone_rgba = tone_colour(self._tone)
        # Shown again, or set to what it already says: nothing to redo (a page of
        # status lines re-rendered each one on every show, a layout pass each).
        key = (self._tone, self._word, self._text, size, ratio, tone_rgba.rgba())
        if key == getattr(self, "_rendered", None):
            return
        self._rendered = key
        self._icon.setPixmap(status_pixmap(self._tone, size, ratio))
        self._icon.setFixedWidth(size + 2)
        colour = tone_rgba.name()
        word = f'<b style="color:{colour}">{html.escape(self._word)}</b>'
        body = html.escape(self._text).replace("\n", "<br>")
        self._label.setText(f"{word}: {body}" if self._text else word)
        # A word alone never needs to wrap; a wrapping label asks its layout for
        # height-for-width, which leaves odd gaps when there is nothing to wrap.
        self._label.setWordWrap(bool(self._text))
        self.setAccessibleName(self.plain_text())

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.ApplicationPaletteChange, QEvent.Type.FontChange):
            self._render()

    def showEvent(self, event: QShowEvent) -> None:
        # The screen (and its pixel ratio) is known only once shown.
        self._render()
        super().showEvent(event)


class StatusBadge(StatusLine):
    """A compact status without text, e.g. "(v) Recommended"."""

    def __init__(self, tone: Tone, word: str, parent: QWidget | None = None) -> None:
        super().__init__(tone, word, "", parent, selectable=False)
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self._label.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)


class FieldError(StatusLine):
    """The inline message next to a field; hidden while the field is fine."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Tone.BAD, "", "", parent)
        self.hide()

    def show_error(self, text: str) -> None:
        if text:
            self.set_status(Tone.BAD, self.tr("Problem"), text)
            self.show()
        else:
            self.clear()

    def clear(self) -> None:
        self._text = ""
        self.hide()
