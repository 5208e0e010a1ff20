"""Page layout shared by the sheets and the report: paper, fonts, blocks, page flow.

Everything is laid out in points (1/72 inch) and painted through a painter scaled
to the device, so the same code draws a PDF page (QPdfWriter, vector text, fonts
embedded) and a preview image (QImage) that look the same.

Text goes through QTextDocument laid out for a 72-dpi device: sizes in `pt` are
points, and design metrics keep the layout identical at every scale. The `liga`
font feature is switched off everywhere so values copied out of the PDF come out as
typed ("office", not "o\ufb03ce").
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QIODevice,
    QMarginsF,
    QPointF,
    QRectF,
    QSizeF,
    Qt,
    QThread,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QGuiApplication,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPainterPath,
    QPdfWriter,
    QPen,
    QTextDocument,
    QTextOption,
)

APP_TITLE = "Relay Wizard for Microsoft 365"

# Colours of the printed page (always on white paper, whatever the screen's palette).
INK = "#1b1f24"
MUTED = "#57606a"
ACCENT = "#0b5cad"
LINE = "#d0d7de"
FILL = "#f4f7fa"
GOOD = "#1a7f37"
BAD = "#cf222e"
WARN_INK = "#7d4e00"
WARN_FILL = "#fff8e1"
WARN_LINE = "#d4a72c"
DANGER_FILL = "#ffebe9"

MARGIN = 42.0  # points, about 15 mm: fits A4 and Letter printers' unprintable edges
FOOTER_HEIGHT = 26.0
LAYOUT_DPI = 72.0


class Paper(StrEnum):
    A4 = "a4"
    LETTER = "letter"

    @property
    def page_size(self) -> QPageSize:
        return QPageSize(
            QPageSize.PageSizeId.A4 if self is Paper.A4 else QPageSize.PageSizeId.Letter
        )

    @property
    def size_pt(self) -> QSizeF:
        return self.page_size.size(QPageSize.Unit.Point)


def require_gui() -> None:
    """Fonts need a QGuiApplication, and the drawing its thread; say so plainly.

    Why the thread: the PySide wrappers of QTextDocument hold the Python GIL while Qt
    takes its signal-slot mutex (QTextDocument::documentLayout connects signals), and
    the UI thread can hold that same mutex while it waits for the GIL (a PySide
    object's disconnect calls back into Python). Drawing on a worker thread therefore
    deadlocks the window now and then. Callers draw on the GUI thread and leave only
    the file writing to a worker.
    """
    app = QGuiApplication.instance()
    if app is None:
        raise RuntimeError("wizard.export needs a QGuiApplication (offscreen is fine)")
    if QThread.currentThread() is not app.thread():
        raise RuntimeError("wizard.export draws with Qt text objects: call it on the GUI thread")


def layout_device() -> QImage:
    """A tiny image whose resolution is 72 dpi: text documents measure against it."""
    image = QImage(1, 1, QImage.Format.Format_RGB32)
    dots_per_metre = round(LAYOUT_DPI / 0.0254)
    image.setDotsPerMeterX(dots_per_metre)
    image.setDotsPerMeterY(dots_per_metre)
    return image


def _family(preferred: str, fallback: QFontDatabase.SystemFont) -> str:
    if preferred in QFontDatabase.families():
        return preferred
    return QFontDatabase.systemFont(fallback).family()


@dataclass(frozen=True)
class Fonts:
    """The two families of a page: body text and values (monospaced, easy to copy)."""

    sans: str
    mono: str

    @staticmethod
    def pick() -> Fonts:
        require_gui()
        # DejaVu where installed (Linux); the system's own faces elsewhere. Both embed.
        return Fonts(
            _family("DejaVu Sans", QFontDatabase.SystemFont.GeneralFont),
            _family("DejaVu Sans Mono", QFontDatabase.SystemFont.FixedFont),
        )

    def font(self, size: float, *, bold: bool = False, mono: bool = False) -> QFont:
        font = QFont(self.mono if mono else self.sans)
        font.setPointSizeF(size)
        font.setBold(bold)
        font.setHintingPreference(QFont.HintingPreference.PreferNoHinting)
        font.setKerning(True)
        # No ligatures: "fi"/"ffi" would be copied out of the PDF as one character.
        font.setFeature(QFont.Tag("liga"), 0)
        font.setFeature(QFont.Tag("clig"), 0)
        font.setFeature(QFont.Tag("dlig"), 0)
        return font


def esc(text: str) -> str:
    return html.escape(text, quote=True)


class Block(Protocol):
    def height(self, width: float) -> float: ...

    def paint(self, painter: QPainter, x: float, y: float, width: float) -> None: ...


class _Document:
    """One laid-out QTextDocument; equal blocks of one export share it (see shared_text)."""

    def __init__(self, markup: str, fonts: Fonts, size: float):
        self.doc = QTextDocument()
        # Kept with the document: the layout only borrows the device.
        self._device = layout_device()
        self.doc.documentLayout().setPaintDevice(self._device)
        self.doc.setUseDesignMetrics(True)
        self.doc.setDocumentMargin(0)
        self.doc.setDefaultFont(fonts.font(size))
        option = QTextOption()
        # Long host names and addresses have no spaces: let them break anywhere
        # rather than run off the page.
        option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.doc.setDefaultTextOption(option)
        self.doc.setDefaultStyleSheet(
            f"body {{ color: {INK}; }} p {{ margin-top: 0; margin-bottom: 0; }}"
        )
        self.doc.setHtml(markup)
        self.width = -1.0

    def layout(self, width: float) -> None:
        if width != self.width:
            self.doc.setTextWidth(width)
            self.width = width


_DocumentKey = tuple[str, Fonts, float]
# The documents one export shares (see shared_text).
SharedDocuments = dict[_DocumentKey, _Document]
_shared: SharedDocuments | None = None


@contextmanager
def shared_text(documents: SharedDocuments | None = None) -> Iterator[None]:
    """Within this block, text blocks with the same markup, fonts and size share one
    laid-out document (kept in `documents` when given, so an export painted in steps
    shares them across its steps).

    Two hundred printers' sheets repeat most of their paragraphs (the headings, the
    advice, the footer), and parsing and laying out rich text is most of a sheet's
    cost. Only for the length of one export: the documents are Qt objects of the GUI
    thread (require_gui), not something to keep between exports.
    """
    global _shared
    outermost = _shared is None
    if outermost:
        _shared = documents if documents is not None else {}
    try:
        yield
    finally:
        if outermost:
            _shared = None


class TextBlock:
    """Rich text (Qt's HTML subset) that wraps to the width it is given."""

    def __init__(self, markup: str, fonts: Fonts, size: float, *, space_after: float = 0.0):
        key = (markup, fonts, size)
        shared = _shared
        document = shared.get(key) if shared is not None else None
        if document is None:
            document = _Document(markup, fonts, size)
            if shared is not None:
                shared[key] = document
        self._document = document
        self._space_after = space_after

    @property
    def _doc(self) -> QTextDocument:
        return self._document.doc

    def height(self, width: float) -> float:
        self._document.layout(width)
        return float(self._doc.size().height()) + self._space_after

    def paint(self, painter: QPainter, x: float, y: float, width: float) -> None:
        self._document.layout(width)
        painter.save()
        painter.translate(x, y)
        self._doc.drawContents(painter)
        painter.restore()


class Spacer:
    def __init__(self, size: float):
        self._size = size

    def height(self, width: float) -> float:
        return self._size

    def paint(self, painter: QPainter, x: float, y: float, width: float) -> None:
        return None


class Rule:
    def __init__(self, colour: str = LINE, thickness: float = 0.75, space: float = 6.0):
        self._colour, self._thickness, self._space = colour, thickness, space

    def height(self, width: float) -> float:
        return self._thickness + 2 * self._space

    def paint(self, painter: QPainter, x: float, y: float, width: float) -> None:
        painter.save()
        pen = QPen(QColor(self._colour))
        pen.setWidthF(self._thickness)
        painter.setPen(pen)
        middle = y + self._space + self._thickness / 2
        painter.drawLine(QPointF(x, middle), QPointF(x + width, middle))
        painter.restore()


class Box:
    """A block on a tinted, outlined panel (notes, warnings)."""

    def __init__(
        self,
        inner: Block,
        *,
        fill: str,
        line: str,
        padding: float = 8.0,
        space_after: float = 8.0,
        accent_left: bool = False,
    ):
        self._inner, self._fill, self._line = inner, fill, line
        self._padding, self._space_after, self._accent_left = padding, space_after, accent_left

    def height(self, width: float) -> float:
        inner = self._inner.height(width - 2 * self._padding)
        return inner + 2 * self._padding + self._space_after

    def paint(self, painter: QPainter, x: float, y: float, width: float) -> None:
        inner_h = self._inner.height(width - 2 * self._padding)
        rect = QRectF(x, y, width, inner_h + 2 * self._padding)
        painter.save()
        pen = QPen(QColor(self._line))
        pen.setWidthF(0.75)
        painter.setPen(pen)
        painter.setBrush(QColor(self._fill))
        painter.drawRoundedRect(rect, 3, 3)
        if self._accent_left:
            painter.fillRect(QRectF(x, y, 3, rect.height()), QColor(self._line))
        painter.restore()
        self._inner.paint(painter, x + self._padding, y + self._padding, width - 2 * self._padding)


class Aside:
    """A block with a fixed-width figure to its right (the QR code beside the method)."""

    def __init__(
        self,
        main: Block,
        side_width: float,
        side_height: Callable[[], float],
        paint_side: Callable[[QPainter, QRectF], None],
        *,
        gap: float = 14.0,
        space_after: float = 8.0,
    ):
        self._main, self._side_width = main, side_width
        self._side_height, self._paint_side = side_height, paint_side
        self._gap, self._space_after = gap, space_after

    def _main_width(self, width: float) -> float:
        return max(width - self._side_width - self._gap, width * 0.4)

    def height(self, width: float) -> float:
        main = self._main.height(self._main_width(width))
        return max(main, self._side_height()) + self._space_after

    def paint(self, painter: QPainter, x: float, y: float, width: float) -> None:
        main_width = self._main_width(width)
        self._main.paint(painter, x, y, main_width)
        side = QRectF(x + width - self._side_width, y, self._side_width, self._side_height())
        self._paint_side(painter, side)


class KeepWithNext:
    """A block (a heading, a section's intro) that goes to the next page with the block
    after it rather than end a page alone."""

    keep_with_next = True

    def __init__(self, inner: Block):
        self._inner = inner

    def height(self, width: float) -> float:
        return self._inner.height(width)

    def paint(self, painter: QPainter, x: float, y: float, width: float) -> None:
        self._inner.paint(painter, x, y, width)


def _kept_height(blocks: Sequence[Block], start: int, width: float) -> float:
    """The height of blocks[start] with the chain of blocks it keeps with."""
    total = 0.0
    for block in blocks[start:]:
        total += block.height(width)
        if not getattr(block, "keep_with_next", False):
            break
    return total


@dataclass
class Placed:
    block: Block
    y: float
    height: float
    scale: float = 1.0  # < 1 only for a block taller than a whole page


@dataclass
class Page:
    placed: list[Placed]


def flow(
    blocks: Sequence[Block], width: float, first_top: float, top: float, bottom: float
) -> list[Page]:
    """Stack blocks down the page; a block that does not fit starts the next page.

    A single block taller than an empty page is shrunk to fit: nothing is ever cut.
    A `KeepWithNext` block starts the next page when the block after it would not
    follow on this one (no heading alone at the foot of a page).
    """
    pages = [Page([])]
    y = first_top
    for index, block in enumerate(blocks):
        h = block.height(width)
        room = bottom - y
        if getattr(block, "keep_with_next", False):
            needed = _kept_height(blocks, index, width)
        else:
            needed = h
        if needed > room and pages[-1].placed:
            pages.append(Page([]))
            y = top
            room = bottom - y
        if h > room:
            scale = room / h
            pages[-1].placed.append(Placed(block, y, room, scale))
            y = bottom
            continue
        pages[-1].placed.append(Placed(block, y, h))
        y += h
    return pages


def paint_placed(painter: QPainter, placed: Placed, x: float, width: float) -> None:
    if placed.scale >= 1.0:
        placed.block.paint(painter, x, placed.y, width)
        return
    painter.save()
    painter.translate(x, placed.y)
    painter.scale(placed.scale, placed.scale)
    placed.block.paint(painter, 0, 0, width / placed.scale)
    painter.restore()


def total_height(blocks: Sequence[Block], width: float) -> float:
    return sum(b.height(width) for b in blocks)


def paint_footer(
    painter: QPainter,
    fonts: Fonts,
    page_size: QSizeF,
    left: str,
    right: str,
    *,
    note: str = "",
    note_colour: str = MUTED,
) -> None:
    """Footer line: app and date on the left, page number on the right."""
    width = page_size.width() - 2 * MARGIN
    y = page_size.height() - MARGIN - FOOTER_HEIGHT + 8
    painter.save()
    pen = QPen(QColor(LINE))
    pen.setWidthF(0.75)
    painter.setPen(pen)
    painter.drawLine(QPointF(MARGIN, y - 6), QPointF(MARGIN + width, y - 6))
    painter.restore()
    right_width = 90.0
    extra = f' &nbsp;&middot;&nbsp; <b style="color:{note_colour}">{esc(note)}</b>' if note else ""
    left_doc = TextBlock(f'<p style="color:{MUTED}">{esc(left)}{extra}</p>', fonts, 7.5)
    left_doc.paint(painter, MARGIN, y, width - right_width)
    number_box = QRectF(MARGIN + width - right_width, y, right_width, 20)
    _paint_line_right(painter, fonts, right, number_box)


def _paint_line_right(painter: QPainter, fonts: Fonts, text: str, rect: QRectF) -> None:
    """One short line of plain text, right-aligned at the top of `rect`, in footer type.

    Drawn directly rather than as a text document: the page number differs on every
    page, so no document could be shared, and one per page was a tenth of the time
    of 200 sheets. In device units, where the font's point size means what it says.
    """
    painter.save()
    box = painter.worldTransform().mapRect(rect)
    painter.resetTransform()
    painter.setFont(fonts.font(7.5))
    painter.setPen(QColor(MUTED))
    painter.drawText(box, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop), text)
    painter.restore()


