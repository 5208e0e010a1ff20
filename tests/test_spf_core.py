"""SPF parsing, the lookup walk and merging; DMARC parsing (pure core, no network)."""

from __future__ import annotations

import pytest

from wizard.core.dns.dmarc import parse_dmarc
from wizard.core.dns.model import AnswerStatus, DnsAnswer
from wizard.core.dns.spf import parse_spf
from wizard.core.dns.spf_merge import flatten_own_terms, merge_spf
from wizard.core.dns.spf_walk import ProblemKind, walk_spf


def zone(records: dict[tuple[str, str], tuple[str, ...] | AnswerStatus]):  # type: ignore[no-untyped-def]
    """A lookup over fixed answers; names not listed do not exist."""

    def lookup(key: tuple[str, str]) -> DnsAnswer:
        found = records.get(key)
        if isinstance(found, AnswerStatus):
            return DnsAnswer(key[0], key[1], found)
        if found is None:
            return DnsAnswer(key[0], key[1], AnswerStatus.NXDOMAIN)
        return DnsAnswer(key[0], key[1], AnswerStatus.OK, found)

    return lookup


@pytest.mark.parametrize(
    "record",
    [
        "v=spf1 -all",
        "v=spf1 include:spf.protection.outlook.com ip4:203.0.113.7 ~all",
        "V=SPF1 a mx/24 a:mail.example.com/28//64 ip6:2001:db8::/32 ?all",
        "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all",
        "v=spf1 redirect=_spf.example.com",
        "v=spf1 ip4:192.0.2.0/24 exp=explain._spf.%{d} -all",
        "v=spf1 include:example.com unknown-modifier=%{d} -all",
    ],
)
def test_valid_records_parse_without_errors(record: str) -> None:
    parsed = parse_spf(record)
    assert parsed.errors == (), parsed.errors


@pytest.mark.parametrize(
    "record, fragment",
    [
        ("v=spf1 ipv4:1.2.3.4 -all", "ipv4:1.2.3.4"),
        ("v=spf1 ip4:1.2.3 -all", "ip4:1.2.3"),
        ("v=spf1 ip4:1.2.3.4/33 -all", "ip4:1.2.3.4/33"),
        ("v=spf1 include: -all", "include:"),
        ("v=spf1 include:%{x}.example.com -all", "%{x}"),
        ("v=spf1 exists:%{i.example.com -all", "not closed"),
        ("v=spf1 a:example -all", "full domain"),
        ("v=spf1 redirect=a.example.com redirect=b.example.com", "more than once"),
        ("v=spf1 -all:x", "takes no value"),
    ],
)
def test_syntax_errors_are_explained(record: str, fragment: str) -> None:
    errors = " ".join(parse_spf(record).errors)
    assert fragment in errors


def test_terms_after_all_are_not_counted() -> None:
    lookup = zone({("d.example", "TXT"): ("v=spf1 -all include:x.example",)})
    walk = walk_spf("d.example", lookup)
    assert walk.lookups == 0
    assert any(p.kind == ProblemKind.IGNORED for p in walk.problems)


def test_void_lookups_over_two_are_a_permerror() -> None:
    lookup = zone(
        {
            ("d.example", "TXT"): (
                "v=spf1 a:n1.example a:n2.example mx:n3.example ip4:192.0.2.1 -all",
            )
        }
    )
    walk = walk_spf("d.example", lookup)
    assert walk.lookups == 3 and walk.void_lookups == 3
    assert [p.kind for p in walk.permerrors] == [ProblemKind.TOO_MANY_VOID]


def test_include_without_a_record_and_multiple_records() -> None:
    lookup = zone(
        {
            ("d.example", "TXT"): ("v=spf1 include:none.example include:two.example -all",),
            ("none.example", "TXT"): ("just text",),
            ("two.example", "TXT"): ("v=spf1 -all", "v=spf1 ~all"),
        }
    )
    kinds = {p.kind for p in walk_spf("d.example", lookup).permerrors}
    assert kinds == {ProblemKind.NO_RECORD, ProblemKind.MULTIPLE}


def test_a_dns_error_in_the_tree_is_not_a_missing_record() -> None:
    lookup = zone(
        {
            ("d.example", "TXT"): ("v=spf1 include:slow.example -all",),
            ("slow.example", "TXT"): AnswerStatus.TIMEOUT,
        }
    )
    walk = walk_spf("d.example", lookup)
    assert [a.name for a in walk.errors] == ["slow.example"]
    assert not any(p.kind == ProblemKind.NO_RECORD for p in walk.problems)
    assert walk.void_lookups == 0


def test_merge_adds_before_all_and_keeps_everything() -> None:
    merged = merge_spf(
        ["v=spf1 mx include:_spf.google.com ~all exp=x.%{d}"],
        add_mechanisms=["include:spf.protection.outlook.com", "ip4:203.0.113.7", "mx"],
    )
    assert merged.record == (
        "v=spf1 mx include:_spf.google.com include:spf.protection.outlook.com "
        "ip4:203.0.113.7 ~all exp=x.%{d}"
    )
    assert merged.added == ("include:spf.protection.outlook.com", "ip4:203.0.113.7")


def test_merge_keeps_redirect_and_adds_no_all_beside_it() -> None:
    merged = merge_spf(["v=spf1 redirect=_spf.example.com"], add_mechanisms=["ip4:203.0.113.7"])
    assert merged.record == "v=spf1 ip4:203.0.113.7 redirect=_spf.example.com"


def test_merge_of_a_record_without_all_adds_softfail() -> None:
    merged = merge_spf(["v=spf1 include:spf.protection.outlook.com"])
    assert merged.record == "v=spf1 include:spf.protection.outlook.com ~all"
    assert merged.changes_anything


def test_merge_with_nothing_missing_changes_nothing() -> None:
    record = "v=spf1 include:spf.protection.outlook.com ip4:203.0.113.7 -all"
    merged = merge_spf([record], add_mechanisms=["+include:spf.protection.outlook.com"])
    assert merged.record == record and not merged.changes_anything


def test_merge_at_front() -> None:
    merged = merge_spf(
        ["v=spf1 -ip4:203.0.113.0/24 ~all"], add_mechanisms=["ip4:203.0.113.7"], at_front=True
    )
    assert merged.record == "v=spf1 ip4:203.0.113.7 -ip4:203.0.113.0/24 ~all"


def test_flatten_replaces_own_terms_and_drops_empty_ones() -> None:
    flat = flatten_own_terms(
        "v=spf1 a mx/24 ptr include:x.example -all",
        {"a": ("192.0.2.1", "2001:db8::1"), "mx/24": ()},
    )
    assert flat == "v=spf1 ip4:192.0.2.1 ip6:2001:db8::1 include:x.example -all"


def test_dmarc_parsing_and_policy_change() -> None:
    record = parse_dmarc("v=DMARC1; p=none; pct=50; rua=mailto:a@example.com; adkim=s")
    assert record.errors == () and record.policy == "none" and record.pct == 50
    assert record.with_policy("quarantine") == (
        "v=DMARC1; p=quarantine; rua=mailto:a@example.com; adkim=s"
    )
    broken = parse_dmarc("v=DMARC1; p=block; rua=a@example.com")
    assert len(broken.errors) == 2
    assert parse_dmarc("v=spf1 -all").errors
