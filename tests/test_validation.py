from __future__ import annotations

import pytest

from wizard.core.validation import (
    check_domain,
    check_email,
    check_label,
    check_port,
    check_public_ipv4,
    domain_to_ascii,
)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("contoso.com", "contoso.com"),
        ("  Contoso.COM. ", "contoso.com"),
        ("bücher.example", "bücher.example"),
        ("xn--bcher-kva.example", "bücher.example"),
        ("mail.sub.contoso.co.uk", "mail.sub.contoso.co.uk"),
    ],
)
def test_good_domains(text: str, expected: str) -> None:
    result = check_domain(text)
    assert result.ok, result.error
    assert result.value == expected


@pytest.mark.parametrize(
    "text,fragment",
    [
        ("", "Enter"),
        ("contoso", "no dot"),
        ("scanner@contoso.com", "after the @"),
        ("contoso .com", "no spaces"),
        ("https://contoso.com", "slashes"),
        ("-bad.com", "not a valid domain"),
        ("a" * 64 + ".com", "not a valid domain"),
        ("192.168.1.10", "IP address"),
    ],
)
def test_bad_domains(text: str, fragment: str) -> None:
    result = check_domain(text)
    assert not result.ok
    assert fragment in result.error


def test_idn_ascii_form() -> None:
    assert domain_to_ascii("bücher.example") == "xn--bcher-kva.example"


def test_email_in_domain() -> None:
    assert check_email("scanner@contoso.com", domain="contoso.com").ok
    assert check_email("Scanner@Bücher.example", domain="xn--bcher-kva.example").ok
    bad = check_email("scanner@fabrikam.com", domain="contoso.com")
    assert not bad.ok and "not in the domain contoso.com" in bad.error
    assert "not a valid email" in check_email("scanner@").error
    assert "Enter an email" in check_email("  ").error


@pytest.mark.parametrize(
    "text,ok",
    [
        ("203.0.113.7", True),
        ("8.8.8.8", True),
        ("192.168.1.20", False),
        ("10.1.2.3", False),
        ("100.64.1.1", False),
        ("127.0.0.1", False),
        ("2001:db8::1", False),
        ("300.1.1.1", False),
        ("", False),
    ],
)
def test_public_ipv4(text: str, ok: bool) -> None:
    result = check_public_ipv4(text)
    assert result.ok is ok, result.error
    if not ok:
        assert result.error


def test_private_ip_message_is_helpful() -> None:
    assert "private (LAN)" in check_public_ipv4("192.168.1.20").error
    assert "carrier-grade NAT" in check_public_ipv4("100.64.1.1").error
    assert "IPv4 addresses only" in check_public_ipv4("2001:db8::1").error


@pytest.mark.parametrize(
    "text,ok", [("587", True), (25, True), ("0", False), ("65536", False), ("abc", False)]
)
def test_port(text: str | int, ok: bool) -> None:
    assert check_port(text).ok is ok


def test_label() -> None:
    assert check_label("  Front   desk ", "Name").value == "Front desk"
    assert "cannot be empty" in check_label("", "Name").error
    assert check_label("", "Model", required=False).ok
    assert "too long" in check_label("x" * 81, "Name").error
    assert "control characters" in check_label("a\x07b", "Name").error
