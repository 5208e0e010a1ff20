"""The Relay step against the sandbox: only on the local relay's path, devices with their
own address and password in the keyring, one sign-in per mailbox kept for the relay."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from wizard.core.methods import Method, Tri
from wizard.core.profile import Printer, Site, SiteProfile
from wizard.core.relay import device_password_purpose
from wizard.sandbox.identity.browser import StandInBrowser
from wizard.sandbox.tenant import DEMO_DOMAIN
from wizard.services.relay import load_config
from wizard.services.relay.tokens import load_refresh_token
from wizard.services.secrets import SecretStore
from wizard.services.signin import SignIn, SignInSettings
from wizard.ui.pages.base import PageId
from wizard.ui.pages.registry import PAGES
from wizard.ui.pages.relay import RelayPage
from wizard.ui.session import WizardSession
from wizard.ui.wizard import RelayWizard

SCANNER = f"scanner@{DEMO_DOMAIN}"
ADMIN = f"admin@{DEMO_DOMAIN}"
SITE = "Contoso HQ"


def _profile(method: Method) -> SiteProfile:
    return SiteProfile(
        site=Site(name=SITE, domain=DEMO_DOMAIN, public_ip="203.0.113.25"),
        method=method,
        printers=(
            Printer("Old MFP", vendor="brother", sender=SCANNER, tls12=Tri.YES, oauth=Tri.NO),
        ),
    )


class Env:
    def __init__(self, qtbot: QtBot, sandbox: Any, method: Method = Method.LOCAL_RELAY) -> None:
        self.qtbot = qtbot
        self.sandbox = sandbox
        self.session = WizardSession(sandbox.cloud, _profile(method))
        self.wizard = RelayWizard(self.session, pages=PAGES, remember_size=False)
        qtbot.addWidget(self.wizard)
        self.wizard.resize(980, 1000)
        self.wizard.show()
        # One stand-in browser: the admin signs in first, later the mailbox (its upn).
        self.browser = StandInBrowser(ADMIN, ca_pem=sandbox.ca_pem)

    def sign_in_admin(self) -> None:
        sign_in = SignIn(self.sandbox.cloud, SignInSettings(), opener=self.browser.open)
        sign_in.sign_in_browser(timeout=20)
        self.browser.join(10)
        self.session.set_sign_in(sign_in)
        self.session.signed_in_changed()

    def walk_to(self, target: PageId) -> list[PageId]:
        seen = [self.wizard.current_page_id()]
        for _ in range(len(PageId)):
            if self.wizard.current_page_id() is target:
                break
            self.wizard.next()
            seen.append(self.wizard.current_page_id())
        return seen

    @property
    def page(self) -> RelayPage:
        page = self.wizard.page_for(PageId.RELAY)
        assert isinstance(page, RelayPage)
        return page


@pytest.fixture
def env(qtbot: QtBot, sandbox: Any) -> Iterator[Env]:
    environment = Env(qtbot, sandbox)
    yield environment
    environment.page.stop_here()
    environment.session.tasks.shutdown()


def test_the_relay_step_is_on_the_local_relay_path_only(qtbot: QtBot, sandbox: Any) -> None:
    other = Env(qtbot, sandbox, Method.SMTP_AUTH)
    try:
        assert PageId.RELAY not in other.wizard.registered()
        assert PageId.RELAY not in other.walk_to(PageId.SUMMARY)
    finally:
        other.session.tasks.shutdown()
    relay = Env(qtbot, sandbox)
    try:
        path = relay.wizard.registered()
        # After DNS, and the Relay step's own test takes the place of the Test step.
        assert path.index(PageId.RELAY) == path.index(PageId.DNS) + 1
        assert PageId.TEST not in path
    finally:
        relay.session.tasks.shutdown()


def test_a_device_gets_its_own_address_user_and_password(env: Env) -> None:
    env.sign_in_admin()
    env.walk_to(PageId.RELAY)
    page = env.page
    qtbot = env.qtbot
    qtbot.waitUntil(lambda: not page._busy, timeout=5000)
    assert page.listen.currentText() == "127.0.0.1"  # the demo is on this computer
    assert page.incomplete_reason() == "Add at least one device to the relay."
    page.set_device_ip("Old MFP", "127.0.0.1")
    page.add_button.click()
    qtbot.waitUntil(lambda: page.config is not None and bool(page.config.devices), timeout=5000)
    assert page.config is not None
    device = page.config.devices[0]
    assert (device.ip, device.username, device.sender) == ("127.0.0.1", "scanner", SCANNER)
    # The config file has no secret; the password is in the keyring under the relay's name.
    saved = page.config_path.read_text(encoding="utf-8")
    password = SecretStore().get(SITE, device_password_purpose("scanner"))
    assert password and password not in saved
    assert load_config(page.config_path, check=False).devices == page.config.devices
    assert page.copy_password.isVisible() and page.copy_password.value() == password
    state = page.devices.item(0, 4)
    assert state is not None and state.text() == "Added"
    # The session knows how the device reaches the relay (for the sheets).
    access = env.session.local_relay_access()["Old MFP"]
    assert (access.host, access.port, access.username) == ("127.0.0.1", 587, "scanner")
    assert "Sign in as each device's mailbox" in (page.incomplete_reason() or "")


def test_a_public_address_is_refused_in_plain_words(env: Env) -> None:
    env.sign_in_admin()
    env.walk_to(PageId.RELAY)
    page = env.page
    env.qtbot.waitUntil(lambda: not page._busy, timeout=5000)
    page.set_device_ip("Old MFP", "8.8.8.8")
    page.add_button.click()
    env.qtbot.waitUntil(lambda: page.status.message is not None, timeout=5000)
    message = page.status.message
    assert message is not None and "public address" in message.what
    assert page.config is None or not page.config.devices


def test_without_a_tenant_sign_in_the_page_says_where_to_go(env: Env) -> None:
    env.walk_to(PageId.RELAY)
    page = env.page
    env.qtbot.waitUntil(lambda: not page._busy, timeout=5000)
    page.set_device_ip("Old MFP", "127.0.0.1")
    page.add_button.click()
    message = page.status.message
    assert message is not None and "Sign in" in message.next_step


def test_the_mailbox_sign_in_is_kept_for_the_relay(env: Env) -> None:
    env.sign_in_admin()
    env.walk_to(PageId.RELAY)
    page = env.page
    qtbot = env.qtbot
    qtbot.waitUntil(lambda: not page._busy, timeout=5000)
    page.set_device_ip("Old MFP", "127.0.0.1")
    page.add_button.click()
    qtbot.waitUntil(lambda: page.config is not None and bool(page.config.devices), timeout=5000)
    assert page.mailboxes_to_sign_in() == [SCANNER]
    assert SCANNER in page.sign_in_button.text()
    env.browser.upn = SCANNER
    page.sign_in_button.click()
    qtbot.waitUntil(lambda: not page.mailboxes_to_sign_in(), timeout=20000)
    env.browser.join(10)
    token = load_refresh_token(SecretStore(), SITE, SCANNER)
    assert token and len(token) > 20
    assert page.token_line.word == "Signed in"
    assert "Start the relay" in (page.incomplete_reason() or "")
