"""Printer settings sheets: one page per printer, as PDF or as preview images.

API (all need a QGuiApplication; offscreen is fine):
- `write_sheets_pdf(sheets, path, paper=Paper.A4)`: one multi-page PDF.
- `write_sheet_files(sheets, folder, paper=Paper.A4)`: one PDF per printer.
- `render_sheet_images(sheets, paper=Paper.A4, dpi=72)`: QImages of the pages, for
  previews; the same painting as the PDF.
- `sheet_file_name(sheet)`: the file name `write_sheet_files` uses.

The content comes from wizard.core.sheet.PrinterSheet. A sheet is fitted to one page
by shrinking its type a little where needed; a sheet that still does not fit (very
long names and notes) flows onto a second page rather than being cut.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from PySide6.QtCore import QRectF
from PySide6.QtGui import QFontMetricsF, QImage, QPainter

from wizard.core.i18n import tr
from wizard.core.sheet import PrinterSheet, RowState, SheetRow
from wizard.export.layout import (
    ACCENT,
    APP_TITLE,
    BAD,
    DANGER_FILL,
    FILL,
    GOOD,
    LINE,
    MARGIN,
    MUTED,
    WARN_FILL,
    WARN_INK,
    WARN_LINE,
    Aside,
    Block,
    Box,
    Fonts,
    ImageTarget,
    Page,
    PageTarget,
    Paper,
    PdfTarget,
    Rule,
    SharedDocuments,
    Spacer,
    TextBlock,
    body_bottom,
    content_width,
    esc,
    flow,
    layout_device,
    paint_footer,
    paint_placed,
    require_gui,
    shared_text,
    total_height,
)
from wizard.export.qr import paint_qr
from wizard.services.atomic import write_atomic

# Type shrinks in these steps until a sheet fits one page.
_SCALES = (1.0, 0.94, 0.88, 0.82, 0.76, 0.7)
_QR_SIDE = 116.0
_CONTINUED_TOP = 22.0


def _date(sheet: PrinterSheet) -> str:
    return sheet.generated.strftime("%d %B %Y").lstrip("0")


def _model_line(sheet: PrinterSheet) -> str:
    model = sheet.model.strip()
    if not model:
        return sheet.vendor_name
    if model.casefold().startswith(sheet.vendor_name.casefold()):
        return model
    return f"{sheet.vendor_name} {model}"


def _header(sheet: PrinterSheet, fonts: Fonts, s: float) -> list[Block]:
    site = esc(sheet.site_name) + (f" &middot; {esc(sheet.domain)}" if sheet.domain else "")
    details = [esc(_model_line(sheet))]
    if sheet.location.strip():
        details.append(esc(tr("Location: {where}").format(where=sheet.location.strip())))
    markup = (
        '<table width="100%" cellspacing="0" cellpadding="0"><tr>'
        f'<td valign="top"><span style="font-size:{8 * s}pt;font-weight:bold;color:{ACCENT}">'
        f"{esc(tr('PRINTER EMAIL SETTINGS'))}</span></td>"
        f'<td valign="top" align="right"><span style="font-size:{8.5 * s}pt;color:{MUTED}">'
        f"{site}</span></td></tr></table>"
        f'<p style="margin-top:{5 * s}px;font-size:{20 * s}pt;font-weight:bold">'
        f"{esc(sheet.printer_name)}</p>"
        f'<p style="margin-top:{2 * s}px;font-size:{10.5 * s}pt;color:{MUTED}">'
        f"{' &nbsp;&middot;&nbsp; '.join(details)}</p>"
    )
    return [
        Rule(ACCENT, 2.5, 0),
        Spacer(8 * s),
        TextBlock(markup, fonts, 9.5 * s),
        Rule(LINE, 0.75, 7 * s),
    ]


def _method(sheet: PrinterSheet, fonts: Fonts, s: float) -> Block:
    def column(title: str, mark: str, colour: str, items: Sequence[str]) -> str:
        lines = "".join(
            f'<p style="margin-top:{2.5 * s}px"><span style="color:{colour}">{mark}</span> '
            f"{esc(item)}</p>"
            for item in items
        )
        return (
            f'<td width="50%" valign="top" style="padding-right:{8 * s}px">'
            f'<p style="font-weight:bold;color:{colour}">{mark} {esc(title)}</p>{lines}</td>'
        )

    markup = (
        f'<p style="font-size:{8 * s}pt;font-weight:bold;color:{MUTED}">'
        f"{esc(tr('HOW THIS PRINTER SENDS MAIL'))}</p>"
        f'<p style="margin-top:{3 * s}px;font-size:{12 * s}pt;font-weight:bold">'
        f"{esc(sheet.method_title)}</p>"
        f'<p style="margin-top:{2 * s}px">{esc(sheet.method_sentence)}</p>'
        f'<table width="100%" cellspacing="0" cellpadding="0" style="margin-top:{6 * s}px"><tr>'
        + column(tr("It can"), "\u2713", GOOD, sheet.can)
        + column(tr("It cannot"), "\u2717", BAD, sheet.cannot)
        + "</tr></table>"
    )
    main = TextBlock(markup, fonts, 9 * s)
    caption = TextBlock(
        f'<p align="center" style="color:{MUTED}">'
        f"{esc(tr('Scan for these settings'))}<br/>"
        f"{esc(tr('(never contains the password)'))}</p>",
        fonts,
        7.5 * s,
    )
    side = _QR_SIDE * min(1.0, s + 0.1)

    def side_height() -> float:
        return side + caption.height(side)

    def paint_side(painter: QPainter, rect: QRectF) -> None:
        paint_qr(painter, QRectF(rect.x(), rect.y(), side, side), sheet.qr_payload)
        caption.paint(painter, rect.x(), rect.y() + side, side)

    return Aside(main, side, side_height, paint_side, space_after=6 * s)


def _value_cell(row: SheetRow, fonts: Fonts, s: float) -> str:
    note = (
        f"<br/><span style=\"font-family:'{fonts.sans}';font-size:{7.5 * s}pt;color:{MUTED}\">"
        f"{esc(row.note)}</span>"
        if row.note
        else ""
    )
    if row.state is RowState.VALUE:
        value = (
            f"<span style=\"font-family:'{fonts.mono}';font-size:{10 * s}pt;"
            f'white-space:pre-wrap">{esc(row.value)}</span>'
        )
    elif row.state is RowState.SECRET_SHOWN:
        value = (
            f"<span style=\"font-family:'{fonts.mono}';font-size:{10 * s}pt;"
            f'white-space:pre-wrap">{esc(row.value)}</span><br/>'
            f'<span style="font-size:{7.5 * s}pt;color:{BAD}">'
            f"{esc(tr('Printed at your request: keep this sheet locked away.'))}</span>"
        )
    elif row.state is RowState.SECRET_HIDDEN:
        value = f'<span style="color:{WARN_INK}"><i>{esc(row.value)}</i></span>'
    else:
        value = f'<span style="color:{MUTED}"><i>{esc(row.value)}</i></span>'
    return value + note


def _settings(sheet: PrinterSheet, fonts: Fonts, s: float) -> list[Block]:
    if sheet.labels_checked:
        about = tr("Labels as in {vendor}'s manual, in the order its page shows them.")
    else:
        about = tr(
            "Labels as {vendor} usually names them; your model may word them slightly "
            "differently: pick the nearest match."
        )
    heading = (
        f'<p style="font-size:{12.5 * s}pt;font-weight:bold">{esc(tr("Settings to enter"))}</p>'
        f'<p style="margin-top:{1.5 * s}px;font-size:{8 * s}pt;color:{MUTED}">'
        f"{esc(about.format(vendor=sheet.vendor_name))}</p>"
    )
    rows = "".join(
        f'<tr><td width="36%" valign="top" bgcolor="{FILL}" '
        f'style="border-bottom:1px solid {LINE}"><b>{esc(row.label)}</b></td>'
        f'<td valign="top" style="border-bottom:1px solid {LINE}">'
        f"{_value_cell(row, fonts, s)}</td></tr>"
        for row in sheet.rows
    )
    table = (
        f'<table width="100%" cellspacing="0" cellpadding="{5 * s}" '
        f'style="border-collapse:collapse;border:1px solid {LINE}">{rows}</table>'
    )
    blocks: list[Block] = [
        TextBlock(heading, fonts, 9.5 * s, space_after=5 * s),
        TextBlock(table, fonts, 9.5 * s, space_after=4 * s),
    ]
    if sheet.notes:
        notes = "".join(
            f'<p style="margin-top:{1.5 * s}px;color:{MUTED}">&bull; {esc(n)}</p>'
            for n in sheet.notes
        )
        blocks.append(TextBlock(notes, fonts, 8 * s))
    blocks.append(Spacer(8 * s))
    return blocks


def _heading(title: str, s: float, aside: str = "") -> str:
    extra = f' <span style="font-size:{8 * s}pt;color:{MUTED}">{esc(aside)}</span>' if aside else ""
    return f'<p style="font-size:{11 * s}pt;font-weight:bold">{esc(title)}{extra}</p>'


def _menu_lines(steps: Sequence[str], fonts: Fonts, size: float, width: float) -> list[str]:
    """Pack the steps into lines so a line breaks between steps, never inside one."""
    metrics = QFontMetricsF(fonts.font(size, bold=True), layout_device())
    separator = " \u203a "
    lines: list[str] = []
    current = ""
    for step in steps:
        candidate = f"{current}{separator}{step}" if current else step
        if current and metrics.horizontalAdvance(candidate) > width * 0.98:
            lines.append(current + separator.rstrip())
            current = step
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


def _where(sheet: PrinterSheet, fonts: Fonts, s: float, width: float) -> list[Block]:
    size = 9.5 * s
    path = "<br/>".join(
        esc(line).replace("\u203a", f'<span style="font-weight:normal;color:{MUTED}">\u203a</span>')
        for line in _menu_lines(sheet.menu_steps, fonts, size, width)
    )
    markup = (
        _heading(tr("Where to find it"), s, tr("(a guide; menus change with firmware)"))
        + f'<p style="margin-top:{3 * s}px;font-weight:bold">{path}</p>'
        + f'<p style="margin-top:{2 * s}px;font-size:{8 * s}pt;color:{MUTED}">'
        + esc(tr("Written for: {families}").format(families=", ".join(sheet.families)))
        + "</p>"
    )
    return [TextBlock(markup, fonts, size, space_after=8 * s)]


def _bullets(items: Sequence[str], s: float) -> str:
    return "".join(f'<p style="margin-top:{2 * s}px">&bull; {esc(i)}</p>' for i in items)


def _body(sheet: PrinterSheet, fonts: Fonts, s: float, width: float) -> list[Block]:
    blocks: list[Block] = [_method(sheet, fonts, s)]
    for warning in sheet.warnings:
        blocks.append(
            Box(
                TextBlock(
                    f'<p style="color:{BAD}"><b>\u26a0 {esc(tr("Check first"))}:</b> '
                    f"{esc(warning)}</p>",
                    fonts,
                    9 * s,
                ),
                fill=DANGER_FILL,
                line=BAD,
                padding=6 * s,
                space_after=6 * s,
            )
        )
    blocks += _settings(sheet, fonts, s)
    blocks += _where(sheet, fonts, s, width)
    if sheet.oauth_how:
        blocks.append(
            TextBlock(
                _heading(tr("Signing in with Microsoft (OAuth)"), s)
                + f'<p style="margin-top:{3 * s}px">{esc(sheet.oauth_how)}</p>',
                fonts,
                9 * s,
                space_after=8 * s,
            )
        )
    if sheet.pitfalls:
        blocks.append(
            TextBlock(
                _heading(tr("Watch out for"), s) + _bullets(sheet.pitfalls, s),
                fonts,
                9 * s,
                space_after=8 * s,
            )
        )
    if sheet.retirement_note:
        blocks.append(
            Box(
                TextBlock(
                    f'<p style="color:{WARN_INK}"><b>\u26a0 '
                    f"{esc(tr('Password sign-in is being retired'))}</b></p>"
                    f'<p style="margin-top:{2 * s}px">{esc(sheet.retirement_note)}</p>',
                    fonts,
                    9 * s,
                ),
                fill=WARN_FILL,
                line=WARN_LINE,
                padding=7 * s,
                space_after=8 * s,
            )
        )
    blocks.append(_last_test(sheet, fonts, s))
    return blocks


def _last_test(sheet: PrinterSheet, fonts: Fonts, s: float) -> Block:
    test = sheet.last_test
    if test is None:
        text = (
            f'<span style="color:{MUTED}">\u2014 '
            f"{esc(tr('No test message has been recorded for this printer yet.'))}</span>"
        )
    else:
        colour, mark, word = (
            (GOOD, "\u2713", tr("Passed")) if test.passed else (BAD, "\u2717", tr("Failed"))
        )
        when = test.when.strftime("%d %B %Y, %H:%M").lstrip("0")
        text = (
            f'<b style="color:{colour}">{mark} {esc(word)}</b> '
            f'<span style="color:{MUTED}">{esc(when)}</span> &nbsp;{esc(test.summary)}'
        )
    return TextBlock(
        f"<p><b>{esc(tr('Last test:'))}</b> {text}</p>", fonts, 9 * s, space_after=2 * s
    )


def _continued(sheet: PrinterSheet, fonts: Fonts) -> TextBlock:
    return TextBlock(
        f'<p style="color:{MUTED}">{esc(sheet.printer_name)} {esc(tr("(continued)"))}</p>',
        fonts,
        8,
    )


def _layout(sheet: PrinterSheet, fonts: Fonts, paper: Paper) -> list[Page]:
    size = paper.size_pt
    width = content_width(size)
    room = body_bottom(size) - MARGIN
    blocks: list[Block] = []
    for s in _SCALES:
        blocks = _header(sheet, fonts, s) + _body(sheet, fonts, s, width)
        if total_height(blocks, width) <= room:
            break
    return flow(blocks, width, MARGIN, MARGIN + _CONTINUED_TOP, body_bottom(size))


def _paint(
    sheets: Sequence[PrinterSheet], target: PageTarget, paper: Paper, fonts: Fonts
) -> list[int]:
    """Paint every sheet onto `target`; returns the number of pages of each sheet."""
    counts: list[int] = []
    for _ in _paint_steps(sheets, target, paper, fonts, counts):
        pass
    return counts


def _paint_steps(
    sheets: Sequence[PrinterSheet],
    target: PageTarget,
    paper: Paper,
    fonts: Fonts,
    counts: list[int],
) -> Iterator[None]:
    """Paint the sheets, pausing (yield) after each sheet's layout and each sheet's
    painting: a few milliseconds each, so a window can paint itself in between."""
    # Sheets of one site repeat most paragraphs: each is parsed and laid out once.
    documents: SharedDocuments = {}
    laid_out: list[tuple[PrinterSheet, list[Page]]] = []
    for sheet in sheets:
        with shared_text(documents):
            laid_out.append((sheet, _layout(sheet, fonts, paper)))
        yield
    total = sum(len(pages) for _, pages in laid_out)
    size = paper.size_pt
    width = content_width(size)
    index = 0
    for sheet, pages in laid_out:
        counts.append(len(pages))
        with shared_text(documents):
            for number, page in enumerate(pages):
                painter = target.begin_page(index)
                try:
                    if number > 0:
                        _continued(sheet, fonts).paint(painter, MARGIN, MARGIN, width)
                    for placed in page.placed:
                        paint_placed(painter, placed, MARGIN, width)
                    left = tr("{app} \u00b7 {date}").format(app=APP_TITLE, date=_date(sheet))
                    if sheet.includes_password:
                        note, colour = tr("Contains a password: keep it safe."), BAD
                    else:
                        note, colour = tr("No password on this sheet."), MUTED
                    paint_footer(
                        painter,
                        fonts,
                        size,
                        left,
                        tr("Page {n} of {total}").format(n=index + 1, total=total),
                        note=note,
                        note_colour=colour,
                    )
                finally:
                    target.end_page(painter)
                index += 1
        yield
    target.finish()


class SheetsPdfJob:
    """One PDF of these sheets, painted a sheet at a time.

    `step()` lays out or paints one sheet (a few milliseconds) and returns True once
    the PDF is complete. The Sheets page calls it between turns of its event loop, so
    the window stays live while hundreds of sheets are painted (painting must stay on
    the GUI thread: see require_gui). `run()` does every step at once.
    """

    def __init__(
        self, sheets: Sequence[PrinterSheet], *, paper: Paper = Paper.A4, title: str | None = None
    ):
        if not sheets:
            raise ValueError("there are no sheets to export")
        self._target = PdfTarget(paper, title or tr("Printer settings sheets"))
        self._steps = _paint_steps(sheets, self._target, paper, Fonts.pick(), [])
        self.done = False

    def step(self) -> bool:
        if not self.done:
            try:
                next(self._steps)
            except StopIteration:
                self.done = True
        return self.done

    def run(self) -> bytes:
        while not self.step():
            pass
        return self.pdf()

    def pdf(self) -> bytes:
        if not self.done:
            raise RuntimeError("the PDF is not finished")
        return self._target.pdf()


def sheets_pdf_bytes(
    sheets: Sequence[PrinterSheet], *, paper: Paper = Paper.A4, title: str | None = None
) -> bytes:
    """The PDF of these sheets, in memory."""
    return SheetsPdfJob(sheets, paper=paper, title=title).run()


def sheets_pdf_title(sheets: Sequence[PrinterSheet]) -> str:
    """The PDF title of a file holding all these sheets."""
    if not sheets:
        return ""
    return tr("Printer settings sheets \u2014 {site}").format(site=sheets[0].site_name)


def write_sheets_pdf(
    sheets: Sequence[PrinterSheet], path: Path, *, paper: Paper = Paper.A4
) -> Path:
    """All sheets in one PDF file (written atomically)."""
    write_atomic(path, sheets_pdf_bytes(sheets, paper=paper, title=sheets_pdf_title(sheets)))
    return path


_UNSAFE = re.compile(r"[^\w.-]+", re.UNICODE)


def sheet_file_name(sheet: PrinterSheet) -> str:
    """A file name from the printer's name, safe on every platform."""
    base = _UNSAFE.sub("-", sheet.printer_name.strip()).strip("-.")[:80] or "printer"
    return f"{base}.pdf"


