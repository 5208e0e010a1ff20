"""The device dialog: the catalog fills in what a model family can do (issue 13, item 7)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from wizard.core.methods import Tri
from wizard.core.profile import Printer
from wizard.services.vendors import load_catalog
from wizard.ui.pages.printer_dialog import PrinterDialog


def _dialog(qtbot: QtBot, printer: Printer | None = None) -> PrinterDialog:
    dialog = PrinterDialog(load_catalog(), domain="contoso.com", taken_names=(), printer=printer)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def _answers(dialog: PrinterDialog) -> tuple[Tri, Tri, Tri]:
    return dialog.tls12.value(), dialog.smtp_auth.value(), dialog.oauth.value()


def test_picking_a_family_fills_in_what_the_catalog_knows(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot)
    assert _answers(dialog) == (Tri.UNKNOWN,) * 3
    assert not dialog.catalog_note.isVisible()
    dialog.vendor.setCurrentIndex(dialog.vendor.findData("sharp"))
    dialog.model.setCurrentIndex(dialog.model.findText("BP series"))
    assert _answers(dialog) == (Tri.YES, Tri.YES, Tri.YES)
    assert dialog.from_catalog == {"tls12", "smtp_auth", "oauth"}
    assert all(mark.isVisible() for mark in dialog.catalog_marks.values())
    assert "From the catalog for Sharp BP series." in dialog.catalog_note.text()
    # Editable: the user's answer wins and loses the mark.
    qtbot.mouseClick(dialog.oauth.buttons()[Tri.NO], Qt.MouseButton.LeftButton)
    assert dialog.oauth.value() is Tri.NO
    assert not dialog.catalog_marks["oauth"].isVisible()
    assert dialog.from_catalog == {"tls12", "smtp_auth"}
    # Another family: the catalog's old answers go, the user's stays.
    dialog.vendor.setCurrentIndex(dialog.vendor.findData("hp"))
    dialog.model.setCurrentIndex(dialog.model.findText("LaserJet Pro MFP"))
    assert _answers(dialog) == (Tri.UNKNOWN, Tri.YES, Tri.NO)
    assert dialog.from_catalog == {"smtp_auth"}
    assert not dialog.catalog_marks["tls12"].isVisible()
    assert dialog.catalog_marks["smtp_auth"].isVisible()
    # A typed model of a known family counts too; an unknown one clears the catalog's.
    dialog.vendor.setCurrentIndex(dialog.vendor.findData("canon"))
    dialog.model.setEditText("imageRUNNER ADVANCE DX C5840i")
    assert _answers(dialog) == (Tri.YES, Tri.YES, Tri.NO)
    dialog.model.setEditText("imageCLASS something")
    assert _answers(dialog) == (Tri.UNKNOWN, Tri.UNKNOWN, Tri.NO)
    assert not dialog.catalog_note.isVisible()
    assert dialog.printer().oauth is Tri.NO


def test_a_saved_devices_answers_are_kept(qtbot: QtBot) -> None:
    saved = Printer(
        name="Copier",
        vendor="sharp",
        model="MX series",
        sender="copier@contoso.com",
        tls12=Tri.NO,
    )
    dialog = _dialog(qtbot, saved)
    assert _answers(dialog) == (Tri.NO, Tri.UNKNOWN, Tri.UNKNOWN)
    assert not dialog.from_catalog
    dialog.model.setCurrentIndex(dialog.model.findText("BP series"))
    # Only the "Not sure" answers are filled in.
    assert _answers(dialog) == (Tri.NO, Tri.YES, Tri.YES)
    assert dialog.from_catalog == {"smtp_auth", "oauth"}
