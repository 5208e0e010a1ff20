"""Troubleshooting and audit reports as PDF: the findings, the first thing to fix, the facts.

API (needs a QGuiApplication; offscreen is fine):
- `findings_pdf_bytes(document, paper=Paper.A4)`: the PDF in memory.
- `write_findings_pdf(document, path, paper=Paper.A4)`: written atomically.
- `render_findings_images(document, paper=Paper.A4, dpi=72)`: pages as images.

The content is a wizard.core.findings.FindingsDocument (from `TroubleshootReport.
document()` or `AuditReport.document()`). Every status is a mark, a word and a colour.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QImage

from wizard.core.findings import Finding, FindingsDocument, Section, Severity, Table
from wizard.core.i18n import tr
from wizard.core.steps import STEP_TITLES, WizardStep
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
    Block,
    Box,
    Fonts,
    ImageTarget,
    KeepWithNext,
    PageTarget,
    Paper,
    PdfTarget,
    Rule,
    Spacer,
    TextBlock,
    body_bottom,
    content_width,
    esc,
    flow,
    paint_footer,
    paint_placed,
    require_gui,
)
from wizard.services.atomic import write_atomic

_BODY = 9.5
_MARKS: dict[Severity, tuple[str, str]] = {
    Severity.OK: (GOOD, "\u2713"),
    Severity.INFO: (ACCENT, "i"),
    Severity.WARNING: (WARN_INK, "\u26a0"),
    Severity.PROBLEM: (BAD, "\u2717"),
}


def _day(document: FindingsDocument) -> str:
    return document.generated.astimezone().strftime("%d %B %Y, %H:%M").lstrip("0")


def _text(markup: str, fonts: Fonts, *, size: float = _BODY, after: float = 4) -> Block:
    return TextBlock(markup, fonts, size, space_after=after)


def _status(finding: Finding) -> str:
    colour, mark = _MARKS[finding.severity] if finding.checked else (MUTED, "\u2013")
    return f'<b style="color:{colour}">{mark} {esc(finding.word)}</b>'


def _step(step: WizardStep | None) -> str:
    if step is None:
        return ""
    if step is WizardStep.OUTSIDE:
        return tr("outside the wizard")
    return tr("in the wizard's step {step}").format(step=STEP_TITLES[step])


def _header(document: FindingsDocument, fonts: Fonts) -> list[Block]:
    return [
        Rule(ACCENT, 2.5, 0),
        Spacer(8),
        _text(
            f'<p style="font-size:8pt;font-weight:bold;color:{ACCENT}">'
            f"{esc(document.title.upper())}</p>"
            f'<p style="margin-top:4px;font-size:20pt;font-weight:bold">'
            f"{esc(document.subject or '-')}</p>"
            f'<p style="margin-top:2px;font-size:10.5pt;color:{MUTED}">'
            f"{esc(tr('generated {date}').format(date=_day(document)))}</p>",
            fonts,
            after=0,
        ),
        Rule(LINE, 0.75, 7),
    ]


def _summary(document: FindingsDocument, fonts: Fonts) -> list[Block]:
    first = document.summary
    if first is None:
        return [
            Box(
                _text(
                    f'<p><b style="color:{GOOD}">\u2713 {esc(tr("Nothing needs action"))}</b></p>'
                    f'<p style="margin-top:2px">'
                    f"{esc(tr('Every check that ran found nothing to fix.'))}</p>",
                    fonts,
                    after=0,
                ),
                fill=FILL,
                line=LINE,
            )
        ]
    bad = first.severity is Severity.PROBLEM
    where = _step(first.step)
    markup = (
        f'<p style="font-size:8pt;font-weight:bold;color:{BAD if bad else WARN_INK}">'
        f"{esc(tr('FIRST TO FIX'))}</p>"
        f'<p style="margin-top:3px;font-size:12pt;font-weight:bold">{esc(first.title)}</p>'
    )
    if first.details:
        markup += f'<p style="margin-top:3px">{esc(first.details)}</p>'
    if first.fix:
        markup += (
            f'<p style="margin-top:4px"><b>{esc(tr("Fix:"))}</b> {esc(first.fix)}'
            + (f' <span style="color:{MUTED}">({esc(where)})</span>' if where else "")
            + "</p>"
        )
    return [
        Box(
            _text(markup, fonts, after=0),
            fill=DANGER_FILL if bad else WARN_FILL,
            line=BAD if bad else WARN_LINE,
            accent_left=True,
        )
    ]


def _table(table: Table, fonts: Fonts) -> Block:
    head = "".join(f'<td bgcolor="{FILL}"><b>{esc(h)}</b></td>' for h in table.head)
    rows = "".join(
        "<tr>"
        + "".join(
            f'<td valign="top" style="border-top:1px solid {LINE}">{esc(cell)}</td>' for cell in row
        )
        + "</tr>"
        for row in table.rows
    )
    return _text(
        f'<table width="100%" cellspacing="0" cellpadding="4" '
        f'style="border-collapse:collapse;border:1px solid {LINE}">'
        f"<tr>{head}</tr>{rows}</table>",
        fonts,
        size=8.5,
        after=8,
    )


def _facts(document: FindingsDocument, fonts: Fonts) -> list[Block]:
    rows = "".join(
        f'<tr><td width="30%" valign="top" bgcolor="{FILL}" '
        f'style="border-bottom:1px solid {LINE}"><b>{esc(label)}</b></td>'
        f'<td valign="top" style="border-bottom:1px solid {LINE}">{esc(value)}</td></tr>'
        for label, value in document.facts
    )
    return [
        Spacer(4),
        _text(
            f'<table width="100%" cellspacing="0" cellpadding="4" '
            f'style="border-collapse:collapse;border:1px solid {LINE}">{rows}</table>',
            fonts,
            after=10,
        ),
    ]


def _finding(finding: Finding, fonts: Fonts) -> Block:
    markup = f"<p>{_status(finding)} &nbsp;<b>{esc(finding.title)}</b></p>"
    if finding.details:
        markup += f'<p style="margin-top:2px">{esc(finding.details)}</p>'
    if finding.fix and finding.needs_action:
        where = _step(finding.step)
        markup += (
            f'<p style="margin-top:2px"><b>{esc(tr("Fix:"))}</b> {esc(finding.fix)}'
            + (f' <span style="color:{MUTED}">({esc(where)})</span>' if where else "")
            + "</p>"
        )
    elif finding.step is not None and not finding.checked:
        markup += f'<p style="margin-top:2px;color:{MUTED}">{esc(_step(finding.step))}</p>'
    if finding.technical:
        lines = "<br>".join(esc(line) for line in finding.technical[:12])
        markup += (
            f'<p style="margin-top:2px;color:{MUTED};font-size:7.5pt;'
            f"font-family:'{fonts.mono}'\">{lines}</p>"
        )
    return _text(markup, fonts, after=8)


def _section(section: Section, fonts: Fonts) -> list[Block]:
    # The heading and its intro stay with what they introduce.
    blocks: list[Block] = [
        KeepWithNext(
            _text(
                f'<p style="font-size:12.5pt;font-weight:bold;color:{ACCENT}">'
                f"{esc(section.title)}</p>",
                fonts,
                after=4,
            )
        )
    ]
    if section.text:
        blocks.append(
            KeepWithNext(_text(f'<p style="color:{MUTED}">{esc(section.text)}</p>', fonts, after=4))
        )
    blocks.extend(_finding(f, fonts) for f in section.findings)
    if section.table is not None:
        if section.table.rows:
            blocks.append(_table(section.table, fonts))
        else:
            blocks.append(_text(f"<p>{esc(tr('(none)'))}</p>", fonts, after=8))
    blocks.append(Spacer(4))
    return blocks


def _blocks(document: FindingsDocument, fonts: Fonts) -> list[Block]:
    blocks = _header(document, fonts) + _summary(document, fonts) + _facts(document, fonts)
    for section in document.sections:
        blocks += _section(section, fonts)
    return blocks


def _paint(document: FindingsDocument, target: PageTarget, paper: Paper) -> int:
    fonts = Fonts.pick()
    size = paper.size_pt
    width = content_width(size)
    pages = flow(_blocks(document, fonts), width, MARGIN, MARGIN, body_bottom(size))
    for index, page in enumerate(pages):
        painter = target.begin_page(index)
        try:
            for placed in page.placed:
                paint_placed(painter, placed, MARGIN, width)
            paint_footer(
                painter,
                fonts,
                size,
                " \u00b7 ".join(
                    p for p in (APP_TITLE, document.title, document.subject, _day(document)) if p
                ),
                tr("Page {n} of {total}").format(n=index + 1, total=len(pages)),
            )
        finally:
            target.end_page(painter)
    target.finish()
    return len(pages)


def findings_pdf_bytes(document: FindingsDocument, *, paper: Paper = Paper.A4) -> bytes:
    target = PdfTarget(paper, f"{document.title} \u2014 {document.subject}")
    _paint(document, target, paper)
    return target.pdf()


def write_findings_pdf(document: FindingsDocument, path: Path, *, paper: Paper = Paper.A4) -> Path:
    write_atomic(path, findings_pdf_bytes(document, paper=paper))
    return path


def render_findings_images(
    document: FindingsDocument, *, paper: Paper = Paper.A4, dpi: float = 72.0
) -> list[QImage]:
    require_gui()
    target = ImageTarget(paper, dpi)
    _paint(document, target, paper)
    return target.images
