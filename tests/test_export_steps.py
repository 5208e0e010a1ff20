"""Sheets are painted in steps, so the window stays live through a long export (issue 14).

Painting must stay on the UI thread (wizard.export.layout.require_gui); the page paints
a few sheets per turn of the event loop instead of all of them in one go.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from tests.pdf_helpers import pages_text
from tests.test_ui_sheets import _page
from wizard.core.clouds import CLOUDS, CloudId
from wizard.core.profile import Printer, SiteProfile
from wizard.core.sheet import PrinterSheet, build_site_sheets
from wizard.export.sheets import SheetsExport, SheetsPdfJob
from wizard.services.vendors import vendor_by_id
from wizard.ui.selftest import sample_profile


def _profile(count: int) -> SiteProfile:
    base = sample_profile()
    printers = tuple(
        Printer(f"Printer {i:02d}", "canon", "", f"Room {i}", f"printer{i:02d}@contoso.com")
        for i in range(count)
    )
    return replace(base, printers=printers)


def _sheets(count: int) -> tuple[PrinterSheet, ...]:
    cloud = CLOUDS[CloudId.WORLDWIDE]
    return build_site_sheets(_profile(count), cloud, vendor_by_id, today=date(2026, 11, 2))


def test_a_pdf_job_lays_out_then_paints_one_sheet_per_step(qapp: QGuiApplication) -> None:
    sheets = _sheets(3)
    job = SheetsPdfJob(sheets)
    with pytest.raises(RuntimeError):
        job.pdf()
    steps = 1
    while not job.step():
        steps += 1
    # Three layouts, three paintings, then the step that finishes the file.
    assert steps == 7 and job.done
    pages = pages_text(job.pdf())
    assert len(pages) == 3
    assert all(f"Printer {i:02d}" in text for i, text in enumerate(pages))
    # The page numbers (drawn as plain text, not a document per page) are there.
    assert all(f"Page {i + 1} of 3" in text for i, text in enumerate(pages))


def test_one_file_per_printer_in_steps_with_distinct_names(qapp: QGuiApplication) -> None:
    sheets = _sheets(2)
    sheets = (sheets[0], replace(sheets[1], printer_name=sheets[0].printer_name.upper()))
    export = SheetsExport(sheets, per_printer=True)
    assert not export.step() and export.files == []
    files = export.run()
    assert [name for name, _ in files] == ["Printer-00.pdf", "PRINTER-00-2.pdf"]
    assert all(len(pages_text(data)) == 1 for _, data in files)


def test_the_window_gets_turns_while_the_page_paints_an_export(
    qtbot: QtBot, tmp_path: Path
) -> None:
    wizard, page = _page(qtbot, _profile(15))
    target = tmp_path / "sheets.pdf"
    turns_while_painting: list[int] = []
    heartbeat = QTimer()
    heartbeat.setInterval(0)
    # A turn of the event loop that finds the export started but no file written yet.
    heartbeat.timeout.connect(
        lambda: (
            turns_while_painting.append(1)
            if not page.isComplete() and not target.exists()
            else None
        )
    )
    page.export_to(target, per_printer=False)
    assert not target.exists() and not page.isComplete()  # painting has only begun
    heartbeat.start()
    qtbot.waitUntil(lambda: page.isComplete() and target.exists(), timeout=30_000)
    heartbeat.stop()
    assert len(turns_while_painting) > 1
    assert len(pages_text(target.read_bytes())) == 15
