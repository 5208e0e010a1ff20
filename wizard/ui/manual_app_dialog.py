"""The portal steps to register the mailbox-test app by hand, each value copyable.

The same app `services.app_registration` makes through Graph (M365-FACTS.md,
corrections): a multi-tenant public client, redirect http://localhost, public client
flows on, delegated SMTP.Send on Office 365 Exchange Online plus offline_access and
User.Read on Microsoft Graph, admin consent in the tenant.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from wizard.core.clouds import Cloud, CloudId
from wizard.services.app_registration import DISPLAY_NAME
from wizard.ui.settings import remember_dialog_size
from wizard.ui.widgets.copy import CopyButton
from wizard.ui.widgets.labels import HintLabel


class ManualAppSteps(QDialog):
    def __init__(self, cloud: Cloud, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Register the app for the OAuth test yourself"))
        layout = QVBoxLayout(self)
        where = (
            "https://entra.microsoft.com"
            if cloud.id in (CloudId.WORLDWIDE, CloudId.GCC)
            else self.tr("the Microsoft Entra admin center of your cloud ({name})").format(
                name=cloud.name
            )
        )
        intro = HintLabel(
            self.tr(
                "Sign in to {where} as a Global Administrator (or Application "
                "Administrator) of this tenant, then:"
            ).format(where=where),
            self,
        )
        layout.addWidget(intro)
        grid = QGridLayout()
        steps: list[tuple[str, str | None]] = [
            (self.tr("1. Identity > Applications > App registrations > New registration."), None),
            (self.tr("Name:"), DISPLAY_NAME),
            (
                self.tr(
                    "Supported account types: Accounts in any organizational directory "
                    "(multitenant)."
                ),
                None,
            ),
            (
                self.tr("Redirect URI: platform 'Public client/native (mobile & desktop)':"),
                "http://localhost",
            ),
            (
                self.tr(
                    "2. Authentication > Advanced settings > Allow public client flows: Yes, "
                    "then Save."
                ),
                None,
            ),
            (
                self.tr(
                    "3. API permissions > Add a permission > APIs my organization uses > "
                    "Office 365 Exchange Online > Delegated permissions:"
                ),
                "SMTP.Send",
            ),
            (
                self.tr("Add a permission > Microsoft Graph > Delegated permissions:"),
                "offline_access User.Read",
            ),
            (self.tr("Then: Grant admin consent for your organisation."), None),
            (
                self.tr(
                    "4. Overview: copy the Application (client) ID and paste it into 'App for "
                    "the OAuth test message'. Each cloud needs its own registration."
                ),
                None,
            ),
        ]
        for row, (text, value) in enumerate(steps):
            label = QLabel(text, self)
            label.setWordWrap(True)
            grid.addWidget(label, row, 0)
            if value is not None:
                shown = QLabel(value, self)
                shown.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                grid.addWidget(shown, row, 1)
                grid.addWidget(CopyButton(value, text, self), row, 2)
        grid.setColumnStretch(0, 1)
        layout.addLayout(grid)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        remember_dialog_size(self, "manualAppSteps", QSize(720, self.sizeHint().height()))
