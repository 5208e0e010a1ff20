"""Plain words for the values the pages show (answers, encryption, sign-in)."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from wizard.core.device_settings import AuthKind, Security
from wizard.core.methods import Tri


def _tr(text: str) -> str:
    return QCoreApplication.translate("text", text)


def tri_text(value: Tri) -> str:
    return {Tri.YES: _tr("Yes"), Tri.NO: _tr("No"), Tri.UNKNOWN: _tr("Not sure")}[value]


def security_text(value: Security) -> str:
    return {
        Security.STARTTLS: _tr("STARTTLS (encrypted; some devices call it 'TLS')"),
        Security.NONE: _tr("None (no encryption)"),
    }[value]


def auth_text(value: AuthKind) -> str:
    return {
        AuthKind.NONE: _tr("Off: the device does not sign in"),
        AuthKind.PASSWORD: _tr("On: user name and password"),
        AuthKind.OAUTH: _tr("OAuth 2.0: sign in with Microsoft on the device"),
    }[value]
