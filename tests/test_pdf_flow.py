"""Page flow in the PDFs: headings keep with what follows (issue 13, item 8)."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtGui import QGuiApplication

from wizard.core.findings import Finding, FindingsDocument, Section, Severity, Table
from wizard.export import findings_report
from wizard.export.layout import (
    MARGIN,
    Fonts,
    KeepWithNext,
    Paper,
    Spacer,
    body_bottom,
    content_width,
    flow,
)


def test_a_heading_that_would_end_a_page_starts_the_next() -> None:
    heading = KeepWithNext(Spacer(20))
    intro = KeepWithNext(Spacer(10))
    table = Spacer(60)
    pages = flow([Spacer(70), heading, intro, table], 100, 0, 0, 100)
    # 70 + 20 + 10 fit, but the table does not: heading, intro and table move on.
    assert [[p.block for p in page.placed] for page in pages][1] == [heading, intro, table]
    assert len(pages[0].placed) == 1
    # With room for all of it, nothing moves.
    roomy = flow([Spacer(10), heading, intro, table], 100, 0, 0, 100)
    assert len(roomy) == 1
    # A heading first on a page stays, even before a block taller than the page.
    tall = flow([heading, Spacer(500)], 100, 0, 0, 100)
    assert tall[0].placed[0].block is heading


def _audit(findings_before: int) -> FindingsDocument:
    mailboxes = Table(
        ("Mailbox", "SMTP AUTH"), tuple((f"user{i}@contoso.com", "on") for i in range(25))
    )
    return FindingsDocument(
        kind="audit",
        title="Relay audit",
        subject="Contoso",
        generated=datetime(2026, 12, 2, 10, 42),
        facts=(("Tenant", "Contoso"),),
        sections=(
            Section(
                "Findings",
                tuple(
                    Finding(
                        f"f{i}", Severity.WARNING, f"Finding {i}", "Some details " * 8, "Fix it."
                    )
                    for i in range(findings_before)
                ),
            ),
            Section("SMTP AUTH per mailbox", table=mailboxes, text="Every mailbox and its switch."),
        ),
    )


def test_no_audit_heading_sits_alone_at_the_foot_of_a_page(qapp: QGuiApplication) -> None:
    paper = Paper.A4
    size = paper.size_pt
    width = content_width(size)
    fonts = Fonts.pick()
    # However many findings come before it, the heading shares its page with the table.
    for count in range(0, 16):
        blocks = findings_report._blocks(_audit(count), fonts)
        pages = flow(blocks, width, MARGIN, MARGIN, body_bottom(size))
        for page in pages[:-1]:
            last = page.placed[-1].block
            assert not getattr(last, "keep_with_next", False), f"{count} findings: heading alone"
