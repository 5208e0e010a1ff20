"""Redaction keeps what is no secret (issue 14, item 8): the closing parenthesis of a
decoded challenge and the mechanisms an EHLO answer lists; secrets still go."""

from __future__ import annotations

import pytest

from wizard.core.redact import MASK, redact


@pytest.mark.parametrize(
    "text",
    [
        "(the server asks: Password:)",
        "(the server asks: Username:)",
        "250-AUTH LOGIN PLAIN XOAUTH2",
        "250 AUTH LOGIN XOAUTH2",
        "250-AUTH PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256",
    ],
)
def test_what_is_no_secret_is_kept(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("AUTH PLAIN AGFiYwBzM2NyZXQ=", "AUTH PLAIN "),
        ("AUTH XOAUTH2 dXNlcj1hQGIBYXV0aD1CZWFyZXIgeHl6AQE=", "AUTH XOAUTH2 "),
        ("AUTH LOGIN PLAINxyz=", "AUTH LOGIN "),
        ("password=ab)cd", "password="),
        ("password: hunter2)", "password: "),
    ],
)
def test_secrets_are_still_masked(text: str, kept: str) -> None:
    assert redact(text) == kept + MASK
