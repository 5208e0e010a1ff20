"""SPF's lookup-limit walk: what a record costs in DNS lookups, and the tree of includes.

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
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from wizard.core.dns.model import DnsAnswer
from wizard.core.dns.spf import (
    MAX_LOOKUPS,
    MAX_MX_NAMES,
    MAX_VOID_LOOKUPS,
    Lookup,
    SpfRecord,
    parse_spf,
    spf_records,
)
from wizard.core.i18n import tr


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
