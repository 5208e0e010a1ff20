"""Add or edit one device: its name, make and model, sender, and what it can do."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from wizard.core.methods import Tri
from wizard.core.profile import Printer
from wizard.core.validation import check_domain, check_email, check_label
from wizard.core.vendors import GENERIC_VENDOR, OAuthAvailability, OAuthSignIn, Vendor
from wizard.ui.settings import remember_dialog_size
from wizard.ui.style import Tone
from wizard.ui.widgets.choice import TriChoice
from wizard.ui.widgets.form import Field, add_field
from wizard.ui.widgets.labels import HintLabel, SectionTitle, StatusLine
from wizard.ui.widgets.reflow import Reflow


class PrinterDialog(QDialog):
    """Window-modal; opened with `open()` so the wizard's event loop keeps running."""

    def __init__(
        self,
        vendors: Sequence[Vendor],
        *,
        domain: str,
        taken_names: Iterable[str],
        printer: Printer | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("printerDialog")
        self._editing = printer
        self._vendors = {v.id: v for v in vendors}
        checked = check_domain(domain)
        self._domain = checked.value if checked.ok else None
        self._taken = {n.casefold() for n in taken_names if not printer or n != printer.name}
        self.setWindowTitle(self.tr("Edit device") if printer else self.tr("Add a device"))
        self.setModal(True)

        outer = QVBoxLayout(self)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)
        columns = QHBoxLayout(body)
        columns.setSpacing(24)
        # Two columns when there is room, one below the other when there is not.
        self.reflow = Reflow(scroll.viewport(), columns, min_chars=90)
        # Set explicitly: a nested layout would inherit the columns' wide spacing.
        left = QVBoxLayout()
        left.setSpacing(10)
        right = QVBoxLayout()
        right.setSpacing(10)
        columns.addLayout(left, 1)
        columns.addLayout(right, 1)

        left.addWidget(SectionTitle(self.tr("The device"), body))
        self.name = QLineEdit(body)
        self.name.setPlaceholderText(self.tr("e.g. Reception scanner"))
        self._name = add_field(
            left,
            self.tr("&Name"),
            self.name,
            self.tr("What the office calls it; it names the device's settings sheet."),
            accessible_name=self.tr("Device name"),
        )
        self.vendor = QComboBox(body)
        ordered = sorted(vendors, key=lambda v: (v.id == GENERIC_VENDOR, v.name.casefold()))
        for v in ordered:
            self.vendor.addItem(v.name, v.id)
        add_field(left, self.tr("&Make"), self.vendor, accessible_name=self.tr("Make (vendor)"))
        self.model = QComboBox(body)
        self.model.setEditable(True)
        self.model.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self._model = add_field(
            left,
            self.tr("M&odel"),
            self.model,
            self.tr("Pick the model family or type the exact model; it finds the right menu."),
            accessible_name=self.tr("Model"),
        )
        self.location = QLineEdit(body)
        self.location.setPlaceholderText(self.tr("e.g. 1st floor, copy room"))
        self._location = add_field(
            left,
            self.tr("&Location (optional)"),
            self.location,
            accessible_name=self.tr("Location"),
        )
        self.sender_address = QLineEdit(body)
        self.sender_address.setPlaceholderText(
            self.tr("e.g. scanner@{domain}").format(domain=self._domain or "contoso.com")
        )
        sender_hint = (
            self.tr("The From address of its mail; it must be in {domain}.").format(
                domain=self._domain
            )
            if self._domain
            else self.tr("The From address of its mail, in one of your domains.")
        )
        self._sender = add_field(
            left,
            self.tr("&Sender address (From)"),
            self.sender_address,
            sender_hint,
            accessible_name=self.tr("Sender address"),
        )
        self.username = QLineEdit(body)
        self._username = add_field(
            left,
            self.tr("Sign-in &user name (optional)"),
            self.username,
            self.tr(
                "Only for methods where the device signs in: the mailbox it signs in with. "
                "Empty means the sender address."
            ),
            accessible_name=self.tr("Sign-in user name"),
        )
        left.addStretch(1)

        right.addWidget(SectionTitle(self.tr("What it can do"), body))
        right.addWidget(
            HintLabel(
                self.tr(
                    'Look in the device\'s web page or manual. "Not sure" is fine: the '
                    "advice then tells you what to check."
                ),
                body,
            )
        )
        # What the catalog knows about the picked family fills these in (marked, and
        # any answer the user gives wins).
        self.catalog_note = HintLabel("", body)
        self.catalog_note.hide()
        right.addWidget(self.catalog_note)
        self.tls12 = TriChoice(self.tr("Supports TLS 1.2"), parent=body)
        tls_field = add_field(
            right,
            self.tr("Supports &TLS 1.2 (modern encryption)?"),
            self.tls12,
            self.tr("Most devices from 2016 on do; older firmware may stop at TLS 1.0."),
            accessible_name=self.tr("Supports TLS 1.2"),
        )
        self.smtp_auth = TriChoice(self.tr("Can sign in to a mail server"), parent=body)
        auth_field = add_field(
            right,
            self.tr("Can sign in to a mail server (SMTP &AUTH)?"),
            self.smtp_auth,
            self.tr("Often shown as 'SMTP authentication' with a user name and password."),
            accessible_name=self.tr("Can sign in to a mail server (SMTP AUTH)"),
        )
        self.oauth = TriChoice(self.tr("Can sign in with Microsoft"), parent=body)
        self._oauth = add_field(
            right,
            self.tr("Can sign in &with Microsoft (OAuth 2.0)?"),
            self.oauth,
            " ",
            accessible_name=self.tr("Can sign in with Microsoft (OAuth 2.0)"),
        )
        self.catalog_marks: dict[str, HintLabel] = {}
        # Which answers came from the catalog (and may be replaced when the family
        # changes) and which the user gave (never overwritten).
        self._from_catalog: set[str] = set()
        self._user_set: set[str] = set()
        self._filling = False
        for key, field, choice in (
            ("tls12", tls_field, self.tls12),
            ("smtp_auth", auth_field, self.smtp_auth),
            ("oauth", self._oauth, self.oauth),
        ):
            mark = HintLabel(self.tr("From the catalog; change it if your device differs."), body)
            mark.hide()
            box = field.container.layout()
            if isinstance(box, QVBoxLayout):
                box.insertWidget(box.indexOf(choice) + 1, mark)
            self.catalog_marks[key] = mark
            choice.changed.connect(lambda _v, key=key: self._answered(key))
        self.port_465_only = QCheckBox(self.tr("It only offers port &465 (SSL/TLS)"), body)
        self.port_465_only.setAccessibleName(self.tr("Only offers port 465"))
        port_hint = self.tr(
            "Tick this if the device has no STARTTLS or port 587 option. Microsoft 365 "
            "does not accept sign-in on port 465."
        )
        self.port_465_only.setAccessibleDescription(port_hint)
        port_box = QWidget(body)
        port_layout = QVBoxLayout(port_box)
        port_layout.setContentsMargins(0, 0, 0, 0)
        port_layout.setSpacing(3)
        port_layout.addWidget(self.port_465_only)
        port_layout.addWidget(HintLabel(port_hint, port_box))
        right.addWidget(port_box)
        right.addStretch(1)

        self.why_not = StatusLine(Tone.INFO, self.tr("To save"), "", self)
        outer.addWidget(self.why_not)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText(self.tr("Save device") if printer else self.tr("Add device"))
        outer.addWidget(self.buttons)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        self._touched: set[str] = set()
        if printer is not None:
            self._fill(printer)
            self._touched.update({"name", "sender", "username", "model", "location"})
        else:
            # Until the user picks a make, the generic entry: never a guessed vendor.
            self.vendor.setCurrentIndex(self.vendor.findData(GENERIC_VENDOR))
            self._vendor_chosen()
        self.vendor.currentIndexChanged.connect(lambda _i: self._vendor_chosen())
        for key, edit in (
            ("name", self.name),
            ("location", self.location),
            ("sender", self.sender_address),
            ("username", self.username),
        ):
            edit.textChanged.connect(lambda _t: self._validate())
            edit.editingFinished.connect(lambda key=key: self._touch(key))
        self.model.editTextChanged.connect(lambda _t: self._validate())
        self.model.editTextChanged.connect(lambda _t: self._fill_from_catalog())
        self._validate()
        remember_dialog_size(self, "printerDialog", self._comfortable_size())
        # Typing starts in the first field (the focus goes there when the dialog shows).
        self.name.setFocus(Qt.FocusReason.OtherFocusReason)

    def _comfortable_size(self) -> QSize:
        """Room for both columns without scrolling, within the screen."""
        metrics = self.fontMetrics()
        size = QSize(metrics.averageCharWidth() * 125, metrics.lineSpacing() * 46)
        screen = self.screen()
        if screen is not None:
            size = size.boundedTo(screen.availableGeometry().size() * 0.9)
        return size

    # Values ----------------------------------------------------------------------

    def _fill(self, printer: Printer) -> None:
        self.name.setText(printer.name)
        index = self.vendor.findData(printer.vendor)
        if index < 0:
            index = self.vendor.findData(GENERIC_VENDOR)
        self.vendor.setCurrentIndex(index)
        self._vendor_chosen()
        self.model.setEditText(printer.model)
        self.location.setText(printer.location)
        self.sender_address.setText(printer.sender)
        self.username.setText(printer.username or "")
        self.tls12.set_value(printer.tls12)
        self.smtp_auth.set_value(printer.smtp_auth)
        self.oauth.set_value(printer.oauth)
        self.port_465_only.setChecked(printer.port_465_only)
        # A saved device's answers are its own: when its model changes, the catalog
        # fills in only what is still "Not sure".
        self._user_set = {
            key
            for key, value in (
                ("tls12", printer.tls12),
                ("smtp_auth", printer.smtp_auth),
                ("oauth", printer.oauth),
            )
            if value is not Tri.UNKNOWN
        }

    def current_vendor(self) -> Vendor:
        vendor_id = str(self.vendor.currentData())
        return self._vendors.get(vendor_id) or self._vendors[GENERIC_VENDOR]

    def printer(self) -> Printer:
        """The device as entered (normalised); only meaningful once it validates."""
        typed_sender = self.sender_address.text().strip()
        sender = check_email(typed_sender)
        username = self.username.text().strip()
        user_checked = check_email(username) if username else None
        return Printer(
            name=" ".join(self.name.text().split()),
            vendor=self.current_vendor().id,
            model=" ".join(self.model.currentText().split()),
            location=" ".join(self.location.text().split()),
            sender=sender.value
            if sender.ok and sender.value
            else self.sender_address.text().strip(),
            username=(
                (user_checked.value if user_checked and user_checked.ok else username) or None
            ),
            tls12=self.tls12.value(),
            smtp_auth=self.smtp_auth.value(),
            oauth=self.oauth.value(),
            port_465_only=self.port_465_only.isChecked(),
        )

    # Behaviour -------------------------------------------------------------------------

    def _vendor_chosen(self) -> None:
        vendor = self.current_vendor()
        typed = self.model.currentText()
        self.model.blockSignals(True)
        self.model.clear()
        self.model.addItems(list(vendor.families))
        self.model.setEditText(typed)
        self.model.blockSignals(False)
        oauth = vendor.oauth
        oauth_hint = {
            OAuthAvailability.YES: self.tr("{vendor}: current models offer it."),
            OAuthAvailability.SOME_MODELS: self.tr(
                "{vendor}: some models offer it, depending on model and firmware."
            ),
            OAuthAvailability.NO: self.tr("{vendor} devices do not offer it."),
        }[oauth.availability].format(vendor=vendor.name)
        if oauth.sign_in is not None:
            oauth_hint += (
                " "
                + {
                    OAuthSignIn.DEVICE_CODE: self.tr(
                        "The device shows a code to enter on Microsoft's sign-in page."
                    ),
                    OAuthSignIn.WEB_PAGE: self.tr("It is set up from the device's web page."),
                    OAuthSignIn.CONTROL_PANEL: self.tr("It is set up on the device's touch panel."),
                }[oauth.sign_in]
            )
        hint = self._oauth.hint
        if hint is not None:
            hint.setText(oauth_hint)
        self.oauth.setAccessibleDescription(oauth_hint)
        self._fill_from_catalog()

    def _choices(self) -> dict[str, TriChoice]:
        return {"tls12": self.tls12, "smtp_auth": self.smtp_auth, "oauth": self.oauth}

    def _answered(self, key: str) -> None:
        if self._filling:
            return
        self._user_set.add(key)
        self._from_catalog.discard(key)
        self.catalog_marks[key].hide()

    def _fill_from_catalog(self) -> None:
        """Fill in what the catalog knows about the typed or picked model family."""
        found = self.current_vendor().capabilities_for(self.model.currentText())
        known = (
            {"tls12": found.tls12, "smtp_auth": found.smtp_auth, "oauth": found.oauth}
            if found is not None
            else {}
        )
        self._filling = True
        try:
            for key, choice in self._choices().items():
                if key in self._user_set:
                    continue
                value = known.get(key, Tri.UNKNOWN)
                if value is not Tri.UNKNOWN:
                    choice.set_value(value)
                    self._from_catalog.add(key)
                elif key in self._from_catalog:
                    # The catalog's answer for the previous family does not hold here.
                    choice.set_value(Tri.UNKNOWN)
                    self._from_catalog.discard(key)
                self.catalog_marks[key].setVisible(key in self._from_catalog)
        finally:
            self._filling = False
        if found is not None and self._from_catalog:
            note = self.tr("From the catalog for {vendor} {family}.").format(
                vendor=self.current_vendor().name, family=found.family
            )
            if found.note:
                note += " " + found.note
            self.catalog_note.setText(note)
            self.catalog_note.show()
        else:
            self.catalog_note.hide()

    @property
    def from_catalog(self) -> frozenset[str]:
        """The answers the catalog filled in (tls12, smtp_auth, oauth) and nobody changed."""
        return frozenset(self._from_catalog)

    def _touch(self, key: str) -> None:
        self._touched.add(key)
        self._validate()

    def _problems(self) -> dict[str, str]:
        found: dict[str, str] = {}
        name = check_label(self.name.text(), self.tr("The device's name"))
        if not name.ok:
            found["name"] = name.error
        elif (name.value or "").casefold() in self._taken:
            found["name"] = self.tr("Another device is already called “{name}”.").format(
                name=name.value
            )
        model = check_label(self.model.currentText(), self.tr("The model"), required=False)
        if not model.ok:
            found["model"] = model.error
        location = check_label(self.location.text(), self.tr("The location"), required=False)
        if not location.ok:
            found["location"] = location.error
        sender = check_email(self.sender_address.text(), domain=self._domain)
        if not sender.ok:
            found["sender"] = sender.error
        username = self.username.text().strip()
        if username:
            user = check_email(username)
            if not user.ok:
                found["username"] = user.error
        return found

    def problems(self) -> list[str]:
        return list(self._problems().values())

    def _validate(self) -> None:
        found = self._problems()
        fields: dict[str, Field] = {
            "name": self._name,
            "model": self._model,
            "location": self._location,
            "sender": self._sender,
            "username": self._username,
        }
        for key, field in fields.items():
            # An error shows once the field was left (or was filled in already), and
            # goes away as soon as the value is fine.
            if key in found and key in self._touched:
                field.error.show_error(found[key])
            else:
                field.error.clear()
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(not found)
        reason = next(iter(found.values()), "")
        self.why_not.set_status(Tone.INFO, self.tr("To save"), reason)
        self.why_not.setVisible(bool(reason))

    def accept(self) -> None:
        if self._problems():
            self._touched.update({"name", "sender", "username", "model", "location"})
            self._validate()
            return
        super().accept()


def vendor_name(vendors: Sequence[Vendor], vendor_id: str) -> str:
    for v in vendors:
        if v.id == vendor_id:
            return v.name
    return vendor_id
