"""Sign in: a Microsoft 365 admin account of the tenant the devices send through.

"Sign in with the browser" opens the system browser (MSAL, loopback redirect); "Use
a code instead" shows a device code, big, with copy buttons. Both run off the UI
thread and can be cancelled; the code is offered whenever the browser cannot work.
After signing in the page shows the account, the tenant (read from Exchange) and
the token's admin role, which is only a hint: a member of Exchange's Organization
Management role group has no Entra role, a GDAP technician's token may list none.
The first read of the tenant decides; when Exchange's role check refuses the account,
the page says so in plain words, Next stays off, and "Check again" asks Exchange again.
The sign-in app (client id) and the tenant are under "Advanced".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QFont, QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from wizard.core.clouds import (
    EXCHANGE_POWERSHELL_CLIENT_ID,
    GRAPH_CLI_CLIENT_ID,
    AppJob,
    Cloud,
)
from wizard.core.errors import WizardError
from wizard.services.app_registration import DISPLAY_NAME as APP_DISPLAY_NAME
from wizard.services.app_registration import MailboxTestApp, ensure_mailbox_test_app
from wizard.services.cancel import CancelFlag, Cancellation, Cancelled
from wizard.services.exchange_admin import ExchangeAdmin, ExchangeRoleRefused
from wizard.services.graph import Graph
from wizard.services.signin import (
    CloudAppIds,
    DeviceCode,
    NeedsSignIn,
    SignedIn,
    SignIn,
    SignInSettings,
    SignInTimedOut,
    UseDeviceCode,
    check_client_id,
    check_tenant,
    save_settings,
)
from wizard.services.tenant_check import TenantIdentity, read_identity
from wizard.ui.manual_app_dialog import ManualAppSteps
from wizard.ui.messages import UserMessage
from wizard.ui.pages.base import PageId, WizardPage
from wizard.ui.session import WizardSession
from wizard.ui.style import Tone, scaled_font
from wizard.ui.tasks import CancelToken, Task, TaskCancelled
from wizard.ui.widgets.copy import CopyButton
from wizard.ui.widgets.form import add_field
from wizard.ui.widgets.labels import HintLabel, StatusLine
from wizard.ui.widgets.values import ValueRows

log = logging.getLogger(__name__)


def tenant_clients(session: WizardSession) -> tuple[ExchangeAdmin, Graph]:
    """The Exchange admin API and Graph clients of the signed-in admin."""
    account = session.signed_in
    if account is None:
        raise NeedsSignIn(
            session.tr("You are not signed in."), "", session.tr("Sign in on the Sign in step.")
        )
    sign_in = session.sign_in
    admin = ExchangeAdmin.for_sign_in(session.cloud, sign_in, account)
    return admin, Graph(session.cloud, sign_in.graph_token)


@dataclass(frozen=True)
class _Outcome:
    account: SignedIn
    identity: TenantIdentity | None
    identity_error: WizardError | None


def _with_identity(
    cloud: Cloud, sign_in: SignIn, account: SignedIn, token: CancelToken
) -> _Outcome:
    """Right after signing in: the tenant's name and domains, for the page to show.

    Also the first admin API read, so Exchange's answer (not the token's roles) says
    whether the account may work in the tenant.
    """
    admin = ExchangeAdmin.for_sign_in(cloud, sign_in, account)
    graph = Graph(cloud, sign_in.graph_token)
    try:
        return _Outcome(account, read_identity(admin, graph, cancel=token), None)
    except Cancelled:
        raise
    except WizardError as exc:
        return _Outcome(account, None, exc)


@dataclass(frozen=True)
class _GraphCode:
    """The second device code, for the Microsoft Graph client."""

    code: DeviceCode


class _Either:
    """Cancelled when either is: the whole sign-in, or just the Graph code (skipped)."""

    def __init__(self, first: Cancellation, second: Cancellation) -> None:
        self._first = first
        self._second = second

    @property
    def cancelled(self) -> bool:
        return self._first.cancelled or self._second.cancelled

    def wait(self, seconds: float) -> bool:
        end = time.monotonic() + seconds
        while not self.cancelled:
            left = end - time.monotonic()
            if left <= 0:
                return False
            self._first.wait(min(left, 0.2))
        return True


class DeviceCodePanel(QFrame):
    """The code to type on any device, big and copyable, with the page to type it on."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusMessage")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(6)
        self.intro = QLabel(self)
        self.intro.setWordWrap(True)
        self.intro.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.intro)
        row = QHBoxLayout()
        self.code_label = QLabel(self)
        font = scaled_font(self.code_label, 2.2, bold=True)
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setFamilies(["DejaVu Sans Mono", "Consolas", "Menlo", "monospace"])
        font.setLetterSpacing(QFont.SpacingType.AbsoluteSpacing, 3)
        self.code_label.setFont(font)
        self.code_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.code_label)
        self.copy_code = CopyButton(
            "", self.tr("the sign-in code"), self, label=self.tr("Copy code")
        )
        row.addWidget(self.copy_code)
        row.addStretch(1)
        layout.addLayout(row)
        link_row = QHBoxLayout()
        self.url_label = QLabel(self)
        self.url_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        link_row.addWidget(self.url_label)
        self.copy_url = CopyButton("", self.tr("the sign-in page's address"), self)
        link_row.addWidget(self.copy_url)
        self.open_button = QPushButton(self.tr("&Open the page"), self)
        self.open_button.setAutoDefault(False)
        link_row.addWidget(self.open_button)
        link_row.addStretch(1)
        layout.addLayout(link_row)
        self.expiry = HintLabel("", self)
        layout.addWidget(self.expiry)
        # The second code (Microsoft Graph) may be left out: the tenant check then says
        # which values it could not read.
        self.skip_graph = QPushButton(self.tr("Skip this code"), self)
        self.skip_graph.setAutoDefault(False)
        self.skip_graph.hide()
        skip_row = QHBoxLayout()
        skip_row.addWidget(self.skip_graph)
        skip_row.addStretch(1)
        layout.addLayout(skip_row)
        self.code: DeviceCode | None = None
        self.open_button.clicked.connect(self._open)

    def show_code(self, code: DeviceCode, *, for_graph: bool = False) -> None:
        self.code = code
        self.intro.setText(
            self.tr(
                "Signed in to Exchange. One more code, for Microsoft Graph (the domains, "
                "their MX host and Security Defaults): open the page below, enter this "
                "code and sign in with the same account:"
            )
            if for_graph
            else self.tr(
                "On this or any other device with a browser, open the page below, enter "
                "this code and sign in with your admin account:"
            )
        )
        self.skip_graph.setVisible(for_graph)
        self.code_label.setText(code.user_code)
        self.code_label.setAccessibleName(self.tr("Sign-in code {0}").format(code.user_code))
        self.copy_code.set_value(code.user_code)
        self.url_label.setText(code.verification_uri)
        self.copy_url.set_value(code.verification_uri)
        until = time.strftime("%H:%M", time.localtime(code.expires_at))
        self.expiry.setText(
            self.tr("The code works until {0}; the wizard waits here until you are done.").format(
                until
            )
        )
        self.show()

    def _open(self) -> None:
        if self.code is not None:
            QDesktopServices.openUrl(QUrl(self.code.verification_uri))


