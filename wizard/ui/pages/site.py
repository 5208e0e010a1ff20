"""Site and devices: the office, what it needs, and the devices that send mail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from wizard.core.profile import Printer
from wizard.core.validation import check_domain, check_label, check_public_ipv4
from wizard.core.vendors import Vendor
from wizard.services.vendors import load_catalog
from wizard.ui.messages import UserMessage
from wizard.ui.pages.base import PageId, WizardPage
from wizard.ui.pages.printer_dialog import PrinterDialog, vendor_name
from wizard.ui.style import Tone
from wizard.ui.tasks import CancelToken
from wizard.ui.text import tri_text
from wizard.ui.widgets.choice import TriChoice
from wizard.ui.widgets.form import Field, add_field
from wizard.ui.widgets.icons import status_icon
from wizard.ui.widgets.labels import HintLabel, SectionTitle
from wizard.ui.widgets.reflow import Reflow

if TYPE_CHECKING:
    from wizard.services.public_ip import PublicIp

MAX_DAILY_VOLUME = 10_000_000


class SitePage(WizardPage):
    page_id = PageId.SITE

    def build(self) -> None:
        self.setTitle(self.tr("Site and devices"))
        self.setSubTitle(
            self.tr("Tell the wizard about the office and the devices that should send mail.")
        )
        self._vendors: tuple[Vendor, ...] = load_catalog()
        self._touched: set[str] = set()
        columns = QHBoxLayout()
        columns.setSpacing(28)
        self.body_layout.addLayout(columns)

        office = QVBoxLayout()
        office.setSpacing(10)
        office.addWidget(SectionTitle(self.tr("The office"), self.body))
        self.site_name = QLineEdit(self.body)
        self.site_name.setPlaceholderText(self.tr("e.g. Contoso – main office"))
        self._name = add_field(
            office,
            self.tr("Site na&me"),
            self.site_name,
            self.tr("A name for this office or client; it names the profile and the sheets."),
        )
        self.domain = QLineEdit(self.body)
        self.domain.setPlaceholderText(self.tr("e.g. contoso.com"))
        self._domain = add_field(
            office,
            self.tr("Mail &domain"),
            self.domain,
            self.tr("The part after the @ in your email addresses."),
        )
        self.public_ip = QLineEdit(self.body)
        self.public_ip.setPlaceholderText(self.tr("e.g. 203.0.113.7"))
        self._ip = add_field(
            office,
            self.tr("Office's public &IP address (optional)"),
            self.public_ip,
            self.tr(
                "The address the office has on the internet (IPv4), as your router or "
                "internet provider shows it. A connector needs it."
            ),
            accessible_name=self.tr("Office's public IP address"),
        )
        # "Detect" sits beside the address: asking DNS beats reading it off a router.
        self.detect_ip = QPushButton(self.tr("De&tect"), self.body)
        self.detect_ip.setAccessibleName(self.tr("Detect the office's public IP address"))
        self.detect_ip.setToolTip(
            self.tr("Ask DNS which address this computer's connection comes from.")
        )
        box = self._ip.container.layout()
        assert isinstance(box, QVBoxLayout)
        index = box.indexOf(self.public_ip)
        box.removeWidget(self.public_ip)
        row = QHBoxLayout()
        row.addWidget(self.public_ip, 1)
        row.addWidget(self.detect_ip)
        box.insertLayout(index, row)
        office.addStretch(1)
        columns.addLayout(office, 1)

        needs = QVBoxLayout()
        needs.setSpacing(10)
        needs.addWidget(SectionTitle(self.tr("What the office needs"), self.body))
        self.external = TriChoice(self.tr("Must devices mail people outside your organisation?"))
        add_field(
            needs,
            self.tr("Must devices mail people &outside your organisation?"),
            self.external,
            self.tr(
                "For example scans sent to customers. Some methods reach only your own mailboxes."
            ),
        )
        self.static_ip = TriChoice(self.tr("Does the office have a static public IP address?"))
        add_field(
            needs,
            self.tr("Does the office have a &static public IP address?"),
            self.static_ip,
            self.tr(
                "One that never changes and is the office's alone; the internet provider knows."
            ),
        )
        self.port25 = TriChoice(self.tr("Can the office send out on port 25?"))
        add_field(
            needs,
            self.tr("Can the office send out on &port 25 (the mail server port)?"),
            self.port25,
            self.tr("Many internet providers block it. Not sure? The test message will tell."),
        )
        self.volume = QSpinBox(self.body)
        self.volume.setRange(0, MAX_DAILY_VOLUME)
        self.volume.setSingleStep(10)
        self.volume.setGroupSeparatorShown(True)
        self.volume.setMaximumWidth(self.fontMetrics().averageCharWidth() * 18)
        self._volume = add_field(
            needs,
            self.tr("Messa&ges a day, all devices together"),
            self.volume,
            self.tr("A rough number is fine: it decides whether one mailbox's limits are enough."),
            accessible_name=self.tr("Messages a day, all devices together"),
        )
        needs.addStretch(1)
        columns.addLayout(needs, 1)
        # Side by side when there is room, one below the other when there is not.
        self.reflow = Reflow(
            self.scroll_area.viewport() if self.scroll_area else self, columns, 100
        )

        # The devices' buttons sit beside the section title, so they stay next to
        # the table however small the window is.
        devices_title = QHBoxLayout()
        devices_title.addWidget(SectionTitle(self.tr("Devices that send mail"), self.body), 1)
        self.body_layout.addLayout(devices_title)
        self.body_layout.addWidget(
            HintLabel(
                self.tr(
                    "Printers, scanners and apps. One method serves them all, so add every "
                    "device that sends from this office."
                ),
                self.body,
            )
        )
        self.table = QTableWidget(0, 5, self.body)
        self.table.setAccessibleName(self.tr("Devices that send mail"))
        self.table.setAccessibleDescription(
            self.tr("Enter edits the selected device, Delete removes it.")
        )
        self.table.setHorizontalHeaderLabels(
            [
                self.tr("Device"),
                self.tr("Make and model"),
                self.tr("Sender address"),
                self.tr("Can do"),
                self.tr("Check"),
            ]
        )
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        self.table.setMinimumHeight(self.fontMetrics().lineSpacing() * 6)
        self.table.installEventFilter(self)
        buttons = devices_title
        self.add_button = QPushButton(self.tr("&Add device…"), self.body)
        self.edit_button = QPushButton(self.tr("&Edit…"), self.body)
        self.remove_button = QPushButton(self.tr("&Remove"), self.body)
        self.add_button.setAccessibleName(self.tr("Add a device"))
        self.edit_button.setAccessibleName(self.tr("Edit the selected device"))
        self.remove_button.setAccessibleName(self.tr("Remove the selected device"))
        for b in (self.add_button, self.edit_button, self.remove_button):
            b.setAutoDefault(False)
            buttons.addWidget(b)
        self.body_layout.addWidget(self.table, 1)
        self.dialog: PrinterDialog | None = None

        self.site_name.textEdited.connect(self._name_edited)
        self.domain.textEdited.connect(self._domain_edited)
        self.public_ip.textEdited.connect(self._ip_edited)
        self.detect_ip.clicked.connect(self.detect_public_ip)
        for key, edit in (
            ("name", self.site_name),
            ("domain", self.domain),
            ("ip", self.public_ip),
        ):
            edit.editingFinished.connect(lambda key=key: self._touch(key))
        self.external.changed.connect(lambda v: self.session.update_site(external_recipients=v))
        self.static_ip.changed.connect(lambda v: self.session.update_site(static_ip=v))
        self.port25.changed.connect(lambda v: self.session.update_site(port25_open=v))
        self.volume.valueChanged.connect(lambda n: self.session.update_site(daily_volume=n))
        self.add_button.clicked.connect(self.add_printer)
        self.edit_button.clicked.connect(self.edit_printer)
        self.remove_button.clicked.connect(self.remove_printer)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.cellDoubleClicked.connect(lambda _r, _c: self.edit_printer())
        self.session.profileChanged.connect(lambda _p: self._profile_changed())

    # Filling and reading -------------------------------------------------------------

    def initializePage(self) -> None:
        site = self.session.profile.site
        self.site_name.setText(site.name)
        self.domain.setText(site.domain)
        self.public_ip.setText(site.public_ip or "")
        self.external.set_value(site.external_recipients)
        self.static_ip.set_value(site.static_ip)
        self.port25.set_value(site.port25_open)
        self.volume.setValue(site.daily_volume)
        # Values that came from a profile are judged at once; empty ones once left.
        self._touched = {
            key
            for key, text in (("name", site.name), ("domain", site.domain), ("ip", site.public_ip))
            if text
        }
        self._fill_table()
        self._show_errors()
        self.site_name.setFocus()

    def _name_edited(self, text: str) -> None:
        self.session.update_site(name=" ".join(text.split()))

    def _domain_edited(self, text: str) -> None:
        checked = check_domain(text)
        self.session.update_site(
            domain=checked.value if checked.ok and checked.value else text.strip()
        )

    def _ip_edited(self, text: str) -> None:
        self.session.update_site(public_ip=text.strip() or None)

    def detect_public_ip(self) -> None:
        cloud = self.session.cloud

        def work(token: CancelToken) -> PublicIp:
            from wizard.services.dns.checks import dns_settings_for
            from wizard.services.dns.client import DnsClient
            from wizard.services.public_ip import detect_public_ip, providers_for

            with DnsClient(dns_settings_for(cloud, query_timeout=2.0, budget=5.0)) as client:
                token.raise_if_cancelled()
                return detect_public_ip(client, providers_for(cloud))

        self.detect_ip.setEnabled(False)
        self.run_task(
            work,
            self._ip_detected,
            name="detect-public-ip",
            label=self.tr("Detecting the office's public IP address…"),
        )

    def _ip_detected(self, result: PublicIp | None, error: BaseException | None) -> None:
        self.detect_ip.setEnabled(True)
        if error is not None or result is None:
            self.show_error(
                error or RuntimeError("no result"),
                doing=self.tr("detecting the public IP address"),
            )
            return
        self.public_ip.setText(result.address)
        self._ip_edited(result.address)
        self._touch("ip")
        self.show_message(
            UserMessage(
                Tone.GOOD,
                self.tr("The office's public IP address is {ip}.").format(ip=result.address),
                result.describe(),
            )
        )

    def _touch(self, key: str) -> None:
        self._touched.add(key)
        self._show_errors()

    def _profile_changed(self) -> None:
        self._fill_table()
        self._show_errors()
        self.refresh_complete()

    # Validation --------------------------------------------------------------------------

    def _field_problems(self) -> dict[str, str]:
        site = self.session.profile.site
        found: dict[str, str] = {}
        name = check_label(site.name, self.tr("The site's name"))
        if not name.ok:
            found["name"] = name.error
        domain = check_domain(site.domain)
        if not domain.ok:
            found["domain"] = domain.error
        if site.public_ip:
            ip = check_public_ipv4(site.public_ip)
            if not ip.ok:
                found["ip"] = ip.error
        return found

    def _show_errors(self) -> None:
        found = self._field_problems()
        fields: dict[str, Field] = {"name": self._name, "domain": self._domain, "ip": self._ip}
        for key, field in fields.items():
            if key in found and key in self._touched:
                field.error.show_error(found[key])
            else:
                field.error.clear()

    def printer_problems(self, printer: Printer) -> list[str]:
        domain = self.session.profile.site.domain
        return printer.problems(domain if check_domain(domain).ok else None)

    def incomplete_reason(self) -> str | None:
        found = self._field_problems()
        for key in ("name", "domain", "ip"):
            if key in found:
                return found[key]
        profile = self.session.profile
        if not profile.printers:
            return self.tr("Add at least one device that sends mail.")
        problems = profile.problems()
        if problems:
            return problems[0]
        return None

    # The devices table -----------------------------------------------------------------------

    def _fill_table(self) -> None:
        selected = self.selected_name()
        printers = self.session.profile.printers
        self.table.setRowCount(len(printers))
        for row, p in enumerate(printers):
            make = " ".join(
                part for part in (vendor_name(self._vendors, p.vendor), p.model) if part
            )
            can_do = self.tr("TLS 1.2: {tls} · SMTP AUTH: {auth} · OAuth: {oauth}").format(
                tls=tri_text(p.tls12), auth=tri_text(p.smtp_auth), oauth=tri_text(p.oauth)
            )
            if p.port_465_only:
                can_do += self.tr(" · port 465 only")
            problems = self.printer_problems(p)
            check = QTableWidgetItem(self.tr("Fix") if problems else self.tr("OK"))
            check.setIcon(status_icon(Tone.BAD if problems else Tone.GOOD))
            check.setToolTip("\n".join(problems) if problems else self.tr("Ready"))
            cells = [p.name, make, p.sender, can_do]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(
                    p.location and self.tr("Location: {l}").format(l=p.location) or text
                )
                self.table.setItem(row, col, item)
            self.table.setItem(row, 4, check)
        if selected:
            self.select(selected)
        elif printers:
            self.table.selectRow(0)
        self._selection_changed()

    def selected_name(self) -> str | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return item.text() if item else None

    def select(self, name: str) -> None:
        for row, p in enumerate(self.session.profile.printers):
            if p.name == name:
                self.table.selectRow(row)
                return

    def _selection_changed(self) -> None:
        has = self.selected_name() is not None
        self.edit_button.setEnabled(has)
        self.remove_button.setEnabled(has)

    def _printer(self, name: str) -> Printer | None:
        return next((p for p in self.session.profile.printers if p.name == name), None)

    def add_printer(self) -> None:
        self._open_dialog(None)

    def edit_printer(self) -> None:
        name = self.selected_name()
        printer = self._printer(name) if name else None
        if printer is not None:
            self._open_dialog(printer)

    def remove_printer(self) -> None:
        name = self.selected_name()
        if name is not None:
            self.session.remove_printer(name)
            self.table.setFocus()

    def _open_dialog(self, printer: Printer | None) -> None:
        profile = self.session.profile
        dialog = PrinterDialog(
            self._vendors,
            domain=profile.site.domain,
            taken_names=[p.name for p in profile.printers],
            printer=printer,
            parent=self,
        )
        self.dialog = dialog
        replacing = printer.name if printer else None

        def saved() -> None:
            new = dialog.printer()
            self.session.put_printer(new, replacing)
            self.select(new.name)
            # Not the table: there Enter edits the device. On the (non-default) button
            # Enter does the page's primary action, Next, and Space adds another.
            (self.edit_button if replacing else self.add_button).setFocus()

        dialog.accepted.connect(saved)
        dialog.finished.connect(lambda _r: self._dialog_closed(dialog))
        dialog.open()

    def _dialog_closed(self, dialog: PrinterDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
        dialog.deleteLater()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.table and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.selected_name():
                self.edit_printer()
                return True
            if event.key() == Qt.Key.Key_Delete and self.selected_name():
                self.remove_printer()
                return True
        return super().eventFilter(watched, event)
