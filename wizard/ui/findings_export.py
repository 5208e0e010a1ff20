"""Saving a findings report (Troubleshoot, Audit) as PDF or JSON from its page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from wizard.export.findings_report import findings_pdf_bytes
from wizard.services.atomic import write_atomic
from wizard.services.paths import profiles_dir
from wizard.ui.messages import UserMessage
from wizard.ui.pages.base import WizardPage
from wizard.ui.style import Tone
from wizard.ui.tasks import CancelToken


class ExportableReport(Protocol):
    def document(self) -> Any: ...

    def to_json(self) -> dict[str, Any]: ...


def safe_file_stem(text: str, fallback: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_." else "-" for c in text).strip("-")
    return cleaned or fallback


class FindingsExporter(QObject):
    """The save dialog, the writing off the UI thread, and the message when done.

    A child of the page, so a result arriving after the page is gone is dropped by Qt
    with this object instead of touching deleted widgets.
    """

    def __init__(self, page: WizardPage, *, title: str, dialog_name: str, saved: str) -> None:
        # saved: the message once written, with {0} for the path.
        super().__init__(page)
        self.page = page
        self.title = title
        self.dialog_name = dialog_name
        self.saved = saved

    def choose(self, report: ExportableReport, file_name: str, kind: str) -> None:
        page = self.page
        profile_path = page.session.profile_path
        folder = profile_path.parent if profile_path else profiles_dir()
        dialog = QFileDialog(page, self.title, str(folder / file_name))
        dialog.setObjectName(self.dialog_name)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix(kind)
        dialog.setNameFilters(
            [page.tr("PDF files (*.pdf)") if kind == "pdf" else page.tr("JSON files (*.json)")]
        )
        dialog.fileSelected.connect(lambda chosen: self.export(report, Path(chosen), kind))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def export(self, report: ExportableReport, path: Path, kind: str) -> None:
        # The PDF is painted here, on the UI thread (wizard.export.layout.require_gui
        # says why); only the file is written on a worker.
        try:
            if kind == "pdf":
                data = findings_pdf_bytes(report.document())
            else:
                text = json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n"
                data = text.encode("utf-8")
        except Exception as error:  # shown as an explained error, never a traceback
            self._exported(None, error)
            return

        def work(_token: CancelToken) -> Path:
            write_atomic(path, data)
            return path

        self.page.run_task(
            work,
            self._exported,
            name=f"export {self.dialog_name}",
            label=self.page.tr("Writing {0}…").format(path.name),
            cancellable=False,
        )

    def _exported(self, path: Path | None, error: BaseException | None) -> None:
        page = self.page
        if error is not None or path is None:
            page.show_error(error or RuntimeError("not written"), doing=page.tr("exporting"))
            return
        page.show_message(UserMessage(Tone.GOOD, self.saved.format(path)))
