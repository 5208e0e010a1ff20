"""Building an SPF fix: merging the terms a method needs into the domain's record."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from wizard.core.dns.spf import SpfTerm, parse_spf, parse_term
from wizard.core.dns.spf_walk import SpfNode


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
