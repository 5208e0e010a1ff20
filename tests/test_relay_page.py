"""The Relay step against the sandbox: only on the local relay's path, devices with their
own address and password in the keyring, one sign-in per mailbox kept for the relay."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from tests.relay_helpers import allow_smtp_auth, delivered, subjects
from wizard.core.methods import Method, Tri
from wizard.core.profile import Printer, Site, SiteProfile
from wizard.core.relay import device_password_purpose
from wizard.core.vendors import FieldKey
from wizard.sandbox.identity.browser import StandInBrowser
from wizard.sandbox.tenant import DEMO_DOMAIN
from wizard.services.relay import load_config
from wizard.services.relay.tokens import load_refresh_token
from wizard.services.secrets import SecretStore
from wizard.services.signin import SignIn, SignInSettings
from wizard.ui.pages.base import PageId
from wizard.ui.pages.registry import PAGES
from wizard.ui.pages.relay import RelayPage
from wizard.ui.pages.sheets import SheetsPage
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
    environment.session.tasks.shutdown()
    if environment.page.server is not None:
        environment.page.server.stop()


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
    # The demo runs the relay as this user: a port above 1024.
    assert (access.host, access.port, access.username) == ("127.0.0.1", 2587, "scanner")
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _set_up_device_and_mailbox(env: Env) -> RelayPage:
    qtbot = env.qtbot
    allow_smtp_auth(env.sandbox)  # what the Plan step does for the mailbox
    env.sign_in_admin()
    env.walk_to(PageId.RELAY)
    page = env.page
    qtbot.waitUntil(lambda: not page._busy, timeout=5000)
    page.port.setValue(_free_port())
    page.trace_first_delay = 0.05
    page.set_device_ip("Old MFP", "127.0.0.1")
    page.add_button.click()
    qtbot.waitUntil(lambda: page.config is not None and bool(page.config.devices), timeout=5000)
    env.browser.upn = SCANNER
    page.sign_in_button.click()
    qtbot.waitUntil(lambda: not page.mailboxes_to_sign_in(), timeout=20000)
    env.browser.join(10)
    return page


def test_the_demo_path_printer_relay_sandbox_delivered(env: Env, output_dir: Path) -> None:
    """Everything on this computer: the page's test plays the printer, the relay submits
    to the sandbox with XOAUTH2 as the mailbox, the sandbox delivers and traces it."""
    qtbot = env.qtbot
    page = _set_up_device_and_mailbox(env)
    assert not page.test_button.isEnabled()  # not before the relay runs
    page.run_button.click()
    qtbot.waitUntil(lambda: page.running, timeout=10000)
    assert page.state_line.word == "Running"
    assert env.session.local_relay_fingerprint  # its CA exists now, for the sheets
    assert env.session.local_relay_fingerprint in page.cert_line.text()
    assert page.test_to.text() == ADMIN
    qtbot.waitUntil(page.test_button.isEnabled, timeout=5000)
    page.test_button.click()
    qtbot.waitUntil(lambda: page.test_line.word in ("Accepted", "Refused"), timeout=15000)
    assert page.test_line.word == "Accepted", page.test_line.text
    subject = "Relay Wizard: test message through the office relay"
    qtbot.waitUntil(
        lambda: any(
            s.startswith(subject) and delivered(env.sandbox, s) == [ADMIN]
            for s in subjects(env.sandbox)
        ),
        timeout=15000,
    )
    qtbot.waitUntil(lambda: "1 delivered" in page.queue_line.text(), timeout=10000)
    # The admin is signed in: the message trace follows it to the mailbox.
    qtbot.waitUntil(lambda: page.trace_line.word == "Delivered", timeout=15000)
    assert ADMIN in page.trace_line.text
    assert "0 waiting" in page.queue_line.text() and "last delivery" in page.queue_line.text()
    assert page.incomplete_reason() is None
    assert env.wizard.grab().save(str(output_dir / "relay-step-running.png"))
    # Next: the Test step is left out (the relay's test was the device's), on to Sheets.
    env.wizard.next()
    assert env.wizard.current_page_id() is PageId.SHEETS
    sheets = env.wizard.page_for(PageId.SHEETS)
    assert isinstance(sheets, SheetsPage)
    (sheet,) = sheets.sheets
    assert sheet.row(FieldKey.SERVER).value == "127.0.0.1"
    assert sheet.row(FieldKey.PORT).value == str(page.port.value())
    assert sheet.row(FieldKey.USERNAME).value == "scanner"
    assert any(env.session.local_relay_fingerprint or "?" in n for n in sheet.notes)


def test_a_device_added_while_the_relay_runs_is_taken_at_once(env: Env) -> None:
    qtbot = env.qtbot
    page = _set_up_device_and_mailbox(env)
    page.run_button.click()
    qtbot.waitUntil(lambda: page.running, timeout=10000)
    first = page.server
    # A new password for the device: the relay runs again with the new list.
    page.add_button.click()
    qtbot.waitUntil(lambda: page.server is not None and page.server is not first, timeout=10000)
    qtbot.waitUntil(page.test_button.isEnabled, timeout=5000)
    page.test_button.click()
    qtbot.waitUntil(lambda: page.test_line.word in ("Accepted", "Refused"), timeout=15000)
    assert page.test_line.word == "Accepted", page.test_line.text


def test_install_and_remove_the_service(env: Env, tmp_path: Path) -> None:
    """The page installs the relay as this platform's service and removes it again (the
    systemd manager writes its real unit; its commands go to a recorder, not systemctl)."""
    from tests.test_relay_service import Recorder
    from wizard.services.relay.service import SystemdManager

    page = _set_up_device_and_mailbox(env)
    recorder = Recorder()
    page.service_manager = SystemdManager(recorder, unit_dir=tmp_path / "units", user="tech")
    page.install_button.click()
    env.qtbot.waitUntil(lambda: "installed as a service" in page.password_line.text(), timeout=5000)
    (unit,) = (tmp_path / "units").iterdir()
    assert str(page.config_path) in unit.read_text()
    assert any("enable" in " ".join(call) for call in recorder.calls)
    page.uninstall_button.click()
    env.qtbot.waitUntil(lambda: not unit.exists(), timeout=5000)
    assert page.status.message is None


def test_mnemonics_are_unique_on_the_relay_step(env: Env) -> None:
    from PySide6.QtWidgets import QWidget

    env.sign_in_admin()
    env.walk_to(PageId.RELAY)
    page = env.page
    env.qtbot.waitUntil(lambda: not page._busy, timeout=5000)
    keys: dict[str, str] = {}
    # The wizard's own buttons share the keyboard with the page.
    for widget in [*page.findChildren(QWidget), *env.wizard.findChildren(QWidget)]:
        text = getattr(widget, "text", None)
        if not callable(text) or not widget.isVisible():
            continue
        value = text()
        if not isinstance(value, str) or "&" not in value.replace("&&", ""):
            continue
        plain = value.replace("&&", "")
        key = plain[plain.index("&") + 1].lower()
        assert keys.get(key, value) == value, f"'{value}' and '{keys[key]}' share Alt+{key}"
        keys[key] = value
    assert len(keys) >= 10


def test_a_port_in_use_is_explained_and_can_be_retried(env: Env) -> None:
    qtbot = env.qtbot
    page = _set_up_device_and_mailbox(env)
    with socket.socket() as other:
        # Another mail server on the relay's port.
        other.bind(("127.0.0.1", page.port.value()))
        other.listen()
        page.run_button.click()
        qtbot.waitUntil(lambda: page.status.message is not None, timeout=10000)
        message = page.status.message
        assert message is not None
        assert "cannot listen on 127.0.0.1 port" in message.what
        assert "Another program uses the port" in message.why
        assert page.server is None and page.run_button.isEnabled()
    page.run_button.click()
    qtbot.waitUntil(lambda: page.running, timeout=10000)


def test_a_relay_run_here_stops_with_the_window(env: Env) -> None:
    qtbot = env.qtbot
    page = _set_up_device_and_mailbox(env)
    page.run_button.click()
    qtbot.waitUntil(lambda: page.running, timeout=10000)
    port = page.port.value()
    env.session.mark_saved(page.config_path.with_name("site.json"))  # nothing to ask
    env.wizard.done(0)
    assert page.server is None
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # nobody listens any more


def test_a_revoked_sign_in_is_shown_and_the_held_mail_goes_after_a_new_one(
    env: Env, expected_warnings: list[logging.LogRecord]
) -> None:
    qtbot = env.qtbot
    page = _set_up_device_and_mailbox(env)
    # "Revoke sessions" in Entra: the refresh token the relay keeps is dead.
    assert env.sandbox.identity.revoke_refresh_tokens(SCANNER) >= 1
    page.run_button.click()
    qtbot.waitUntil(lambda: page.running, timeout=10000)
    qtbot.waitUntil(page.test_button.isEnabled, timeout=5000)
    page.test_button.click()
    qtbot.waitUntil(lambda: page.test_line.word == "Accepted", timeout=15000)
    # The relay keeps the message and says why; the page asks for the sign-in again.
    qtbot.waitUntil(lambda: page.mailboxes_to_sign_in() == [SCANNER], timeout=15000)
    assert page.token_line.word == "Sign in"
    assert "1 waiting" in page.queue_line.text()
    assert "no longer accepts the relay's sign-in" in page.queue_line.text()
    assert "Sign in as each device's mailbox" in (page.incomplete_reason() or "")
    env.browser.upn = SCANNER
    page.sign_in_button.click()
    qtbot.waitUntil(lambda: "1 delivered" in page.queue_line.text(), timeout=20000)
    env.browser.join(10)
    assert "0 waiting" in page.queue_line.text()
    assert page.incomplete_reason() is None
    # The relay's log says it held the mail (a warning, as it should be).
    assert any("holding the mail" in r.getMessage() for r in expected_warnings)


# aiosmtpd warns on every session of a port that takes AUTH without TLS: that port is
# what the technician opted in to here (the engine should say so once, in its log).
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_device_without_tls_gets_the_plain_port_only_when_asked(
    qtbot: QtBot, sandbox: Any, expected_warnings: list[logging.LogRecord]
) -> None:
    profile = _profile(Method.LOCAL_RELAY)
    old = replace(profile.printers[0], tls12=Tri.NO)
    env = Env(qtbot, sandbox)
    env.session.set_profile(replace(profile, printers=(old,)))
    try:
        allow_smtp_auth(sandbox)
        env.sign_in_admin()
        env.walk_to(PageId.RELAY)
        page = env.page
        qtbot.waitUntil(lambda: not page._busy, timeout=5000)
        assert page.plain.isVisible() and not page.plain.isChecked()
        assert not page.plain_port.isEnabled()
        page.port.setValue(_free_port())
        page.plain.setChecked(True)
        page.plain_port.setValue(_free_port())
        page.set_device_ip("Old MFP", "127.0.0.1")
        page.add_button.click()
        qtbot.waitUntil(lambda: page.config is not None and bool(page.config.devices), timeout=5000)
        state = page.devices.item(0, 4)
        assert state is not None and state.text() == "Added (plain port)"
        access = env.session.local_relay_access()["Old MFP"]
        assert (access.port, access.starttls) == (page.plain_port.value(), False)
        env.browser.upn = SCANNER
        page.sign_in_button.click()
        qtbot.waitUntil(lambda: not page.mailboxes_to_sign_in(), timeout=20000)
        env.browser.join(10)
        page.run_button.click()
        qtbot.waitUntil(lambda: page.running, timeout=10000)
        assert page.last_status is not None and any(
            "plain" in where for where in page.last_status.listening
        )
        qtbot.waitUntil(page.test_button.isEnabled, timeout=5000)
        page.test_button.click()
        qtbot.waitUntil(lambda: page.test_line.word in ("Accepted", "Refused"), timeout=15000)
        assert page.test_line.word == "Accepted", page.test_line.text
    finally:
        env.session.tasks.shutdown()
        if env.page.server is not None:
            env.page.server.stop()
    assert {r.name for r in expected_warnings} <= {"mail.log"}


def test_a_relay_running_as_a_service_is_told_to_restart_after_a_change(env: Env) -> None:
    from wizard.services.relay import RelayServer

    qtbot = env.qtbot
    page = _set_up_device_and_mailbox(env)
    assert page.config is not None
    # Another process (the installed service) runs the relay from the same settings.
    service = RelayServer(page.config, secrets=SecretStore(), config_path=page.config_path)
    service.start()
    try:
        qtbot.waitUntil(lambda: page.running, timeout=10000)
        assert page.server is None
        page.add_button.click()  # a new password for the device
        qtbot.waitUntil(
            lambda: "still runs with the old device list" in page.password_line.text(),
            timeout=5000,
        )
    finally:
        service.stop()