def body_bottom(page_size: QSizeF) -> float:
    return page_size.height() - MARGIN - FOOTER_HEIGHT


def content_width(page_size: QSizeF) -> float:
    return page_size.width() - 2 * MARGIN


class PageTarget(Protocol):
    """Where pages go: a PDF writer or a list of images."""

    def begin_page(self, index: int) -> QPainter: ...

    def end_page(self, painter: QPainter) -> None: ...

    def finish(self) -> None: ...


class PdfTarget:
    """A PDF built in memory (so a failed export never leaves half a file on disk).

    Fonts are embedded by QPdfWriter; text stays text (selectable, copyable).
    """

    def __init__(self, paper: Paper, title: str):
        require_gui()
        self._data = QByteArray()
        self._buffer = QBuffer(self._data)
        self._buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        self._writer = QPdfWriter(self._buffer)
        self._writer.setPageSize(paper.page_size)
        self._writer.setPageMargins(QMarginsF(0, 0, 0, 0), QPageLayout.Unit.Point)
        self._writer.setResolution(1200)
        self._writer.setTitle(title)
        self._writer.setCreator(APP_TITLE)
        self._painter: QPainter | None = None

    def begin_page(self, index: int) -> QPainter:
        if self._painter is None:
            self._painter = QPainter()
            if not self._painter.begin(self._writer):
                raise OSError("the PDF could not be started")
        else:
            self._writer.newPage()
        self._painter.save()
        factor = self._writer.resolution() / LAYOUT_DPI
        self._painter.scale(factor, factor)
        self._painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        return self._painter

    def end_page(self, painter: QPainter) -> None:
        painter.restore()

    def finish(self) -> None:
        if self._painter is not None:
            self._painter.end()
            self._painter = None
        self._buffer.close()

    def pdf(self) -> bytes:
        return bytes(self._data.data())


class ImageTarget:
    """Pages as images (previews), white paper at the given resolution."""

    def __init__(self, paper: Paper, dpi: float):
        size = paper.size_pt
        self._width = round(size.width() / LAYOUT_DPI * dpi)
        self._height = round(size.height() / LAYOUT_DPI * dpi)
        self._dpi = dpi
        self.images: list[QImage] = []

    def begin_page(self, index: int) -> QPainter:
        image = QImage(self._width, self._height, QImage.Format.Format_RGB32)
        dots = round(self._dpi / 0.0254)
        image.setDotsPerMeterX(dots)
        image.setDotsPerMeterY(dots)
        image.fill(Qt.GlobalColor.white)
        self.images.append(image)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        factor = self._dpi / LAYOUT_DPI
        painter.scale(factor, factor)
        return painter

    def end_page(self, painter: QPainter) -> None:
        painter.end()

    def finish(self) -> None:
        return None


def fill_path(painter: QPainter, path: QPainterPath, colour: str) -> None:
    painter.save()
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(colour))
    painter.drawPath(path)
    painter.restore()
