"""QR codes drawn as vectors (QPdfWriter would store a raster image as lossy JPEG)."""

from __future__ import annotations

from functools import lru_cache

import segno
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath

QUIET_ZONE = 4  # modules of white around the symbol, as the standard asks


# A fixed mask pattern: segno's search over all eight takes ~60 ms per code (pure
# Python), six times the rest of a sheet. Any mask is valid and every reader decodes
# it; the tests decode the printed code to prove it.
_MASK = 2


@lru_cache(maxsize=256)
def qr_code(payload: str) -> segno.QRCode:
    # Level M survives a smudge or a fold on a sheet kept beside a printer.
    return segno.make(payload, error="m", micro=False, boost_error=False, mask=_MASK)


def qr_modules(payload: str) -> tuple[tuple[bool, ...], ...]:
    """The dark (True) and light modules, without the quiet zone."""
    return tuple(tuple(bool(v) for v in row) for row in qr_code(payload).matrix)


def qr_path(modules: tuple[tuple[bool, ...], ...], rect: QRectF) -> QPainterPath:
    """One path of every dark module, a rectangle per horizontal run, quiet zone included.

    Filling one path (instead of a rectangle per module) leaves no hairline seams
    between neighbouring modules in PDF viewers, and keeps the file small.
    """
    count = len(modules) + 2 * QUIET_ZONE
    side = min(rect.width(), rect.height())
    module = side / count
    left = rect.x() + (rect.width() - side) / 2 + QUIET_ZONE * module
    top = rect.y() + QUIET_ZONE * module
    path = QPainterPath()
    path.setFillRule(Qt.FillRule.WindingFill)
    for y, row in enumerate(modules):
        x = 0
        while x < len(row):
            if not row[x]:
                x += 1
                continue
            start = x
            while x < len(row) and row[x]:
                x += 1
            path.addRect(
                QRectF(left + start * module, top + y * module, (x - start) * module, module)
            )
    return path


def paint_qr(painter: QPainter, rect: QRectF, payload: str) -> None:
    """Draw the QR code of `payload` centred in `rect` (square), on white."""
    modules = qr_modules(payload)
    side = min(rect.width(), rect.height())
    square = QRectF(rect.x() + (rect.width() - side) / 2, rect.y(), side, side)
    painter.save()
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor("white"))
    painter.drawRect(square)
    painter.setBrush(QColor("black"))
    painter.drawPath(qr_path(modules, square))
    painter.restore()
