"""Keyboard-only use and accessible names, checked over every page and the dialog."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QApplication, QRadioButton, QWidget
from pytestqt.qtbot import QtBot

from tests.ui_helpers import inputs, make_wizard
from wizard.ui.pages.base import PageId
from wizard.ui.pages.site import SitePage
from wizard.ui.selftest import sample_profile


def _tab_stops(qtbot: QtBot, window: QWidget, start: QWidget, limit: int = 200) -> list[QWidget]:
    """Press Tab from `start` until the focus comes back round; the widgets visited."""
    start.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is start, timeout=2000)
    seen: list[QWidget] = [start]
    for _ in range(limit):
        current = QApplication.focusWidget()
        assert current is not None
        qtbot.keyClick(current, Qt.Key.Key_Tab)
        now = QApplication.focusWidget()
        assert now is not None and window.isAncestorOf(now) or now is window
        if now is start:
            return seen
        seen.append(now)
    raise AssertionError("Tab never came back to where it started")


def _stop_for(widget: QWidget) -> QWidget:
    """Radio buttons of one group are a single Tab stop (arrows move inside it)."""
    if isinstance(widget, QRadioButton) and widget.group() is not None:
        return widget.group()  # type: ignore[return-value]
    return widget


def _check_page(qtbot: QtBot, wizard: QWidget, root: QWidget) -> list[QWidget]:
    wanted = [w for w in inputs(root) if w.isEnabled()]
    assert wanted, "no inputs found"
    for widget in inputs(root):
        name = widget.accessibleName() or (
            widget.text() if isinstance(widget, QAbstractButton) else ""
        )
        assert name.strip(), (
            f"{type(widget).__name__} {widget.objectName()!r} has no accessible name"
        )
    stops = _tab_stops(qtbot, wizard if root is not wizard else root, wanted[0])
    reached = {id(_stop_for(w)) for w in stops}
    missed = [w for w in wanted if id(_stop_for(w)) not in reached]
    assert not missed, "Tab never reaches: " + ", ".join(
        f"{type(w).__name__}({w.accessibleName() or w.objectName()})" for w in missed
    )
    return wanted


def test_every_page_can_be_used_with_the_keyboard(qtbot: QtBot) -> None:
    wizard = make_wizard(qtbot, sample_profile())
    wizard.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is wizard, timeout=3000)
    checked = []
    for page_id in wizard.registered():
        assert wizard.current_page_id() is page_id
        page = wizard.currentPage()
        wanted = _check_page(qtbot, wizard, page)
        checked.append((page_id, len(wanted)))
        if page_id is not wizard.registered()[-1]:
            # Return presses the default button, Next.
            # Tab reaches Next; Space presses it.
            next_button = wizard.button(wizard.WizardButton.NextButton)
            stops = _tab_stops(qtbot, wizard, inputs(page).__next__())
            assert next_button in stops
            next_button.setFocus(Qt.FocusReason.TabFocusReason)
            qtbot.keyClick(next_button, Qt.Key.Key_Space)
    assert [p for p, _ in checked] == wizard.registered()
    assert all(count >= 3 for _, count in checked), checked


def test_the_device_dialog_can_be_used_with_the_keyboard(qtbot: QtBot) -> None:
    wizard = make_wizard(qtbot, sample_profile())
    wizard.next()
    site = wizard.page_for(PageId.SITE)
    assert isinstance(site, SitePage)
    qtbot.keyClick(site.add_button, Qt.Key.Key_Space)
    dialog = site.dialog
    assert dialog is not None
    dialog.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog, timeout=3000)
    _check_page(qtbot, dialog, dialog)
    # Escape closes the dialog without adding anything.
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()
    assert len(wizard.session.profile.printers) == 2


def test_mnemonics_are_unique_on_each_page(qtbot: QtBot) -> None:
    wizard = make_wizard(qtbot, sample_profile())
    for page_id in wizard.registered():
        page = wizard.page_for(page_id)
        keys: dict[str, str] = {}
        for widget in page.findChildren(QWidget):
            text = getattr(widget, "text", None)
            if not callable(text) or not widget.isVisibleTo(page):
                continue
            value = text()
            if not isinstance(value, str) or "&" not in value.replace("&&", ""):
                continue
            key = value.replace("&&", "")[value.replace("&&", "").index("&") + 1].lower()
            assert key not in keys, f"{page_id.name}: '{value}' and '{keys[key]}' share Alt+{key}"
            keys[key] = value
