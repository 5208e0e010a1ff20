"""Sheets: a preview of each printer's settings sheet; export one or all, and the report.

Previews are painted one per turn of the event loop (the same painting as the PDF),
so the window stays live while they arrive. Painting happens on the UI thread only
(see wizard.export.layout.require_gui: Qt's text objects deadlock when Python draws
with them on a worker); reading passwords and writing the files run on a worker.
After an export the site profile is saved (to the file it came from, or to the
profiles folder), so the sheets and the profile that produced them stay together.
Passwords are never shown in the previews; they are read from the keyring and printed
only when the user ticks the box for that export.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import QLocale, QSize, Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QVBoxLayout,
)

from wizard.core.clouds import Cloud, device_facing
from wizard.core.device_settings import LocalRelayAccess
from wizard.core.errors import SecretStoreError
from wizard.core.i18n import tr
from wizard.core.journal import EntryKind, JournalEntry, exported
from wizard.core.methods import RELAY_METHODS
from wizard.core.profile import Printer, SiteProfile
from wizard.core.report_model import report_from_journal
from wizard.core.sheet import (
    PASSWORD_METHODS,
    LastTest,
    PrinterSheet,
    build_site_sheets,
    last_tests_from,
    printer_password_purpose,
)
from wizard.export.layout import Paper
from wizard.export.report import report_pdf_bytes
from wizard.export.sheets import (
    SheetsExport,
    render_sheet_images,
    sheet_file_name,
)
from wizard.services.atomic import write_atomic
from wizard.services.paths import profiles_dir
from wizard.services.profile_store import default_profile_name, save_profile
from wizard.services.secrets import SecretStore
from wizard.services.vendors import vendor_by_id
from wizard.ui.messages import UserMessage
from wizard.ui.pages.base import PageId, WizardPage
from wizard.ui.style import Tone
from wizard.ui.tasks import CancelToken
from wizard.ui.widgets.labels import HintLabel, StatusLine

# Preview resolution: a page 595 pt wide becomes about 660 pixels, sharp enough for a
# 300-pixel preview at 200% scaling.
PREVIEW_DPI = 80.0
# How long one turn of painting an export may hold the UI thread (a step takes a few ms).
_PAINT_SLICE_SECONDS = 0.01


@dataclass(frozen=True)
class ExportResult:
    files: tuple[Path, ...]
    folder: Path
    profile_path: Path
    with_passwords: bool


class SheetsPage(WizardPage):
    page_id = PageId.SHEETS

    def build(self) -> None:
        self.setTitle(self.tr("Settings sheets"))
        self.setSubTitle(
            self.tr(
                "One page per printer to leave beside it: the values under the names its "
                "own settings page uses, where to find them, and a QR code."
            )
        )
        self.notice = StatusLine(Tone.WARNING, "", "", self.body)
        self.notice.hide()
        self.body_layout.addWidget(self.notice)

        columns = QHBoxLayout()
        columns.setSpacing(12)
        left = QVBoxLayout()
        left.setSpacing(6)
        label = QLabel(self.tr("&Printers"), self.body)
        self.printer_list = QListWidget(self.body)
        self.printer_list.setObjectName("sheetPrinters")
        self.printer_list.setAccessibleName(self.tr("Printers to export"))
        self.printer_list.setMinimumWidth(180)
        label.setBuddy(self.printer_list)
        left.addWidget(label)
        left.addWidget(self.printer_list, 1)
        left.addWidget(
            HintLabel(self.tr("Ticked printers are exported; pick one to preview it."), self.body)
        )
        columns.addLayout(left, 1)

        self.preview = QLabel(self.body)
        self.preview.setObjectName("sheetPreview")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setFrameShape(QFrame.Shape.StyledPanel)
        self.preview.setMinimumSize(QSize(240, 340))
        self.preview.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.preview.setAccessibleName(self.tr("Preview of the selected printer's sheet"))
        columns.addWidget(self.preview, 2)
        self.body_layout.addLayout(columns, 1)

        options = QHBoxLayout()
        paper_label = QLabel(self.tr("P&aper:"), self.body)
        self.paper = QComboBox(self.body)
        self.paper.setAccessibleName(self.tr("Paper size"))
        self.paper.addItem(self.tr("A4"), Paper.A4.value)
        self.paper.addItem(self.tr("Letter"), Paper.LETTER.value)
        # Letter where people use it; A4 everywhere else.
        letter = QLocale().territory() in (
            QLocale.Country.UnitedStates,
            QLocale.Country.Canada,
            QLocale.Country.Mexico,
        )
        self.paper.setCurrentIndex(1 if letter else 0)
        paper_label.setBuddy(self.paper)
        options.addWidget(paper_label)
        options.addWidget(self.paper)
        options.addSpacing(12)
        self.one_pdf = QRadioButton(self.tr("One P&DF with every sheet"), self.body)
        self.per_printer = QRadioButton(self.tr("One file per pr&inter"), self.body)
        self.one_pdf.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.one_pdf)
        group.addButton(self.per_printer)
        options.addWidget(self.one_pdf)
        options.addWidget(self.per_printer)
        options.addStretch(1)
        self.body_layout.addLayout(options)
        self.include_password = QCheckBox(
            self.tr("Print the passwords on the sheets (read from the keyring, this export only)"),
            self.body,
        )
        self.body_layout.addWidget(self.include_password)

        # The page's actions stay in view below the scrolling body.
        row = QHBoxLayout()
        self.export_button = QPushButton(self.tr("&Export sheets…"), self)
        self.export_button.setAutoDefault(False)
        self.report_button = QPushButton(self.tr("Setup &report…"), self)
        self.report_button.setAutoDefault(False)
        self.open_button = QPushButton(self.tr("&Open folder"), self)
        self.open_button.setAutoDefault(False)
        self.open_button.setEnabled(False)
        row.addWidget(self.export_button)
        row.addWidget(self.report_button)
        row.addWidget(self.open_button)
        row.addStretch(1)
        self.footer_layout.addLayout(row)

        self.sheets: tuple[PrinterSheet, ...] = ()
        self.previews: dict[str, QPixmap] = {}
        self.last_folder: Path | None = None
        self._busy = False
        self._generation = 0
        self._pending_previews: list[PrinterSheet] = []
        self._preview_paper = Paper.A4
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(0)
        self._preview_timer.timeout.connect(self._render_next_preview)
        self.printer_list.currentRowChanged.connect(lambda _row: self._show_preview())
        self.printer_list.itemChanged.connect(lambda _item: self._update_buttons())
        self.paper.currentIndexChanged.connect(lambda _i: self._render_previews())
        self.export_button.clicked.connect(self.choose_export_target)
        self.report_button.clicked.connect(self.choose_report_file)
        self.open_button.clicked.connect(self.open_folder)
        self.session.relayHostChanged.connect(self._relay_host_changed)

    # Content ------------------------------------------------------------------------

    def _cloud(self) -> Cloud:
        return device_facing(self.session.cloud)

    def _relay_host_changed(self, _host: object) -> None:
        # The relay host arrived (or changed): the sheets show it, so draw them again.
        if self.isVisible() and not self._busy:
            self.initializePage()

    def initializePage(self) -> None:
        self.status.clear_message()
        profile = self.session.profile
        self.printer_list.clear()
        self.previews = {}
        self.sheets = ()
        if profile.method is None or not profile.printers:
            self.notice.set_status(
                Tone.WARNING,
                self.tr("Nothing to print yet"),
                self.tr("Add the printers and choose a method first.")
                if profile.method is None
                else self.tr("Add the printers on the Site page first."),
            )
            self.notice.show()
        else:
            if profile.method in RELAY_METHODS:
                self.session.look_up_relay_host()
            self.sheets = build_site_sheets(
                profile,
                self._cloud(),
                vendor_by_id,
                today=self.session.today(),
                mx_host=self.session.relay_host(),
                last_tests=self._last_tests(),
                relay_access=self.session.local_relay_access(),
            )
            if self._cloud() is not self.session.cloud:
                self.notice.set_status(
                    Tone.INFO,
                    self.tr("Sandbox"),
                    self.tr("The sheets show the Microsoft 365 values a real device needs."),
                )
                self.notice.show()
            else:
                self.notice.hide()
        for sheet in self.sheets:
            item = QListWidgetItem(sheet.printer_name, self.printer_list)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            item.setToolTip(f"{sheet.vendor_name} {sheet.model}".strip())
        uses_password = profile.method in PASSWORD_METHODS
        self.include_password.setVisible(uses_password)
        if not uses_password:
            self.include_password.setChecked(False)
        if self.sheets:
            self.printer_list.setCurrentRow(0)
        self._render_previews()
        self._update_buttons()

    def _last_tests(self) -> Mapping[str, LastTest]:
        """Each printer's last test message, from the session journal and the history."""
        return last_tests_from(self.session.history, self.session.profile.printers)

    def selected_sheets(self) -> tuple[PrinterSheet, ...]:
        ticked = {
            self.printer_list.item(i).text()
            for i in range(self.printer_list.count())
            if self.printer_list.item(i).checkState() is Qt.CheckState.Checked
        }
        return tuple(s for s in self.sheets if s.printer_name in ticked)

    def _paper(self) -> Paper:
        return Paper(str(self.paper.currentData() or Paper.A4.value))

    # Previews -------------------------------------------------------------------------

    def _render_previews(self) -> None:
        self._generation += 1
        self.previews = {}
        self._show_preview()
        self._pending_previews = list(self.sheets)
        self._preview_paper = self._paper()
        if self._pending_previews:
            self._preview_timer.start()

    def _render_next_preview(self) -> None:
        """Paint one preview, then let the event loop run before the next."""
        if not self._pending_previews:
            return
        sheet = self._pending_previews.pop(0)
        try:
            # A sheet that flows onto a second page previews its first.
            image = render_sheet_images([sheet], paper=self._preview_paper, dpi=PREVIEW_DPI)[0]
        except Exception as error:  # any failure to draw is shown, never a traceback
            self._pending_previews = []
            self.show_error(error, doing=self.tr("drawing the previews"))
            return
        self.previews[sheet.printer_name] = QPixmap.fromImage(image)
        current = self.printer_list.currentItem()
        if current is not None and current.text() == sheet.printer_name:
            self._show_preview()
        if self._pending_previews:
            self._preview_timer.start()

    def _show_preview(self) -> None:
        item = self.printer_list.currentItem()
        pixmap = self.previews.get(item.text()) if item is not None else None
        if pixmap is None:
            self.preview.setPixmap(QPixmap())
            self.preview.setText(self.tr("Preparing the preview…") if item else "")
            return
        ratio = self.preview.devicePixelRatioF()
        target = self.preview.contentsRect().size() * ratio
        scaled = pixmap.scaled(
            target, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        scaled.setDevicePixelRatio(ratio)
        self.preview.setPixmap(scaled)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._show_preview()

    # Export -----------------------------------------------------------------------------

    def incomplete_reason(self) -> str | None:
        if self._busy:
            return self.tr("Wait until the export has finished.")
        return None

    def _update_buttons(self) -> None:
        has = bool(self.selected_sheets())
        self.export_button.setEnabled(has and not self._busy)
        self.report_button.setEnabled(self.session.profile.method is not None and not self._busy)

    def _start_folder(self) -> Path:
        base = self.last_folder or (
            self.session.profile_path.parent if self.session.profile_path else profiles_dir()
        )
        try:
            base.mkdir(parents=True, exist_ok=True)
        except OSError:
            base = Path.home()
        return base

    def choose_export_target(self) -> None:
        sheets = self.selected_sheets()
        if not sheets:
            return
        folder = self._start_folder()
        if self.per_printer.isChecked():
            dialog = QFileDialog(self, self.tr("Folder for the sheets"), str(folder))
            dialog.setObjectName("sheetsFolderDialog")
            dialog.setFileMode(QFileDialog.FileMode.Directory)
            dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
            dialog.fileSelected.connect(lambda name: self.export_to(Path(name), per_printer=True))
        else:
            if len(sheets) == 1:
                name = sheet_file_name(sheets[0])
            else:
                name = default_profile_name(self.session.profile).replace(".json", "-sheets.pdf")
            dialog = QFileDialog(self, self.tr("Save the sheets"), str(folder))
            dialog.setObjectName("sheetsFileDialog")
            dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
            dialog.setNameFilters([self.tr("PDF files (*.pdf)")])
            dialog.setDefaultSuffix("pdf")
            dialog.selectFile(name)
            dialog.fileSelected.connect(lambda name: self.export_to(Path(name), per_printer=False))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def export_to(self, target: Path, *, per_printer: bool) -> None:
        """Write the ticked sheets to `target` (a PDF, or a folder), then save the profile.

        Passwords (when asked for) are read from the keyring on a worker, the PDFs are
        painted here on the UI thread, and the files and profile are written on a worker.
        """
        sheets = self.selected_sheets()
        if not sheets:
            return
        profile = self.session.profile
        with_passwords = self.include_password.isChecked() and self.include_password.isVisible()
        names = tuple(s.printer_name for s in sheets)
        self._set_busy(True)
        if not with_passwords:
            self._write_sheets(sheets, target, per_printer=per_printer, with_passwords=False)
            return
        cloud = self._cloud()
        today = self.session.today()
        relay = self.session.relay_host()
        last_tests = self._last_tests()
        access = self.session.local_relay_access()
        secrets = self.session.secrets

        def read(_token: CancelToken) -> tuple[PrinterSheet, ...]:
            passwords = _read_passwords(secrets, profile.site.name, profile.printers, names, access)
            return build_site_sheets(
                profile,
                cloud,
                vendor_by_id,
                today=today,
                printers=names,
                passwords=passwords,
                mx_host=relay,
                last_tests=last_tests,
                relay_access=access,
            )

        def read_done(chosen: tuple[PrinterSheet, ...] | None, error: BaseException | None) -> None:
            if error is not None or chosen is None:
                self._exported(None, error or RuntimeError("no passwords"), profile)
                return
            self._write_sheets(chosen, target, per_printer=per_printer, with_passwords=True)

        self.run_task(
            read,
            read_done,
            name="read printer passwords",
            label=self.tr("Reading the passwords from the keyring…"),
        )

    def _write_sheets(
        self,
        sheets: tuple[PrinterSheet, ...],
        target: Path,
        *,
        per_printer: bool,
        with_passwords: bool,
    ) -> None:
        profile = self.session.profile
        try:
            export = SheetsExport(sheets, paper=self._paper(), per_printer=per_printer)
        except Exception as error:  # shown as an explained error, never a traceback
            self._exported(None, error, profile)
            return
        # Painted a few sheets per turn of the event loop (on this thread, as painting
        # must be), so the window stays live through an export of hundreds of sheets.
        timer = QTimer(self)
        timer.setInterval(0)

        def paint_some() -> None:
            try:
                deadline = time.perf_counter() + _PAINT_SLICE_SECONDS
                done = export.step()
                while not done and time.perf_counter() < deadline:
                    done = export.step()
            except Exception as error:  # shown as an explained error, never a traceback
                timer.stop()
                timer.deleteLater()
                self._exported(None, error, profile)
                return
            if not done:
                return
            timer.stop()
            timer.deleteLater()
            if per_printer:
                files = [(target / name, data) for name, data in export.files]
            else:
                files = [(target, data) for _name, data in export.files]
            folder = target if per_printer else target.parent
            self._write_files(
                files,
                folder,
                profile,
                with_passwords=with_passwords,
                kind=EntryKind.SHEETS_EXPORTED,
                detail=", ".join(s.printer_name for s in sheets),
            )

        timer.timeout.connect(paint_some)
        timer.start()

    def _write_files(
        self,
        files: list[tuple[Path, bytes]],
        folder: Path,
        profile: SiteProfile,
        *,
        with_passwords: bool,
        kind: EntryKind,
        detail: str = "",
        label: str = "",
    ) -> None:
        """On a worker: the painted files, then the site profile beside them, its
        history with this export in it (recorded in the journal once it is written)."""
        profile_path = self.session.profile_path or profiles_dir() / default_profile_name(profile)
        entry = exported(kind, [path.name for path, _ in files], self.session.now(), detail)
        saving = self.session.profile_for_saving()
        profile = replace(profile, history=(*saving.history, entry))

        def work(_token: CancelToken) -> ExportResult:
            folder.mkdir(parents=True, exist_ok=True)
            for path, data in files:
                write_atomic(path, data)
            saved = save_profile(profile, profile_path)
            return ExportResult(tuple(path for path, _ in files), folder, saved, with_passwords)

        self.run_task(
            work,
            lambda result, error: self._exported(result, error, profile, entry),
            name="export files",
            label=label or self.tr("Writing the sheets…"),
            cancellable=False,
        )

    def _exported(
        self,
        result: ExportResult | None,
        error: BaseException | None,
        profile: SiteProfile,
        entry: JournalEntry | None = None,
    ) -> None:
        self._set_busy(False)
        if error is not None or result is None:
            self.show_error(
                error or RuntimeError("not exported"), doing=self.tr("exporting the sheets")
            )
            return
        self.session.mark_saved(result.profile_path, profile)
        if entry is not None:
            self.session.record(entry)
        self.last_folder = result.folder
        self.open_button.setEnabled(True)
        files = ", ".join(p.name for p in result.files)
        why = self.tr("The site profile was saved to {path}.").format(path=result.profile_path)
        if result.with_passwords:
            self.show_message(
                UserMessage(
                    Tone.WARNING,
                    self.tr("Saved {files} in {folder}; the sheets contain passwords.").format(
                        files=files, folder=result.folder
                    ),
                    why,
                    self.tr("Keep them locked away, or export again without passwords."),
                )
            )
        else:
            self.show_message(
                UserMessage(
                    Tone.GOOD,
                    self.tr("Saved {files} in {folder}.").format(files=files, folder=result.folder),
                    why,
                )
            )

    def choose_report_file(self) -> None:
        folder = self._start_folder()
        dialog = QFileDialog(self, self.tr("Save the setup report"), str(folder))
        dialog.setObjectName("reportFileDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilters([self.tr("PDF files (*.pdf)")])
        dialog.setDefaultSuffix("pdf")
        dialog.selectFile(
            default_profile_name(self.session.profile).replace(".json", "-setup-report.pdf")
        )
        dialog.fileSelected.connect(lambda name: self.export_report(Path(name)))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def export_report(self, target: Path) -> None:
        profile = self.session.profile
        assessment = self.session.advice.for_method(profile.method) if profile.method else None
        # Drawn from the journal: what was read, changed, checked and sent, as it happened.
        report = report_from_journal(
            profile,
            self.session.today(),
            self.session.history,
            assessment=assessment,
            relay_host=self.session.relay_host(),
        )
        self._set_busy(True)
        try:
            data = report_pdf_bytes(report, paper=self._paper())
        except Exception as error:  # shown as an explained error, never a traceback
            self._exported(None, error, profile)
            return
        self._write_files(
            [(target, data)],
            target.parent,
            profile,
            with_passwords=False,
            kind=EntryKind.REPORT_EXPORTED,
            label=self.tr("Writing the setup report…"),
        )

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._update_buttons()
        self.refresh_complete()

    def open_folder(self) -> None:
        if self.last_folder is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.last_folder)))


def _read_passwords(
    store: SecretStore,
    site: str,
    printers: tuple[Printer, ...],
    names: tuple[str, ...],
    relay_access: Mapping[str, LocalRelayAccess] | None = None,
) -> dict[str, str]:
    """Each chosen printer's password from the keyring; a missing one stops the export.

    With the local relay, the password the relay made for the device (`relay_access`).
    """
    found: dict[str, str] = {}
    for printer in printers:
        if printer.name not in names:
            continue
        secret = store.get(
            site, printer_password_purpose(printer, (relay_access or {}).get(printer.name))
        )
        if not secret:
            raise SecretStoreError(
                tr("The keyring holds no password for {printer}.").format(printer=printer.name),
                next_step=tr("Save it in the wizard first, or export without passwords."),
            )
        found[printer.name] = secret
    return found
