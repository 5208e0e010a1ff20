"""Test message: send one message the way the device will, and say plainly what happened.

From and To default from the profile; Send runs the test off the UI thread and the
transcript fills in line by line; a verdict banner says what happened, what to do,
and offers to go to the step that fixes it. When an admin is signed in, the message
trace then shows whether the message was delivered.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from wizard.core.clouds import Cloud, device_facing
from wizard.core.device_settings import AuthKind, DeviceSettings, device_settings
from wizard.core.errors import InvalidInput, SecretStoreError, WizardError
from wizard.core.methods import METHOD_INFO, RELAY_METHODS, Tri
from wizard.core.profile import Printer
from wizard.core.secret_names import password_purpose
from wizard.core.transcript import SmtpTestResult, TranscriptLine
from wizard.core.validation import check_email
from wizard.services.atomic import write_atomic
from wizard.services.exchange_admin import ExchangeAdmin
from wizard.services.message_trace import (
    MessageTraceSearch,
    TraceProgress,
    TraceResult,
    TraceState,
    waiting_text,
)
from wizard.services.paths import profiles_dir
from wizard.services.signin import NeedsSignIn, SignedIn
from wizard.services.smtp_test import Credentials, SendTestRequest, SmtpTest
from wizard.ui.messages import UserMessage
from wizard.ui.pages.base import PageId, WizardPage
from wizard.ui.style import Tone
from wizard.ui.tasks import CancelToken, Task
from wizard.ui.text import security_text
from wizard.ui.trace_status import trace_status
from wizard.ui.widgets.copy import CopyButton
from wizard.ui.widgets.form import Field, add_field
from wizard.ui.widgets.labels import HintLabel, SectionTitle, StatusLine
from wizard.ui.widgets.transcript_view import TranscriptView
from wizard.ui.widgets.verdict_banner import VerdictBanner


class TestMessagePage(WizardPage):
    page_id = PageId.TEST
    __test__ = False  # not a pytest test class, despite its name

    def build(self) -> None:
        self.setTitle(self.tr("Test message"))
        self.setSubTitle(
            self.tr("Send one message exactly the way the device will, and see every step.")
        )
        layout = self.body_layout
        layout.addWidget(SectionTitle(self.tr("What is sent, and where"), self.body))
        self._device = QComboBox(self.body)
        self._device_field = add_field(
            layout,
            self.tr("&Device"),
            self._device,
            self.tr("The test uses this device's sender address and settings."),
        )
        self._settings_line = QLabel(self.body)
        self._settings_line.setWordWrap(True)
        self._settings_line.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self._settings_line)

        # From and To side by side, password and "remember" on one line: the verdict
        # and the transcript below should fit without scrolling.
        addresses = QHBoxLayout()
        addresses.setSpacing(12)
        left, right = QVBoxLayout(), QVBoxLayout()
        addresses.addLayout(left, 1)
        addresses.addLayout(right, 1)
        layout.addLayout(addresses)
        self._from = QLineEdit(self.body)
        self._from_field = add_field(
            left,
            self.tr("Fro&m (the device's sender address)"),
            self._from,
            self.tr("For SMTP AUTH also the mailbox that signs in."),
        )
        self._to = QLineEdit(self.body)
        self._to_field = add_field(
            right,
            self.tr("&To"),
            self._to,
            self.tr("A mailbox you can look into."),
        )

        # Password (SMTP AUTH with a password, High Volume Email).
        self._password_box = QWidget(self.body)
        password_layout = QHBoxLayout(self._password_box)
        password_layout.setContentsMargins(0, 0, 0, 0)
        password_layout.setSpacing(12)
        typed = QVBoxLayout()
        password_layout.addLayout(typed, 1)
        self._password = QLineEdit(self._password_box)
        self._password.setEchoMode(QLineEdit.EchoMode.Password)
        self._password_field = add_field(
            typed,
            self.tr("&Password of the mailbox"),
            self._password,
            self.tr("Typed once for this test; never shown, logged or saved in a file."),
        )
        self._kept = HintLabel("", self._password_box)
        typed.addWidget(self._kept)
        self._remember = QCheckBox(self.tr("&Remember it in the keyring"), self._password_box)
        self._remember.setToolTip(
            self.tr("Kept in the operating system's keyring for this site, nowhere else.")
        )
        remember = QVBoxLayout()
        # Lined up with the password field, below its label.
        remember.addSpacing(self.fontMetrics().lineSpacing() + 6)
        remember.addWidget(self._remember)
        remember.addStretch(1)
        password_layout.addLayout(remember, 1)
        layout.addWidget(self._password_box)

        # OAuth: sign in as the device's mailbox.
        self._oauth_box = QWidget(self.body)
        oauth_layout = QHBoxLayout(self._oauth_box)
        oauth_layout.setContentsMargins(0, 0, 0, 0)
        self._oauth_line = StatusLine(Tone.INFO, self.tr("Sign-in"), "", self._oauth_box)
        self._oauth_button = QPushButton(self._oauth_box)
        self._oauth_button.setAutoDefault(False)
        oauth_layout.addWidget(self._oauth_line, 1)
        oauth_layout.addWidget(self._oauth_button)
        layout.addWidget(self._oauth_box)

        self.verdict = VerdictBanner(self.body)
        layout.addWidget(self.verdict)
        self.trace_line = StatusLine(Tone.INFO, "", "", self.body)
        self.trace_line.hide()
        layout.addWidget(self.trace_line)

        head = QHBoxLayout()
        head.addWidget(SectionTitle(self.tr("Transcript"), self.body), 1)
        self._copy = CopyButton(self._transcript_text, self.tr("the transcript"), self.body)
        self._save = QPushButton(self.tr("Sa&ve…"), self.body)
        self._save.setAccessibleName(self.tr("Save the transcript to a file"))
        self._save.setAutoDefault(False)
        head.addWidget(self._copy)
        head.addWidget(self._save)
        layout.addLayout(head)
        self.transcript = TranscriptView(self.body)
        layout.addWidget(self.transcript, 1)

        self.send_button = QPushButton(self.tr("&Send test message"), self)
        self.send_button.setAccessibleName(self.tr("Send the test message"))
        self.send_button.setAutoDefault(False)
        self.send_button.setDefault(True)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.send_button)
        self.footer_layout.addLayout(row)

        self._send_task: Task[SmtpTestResult] | None = None
        self._trace_task: Task[TraceResult] | None = None
        self._keyring_has: dict[str, bool] = {}
        self._default_from = ""
        self._default_to = ""
        self.send_button.clicked.connect(self.send)
        self._save.clicked.connect(self.save_transcript)
        self._oauth_button.clicked.connect(self.sign_in_mailbox)
        self.verdict.go_button.clicked.connect(self._go_to_fix)
        self._device.currentIndexChanged.connect(lambda _i: self._device_chosen())
        self._from.textChanged.connect(lambda _t: self._refresh())
        self._to.textChanged.connect(lambda _t: self._refresh())
        self._from.editingFinished.connect(lambda: self._check_address(self._from_field))
        self._to.editingFinished.connect(lambda: self._check_address(self._to_field))
        self._password.textChanged.connect(lambda _t: self._refresh())
        self.session.profileChanged.connect(lambda _p: self._load_profile())
        # A bound method, not a lambda: the connection ends with the page.
        self.session.relayHostChanged.connect(self._relay_host_changed)
        # A signed-in admin is the better default recipient (and can follow the trace).
        self.session.signedInChanged.connect(lambda _account: self._device_chosen())
        self._update_copy_buttons()

    # Defaults from the profile -----------------------------------------------------------

    def initializePage(self) -> None:
        if self.session.profile.method in RELAY_METHODS:
            self.session.look_up_relay_host()
        self._load_profile()
        result = self.session.test_result
        if result is not None and not self.transcript.lines:
            self._show_result(result)

    def _printers(self) -> tuple[Printer, ...]:
        return self.session.profile.printers

    def _load_profile(self) -> None:
        printers = self._printers()
        current = self._device.currentText()
        self._device.blockSignals(True)
        self._device.clear()
        for printer in printers:
            self._device.addItem(printer.name)
        index = self._device.findText(current)
        self._device.setCurrentIndex(max(index, 0))
        self._device.blockSignals(False)
        self._device_field.container.setVisible(len(printers) > 1)
        self._device_chosen()

    def _printer(self) -> Printer | None:
        printers = self._printers()
        index = self._device.currentIndex()
        return printers[index] if 0 <= index < len(printers) else None

    def _device_chosen(self) -> None:
        printer = self._printer()
        sender = printer.sender if printer is not None else ""
        admin = self.session.signed_in
        to = admin.upn if admin is not None and admin.upn else sender
        # A default replaces only a default: what the user typed stays.
        for field, default, previous in (
            (self._from, sender, self._default_from),
            (self._to, to, self._default_to),
        ):
            if not field.text().strip() or field.text() == previous:
                field.setText(default)
        self._default_from, self._default_to = sender, to
        self._refresh()

    # What the test will do ----------------------------------------------------------------

    def settings(self) -> DeviceSettings | None:
        """The settings the test uses: the session's cloud (in the demo, the sandbox's
        own servers on this computer)."""
        return self._settings_for(self.session.cloud)

    def device_values(self) -> DeviceSettings | None:
        """The settings the device would be given: Microsoft 365's, in the demo too."""
        facing = device_facing(self.session.cloud)
        if facing is self.session.cloud:
            return self.settings()
        return self._settings_for(facing)

    def _settings_for(self, cloud: Cloud) -> DeviceSettings | None:
        profile = self.session.profile
        if profile.method is None:
            return None
        sender = self._from.text().strip()
        checked = check_email(sender)
        if not checked.ok or checked.value is None:
            return None
        printer = self._printer()
        domain = profile.site.domain or checked.value.rpartition("@")[2]
        relay = self.session.relay_host()
        try:
            return device_settings(
                profile.method,
                cloud,
                domain=domain,
                sender=checked.value,
                username=printer.username if printer is not None else None,
                mx_host=relay if relay is not None and relay.domain == domain else None,
                tls12=printer.tls12 if printer is not None else Tri.YES,
            )
        except ValueError:
            return None

    def _refresh(self) -> None:
        settings = self.settings()
        shown = self.device_values()
        method = self.session.profile.method
        if method is None:
            self._settings_line.setText(self.tr("Choose a sending method first (step Method)."))
        elif settings is None or shown is None:
            self._settings_line.setText(
                self.tr("Method: {method}.").format(method=METHOD_INFO[method].title)
            )
        else:
            signs_in = (
                self.tr("signs in as {user}").format(user=shown.username)
                if shown.auth is not AuthKind.NONE
                else self.tr("no sign-in")
            )
            text = self.tr(
                "Method: {method}. The device is given server {server}, port {port}, "
                "{security}; {auth}."
            ).format(
                method=METHOD_INFO[shown.method].title,
                server=self._server_text(shown),
                port=shown.port,
                security=security_text(shown.security),
                auth=signs_in,
            )
            if shown is not settings:
                # The demo's own mail never leaves this computer: say where it goes.
                text += " " + self.tr(
                    "In the demo this test is delivered to the sandbox's own mail server on "
                    "this computer ({server}:{port})."
                ).format(server=settings.server or "…", port=settings.port)
            self._settings_line.setText(text)
        auth = settings.auth if settings is not None else AuthKind.NONE
        self._set_hints(settings)
        self._password_box.setVisible(auth is AuthKind.PASSWORD)
        self._oauth_box.setVisible(auth is AuthKind.OAUTH)
        if settings is not None and auth is AuthKind.PASSWORD:
            self._show_keyring_state(settings.username or settings.sender)
        if settings is not None and auth is AuthKind.OAUTH:
            mailbox = settings.username or settings.sender
            self._oauth_line.set_status(
                Tone.INFO,
                self.tr("Sign-in"),
                self.tr(
                    "The test signs in as {mailbox} with a Microsoft token (SMTP.Send), as "
                    "the device will."
                ).format(mailbox=mailbox),
            )
            self._oauth_button.setText(self.tr("Sign in as {mailbox}…").format(mailbox=mailbox))
        problem = self._send_problem()
        self.send_button.setEnabled(problem is None and not self._busy())
        self.send_button.setToolTip(problem or "")

    def _set_hints(self, settings: DeviceSettings | None) -> None:
        """What From and To mean for this method."""
        if settings is None:
            return
        if settings.auth is AuthKind.NONE:
            from_hint = self.tr("Must be an address in one of your domains.")
        else:
            from_hint = self.tr("The mailbox that signs in, or one it may send as.")
        if settings.internal_only:
            to_hint = self.tr(
                "A mailbox in your own organisation (this method reaches no one else)."
            )
        else:
            to_hint = self.tr("A mailbox you can look into, inside or outside.")
        for field, hint in ((self._from_field, from_hint), (self._to_field, to_hint)):
            if field.hint is not None:
                field.hint.setText(hint)
                field.widget.setAccessibleDescription(hint)

    def _relay_host_changed(self, _host: object) -> None:
        if self.isVisible():
            self._refresh()

    def _server_text(self, settings: DeviceSettings) -> str:
        relay = settings.relay_host
        if relay is None:
            return settings.server
        if not settings.server:
            if self.session.relay_host_pending:
                return self.tr("(looking up the domain's MX record…)")
            return self.tr("(not found)")
        return f"{settings.server_display} ({relay.source_label})"

    def _send_problem(self) -> str | None:
        if self.session.profile.method is None:
            return self.tr("Choose a sending method first.")
        for field_, name in ((self._from, self.tr("From")), (self._to, self.tr("To"))):
            if not check_email(field_.text().strip()).ok:
                return self.tr("Enter a valid address in {field}.").format(field=name)
        settings = self.settings()
        if settings is not None and not settings.server:
            if self.session.relay_host_pending:
                return self.tr("Wait: the wizard is looking up the domain's mail server.")
            relay = settings.relay_host
            return relay.not_found_advice if relay is not None else None
        return None

    def _check_address(self, field: Field) -> None:
        widget = field.widget
        assert isinstance(widget, QLineEdit)
        checked = check_email(widget.text().strip())
        field.error.show_error("" if checked.ok or not widget.text().strip() else checked.error)

    def _busy(self) -> bool:
        return self._send_task is not None and self._send_task.running

    # The keyring ----------------------------------------------------------------------------

    def _site_key(self) -> str:
        site = self.session.profile.site
        return site.name.strip() or site.domain.strip() or "default"

    def _show_keyring_state(self, username: str) -> None:
        key = f"{self._site_key()}\n{username}"
        if key not in self._keyring_has:
            self._keyring_has[key] = False
            site = self._site_key()

            def look(_token: CancelToken) -> bool:
                try:
                    return bool(self.session.secrets.get(site, password_purpose(username)))
                except SecretStoreError:
                    return False

            self.session.tasks.run(
                look, lambda found, _e: self._keyring_known(key, bool(found)), name="keyring"
            )
        self._kept.setText(
            self.tr(
                "A password for {user} is kept in the keyring; leave the field empty to use it."
            ).format(user=username)
            if self._keyring_has.get(key)
            else ""
        )
        self._kept.setVisible(bool(self._keyring_has.get(key)))

    def _keyring_known(self, key: str, found: bool) -> None:
        self._keyring_has[key] = found
        self._refresh()

    # Sending --------------------------------------------------------------------------------

    def send(self) -> None:
        if self._busy():
            return
        problem = self._send_problem()
        settings = self.settings()
        if problem or settings is None:
            self.show_error(
                InvalidInput(problem or self.tr("The test cannot be sent with these values.")),
                doing=self.tr("sending the test message"),
            )
            return
        to = self._to.text().strip()
        cloud = self.session.cloud
        try:
            request = SendTestRequest.from_settings(settings, [to], cloud=cloud)
        except ValueError as exc:  # pragma: no cover - from_settings does not validate
            self.show_error(InvalidInput(str(exc)), doing=self.tr("sending the test message"))
            return
        typed = self._password.text()
        remember = self._remember.isChecked()
        site = self._site_key()
        username = request.username or request.sender
        sign_in = self.session.sign_in if request.auth is AuthKind.OAUTH else None

        def work(token: CancelToken) -> SmtpTestResult:
            credentials = Credentials()
            if request.auth is AuthKind.PASSWORD:
                password = typed or self.session.secrets.get(site, password_purpose(username))
                if not password:
                    raise InvalidInput(
                        self.tr("Type the password of {user}.").format(user=username),
                        self.tr("The test signs in the way the device will."),
                    )
                credentials = Credentials(password=password)
            elif request.auth is AuthKind.OAUTH and sign_in is not None:
                credentials = Credentials(token_provider=lambda: sign_in.smtp_send_token(username))
            test = SmtpTest(request, credentials, on_line=token.report, cancel=token)
            result = test.run()
            signed_in = result.auth_mechanism is not None and result.stage not in (
                result.stage.AUTH,
                result.stage.CONNECT,
            )
            if typed and remember and signed_in:
                self.session.secrets.set(site, password_purpose(username), typed)
            return result

        self.status.clear_message()
        self.verdict.hide()
        self.trace_line.hide()
        self.transcript.clear_lines()
        self._update_copy_buttons()
        self._send_task = self.run_task(
            work,
            self._sent,
            name="test message",
            label=self.tr("Sending the test message to {server}…").format(server=request.endpoint),
            on_progress=self._progress,
        )
        self._remembered = typed and remember
        self._refresh()

    def _progress(self, value: object) -> None:
        if isinstance(value, TranscriptLine):
            self.transcript.append_line(value)
            self._update_copy_buttons()

    def _sent(self, result: SmtpTestResult | None, error: BaseException | None) -> None:
        self._send_task = None
        self._refresh()
        if error is not None or result is None:
            if isinstance(error, NeedsSignIn):
                self._oauth_line.set_status(
                    Tone.WARNING,
                    self.tr("Sign in first"),
                    self.tr("Sign in as the device's mailbox, then send again."),
                )
            self.show_error(
                error or RuntimeError("no result"), doing=self.tr("sending the test message")
            )
            return
        self._show_result(result)
        printer = self._printer()
        self.session.set_test_result(result, device=printer.name if printer is not None else "")
        if self._remembered and result.auth_mechanism and result.sent:
            self._password.clear()
            self._keyring_has.clear()
            self._refresh()
        if result.sent:
            self._start_trace(result)

    def _show_result(self, result: SmtpTestResult) -> None:
        if tuple(self.transcript.lines) != result.lines:
            self.transcript.set_lines(result.lines)
        self.verdict.show_result(result, self.can_go_to_step(result.verdict.step))
        self._update_copy_buttons()
        if self.scroll_area is not None:
            self.scroll_area.ensureWidgetVisible(self.verdict)

    def _go_to_fix(self) -> None:
        # After a failure, coming back with Next sends the test again
        # (returned_from_fix); after a pass the button only moves on along the path.
        result = self.session.test_result
        self.go_to_step(self.verdict.step, come_back=result is None or not result.sent)

    def returned_from_fix(self, fixed_at: PageId) -> None:
        """Back from the step that fixes the last failure: send the test again."""
        self._refresh()
        if self._send_problem() is None and not self._busy():
            self.send()

    # The message trace ----------------------------------------------------------------------

    def _start_trace(self, result: SmtpTestResult) -> None:
        account: SignedIn | None = self.session.signed_in
        if account is None:
            self.trace_line.set_status(
                Tone.INFO,
                self.tr("Delivery"),
                self.tr(
                    "Accepted is not yet delivered. Sign in as an admin (step Sign in) to "
                    "follow the message in Microsoft's message trace, or look for {token} "
                    "in the recipient's mailbox."
                ).format(token=result.token),
            )
            self.trace_line.show()
            return
        sign_in = self.session.sign_in
        admin = ExchangeAdmin.for_sign_in(self.session.cloud, sign_in, account)

        def work(token: CancelToken) -> TraceResult:
            search = MessageTraceSearch(
                admin,
                sender=result.sender,
                message_id=result.message_id,
                token=result.token,
                sent_at=result.started,
                cancel=token,
                on_progress=token.report,
            )
            return search.run()

        self.trace_line.set_status(
            Tone.INFO,
            self.tr("Checking"),
            self.tr("Looking for {token} in the message trace…").format(token=result.token),
        )
        self.trace_line.show()
        self._trace_task = self.run_task(
            work,
            self._traced,
            name="message trace",
            label=self.tr("Following the message in the message trace…"),
            on_progress=self._trace_progress,
        )

    def _trace_progress(self, value: object) -> None:
        if isinstance(value, TraceProgress):
            self.trace_line.set_status(
                Tone.INFO,
                self.tr("Checking"),
                waiting_text(value.attempt, value.next_check_in)
                if value.state is TraceState.NOT_FOUND
                else self.tr(
                    "Not final yet (check {n}); looking again in {seconds:.0f} seconds."
                ).format(n=value.attempt, seconds=value.next_check_in),
            )

    def _traced(self, trace: TraceResult | None, error: BaseException | None) -> None:
        self._trace_task = None
        if error is not None or trace is None:
            self.trace_line.hide()
            if not isinstance(error, WizardError) or not error.what:
                self.show_error(
                    error or RuntimeError("no trace"), doing=self.tr("checking the message trace")
                )
            return
        tone, word, text = trace_status(trace)
        self.trace_line.set_status(tone, word, text)
        self.trace_line.show()
        self.session.set_trace_result(trace)

    # OAuth sign-in as the mailbox -------------------------------------------------------------

    def sign_in_mailbox(self) -> None:
        settings = self.settings()
        if settings is None or settings.auth is not AuthKind.OAUTH:
            return
        self._oauth_button.setEnabled(False)
        self.sign_in_as_mailbox(settings.username or settings.sender)

    def mailbox_signed_in(self, account: SignedIn | None) -> None:
        self._oauth_button.setEnabled(True)
        if account is None:
            return
        self._oauth_line.set_status(
            Tone.GOOD,
            self.tr("Signed in"),
            self.tr("as {mailbox}; sending the test now.").format(mailbox=account.upn),
        )
        self.send()

    # Copy and save ------------------------------------------------------------------------------

    def _transcript_text(self) -> str:
        return self.transcript.text()

    def _update_copy_buttons(self) -> None:
        has = bool(self.transcript.lines)
        self._copy.setEnabled(has)
        self._save.setEnabled(has)

    def save_transcript(self) -> None:
        result = self.session.test_result
        name = f"test-message-{result.token}.txt" if result is not None else "test-message.txt"
        dialog = QFileDialog(self, self.tr("Save the transcript"), str(profiles_dir() / name))
        dialog.setObjectName("saveTranscriptDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("txt")
        dialog.setNameFilters([self.tr("Text files (*.txt)"), self.tr("All files (*)")])
        dialog.fileSelected.connect(lambda chosen: self.write_transcript(Path(chosen)))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def write_transcript(self, path: Path) -> None:
        text = self._transcript_text()
        result = self.session.test_result
        if result is not None and result.lines == self.transcript.lines:
            verdict = result.verdict
            text += "\n" + "\n".join([verdict.title, verdict.explanation, verdict.fix]) + "\n"

        def work(_token: CancelToken) -> Path:
            write_atomic(path, text.encode("utf-8"))
            return path

        self.run_task(
            work,
            self._saved,
            name="save transcript",
            label=self.tr("Saving the transcript…"),
            cancellable=False,
        )

    def _saved(self, path: Path | None, error: BaseException | None) -> None:
        if error is not None or path is None:
            self.show_error(
                error or RuntimeError("not saved"), doing=self.tr("saving the transcript")
            )
            return
        self.show_message(
            UserMessage(Tone.GOOD, self.tr("The transcript was saved to {path}.").format(path=path))
        )
