"""Plain words for the values the pages show (answers, encryption, sign-in)."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from wizard.core.device_settings import AuthKind, Security
from wizard.core.i18n import ntr
from wizard.core.methods import Tri


def _tr(text: str) -> str:
    return QCoreApplication.translate("text", text)


def plural(context: str, one: str, many: str, n: int) -> str:
    """A count in words through Qt's numerus translation ("%n" is the count).

    A loaded translation picks the form its language needs for `n`; without one Qt
    returns the source unchanged, and English's own rule chooses `one` or `many`.
    """
    source = many.replace("%n", str(n))
    translated = QCoreApplication.translate(context, many, None, n)
    if translated and translated != source:
        return translated
    return ntr(one, many, n)


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
