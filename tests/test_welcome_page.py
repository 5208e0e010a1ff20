"""Welcome: the steps named once the pages exist, and the recent sites (issue 13, item 8)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.ui_helpers import make_wizard, worldwide_on_loopback_dns
from wizard.services.profile_store import save_profile
from wizard.ui.pages.base import PageId
from wizard.ui.pages.welcome import WelcomePage
from wizard.ui.selftest import sample_profile
from wizard.ui.session import WizardSession
from wizard.ui.settings import recent_sites
from wizard.ui.wizard import RelayWizard


def _welcome(wizard: RelayWizard) -> WelcomePage:
    page = wizard.page_for(PageId.WELCOME)
    assert isinstance(page, WelcomePage)
    return page


def test_the_steps_are_named_once_the_pages_exist(qtbot: QtBot) -> None:
    # As launch.py does: the window first, the other pages right after.
    wizard = RelayWizard(
        WizardSession(worldwide_on_loopback_dns()),
        pages=[WelcomePage],
        remember_size=False,
        more_pages_coming=True,
    )
    qtbot.addWidget(wizard)
    wizard.show()
    qtbot.waitExposed(wizard)
    welcome = _welcome(wizard)
    assert not welcome._steps.isVisible()
    assert "The steps: ." not in welcome._steps.text()
    wizard.add_pages()
    assert welcome._steps.isVisible()
    assert welcome._steps.text().startswith("The steps: Site and devices → ")


def test_recent_sites_open_with_one_click(qtbot: QtBot, tmp_path: Path) -> None:
    one = replace(sample_profile(), printers=sample_profile().printers[:1])
    first = save_profile(one, tmp_path / "contoso.json")
    other = replace(sample_profile(), site=replace(one.site, name="Fabrikam & Sons"))
    second = save_profile(other, tmp_path / "fabrikam.json")
    wizard = make_wizard(qtbot)
    welcome = _welcome(wizard)
    assert not welcome.recent_buttons
    welcome.open_profile(first)
    qtbot.waitUntil(lambda: wizard.session.profile_path == first, timeout=5000)
    # One device, in words.
    assert "(1 device) from" in welcome._opened.text()
    welcome.open_profile(second)
    qtbot.waitUntil(lambda: wizard.session.profile_path == second, timeout=5000)
    assert "(2 devices) from" in welcome._opened.text()
    assert [s.name for s in recent_sites()] == ["Fabrikam & Sons", "Contoso Dental – Main office"]
    # A new wizard (the next start) offers them, newest first; a name's "&" stays text.
    again = make_wizard(qtbot)
    buttons = _welcome(again).recent_buttons
    assert [b.text() for b in buttons] == ["Fabrikam && Sons", "Contoso Dental – Main office"]
    qtbot.mouseClick(buttons[1], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: again.session.profile_path == first, timeout=5000)
    assert again.session.profile.printers == one.printers
    # A profile that was moved away is left out.
    second.unlink()
    assert [s.path for s in recent_sites()] == [first.resolve()]
