"""Window and dialog sizes: remembered per window, always within the screen (issue 13)."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

from tests.ui_helpers import FIRST_PAGES, make_wizard, worldwide_on_loopback_dns
from wizard.sandbox.practice import Practice
from wizard.sandbox.tenant import demo_tenant
from wizard.services.vendors import load_catalog
from wizard.ui.manual_app_dialog import ManualAppSteps
from wizard.ui.pages.printer_dialog import PrinterDialog
from wizard.ui.practice_dialog import PracticeDialog
from wizard.ui.session import WizardSession
from wizard.ui.settings import (
    UiSettings,
    fit_to_screen,
    load_dialog_size,
    load_ui_settings,
    save_dialog_size,
    save_ui_settings,
)
from wizard.ui.wizard import RelayWizard

# A 1920x1080 screen at 200% leaves 960x540 to lay out in, less the window frame.
ROOM_AT_200 = fit_to_screen(QSize(20000, 20000), QSize(960, 540))


def _printer_dialog() -> PrinterDialog:
    return PrinterDialog(load_catalog(), domain="contoso.com", taken_names=())


def _practice_dialog() -> PracticeDialog:
    return PracticeDialog(Practice(demo_tenant()))


def _open_and_close(qtbot: QtBot, dialog: QDialog, size: QSize | None = None) -> QSize:
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    if size is not None:
        dialog.resize(size)
    shown = dialog.size()
    dialog.reject()
    return shown


def test_each_dialog_remembers_its_size(qtbot: QtBot) -> None:
    for name, make in (("printerDialog", _printer_dialog), ("practiceDialog", _practice_dialog)):
        _open_and_close(qtbot, make(), QSize(640, 450))
        assert load_dialog_size(name) == (640, 450)
        assert _open_and_close(qtbot, make()) == QSize(640, 450), name
    # The wizard keeps the dialogs' sizes when it saves its own, and the other way round.
    save_ui_settings(UiSettings(800, 600))
    assert load_dialog_size("printerDialog") == (640, 450)
    save_dialog_size("manualAppSteps", 700, 400)
    assert (load_ui_settings().width, load_ui_settings().height) == (800, 600)


def test_a_saved_size_larger_than_the_screen_is_cut_to_it(qtbot: QtBot) -> None:
    save_dialog_size("printerDialog", 5000, 4000)
    dialog = _printer_dialog()
    qtbot.addWidget(dialog)
    screen = dialog.screen()
    assert screen is not None
    room = fit_to_screen(QSize(20000, 20000), screen.availableGeometry().size())
    assert dialog.width() <= room.width() and dialog.height() <= room.height()
    save_ui_settings(UiSettings(5000, 4000))
    wizard = RelayWizard(WizardSession(worldwide_on_loopback_dns()), pages=FIRST_PAGES)
    qtbot.addWidget(wizard)
    assert wizard.width() <= room.width() and wizard.height() <= room.height()


def test_windows_and_dialogs_fit_a_1080_pixel_screen_at_200_percent(qtbot: QtBot) -> None:
    wizard = make_wizard(qtbot)
    dialogs: list[QDialog] = [
        _printer_dialog(),
        _practice_dialog(),
        ManualAppSteps(wizard.session.cloud),
    ]
    for widget in [wizard, *dialogs]:
        qtbot.addWidget(widget)
        smallest = widget.minimumSizeHint().expandedTo(widget.minimumSize())
        assert smallest.width() <= ROOM_AT_200.width(), (widget.windowTitle(), smallest)
        assert smallest.height() <= ROOM_AT_200.height(), (widget.windowTitle(), smallest)


def test_windows_and_dialogs_come_back_where_they_were(qtbot: QtBot) -> None:
    wizard = make_wizard(qtbot, remember_size=True)
    wizard.move(60, 40)
    qtbot.waitUntil(lambda: wizard.pos().toTuple() == (60, 40), timeout=3000)
    wizard.reject()
    assert load_ui_settings().position == (60, 40)
    again = RelayWizard(WizardSession(worldwide_on_loopback_dns()), pages=FIRST_PAGES)
    qtbot.addWidget(again)
    assert again.pos().toTuple() == (60, 40)
    dialog = _printer_dialog()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.move(30, 20)
    qtbot.waitUntil(lambda: dialog.pos().toTuple() == (30, 20), timeout=3000)
    dialog.reject()
    reopened = _printer_dialog()
    qtbot.addWidget(reopened)
    assert reopened.pos().toTuple() == (30, 20)
    # A place no screen shows (a monitor unplugged since) is not used.
    save_ui_settings(UiSettings(800, 600, position=(-9000, -9000)))
    lost = RelayWizard(WizardSession(worldwide_on_loopback_dns()), pages=FIRST_PAGES)
    qtbot.addWidget(lost)
    assert lost.pos().toTuple() != (-9000, -9000)
