"""The Test message page against the sandbox: live transcript, verdicts, trace, keyring."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from wizard.core.methods import Method, Tri
from wizard.core.profile import Printer, Site, SiteProfile
from wizard.core.secret_names import password_purpose
from wizard.core.transcript import Outcome
from wizard.sandbox.identity.browser import StandInBrowser
from wizard.sandbox.tenant import DEMO_DOMAIN
from wizard.services.secrets import SecretStore
from wizard.services.signin import SignIn, SignInSettings
from wizard.ui.pages.base import PageId
from wizard.ui.pages.registry import PAGES
from wizard.ui.pages.test_message import TestMessagePage
from wizard.ui.session import WizardSession
from wizard.ui.style import Tone
from wizard.ui.wizard import RelayWizard

SCANNER = f"scanner@{DEMO_DOMAIN}"
ADMIN = f"admin@{DEMO_DOMAIN}"
SITE = "Contoso HQ"


def _profile(method: Method) -> SiteProfile:
    return SiteProfile(
        site=Site(name=SITE, domain=DEMO_DOMAIN, public_ip="203.0.113.25"),
        method=method,
        printers=(Printer("Reception scanner", vendor="canon", sender=SCANNER, tls12=Tri.YES),),
    )


class Env:
    def __init__(self, qtbot: QtBot, sandbox: Any, method: Method) -> None:
        self.qtbot = qtbot
        self.sandbox = sandbox
        self.session = WizardSession(sandbox.cloud, _profile(method))
        self.wizard = RelayWizard(self.session, pages=PAGES, remember_size=False)
        qtbot.addWidget(self.wizard)
        self.wizard.resize(980, 1000)
        self.wizard.show()
        # Walk the path as a person would, so Back and "Go to" have a history.
        for _ in range(len(PageId)):
            if self.wizard.current_page_id() is PageId.TEST:
                break
            self.wizard.next()
        assert self.wizard.current_page_id() is PageId.TEST
        page = self.wizard.page_for(PageId.TEST)
        assert isinstance(page, TestMessagePage)
        self.page = page

    def send(self, timeout: int = 15000) -> None:
        self.page.send_button.click()
        self.qtbot.waitUntil(lambda: self.page.verdict.isVisible(), timeout=timeout)

    def sign_in_admin(self) -> None:
        browser = StandInBrowser(ADMIN, ca_pem=self.sandbox.ca_pem)
        sign_in = SignIn(self.sandbox.cloud, SignInSettings(), opener=browser.open)
        sign_in.sign_in_browser(timeout=20)
        browser.join(10)
        self.session.set_sign_in(sign_in)
        self.session.signed_in_changed()

    def shot(self, output_dir: Path, name: str) -> None:
        self.page.transcript.verticalScrollBar().setValue(0)
        self.qtbot.wait(50)
        path = output_dir / name
        assert self.wizard.grab().save(str(path))


@pytest.fixture
def env(qtbot: QtBot, sandbox: Any) -> Iterator[Env]:
    environment = Env(qtbot, sandbox, Method.SMTP_AUTH)
    yield environment
    environment.session.tasks.shutdown()


def test_defaults_come_from_the_profile(env: Env) -> None:
    page = env.page
    assert page._from.text() == SCANNER and page._to.text() == SCANNER
    assert page._password_box.isVisible() and not page._oauth_box.isVisible()
    # What the device is given is Microsoft 365's value; the demo says where its own
    # test goes instead.
    line = page._settings_line.text()
    assert "server smtp.office365.com, port 587" in line
    assert "sandbox's own mail server on this computer (127.0.0.1:" in line
    assert page.send_button.isEnabled()
    page._from.setText("not an address")
    assert not page.send_button.isEnabled()
    # Coming back to the page keeps what was typed; a changed profile keeps it too.
    page._to.setText(f"user@{DEMO_DOMAIN}")
    page.initializePage()
    assert page._to.text() == f"user@{DEMO_DOMAIN}"
    assert page._from.text() == "not an address"
    page._from.setText(SCANNER)
    env.session.update_site(name="Contoso HQ (renamed)")
    assert page._to.text() == f"user@{DEMO_DOMAIN}" and page._from.text() == SCANNER


def test_success_streams_the_transcript_and_remembers_the_password(
    env: Env, output_dir: Path
) -> None:
    env.sandbox.state.mailbox(SCANNER).smtp_client_auth_disabled = False
    page = env.page
    streamed: list[int] = []
    page.transcript.textChanged.connect(lambda: streamed.append(len(page.transcript.lines)))
    page._password.setText("demo")
    page._remember.setChecked(True)
    env.send()

    result = env.session.test_result
    assert result is not None and result.outcome is Outcome.SENT
    assert page.verdict.headline.tone is Tone.GOOD and page.verdict.headline.word == "Accepted"
    # Line by line, not all at once at the end.
    assert len(set(streamed)) > 10
    assert page.transcript.lines == result.lines
    assert "C:  AUTH LOGIN" in page.transcript.text() and "demo" not in page.transcript.text()
    assert SecretStore().get(SITE, password_purpose(SCANNER)) == "demo"
    assert page._password.text() == ""  # typed once, then kept only in the keyring
    # Not signed in: the page says how to follow delivery.
    assert page.trace_line.isVisible() and "Sign in" in page.trace_line.text
    env.shot(output_dir, "test-message-sent.png")

    # The next test uses the kept password.
    env.qtbot.waitUntil(lambda: page._kept.isVisible(), timeout=5000)
    env.send()
    again = env.session.test_result
    assert again is not None and again is not result and again.sent


def test_signed_in_admin_sees_the_message_trace(env: Env, output_dir: Path) -> None:
    env.sandbox.state.mailbox(SCANNER).smtp_client_auth_disabled = False
    env.sign_in_admin()
    page = env.page
    # The admin's mailbox becomes the default recipient.
    assert page._to.text() == ADMIN
    page._password.setText("demo")
    env.send()
    env.qtbot.waitUntil(lambda: page.trace_line.word == "Delivered", timeout=15000)
    assert page.trace_line.tone is Tone.GOOD
    trace = env.session.trace_result
    assert trace is not None and trace.rows[0].recipient == page._to.text()
    env.shot(output_dir, "test-message-delivered.png")


def test_refusal_shows_the_fix_and_goes_to_its_step(env: Env, output_dir: Path) -> None:
    env.sandbox.state.mailbox(SCANNER).smtp_client_auth_disabled = False
    env.sandbox.state.security_defaults = True
    page = env.page
    page._password.setText("demo")
    env.send()
    result = env.session.test_result
    assert result is not None and result.verdict.key == "5.7.139-security-defaults"
    assert page.verdict.headline.tone is Tone.BAD and page.verdict.headline.word == "Refused"
    assert "security defaults" in page.verdict.server.text().lower()
    assert page.verdict.go_button.isVisible() and "Method" in page.verdict.go_button.text()
    assert not page.trace_line.isVisible()
    env.shot(output_dir, "test-message-refused.png")
    page.verdict.go_button.click()
    assert env.wizard.current_page_id() is PageId.METHOD


def test_tenant_switch_off_is_explained(env: Env) -> None:
    page = env.page
    page._password.setText("demo")
    env.send()
    result = env.session.test_result
    assert result is not None and result.verdict.key == "5.7.139-tenant"
    assert "for this one mailbox" in result.verdict.fix
    assert page.verdict.go_button.isVisible() and "Plan and apply" in page.verdict.go_button.text()
    page.verdict.go_button.click()
    assert env.wizard.current_page_id() is PageId.PLAN


def test_missing_password_is_said_on_the_page(env: Env) -> None:
    env.page.send_button.click()
    env.qtbot.waitUntil(lambda: env.page.status.message is not None, timeout=5000)
    message = env.page.status.message
    assert message is not None and "password" in message.what.lower()
    assert env.session.test_result is None


def test_cancel_stops_a_test_that_hangs(qtbot: QtBot, sandbox: Any) -> None:
    environment = Env(qtbot, sandbox, Method.DIRECT_SEND)
    try:
        sandbox.state.mx_port_blocked = True
        page = environment.page
        page.send_button.click()
        qtbot.waitUntil(lambda: page.status.progress_visible, timeout=5000)
        assert not page.send_button.isEnabled()
        page.status._cancel.click()
        # The test's own timeout is 20 s; a cancel ends it within a tenth of that.
        qtbot.waitUntil(lambda: page.send_button.isEnabled(), timeout=2000)
        message = page.status.message
        assert message is not None and "cancelled" in message.what
        assert "Connecting to 127.0.0.1" in page.transcript.text()
        assert environment.session.test_result is None
    finally:
        environment.session.tasks.shutdown()


def test_oauth_signs_in_as_the_mailbox_then_sends(qtbot: QtBot, sandbox: Any) -> None:
    environment = Env(qtbot, sandbox, Method.SMTP_AUTH_OAUTH)
    try:
        sandbox.state.mailbox(SCANNER).smtp_client_auth_disabled = False
        browser = StandInBrowser(SCANNER, ca_pem=sandbox.ca_pem)
        environment.session.set_sign_in(
            SignIn(sandbox.cloud, SignInSettings(), opener=browser.open)
        )
        page = environment.page
        assert page._oauth_box.isVisible() and not page._password_box.isVisible()
        page.send_button.click()
        qtbot.waitUntil(lambda: page._oauth_line.word == "Sign in first", timeout=5000)
        page._oauth_button.click()
        qtbot.waitUntil(lambda: page.verdict.isVisible(), timeout=20000)
        browser.join(10)
        result = environment.session.test_result
        assert result is not None and result.sent and result.auth_mechanism == "XOAUTH2"
    finally:
        environment.session.tasks.shutdown()


def test_save_transcript(env: Env, tmp_path: Path) -> None:
    env.page._password.setText("demo")
    env.send()
    target = tmp_path / "transcript.txt"
    env.page.write_transcript(target)
    env.qtbot.waitUntil(target.exists, timeout=5000)
    text = target.read_text(encoding="utf-8")
    assert "S:  220 " in text and env.session.test_result is not None
    assert env.session.test_result.verdict.title in text
    assert "demo\n" not in text
