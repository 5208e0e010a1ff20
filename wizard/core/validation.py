"""Input validation that returns plain-words results instead of raising into the UI."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from typing import Generic, TypeVar

import idna

from wizard.core.i18n import tr

T = TypeVar("T")


@dataclass(frozen=True)
class Validated(Generic[T]):
    """A value that passed validation (normalised), or the reason it did not."""

    value: T | None
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error

    @classmethod
    def good(cls, value: T) -> Validated[T]:
        return cls(value, "")

    @classmethod
    def bad(cls, error: str) -> Validated[T]:
        return cls(None, error)


_LDH = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_RFC1918 = (
    ipaddress.IPv4Network("10.0.0.0/8"),
    ipaddress.IPv4Network("172.16.0.0/12"),
    ipaddress.IPv4Network("192.168.0.0/16"),
)


def domain_to_ascii(domain: str) -> str:
    """IDNA (UTS 46) form of a domain that already passed `check_domain`."""
    return idna.encode(domain, uts46=True).decode("ascii")


def check_domain(text: str) -> Validated[str]:
    """A mail domain such as contoso.com or bücher.example; returns it lower-cased.

    Internationalised names are kept in their Unicode form for display; use
    `domain_to_ascii` for DNS and Exchange.
    """
    raw = unicodedata.normalize("NFC", text.strip()).rstrip(".")
    if not raw:
        return Validated.bad(tr("Enter your organisation's mail domain, e.g. contoso.com."))
    if "@" in raw:
        return Validated.bad(tr("Enter only the domain, the part after the @ (e.g. contoso.com)."))
    if any(c.isspace() for c in raw) or "/" in raw or ":" in raw:
        return Validated.bad(tr("A domain has no spaces, slashes or colons."))
    try:
        ascii_name = idna.encode(raw, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return Validated.bad(tr("'{text}' is not a valid domain name.").format(text=raw))
    labels = ascii_name.split(".")
    if len(labels) < 2:
        return Validated.bad(
            tr("'{text}' has no dot: enter the full domain, e.g. contoso.com.").format(text=raw)
        )
    if len(ascii_name) > 253 or not all(_LDH.match(label) for label in labels):
        return Validated.bad(tr("'{text}' is not a valid domain name.").format(text=raw))
    if labels[-1].isdigit():
        return Validated.bad(tr("That looks like an IP address; enter the mail domain."))
    return Validated.good(idna.decode(ascii_name).lower())


def check_email(text: str, *, domain: str | None = None) -> Validated[str]:
    """An email address; if `domain` is given the address must be in it."""
    raw = text.strip()
    if not raw:
        return Validated.bad(tr("Enter an email address, e.g. scanner@contoso.com."))
    # Imported here: its grammar takes a fifth of check-dns's start, which checks no address.
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        return Validated.bad(
            tr("'{text}' is not a valid email address: {why}").format(text=raw, why=exc)
        )
    address: str = result.normalized
    if domain is not None:
        wanted = check_domain(domain)
        if wanted.ok and wanted.value is not None:
            got = address.rpartition("@")[2].lower()
            if domain_to_ascii(got) != domain_to_ascii(wanted.value):
                return Validated.bad(
                    tr("'{address}' is not in the domain {domain}.").format(
                        address=address, domain=wanted.value
                    )
                )
    return Validated.good(address)


def check_public_ipv4(text: str) -> Validated[str]:
    """The site's public IPv4 address as Microsoft 365 sees it."""
    raw = text.strip()
    if not raw:
        return Validated.bad(tr("Enter the office's public IPv4 address, e.g. 203.0.113.7."))
    try:
        ip = ipaddress.ip_address(raw)
    except ValueError:
        return Validated.bad(tr("'{text}' is not an IPv4 address.").format(text=raw))
    if ip.version != 4:
        return Validated.bad(
            tr(
                "Microsoft 365 connectors accept IPv4 addresses only; enter the office's "
                "public IPv4 address."
            )
        )
    assert isinstance(ip, ipaddress.IPv4Address)
    if ip.is_loopback or ip.is_unspecified or ip.is_multicast or ip.is_link_local:
        return Validated.bad(tr("{ip} is not a public address.").format(ip=ip))
    if any(ip in net for net in _RFC1918):
        return Validated.bad(
            tr(
                "{ip} is a private (LAN) address. Enter the address the office has on the "
                "internet; 'Detect' finds it."
            ).format(ip=ip)
        )
    if ip in _CGNAT:
        return Validated.bad(
            tr(
                "{ip} is a carrier-grade NAT address shared with other customers of the "
                "internet provider; the office has no public IP of its own."
            ).format(ip=ip)
        )
    if ip.is_reserved or str(ip) == "255.255.255.255":
        return Validated.bad(tr("{ip} is a reserved address.").format(ip=ip))
    return Validated.good(str(ip))


def check_port(value: str | int) -> Validated[int]:
    try:
        port = int(str(value).strip())
    except ValueError:
        return Validated.bad(tr("A port is a whole number such as 587 or 25."))
    if not 1 <= port <= 65535:
        return Validated.bad(tr("A port is a number from 1 to 65535."))
    return Validated.good(port)


def check_label(
    text: str, field: str, *, required: bool = True, max_len: int = 80
) -> Validated[str]:
    """A short free-text name (site, printer, model, location)."""
    value = " ".join(text.split())
    if not value:
        if required:
            return Validated.bad(tr("{field} cannot be empty.").format(field=field))
        return Validated.good("")
    if len(value) > max_len:
        return Validated.bad(
            tr("{field} is too long ({n} characters; at most {max}).").format(
                field=field, n=len(value), max=max_len
            )
        )
    if any(unicodedata.category(c) == "Cc" for c in value):
        return Validated.bad(tr("{field} contains control characters.").format(field=field))
    return Validated.good(value)