def _file_names(sheets: Sequence[PrinterSheet]) -> list[str]:
    """A file name per sheet; no two are the same (whatever the case)."""
    names: list[str] = []
    used: set[str] = set()
    for sheet in sheets:
        name = sheet_file_name(sheet)
        stem, n = name[:-4], 2
        while name.casefold() in used:
            name, n = f"{stem}-{n}.pdf", n + 1
        used.add(name.casefold())
        names.append(name)
    return names


class SheetsExport:
    """The files of an export, painted in steps: all sheets in one PDF (file name ""),
    or one PDF per printer. `step()` returns True once `files` is complete."""

    def __init__(
        self, sheets: Sequence[PrinterSheet], *, paper: Paper = Paper.A4, per_printer: bool
    ):
        if per_printer:
            parts = [
                (
                    [sheet],
                    name,
                    tr("Printer settings \u2014 {printer}").format(printer=sheet.printer_name),
                )
                for sheet, name in zip(sheets, _file_names(sheets), strict=True)
            ]
        else:
            parts = [(list(sheets), "", sheets_pdf_title(sheets))]
        self.files: list[tuple[str, bytes]] = []
        self._steps = self._paint(parts, paper)
        self.done = False

    def _paint(
        self, parts: list[tuple[list[PrinterSheet], str, str]], paper: Paper
    ) -> Iterator[None]:
        for part, name, title in parts:
            job = SheetsPdfJob(part, paper=paper, title=title)
            while not job.step():
                yield
            self.files.append((name, job.pdf()))
            yield

    def step(self) -> bool:
        if not self.done:
            try:
                next(self._steps)
            except StopIteration:
                self.done = True
        return self.done

    def run(self) -> list[tuple[str, bytes]]:
        while not self.step():
            pass
        return self.files


def sheet_files(
    sheets: Sequence[PrinterSheet], *, paper: Paper = Paper.A4
) -> list[tuple[str, bytes]]:
    """One PDF per printer, in memory: (file name, data); no two names are the same."""
    return SheetsExport(sheets, paper=paper, per_printer=True).run()


def write_sheet_files(
    sheets: Sequence[PrinterSheet], folder: Path, *, paper: Paper = Paper.A4
) -> list[Path]:
    """One PDF per printer in `folder`; two printers never overwrite each other's file."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, data in sheet_files(sheets, paper=paper):
        path = folder / name
        write_atomic(path, data)
        written.append(path)
    return written


def render_sheet_images(
    sheets: Sequence[PrinterSheet], *, paper: Paper = Paper.A4, dpi: float = 72.0
) -> list[QImage]:
    """Every page as an image (white paper), for previews."""
    require_gui()
    target = ImageTarget(paper, dpi)
    _paint(sheets, target, paper, Fonts.pick())
    return target.images
