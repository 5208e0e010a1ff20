"""Screenshots of the states a page can be in (errors, dialogs, the sandbox), for review.

They land in test-output/ui-states-<scale>x/. Run with QT_SCALE_FACTOR=2 to get the
200% set:  QT_SCALE_FACTOR=2 python -m pytest tests/test_ui_screens.py
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from tests.ui_helpers import make_wizard, type_into
from wizard.core.clouds import Endpoint, sandbox_cloud
from wizard.core.errors import ProfileError
from wizard.core.methods import Tri
from wizard.core.profile import SiteProfile
from wizard.ui.crash import CrashDialog
from wizard.ui.pages.base import PageId
from wizard.ui.pages.site import SitePage
from wizard.ui.selftest import sample_profile
from wizard.ui.style import Tone, tone_colour


@pytest.fixture
def shots(output_dir: Path, qapp: QApplication) -> Path:
    screen = qapp.primaryScreen()
    ratio = screen.devicePixelRatio() if screen is not None else 1.0
    folder = output_dir / f"ui-states-{ratio:g}x"
    folder.mkdir(exist_ok=True)
    return folder


def _save(widget: QWidget, path: Path) -> None:
    # Layouts settle in the event loop (posted LayoutRequest events).
    for _ in range(3):
        QApplication.processEvents()
    assert widget.grab().save(str(path))
    image = QImage(str(path))
    assert not image.isNull() and image.width() >= widget.width()


def test_site_page_with_problems(qtbot: QtBot, shots: Path) -> None:
    wizard = make_wizard(qtbot)
    wizard.next()
    site = wizard.page_for(PageId.SITE)
    assert isinstance(site, SitePage)
    type_into(qtbot, site.site_name, "Contoso HQ")
    type_into(qtbot, site.domain, "contoso")
    type_into(qtbot, site.public_ip, "10.0.0.8")
    assert site.why_not.isVisible()
    _save(wizard, shots / "site-problems.png")


def test_device_dialog(qtbot: QtBot, shots: Path) -> None:
    wizard = make_wizard(qtbot, sample_profile())
    wizard.next()
    site = wizard.page_for(PageId.SITE)
    assert isinstance(site, SitePage)
    site.add_printer()
    dialog = site.dialog
    assert dialog is not None
    type_into(qtbot, dialog.name, "Reception scanner")
    type_into(qtbot, dialog.sender_address, "scanner@fabrikam.com")
    qtbot.waitExposed(dialog)
    # The size it asks for on a real screen (the virtual one here is small at 200%).
    dialog.resize(780, 620)
    _save(dialog, shots / "device-dialog.png")
    assert not dialog.reflow.stacked
    # On a small screen the two columns stack instead of being cut off.
    dialog.resize(420, 380)
    _save(dialog, shots / "device-dialog-small.png")
    assert dialog.reflow.stacked


def test_small_window(qtbot: QtBot, shots: Path) -> None:
    """The smallest window (a 1366x768 laptop at 200%): everything stacks and scrolls."""
    wizard = make_wizard(qtbot, sample_profile())
    wizard.resize(560, 380)
    wizard.next()
    site = wizard.page_for(PageId.SITE)
    assert isinstance(site, SitePage)
    _save(wizard, shots / "small-site.png")
    assert site.reflow.stacked
    wizard.next()
    _save(wizard, shots / "small-method.png")


def test_welcome_with_an_error_and_the_sandbox(qtbot: QtBot, shots: Path) -> None:
    cloud = sandbox_cloud(
        identity="https://127.0.0.1:1/",
        admin_api="https://127.0.0.1:2",
        graph="https://127.0.0.1:3",
        smtp=Endpoint("127.0.0.1", 4),
        relay=Endpoint("127.0.0.1", 5),
        dns=Endpoint("127.0.0.1", 6),
        ca_bundle="/nonexistent/ca.pem",
        tenant_id="00000000-0000-0000-0000-000000000000",
    )
    wizard = make_wizard(qtbot, SiteProfile(), cloud=cloud)
    welcome = wizard.page_for(PageId.WELCOME)
    welcome.show_error(
        ProfileError(
            "broken.json is damaged or incomplete (the JSON breaks off at line 1, column 48).",
            next_step="Open another profile, or restore this one from a backup. "
            "The file was left unchanged.",
            detail="Expecting ',' delimiter",
        ),
        doing="opening the profile",
    )
    _save(wizard, shots / "welcome-sandbox-error.png")


def test_method_page_with_everything_unknown(qtbot: QtBot, shots: Path) -> None:
    profile = replace(
        sample_profile(),
        method=None,
        site=replace(
            sample_profile().site,
            external_recipients=Tri.UNKNOWN,
            static_ip=Tri.UNKNOWN,
        ),
        printers=(replace(sample_profile().printers[0], tls12=Tri.UNKNOWN, oauth=Tri.UNKNOWN),),
    )
    wizard = make_wizard(qtbot, profile)
    wizard.next()
    wizard.next()
    _save(wizard, shots / "method-unknowns.png")


def test_crash_dialog(qtbot: QtBot, shots: Path, tmp_path: Path) -> None:
    details = 'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: boom'
    dialog = CrashDialog(details, tmp_path / "relay-wizard.log")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    _save(dialog, shots / "crash-dialog.png")


def test_dark_palette(qtbot: QtBot, shots: Path, qapp: QApplication) -> None:
    """A dark system palette: the pages take their colours from it."""
    dark = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, "#202124"),
        (QPalette.ColorRole.WindowText, "#e8eaed"),
        (QPalette.ColorRole.Base, "#2b2c2f"),
        (QPalette.ColorRole.AlternateBase, "#323336"),
        (QPalette.ColorRole.Text, "#e8eaed"),
        (QPalette.ColorRole.Button, "#303134"),
        (QPalette.ColorRole.ButtonText, "#e8eaed"),
        (QPalette.ColorRole.Highlight, "#8ab4f8"),
        (QPalette.ColorRole.HighlightedText, "#202124"),
        (QPalette.ColorRole.PlaceholderText, "#9aa0a6"),
        (QPalette.ColorRole.Mid, "#5f6368"),
    ):
        dark.setColor(role, QColor(colour))
    previous = qapp.palette()
    qapp.setPalette(dark)
    try:
        wizard = make_wizard(qtbot, sample_profile())
        wizard.next()
        wizard.next()
        _save(wizard, shots / "dark-method.png")
        method = wizard.page_for(PageId.METHOD)
        badge = method.cards[0].badge  # type: ignore[attr-defined]
        assert badge is not None
        # The status colours switch to their dark-background variants.
        assert tone_colour(Tone.GOOD).name() == "#3fb950"
    finally:
        qapp.setPalette(previous)
