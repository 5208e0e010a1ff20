"""Welcome: start a new setup, open a saved site profile, troubleshoot a device or audit a
tenant, and choose the cloud.

Troubleshoot and Audit are side paths (wizard/ui/navigation.py's ROUTES): Welcome →
Sign in → Troubleshoot (signing in is optional there) or → Audit (it reads the tenant).
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from wizard.core.clouds import CLOUDS, SELECTABLE_CLOUDS, CloudId, cloud_by_id
from wizard.core.journal import last_time_text
from wizard.core.profile import SiteProfile
from wizard.services.paths import profiles_dir
from wizard.services.profile_store import load_profile
from wizard.ui.messages import UserMessage
from wizard.ui.navigation import METHOD_ONLY, ROUTES, Route
from wizard.ui.pages.base import PageId, WizardPage
from wizard.ui.settings import recent_sites, remember_site
from wizard.ui.style import Tone
from wizard.ui.tasks import CancelToken
from wizard.ui.text import plural
from wizard.ui.widgets.copy import CopyButton
from wizard.ui.widgets.form import add_field
from wizard.ui.widgets.labels import HintLabel, SectionTitle


class StartMode(Enum):
    NEW = "new"
    OPEN = "open"
    TROUBLESHOOT = "troubleshoot"
    AUDIT = "audit"


# The way each choice goes; the main path (New, Open) walks every registered page.
START_ROUTES: dict[StartMode, Route] = {
    StartMode.NEW: Route.MAIN,
    StartMode.OPEN: Route.MAIN,
    StartMode.TROUBLESHOOT: Route.TROUBLESHOOT,
    StartMode.AUDIT: Route.AUDIT,
}


class WelcomePage(WizardPage):
    page_id = PageId.WELCOME

    def build(self) -> None:
        self.setTitle(self.tr("Welcome"))
        self.setSubTitle(
            self.tr("Set up printers, scanners and apps to send email through Microsoft 365.")
        )
        layout = self.body_layout
        intro = QLabel(
            self.tr(
                "Relay Wizard recommends how your devices should send mail through "
                "Microsoft 365 and gives you the exact settings for each device."
            ),
            self.body,
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self._steps = QLabel(self.body)
        self._steps.setWordWrap(True)
        layout.addWidget(self._steps)

        layout.addWidget(SectionTitle(self.tr("What would you like to do?"), self.body))
        self._new = QRadioButton(self.tr("&Start a new setup"), self.body)
        self._open = QRadioButton(self.tr("&Open a saved site profile"), self.body)
        self._troubleshoot = QRadioButton(
            self.tr("T&roubleshoot a device that used to work"), self.body
        )
        self._audit = QRadioButton(self.tr("&Audit a tenant's relay exposure"), self.body)
        self._modes = QButtonGroup(self)
        self._modes.addButton(self._new)
        self._modes.addButton(self._open)
        self._modes.addButton(self._troubleshoot)
        self._modes.addButton(self._audit)
        self._new.setChecked(True)
        new_hint = self.tr("Describe the office and its devices from the start.")
        self._new.setAccessibleDescription(new_hint)
        layout.addWidget(_choice(self._new, _indented(HintLabel(new_hint))))
        open_box = QWidget(self.body)
        open_layout = QVBoxLayout(open_box)
        open_layout.setContentsMargins(0, 0, 0, 0)
        open_hint = self.tr(
            "Continue with a site you saved before (a .json file). The file itself is not "
            "changed until you save."
        )
        self._open.setAccessibleDescription(open_hint)
        open_layout.addWidget(HintLabel(open_hint))
        row = QHBoxLayout()
        self._choose = QPushButton(self.tr("&Choose file…"), open_box)
        self._choose.setAccessibleName(self.tr("Choose the site profile file to open"))
        self._choose.setAutoDefault(False)
        self._opened = QLabel(open_box)
        self._opened.setWordWrap(True)
        self._copy_path = CopyButton(self._path_text, self.tr("the profile's file path"), open_box)
        row.addWidget(self._choose)
        row.addWidget(self._opened, 1)
        row.addWidget(self._copy_path)
        open_layout.addLayout(row)
        # What the profile's history says was done the last time, and when.
        self.last_time = HintLabel("", open_box)
        self.last_time.setObjectName("lastTime")
        self.last_time.hide()
        open_layout.addWidget(self.last_time)
        # The sites opened or saved lately: one click (or Tab and Space) opens one.
        self._recent_box = QWidget(open_box)
        self._recent_layout = QHBoxLayout(self._recent_box)
        self._recent_layout.setContentsMargins(0, 0, 0, 0)
        self._recent_buttons: list[QPushButton] = []
        open_layout.addWidget(self._recent_box)
        layout.addWidget(_choice(self._open, _indented(open_box)))
        troubleshoot_hint = self.tr(
            "A printer or app stopped sending: check its server, ports 25 and 587, "
            "encryption, sign-in, and (signed in) the tenant's connectors, mail flow rules "
            "and message trace. Uses the devices of the opened profile, or type them in."
        )
        self._troubleshoot.setAccessibleDescription(troubleshoot_hint)
        layout.addWidget(_choice(self._troubleshoot, _indented(HintLabel(troubleshoot_hint))))
        audit_hint = self.tr(
            "Read only, after signing in: which mailboxes can use SMTP AUTH (inherited "
            "too), connectors at risk, direct send, High Volume Email, and what changes "
            "at the end of December 2026 and in 2027."
        )
        self._audit.setAccessibleDescription(audit_hint)
        layout.addWidget(_choice(self._audit, _indented(HintLabel(audit_hint))))

        layout.addWidget(SectionTitle(self.tr("Microsoft 365 cloud"), self.body))
        self._cloud = QComboBox(self.body)
        self._cloud.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self._cloud.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        for cloud_id in SELECTABLE_CLOUDS:
            self._cloud.addItem(CLOUDS[cloud_id].name, cloud_id.value)
        self._cloud_field = add_field(
            layout,
            self.tr("Where your &tenant lives"),
            self._cloud,
            self.tr(
                "Almost every organisation uses the worldwide cloud. Choose a US government "
                "or China cloud only if your Microsoft 365 tenant lives there."
            ),
            accessible_name=self.tr("Microsoft 365 cloud"),
        )
        self._sandbox_note = HintLabel(
            self.tr(
                "This is the demo: the wizard works with the sandbox tenant on this "
                "computer, so the cloud cannot be changed."
            ),
            self.body,
        )
        layout.addWidget(self._sandbox_note)
        layout.addStretch(1)

        self._loading = False
        self._listening = False
        self._pending_path: Path | None = None
        self._choose.clicked.connect(self.choose_profile)
        self._modes.buttonToggled.connect(lambda *_: self._mode_changed())
        self._cloud.currentIndexChanged.connect(self._cloud_chosen)
        self.session.profilePathChanged.connect(lambda _p: self._show_opened())
        self.session.profilePathChanged.connect(self._show_last_time)
        self.session.profilePathChanged.connect(self._remember_recent)
        self._show_recent()
        self.session.cloudChanged.connect(lambda _c: self._show_cloud())
        self._show_cloud()
        self._show_opened()

    # State ------------------------------------------------------------------------

    @property
    def mode(self) -> StartMode:
        for mode, button in self._buttons().items():
            if button.isChecked():
                return mode
        return StartMode.NEW

    def set_mode(self, mode: StartMode) -> None:
        self._buttons()[mode].setChecked(True)

    def _buttons(self) -> dict[StartMode, QRadioButton]:
        return {
            StartMode.NEW: self._new,
            StartMode.OPEN: self._open,
            StartMode.TROUBLESHOOT: self._troubleshoot,
            StartMode.AUDIT: self._audit,
        }

    def initializePage(self) -> None:
        wizard = self.wizard()
        added = getattr(wizard, "pagesAdded", None)
        if added is not None and not self._listening:
            # The window may show before the other pages exist (launch.py): name the
            # steps once they do.
            self._listening = True
            added.connect(self._mode_changed)
        self._mode_changed()

    def _mode_changed(self) -> None:
        route = START_ROUTES[self.mode]
        nav = self.navigator()
        if nav is not None:
            nav.set_route(route)
        wizard = self.wizard()
        if wizard is not None:
            have = set(wizard.pageIds())
            # A step of one method only (the Relay step) shows once that method is chosen.
            titles = [
                wizard.page(int(p)).title()
                for p in ROUTES[route]
                if int(p) in have and p is not self.page_id and p not in METHOD_ONLY
            ]
            steps = " → ".join(t for t in titles if t)
            self._steps.setText(self.tr("The steps: {steps}.").format(steps=steps) if steps else "")
            self._steps.setVisible(bool(steps))
        self.refresh_complete()

    def incomplete_reason(self) -> str | None:
        if self._loading:
            return self.tr("Wait until the site profile is open.")
        if self.mode is StartMode.OPEN and self.session.profile_path is None:
            return self.tr("Choose the site profile to open, or start a new setup.")
        return None

    def validatePage(self) -> bool:
        if self.mode is StartMode.NEW and self.session.profile_path is not None:
            # "New setup" after opening a profile starts from nothing, as it says.
            self.session.start_new()
        return True

    # Opening a profile -----------------------------------------------------------------

    def choose_profile(self) -> None:
        self.set_mode(StartMode.OPEN)
        folder = self.session.profile_path.parent if self.session.profile_path else profiles_dir()
        dialog = QFileDialog(self, self.tr("Open a site profile"), str(folder))
        dialog.setObjectName("openProfileDialog")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        dialog.setNameFilters([self.tr("Site profiles (*.json)"), self.tr("All files (*)")])
        dialog.fileSelected.connect(lambda name: self.open_profile(Path(name)))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def open_profile(self, path: Path) -> None:
        """Read `path` off the UI thread; the file is only read, never changed."""
        self.set_mode(StartMode.OPEN)
        self.status.clear_message()
        self._loading = True
        self._choose.setEnabled(False)
        self.refresh_complete()

        def work(_token: CancelToken) -> SiteProfile:
            return load_profile(path)

        self._pending_path = path
        self.run_task(
            work,
            self._opened_profile,
            name="open profile",
            label=self.tr("Opening {name}…").format(name=path.name),
        )

    def _opened_profile(self, profile: SiteProfile | None, error: BaseException | None) -> None:
        self._loading = False
        self._choose.setEnabled(True)
        path = self._pending_path
        if error is not None or profile is None or path is None:
            self.show_error(
                error or RuntimeError("no profile"), doing=self.tr("opening the profile")
            )
            self.refresh_complete()
            return
        note = None
        if not self.session.cloud.is_sandbox:
            cloud = cloud_by_id(profile.site.cloud.value)
            if cloud is not None:
                self.session.set_cloud(cloud)
            elif profile.site.cloud is CloudId.SANDBOX:
                note = self.tr(
                    "This profile was made with the sandbox tenant (the demo). Choose the "
                    "cloud of the real tenant below."
                )
        elif profile.site.cloud is not CloudId.SANDBOX:
            note = self.tr(
                "The demo uses the sandbox tenant; the profile's own cloud is used when "
                "Relay Wizard runs without --demo."
            )
        self.session.adopt(profile, path)
        if note:
            self.show_message(UserMessage(Tone.INFO, note))
        self.refresh_complete()

    def _remember_recent(self, path: Path | None) -> None:
        if path is None:
            return
        remember_site(path, self.session.profile.site.name or path.stem)
        self._show_recent()

    def _show_recent(self) -> None:
        for button in self._recent_buttons:
            self._recent_layout.removeWidget(button)
            button.deleteLater()
        self._recent_buttons = []
        while self._recent_layout.count():
            self._recent_layout.takeAt(0)
        sites = recent_sites()
        if sites:
            self._recent_layout.addWidget(QLabel(self.tr("Recent:"), self._recent_box))
        for site in sites:
            # The text without "&": a site's name must not become a shortcut.
            button = QPushButton(site.name.replace("&", "&&"), self._recent_box)
            button.setAutoDefault(False)
            button.setToolTip(str(site.path))
            button.setAccessibleName(self.tr("Open the recent site {name}").format(name=site.name))
            button.clicked.connect(lambda _c=False, where=site.path: self.open_profile(where))
            self._recent_layout.addWidget(button)
            self._recent_buttons.append(button)
        self._recent_layout.addStretch(1)
        self._recent_box.setVisible(bool(sites))

    @property
    def recent_buttons(self) -> list[QPushButton]:
        return list(self._recent_buttons)

    def _path_text(self) -> str:
        return str(self.session.profile_path or "")

    def _show_opened(self) -> None:
        path = self.session.profile_path
        if path is None:
            self._opened.setText(self.tr("No profile opened."))
        else:
            profile = self.session.profile
            count = len(profile.printers)
            devices = plural("WelcomePage", "%n device", "%n devices", count)
            self._opened.setText(
                self.tr("Opened “{site}” ({devices}) from {path}").format(
                    site=profile.site.name or path.stem, devices=devices, path=path
                )
            )
        self._copy_path.setVisible(path is not None)
        self.refresh_complete()

    def _show_last_time(self, _path: object = None) -> None:
        text = last_time_text(self.session.profile.history)
        self.last_time.setText(text)
        self.last_time.setVisible(bool(text) and self.session.profile_path is not None)

    # The cloud ---------------------------------------------------------------------------

    def _show_cloud(self) -> None:
        cloud = self.session.cloud
        sandbox = cloud.is_sandbox
        self._cloud_field.container.setVisible(not sandbox)
        self._sandbox_note.setVisible(sandbox)
        if not sandbox:
            index = self._cloud.findData(cloud.id.value)
            if index >= 0 and index != self._cloud.currentIndex():
                self._cloud.setCurrentIndex(index)

    def _cloud_chosen(self, index: int) -> None:
        cloud = cloud_by_id(str(self._cloud.itemData(index)))
        if cloud is not None and not self.session.cloud.is_sandbox:
            self.session.set_cloud(cloud)


def _choice(button: QWidget, details: QWidget) -> QWidget:
    """A radio button with its explanation close under it."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    layout.addWidget(button)
    layout.addWidget(details)
    return box


def _indented(widget: QWidget) -> QWidget:
    box = QWidget()
    layout = QHBoxLayout(box)
    # Lines the text up under the radio button's label.
    layout.setContentsMargins(24, 0, 0, 0)
    layout.addWidget(widget)
    return box
