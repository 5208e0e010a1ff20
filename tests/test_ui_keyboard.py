"""Keyboard-only use and accessible names, checked over every page and the dialog."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QLabel,
    QRadioButton,
    QWidget,
    QWizard,
)
from pytestqt.qtbot import QtBot

from tests.ui_helpers import inputs, make_wizard
from wizard.sandbox.practice import Practice
from wizard.sandbox.tenant import demo_tenant
from wizard.services.vendors import load_catalog
from wizard.ui.crash import CrashDialog
from wizard.ui.manual_app_dialog import ManualAppSteps
from wizard.ui.pages.base import PageId
from wizard.ui.pages.method import MethodPage
from wizard.ui.pages.printer_dialog import PrinterDialog
from wizard.ui.pages.registry import PAGES
from wizard.ui.pages.site import SitePage
from wizard.ui.practice_dialog import PracticeDialog
from wizard.ui.selftest import sample_profile
from wizard.ui.widgets.choice import TriChoice


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


def _mnemonic(text: str) -> str | None:
    plain = text.replace("&&", "")
    at = plain.find("&")
    if at < 0 or at + 1 >= len(plain) or not plain[at + 1].isalnum():
        return None
    return plain[at + 1].lower()


def _mnemonics(root: QWidget) -> list[tuple[str, str]]:
    """(key, text) of every mnemonic below `root`, shown now or not: a hidden widget
    shows in another state of the page (a sign-in code, a retry button)."""
    found: list[tuple[str, str]] = []
    for widget in root.findChildren(QWidget):
        if isinstance(widget, QAbstractButton):
            text = widget.text()
        elif isinstance(widget, QLabel) and widget.textFormat() is not Qt.TextFormat.RichText:
            text = widget.text()
            key = _mnemonic(text)
            # A label's mnemonic does nothing without a buddy (and shows as an "&").
            assert key is None or widget.buddy() is not None, f"'{text}' has no buddy"
        else:
            continue
        key = _mnemonic(text)
        if key is not None:
            found.append((key, text))
    return found


def _clashes(found: list[tuple[str, str]]) -> list[str]:
    seen: dict[str, str] = {}
    clashes = []
    for key, text in found:
        if key in seen:
            clashes.append(f"'{seen[key]}' and '{text}' share Alt+{key.upper()}")
        seen.setdefault(key, text)
    return clashes


WIZARD_BUTTONS = (
    QWizard.WizardButton.NextButton,
    QWizard.WizardButton.BackButton,
    QWizard.WizardButton.FinishButton,
    QWizard.WizardButton.CancelButton,
    QWizard.WizardButton.CommitButton,
)


def test_no_two_mnemonics_clash_on_any_page_or_dialog(qtbot: QtBot, tmp_path: Path) -> None:
    wizard = make_wizard(qtbot, sample_profile(), pages=PAGES)
    # The wizard's own buttons (&Next, &Back, &Finish) are on every page.
    own = [
        (key, wizard.buttonText(b))
        for b in WIZARD_BUTTONS
        if (key := _mnemonic(wizard.buttonText(b)))
    ]
    assert {k for k, _ in own} >= {"n", "b", "f"}
    problems: list[str] = []
    # Every page, the steps of one method only (the Relay step) too.
    every = [PageId(i) for i in sorted(wizard.pageIds())]
    for page_id in every:
        page = wizard.page_for(page_id)
        problems += [f"{page_id.name}: {c}" for c in _clashes(own + _mnemonics(page))]
    assert len(every) == len(PAGES)
    profile = sample_profile()
    dialogs: list[QWidget] = [
        PrinterDialog(load_catalog(), domain="contoso.com", taken_names=()),
        PrinterDialog(
            load_catalog(), domain="contoso.com", taken_names=(), printer=profile.printers[0]
        ),
        PracticeDialog(Practice(demo_tenant())),
        ManualAppSteps(wizard.session.cloud),
        CrashDialog("Traceback: details", tmp_path / "relay-wizard.log"),
    ]
    for dialog in dialogs:
        qtbot.addWidget(dialog)
        problems += [f"{dialog.windowTitle()}: {c}" for c in _clashes(_mnemonics(dialog))]
    assert not problems, problems


def test_mnemonics_reach_their_fields_the_radio_questions_and_next(qtbot: QtBot) -> None:
    wizard = make_wizard(qtbot, sample_profile())
    wizard.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is wizard, timeout=3000)
    wizard.next()
    site = wizard.page_for(PageId.SITE)
    assert isinstance(site, SitePage)
    labels = [
        w
        for w in site.findChildren(QLabel)
        if w.buddy() is not None and w.isVisibleTo(site) and _mnemonic(w.text())
    ]
    questions = [w for w in labels if isinstance(w.buddy(), TriChoice)]
    assert len(questions) == 3, [w.text() for w in labels]
    for label in labels:
        key = _mnemonic(label.text())
        assert key is not None
        site.site_name.setFocus()
        qtbot.keyClick(
            wizard, getattr(Qt.Key, f"Key_{key.upper()}"), Qt.KeyboardModifier.AltModifier
        )
        buddy = label.buddy()
        focus = QApplication.focusWidget()
        assert focus is not None and (focus is buddy or buddy.isAncestorOf(focus)), (
            f"Alt+{key.upper()} ({label.text()}) went to {focus!r}"
        )
    # A question's mnemonic lands on its answer, which the arrows then change.
    question = questions[0].buddy()
    assert isinstance(question, TriChoice)
    before = question.value()
    site.site_name.setFocus()
    key = _mnemonic(questions[0].text())
    assert key is not None
    qtbot.keyClick(wizard, getattr(Qt.Key, f"Key_{key.upper()}"), Qt.KeyboardModifier.AltModifier)
    answer = QApplication.focusWidget()
    assert isinstance(answer, QRadioButton) and answer.isChecked()
    assert question.value() is before
    # Alt+N is Next's alone (a button's mnemonic clicks it after a short animation).
    qtbot.keyClick(wizard, Qt.Key.Key_N, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: wizard.current_page_id() is PageId.METHOD, timeout=3000)
    # The method question: each usable method's title picks it with Alt+its letter.
    method = wizard.page_for(PageId.METHOD)
    assert isinstance(method, MethodPage)
    assert not _clashes([*_mnemonics(method), ("n", "&Next"), ("b", "&Back")])
    usable = [card for card in method.cards if card.radio.isEnabled()]
    assert len(usable) >= 2
    for card in reversed(usable):
        key = _mnemonic(card.title.text())
        assert key is not None, card.title.text()
        qtbot.keyClick(
            wizard, getattr(Qt.Key, f"Key_{key.upper()}"), Qt.KeyboardModifier.AltModifier
        )
        qtbot.waitUntil(card.radio.isChecked, timeout=3000)
    qtbot.keyClick(wizard, Qt.Key.Key_B, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: wizard.current_page_id() is PageId.SITE, timeout=3000)


def test_dialogs_open_in_the_first_field_and_enter_then_goes_on(qtbot: QtBot) -> None:
    wizard = make_wizard(qtbot, sample_profile())
    wizard.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is wizard, timeout=3000)
    wizard.next()
    site = wizard.page_for(PageId.SITE)
    assert isinstance(site, SitePage)
    qtbot.keyClick(site.add_button, Qt.Key.Key_Space)
    dialog = site.dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.name, timeout=3000)
    qtbot.keyClicks(dialog.name, "Upstairs scanner")
    dialog.sender_address.setFocus()
    qtbot.keyClicks(dialog.sender_address, "upstairs@contoso.com")
    qtbot.keyClick(dialog.sender_address, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: site.dialog is None, timeout=3000)
    assert site.selected_name() == "Upstairs scanner"
    # Enter now does the page's primary action (Next), not Edit.
    # The window system hands the focus back to the wizard (offscreen: by hand).
    wizard.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is site.add_button, timeout=3000)
    qtbot.keyClick(site.add_button, Qt.Key.Key_Return)
    assert site.dialog is None
    assert wizard.current_page_id() is PageId.METHOD
    practice = PracticeDialog(Practice(demo_tenant()), wizard)
    qtbot.addWidget(practice)
    practice.open()
    first = next(iter(practice.boxes.values()))
    qtbot.waitUntil(lambda: QApplication.focusWidget() is first, timeout=3000)
