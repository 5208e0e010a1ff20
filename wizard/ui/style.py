"""Look and feel: the system's palette and fonts, plus a few status colours.

Nothing here fixes a background or text colour: the platform's light or dark palette
decides. Status colours come in a light and a dark variant, picked from the palette,
and are always paired with an icon and a word (never colour alone).
"""

from __future__ import annotations

from enum import Enum

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QWidget


class Tone(Enum):
    """What a status means; decides its colour and icon."""

    GOOD = "good"
    WARNING = "warning"
    BAD = "bad"
    INFO = "info"
    NEUTRAL = "neutral"


# (on a light background, on a dark background); contrast >= 4.5:1 against the
# usual window colours of both palettes.
_COLOURS: dict[Tone, tuple[str, str]] = {
    Tone.GOOD: ("#1a7f37", "#3fb950"),
    Tone.WARNING: ("#9a6700", "#d29922"),
    Tone.BAD: ("#cf222e", "#f85149"),
    Tone.INFO: ("#0969da", "#58a6ff"),
    Tone.NEUTRAL: ("#57606a", "#8b949e"),
}


def is_dark(palette: QPalette | None = None) -> bool:
    palette = palette or QApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def tone_colour(tone: Tone, palette: QPalette | None = None) -> QColor:
    light, dark = _COLOURS[tone]
    return QColor(dark if is_dark(palette) else light)


def secondary_text_colour(palette: QPalette | None = None) -> QColor:
    """Text colour for hints: between text and background, still readable (>= 4.5:1)."""
    palette = palette or QApplication.palette()
    text = palette.color(QPalette.ColorRole.WindowText)
    back = palette.color(QPalette.ColorRole.Window)
    share = 0.72

    def mix(a: int, b: int) -> int:
        return round(a * share + b * (1 - share))

    return QColor(
        mix(text.red(), back.red()), mix(text.green(), back.green()), mix(text.blue(), back.blue())
    )


def scaled_font(widget: QWidget, factor: float = 1.0, *, bold: bool = False) -> QFont:
    """The widget's font at `factor` times its size: follows the user's font settings."""
    font = QFont(widget.font())
    if font.pointSizeF() > 0:
        font.setPointSizeF(font.pointSizeF() * factor)
    elif font.pixelSize() > 0:
        font.setPixelSize(round(font.pixelSize() * factor))
    font.setBold(bold)
    return font


def app_stylesheet() -> str:
    """Small additions to the platform style; colours refer to the palette only."""
    return """
    QFrame#card {
        border: 1px solid palette(mid);
        border-radius: 6px;
        background: palette(base);
    }
    QFrame#card[selected="true"] {
        border: 2px solid palette(highlight);
    }
    QFrame#card[blocked="true"] {
        background: palette(window);
    }
    QFrame#banner {
        border: 1px solid palette(mid);
        border-radius: 4px;
        background: palette(alternate-base);
    }
    QFrame#statusMessage {
        border: 1px solid palette(mid);
        border-radius: 4px;
        background: palette(base);
    }
    """
