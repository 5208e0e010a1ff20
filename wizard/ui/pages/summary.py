"""Summary: what was done, what was entered, the chosen method, each device's
settings; save it.

"What was done" is drawn from the session journal (wizard/core/journal.py): the
tenant read, each change with its PowerShell line, the DNS check, the test messages
and exports, as they happened. It claims nothing the journal does not hold. A profile
opened from a file also shows what was done the last time.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from wizard.core.clouds import device_facing
from wizard.core.device_settings import AuthKind, device_settings
from wizard.core.journal import (
    ChangeOutcome,
    EntryKind,
    EntryOutcome,
    change_outcome,
    entry_line,
    last_time_text,
    when_text,
)
from wizard.core.methods import METHOD_INFO, RELAY_METHODS
from wizard.core.profile import SiteProfile
from wizard.services.paths import profiles_dir
from wizard.services.profile_store import default_profile_name, save_profile
from wizard.services.vendors import load_catalog
from wizard.ui.messages import UserMessage
from wizard.ui.pages.base import PageId, WizardPage
from wizard.ui.pages.printer_dialog import vendor_name
from wizard.ui.server_rows import add_server_rows
from wizard.ui.style import Tone
from wizard.ui.tasks import CancelToken
from wizard.ui.text import auth_text, security_text, tri_text
from wizard.ui.widgets.copy import CopyButton
from wizard.ui.widgets.labels import HintLabel, SectionTitle, StatusLine
from wizard.ui.widgets.values import ValueRows, clear_layout


class SummaryPage(WizardPage):
    page_id = PageId.SUMMARY

    def build(self) -> None:
        self.setTitle(self.tr("Summary"))
        self.setSubTitle(
            self.tr("What was done, what you entered and each device's settings; save it.")
        )
        self._content = QWidget(self.body)
        self._content_layout = QVBoxLayout(self._content)
        self._content_layout.setContentsMargins(0, 0, 0, 0)
        self._content_layout.setSpacing(10)
        self.body_layout.addWidget(self._content)

        self.body_layout.addStretch(1)
        # The page's one action stays in view below the scrolling summary.
        footer = self.footer_layout
        footer.addWidget(
            HintLabel(
                self.tr(
                    "The site profile keeps the site, its devices, the chosen method and what "
                    "was done, so you can open it again later. It never contains a password."
                ),
                self,
            )
        )
        row = QHBoxLayout()
        self.save_button = QPushButton(self.tr("&Save profile…"), self)
        self.save_button.setAccessibleName(self.tr("Save the site profile"))
        self.save_button.setAutoDefault(False)
        self.saved_label = QLabel(self)
        self.saved_label.setWordWrap(True)
        self.saved_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.copy_path = CopyButton(self._path_text, self.tr("the profile's file path"), self)
        row.addWidget(self.save_button)
        row.addWidget(self.saved_label, 1)
        row.addWidget(self.copy_path)
        footer.addLayout(row)
        self._saving = False
        self._sections: dict[str, ValueRows] = {}
        self.save_button.clicked.connect(self.choose_file)
        self.session.unsavedChanged.connect(lambda _u: self._show_saved_state())
        self.session.profilePathChanged.connect(lambda _p: self._show_saved_state())
        self.session.relayHostChanged.connect(self._relay_host_changed)
        self.session.journalChanged.connect(self._relay_host_changed)
        self.done_lines: list[StatusLine] = []

    def initializePage(self) -> None:
        self.status.clear_message()
        if self.session.profile.method in RELAY_METHODS:
            self.session.look_up_relay_host()
        self._rebuild()
        self._show_saved_state()

    def _relay_host_changed(self, _host: object) -> None:
        if self.isVisible():
            self._rebuild()

    def _rebuild(self) -> None:
        clear_layout(self._content_layout)
        self._sections = {}
        profile = self.session.profile
        site = profile.site
        layout = self._content_layout
        self._add_what_was_done()
        layout.addWidget(SectionTitle(self.tr("The site"), self._content))
        rows = ValueRows(self._content)
        rows.add(self.tr("Site"), site.name)
        rows.add(self.tr("Mail domain"), site.domain, copy=True)
        rows.add(self.tr("Microsoft 365 cloud"), self.session.cloud.name)
        rows.add(
            self.tr("Public IP address"),
            site.public_ip or self.tr("not given"),
            copy=bool(site.public_ip),
        )
        rows.add(self.tr("Mail to outside recipients"), tri_text(site.external_recipients))
        rows.add(self.tr("Static public IP"), tri_text(site.static_ip))
        rows.add(self.tr("Port 25 open"), tri_text(site.port25_open))
        rows.add(self.tr("Messages a day"), f"{site.daily_volume:,}")
        layout.addWidget(rows)
        self._sections["site"] = rows

        layout.addWidget(SectionTitle(self.tr("The method"), self._content))
        method = profile.method
        if method is None:
            layout.addWidget(StatusLine(Tone.WARNING, self.tr("Not chosen"), "", self._content))
        else:
            assessment = self.session.advice.for_method(method)
            word = self.tr("Recommended") if assessment.recommended else self.tr("Chosen")
            layout.addWidget(StatusLine(Tone.GOOD, word, METHOD_INFO[method].title, self._content))
            if assessment.warnings:
                layout.addWidget(
                    StatusLine(
                        Tone.WARNING,
                        self.tr("Check first"),
                        "\n".join(assessment.warnings),
                        self._content,
                    )
                )

        layout.addWidget(SectionTitle(self.tr("The devices"), self._content))
        vendors = load_catalog()
        for printer in profile.printers:
            heading = " · ".join(
                part
                for part in (
                    printer.name,
                    " ".join(p for p in (vendor_name(vendors, printer.vendor), printer.model) if p),
                    printer.location,
                )
                if part
            )
            title = QLabel(heading, self._content)
            title.setWordWrap(True)
            font = title.font()
            font.setBold(True)
            title.setFont(font)
            layout.addWidget(title)
            rows = ValueRows(self._content)
            if method is None:
                rows.add(self.tr("Sender (From)"), printer.sender, copy=True)
            else:
                try:
                    settings = device_settings(
                        method,
                        device_facing(self.session.cloud),
                        domain=site.domain,
                        sender=printer.sender,
                        username=printer.username,
                        mx_host=self.session.relay_host(),
                        tls12=printer.tls12,
                        local_relay=self.session.local_relay_access().get(printer.name),
                    )
                except ValueError:
                    settings = None
                if settings is None:
                    rows.add(self.tr("Sender (From)"), printer.sender, copy=True)
                else:
                    add_server_rows(rows, settings, pending=self.session.relay_host_pending)
                    rows.add(self.tr("Port"), str(settings.port), copy=True)
                    rows.add(self.tr("Encryption"), security_text(settings.security))
                    rows.add(self.tr("Sign-in"), auth_text(settings.auth))
                    if settings.auth is not AuthKind.NONE:
                        rows.add(self.tr("User name"), settings.username or "", copy=True)
                    rows.add(self.tr("Sender (From)"), settings.sender, copy=True)
            layout.addWidget(rows)
            self._sections[printer.name] = rows

    def _add_what_was_done(self) -> None:
        """The journal of this window, each kind's latest result, in plain words."""
        layout = self._content_layout
        journal = self.session.journal
        self.done_lines = []
        layout.addWidget(SectionTitle(self.tr("What was done"), self._content))
        tones = {
            EntryOutcome.OK: Tone.GOOD,
            EntryOutcome.ATTENTION: Tone.WARNING,
            EntryOutcome.FAILED: Tone.BAD,
            EntryOutcome.INFO: Tone.INFO,
        }

        def line(tone: Tone, word: str, text: str) -> None:
            widget = StatusLine(tone, word, text, self._content)
            layout.addWidget(widget)
            self.done_lines.append(widget)

        changed = [
            e
            for e in journal.changes()
            if change_outcome(e) in (ChangeOutcome.APPLIED, ChangeOutcome.FAILED)
        ]
        if not changed:
            line(
                Tone.INFO,
                self.tr("Nothing changed"),
                self.tr("Relay Wizard has not changed anything in your Microsoft 365 tenant."),
            )
        read = journal.last(EntryKind.TENANT_READ)
        if read is not None:
            line(
                tones[read.outcome],
                self.tr("Tenant read"),
                self.tr("{title} at {when}.").format(title=read.title, when=when_text(read.at)),
            )
        for entry in journal.changes():
            text = entry_line(entry)
            if entry.command:
                text += "\n" + entry.command
            line(tones[entry.outcome], self.tr("Change"), text)
        dns = journal.last(EntryKind.DNS_CHECKED)
        if dns is not None:
            open_checks = [i.label for i in dns.items if i.outcome is not EntryOutcome.OK]
            text = dns.title + (f" ({', '.join(open_checks)})" if open_checks else "")
            line(tones[dns.outcome], self.tr("DNS"), f"{text}, {when_text(dns.at)}.")
        record = journal.last_test()
        if record is not None:
            text = self.tr("{reference}: {verdict}").format(
                reference=record.reference, verdict=record.verdict.rstrip(".")
            )
            if record.delivery:
                text += self.tr("; message trace: {delivery}").format(delivery=record.delivery)
            line(
                Tone.GOOD if record.passed else Tone.BAD,
                self.tr("Test message"),
                f"{text} ({when_text(record.when)})",
            )
        for kind in (EntryKind.SHEETS_EXPORTED, EntryKind.REPORT_EXPORTED):
            exported = journal.last(kind)
            if exported is not None:
                line(Tone.GOOD, self.tr("Exported"), exported.title)
        # Only what earlier runs did: a save puts this window's entries in the history.
        now = set(journal.entries)
        earlier = last_time_text(e for e in self.session.profile.history if e not in now)
        if earlier:
            line(Tone.NEUTRAL, self.tr("Earlier"), earlier)

    def done_text(self) -> str:
        """Everything "What was done" says, as one text (for tests and the self-test)."""
        return "\n".join(f"{w.word}: {w.text}" for w in self.done_lines)

    def section(self, key: str) -> dict[str, str]:
        """The rows shown for "site" or a device's name (for tests and the self-test)."""
        return dict(self._sections[key].values)

    # Saving ---------------------------------------------------------------------------

    def incomplete_reason(self) -> str | None:
        if self._saving:
            return self.tr("Wait until the profile is saved.")
        return None

    def _path_text(self) -> str:
        return str(self.session.profile_path or "")

    def _show_saved_state(self) -> None:
        path = self.session.profile_path
        if path is None:
            self.saved_label.setText(self.tr("Not saved yet."))
        elif self.session.has_unsaved_changes:
            self.saved_label.setText(
                self.tr("Changed since it was saved to {path}").format(path=path)
            )
        else:
            self.saved_label.setText(self.tr("Saved to {path}").format(path=path))
        self.copy_path.setVisible(path is not None)

    def choose_file(self) -> None:
        current = self.session.profile_path
        suggested = current or profiles_dir() / default_profile_name(self.session.profile)
        if current is None:
            # The dialog opens in the default folder only if it exists; it is tiny.
            try:
                suggested.parent.mkdir(parents=True, exist_ok=True)
            except OSError:
                suggested = Path.home() / suggested.name
        dialog = QFileDialog(self, self.tr("Save the site profile"), str(suggested.parent))
        dialog.setObjectName("saveProfileDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.setNameFilters([self.tr("Site profiles (*.json)")])
        dialog.setDefaultSuffix("json")
        dialog.selectFile(suggested.name)
        dialog.fileSelected.connect(lambda name: self.save_to(Path(name)))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def save_to(self, path: Path) -> None:
        # With this window's journal in its history: reopening it shows what was done.
        profile = self.session.profile_for_saving()
        self._saving = True
        self.save_button.setEnabled(False)
        self.status.clear_message()
        self.refresh_complete()

        def work(_token: CancelToken) -> tuple[SiteProfile, Path]:
            return profile, save_profile(profile, path)

        self.run_task(
            work,
            self._saved,
            name="save profile",
            label=self.tr("Saving {name}…").format(name=path.name),
            cancellable=False,
        )

    def _saved(self, result: tuple[SiteProfile, Path] | None, error: BaseException | None) -> None:
        self._saving = False
        self.save_button.setEnabled(True)
        if error is not None or result is None:
            self.show_error(error or RuntimeError("not saved"), doing=self.tr("saving the profile"))
        else:
            saved, path = result
            self.session.mark_saved(path, saved)
            self.show_message(
                UserMessage(
                    Tone.GOOD, self.tr("The site profile was saved to {path}.").format(path=path)
                )
            )
        self._show_saved_state()
        self.refresh_complete()
