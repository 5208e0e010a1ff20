"""Local relay: set the relay up on this computer for the devices, run it, test it.

Only on the path when the method is local-relay (base.METHOD_ONLY). The page builds
the relay's config from the site, the tenant and this computer's address, adds each
device (its address, a user name and a password the relay makes, kept in the keyring),
signs in once as each device's mailbox so the relay can send as it, runs the relay
here or installs it as a service, shows its state (running, queue, last delivery,
last error) and sends a test message through it the way the device will.

The engine is services.relay; this page only calls it, always off the UI thread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
)

from wizard.core.clouds import AppJob
from wizard.core.errors import InvalidInput, SignInError
from wizard.core.methods import Tri
from wizard.core.profile import Printer
from wizard.core.relay import PLAIN_PORT, SUBMISSION_PORT, RelayConfig, RelayDevice, validate
from wizard.core.relay_access import relay_device_for, uses_plain_port
from wizard.core.troubleshoot.relay_checks import TokenState
from wizard.core.validation import check_email
from wizard.services.exchange_admin import ExchangeAdmin
from wizard.services.message_trace import (
    FIRST_DELAY,
    MessageTraceSearch,
    TraceResult,
)
from wizard.services.relay import (
    RelayServer,
    RelayStatus,
    ServiceManager,
    add_device,
    default_config_path,
    enroll_mailbox,
    install_service,
    load_config,
    relay_status,
    remove_device,
    remove_service,
    save_config,
)
from wizard.services.relay.config_store import data_dir
from wizard.services.relay.devices import device_password
from wizard.services.relay.probe import RelayTestResult
from wizard.services.relay.tokens import load_refresh_token
from wizard.services.relay_setup import (
    certificate_file,
    certificate_fingerprint,
    local_addresses,
    new_relay_config,
    send_traceable_test,
    suggested_hostname,
)
from wizard.services.signin import NeedsSignIn, SignedIn
from wizard.ui.pages.base import PageId, WizardPage
from wizard.ui.style import Tone
from wizard.ui.tasks import CancelToken, Task
from wizard.ui.trace_status import trace_status
from wizard.ui.widgets.copy import CopyButton
from wizard.ui.widgets.form import add_field
from wizard.ui.widgets.labels import HintLabel, SectionTitle, StatusLine

# How often the page asks the relay how it is doing while the page is shown.
STATUS_EVERY_MS = 2000
# The demo runs the relay as the signed-in user, who may not open ports below 1024.
DEMO_PORT = 2587

COL_NAME, COL_SENDER, COL_IP, COL_USER, COL_STATE = range(5)


@dataclass
class _Loaded:
    """What initializePage reads off the UI thread."""

    config: RelayConfig | None
    path: Path
    signed_in: set[str] = field(default_factory=set)  # mailboxes with a refresh token
    fingerprint: str | None = None
    # This computer's addresses and name (a name lookup may wait on the resolver).
    addresses: list[str] = field(default_factory=list)
    hostname: str = ""


class RelayPage(WizardPage):
    page_id = PageId.RELAY

    def build(self) -> None:
        self.setTitle(self.tr("Local relay"))
        self.setSubTitle(
            self.tr(
                "Set the relay up on this computer for the devices, start it, and send a "
                "test through it the way a device will."
            )
        )
        layout = self.body_layout
        self.config: RelayConfig | None = None
        self.config_path: Path = default_config_path()
        self.server: RelayServer | None = None
        # The platform's service manager (None: this computer's, chosen when needed).
        self.service_manager: ServiceManager | None = None
        self.last_status: RelayStatus | None = None
        self.signed_in: set[str] = set()
        self.new_passwords: dict[str, str] = {}  # username -> password, this session only
        self.test_accepted: str | None = None
        self._status_task: Task[RelayStatus] | None = None
        self._signing_in: str | None = None
        self._watching_close = False
        self._busy = False

        # This computer -------------------------------------------------------------
        layout.addWidget(SectionTitle(self.tr("This computer"), self.body))
        layout.addWidget(
            HintLabel(
                self.tr(
                    "The relay runs here: keep this computer on and on the devices' network. "
                    "It listens on one address only, never on every network."
                ),
                self.body,
            )
        )
        row = QHBoxLayout()
        layout.addLayout(row)
        self.listen = QComboBox(self.body)
        self.listen.setEditable(True)
        add_field(
            row,
            self.tr("&Address the devices send to"),
            self.listen,
            self.tr("This computer's address on the office network."),
        )
        row.setStretch(0, 1)
        self.hostname = QLineEdit(self.body)
        add_field(
            row,
            self.tr("&Computer name"),
            self.hostname,
            self.tr("Goes into the relay's certificate with the address."),
        )
        row.setStretch(1, 1)
        ports = QHBoxLayout()
        layout.addLayout(ports)
        self.port = QSpinBox(self.body)
        self.port.setRange(1, 65535)
        self.port.setValue(SUBMISSION_PORT)
        self.port.setMaximumWidth(self.fontMetrics().horizontalAdvance("0" * 12))
        add_field(ports, self.tr("STARTTLS &port"), self.port, self.tr("Usually 587."))
        ports.addSpacing(12)
        self.plain = QCheckBox(
            self.tr("Also a p&lain port for devices without TLS 1.2 (office network only)"),
            self.body,
        )
        self.plain.setToolTip(
            self.tr(
                "Their password then crosses the office network unencrypted; the relay still "
                "asks for it and accepts only that device's address."
            )
        )
        ports.addWidget(self.plain)
        self.plain_port = QSpinBox(self.body)
        self.plain_port.setRange(1, 65535)
        self.plain_port.setValue(PLAIN_PORT)
        self.plain_port.setMaximumWidth(self.fontMetrics().horizontalAdvance("0" * 12))
        self.plain_port.setAccessibleName(self.tr("Plain port"))
        ports.addWidget(self.plain_port)
        ports.addStretch(1)
        self.report_to = QLineEdit(self.body)
        self.report_to.setPlaceholderText(self.tr("optional, e.g. it@contoso.com"))
        add_field(
            layout,
            self.tr("Report failed messa&ges to"),
            self.report_to,
            self.tr("A short note goes there when Microsoft 365 refuses a message for good."),
        )

        # Devices -----------------------------------------------------------------------
        layout.addWidget(SectionTitle(self.tr("Devices"), self.body))
        layout.addWidget(
            HintLabel(
                self.tr(
                    "Enter each device's own address (double-click it, or press F2). The relay "
                    "accepts mail only from these addresses, with the user name and password "
                    "it makes for each device, and only from the device's own sender address."
                ),
                self.body,
            )
        )
        self.devices = QTableWidget(0, 5, self.body)
        self.devices.setHorizontalHeaderLabels(
            [
                self.tr("Device"),
                self.tr("Sender"),
                self.tr("IP address"),
                self.tr("Relay user name"),
                self.tr("State"),
            ]
        )
        self.devices.setAccessibleName(self.tr("Devices of the relay"))
        self.devices.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.devices.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.devices.verticalHeader().hide()
        self.devices.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.devices.setMinimumHeight(90)
        self.devices.setMaximumHeight(180)
        layout.addWidget(self.devices)
        buttons = QHBoxLayout()
        self.add_button = QPushButton(self.tr("Add to the rela&y"), self.body)
        self.add_button.setToolTip(
            self.tr("Adds the selected device (or gives it a new password if it is there).")
        )
        self.remove_button = QPushButton(self.tr("Re&move from the relay"), self.body)
        self.copy_password = CopyButton(
            "", self.tr("the device's new password"), self.body, label=self.tr("Copy new pass&word")
        )
        for button in (self.add_button, self.remove_button, self.copy_password):
            button.setAutoDefault(False)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.password_line = HintLabel("", self.body)
        layout.addWidget(self.password_line)

        # Mailbox sign-ins --------------------------------------------------------------
        layout.addWidget(SectionTitle(self.tr("The relay's sign-in as each mailbox"), self.body))
        sign_row = QHBoxLayout()
        self.token_line = StatusLine(Tone.INFO, self.tr("Sign-in"), "", self.body)
        self.sign_in_button = QPushButton(self.tr("S&ign in as the next mailbox…"), self.body)
        self.sign_in_button.setAutoDefault(False)
        sign_row.addWidget(self.token_line, 1)
        sign_row.addWidget(self.sign_in_button)
        layout.addLayout(sign_row)

        # The relay's state -----------------------------------------------------------
        layout.addWidget(SectionTitle(self.tr("The relay"), self.body))
        self.state_line = StatusLine(Tone.NEUTRAL, self.tr("Not set up"), "", self.body)
        layout.addWidget(self.state_line)
        self.queue_line = HintLabel("", self.body)
        self.queue_line.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.queue_line)
        self.cert_line = HintLabel("", self.body)
        self.cert_line.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.cert_line)
        run_row = QHBoxLayout()
        self.run_button = QPushButton(self.tr("&Run it here now"), self.body)
        self.run_button.setToolTip(
            self.tr("Runs the relay while the wizard is open: to try it before installing it.")
        )
        self.install_button = QPushButton(self.tr("Install as a s&ervice"), self.body)
        self.install_button.setToolTip(
            self.tr("Starts at boot and writes a plain log (systemd, launchd or Windows service).")
        )
        self.uninstall_button = QPushButton(self.tr("Remo&ve the service"), self.body)
        for button in (self.run_button, self.install_button, self.uninstall_button):
            button.setAutoDefault(False)
            run_row.addWidget(button)
        run_row.addStretch(1)
        layout.addLayout(run_row)

        # Test through the relay --------------------------------------------------------
        layout.addWidget(SectionTitle(self.tr("Test through the relay"), self.body))
        test_row = QHBoxLayout()
        self.test_device = QComboBox(self.body)
        add_field(test_row, self.tr("&Device"), self.test_device, self.tr("Sends as this device."))
        self.test_to = QLineEdit(self.body)
        add_field(test_row, self.tr("&To"), self.test_to, self.tr("A mailbox you can look into."))
        layout.addLayout(test_row)
        self.test_line = StatusLine(Tone.INFO, "", "", self.body)
        self.test_line.hide()
        layout.addWidget(self.test_line)
        self.trace_line = StatusLine(Tone.INFO, "", "", self.body)
        self.trace_line.hide()
        layout.addWidget(self.trace_line)
        # The message trace's first look (Microsoft's lags by minutes; tests shorten it).
        self.trace_first_delay = FIRST_DELAY
        self.test_button = QPushButton(self.tr("&Send a test through the relay"), self)
        self.test_button.setAutoDefault(False)
        footer = QHBoxLayout()
        footer.addStretch(1)
        footer.addWidget(self.test_button)
        self.footer_layout.addLayout(footer)

        self._timer = QTimer(self)
        self._timer.setInterval(STATUS_EVERY_MS)
        self._timer.timeout.connect(self.poll_status)

        self.add_button.clicked.connect(self.add_selected_device)
        self.remove_button.clicked.connect(self.remove_selected_device)
        self.sign_in_button.clicked.connect(self.sign_in_next_mailbox)
        self.run_button.clicked.connect(self.toggle_run_here)
        self.install_button.clicked.connect(self.install)
        self.uninstall_button.clicked.connect(self.uninstall)
        self.test_button.clicked.connect(self.send_test)
        self.devices.itemSelectionChanged.connect(self._update_buttons)
        self.test_to.textChanged.connect(lambda _t: self._update_buttons())
        self.plain.toggled.connect(lambda _on: self._update_buttons())

    # Entering the page ---------------------------------------------------------------

    def initializePage(self) -> None:
        self.status.clear_message()
        session = self.session
        if session.cloud.is_sandbox and self.port.value() == SUBMISSION_PORT:
            self.port.setValue(DEMO_PORT)
        sandbox = session.cloud.is_sandbox
        need_addresses = not self.listen.count()
        needs_plain = any(p.tls12 is Tri.NO for p in session.profile.printers)
        self.plain.setVisible(needs_plain)
        self.plain_port.setVisible(needs_plain)
        admin = session.signed_in
        if not self.test_to.text() and admin is not None and admin.upn:
            self.test_to.setText(admin.upn)
        known = session.local_relay
        path = session.local_relay_path or self.config_path
        site = session.profile.site.name
        mailboxes = sorted({p.sender.lower() for p in session.profile.printers if p.sender})

        def work(_token: CancelToken) -> _Loaded:
            config = known
            if config is None and path.is_file():
                found = load_config(path, check=False)
                config = found if found.site == site else None
            store = self.session.secrets
            signed = {m for m in mailboxes if load_refresh_token(store, site, m)}
            fingerprint = (
                certificate_fingerprint(certificate_file(config, path)) if config else None
            )
            addresses = local_addresses() if need_addresses else []
            if sandbox:
                # Everything of the demo is on this computer: the printer stand-in too.
                addresses.sort(key=lambda a: a != "127.0.0.1")
            return _Loaded(config, path, signed, fingerprint, addresses, suggested_hostname())

        self._set_busy(True)
        self.run_task(work, self._loaded, name="read the relay", label=self.tr("Reading…"))
        self._timer.start()
        wizard = self.wizard()
        if wizard is not None and not self._watching_close:
            # A relay run from the page stops with the wizard.
            wizard.finished.connect(self._wizard_closed)
            self._watching_close = True

    def _loaded(self, loaded: _Loaded | None, error: BaseException | None) -> None:
        self._set_busy(False)
        if error is not None or loaded is None:
            self.show_error(error or RuntimeError("nothing read"), doing=self.tr("reading"))
            loaded = _Loaded(None, self.config_path)
        self.config_path = loaded.path
        self.signed_in |= loaded.signed_in
        if loaded.addresses and not self.listen.count():
            self.listen.addItems(loaded.addresses)
        if loaded.hostname and not self.hostname.text():
            self.hostname.setText(loaded.hostname)
        if loaded.config is not None:
            self._adopt(loaded.config, loaded.fingerprint)
        self._fill()

    def cleanupPage(self) -> None:
        self._timer.stop()
        super().cleanupPage()

    # The config ---------------------------------------------------------------------

    def _printers(self) -> tuple[Printer, ...]:
        return self.session.profile.printers

    def _form_config(self) -> RelayConfig:
        """The config as the form says, keeping the devices added so far."""
        session = self.session
        account = session.signed_in
        if account is None or not account.tenant_id:
            raise SignInError(
                self.tr("The relay needs to know your tenant."),
                self.tr("It sends as the devices' mailboxes in that tenant."),
                self.tr("Sign in on the Sign in step first."),
            )
        client = session.sign_in.client_for(AppJob.MAILBOX_TEST)
        if not client:
            raise SignInError(
                self.tr("The relay needs an app registration of your own."),
                self.tr("Microsoft's own apps may not ask for SMTP.Send (AADSTS65002)."),
                self.tr("On the Sign in step, under Advanced, create the app for the OAuth test."),
            )
        report = self.report_to.text().strip()
        if report and not check_email(report).ok:
            raise InvalidInput(check_email(report).error)
        config = new_relay_config(
            site=session.profile.site.name,
            cloud=session.cloud,
            tenant_id=account.tenant_id,
            client_id=client,
            listen_address=self.listen.currentText(),
            hostname=self.hostname.text(),
            submission_port=self.port.value(),
            plain_port=self.plain_port.value()
            if self.plain.isChecked() and not self.plain.isHidden()
            else None,
            admin_report_address=report or None,
            devices=self.config.devices if self.config is not None else (),
        )
        if self.config is not None:
            config = replace(config, data_dir=self.config.data_dir)
        problems = [p for p in validate(config) if not p.field.startswith("devices.")]
        if problems:
            raise InvalidInput(problems[0].message)
        return config

    def _adopt(self, config: RelayConfig, fingerprint: str | None = None) -> None:
        self.config = config
        self.listen.setCurrentText(config.listen_address)
        self.hostname.setText(config.hostname)
        self.port.setValue(config.submission_port)
        self.plain.setChecked(config.plain_port is not None)
        if config.plain_port is not None:
            self.plain_port.setValue(config.plain_port)
        self.report_to.setText(config.admin_report_address or "")
        self.session.set_local_relay(config, self.config_path, fingerprint)

    # The device table ----------------------------------------------------------------

    def _fill(self) -> None:
        printers = self._printers()
        selected = self._selected_row()
        self.devices.setRowCount(len(printers))
        for row, printer in enumerate(printers):
            device = relay_device_for(self.config, printer) if self.config else None
            ip_item = self.devices.item(row, COL_IP)
            typed = ip_item.text() if ip_item is not None else ""
            values = [
                printer.name,
                printer.sender,
                device.ip if device is not None else typed,
                device.username if device is not None else "",
                self._device_state(printer, device),
            ]
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                if col != COL_IP:
                    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.devices.setItem(row, col, item)
        if printers:
            self.devices.selectRow(selected if 0 <= selected < len(printers) else 0)
        current = self.test_device.currentText()
        self.test_device.clear()
        for printer in printers:
            if self.config is not None and relay_device_for(self.config, printer) is not None:
                self.test_device.addItem(printer.name)
        self.test_device.setCurrentIndex(max(self.test_device.findText(current), 0))
        self._show_tokens()
        self._show_state()
        self._update_buttons()
        self.refresh_complete()

    def _device_state(self, printer: Printer, device: RelayDevice | None) -> str:
        if device is None:
            return self.tr("Not added")
        if self.config is not None and uses_plain_port(self.config, printer):
            return self.tr("Added (plain port)")
        return self.tr("Added")

    def _selected_row(self) -> int:
        rows = self.devices.selectionModel().selectedRows() if self.devices.model() else []
        return rows[0].row() if rows else -1

    def set_device_ip(self, printer_name: str, ip: str) -> None:
        """Type a device's address into its row (what a person does in the table)."""
        for row, printer in enumerate(self._printers()):
            if printer.name == printer_name:
                item = self.devices.item(row, COL_IP)
                if item is not None:
                    item.setText(ip)
                self.devices.selectRow(row)

    # Adding and removing devices ------------------------------------------------------

    def add_selected_device(self) -> None:
        row = self._selected_row()
        printers = self._printers()
        if not 0 <= row < len(printers):
            return
        printer = printers[row]
        item = self.devices.item(row, COL_IP)
        ip = item.text().strip() if item is not None else ""
        try:
            config = self._form_config()
        except (InvalidInput, SignInError) as exc:
            self.show_error(exc, doing=self.tr("setting the relay up"))
            return
        existing = relay_device_for(config, printer)
        path = self.config_path

        def work(_token: CancelToken) -> tuple[RelayConfig, RelayDevice, str, str | None]:
            store = self.session.secrets
            new, device, password = add_device(
                config,
                store,
                name=printer.name,
                ip=ip,
                sender=printer.sender,
                username=existing.username if existing is not None else None,
            )
            save_config(new, path)
            return new, device, password, certificate_fingerprint(certificate_file(new, path))

        self._set_busy(True)
        self.run_task(
            work, self._device_added, name="add relay device", label=self.tr("Adding the device…")
        )

    def _device_added(
        self,
        result: tuple[RelayConfig, RelayDevice, str, str | None] | None,
        error: BaseException | None,
    ) -> None:
        self._set_busy(False)
        if error is not None or result is None:
            self.show_error(error or RuntimeError("not added"), doing=self.tr("adding the device"))
            return
        config, device, password, fingerprint = result
        self.new_passwords = {device.username: password}
        self.copy_password.set_value(password)
        self.password_line.setText(
            self.tr(
                "{name} was added as '{user}'. Its new password is kept in this computer's "
                "keyring; copy it now into the device, or print it on its sheet."
            ).format(name=device.name, user=device.username)
        )
        self._adopt(config, fingerprint)
        self._fill()
        self._note_service_restart()
        self._restart_here()

    def _note_service_restart(self) -> None:
        """A relay running as a service read its settings when it started."""
        if self.server is None and self.running:
            self.password_line.setText(
                self.password_line.text()
                + " "
                + self.tr(
                    "The relay service still runs with the old device list: remove the "
                    "service and install it again to restart it with this one."
                )
            )

    def remove_selected_device(self) -> None:
        row = self._selected_row()
        printers = self._printers()
        config = self.config
        if config is None or not 0 <= row < len(printers):
            return
        device = relay_device_for(config, printers[row])
        if device is None:
            return
        path = self.config_path

        def work(_token: CancelToken) -> RelayConfig:
            new = remove_device(config, self.session.secrets, device.username)
            save_config(new, path)
            return new

        self._set_busy(True)
        self.run_task(
            work, self._device_removed, name="remove relay device", label=self.tr("Removing…")
        )

    def _device_removed(self, config: RelayConfig | None, error: BaseException | None) -> None:
        self._set_busy(False)
        if error is not None or config is None:
            self.show_error(error or RuntimeError("not removed"), doing=self.tr("removing"))
            return
        self.password_line.setText("")
        self._adopt(config, self.session.local_relay_fingerprint)
        self._fill()
        self._note_service_restart()
        self._restart_here()

    # Mailbox sign-ins ---------------------------------------------------------------

    def _mailboxes(self) -> list[str]:
        return list(self.config.mailboxes) if self.config is not None else []

    def _token_state(self, mailbox: str) -> TokenState:
        status = self.last_status
        if status is not None and status.running and mailbox in status.tokens:
            return TokenState.parse(status.tokens[mailbox])
        return TokenState.OK if mailbox in self.signed_in else TokenState.MISSING

    def mailboxes_to_sign_in(self) -> list[str]:
        return [
            m
            for m in self._mailboxes()
            if self._token_state(m) in (TokenState.MISSING, TokenState.REFUSED)
        ]

    def _show_tokens(self) -> None:
        mailboxes = self._mailboxes()
        waiting = self.mailboxes_to_sign_in()
        if not mailboxes:
            self.token_line.set_status(
                Tone.NEUTRAL, self.tr("Sign-in"), self.tr("Add a device first.")
            )
        elif waiting:
            self.token_line.set_status(
                Tone.WARNING,
                self.tr("Sign in"),
                self.tr(
                    "The relay sends as each device's mailbox and needs one sign-in as it "
                    "(kept in this computer's keyring): {mailboxes}."
                ).format(mailboxes=", ".join(waiting)),
            )
        else:
            self.token_line.set_status(
                Tone.GOOD,
                self.tr("Signed in"),
                self.tr("The relay can send as {mailboxes}.").format(
                    mailboxes=", ".join(mailboxes)
                ),
            )
        next_one = waiting[0] if waiting else None
        self.sign_in_button.setText(
            self.tr("S&ign in as {mailbox}…").format(mailbox=next_one)
            if next_one
            else self.tr("S&ign in again…")
        )

    def sign_in_next_mailbox(self) -> None:
        waiting = self.mailboxes_to_sign_in() or self._mailboxes()
        if waiting:
            self._signing_in = waiting[0]
            self.sign_in_as_mailbox(waiting[0])

    def mailbox_signed_in(self, account: SignedIn | None) -> None:
        config = self.config
        mailbox = self._signing_in
        if account is None or config is None or mailbox is None:
            return
        sign_in = self.session.sign_in

        def work(_token: CancelToken) -> str:
            refresh = sign_in.mailbox_refresh_token(mailbox)
            if not refresh:
                raise NeedsSignIn(
                    self.tr("The sign-in as {mailbox} gave the relay nothing to keep.").format(
                        mailbox=mailbox
                    ),
                    "",
                    self.tr("Sign in as {mailbox} again.").format(mailbox=mailbox),
                )
            enroll_mailbox(config, self.session.secrets, refresh, mailbox)
            return mailbox

        self.run_task(
            work, self._enrolled, name="keep mailbox sign-in", label=self.tr("Keeping the sign-in…")
        )

    def _enrolled(self, mailbox: str | None, error: BaseException | None) -> None:
        if error is not None or mailbox is None:
            self.show_error(error or RuntimeError("no token"), doing=self.tr("keeping the sign-in"))
            return
        self.signed_in.add(mailbox)
        if self.last_status is not None:
            # The relay renews its own token; until it reports, the new sign-in counts.
            self.last_status.tokens.pop(mailbox, None)
        if self.server is not None:
            # What the relay held for want of a sign-in goes now, not at its next retry.
            self.server.retry_now()
        self._show_tokens()
        self.refresh_complete()

    # Running ----------------------------------------------------------------------

    def toggle_run_here(self) -> None:
        if self.server is not None:
            self.stop_here()
            return
        config = self.config
        if config is None:
            return
        path = self.config_path

        def work(_token: CancelToken) -> tuple[RelayServer, str | None]:
            server = RelayServer(config, secrets=self.session.secrets, config_path=path).start()
            # The relay makes its CA and certificate as it starts: now there is a fingerprint.
            return server, certificate_fingerprint(certificate_file(config, path))

        self._set_busy(True)
        self.run_task(work, self._started, name="start relay", label=self.tr("Starting…"))

    def _started(
        self, result: tuple[RelayServer, str | None] | None, error: BaseException | None
    ) -> None:
        self._set_busy(False)
        if error is not None or result is None:
            self.show_error(error or RuntimeError("not started"), doing=self.tr("starting"))
            return
        self.server, fingerprint = result
        if self.config is not None:
            self.session.set_local_relay(self.config, self.config_path, fingerprint)
        self.run_button.setText(self.tr("Stop the &relay"))
        self.poll_status()

    def _restart_here(self) -> None:
        """A relay run from the page takes a changed device list by starting again."""
        server, self.server = self.server, None
        if server is None:
            return
        self.run_button.setText(self.tr("&Run it here now"))
        self._set_busy(True)

        def work(_token: CancelToken) -> None:
            server.stop()

        self.run_task(
            work, self._stopped_for_restart, name="restart relay", label=self.tr("Restarting…")
        )

    def _stopped_for_restart(self, _result: object, error: BaseException | None) -> None:
        self._set_busy(False)
        if error is not None:
            self.show_error(error, doing=self.tr("restarting the relay"))
            return
        self.toggle_run_here()

    def stop_here(self) -> None:
        """Stop a relay this page started (the wizard closes, or Stop)."""
        server, self.server = self.server, None
        if server is None:
            return
        self.run_button.setText(self.tr("&Run it here now"))
        # Stopping finishes the message in hand: short, but not on the UI thread.
        self.session.tasks.run(lambda _t: server.stop(), self._stopped, name="stop relay")

    def _wizard_closed(self, _result: int) -> None:
        self._timer.stop()
        server, self.server = self.server, None
        if server is not None:
            # The task runner is shut down with the window; stopping only finishes the
            # message in hand (the queue keeps the rest for the next start).
            server.stop()

    def _stopped(self, _result: object, error: BaseException | None) -> None:
        if error is not None:
            self.show_error(error, doing=self.tr("stopping the relay"))
        self.poll_status()

    def install(self) -> None:
        if self.config is None:
            return
        path = self.config_path
        manager = self.service_manager

        def work(_token: CancelToken) -> str:
            return str(install_service(path, manager=manager))

        self._set_busy(True)
        self.run_task(work, self._installed, name="install relay", label=self.tr("Installing…"))

    def _installed(self, name: str | None, error: BaseException | None) -> None:
        self._set_busy(False)
        if error is not None or name is None:
            self.show_error(error or RuntimeError("not installed"), doing=self.tr("installing"))
            return
        self.password_line.setText(
            self.tr(
                "The relay is installed as a service ({name}): it starts at boot and writes a "
                "plain log in its data folder."
            ).format(name=name)
        )
        self.poll_status()

    def uninstall(self) -> None:
        self._set_busy(True)
        manager = self.service_manager
        self.run_task(
            lambda _t: remove_service(manager=manager),
            self._uninstalled,
            name="remove relay service",
            label=self.tr("Removing the service…"),
        )

    def _uninstalled(self, _result: object, error: BaseException | None) -> None:
        self._set_busy(False)
        if error is not None:
            self.show_error(error, doing=self.tr("removing the service"))
        self.poll_status()

    # State --------------------------------------------------------------------------

    def poll_status(self) -> None:
        config = self.config
        if not self.isVisible() or config is None:
            return
        if self._status_task is not None and self._status_task.running:
            return
        server, path = self.server, self.config_path

        def work(_token: CancelToken) -> RelayStatus:
            return server.status() if server is not None else relay_status(config, path)

        self._status_task = self.session.tasks.run(work, self._status_read, name="relay status")

    def _status_read(self, status: RelayStatus | None, error: BaseException | None) -> None:
        self._status_task = None
        if error is None and status is not None:
            self.last_status = status
        self._show_state()
        self._show_tokens()
        self._update_buttons()
        self.refresh_complete()

    def _show_state(self) -> None:
        fingerprint = self.session.local_relay_fingerprint
        self.cert_line.setText(
            self.tr(
                "Devices that check certificates trust the relay's CA, relay-ca.pem in "
                "{folder} (SHA-256 {fingerprint}); the sheets say so."
            ).format(folder=data_dir(self.config, self.config_path), fingerprint=fingerprint)
            if fingerprint and self.config is not None
            else ""
        )
        status = self.last_status
        if self.config is None:
            self.state_line.set_status(
                Tone.NEUTRAL, self.tr("Not set up"), self.tr("Add a device to set the relay up.")
            )
            self.queue_line.setText("")
            return
        if status is None or not status.running:
            self.state_line.set_status(
                Tone.WARNING,
                self.tr("Not running"),
                self.tr("Devices cannot send until it runs: run it here or install it."),
            )
        else:
            where = ", ".join(status.listening) or self.config.listen_address
            self.state_line.set_status(
                Tone.GOOD, self.tr("Running"), self.tr("Listening on {where}.").format(where=where)
            )
        if status is None:
            self.queue_line.setText("")
            return
        parts = [
            self.tr("Queue: {n} waiting").format(n=status.queued),
            self.tr("{n} failed").format(n=status.failed),
            self.tr("{n} delivered").format(n=status.delivered),
        ]
        if status.last_delivery:
            parts.append(
                self.tr("last delivery {when}").format(
                    when=time.strftime("%H:%M:%S", time.localtime(status.last_delivery))
                )
            )
        if status.last_error:
            parts.append(self.tr("last error: {error}").format(error=status.last_error))
        self.queue_line.setText("; ".join(parts) + ".")

    @property
    def running(self) -> bool:
        return self.last_status is not None and self.last_status.running

    # Test ---------------------------------------------------------------------------

    def send_test(self) -> None:
        config = self.config
        if config is None:
            return
        printer = next(
            (p for p in self._printers() if p.name == self.test_device.currentText()), None
        )
        device = relay_device_for(config, printer) if printer is not None else None
        to = self.test_to.text().strip()
        if device is None or not check_email(to).ok:
            return
        path = self.config_path
        known = self.new_passwords.get(device.username)
        # The way the device will: the plain LAN port only for a device given it.
        plain = printer is not None and uses_plain_port(config, printer)

        def work(_token: CancelToken) -> RelayTestResult:
            password = known or device_password(config, self.session.secrets, device)
            if not password:
                raise InvalidInput(
                    self.tr("The keyring holds no relay password for {name}.").format(
                        name=device.name
                    ),
                    next_step=self.tr("Add the device again to give it a new password."),
                )
            cert = certificate_file(config, path)
            return send_traceable_test(
                config,
                device,
                password,
                to=to,
                starttls=not plain,
                ca_file=str(cert) if cert else None,
            )

        self._set_busy(True)
        self.run_task(work, self._tested, name="test through relay", label=self.tr("Sending…"))

    def _tested(self, sent: RelayTestResult | None, error: BaseException | None) -> None:
        self._set_busy(False)
        if error is not None or sent is None:
            self.test_accepted = None
            message = self.show_error(error or RuntimeError("not sent"), doing=self.tr("testing"))
            self.test_line.set_status(Tone.BAD, self.tr("Refused"), message.what)
            self.test_line.show()
            return
        self.test_accepted = sent.reply
        self.test_line.set_status(
            Tone.GOOD,
            self.tr("Accepted"),
            self.tr(
                "The relay took the message ({reply}) and sends it on to Microsoft 365; the "
                "counts above show when it is delivered."
            ).format(reply=sent.reply),
        )
        self.test_line.show()
        self.poll_status()
        self._start_trace(sent)

    # The message trace: did Microsoft 365 deliver what the relay sent on? -------------

    def _start_trace(self, sent: RelayTestResult) -> None:
        account = self.session.signed_in
        if account is None:
            self.trace_line.set_status(
                Tone.INFO,
                self.tr("Delivery"),
                self.tr("Look for {token} in the recipient's mailbox.").format(token=sent.token),
            )
            self.trace_line.show()
            return
        admin = ExchangeAdmin.for_sign_in(self.session.cloud, self.session.sign_in, account)
        first_delay = self.trace_first_delay

        def work(token: CancelToken) -> TraceResult:
            return MessageTraceSearch(
                admin,
                sender=sent.sender,
                message_id=sent.message_id,
                token=sent.token,
                sent_at=sent.sent_at,
                first_delay=first_delay,
                cancel=token,
            ).run()

        self.trace_line.set_status(
            Tone.INFO,
            self.tr("Checking"),
            self.tr("Looking for {token} in the message trace…").format(token=sent.token),
        )
        self.trace_line.show()
        self.session.tasks.run(work, self._traced, name="relay message trace")

    def _traced(self, trace: TraceResult | None, error: BaseException | None) -> None:
        if error is not None or trace is None:
            self.trace_line.hide()
            if error is not None:
                self.show_error(error, doing=self.tr("checking the message trace"))
            return
        tone, word, text = trace_status(trace)
        self.trace_line.set_status(tone, word, text)
        self.trace_line.show()
        self.session.set_trace_result(trace)

    # Completeness -------------------------------------------------------------------

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._update_buttons()

    def _update_buttons(self) -> None:
        has_config = self.config is not None
        row = self._selected_row()
        printers = self._printers()
        chosen = printers[row] if 0 <= row < len(printers) else None
        in_relay = (
            chosen is not None
            and self.config is not None
            and relay_device_for(self.config, chosen) is not None
        )
        idle = not self._busy
        self.plain_port.setEnabled(self.plain.isChecked())
        self.add_button.setEnabled(idle and chosen is not None)
        self.remove_button.setEnabled(idle and in_relay)
        self.copy_password.setVisible(bool(self.new_passwords))
        self.sign_in_button.setEnabled(idle and bool(self._mailboxes()))
        self.run_button.setEnabled(idle and has_config)
        self.install_button.setEnabled(idle and has_config)
        self.uninstall_button.setEnabled(idle)
        self.test_button.setEnabled(
            idle
            and self.running
            and self.test_device.count() > 0
            and check_email(self.test_to.text().strip()).ok
        )

    def incomplete_reason(self) -> str | None:
        if self.config is None or not self.config.devices:
            return self.tr("Add at least one device to the relay.")
        if self.mailboxes_to_sign_in():
            return self.tr("Sign in as each device's mailbox so the relay can send as it.")
        if not self.running:
            return self.tr("Start the relay: run it here, or install it as a service.")
        return None
