"""SPF (RFC 7208): parsing, the lookup-limit walk, and merging a fix into a record.

Pure: the walk reads answers through a function and reports the names it still
needs, so `services.dns.checks` can fetch each level of includes in parallel and
walk again (a few rounds, each one network round trip):

    walk = walk_spf(domain, known.get)
    while walk.needed:
        known.update(fetch_in_parallel(walk.needed))
        walk = walk_spf(domain, known.get)

Counting follows RFC 7208 4.6.4: every include, a, mx, ptr, exists and redirect
costs one lookup, nested includes too, at most 10 in all; at most 2 of them may come
back empty ("void": no such name, or no record of the type). Terms after `all` are
never evaluated and cost nothing; `redirect` is ignored when `all` is present.
Whether a given address is authorised is not decided here: `services.dns.spf_eval`
asks pyspf, which evaluates macros, ptr and CIDR matching exactly as receivers do.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

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


# --- the lookup walk ------------------------------------------------------------------


class ProblemKind:
    """Kinds of problems the walk finds (receivers treat most as permerror)."""

    SYNTAX = "syntax"
    MULTIPLE = "multiple"  # two or more v=spf1 records at one name
    NO_RECORD = "no-record"  # include/redirect target without an SPF record
    LOOP = "loop"
    TOO_MANY_LOOKUPS = "too-many-lookups"
    TOO_MANY_VOID = "too-many-void"
    TOO_MANY_MX = "too-many-mx"
    PTR = "ptr"  # deprecated mechanism
    MACRO = "macro"  # depends on the sender: not followed
    IGNORED = "ignored"  # terms after all / redirect beside all
    DNS_ERROR = "dns-error"

    PERMERROR = frozenset(
        {SYNTAX, MULTIPLE, NO_RECORD, LOOP, TOO_MANY_LOOKUPS, TOO_MANY_VOID, TOO_MANY_MX}
    )


@dataclass(frozen=True)
class SpfProblem:
    kind: str
    text: str
    where: str = ""  # the domain whose record has it

    @property
    def is_permerror(self) -> bool:
        return self.kind in ProblemKind.PERMERROR


@dataclass(frozen=True)
class SpfNode:
    """One record in the include tree, with the lookups it costs on its own."""

    domain: str
    record: SpfRecord | None
    via: str = ""  # the term that led here ("include:x", "redirect=x"; "" at the top)
    lookups: int = 0  # terms of this record that cost a lookup
    children: tuple[SpfNode, ...] = ()

    @property
    def total_lookups(self) -> int:
        return self.lookups + sum(c.total_lookups for c in self.children)


@dataclass(frozen=True)
class SpfWalk:
    domain: str
    records: tuple[str, ...]  # every v=spf1 TXT found at the domain
    top: DnsAnswer | None  # the domain's TXT answer (None until fetched)
    tree: SpfNode | None
    lookups: int
    void_lookups: int
    problems: tuple[SpfProblem, ...]
    errors: tuple[DnsAnswer, ...]  # lookups that could not be done
    needed: frozenset[tuple[str, str]]
    includes: frozenset[str]  # every include/redirect target in the tree
    # Addresses behind a/mx terms of the top record, for the flattened alternative.
    addresses: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.needed

    @property
    def record(self) -> SpfRecord | None:
        return self.tree.record if self.tree else None

    @property
    def permerrors(self) -> tuple[SpfProblem, ...]:
        return tuple(p for p in self.problems if p.is_permerror)

    def includes_any(self, names: Iterable[str]) -> bool:
        wanted = {n.lower().rstrip(".") for n in names}
        return bool(wanted & self.includes)


class _Walker:
    def __init__(self, lookup: Lookup) -> None:
        self.lookup = lookup
        self.lookups = 0
        self.void = 0
        self.problems: list[SpfProblem] = []
        self.errors: list[DnsAnswer] = []
        self.needed: set[tuple[str, str]] = set()
        self.includes: set[str] = set()
        self.addresses: dict[str, tuple[str, ...]] = {}

    def get(self, name: str, rtype: str) -> DnsAnswer | None:
        key = (name.rstrip(".").lower(), rtype)
        answer = self.lookup(key)
        if answer is None:
            self.needed.add(key)
        elif answer.is_error:
            self.errors.append(answer)
        return answer

    def problem(self, kind: str, text: str, where: str) -> None:
        self.problems.append(SpfProblem(kind, text, where))

    def record_at(self, domain: str, via: str) -> tuple[SpfRecord | None, bool]:
        """(record, known): known is False while the TXT answer is not fetched."""
        answer = self.get(domain, "TXT")
        if answer is None:
            return None, False
        if answer.is_error:
            self.problem(ProblemKind.DNS_ERROR, answer.explain_error(), domain)
            return None, True
        found = spf_records(answer.values)
        if via and answer.is_missing:
            self.void += 1
        if not found:
            if via:
                self.problem(
                    ProblemKind.NO_RECORD,
                    tr(
                        "'{via}' points to {domain}, which has no SPF record: receivers "
                        "treat the whole record as broken (permerror)."
                    ).format(via=via, domain=domain),
                    domain,
                )
            return None, True
        if len(found) > 1:
            self.problem(
                ProblemKind.MULTIPLE,
                tr("{domain} has {n} SPF records; there must be exactly one.").format(
                    domain=domain, n=len(found)
                ),
                domain,
            )
        record = parse_spf(found[0])
        for error in record.errors:
            self.problem(ProblemKind.SYNTAX, error, domain)
        return record, True

    def visit(
        self, domain: str, record: SpfRecord, via: str, path: tuple[str, ...], top: bool
    ) -> SpfNode:
        children: list[SpfNode] = []
        own = 0
        if record.ignored_terms:
            self.problem(
                ProblemKind.IGNORED,
                tr("These terms come after 'all' and are never used: {0}").format(
                    " ".join(t.raw for t in record.ignored_terms)
                ),
                domain,
            )
        if record.all_term is not None and record.redirect is not None:
            self.problem(
                ProblemKind.IGNORED,
                tr("'{0}' is ignored because the record has an 'all' term.").format(
                    record.redirect.raw
                ),
                domain,
            )
        for term in record.evaluated_terms:
            if not term.costs_lookup:
                continue
            own += 1
            self.lookups += 1
            if term.has_macro:
                self.problem(
                    ProblemKind.MACRO,
                    tr(
                        "'{0}' depends on the sending server (SPF macro): it costs one "
                        "lookup here; what it adds is only known when mail is sent."
                    ).format(term.raw),
                    domain,
                )
                continue
            target = term.target(domain)
            if term.name in ("include", "redirect"):
                label = term.raw
                self.includes.add(target)
                if target in path:
                    self.problem(
                        ProblemKind.LOOP,
                        tr(
                            "'{term}' in {domain} leads back to {target}: an include loop "
                            "(receivers stop with permerror)."
                        ).format(term=term.raw, domain=domain, target=target),
                        domain,
                    )
                    continue
                child_record, known = self.record_at(target, label)
                if child_record is not None:
                    children.append(
                        self.visit(target, child_record, label, (*path, target), top=False)
                    )
                elif known:
                    children.append(SpfNode(target, None, label))
            elif term.name == "ptr":
                self.problem(
                    ProblemKind.PTR,
                    tr(
                        "'{0}' is deprecated (RFC 7208 5.5): it is slow and unreliable, and "
                        "some receivers ignore it. List the addresses with ip4: instead."
                    ).format(term.raw),
                    domain,
                )
            elif term.name in ("a", "exists"):
                answer = self.get(target, "A")
                if top and term.name == "a":
                    six = self.get(target, "AAAA")
                    if answer is not None and six is not None:
                        self.addresses[term.raw] = answer.values + six.values
                if answer is not None and answer.is_missing:
                    self.void += 1
            elif term.name == "mx":
                answer = self.get(target, "MX")
                if answer is None:
                    continue
                if answer.is_missing:
                    self.void += 1
                    continue
                hosts = [v.split()[-1].rstrip(".").lower() for v in answer.values]
                if len(hosts) > MAX_MX_NAMES:
                    self.problem(
                        ProblemKind.TOO_MANY_MX,
                        tr("'{0}' finds {1} mail servers; SPF allows at most 10.").format(
                            term.raw, len(hosts)
                        ),
                        domain,
                    )
                if top:
                    addresses: list[str] = []
                    complete = True
                    for host in hosts[:MAX_MX_NAMES]:
                        for rtype in ("A", "AAAA"):
                            got = self.get(host, rtype)
                            if got is None:
                                complete = False
                            else:
                                addresses.extend(got.values)
                    if complete:
                        self.addresses[term.raw] = tuple(addresses)
        return SpfNode(domain, record, via, own, tuple(children))


def walk_spf(domain: str, lookup: Lookup, *, record_text: str | None = None) -> SpfWalk:
    """Walk the SPF tree of `domain` with the answers `lookup` has.

    record_text: walk this record instead of the published one (to count a fix).
    """
    domain = domain.rstrip(".").lower()
    walker = _Walker(lookup)
    top_answer: DnsAnswer | None = None
    records: tuple[str, ...] = ()
    tree: SpfNode | None = None
    if record_text is not None:
        record = parse_spf(record_text)
        records = (record.raw,)
        for error in record.errors:
            walker.problem(ProblemKind.SYNTAX, error, domain)
        tree = walker.visit(domain, record, "", (domain,), top=True)
    else:
        top_answer = walker.get(domain, "TXT")
        if top_answer is not None and not top_answer.is_error:
            records = tuple(spf_records(top_answer.values))
            record_obj, _ = walker.record_at(domain, "")
            if record_obj is not None:
                tree = walker.visit(domain, record_obj, "", (domain,), top=True)
    if walker.lookups > MAX_LOOKUPS:
        walker.problem(
            ProblemKind.TOO_MANY_LOOKUPS,
            tr(
                "The record needs {n} DNS lookups; receivers allow at most {max} and then "
                "treat the record as broken (permerror)."
            ).format(n=walker.lookups, max=MAX_LOOKUPS),
            domain,
        )
    if walker.void > MAX_VOID_LOOKUPS:
        walker.problem(
            ProblemKind.TOO_MANY_VOID,
            tr("{n} lookups find nothing (void lookups); receivers allow at most {max}.").format(
                n=walker.void, max=MAX_VOID_LOOKUPS
            ),
            domain,
        )
    return SpfWalk(
        domain=domain,
        records=records,
        top=top_answer,
        tree=tree,
        lookups=walker.lookups,
        void_lookups=walker.void,
        problems=tuple(walker.problems),
        errors=tuple(walker.errors),
        needed=frozenset(walker.needed),
        includes=frozenset(walker.includes),
        addresses=walker.addresses,
    )


# --- building the fix -----------------------------------------------------------------


@dataclass(frozen=True)
class SpfMerge:
    record: str
    added: tuple[str, ...]  # terms added
    changed: tuple[tuple[str, str], ...]  # (old term, new term)
    replaces: tuple[str, ...]  # records this one replaces

    @property
    def changes_anything(self) -> bool:
        return bool(self.added or self.changed) or len(self.replaces) > 1


def _same_term(a: SpfTerm, b: SpfTerm) -> bool:
    return (a.name, a.value.lower(), a.cidr4, a.cidr6, a.effective_qualifier) == (
        b.name,
        b.value.lower(),
        b.cidr4,
        b.cidr6,
        b.effective_qualifier,
    )


def merge_spf(
    existing: Iterable[str],
    *,
    add_mechanisms: Iterable[str] = (),
    default_all: str = "-all",
    at_front: bool = False,
) -> SpfMerge:
    """One record that keeps every existing term and adds only what is missing.

    existing: the v=spf1 records published now (several are merged into one).
    add_mechanisms: terms that must be there, e.g. "include:spf.protection.outlook.com",
    "ip4:203.0.113.7"; each is added before the `all` term unless already present.
    A dangerous `+all` or `?all` becomes `~all`; a record with neither `all` nor
    `redirect` gets `~all` (its missing `all` meant "neutral" for everyone else).
    at_front: put the added terms first instead (needed when an existing term such as
    `-ip4:203.0.113.0/24` would match the site's address before them).
    """
    records = [parse_spf(text) for text in existing]
    replaces = tuple(r.raw for r in records)
    if not records:
        terms = [t for t in (parse_term(m)[0] for m in add_mechanisms) if t is not None]
        text = " ".join(["v=spf1", *(t.raw for t in terms), default_all])
        return SpfMerge(text, tuple(t.raw for t in terms) + (default_all,), (), ())
    # Keep the first record's order; bring in the others' terms that it lacks.
    mechanisms: list[SpfTerm] = []
    modifiers: list[SpfTerm] = []
    all_term: SpfTerm | None = None
    strictness = {"-": 0, "~": 1, "?": 2, "+": 3}
    for record in records:
        for term in record.terms:
            if term.name == "all":
                # Several records: keep the strictest ending any of them had.
                if all_term is None or (
                    strictness[term.effective_qualifier] < strictness[all_term.effective_qualifier]
                ):
                    all_term = term
            elif term.is_modifier:
                if not any(m.name == term.name for m in modifiers):
                    modifiers.append(term)
            elif not any(_same_term(term, m) for m in mechanisms):
                mechanisms.append(term)
    added: list[str] = []
    changed: list[tuple[str, str]] = []
    new_terms: list[SpfTerm] = []
    for text in add_mechanisms:
        wanted, _ = parse_term(text)
        if wanted is None or any(_same_term(wanted, m) for m in mechanisms):
            continue
        new_terms.append(wanted)
        added.append(wanted.raw)
    mechanisms = [*new_terms, *mechanisms] if at_front else [*mechanisms, *new_terms]
    has_redirect = any(m.name == "redirect" for m in modifiers)
    if all_term is not None and all_term.effective_qualifier in "+?":
        safer = replace(all_term, raw="~all", qualifier="~")
        changed.append((all_term.raw, safer.raw))
        all_term = safer
    elif all_term is None and not has_redirect:
        all_term = SpfTerm("~all", "all", "~")
        added.append("~all")
    parts = ["v=spf1", *(m.raw for m in mechanisms)]
    if all_term is not None:
        parts.append(all_term.raw)
    parts.extend(m.raw for m in modifiers)
    return SpfMerge(" ".join(parts), tuple(added), tuple(changed), replaces)


def flatten_own_terms(record_text: str, addresses: dict[str, tuple[str, ...]]) -> str | None:
    """The record with its a/mx terms replaced by the addresses they name now.

    Saves one lookup per term (each also hides a second-level lookup for mx). Returns
    None when nothing could be flattened. The caller says the addresses must be kept
    up to date by hand.
    """
    record = parse_spf(record_text)
    parts = ["v=spf1"]
    changed = False
    for term in record.terms:
        found = addresses.get(term.raw)
        if term.name in ("a", "mx") and not term.has_macro and found is not None:
            # A term whose names have no address matches nothing: it goes entirely.
            changed = True
            for address in dict.fromkeys(found):
                is_v6 = ":" in address
                prefix = term.cidr6 if is_v6 else term.cidr4
                kind = "ip6" if is_v6 else "ip4"
                suffix = f"/{prefix}" if prefix is not None else ""
                part = f"{term.qualifier}{kind}:{address}{suffix}"
                if part not in parts:
                    parts.append(part)
        elif term.name == "ptr":
            changed = True  # deprecated: dropping it is the advice anyway
        else:
            parts.append(term.raw)
    return " ".join(parts) if changed else None


def largest_includes(tree: SpfNode | None, count: int = 2) -> list[tuple[str, int]]:
    """The top-level includes that cost the most lookups: candidates to move away."""
    if tree is None:
        return []
    costs = [(c.domain, 1 + c.total_lookups) for c in tree.children]
    return sorted(costs, key=lambda item: -item[1])[:count]
