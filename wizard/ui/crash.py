"""The crash dialog: shown (GUI only) when an error escapes everything else.

`install_crash_reporter(app)` registers it with the excepthook
(wizard.services.crash_hook). The hook may run on any thread; the dialog is always
opened on the UI thread. The CLI and the self-test never install it, so they never
show a dialog.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from wizard import APP_NAME
from wizard.core.redact import redact
from wizard.services.crash_hook import set_crash_reporter
from wizard.services.paths import log_file
from wizard.ui.style import Tone
from wizard.ui.widgets.copy import CopyButton
from wizard.ui.widgets.labels import HintLabel, StatusLine

log = logging.getLogger(__name__)

# The exit code when the user quits from the crash dialog (EX_SOFTWARE).
CRASH_EXIT_CODE = 70


class CrashDialog(QDialog):
    def __init__(self, details: str, log_path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("crashDialog")
        self.setWindowTitle(self.tr("{app}: internal error").format(app=APP_NAME))
        self._log_path = log_path
        layout = QVBoxLayout(self)
        layout.addWidget(
            StatusLine(
                Tone.BAD,
                self.tr("Problem"),
                self.tr(
                    "Relay Wizard hit an internal error and could not finish what it was doing."
                ),
                self,
            )
        )
        layout.addWidget(
            HintLabel(
                self.tr(
                    "This is a fault in Relay Wizard, not in your settings. Saved site "
                    "profiles are not affected: they are only ever replaced whole."
                ),
                self,
            )
        )
        layout.addWidget(
            QLabel(
                self.tr(
                    "You can keep working, or quit and start again. To report it, send the "
                    "log file and the details below."
                ),
                self,
                wordWrap=True,
            )
        )
        row = QHBoxLayout()
        path_label = QLabel(self.tr("Log file: {path}").format(path=log_path), self)
        path_label.setWordWrap(True)
        row.addWidget(path_label, 1)
        row.addWidget(CopyButton(str(log_path), self.tr("the log file's path"), self))
        self.open_folder = QPushButton(self.tr("Open &folder"), self)
        self.open_folder.setAutoDefault(False)
        self.open_folder.clicked.connect(self._open_folder)
        row.addWidget(self.open_folder)
        layout.addLayout(row)
        self.details = QPlainTextEdit(self)
        self.details.setReadOnly(True)
        self.details.setAccessibleName(self.tr("Error details"))
        self.details.setPlainText(redact(details))
        layout.addWidget(self.details, 1)
        buttons = QDialogButtonBox(self)
        self.copy_details = CopyButton(
            self.details.toPlainText,
            self.tr("the error details"),
            self,
            label=self.tr("Copy &details"),
        )
        buttons.addButton(self.copy_details, QDialogButtonBox.ButtonRole.ActionRole)
        self.quit_button = buttons.addButton(
            self.tr("&Quit Relay Wizard"), QDialogButtonBox.ButtonRole.DestructiveRole
        )
        self.keep_button = buttons.addButton(
            self.tr("&Keep working"), QDialogButtonBox.ButtonRole.RejectRole
        )
        self.keep_button.setDefault(True)
        self.quit_button.clicked.connect(self._quit)
        self.keep_button.clicked.connect(self.reject)
        layout.addWidget(buttons)
        metrics = self.fontMetrics()
        self.resize(metrics.averageCharWidth() * 100, metrics.lineSpacing() * 26)

    def append(self, details: str) -> None:
        """Another error while the dialog is open: add it rather than stack dialogs."""
        self.details.appendPlainText("\n" + redact(details))

    def _open_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._log_path.parent)))

    def _quit(self) -> None:
        self.accept()
        QApplication.exit(CRASH_EXIT_CODE)


class CrashReporter(QObject):
    """Called by the excepthook on any thread; shows the dialog on the UI thread."""

    _crashed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.dialog: CrashDialog | None = None
        # Queued when emitted from a worker thread: Qt runs _show on our thread.
        self._crashed.connect(self._show)

    def __call__(self, details: str) -> None:
        self._crashed.emit(details)

    def _show(self, details: str) -> None:
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.append(details)
            return
        parent = QApplication.activeWindow()
        self.dialog = CrashDialog(details, log_file(), parent)
        self.dialog.finished.connect(self._closed)
        self.dialog.open()

    def _closed(self, _result: int) -> None:
        if self.dialog is not None:
            self.dialog.deleteLater()
            self.dialog = None


def install_crash_reporter(app: QApplication) -> CrashReporter:
    reporter = CrashReporter(app)
    set_crash_reporter(reporter)
    return reporter


def uninstall_crash_reporter() -> None:
    set_crash_reporter(None)
