"""The session journal (core): entries, what documents read from it, the profile history."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from tests.m365_helpers import profile
from wizard.core.journal import (
    HISTORY_LIMIT,
    ChangeOutcome,
    EntryKind,
    EntryOutcome,
    Journal,
    JournalEntry,
    JournalItem,
    change_outcome,
    entry_from_json,
    exported,
    last_time_text,
    trace_followed,
)
from wizard.core.methods import Method
from wizard.core.profile import SCHEMA_VERSION, profile_from_dict
from wizard.core.report_model import ChangeResult, CheckStatus, report_from_journal
from wizard.core.steps import WizardStep

AT = datetime(2026, 12, 2, 10, 42, 5, 123456, tzinfo=UTC)


def _test(reference: str, ok: bool, device: str = "Scanner", at: datetime = AT) -> JournalEntry:
    return JournalEntry(
        at=at,
        kind=EntryKind.TEST_SENT,
        step=WizardStep.TEST,
        outcome=EntryOutcome.OK if ok else EntryOutcome.FAILED,
        title="Accepted by the server" if ok else "Refused: SMTP AUTH is off",
        reference=reference,
        device=device,
    )


def _change(title: str, outcome: ChangeOutcome) -> JournalEntry:
    return JournalEntry(
        at=AT,
        kind=EntryKind.CHANGE,
        step=WizardStep.PLAN,
        outcome=EntryOutcome.FAILED if outcome is ChangeOutcome.FAILED else EntryOutcome.OK,
        title=title,
        command="Set-CASMailbox -Identity 'scanner@contoso.example' "
        "-SmtpClientAuthenticationDisabled $false",
        items=(JournalItem("result", str(outcome)),),
    )


def test_an_entry_survives_json_exactly() -> None:
    entry = replace(
        _change("Allow SMTP AUTH for the scanner", ChangeOutcome.APPLIED),
        detail="done",
        items=(JournalItem("result", "applied", EntryOutcome.OK, "fix"),),
    )
    assert entry_from_json(json.loads(json.dumps(entry.to_json()))) == entry
    assert change_outcome(entry) is ChangeOutcome.APPLIED


def test_unreadable_entries_are_skipped_not_fatal() -> None:
    assert entry_from_json({"at": "yesterday", "kind": "change"}) is None
    assert entry_from_json({"at": AT.isoformat(), "kind": "teleport", "step": "x"}) is None
    assert entry_from_json(["not", "an", "object"]) is None


def test_the_last_test_of_a_device_carries_what_the_trace_said() -> None:
    journal = (
        Journal()
        .add(_test("RW-1111", ok=False))
        .add(_test("RW-2222", ok=True))
        .add(trace_followed("RW-2222", "delivered", EntryOutcome.OK, "", AT, "Scanner"))
        .add(_test("RW-3333", ok=True, device="Other"))
    )
    record = journal.last_test("Scanner")
    assert record is not None and record.passed
    assert record.summary == "RW-2222 delivered"
    other = journal.last_test("Other")
    assert other is not None and other.summary == "RW-3333: Accepted by the server"
    assert journal.last_test("Nobody") is None
    failed = journal.add(trace_followed("RW-3333", "failed", EntryOutcome.FAILED, "", AT, "Other"))
    last = failed.last_test("Other")
    assert last is not None and not last.passed
    assert journal.step_outcome(WizardStep.TEST) is EntryOutcome.OK
    assert journal.step_outcome(WizardStep.DNS) is None


def test_merging_into_a_history_keeps_each_entry_once_and_the_newest() -> None:
    old = tuple(
        exported(EntryKind.SHEETS_EXPORTED, [f"s{i}.pdf"], AT + timedelta(seconds=i))
        for i in range(HISTORY_LIMIT)
    )
    journal = Journal((old[-1], _test("RW-9", ok=True)))
    merged = journal.merged_into(old)
    assert len(merged) == HISTORY_LIMIT
    assert merged[-1].reference == "RW-9" and merged[-2] == old[-1]
    assert merged.count(old[-1]) == 1


def test_a_version_1_profile_opens_with_no_history_and_saves_as_the_new_version() -> None:
    site = profile(Method.SMTP_AUTH)
    data = site.to_dict()
    assert data["schema_version"] == SCHEMA_VERSION == 2
    old = {key: value for key, value in data.items() if key != "history"}
    old["schema_version"] = 1
    old["history"] = [{"ignored": "in version 1"}]
    opened = profile_from_dict(old)
    assert opened == site and opened.history == ()
    written = replace(site, history=(_test("RW-1", ok=True),))
    assert profile_from_dict(json.loads(json.dumps(written.to_dict()))) == written
    # An entry a later version wrote, unknown here, is left out; the profile opens.
    raw = written.to_dict()
    raw["history"].append({"kind": "from the future"})
    assert profile_from_dict(raw).history == written.history


def test_last_time_says_what_was_done_and_when() -> None:
    day_before = AT - timedelta(days=1)
    history = (
        _test("RW-OLD", ok=False, at=day_before),
        _change("Allow SMTP AUTH for the scanner", ChangeOutcome.APPLIED),
        _test("RW-NEW", ok=True),
    )
    text = last_time_text(history)
    assert text.startswith("Last time, ")
    assert "Applied: Allow SMTP AUTH for the scanner" in text and "RW-NEW" in text
    assert "RW-OLD" not in text  # another day
    assert last_time_text(()) == ""


def test_the_setup_report_is_drawn_from_the_journal() -> None:
    site = profile(Method.SMTP_AUTH)
    empty = report_from_journal(site, date(2026, 12, 2), Journal())
    assert empty.tenant is None and empty.changes is None and empty.dns is None
    assert empty.test is None
    journal = Journal(
        (
            _change("Allow SMTP AUTH for the scanner", ChangeOutcome.FAILED),
            _change("Allow SMTP AUTH for the scanner", ChangeOutcome.APPLIED),
            JournalEntry(
                at=AT,
                kind=EntryKind.DNS_CHECKED,
                step=WizardStep.DNS,
                outcome=EntryOutcome.ATTENTION,
                title="DNS of contoso.example: 1 to fix",
                items=(
                    JournalItem("MX", "points to Microsoft 365", EntryOutcome.OK),
                    JournalItem("SPF", "missing", EntryOutcome.FAILED, "@ TXT v=spf1 …"),
                ),
            ),
            _test("RW-2222", ok=True),
            trace_followed("RW-2222", "delivered", EntryOutcome.OK, "", AT, "Scanner"),
        )
    )
    report = report_from_journal(site, date(2026, 12, 2), journal)
    assert report.changes is not None and len(report.changes) == 1  # a retry, once
    assert report.changes[0].result is ChangeResult.APPLIED
    assert report.dns is not None
    assert [(r.check, r.status) for r in report.dns] == [
        ("MX", CheckStatus.OK),
        ("SPF", CheckStatus.FAILED),
    ]
    assert report.open_dns_fixes[0].fix == "@ TXT v=spf1 …"
    assert report.test is not None and report.test.passed
    assert "RW-2222 delivered" in report.test.verdict


def test_the_same_tenant_read_again_is_kept_once_with_its_latest_time() -> None:
    read = JournalEntry(
        at=AT,
        kind=EntryKind.TENANT_READ,
        step=WizardStep.TENANT,
        outcome=EntryOutcome.OK,
        title="Read the tenant Contoso",
        items=(JournalItem("SMTP AUTH (tenant)", "off"),),
    )
    later = replace(read, at=AT + timedelta(minutes=1))
    changed = replace(read, at=AT + timedelta(minutes=2), items=(JournalItem("x", "on"),))
    journal = Journal().add(read).add(_test("RW-1", ok=True)).add(later)
    assert [e.kind for e in journal.entries] == [EntryKind.TEST_SENT, EntryKind.TENANT_READ]
    assert journal.entries[-1].at == later.at
    assert len(journal.add(changed).of_kind(EntryKind.TENANT_READ)) == 2
