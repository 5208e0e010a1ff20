"""Troubleshoot: why does a device that used to send mail no longer do so?

The device comes from the opened site profile or is typed in (method, sender, server
and port, TLS, password or OAuth). "Run the checks" runs them off the UI thread, in
the order a connection is made; each row fills in as its result arrives (icon + word
+ colour, plain words) and a problem offers "Fix in <step>", which jumps to that step
of the wizard: Back returns here, Next returns here and runs the checks again.
Signing in is optional: without it the tenant's connectors, mail flow rules and
message trace say "Sign in to check this". The findings export as PDF and JSON.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from wizard.core.clouds import device_facing
from wizard.core.device_settings import AuthKind, DeviceSettings, Security, device_settings
from wizard.core.errors import InvalidInput, SecretStoreError
from wizard.core.findings import Finding
from wizard.core.journal import EntryKind, findings_checked
from wizard.core.methods import METHOD_INFO, RELAY_METHODS, Method, Tri
from wizard.core.profile import Printer, SiteProfile
from wizard.core.relay import RelayConfig, device_password_purpose
from wizard.core.secret_names import password_purpose
from wizard.core.steps import STEP_TITLES, WizardStep
from wizard.core.troubleshoot.model import (
    CHECK_ORDER,
    CHECK_TITLES,
    CheckId,
    DeviceUnderTest,
    TroubleshootReport,
)
from wizard.core.troubleshoot.relay_checks import RELAY_CHECK_TITLES, RelayCheck, relay_findings
from wizard.core.validation import check_email
from wizard.services.cancel import Cancelled
from wizard.services.exchange_admin import ExchangeAdmin
from wizard.services.http import make_session
from wizard.services.paths import profiles_dir
from wizard.services.profile_store import load_profile
from wizard.services.relay import default_config_path, load_config
from wizard.services.relay_setup import certificate_file, certificate_fingerprint, relay_health
from wizard.services.signin import SignedIn
from wizard.services.smtp_test import Credentials
from wizard.services.troubleshooter import Troubleshooter, TroubleshootOptions
from wizard.ui.findings_export import FindingsExporter, safe_file_stem
from wizard.ui.messages import UserMessage
from wizard.ui.pages.base import PageId, WizardPage
from wizard.ui.style import Tone
from wizard.ui.tasks import CancelToken, Task, TaskCancelled
from wizard.ui.widgets.finding_row import FindingRow, finding_tone
from wizard.ui.widgets.form import add_field
from wizard.ui.widgets.labels import HintLabel, SectionTitle, StatusLine

_TYPED = "__typed__"


class TroubleshootPage(WizardPage):
    page_id = PageId.TROUBLESHOOT

    def build(self) -> None:
        self.exporter = FindingsExporter(
            self,
            title=self.tr("Export the findings"),
            dialog_name="exportFindingsDialog",
            saved=self.tr("The findings were saved to {0}."),
        )
        self.setTitle(self.tr("Troubleshoot a device"))
        self.setSubTitle(
            self.tr(
                "Find out why a printer, scanner or app that used to send mail no longer "
                "does: each check in the order a connection is made, with what to do."
            )
        )
        layout = self.body_layout
        head = QHBoxLayout()
        head.addWidget(SectionTitle(self.tr("The device"), self.body), 1)
        self.open_button = QPushButton(self.tr("Open a s&ite profile…"), self.body)
        self.open_button.setAutoDefault(False)
        self.open_button.setAccessibleDescription(
            self.tr("Use the devices of a saved site profile.")
        )
        head.addWidget(self.open_button)
        layout.addLayout(head)

        columns = QHBoxLayout()
        columns.setSpacing(12)
        left, right = QVBoxLayout(), QVBoxLayout()
        columns.addLayout(left, 1)
        columns.addLayout(right, 1)
        layout.addLayout(columns)
        self.device_combo = QComboBox(self.body)
        add_field(
            left,
            self.tr("&Device"),
            self.device_combo,
            self.tr("A device of the opened profile, or type its settings."),
        )
        self.method_combo = QComboBox(self.body)
        for method in Method:
            self.method_combo.addItem(METHOD_INFO[method].title, method.value)
        add_field(right, self.tr("&Method"), self.method_combo, self.tr("How it sends."))
        self.sender_edit = QLineEdit(self.body)
        self.sender_field = add_field(
            left, self.tr("&Sender (From)"), self.sender_edit, self.tr("The device's address.")
        )
        self.recipient_edit = QLineEdit(self.body)
        self.recipient_edit.setPlaceholderText(self.tr("the sender"))
        add_field(
            right,
            self.tr("Test &recipient"),
            self.recipient_edit,
            self.tr("The sign-in check stops before the message: nothing is sent."),
        )
        server_row = QHBoxLayout()
        self.host_edit = QLineEdit(self.body)
        self.port_spin = QSpinBox(self.body)
        self.port_spin.setRange(1, 65535)
        self.port_spin.setValue(587)
        self.host_field = add_field(
            left,
            self.tr("Ser&ver"),
            self.host_edit,
            self.tr("As set on the device (its settings sheet)."),
        )
        port_box = QVBoxLayout()
        add_field(port_box, self.tr("P&ort"), self.port_spin)
        server_row.addLayout(port_box)
        self.starttls_box = QCheckBox(self.tr("Uses STARTTLS"), self.body)
        self.tls12_box = QCheckBox(self.tr("Has TLS 1.2 or newer"), self.body)
        self.tls12_box.setChecked(True)
        checks = QVBoxLayout()
        checks.addWidget(self.starttls_box)
        checks.addWidget(self.tls12_box)
        server_row.addLayout(checks)
        server_row.addStretch(1)
        right.addLayout(server_row)

        self.secret_box = QWidget(self.body)
        secret_layout = QHBoxLayout(self.secret_box)
        secret_layout.setContentsMargins(0, 0, 0, 0)
        secret_layout.setSpacing(12)
        left_secret, right_secret = QVBoxLayout(), QVBoxLayout()
        secret_layout.addLayout(left_secret, 1)
        secret_layout.addLayout(right_secret, 1)
        self.username_edit = QLineEdit(self.secret_box)
        add_field(
            left_secret,
            self.tr("&User name"),
            self.username_edit,
            self.tr("The mailbox or HVE account it signs in as."),
        )
        self.password_edit = QLineEdit(self.secret_box)
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_field = add_field(
            right_secret,
            self.tr("Pass&word"),
            self.password_edit,
            self.tr("Only for this check; never saved. Empty: the one in the keyring."),
        )
        self.oauth_line = StatusLine(Tone.INFO, self.tr("Sign-in"), "", self.secret_box)
        self.oauth_button = QPushButton(self.secret_box)
        self.oauth_button.setAutoDefault(False)
        right_secret.addWidget(self.oauth_line)
        right_secret.addWidget(self.oauth_button)
        layout.addWidget(self.secret_box)
        self.cert_edit = QLineEdit(self.body)
        self.cert_edit.setPlaceholderText(self.tr("none"))
        self.cert_field = add_field(
            layout,
            self.tr("&Certificate name the device presents"),
            self.cert_edit,
            self.tr("Only for connectors that recognise the office by certificate."),
        )

        self.signed_line = StatusLine(Tone.INFO, self.tr("Tenant checks"), "", self.body)
        layout.addWidget(self.signed_line)
        layout.addWidget(SectionTitle(self.tr("Checks"), self.body))
        self.overall = StatusLine(Tone.NEUTRAL, self.tr("Not run yet"), "", self.body)
        layout.addWidget(self.overall)
        self.rows: dict[CheckId, FindingRow] = {}
        for check in CHECK_ORDER:
            row = FindingRow(CHECK_TITLES[check], self.body)
            row.fixRequested.connect(lambda step, c=check: self.fix(c, step))
            self.rows[check] = row
            layout.addWidget(row)
        # The local relay: the office computer between the device and Microsoft 365.
        self.relay_title = SectionTitle(self.tr("The office relay"), self.body)
        layout.addWidget(self.relay_title)
        self.relay_rows: dict[RelayCheck, FindingRow] = {}
        for relay_check in RelayCheck:
            row = FindingRow(RELAY_CHECK_TITLES[relay_check], self.body)
            row.fixRequested.connect(self._fix_relay)
            self.relay_rows[relay_check] = row
            layout.addWidget(row)
        layout.addStretch(1)

        actions = QHBoxLayout()
        self.run_button = QPushButton(self.tr("Run the chec&ks"), self)
        self.run_button.setDefault(True)
        self.run_button.setAccessibleName(self.tr("Run the troubleshooting checks"))
        self.pdf_button = QPushButton(self.tr("Export &PDF…"), self)
        self.json_button = QPushButton(self.tr("Export &JSON…"), self)
        for button in (self.pdf_button, self.json_button):
            button.setAutoDefault(False)
        actions.addWidget(
            HintLabel(self.tr("Checked from this computer, on its network."), self), 1
        )
        actions.addWidget(self.pdf_button)
        actions.addWidget(self.json_button)
        actions.addWidget(self.run_button)
        self.footer_layout.addLayout(actions)

        self.task: Task[TroubleshootReport] | None = None
        # Time limits of the checks (tests shorten them).
        self.options = TroubleshootOptions()
        self.report: TroubleshootReport | None = None
        self.relay_findings: tuple[Finding, ...] = ()
        self._defaults: dict[str, str] = {}
        self._show_pending(self.tr("Not run"))
        self.open_button.clicked.connect(self.choose_profile)
        self.device_combo.currentIndexChanged.connect(lambda _i: self._device_chosen())
        self.method_combo.currentIndexChanged.connect(lambda _i: self._method_changed())
        self.sender_edit.editingFinished.connect(self._sender_changed)
        self.sender_edit.textChanged.connect(lambda _t: self._update_buttons())
        self.host_edit.textChanged.connect(lambda _t: self._update_buttons())
        self.recipient_edit.textChanged.connect(lambda _t: self._update_buttons())
        self.tls12_box.toggled.connect(lambda _on: self._method_changed())
        self.run_button.clicked.connect(self.run_checks)
        self.pdf_button.clicked.connect(lambda: self._choose_export("pdf"))
        self.json_button.clicked.connect(lambda: self._choose_export("json"))
        self.oauth_button.clicked.connect(self.sign_in_mailbox)
        self.session.profileChanged.connect(lambda _p: self._load_devices())
        self.session.signedInChanged.connect(lambda _a: self._show_signed_in())
        # A bound method, not a lambda: the connection ends with the page.
        self.session.relayHostChanged.connect(self._relay_host_changed)
        self._update_buttons()

    # The device --------------------------------------------------------------------------

    def initializePage(self) -> None:
        self._load_devices()
        self._show_signed_in()
        self._load_local_relay()

    def _load_local_relay(self) -> None:
        """The relay set up on this computer, for a profile whose method is the relay."""
        session = self.session
        if session.profile.method is not Method.LOCAL_RELAY or session.local_relay is not None:
            return
        site = session.profile.site.name
        path = default_config_path()

        def work(_token: CancelToken) -> tuple[RelayConfig, str | None] | None:
            if not path.is_file():
                return None
            config = load_config(path, check=False)
            if config.site != site:
                return None
            return config, certificate_fingerprint(certificate_file(config, path))

        def done(found: tuple[RelayConfig, str | None] | None, error: BaseException | None) -> None:
            if error is None and found is not None:
                session.set_local_relay(found[0], path, found[1])
                self._method_changed(force=self._printer() is not None)

        self.session.tasks.run(work, done, name="read the relay")

    def _printers(self) -> tuple[Printer, ...]:
        return self.session.profile.printers

    def _load_devices(self) -> None:
        current = self.device_combo.currentData()
        self.device_combo.blockSignals(True)
        self.device_combo.clear()
        for printer in self._printers():
            self.device_combo.addItem(printer.name, printer.name)
        self.device_combo.addItem(self.tr("Typed by hand"), _TYPED)
        index = self.device_combo.findData(current)
        self.device_combo.setCurrentIndex(max(index, 0))
        self.device_combo.blockSignals(False)
        self._device_chosen()

    def _printer(self) -> Printer | None:
        name = self.device_combo.currentData()
        return next((p for p in self._printers() if p.name == name), None)

    def _device_chosen(self) -> None:
        printer = self._printer()
        profile = self.session.profile
        if printer is not None:
            self.sender_edit.setText(printer.sender)
            self.username_edit.setText(printer.username or "")
            self.tls12_box.setChecked(printer.tls12 is not Tri.NO)
            method = profile.method
            if method is not None:
                self.method_combo.setCurrentIndex(self.method_combo.findData(method.value))
        elif not self.sender_edit.text().strip() and profile.site.domain:
            self.sender_edit.setText(f"scanner@{profile.site.domain}")
        self._method_changed(force=printer is not None)

    def _method(self) -> Method:
        return Method(str(self.method_combo.currentData()))

    def _values(self) -> DeviceSettings | None:
        """The values a device of this method is given (what its sheet says)."""
        sender = check_email(self.sender_edit.text())
        if not sender.ok or sender.value is None:
            return None
        domain = self.session.profile.site.domain or sender.value.rpartition("@")[2]
        relay = self.session.relay_host()
        printer = self._printer()
        access = (
            self.session.local_relay_access().get(printer.name) if printer is not None else None
        )
        if self._method() in RELAY_METHODS:
            self.session.look_up_relay_host()
        try:
            return device_settings(
                self._method(),
                device_facing(self.session.cloud),
                domain=domain,
                sender=sender.value,
                username=self.username_edit.text().strip() or None,
                mx_host=relay if relay is not None and relay.domain == domain else None,
                tls12=Tri.YES if self.tls12_box.isChecked() else Tri.NO,
                local_relay=access,
            )
        except ValueError:
            return None

    def _relay_host_changed(self, _host: object) -> None:
        if self.isVisible():
            self._method_changed()

    def _method_changed(self, *, force: bool = False) -> None:
        values = self._values()
        if values is not None:
            # Defaults replace only defaults: what was typed stays.
            host = self.host_edit.text()
            if force or not host.strip() or host == self._defaults.get("host"):
                self.host_edit.setText(values.server)
            self._defaults["host"] = values.server
            if force or str(self.port_spin.value()) == self._defaults.get("port", "587"):
                self.port_spin.setValue(values.port)
            self._defaults["port"] = str(values.port)
            self.starttls_box.setChecked(values.security is Security.STARTTLS)
        auth = values.auth if values is not None else AuthKind.NONE
        self.secret_box.setVisible(auth is not AuthKind.NONE)
        self.password_field.container.setVisible(auth is AuthKind.PASSWORD)
        self.oauth_line.setVisible(auth is AuthKind.OAUTH)
        self.oauth_button.setVisible(auth is AuthKind.OAUTH)
        if auth is AuthKind.OAUTH:
            mailbox = self.username_edit.text().strip() or self.sender_edit.text().strip()
            self.oauth_line.set_status(
                Tone.INFO,
                self.tr("Sign-in"),
                self.tr("The check signs in as {0} with a Microsoft token.").format(mailbox),
            )
            self.oauth_button.setText(self.tr("Sign in as {0}…").format(mailbox))
        self.cert_field.container.setVisible(self._method() is Method.CONNECTOR)
        relay = self._method() is Method.LOCAL_RELAY
        self.relay_title.setVisible(relay)
        for row in self.relay_rows.values():
            row.setVisible(relay)
        self._update_buttons()

    def _sender_changed(self) -> None:
        checked = check_email(self.sender_edit.text())
        text = self.sender_edit.text().strip()
        self.sender_field.error.show_error("" if checked.ok or not text else checked.error)
        self._method_changed()

    def device(self) -> DeviceUnderTest | None:
        values = self._values()
        if values is None:
            return None
        printer = self._printer()
        return DeviceUnderTest(
            method=values.method,
            sender=values.sender,
            host=self.host_edit.text().strip(),
            port=self.port_spin.value(),
            security=Security.STARTTLS if self.starttls_box.isChecked() else Security.NONE,
            tls_required=values.tls_required,
            auth=values.auth,
            username=values.username,
            tls12=Tri.YES if self.tls12_box.isChecked() else Tri.NO,
            certificate_name=self.cert_edit.text().strip() or None,
            recipient=self.recipient_edit.text().strip(),
            known_site_ip=self.session.profile.site.public_ip,
            name=printer.name if printer is not None else "",
        )

    def _problem(self) -> str | None:
        device = self.device()
        if device is None:
            return self.tr("Enter the device's sender address.")
        problems = device.problems()
        return " ".join(problems) if problems else None

    # Signing in ---------------------------------------------------------------------------

    def _admin_account(self) -> SignedIn | None:
        """The signed-in admin whose sign-in the tenant checks use, if any.

        The token's roles are only a hint: Exchange's answer to the checks' reads decides
        (a refusal becomes a "not checked" row that says why).
        """
        return self.session.signed_in

    def _show_signed_in(self) -> None:
        account = self.session.signed_in
        if account is None:
            self.signed_line.set_status(
                Tone.INFO,
                self.tr("Not signed in"),
                self.tr(
                    "The connector, mail flow rule and message trace checks need an admin's "
                    "sign-in; go Back to Sign in to include them."
                ),
            )
        elif account.has_admin_role is not True:
            self.signed_line.set_status(
                Tone.INFO,
                self.tr("Signed in"),
                self.tr("as {0} ({1}): the tenant checks are included.").format(
                    account.upn, account.role_text
                ),
            )
        else:
            self.signed_line.set_status(
                Tone.GOOD,
                self.tr("Signed in"),
                self.tr("as {0}: the tenant checks are included.").format(account.upn),
            )

    def sign_in_mailbox(self) -> None:
        device = self.device()
        if device is None or device.auth is not AuthKind.OAUTH:
            return
        self.oauth_button.setEnabled(False)
        self.sign_in_as_mailbox(device.login)

    def mailbox_signed_in(self, account: SignedIn | None) -> None:
        self.oauth_button.setEnabled(True)
        if account is None:
            return
        self.oauth_line.set_status(
            Tone.GOOD, self.tr("Signed in"), self.tr("as {0}.").format(account.upn)
        )

    # Running ------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.task is not None and self.task.running

    def _update_buttons(self) -> None:
        problem = self._problem()
        self.run_button.setEnabled(problem is None and not self.running)
        self.run_button.setToolTip(problem or "")
        has = self.report is not None and not self.running
        self.pdf_button.setEnabled(has)
        self.json_button.setEnabled(has)

    def _show_pending(self, word: str) -> None:
        for row in (*self.rows.values(), *self.relay_rows.values()):
            row.set_pending(word)

    def _site(self) -> str:
        site = self.session.profile.site
        return site.name.strip() or site.domain.strip() or "default"

    def run_checks(self) -> None:
        if self.running:
            return
        problem = self._problem()
        device = self.device()
        if problem is not None or device is None:
            self.show_error(
                InvalidInput(problem or self.tr("Enter the device's settings.")),
                doing=self.tr("checking the device"),
            )
            return
        cloud = self.session.cloud
        account = self._admin_account()
        admin_sign_in = self.session.sign_in if account is not None else None
        typed = self.password_edit.text()
        site = self._site()
        sign_in = self.session.sign_in if device.auth is AuthKind.OAUTH else None
        relay_config = self.session.local_relay if device.method is Method.LOCAL_RELAY else None
        # The device signs in to the relay with the relay's own password for it.
        purpose = (
            device_password_purpose(device.login)
            if device.method is Method.LOCAL_RELAY
            else password_purpose(device.login)
        )
        if relay_config is not None:
            relay_ca = certificate_file(relay_config, self.session.local_relay_path)
            if relay_ca is not None:
                # The wire checks talk to the relay: trust its own CA, as its devices do.
                cloud = replace(cloud, ca_bundle=str(relay_ca))

        def credentials() -> Credentials | None:
            if device.auth is AuthKind.PASSWORD:
                password = typed
                if not password:
                    try:
                        password = self.session.secrets.get(site, purpose) or ""
                    except SecretStoreError:
                        password = ""
                return Credentials(password=password) if password else None
            if device.auth is AuthKind.OAUTH and sign_in is not None:
                login = device.login
                return Credentials(token_provider=lambda: sign_in.smtp_send_token(login))
            return None

        options = self.options

        tenant_cloud = self.session.cloud

        def work(token: CancelToken) -> TroubleshootReport:
            with make_session(tenant_cloud) as http:
                admin = None
                if account is not None and admin_sign_in is not None:
                    admin = ExchangeAdmin.for_sign_in(
                        tenant_cloud, admin_sign_in, account, session=http
                    )
                return Troubleshooter(
                    device,
                    cloud,
                    options=options,
                    credentials=credentials(),
                    admin=admin,
                    signed_in_as=account.upn if account is not None else None,
                    cancel=token,
                    on_result=token.report,
                ).run()

        self.status.clear_message()
        self.report = None
        self._show_pending(self.tr("Waiting"))
        self.rows[CHECK_ORDER[0]].set_pending(self.tr("Checking…"))
        self.overall.set_status(Tone.NEUTRAL, self.tr("Checking…"), f"{device.host}:{device.port}")
        self.task = self.run_task(
            work,
            self._finished,
            name="troubleshoot",
            label=self.tr("Checking {0}…").format(device.name or device.sender),
            on_progress=self._one_result,
        )
        if device.method is Method.LOCAL_RELAY:
            self._run_relay_checks(device)
        self._update_buttons()

    def _run_relay_checks(self, device: DeviceUnderTest) -> None:
        config = self.session.local_relay
        path = self.session.local_relay_path
        printer = self._printer()
        access = (
            self.session.local_relay_access().get(printer.name) if printer is not None else None
        )
        for row in self.relay_rows.values():
            row.set_pending(self.tr("Checking…"))

        def work(_token: CancelToken) -> tuple[Finding, ...]:
            health = relay_health(config, access, mailbox=device.sender, config_path=path)
            return relay_findings(health)

        self.session.tasks.run(work, self._relay_checked, name="relay checks")

    def _relay_checked(
        self, findings: tuple[Finding, ...] | None, error: BaseException | None
    ) -> None:
        if error is not None or findings is None:
            for row in self.relay_rows.values():
                row.set_pending(self.tr("Not checked"))
            if error is not None:
                self.show_error(error, doing=self.tr("checking the relay"))
            return
        self.relay_findings = findings
        for finding in findings:
            self.relay_rows[RelayCheck(finding.id)].set_finding(finding, self._can_fix)

    def _fix_relay(self, step: WizardStep) -> None:
        self.go_to_step(step)

    def _can_fix(self, step: WizardStep) -> bool:
        return self.can_go_to_step(step)

    def _one_result(self, value: object) -> None:
        if not isinstance(value, Finding):
            return
        check = CheckId(value.id)
        self.rows[check].set_finding(value, self._can_fix)
        index = CHECK_ORDER.index(check)
        if index + 1 < len(CHECK_ORDER):
            self.rows[CHECK_ORDER[index + 1]].set_pending(self.tr("Checking…"))

    def _finished(self, report: TroubleshootReport | None, error: BaseException | None) -> None:
        self.task = None
        if error is not None or report is None:
            stopped = isinstance(error, (TaskCancelled, Cancelled))
            for row in self.rows.values():
                if row.finding is None:
                    row.set_pending(self.tr("Not checked"))
            if stopped:
                self.overall.set_status(
                    Tone.NEUTRAL, self.tr("Stopped"), self.tr("The checks were cancelled.")
                )
            else:
                self.overall.set_status(Tone.BAD, self.tr("Could not check"), "")
                self.show_error(
                    error or RuntimeError("no report"), doing=self.tr("checking the device")
                )
            self._update_buttons()
            return
        self.show_report(report)

    def show_report(self, report: TroubleshootReport) -> None:
        self.report = report
        self.session.record(
            findings_checked(
                EntryKind.TROUBLESHOOT,
                report.device.name or report.device.sender,
                report.findings,
                self.session.now(),
            )
        )
        against = next(
            (
                f
                for f in report.findings
                if f.needs_action and f.step in (WizardStep.PLAN, WizardStep.TENANT)
            ),
            None,
        )
        if against is not None:
            # The tenant is not as the last read said: pages showing it read it again.
            self.session.contradicts_tenant(
                self.tr("Troubleshoot found: {0}.").format(against.title)
            )
        for finding in report.findings:
            self.rows[CheckId(finding.id)].set_finding(finding, self._can_fix)
        top = report.headline
        if top is None:
            self.overall.set_status(
                Tone.GOOD,
                self.tr("Nothing wrong found"),
                self.tr(
                    "Every check that ran passed; run it on the device's network if it still fails."
                ),
            )
        else:
            where = (
                self.tr("fix outside the wizard")
                if top.step is WizardStep.OUTSIDE
                else self.tr("fix in {0}").format(STEP_TITLES[top.step])
                if top.step is not None
                else ""
            )
            self.overall.set_status(
                finding_tone(top),
                self.tr("Found"),
                f"{top.title}" + (f" — {where}" if where else ""),
            )
        self._update_buttons()
        if self.scroll_area is not None:
            self.scroll_area.ensureWidgetVisible(self.overall)

    # Fixing -------------------------------------------------------------------------------

    def fix(self, check: CheckId, step: WizardStep) -> None:
        """Go to the step that fixes a finding (Back comes back here; Next comes back
        and runs the checks again)."""
        if not self.can_go_to_step(step):
            return
        report = self.report
        if (
            report is not None
            and check is CheckId.CONNECTOR
            and step is WizardStep.PLAN
            and report.new_site_ip
        ):
            # The plan builds the connector from the site's address: give it the new one.
            self.session.update_site(public_ip=report.new_site_ip)
            self.show_message(
                UserMessage(
                    Tone.INFO,
                    self.tr("The office's public IP in the site is now {0}.").format(
                        report.new_site_ip
                    ),
                )
            )
        if report is not None and check is CheckId.PORTS and report.port25_blocked:
            # The advisor then ranks the methods on port 587 first.
            self.session.update_site(port25_open=Tri.NO)
        self.go_to_step(step)

    def returned_from_fix(self, fixed_at: PageId) -> None:
        """Back from the fix with Next: the device as the profile now has it, checked
        again (unless something needed for the checks is missing: the page says what)."""
        self._load_devices()
        self._show_signed_in()
        if self._problem() is None:
            self.run_checks()

    # A site profile -------------------------------------------------------------------------

    def choose_profile(self) -> None:
        folder = self.session.profile_path.parent if self.session.profile_path else profiles_dir()
        dialog = QFileDialog(self, self.tr("Open a site profile"), str(folder))
        dialog.setObjectName("openProfileDialog")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setNameFilters([self.tr("Site profiles (*.json)"), self.tr("All files (*)")])
        dialog.fileSelected.connect(lambda name: self.open_profile(Path(name)))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def open_profile(self, path: Path) -> None:
        def work(_token: CancelToken) -> SiteProfile:
            return load_profile(path)

        def done(profile: SiteProfile | None, error: BaseException | None) -> None:
            if error is not None or profile is None:
                self.show_error(
                    error or RuntimeError("no profile"), doing=self.tr("opening the profile")
                )
                return
            self.session.adopt(profile, path)
            self.device_combo.setCurrentIndex(0)

        self.run_task(
            work, done, name="open profile", label=self.tr("Opening {0}…").format(path.name)
        )

    # Export -----------------------------------------------------------------------------------

    def _choose_export(self, kind: str) -> None:
        report = self.report
        if report is None:
            return
        name = safe_file_stem(report.device.name or report.device.sender, "device")
        self.exporter.choose(report, f"troubleshoot-{name}.{kind}", kind)

    def export(self, path: Path, kind: str) -> None:
        if self.report is not None:
            self.exporter.export(self.report, path, kind)
