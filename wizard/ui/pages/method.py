"""Method: the advisor's ranking, with reasons, warnings and blockers; the user picks.

Blocked methods stay visible (so the user learns why they cannot be used) but cannot
be picked. The picked method is stored in the profile, and the settings a device
needs for it are shown beside the list.
"""

from __future__ import annotations

import html
from datetime import date

from PySide6.QtCore import Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QButtonGroup,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from wizard.core.advisor import Assessment
from wizard.core.clouds import device_facing
from wizard.core.device_settings import AuthKind, DeviceSettings, device_settings
from wizard.core.methods import METHOD_INFO, Method
from wizard.core.retirement import TIMELINE
from wizard.ui.messages import UserMessage
from wizard.ui.pages.base import PageId, WizardPage
from wizard.ui.server_rows import add_server_rows
from wizard.ui.style import Tone, scaled_font
from wizard.ui.text import auth_text, plural, security_text
from wizard.ui.widgets.form import mnemonic_key, with_mnemonic
from wizard.ui.widgets.labels import HintLabel, SectionTitle, StatusBadge, StatusLine
from wizard.ui.widgets.reflow import Reflow
from wizard.ui.widgets.values import ValueRows, clear_layout


def _bullets(items: tuple[str, ...] | list[str], parent: QWidget) -> QLabel:
    """A bulleted list whose wrapped lines hang under the text, not the bullet."""
    entries = "".join(f"<li>{html.escape(item)}</li>" for item in items)
    label = QLabel(f'<ul style="margin-left: 0; -qt-list-indent: 1;">{entries}</ul>', parent)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setContentsMargins(4, 0, 0, 0)
    return label


