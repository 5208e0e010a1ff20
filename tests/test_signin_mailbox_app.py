"""The Sign in page's app for the OAuth test: created through Graph, pasted, refused."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from tests.m365_helpers import profile
from tests.test_tenant_pages import click, open_wizard, shot, sign_in_on_page
from wizard.core.clouds import EXCHANGE_POWERSHELL_CLIENT_ID, AppJob
from wizard.core.methods import Method
from wizard.sandbox.server import Sandbox
from wizard.services.signin import load_settings


def test_create_the_app_on_the_page_and_keep_it_for_this_cloud(
    qtbot: QtBot, sandbox: Sandbox, output_dir: Path
) -> None:
    wizard, _ = open_wizard(qtbot, sandbox, profile(Method.SMTP_AUTH_OAUTH))
    page = sign_in_on_page(qtbot, wizard)
    page.advanced_toggle.setChecked(True)
    assert page.create_app_button.isEnabled()
    click(qtbot, page.create_app_button)
    qtbot.waitUntil(lambda: not page.running and bool(page.mailbox_app_edit.text()), timeout=20_000)
    client_id = page.mailbox_app_edit.text()
    [app] = sandbox.graph_api.apps.applications
    assert app["appId"] == client_id
    message = page.status.message
    assert message is not None and "Created the app" in message.what
    sign_in = wizard.session.sign_in
    assert sign_in.client_for(AppJob.MAILBOX_TEST) == client_id
    stored = load_settings().clouds[sandbox.cloud.id.value]
    assert stored.mailbox_test == client_id
    # The admin stays signed in.
    assert wizard.session.signed_in is not None
    shot(wizard, output_dir / "signin-mailbox-app.png")


def test_a_microsoft_client_id_is_refused_as_the_mailbox_test_app(
    qtbot: QtBot, sandbox: Sandbox
) -> None:
    wizard, _ = open_wizard(qtbot, sandbox, profile(Method.SMTP_AUTH_OAUTH))
    page = sign_in_on_page(qtbot, wizard)
    page.advanced_toggle.setChecked(True)
    page.mailbox_app_edit.setText(EXCHANGE_POWERSHELL_CLIENT_ID)
    page.mailbox_app_edit.editingFinished.emit()
    QApplication.processEvents()
    assert "AADSTS65002" in page.mailbox_app_field.error.text
    assert wizard.session.sign_in.client_for(AppJob.MAILBOX_TEST) != EXCHANGE_POWERSHELL_CLIENT_ID


def test_manual_steps_name_every_value(qtbot: QtBot, sandbox: Sandbox) -> None:
    from wizard.ui.manual_app_dialog import ManualAppSteps

    dialog = ManualAppSteps(sandbox.cloud)
    qtbot.addWidget(dialog)
    texts = " ".join(label.text() for label in dialog.findChildren(QLabel))
    for value in (
        "http://localhost",
        "SMTP.Send",
        "offline_access User.Read",
        "Allow public client flows",
        "multitenant",
    ):
        assert value in texts, value
