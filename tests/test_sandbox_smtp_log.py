"""The sandbox's SMTP chatter stays out of the user's log, kept at debug level."""

from __future__ import annotations

import logging
import smtplib

import pytest

from wizard.sandbox.server import Sandbox


def _talk(sandbox: Sandbox) -> None:
    mx = sandbox.smtp.mx
    with smtplib.SMTP(mx.host, mx.port, timeout=10) as client:
        client.ehlo("scanner.example")
        client.noop()


def _chatter(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "mail.log"]


def test_aiosmtpd_chatter_is_debug_only(sandbox: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        _talk(sandbox)
    assert not _chatter(caplog)
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        _talk(sandbox)
    kept = _chatter(caplog)
    assert kept, "with --verbose the chatter is still there"
    assert {r.levelno for r in kept} == {logging.DEBUG}