class MethodCard(QFrame):
    """One ranked method: title, badge, why it fits, what to check, what blocks it."""

    def __init__(self, assessment: Assessment, today: date, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.assessment = assessment
        info = METHOD_INFO[assessment.method]
        self.setObjectName("card")
        self.setProperty("blocked", not assessment.usable)
        self.setProperty("selected", False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(6)
        top = QHBoxLayout()
        top.setSpacing(8)
        # The title sits in its own label so it can wrap (a radio button's text
        # cannot); the label is the radio's buddy and clicking the card picks it.
        self.radio = QRadioButton(self)
        self.radio.setEnabled(assessment.usable)
        self.radio.setAccessibleName(info.title)
        self.title = QLabel(info.title, self)
        self.title.setFont(scaled_font(self.title, 1.05, bold=True))
        self.title.setWordWrap(True)
        self.title.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.title.setBuddy(self.radio)
        self.title.setEnabled(assessment.usable)
        top.addWidget(self.radio, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.title, 1)
        self.badge: StatusBadge | None = None
        if assessment.recommended:
            self.badge = StatusBadge(Tone.GOOD, self.tr("Recommended"), self)
        elif not assessment.usable:
            self.badge = StatusBadge(Tone.BAD, self.tr("Not possible here"), self)
        if self.badge is not None:
            top.addWidget(self.badge, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(top)
        short = HintLabel(f"{info.short} {info.explanation}", self)
        short.setContentsMargins(22, 0, 0, 0)
        layout.addWidget(short)
        lines = [info.title, info.short]
        if assessment.blockers:
            layout.addWidget(StatusLine(Tone.BAD, self.tr("Why it cannot be used"), "", self))
            layout.addWidget(_bullets(assessment.blockers, self))
            lines += assessment.blockers
        else:
            if assessment.reasons:
                layout.addWidget(StatusLine(Tone.GOOD, self.tr("Why it fits"), "", self))
                layout.addWidget(_bullets(assessment.reasons, self))
                lines += assessment.reasons
            if assessment.needs:
                layout.addWidget(StatusLine(Tone.INFO, self.tr("What it takes"), "", self))
                layout.addWidget(_bullets(assessment.needs, self))
                lines += assessment.needs
            if assessment.warnings:
                layout.addWidget(StatusLine(Tone.WARNING, self.tr("Check first"), "", self))
                layout.addWidget(_bullets(assessment.warnings, self))
                lines += assessment.warnings
        if assessment.method is Method.SMTP_AUTH:
            dates = [self._date_line(d.when, d.day, d.what, today) for d in TIMELINE]
            layout.addWidget(StatusLine(Tone.INFO, self.tr("Dates to remember"), "", self))
            layout.addWidget(_bullets(dates, self))
            lines += dates
        # Spare height goes below the content, not into the labels' margins.
        layout.addStretch(1)
        self.setAccessibleName(info.title)
        self.setAccessibleDescription(" ".join(lines))
        self.radio.setAccessibleDescription(" ".join(lines[1:]))

    def _date_line(self, when: str, day: date, what: str, today: date) -> str:
        days = (day - today).days
        if days > 0:
            left = plural("MethodPage", "in %n day", "in %n days", days)
        elif days == 0:
            left = self.tr("today")
        else:
            left = self.tr("passed")
        return self.tr("{when} ({left}): {what}").format(when=when, left=left, what=what)

    def set_selected(self, selected: bool) -> None:
        self.setProperty("selected", selected)
        # Dynamic properties take effect in the style sheet only after a re-polish.
        self.style().unpolish(self)
        self.style().polish(self)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self.radio.isEnabled() and event.button() == Qt.MouseButton.LeftButton:
            self.radio.setChecked(True)
            self.radio.setFocus()
        super().mousePressEvent(event)


class SettingsPreview(QWidget):
    """The values to type into the device for the picked method."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 6, 0)
        layout.setSpacing(8)
        layout.addWidget(SectionTitle(self.tr("Settings for the device"), self))
        layout.addWidget(
            HintLabel(self.tr("What to enter on the device's e-mail (SMTP) settings page."), self)
        )
        self.device = QComboBox(self)
        self.device.setAccessibleName(self.tr("Show the settings of device"))
        layout.addWidget(self.device)
        self._empty = HintLabel(self.tr("Pick a method to see the settings."), self)
        layout.addWidget(self._empty)
        self.rows = ValueRows(self, stacked=True)
        layout.addWidget(self.rows)
        self._notes = QLabel(self)
        self._notes.setWordWrap(True)
        layout.addWidget(self._notes)
        layout.addStretch(1)

    @property
    def values(self) -> dict[str, str]:
        return dict(self.rows.values)

    def show_settings(
        self, settings: DeviceSettings | None, *, pending: bool = False, sandbox: bool = False
    ) -> None:
        self.rows.clear()
        self._empty.setVisible(settings is None)
        self.rows.setVisible(settings is not None)
        self._notes.setVisible(settings is not None)
        if settings is None:
            return
        rows = self.rows
        add_server_rows(rows, settings, pending=pending)
        rows.add(self.tr("Port"), str(settings.port), copy=True)
        rows.add(self.tr("Encryption"), security_text(settings.security))
        rows.add(self.tr("Sign-in"), auth_text(settings.auth))
        if settings.auth is not AuthKind.NONE:
            rows.add(self.tr("User name"), settings.username or "", copy=True)
        if settings.auth is AuthKind.PASSWORD:
            rows.add(
                self.tr("Password"),
                self.tr("The account's password; Relay Wizard never writes it to a file."),
            )
        rows.add(self.tr("Sender (From)"), settings.sender, copy=True)
        rows.add(self.tr("Can reach"), settings.reach)
        notes = list(settings.limits) + list(settings.notes)
        if sandbox:
            notes.insert(
                0,
                self.tr(
                    "Sandbox: these are the Microsoft 365 values a real device is given; "
                    "the practice test message goes to the sandbox's own servers."
                ),
            )
        self._notes.setText("\n".join(f"•  {n}" for n in notes))


class MethodPage(WizardPage):
    page_id = PageId.METHOD
    scrolls = False

    def build(self) -> None:
        self.setTitle(self.tr("How should the devices send?"))
        self.setSubTitle(
            self.tr("Ranked for this site, best fit first. Pick the method to set up.")
        )
        row = QHBoxLayout()
        row.setSpacing(16)
        self.body_layout.addLayout(row, 1)
        self._cards_box = QWidget()
        self._cards = QVBoxLayout(self._cards_box)
        self._cards.setContentsMargins(0, 0, 6, 0)
        self._cards.setSpacing(10)
        left = QScrollArea(self.body)
        left.setWidgetResizable(True)
        left.setFrameShape(QFrame.Shape.NoFrame)
        left.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        left.setWidget(self._cards_box)
        row.addWidget(left, 11)
        self.preview = SettingsPreview()
        right = QScrollArea(self.body)
        right.setWidgetResizable(True)
        right.setFrameShape(QFrame.Shape.NoFrame)
        right.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        right.setWidget(self.preview)
        row.addWidget(right, 9)
        # Narrow (200% on a small screen): the settings go below the ranking.
        self.reflow = Reflow(self.body, row, min_chars=100)
        self.cards: list[MethodCard] = []
        self._group = QButtonGroup(self)
        self._group.buttonToggled.connect(self._toggled)
        self.preview.device.currentIndexChanged.connect(lambda _i: self._show_preview())
        # A bound method, not a lambda: the connection ends with the page.
        self.session.relayHostChanged.connect(self._relay_host_changed)

    def initializePage(self) -> None:
        """Rank again: the site, the devices, the tenant or the date may have changed."""
        self.status.clear_message()
        for card in self.cards:
            self._group.removeButton(card.radio)
        clear_layout(self._cards)
        self.cards = []
        advice = self.session.advice
        # Each method gets a mnemonic on its title (its label is the radio's buddy), so
        # Alt+letter picks it; letters another widget of the page uses are left out.
        taken = {
            key
            for widget in self.findChildren(QAbstractButton)
            if (key := mnemonic_key(widget.text()))
        }
        for assessment in advice.ranked:
            card = MethodCard(assessment, advice.today, self._cards_box)
            card.title.setText(with_mnemonic(card.title.text(), taken))
            self._group.addButton(card.radio)
            self._cards.addWidget(card)
            self.cards.append(card)
        self._cards.addStretch(1)
        printers = self.session.profile.printers
        self.preview.device.blockSignals(True)
        self.preview.device.clear()
        for p in printers:
            self.preview.device.addItem(p.name)
        self.preview.device.blockSignals(False)
        self.preview.device.setVisible(len(printers) > 1)
        chosen = self.session.profile.method
        if chosen is not None:
            assessment = advice.for_method(chosen)
            if assessment.usable:
                self.card(chosen).radio.setChecked(True)
            else:
                self.session.set_method(None)
                self.show_message(
                    UserMessage(
                        Tone.WARNING,
                        self.tr(
                            "The method saved in the profile cannot be used here now: {m}"
                        ).format(m=METHOD_INFO[chosen].title),
                        " ".join(assessment.blockers),
                        self.tr("Pick another method."),
                    )
                )
        self._show_preview()
        self.refresh_complete()

    def card(self, method: Method) -> MethodCard:
        return next(c for c in self.cards if c.assessment.method is method)

    def selected(self) -> Method | None:
        return next((c.assessment.method for c in self.cards if c.radio.isChecked()), None)

    def incomplete_reason(self) -> str | None:
        method = self.session.profile.method
        if method is None:
            return self.tr("Pick how the devices should send.")
        if not self.session.advice.for_method(method).usable:
            return self.tr("The picked method cannot be used for this site; pick another.")
        return None

    def _toggled(self, button: QRadioButton, checked: bool) -> None:
        for card in self.cards:
            if card.radio is button:
                card.set_selected(checked)
        if checked:
            self.session.set_method(self.selected())
            self._show_preview()
            self.refresh_complete()

    def _relay_host_changed(self, _host: object) -> None:
        if self.isVisible():
            self._show_preview()

    def _show_preview(self) -> None:
        method = self.selected()
        printers = self.session.profile.printers
        if method is None or not printers:
            self.preview.show_settings(None)
            return
        index = max(0, self.preview.device.currentIndex())
        printer = printers[min(index, len(printers) - 1)]
        site = self.session.profile.site
        try:
            settings = device_settings(
                method,
                # What a real device is given (in the sandbox too: its loopback
                # endpoints are for the wizard's own test message, not for a printer).
                device_facing(self.session.cloud),
                domain=site.domain,
                sender=printer.sender,
                username=printer.username,
                mx_host=self.session.relay_host(),
                tls12=printer.tls12,
                local_relay=self.session.local_relay_access().get(printer.name),
            )
        except ValueError:
            # Only a blocked method (e.g. no HVE in this cloud) has no settings, and
            # blocked methods cannot be picked.
            settings = None
        if settings is not None and settings.relay_host is not None:
            self.session.look_up_relay_host()
        self.preview.show_settings(
            settings,
            pending=self.session.relay_host_pending,
            sandbox=self.session.cloud.is_sandbox,
        )
