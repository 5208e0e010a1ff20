"""The setup report as PDF: what was set up for a site, why, and what is still open.

API (needs a QGuiApplication; offscreen is fine):
- `report_pdf_bytes(report, paper=Paper.A4)`: the PDF in memory.
- `write_report_pdf(report, path, paper=Paper.A4)`: written atomically.
- `render_report_images(report, paper=Paper.A4, dpi=72)`: pages as images.

The content is wizard.core.report_model.SetupReport. A section the wizard has not
run says so plainly ("Not run"); nothing is ever filled in for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtGui import QImage

from wizard.core.i18n import tr
from wizard.core.report_model import (
    AppliedChange,
    ChangeResult,
    CheckStatus,
    DnsResult,
    SetupReport,
    date_status,
)
from wizard.export.layout import (
    ACCENT,
    APP_TITLE,
    BAD,
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
from wizard.services.vendors import vendor_by_id

_BODY = 9.5

_CHANGE_WORDS = {
    ChangeResult.APPLIED: (GOOD, "\u2713", tr("Applied")),
    ChangeResult.UNCHANGED: (MUTED, "=", tr("Already set")),
    ChangeResult.FAILED: (BAD, "\u2717", tr("Failed")),
    ChangeResult.SKIPPED: (WARN_INK, "\u2013", tr("Skipped")),
}
_CHECK_WORDS = {
    CheckStatus.OK: (GOOD, "\u2713", tr("OK")),
    CheckStatus.WARNING: (WARN_INK, "\u26a0", tr("Warning")),
    CheckStatus.FAILED: (BAD, "\u2717", tr("Failed")),
    CheckStatus.NOT_RUN: (MUTED, "\u2013", tr("Not run")),
}


def _day(report: SetupReport) -> str:
    return report.generated.strftime("%d %B %Y").lstrip("0")


def _status(colour: str, mark: str, word: str) -> str:
    return f'<b style="color:{colour}">{mark} {esc(word)}</b>'


def _heading(title: str) -> Block:
    return KeepWithNext(
        TextBlock(
            f'<p style="font-size:12.5pt;font-weight:bold;color:{ACCENT}">{esc(title)}</p>',
            Fonts.pick(),
            _BODY,
            space_after=4,
        )
    )


def _text(markup: str, fonts: Fonts, *, size: float = _BODY, after: float = 4) -> Block:
    return TextBlock(markup, fonts, size, space_after=after)


def _not_run(fonts: Fonts, what: str) -> Block:
    return _text(
        f'<p style="color:{MUTED}"><i>{esc(tr("Not run:"))} {esc(what)}</i></p>', fonts, after=10
    )


def _mono(text: str, fonts: Fonts, size: float = 8.5) -> str:
    return (
        f"<span style=\"font-family:'{fonts.mono}';font-size:{size}pt;white-space:pre-wrap\">"
        f"{esc(text)}</span>"
    )


def _table(rows: Sequence[tuple[str, str]], fonts: Fonts, label_width: int = 30) -> str:
    body = "".join(
        f'<tr><td width="{label_width}%" valign="top" bgcolor="{FILL}" '
        f'style="border-bottom:1px solid {LINE}"><b>{label}</b></td>'
        f'<td valign="top" style="border-bottom:1px solid {LINE}">{value}</td></tr>'
        for label, value in rows
    )
    return (
        f'<table width="100%" cellspacing="0" cellpadding="4" '
        f'style="border-collapse:collapse;border:1px solid {LINE}">{body}</table>'
    )


def _header(report: SetupReport, fonts: Fonts) -> list[Block]:
    sub = [esc(report.domain)] if report.domain else []
    sub.append(esc(tr("generated {date}").format(date=_day(report))))
    return [
        Rule(ACCENT, 2.5, 0),
        Spacer(8),
        _text(
            f'<p style="font-size:8pt;font-weight:bold;color:{ACCENT}">'
            f"{esc(tr('SETUP REPORT'))}</p>"
            f'<p style="margin-top:4px;font-size:20pt;font-weight:bold">'
            f"{esc(report.site_name or tr('Unnamed site'))}</p>"
            f'<p style="margin-top:2px;font-size:10.5pt;color:{MUTED}">'
            f"{' &nbsp;&middot;&nbsp; '.join(sub)}</p>",
            fonts,
            after=0,
        ),
        Rule(LINE, 0.75, 7),
    ]


def _tenant(report: SetupReport, fonts: Fonts) -> list[Block]:
    blocks = [_heading(tr("Tenant"))]
    tenant = report.tenant
    if tenant is None:
        blocks.append(_not_run(fonts, tr("the wizard has not signed in to the tenant yet.")))
        return blocks
    rows = [
        (esc(tr("Organisation")), esc(tenant.name)),
        (esc(tr("Tenant ID")), _mono(tenant.tenant_id, fonts, 9)),
        (esc(tr("Domain")), esc(tenant.domain)),
    ]
    blocks.append(_text(_table(rows, fonts), fonts, after=10))
    return blocks


def _method(report: SetupReport, fonts: Fonts) -> list[Block]:
    blocks = [_heading(tr("Sending method"))]
    method = report.method
    if method is None:
        blocks.append(_not_run(fonts, tr("no sending method has been chosen yet.")))
        return blocks
    markup = f'<p style="font-size:11pt;font-weight:bold">{esc(method.title)}</p>'
    if method.reasons:
        markup += f'<p style="margin-top:4px"><b>{esc(tr("Why this method:"))}</b></p>'
        markup += "".join(
            f'<p style="margin-top:2px">&bull; {esc(reason)}</p>' for reason in method.reasons
        )
    else:
        markup += (
            f'<p style="margin-top:3px;color:{MUTED}"><i>'
            f"{esc(tr('The advisor was not run for this report, so its reasons are not listed.'))}"
            "</i></p>"
        )
    relay = report.relay_host
    if relay is not None:
        if relay.found:
            line = tr("Devices connect to {host} on port 25 ({source}).").format(
                host=relay.host, source=relay.source_label
            )
        else:
            line = tr("Relay host not found yet. ") + relay.not_found_advice
        markup += f'<p style="margin-top:4px">{esc(line)}</p>'
    blocks.append(_text(markup, fonts, after=6))
    if method.warnings:
        blocks.append(
            Box(
                _text(
                    "".join(
                        f'<p style="margin-top:2px;color:{WARN_INK}">\u26a0 {esc(w)}</p>'
                        for w in method.warnings
                    ),
                    fonts,
                    size=9,
                    after=0,
                ),
                fill=WARN_FILL,
                line=WARN_LINE,
                padding=6,
            )
        )
    blocks.append(Spacer(4))
    return blocks


def _model(vendor: str, model: str) -> str:
    if model.casefold().startswith(vendor.casefold()):
        return model
    return " ".join(x for x in (vendor, model) if x)


def _printers(report: SetupReport, fonts: Fonts) -> list[Block]:
    if not report.printers:
        return []
    head = (
        f'<tr><td bgcolor="{FILL}"><b>{esc(tr("Printer"))}</b></td>'
        f'<td bgcolor="{FILL}"><b>{esc(tr("Model"))}</b></td>'
        f'<td bgcolor="{FILL}"><b>{esc(tr("Location"))}</b></td></tr>'
    )
    rows = "".join(
        f'<tr><td style="border-top:1px solid {LINE}">{esc(p.name)}</td>'
        f'<td style="border-top:1px solid {LINE}">'
        f"{esc(_model(vendor_by_id(p.vendor).name if p.vendor else '', p.model))}</td>"
        f'<td style="border-top:1px solid {LINE}">{esc(p.location)}</td></tr>'
        for p in report.printers
    )
    table = (
        f'<table width="100%" cellspacing="0" cellpadding="4" '
        f'style="border-collapse:collapse;border:1px solid {LINE}">{head}{rows}</table>'
    )
    return [_heading(tr("Printers")), _text(table, fonts, after=10)]


def _change(change: AppliedChange, fonts: Fonts) -> Block:
    colour, mark, word = _CHANGE_WORDS[change.result]
    markup = f"<p>{_status(colour, mark, word)} &nbsp;{esc(change.title)}</p>"
    if change.detail:
        markup += f'<p style="margin-top:2px;color:{MUTED}">{esc(change.detail)}</p>'
    markup += (
        f'<table width="100%" cellspacing="0" cellpadding="4" style="margin-top:3px">'
        f'<tr><td bgcolor="{FILL}">{_mono("PS> " + change.powershell, fonts)}</td></tr></table>'
    )
    return _text(markup, fonts, after=7)


def _changes(report: SetupReport, fonts: Fonts) -> list[Block]:
    blocks = [_heading(tr("Changes in the tenant"))]
    if report.changes is None:
        blocks.append(_not_run(fonts, tr("no tenant changes were made with the wizard.")))
        return blocks
    if not report.changes:
        blocks.append(_text(f"<p>{esc(tr('No change was needed.'))}</p>", fonts, after=10))
        return blocks
    blocks.append(
        _text(
            f'<p style="color:{MUTED};font-size:8pt">'
            f"{esc(tr('Each change with the PowerShell command that does the same.'))}</p>",
            fonts,
            after=4,
        )
    )
    blocks.extend(_change(c, fonts) for c in report.changes)
    blocks.append(Spacer(4))
    return blocks


def _dns_row(result: DnsResult) -> tuple[str, str]:
    colour, mark, word = _CHECK_WORDS[result.status]
    return (esc(result.check), f"{_status(colour, mark, word)} &nbsp;{esc(result.summary)}")


def _dns(report: SetupReport, fonts: Fonts) -> list[Block]:
    blocks = [_heading(tr("DNS records"))]
    if report.dns is None:
        blocks.append(_not_run(fonts, tr("the DNS records have not been checked.")))
        return blocks
    if not report.dns:
        blocks.append(_not_run(fonts, tr("no DNS check applied to this setup.")))
        return blocks
    blocks.append(_text(_table([_dns_row(r) for r in report.dns], fonts, 18), fonts, after=6))
    open_fixes = report.open_dns_fixes
    if open_fixes:
        blocks.append(
            _text(
                f'<p style="font-weight:bold;color:{WARN_INK}">'
                f"{esc(tr('Fixes still open: publish these records at your DNS host'))}</p>",
                fonts,
                after=3,
            )
        )
        for fix in open_fixes:
            blocks.append(
                _text(
                    f"<p><b>{esc(fix.check)}</b></p>"
                    f'<table width="100%" cellspacing="0" cellpadding="4" style="margin-top:2px">'
                    f'<tr><td bgcolor="{FILL}">{_mono(fix.fix, fonts)}</td></tr></table>',
                    fonts,
                    after=5,
                )
            )
    else:
        blocks.append(_text(f"<p>{esc(tr('No DNS fix is open.'))}</p>", fonts, after=4))
    blocks.append(Spacer(4))
    return blocks


def _test(report: SetupReport, fonts: Fonts) -> list[Block]:
    blocks = [_heading(tr("Test message"))]
    test = report.test
    if test is None:
        blocks.append(_not_run(fonts, tr("no test message has been sent.")))
        return blocks
    colour, mark, word = (
        (GOOD, "\u2713", tr("Passed")) if test.passed else (BAD, "\u2717", tr("Failed"))
    )
    when = ""
    if test.when is not None:
        day = test.when.strftime("%d %B %Y, %H:%M").lstrip("0")
        when = f' <span style="color:{MUTED}">{esc(day)}</span>'
    markup = f"<p>{_status(colour, mark, word)}{when}</p>"
    markup += f'<p style="margin-top:2px">{esc(test.verdict)}</p>'
    blocks.append(_text(markup, fonts, after=4))
    if test.transcript:
        lines = "".join(f"<p>{_mono(line, fonts, 8)}</p>" for line in test.transcript)
        blocks.append(
            _text(
                f'<p style="color:{MUTED};font-size:8pt">{esc(tr("Transcript (summary)"))}</p>'
                f'<table width="100%" cellspacing="0" cellpadding="4" style="margin-top:2px">'
                f'<tr><td bgcolor="{FILL}">{lines}</td></tr></table>',
                fonts,
                after=10,
            )
        )
    return blocks


def _dates(report: SetupReport, fonts: Fonts) -> list[Block]:
    if not report.dates:
        return []
    rows = [
        (
            esc(item.when),
            f"{esc(item.what)} "
            f'<span style="color:{MUTED}">({esc(date_status(item, report.generated))})</span>',
        )
        for item in report.dates
    ]
    return [_heading(tr("Dates to remember")), _text(_table(rows, fonts, 24), fonts, after=6)]


def _blocks(report: SetupReport, fonts: Fonts) -> list[Block]:
    return (
        _header(report, fonts)
        + _tenant(report, fonts)
        + _method(report, fonts)
        + _printers(report, fonts)
        + _changes(report, fonts)
        + _dns(report, fonts)
        + _test(report, fonts)
        + _dates(report, fonts)
    )


def _paint(report: SetupReport, target: PageTarget, paper: Paper) -> int:
    fonts = Fonts.pick()
    size = paper.size_pt
    width = content_width(size)
    pages = flow(_blocks(report, fonts), width, MARGIN, MARGIN, body_bottom(size))
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
                    part
                    for part in (APP_TITLE, tr("setup report"), report.site_name, _day(report))
                    if part
                ),
                tr("Page {n} of {total}").format(n=index + 1, total=len(pages)),
            )
        finally:
            target.end_page(painter)
    target.finish()
    return len(pages)


def report_pdf_bytes(report: SetupReport, *, paper: Paper = Paper.A4) -> bytes:
    target = PdfTarget(paper, tr("Setup report \u2014 {site}").format(site=report.site_name))
    _paint(report, target, paper)
    return target.pdf()


def write_report_pdf(report: SetupReport, path: Path, *, paper: Paper = Paper.A4) -> Path:
    write_atomic(path, report_pdf_bytes(report, paper=paper))
    return path


def render_report_images(
    report: SetupReport, *, paper: Paper = Paper.A4, dpi: float = 72.0
) -> list[QImage]:
    require_gui()
    target = ImageTarget(paper, dpi)
    _paint(report, target, paper)
    return target.images
