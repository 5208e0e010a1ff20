"""Status icons drawn in code: crisp at any scale, coloured from the palette.

Drawing them avoids depending on a font having the glyphs, and an icon is always
shown next to a word, so it never carries meaning on its own.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap, QPolygonF

from wizard.ui.style import Tone, tone_colour

# Drawn once per tone, size, pixel ratio and colour: a page of status lines asks for
# the same few icons hundreds of times (the DNS page's results came in 40 ms late).
# QPixmap copies share their pixels, so handing out the cached one costs nothing.
_drawn: dict[tuple[Tone, int, float, int], QPixmap] = {}


def status_pixmap(tone: Tone, size: int, device_pixel_ratio: float = 1.0) -> QPixmap:
    """A `size` x `size` (logical pixels) icon for a status."""
    ratio = max(1.0, device_pixel_ratio)
    colour = tone_colour(tone)
    key = (tone, size, ratio, colour.rgba())
    drawn = _drawn.get(key)
    if drawn is None:
        if len(_drawn) > 256:  # palettes and screens change rarely; never grow unbounded
            _drawn.clear()
        drawn = _drawn[key] = _draw(tone, size, ratio, colour)
    return drawn


def _draw(tone: Tone, size: int, ratio: float, colour: QColor) -> QPixmap:
    pixmap = QPixmap(round(size * ratio), round(size * ratio))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = float(size)
    pen_width = max(1.5, s / 8)
    mark = QPen(QColor("white"), pen_width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
    mark.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    if tone is Tone.WARNING:
        triangle = QPolygonF(
            [QPointF(s / 2, s * 0.06), QPointF(s * 0.97, s * 0.92), QPointF(s * 0.03, s * 0.92)]
        )
        path = QPainterPath()
        path.addPolygon(triangle)
        path.closeSubpath()
        painter.fillPath(path, colour)
        painter.setPen(mark)
        painter.drawLine(QPointF(s / 2, s * 0.36), QPointF(s / 2, s * 0.60))
        painter.drawPoint(QPointF(s / 2, s * 0.76))
    else:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawEllipse(QRectF(0.5, 0.5, s - 1, s - 1))
        painter.setPen(mark)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if tone is Tone.GOOD:
            painter.drawPolyline(
                QPolygonF(
                    [
                        QPointF(s * 0.28, s * 0.52),
                        QPointF(s * 0.44, s * 0.68),
                        QPointF(s * 0.72, s * 0.34),
                    ]
                )
            )
        elif tone is Tone.BAD:
            painter.drawLine(QPointF(s * 0.33, s * 0.33), QPointF(s * 0.67, s * 0.67))
            painter.drawLine(QPointF(s * 0.67, s * 0.33), QPointF(s * 0.33, s * 0.67))
        elif tone is Tone.INFO:
            painter.drawLine(QPointF(s / 2, s * 0.45), QPointF(s / 2, s * 0.72))
            painter.drawPoint(QPointF(s / 2, s * 0.28))
        else:
            painter.drawLine(QPointF(s * 0.3, s / 2), QPointF(s * 0.7, s / 2))
    painter.end()
    return pixmap


def status_icon(tone: Tone, size: int = 16) -> QIcon:
    icon = QIcon()
    for ratio in (1.0, 1.5, 2.0, 3.0):
        icon.addPixmap(status_pixmap(tone, size, ratio))
    return icon