class SignInPage(WizardPage):
    page_id = PageId.SIGN_IN

    def build(self) -> None:
        self.setTitle(self.tr("Sign in"))
        self.setSubTitle(
            self.tr(
                "Sign in with an admin account of the Microsoft 365 tenant the devices send "
                "through. The wizard first only reads the tenant; it changes nothing until "
                "you confirm the plan."
            )
        )
        card = QFrame(self.body)
        card.setObjectName("card")
        card_layout = QVBoxLayout(card)
        card_layout.setContentsMargins(12, 10, 12, 10)
        card_layout.setSpacing(6)
        self.state_line = StatusLine(Tone.NEUTRAL, self.tr("Not signed in"), "", card)
        card_layout.addWidget(self.state_line)
        self.values = ValueRows(card)
        card_layout.addWidget(self.values)
        self.tenant_warning = StatusLine(Tone.WARNING, self.tr("Check the tenant"), "", card)
        self.tenant_warning.hide()
        card_layout.addWidget(self.tenant_warning)
        recheck_row = QHBoxLayout()
        self.recheck_button = QPushButton(self.tr("Check &again"), card)
        self.recheck_button.setAutoDefault(False)
        self.recheck_button.setAccessibleDescription(
            self.tr("Asks Exchange again whether this account may work in the tenant.")
        )
        self.recheck_button.hide()
        recheck_row.addWidget(self.recheck_button)
        recheck_row.addStretch(1)
        card_layout.addLayout(recheck_row)
        self.body_layout.addWidget(card)

        buttons = QHBoxLayout()
        self.browser_button = QPushButton(self.tr("Sign in &with the browser"), self.body)
        self.browser_button.setDefault(True)
        self.browser_button.setAccessibleDescription(
            self.tr("Opens your web browser at Microsoft's sign-in page.")
        )
        self.code_button = QPushButton(self.tr("Use a &code instead"), self.body)
        self.code_button.setAutoDefault(False)
        self.code_button.setAccessibleDescription(
            self.tr("Shows a code to enter at Microsoft's sign-in page on any device.")
        )
        self.sign_out_button = QPushButton(self.tr("Sign o&ut"), self.body)
        self.sign_out_button.setAutoDefault(False)
        buttons.addWidget(self.browser_button)
        buttons.addWidget(self.code_button)
        buttons.addStretch(1)
        buttons.addWidget(self.sign_out_button)
        self.body_layout.addLayout(buttons)
        self.waiting_hint = HintLabel(
            self.tr(
                "Finish signing in in the browser window that opened. When the browser "
                "says the sign-in is complete, the wizard goes on by itself and you can "
                "close the browser. If no browser window opened, copy the sign-in address "
                "into a browser on this computer. If nothing happens, or the browser shows "
                "an error such as AADSTS50011, press 'Use a code instead'. If it shows "
                "AADSTS700016, the app is not known in that cloud or tenant: check the "
                "client id under 'Advanced'."
            ),
            self.body,
        )
        self.waiting_hint.hide()
        self.body_layout.addWidget(self.waiting_hint)
        # If no browser window appears: the same sign-in, pasted into any browser on
        # this computer (the answer comes back to this computer's loopback address).
        self.copy_address = CopyButton(
            "",
            self.tr("the sign-in page's address"),
            self.body,
            label=self.tr("Copy the sign-in address"),
        )
        self.copy_address.hide()
        address_row = QHBoxLayout()
        address_row.addWidget(self.copy_address)
        address_row.addStretch(1)
        self.body_layout.addLayout(address_row)
        self.code_panel = DeviceCodePanel(self.body)
        self._skip_graph: CancelFlag | None = None
        self.code_panel.skip_graph.clicked.connect(self._skip_graph_code)
        self.code_panel.hide()
        self.body_layout.addWidget(self.code_panel)

        self.advanced_toggle = QToolButton(self.body)
        self.advanced_toggle.setText(self.tr("Advanced: sign-in apps and tenant"))
        self.advanced_toggle.setCheckable(True)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_toggle.setAutoRaise(True)
        self.body_layout.addWidget(self.advanced_toggle)
        self.advanced = QWidget(self.body)
        advanced_layout = QVBoxLayout(self.advanced)
        advanced_layout.setContentsMargins(18, 0, 0, 0)
        self.client_edit = QLineEdit(self.advanced)
        self.client_edit.setPlaceholderText(EXCHANGE_POWERSHELL_CLIENT_ID)
        self.client_field = add_field(
            advanced_layout,
            self.tr("Sign-in app (client ID)"),
            self.client_edit,
            self.tr(
                "Leave empty to use Microsoft's Exchange Online PowerShell app. An MSP can "
                "enter the Application (client) ID of its own multi-tenant app registration "
                "(a public client with http://localhost as redirect URI)."
            ),
        )
        self.tenant_edit = QLineEdit(self.advanced)
        self.tenant_edit.setPlaceholderText(self.tr("the account's own tenant"))
        self.tenant_field = add_field(
            advanced_layout,
            self.tr("Tenant"),
            self.tenant_edit,
            self.tr(
                "A domain such as contoso.com or the tenant ID, for example when you sign in "
                "to a customer's tenant with your own account (GDAP)."
            ),
        )
        self.mailbox_app_edit = QLineEdit(self.advanced)
        self.mailbox_app_edit.setPlaceholderText(self.tr("not set yet"))
        self.mailbox_app_field = add_field(
            advanced_layout,
            self.tr("App for the OAuth test message (client ID)"),
            self.mailbox_app_edit,
            self.tr(
                "Microsoft's own apps may not ask to send mail as a mailbox (AADSTS65002): "
                "the OAuth test needs an app registration of yours, one per cloud. Paste "
                "its client ID, let the wizard create it in this tenant, or follow the "
                "steps to make it yourself."
            ),
        )
        app_row = QHBoxLayout()
        self.create_app_button = QPushButton(self.tr("Create it in this tenant"), self.advanced)
        self.create_app_button.setToolTip(
            self.tr(
                "Signed in as an administrator: registers the app through Microsoft Graph "
                "and consents to it in this tenant. Microsoft asks you to approve once."
            )
        )
        self.manual_app_button = QPushButton(self.tr("Steps to make it yourself…"), self.advanced)
        app_row.addWidget(self.create_app_button)
        app_row.addWidget(self.manual_app_button)
        app_row.addStretch(1)
        advanced_layout.addLayout(app_row)
        self.advanced.hide()
        self.body_layout.addWidget(self.advanced)

        self.skip_box = QCheckBox(
            self.tr("Continue without signing in (skip the tenant check and changes)"), self.body
        )
        self.body_layout.addWidget(self.skip_box)
        self.body_layout.addStretch(1)

        self.task: Task[_Outcome] | None = None
        self._app_task: Task[MailboxTestApp] | None = None
        # Exchange's refusal of the signed-in account (its role check), until it says yes.
        self._refused: ExchangeRoleRefused | None = None
        self._flow = ""
        # Which sign-in attempt is current: a cancelled one may still report back late.
        self._attempt = 0
        self.browser_button.clicked.connect(self.sign_in_with_browser)
        self.code_button.clicked.connect(self.sign_in_with_code)
        self.sign_out_button.clicked.connect(self.sign_out)
        self.recheck_button.clicked.connect(self.check_again)
        self.advanced_toggle.toggled.connect(self._toggle_advanced)
        self.client_edit.editingFinished.connect(self._settings_edited)
        self.tenant_edit.editingFinished.connect(self._settings_edited)
        self.mailbox_app_edit.editingFinished.connect(self._mailbox_app_edited)
        self.create_app_button.clicked.connect(self.create_mailbox_test_app)
        self.manual_app_button.clicked.connect(self._show_manual_app_steps)
        self.skip_box.toggled.connect(self._skip_toggled)
        self.session.signedInChanged.connect(lambda _account: self._refresh())
        self.session.profileChanged.connect(lambda _profile: self._refresh())

    # Showing the state ---------------------------------------------------------------

    def initializePage(self) -> None:
        settings = self.session.sign_in.settings
        self.client_edit.setText("" if settings.uses_default_client else settings.client_id)
        self.tenant_edit.setText(settings.tenant or "")
        self.mailbox_app_edit.setText(
            settings.clouds.get(self.session.cloud.id.value, CloudAppIds()).mailbox_test or ""
        )
        self.skip_box.setChecked(self.session.tenant_skipped)
        self._refresh()

    def _refresh(self) -> None:
        account = self.session.signed_in
        identity = self.session.tenant_identity
        running = self.running
        self.values.clear()
        self.tenant_warning.hide()
        if account is None:
            self.state_line.set_status(
                Tone.NEUTRAL,
                self.tr("Not signed in"),
                self.tr(
                    "Use an Exchange or Global Administrator, or a member of Exchange's "
                    "Organization Management role group."
                ),
            )
        else:
            self.values.add(
                self.tr("Account"), f"{account.display_name} ({account.upn})", copy=False
            )
            if identity is not None:
                tenant = identity.display_name
                if identity.default_domain and identity.default_domain != tenant:
                    tenant = f"{tenant} ({identity.default_domain})"
                self.values.add(self.tr("Tenant"), tenant)
            self.values.add(self.tr("Tenant ID"), account.tenant_id, copy=True)
            self.values.add(self.tr("Admin role"), account.role_text)
            refused = self._refusal()
            if refused is not None:
                self.state_line.set_status(
                    Tone.BAD,
                    self.tr("Exchange refused"),
                    f"{refused.what} {refused.next_step}",
                )
            elif account.has_admin_role is not True and identity is None:
                self.state_line.set_status(
                    Tone.WARNING,
                    self.tr("Signed in"),
                    self.tr(
                        "The token names no Entra admin role; Exchange's own role check "
                        "decides at the first read of the tenant."
                    ),
                )
            elif account.has_admin_role is not True:
                self.state_line.set_status(
                    Tone.GOOD,
                    self.tr("Signed in"),
                    self.tr(
                        "as {0}. The token names no Entra admin role, but Exchange lets the "
                        "account read the tenant (an Exchange role group such as "
                        "Organization Management)."
                    ).format(account.display_name),
                )
            else:
                self.state_line.set_status(
                    Tone.GOOD,
                    self.tr("Signed in"),
                    self.tr("as {0}, {1}.").format(account.display_name, account.role_text),
                )
            domain = self.session.profile.site.domain.strip()
            if identity is not None and domain and not identity.owns(domain):
                self.tenant_warning.set_status(
                    Tone.WARNING,
                    self.tr("Wrong tenant?"),
                    self.tr(
                        "{0} is not a domain of {1}. If the devices send from {0}, sign out "
                        "and sign in to the tenant that owns it (enter it under Advanced)."
                    ).format(domain, identity.display_name),
                )
                self.tenant_warning.show()
        signed_in = account is not None
        self.values.setVisible(signed_in)
        # Each way can take over from the other while it waits.
        self.browser_button.setEnabled(not (running and self._flow == "browser"))
        self.browser_button.setText(
            self.tr("Sign in with another account")
            if signed_in
            else self.tr("Sign in &with the browser")
        )
        self.code_button.setEnabled(not (running and self._flow == "code"))
        self.recheck_button.setVisible(self._refusal() is not None)
        self.recheck_button.setEnabled(not running)
        self.sign_out_button.setVisible(signed_in)
        self.skip_box.setVisible(not signed_in)
        self.advanced.setEnabled(not running)
        self.create_app_button.setEnabled(not running and account is not None)
        self.refresh_complete()

    def incomplete_reason(self) -> str | None:
        if self.session.tenant_skipped:
            return None
        if self.running:
            return self.tr("Finish signing in, or cancel it.")
        account = self.session.signed_in
        if account is None:
            return self.tr(
                "Sign in with an admin account of the tenant, or choose to continue without "
                "signing in."
            )
        refused = self._refusal()
        if refused is not None:
            return f"{refused.what} {refused.next_step}"
        return None

    def _refusal(self) -> ExchangeRoleRefused | None:
        """Exchange's refusal of the account signed in now, if it refused it."""
        account = self.session.signed_in
        refused = self._refused
        if account is None or refused is None or refused.upn.lower() != account.upn.lower():
            return None
        return refused

    # Settings ----------------------------------------------------------------------------

    # The mailbox-test app ------------------------------------------------------------

    def _store_mailbox_app(self, client_id: str | None) -> None:
        sign_in = self.session.sign_in
        cloud = self.session.cloud
        ids = sign_in.settings.clouds.get(cloud.id.value, CloudAppIds())
        settings = sign_in.settings.with_cloud_apps(
            cloud, CloudAppIds(mailbox_test=client_id, msp_app=ids.msp_app)
        )
        # Only the mailbox-test app changes: the admin's sign-in stays.
        sign_in.settings = settings
        try:
            save_settings(settings)
        except OSError as exc:
            self.show_message(
                UserMessage(
                    Tone.WARNING,
                    self.tr("The app's client ID could not be saved for next time."),
                    str(exc.strerror or exc),
                )
            )

    def _mailbox_app_edited(self) -> None:
        text = self.mailbox_app_edit.text().strip()
        if not text:
            self.mailbox_app_field.error.clear()
            self._store_mailbox_app(None)
            return
        checked = check_client_id(text)
        if not checked.ok or checked.value is None:
            self.mailbox_app_field.error.show_error(checked.error)
            return
        if checked.value in (EXCHANGE_POWERSHELL_CLIENT_ID, GRAPH_CLI_CLIENT_ID):
            self.mailbox_app_field.error.show_error(
                self.tr(
                    "That is one of Microsoft's own apps, which may not send mail as a "
                    "mailbox (AADSTS65002). Enter your own app registration's client ID."
                )
            )
            return
        self.mailbox_app_field.error.clear()
        self._store_mailbox_app(checked.value)

    def create_mailbox_test_app(self) -> None:
        """Consent to Graph's app permissions, then find or create the app (off the UI
        thread); its client ID is kept for this cloud."""
        if self.session.signed_in is None or self.running:
            self.show_message(UserMessage(Tone.INFO, self.tr("Sign in as an administrator first.")))
            return
        sign_in = self.session.sign_in
        cloud = self.session.cloud

        def work(token: CancelToken) -> MailboxTestApp:
            sign_in.sign_in_graph_writer(cancel=token)
            return ensure_mailbox_test_app(Graph(cloud, sign_in.graph_writer_token), cancel=token)

        def done(app: MailboxTestApp | None, error: BaseException | None) -> None:
            self._app_task = None
            self._refresh()
            if isinstance(error, (TaskCancelled, Cancelled)):
                return
            if error is not None or app is None:
                self.show_error(
                    error or RuntimeError("no app registration"),
                    doing=self.tr("creating the app for the OAuth test"),
                )
                return
            self.mailbox_app_edit.setText(app.client_id)
            self.mailbox_app_field.error.clear()
            self._store_mailbox_app(app.client_id)
            self.show_message(
                UserMessage(
                    Tone.GOOD,
                    (
                        self.tr("Created the app '{name}' and consented to it in this tenant.")
                        if app.created
                        else self.tr("Found the app '{name}' made earlier; it is ready.")
                    ).format(name=APP_DISPLAY_NAME),
                    self.tr("Client ID {id}. The OAuth test message signs in with it.").format(
                        id=app.client_id
                    ),
                )
            )

        self._app_task = self.run_task(
            work,
            done,
            name="create the mailbox-test app",
            label=self.tr("Creating the app for the OAuth test (approve in the browser)…"),
        )
        self._refresh()

    def _show_manual_app_steps(self) -> None:
        dialog = ManualAppSteps(self.session.cloud, self)
        dialog.exec()

    def _toggle_advanced(self, shown: bool) -> None:
        self.advanced.setVisible(shown)
        self.advanced_toggle.setArrowType(
            Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow
        )

    def _settings(self) -> SignInSettings | None:
        client = check_client_id(self.client_edit.text())
        tenant = check_tenant(self.tenant_edit.text())
        if client.ok:
            self.client_field.error.clear()
        else:
            self.client_field.error.show_error(client.error)
        if tenant.ok:
            self.tenant_field.error.clear()
        else:
            self.tenant_field.error.show_error(tenant.error)
        if not client.ok or not tenant.ok or client.value is None:
            return None
        # Keep the per-cloud app ids the form does not show.
        return SignInSettings(client.value, tenant.value, self.session.sign_in.settings.clouds)

    def _settings_edited(self) -> None:
        settings = self._settings()
        if settings is None or settings == self.session.sign_in.settings:
            return
        was_signed_in = self.session.signed_in is not None
        self.session.sign_in.use_settings(settings)
        try:
            save_settings(settings)
        except OSError as exc:
            self.show_message(
                UserMessage(
                    Tone.WARNING,
                    self.tr("The sign-in settings could not be saved for next time."),
                    str(exc.strerror or exc),
                )
            )
        if was_signed_in:
            self.session.signed_in_changed()
            self.show_message(
                UserMessage(
                    Tone.INFO,
                    self.tr("Signed out: the sign-in app or tenant changed."),
                    "",
                    self.tr("Sign in again."),
                )
            )

    def _skip_toggled(self, skipped: bool) -> None:
        self.session.set_tenant_skipped(skipped)
        self.refresh_complete()

    # Signing in --------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return any(t is not None and t.running for t in (self.task, self._app_task))

    def _start(self) -> bool:
        settings = self._settings()
        if settings is None:
            self.advanced_toggle.setChecked(True)
            return False
        if settings != self.session.sign_in.settings:
            self._settings_edited()
        if self.task is not None and self.task.running:
            self.task.cancel()
        self.status.clear_message()
        self.skip_box.setChecked(False)
        return True

    def sign_in_with_browser(self) -> None:
        if not self._start():
            return
        sign_in = self.session.sign_in
        cloud = self.session.cloud

        def work(token: CancelToken) -> _Outcome:
            account = sign_in.sign_in_browser(cancel=token, on_open=token.report)
            # Graph has its own client (a first-party client may not ask for another
            # first-party resource, AADSTS65002): one more round in the same browser
            # session, normally without a click. Without it Graph reads stay unknown
            # and the tenant check says so.
            try:
                sign_in.sign_in_graph(cancel=token, on_open=token.report)
            except Cancelled:
                raise
            except WizardError as exc:
                log.info("Graph sign-in failed: %s", exc.detail or exc.what)
            return _with_identity(cloud, sign_in, account, token)

        self.code_panel.hide()
        self.waiting_hint.show()
        self._flow = "browser"
        self.copy_address.set_value("")
        self.copy_address.hide()
        self.task = self.run_task(
            work,
            self._finisher(),
            name="sign in (browser)",
            label=self.tr("Waiting for you to sign in in the browser…"),
            on_progress=self._address_ready,
        )
        self._refresh()

    def sign_in_with_code(self) -> None:
        if not self._start():
            return
        sign_in = self.session.sign_in
        cloud = self.session.cloud

        skip = CancelFlag()
        self._skip_graph = skip

        def work(token: CancelToken) -> _Outcome:
            code = sign_in.start_device_code()
            token.report(code)
            account = sign_in.finish_device_code(code, cancel=token)
            # Graph has its own client (AADSTS65002 otherwise): a second code, as the
            # browser path does a second round. Skipping it, or its failure, leaves the
            # Graph values unknown, and the tenant check says so.
            if sign_in.client_for(AppJob.GRAPH_READ) != sign_in.client_for(AppJob.ADMIN_API):
                try:
                    graph_code = sign_in.start_device_code(job=AppJob.GRAPH_READ)
                    token.report(_GraphCode(graph_code))
                    sign_in.finish_device_code(graph_code, cancel=_Either(token, skip))
                except Cancelled:
                    if token.cancelled:
                        raise
                    log.info("Graph sign-in skipped")
                except WizardError as exc:
                    log.info("Graph sign-in failed: %s", exc.detail or exc.what)
            return _with_identity(cloud, sign_in, account, token)

        self.waiting_hint.hide()
        self.copy_address.hide()
        self.code_panel.hide()
        self._flow = "code"
        self.task = self.run_task(
            work,
            self._finisher(),
            name="sign in (code)",
            label=self.tr("Waiting for you to enter the code…"),
            on_progress=self._code_ready,
        )
        self._refresh()

    def _address_ready(self, value: object) -> None:
        if isinstance(value, str) and self._flow == "browser":
            self.copy_address.set_value(value)
            self.copy_address.show()

    def _skip_graph_code(self) -> None:
        if self._skip_graph is not None:
            self._skip_graph.cancel()
        self.code_panel.skip_graph.hide()

    def _code_ready(self, value: object) -> None:
        if isinstance(value, _GraphCode):
            self.code_panel.show_code(value.code, for_graph=True)
            self.code_panel.copy_code.setFocus()
            self._refresh()
        elif isinstance(value, DeviceCode):
            self.code_panel.show_code(value)
            self.code_panel.copy_code.setFocus()
            self._refresh()

    def _finisher(self) -> Callable[[_Outcome | None, BaseException | None], None]:
        self._attempt += 1
        attempt = self._attempt

        def finished(outcome: _Outcome | None, error: BaseException | None) -> None:
            if attempt == self._attempt:
                self._finished(outcome, error)

        return finished

    def _finished(self, outcome: _Outcome | None, error: BaseException | None) -> None:
        self.task = None
        self._flow = ""
        self.waiting_hint.hide()
        self.copy_address.hide()
        self.code_panel.hide()
        if isinstance(error, (TaskCancelled, Cancelled)):
            self.show_message(UserMessage(Tone.INFO, self.tr("Sign-in stopped.")))
            self._refresh()
            return
        if error is not None or outcome is None:
            self.show_error(error or RuntimeError("no sign-in result"), doing=self.tr("signing in"))
            if isinstance(error, (UseDeviceCode, SignInTimedOut)):
                self.code_button.setFocus()
            self._refresh()
            return
        self.status.clear_message()
        self._come_to_front()
        self.session.signed_in_changed()
        self._identity_read(outcome)

    def _come_to_front(self) -> None:
        """After the browser had the focus: the wizard is where the work goes on."""
        window = self.window()
        if window.isMinimized():
            window.showNormal()
        # Screenless platforms (offscreen, minimal) have no stacking order to change.
        if QGuiApplication.platformName() not in ("offscreen", "minimal"):
            window.raise_()
        window.activateWindow()
        # Where the window system refuses to hand over the focus, at least ask for
        # attention (a blinking task bar entry).
        QApplication.alert(window)

    def _identity_read(self, outcome: _Outcome) -> None:
        """Exchange's first answer: the tenant, its role check's refusal, or an error."""
        error = outcome.identity_error
        self._refused = error if isinstance(error, ExchangeRoleRefused) else None
        if outcome.identity is not None:
            self.session.set_tenant_identity(outcome.identity)
        if error is not None and self._refused is None:
            self.show_error(error, doing=self.tr("reading the tenant"))
        self._refresh()

    def check_again(self) -> None:
        """Ask Exchange again (after an admin gave the account a role or role group)."""
        account = self.session.signed_in
        if account is None or self.running:
            return
        sign_in = self.session.sign_in
        cloud = self.session.cloud
        self.status.clear_message()
        self._attempt += 1
        attempt = self._attempt

        def work(token: CancelToken) -> _Outcome:
            return _with_identity(cloud, sign_in, account, token)

        def finished(outcome: _Outcome | None, error: BaseException | None) -> None:
            if attempt != self._attempt:
                return
            self.task = None
            if isinstance(error, (TaskCancelled, Cancelled)):
                self._refresh()
            elif error is not None or outcome is None:
                self.show_error(
                    error or RuntimeError("no answer"), doing=self.tr("reading the tenant")
                )
                self._refresh()
            else:
                self._identity_read(outcome)

        self.task = self.run_task(
            work, finished, name="check again", label=self.tr("Asking Exchange again…")
        )
        self._refresh()

    def sign_out(self) -> None:
        self._attempt += 1  # a sign-in still running is forgotten, not reported
        if self.task is not None and self.task.running:
            self.task.cancel()
        self.task = None
        self._flow = ""
        self.waiting_hint.hide()
        self.copy_address.hide()
        self.code_panel.hide()
        self._refused = None
        self.session.sign_in.sign_out()
        self.session.signed_in_changed()
        self.show_message(
            UserMessage(
                Tone.INFO,
                self.tr("Signed out."),
                self.tr("The wizard forgot the sign-in; nothing was kept on this computer."),
            )
        )

    # Self-test -----------------------------------------------------------------------------

    def prepare_self_test(self) -> None:
        """The offline self-test walks on without signing in."""
        self.skip_box.setChecked(True)
