"""SPF (RFC 7208): parsing a record into terms (the walk is `spf_walk`, the fix `spf_merge`).

Whether a given address is authorised is not decided here: `services.dns.spf_eval`
asks pyspf, which evaluates macros, ptr and CIDR matching exactly as receivers do.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from wizard.core.dns.model import DnsAnswer
from wizard.core.i18n import tr

MAX_LOOKUPS = 10
MAX_VOID_LOOKUPS = 2
MAX_MX_NAMES = 10

DNS_MECHANISMS = frozenset({"include", "a", "mx", "ptr", "exists"})
MECHANISMS = DNS_MECHANISMS | {"all", "ip4", "ip6"}
QUALIFIERS = "+-~?"

_VERSION = re.compile(r"^v=spf1(\s|$)", re.IGNORECASE)
_MODIFIER_NAME = re.compile(r"^[a-z][a-z0-9_.\-]*$", re.IGNORECASE)
_MACRO_LETTERS = set("slodiphv")
_EXP_ONLY_MACRO_LETTERS = set("crt")
_MACRO_DELIMITERS = set(".-+,/_=")
_TOPLABEL = re.compile(r"^([a-z0-9]*[a-z][a-z0-9]*|[a-z0-9][a-z0-9-]*[a-z0-9])$", re.IGNORECASE)

Lookup = Callable[[tuple[str, str]], DnsAnswer | None]


def is_spf(text: str) -> bool:
    return bool(_VERSION.match(text.strip()))


def spf_records(txt_values: Iterable[str]) -> list[str]:
    return [t for t in txt_values if is_spf(t)]


@dataclass(frozen=True)
class SpfTerm:
    raw: str
    name: str  # lower case mechanism or modifier name
    qualifier: str = ""  # "+", "-", "~", "?" for mechanisms; "" for modifiers
    value: str = ""  # domain-spec, address or modifier value; "" when absent
    cidr4: int | None = None
    cidr6: int | None = None
    is_modifier: bool = False

    @property
    def effective_qualifier(self) -> str:
        return self.qualifier or "+"

    @property
    def costs_lookup(self) -> bool:
        return self.name in DNS_MECHANISMS or (self.is_modifier and self.name == "redirect")

    @property
    def has_macro(self) -> bool:
        return "%" in self.value

    def target(self, domain: str) -> str:
        """The name this term queries (the current domain when it names none)."""
        return (self.value or domain).rstrip(".").lower()


@dataclass(frozen=True)
class SpfRecord:
    raw: str
    terms: tuple[SpfTerm, ...]
    errors: tuple[str, ...] = ()  # syntax errors: receivers return permerror

    @property
    def mechanisms(self) -> tuple[SpfTerm, ...]:
        return tuple(t for t in self.terms if not t.is_modifier)

    @property
    def all_term(self) -> SpfTerm | None:
        return next((t for t in self.terms if t.name == "all"), None)

    @property
    def redirect(self) -> SpfTerm | None:
        return next((t for t in self.terms if t.is_modifier and t.name == "redirect"), None)

    @property
    def evaluated_terms(self) -> tuple[SpfTerm, ...]:
        """Mechanisms up to and including `all`, then redirect if there is no `all`."""
        out: list[SpfTerm] = []
        for term in self.mechanisms:
            out.append(term)
            if term.name == "all":
                return tuple(out)
        if self.redirect is not None:
            out.append(self.redirect)
        return tuple(out)

    @property
    def ignored_terms(self) -> tuple[SpfTerm, ...]:
        """Mechanisms after `all` (never evaluated)."""
        all_term = self.all_term
        if all_term is None:
            return ()
        mechs = self.mechanisms
        return mechs[mechs.index(all_term) + 1 :]


def _check_macro_string(text: str, *, allow_exp_letters: bool = False) -> str | None:
    """None when `text` is a valid macro-string (RFC 7208 7.1), else the reason."""
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "%":
            if not (0x21 <= ord(ch) <= 0x7E):
                return tr("it contains a character that SPF does not allow")
            i += 1
            continue
        if i + 1 >= len(text):
            return tr("a '%' ends it (write '%%' for a percent sign)")
        nxt = text[i + 1]
        if nxt in "%_-":
            i += 2
            continue
        if nxt != "{":
            return tr("'%{0}' is not a macro (macros look like %{{d}})").format(nxt)
        end = text.find("}", i)
        if end < 0:
            return tr("a macro '%{' is not closed")
        body = text[i + 2 : end]
        if not body:
            return tr("a macro '%{}' is empty")
        letter, rest = body[0].lower(), body[1:]
        allowed = _MACRO_LETTERS | (_EXP_ONLY_MACRO_LETTERS if allow_exp_letters else set())
        if letter not in allowed:
            return tr("'%{{{0}}}' is not a macro letter SPF knows here").format(body[0])
        j = 0
        while j < len(rest) and rest[j].isdigit():
            j += 1
        if j and int(rest[:j]) == 0:
            return tr("a macro keeps zero labels ('%{{{0}}}')").format(body)
        if j < len(rest) and rest[j].lower() == "r":
            j += 1
        if any(c not in _MACRO_DELIMITERS for c in rest[j:]):
            return tr("'%{{{0}}}' has an invalid delimiter").format(body)
        i = end + 1
    return None


def _check_domain_spec(spec: str) -> str | None:
    """None when `spec` is a valid domain-spec (macro-string domain-end)."""
    if not spec:
        return tr("the domain is missing")
    problem = _check_macro_string(spec)
    if problem:
        return problem
    if spec.endswith("}"):
        return None  # ends in a macro-expand: valid domain-end
    labels = spec.rstrip(".").split(".")
    if len(labels) < 2:
        return tr("'{0}' is not a full domain name").format(spec)
    if not _TOPLABEL.match(labels[-1]):
        return tr("'{0}' does not end in a valid top-level label").format(spec)
    if any(not label for label in labels) or any(len(label) > 63 for label in labels):
        return tr("'{0}' is not a valid domain name").format(spec)
    return None


def _split_cidr(text: str) -> tuple[str, str | None, str | None]:
    """'host/24//64' -> ('host', '24', '64')."""
    cidr6: str | None = None
    cidr4: str | None = None
    if "//" in text:
        text, cidr6 = text.split("//", 1)
    if "/" in text:
        text, cidr4 = text.rsplit("/", 1)
    return text, cidr4, cidr6


def _parse_cidr(value: str | None, maximum: int) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or (len(value) > 1 and value.startswith("0")):
        raise ValueError(value)
    number = int(value)
    if number > maximum:
        raise ValueError(value)
    return number


def parse_term(raw: str) -> tuple[SpfTerm | None, str | None]:
    """(term, None) or (None, the reason the term is invalid)."""
    text = raw
    qualifier = ""
    if text[:1] in QUALIFIERS:
        qualifier, text = text[0], text[1:]
    match = re.match(r"^([a-z][a-z0-9_.\-]*)", text, re.IGNORECASE)
    if not match:
        return None, tr("'{0}' is not an SPF term").format(raw)
    name = match.group(1).lower()
    rest = text[match.end() :]
    if rest.startswith("=") and not qualifier:
        if not _MODIFIER_NAME.match(name):
            return None, tr("'{0}' is not a valid modifier").format(raw)
        value = rest[1:]
        if name in ("redirect", "exp"):
            problem = _check_domain_spec(value)
            if problem:
                return None, tr("'{0}': {1}").format(raw, problem)
        else:
            problem = _check_macro_string(value)
            if problem:
                return None, tr("'{0}': {1}").format(raw, problem)
        return SpfTerm(raw, name, "", value, is_modifier=True), None
    if name not in MECHANISMS:
        return None, tr("'{0}' is not a mechanism SPF knows (a typo?)").format(raw)
    if name == "all":
        if rest:
            return None, tr("'{0}': 'all' takes no value").format(raw)
        return SpfTerm(raw, name, qualifier), None
    if name in ("ip4", "ip6"):
        if not rest.startswith(":"):
            return None, tr("'{0}' needs an address, e.g. {1}:203.0.113.7").format(raw, name)
        address, _, prefix = rest[1:].partition("/")
        try:
            if name == "ip4":
                ipaddress.IPv4Address(address)
                cidr = _parse_cidr(prefix or None, 32)
                return SpfTerm(raw, name, qualifier, address, cidr4=cidr), None
            ipaddress.IPv6Address(address)
            cidr = _parse_cidr(prefix or None, 128)
            return SpfTerm(raw, name, qualifier, address, cidr6=cidr), None
        except ValueError:
            return None, tr("'{0}' is not a valid address or network").format(raw)
    # include, exists, a, mx, ptr
    value = ""
    if rest.startswith(":"):
        rest = rest[1:]
        if name in ("a", "mx"):
            value, c4, c6 = _split_cidr(rest)
        else:
            value, c4, c6 = rest, None, None
        problem = _check_domain_spec(value)
        if problem:
            return None, tr("'{0}': {1}").format(raw, problem)
    elif rest.startswith("/") and name in ("a", "mx"):
        _, c4, c6 = _split_cidr(rest)
    elif rest:
        return None, tr("'{0}' is not a valid term").format(raw)
    else:
        c4 = c6 = None
    if name in ("include", "exists") and not value:
        return None, tr("'{0}' needs a domain, e.g. {1}:example.com").format(raw, name)
    try:
        cidr4 = _parse_cidr(c4, 32)
        cidr6 = _parse_cidr(c6, 128)
    except ValueError:
        return None, tr("'{0}' has an invalid prefix length").format(raw)
    return SpfTerm(raw, name, qualifier, value, cidr4, cidr6), None


def parse_spf(text: str) -> SpfRecord:
    """Parse a record; syntax errors are collected, never raised."""
    raw = text.strip()
    errors: list[str] = []
    if not is_spf(raw):
        return SpfRecord(raw, (), (tr("it does not start with 'v=spf1'"),))
    terms: list[SpfTerm] = []
    seen_modifiers: set[str] = set()
    for token in raw.split()[1:]:
        term, problem = parse_term(token)
        if problem or term is None:
            errors.append(problem or token)
            continue
        if term.is_modifier and term.name in ("redirect", "exp"):
            if term.name in seen_modifiers:
                errors.append(tr("'{0}=' appears more than once").format(term.name))
            seen_modifiers.add(term.name)
        terms.append(term)
    return SpfRecord(raw, tuple(terms), tuple(errors))
