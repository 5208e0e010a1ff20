"""Counts in words: Qt's numerus translation first, English's rule without one."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QTranslator
from PySide6.QtWidgets import QApplication

from wizard.core.i18n import ntr
from wizard.ui.text import plural


class _Welsh(QTranslator):
    """A stand-in translation with a numerus form for one string."""

    def translate(
        self, context: str, source: str, disambiguation: str | None = None, n: int = -1
    ) -> str | None:
        if context == "WelcomePage" and source == "%n devices":
            return f"{n} dyfais" if n == 1 else f"{n} dyfeisiau"
        return None  # a null string: "not translated here"


def test_english_counts_without_a_translation(qapp: QApplication) -> None:
    assert plural("WelcomePage", "%n device", "%n devices", 1) == "1 device"
    assert plural("WelcomePage", "%n device", "%n devices", 0) == "0 devices"
    assert plural("AuditPage", "%n finding", "%n findings", 2) == "2 findings"
    assert ntr("%n account", "%n accounts", 1) == "1 account"
    assert ntr("%n account", "%n accounts", 3) == "3 accounts"


def test_a_translation_picks_its_own_form(qapp: QApplication) -> None:
    translator = _Welsh()
    assert QCoreApplication.installTranslator(translator)
    try:
        assert plural("WelcomePage", "%n device", "%n devices", 1) == "1 dyfais"
        assert plural("WelcomePage", "%n device", "%n devices", 4) == "4 dyfeisiau"
        # Other strings stay English.
        assert plural("AuditPage", "%n finding", "%n findings", 1) == "1 finding"
    finally:
        QCoreApplication.removeTranslator(translator)
