"""The session journal: everything the wizard read, changed, checked and sent, once.

Pure data. The session (wizard/ui/session.py) adds an entry when a result arrives:
the tenant read, each change applied (with its PowerShell line), the DNS check, each
test message (its RW- reference and verdict) and what the message trace said, the
sheets and reports exported. The Summary, the setup report, each printer's sheet and
the site profile's history all read from it, so they cannot disagree with what
happened. No field may hold a secret: entries are built from values the wizard
already shows (PowerShell lines are printed without secrets, transcripts redacted).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from wizard.core.dns.model import CheckStatus as DnsStatus
from wizard.core.dns.model import DnsReport
from wizard.core.i18n import tr
from wizard.core.steps import WizardStep
from wizard.core.tenant import TenantSnapshot
from wizard.core.transcript import SmtpTestResult

if TYPE_CHECKING:
    # The plan (and the findings, through it) read the site profile, which keeps
    # journal entries: named here only, never imported at run time.
    from wizard.core.findings import Finding
    from wizard.core.plan import Change

# A profile keeps the most recent entries only: a history, not an archive.
HISTORY_LIMIT = 200


class EntryKind(StrEnum):
    SIGNED_IN = "signed-in"
    TENANT_READ = "tenant-read"
    CHANGE = "change"
    DNS_CHECKED = "dns-checked"
    TEST_SENT = "test-sent"
    TRACE = "trace"
    TROUBLESHOOT = "troubleshoot"  # Troubleshoot's checks of one device
    AUDIT = "audit"  # the relay audit of a tenant
    SHEETS_EXPORTED = "sheets-exported"
    REPORT_EXPORTED = "report-exported"


class EntryOutcome(StrEnum):
    OK = "ok"
    ATTENTION = "attention"  # done, but something is left to do
    FAILED = "failed"
    INFO = "info"  # neither good nor bad (e.g. a trace that is still pending)

    @property
    def label(self) -> str:
        return {
            EntryOutcome.OK: tr("Done"),
            EntryOutcome.ATTENTION: tr("Needs attention"),
            EntryOutcome.FAILED: tr("Failed"),
            EntryOutcome.INFO: tr("Noted"),
        }[self]


@dataclass(frozen=True)
class JournalItem:
    """One line inside an entry: a DNS check, a fact read from the tenant."""

    label: str
    value: str
    outcome: EntryOutcome = EntryOutcome.INFO
    fix: str = ""  # e.g. the DNS record to publish


@dataclass(frozen=True)
class JournalEntry:
    at: datetime  # timezone-aware
    kind: EntryKind
    step: WizardStep | None  # the step it belongs to; None for the side paths
    outcome: EntryOutcome
    title: str  # plain words: "Created connector 'Relay Wizard - Main office'"
    detail: str = ""
    command: str = ""  # the PowerShell equivalent of a change
    reference: str = ""  # a test message's RW- token
    device: str = ""  # the printer a test or sheet was for
    items: tuple[JournalItem, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "at": self.at.astimezone(UTC).isoformat(),
            "kind": str(self.kind),
            "step": str(self.step) if self.step is not None else None,
            "outcome": str(self.outcome),
            "title": self.title,
        }
        for key, value in (
            ("detail", self.detail),
            ("command", self.command),
            ("reference", self.reference),
            ("device", self.device),
        ):
            if value:
                data[key] = value
        if self.items:
            data["items"] = [
                {"label": i.label, "value": i.value, "outcome": str(i.outcome), "fix": i.fix}
                for i in self.items
            ]
        return data


def entry_from_json(data: Any) -> JournalEntry | None:
    """An entry read from a profile; None for one this version cannot read (skipped,
    so a history never stops a profile from opening)."""
    if not isinstance(data, Mapping):
        return None
    try:
        at = datetime.fromisoformat(str(data["at"]))
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        items = []
        for raw in data.get("items", ()) or ():
            if isinstance(raw, Mapping):
                items.append(
                    JournalItem(
                        str(raw.get("label", "")),
                        str(raw.get("value", "")),
                        EntryOutcome(str(raw.get("outcome", "info"))),
                        str(raw.get("fix", "")),
                    )
                )
        return JournalEntry(
            at=at,
            kind=EntryKind(str(data["kind"])),
            step=WizardStep(str(data["step"])) if data.get("step") is not None else None,
            outcome=EntryOutcome(str(data["outcome"])),
            title=str(data.get("title", "")),
            detail=str(data.get("detail", "")),
            command=str(data.get("command", "")),
            reference=str(data.get("reference", "")),
            device=str(data.get("device", "")),
            items=tuple(items),
        )
    except (KeyError, ValueError, TypeError):
        return None


@dataclass(frozen=True)
class TestRecord:
    """A device's last test message as the sheets and the report tell it."""

    reference: str
    when: datetime
    passed: bool
    verdict: str
    delivery: str = ""  # what the message trace said, when it was asked

    @property
    def summary(self) -> str:
        """One line for a sheet: "RW-… delivered", "RW-… refused: …"."""
        if self.delivery:
            return f"{self.reference} {self.delivery}"
        return f"{self.reference}: {self.verdict}"


@dataclass(frozen=True)
class Journal:
    entries: tuple[JournalEntry, ...] = field(default=())

    def add(self, entry: JournalEntry) -> Journal:
        """`entry` at the end. A tenant read that found what the last read found
        replaces it: pages read the tenant on every visit, and a record of the same
        answer again and again would crowd out what was done."""
        entries = self.entries
        if entry.kind is EntryKind.TENANT_READ:
            last = self.last(EntryKind.TENANT_READ)
            if last is not None and replace(last, at=entry.at) == entry:
                entries = tuple(e for e in entries if e is not last)
        return replace(self, entries=(*entries, entry))

    def __len__(self) -> int:
        return len(self.entries)

    def of_kind(self, kind: EntryKind) -> tuple[JournalEntry, ...]:
        return tuple(e for e in self.entries if e.kind is kind)

    def last(self, kind: EntryKind, *, device: str | None = None) -> JournalEntry | None:
        for entry in reversed(self.entries):
            if entry.kind is kind and (device is None or entry.device == device):
                return entry
        return None

    def changes(self) -> tuple[JournalEntry, ...]:
        return self.of_kind(EntryKind.CHANGE)

    def step_outcome(self, step: WizardStep) -> EntryOutcome | None:
        """How the step's last recorded result went (None: nothing recorded)."""
        for entry in reversed(self.entries):
            if entry.step is step and entry.kind is not EntryKind.TRACE:
                return entry.outcome
        return None

    def last_test(self, device: str | None = None) -> TestRecord | None:
        """The last test (of `device`, or any), with what the trace said about it."""
        test = self.last(EntryKind.TEST_SENT, device=device)
        if test is None:
            return None
        delivery = ""
        failed = False
        for entry in reversed(self.entries):
            if entry.kind is EntryKind.TRACE and entry.reference == test.reference:
                delivery = entry.title
                failed = entry.outcome in (EntryOutcome.FAILED, EntryOutcome.ATTENTION)
                break
        passed = test.outcome is EntryOutcome.OK and not failed
        return TestRecord(test.reference, test.at, passed, test.title, delivery)

    def merged_into(self, history: Iterable[JournalEntry]) -> tuple[JournalEntry, ...]:
        """`history` followed by this journal's entries not in it yet, newest kept."""
        old = tuple(history)
        known = set(old)
        merged = old + tuple(e for e in self.entries if e not in known)
        return merged[-HISTORY_LIMIT:]


# Building entries from what the wizard learned --------------------------------------


def tenant_read(snapshot: TenantSnapshot, domain: str, at: datetime) -> JournalEntry:
    def switch(value: bool | None, off: str, on: str) -> str:
        return tr("unknown") if value is None else (off if value else on)

    items = [
        JournalItem(tr("Organisation"), snapshot.display_name),
        JournalItem(tr("Tenant ID"), snapshot.tenant_id),
        JournalItem(tr("Domain"), domain),
        JournalItem(
            tr("SMTP AUTH (tenant)"),
            switch(snapshot.smtp_auth_disabled, tr("off"), tr("on")),
        ),
        JournalItem(
            tr("Reject direct send"),
            switch(snapshot.reject_direct_send, tr("on"), tr("off")),
        ),
        JournalItem(tr("Connectors"), str(len(snapshot.connectors))),
    ]
    accepted = snapshot.is_accepted(domain) if domain else True
    return JournalEntry(
        at=snapshot.read_at or at,
        kind=EntryKind.TENANT_READ,
        step=WizardStep.TENANT,
        outcome=EntryOutcome.OK if accepted else EntryOutcome.ATTENTION,
        title=tr("Read the tenant {name}").format(name=snapshot.display_name),
        detail="" if accepted else tr("{domain} is not an accepted domain.").format(domain=domain),
        items=tuple(items),
    )


class ChangeOutcome(StrEnum):
    APPLIED = "applied"
    ALREADY_DONE = "already-done"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def label(self) -> str:
        return {
            ChangeOutcome.APPLIED: tr("Applied"),
            ChangeOutcome.ALREADY_DONE: tr("Already as wanted"),
            ChangeOutcome.FAILED: tr("Failed"),
            ChangeOutcome.SKIPPED: tr("Left as it is"),
        }[self]


# The item of a change entry that keeps its ChangeOutcome (a stable key, not shown).
RESULT_LABEL = "result"


def change_outcome(entry: JournalEntry) -> ChangeOutcome | None:
    for item in entry.items:
        if item.label == RESULT_LABEL:
            try:
                return ChangeOutcome(item.value)
            except ValueError:
                return None
    return None


def change_made(
    change: Change, outcome: ChangeOutcome, at: datetime, detail: str = ""
) -> JournalEntry:
    tone = {
        ChangeOutcome.APPLIED: EntryOutcome.OK,
        ChangeOutcome.ALREADY_DONE: EntryOutcome.OK,
        ChangeOutcome.FAILED: EntryOutcome.FAILED,
        ChangeOutcome.SKIPPED: EntryOutcome.ATTENTION,
    }[outcome]
    return JournalEntry(
        at=at,
        kind=EntryKind.CHANGE,
        step=WizardStep.PLAN,
        outcome=tone,
        title=change.title,
        detail=detail,
        command=change.powershell,
        items=(JournalItem(RESULT_LABEL, str(outcome), tone),),
    )


_DNS_OUTCOMES: dict[DnsStatus, EntryOutcome] = {
    DnsStatus.PASS: EntryOutcome.OK,
    DnsStatus.WARNING: EntryOutcome.ATTENTION,
    DnsStatus.FAIL: EntryOutcome.FAILED,
    DnsStatus.INFO: EntryOutcome.INFO,
    DnsStatus.ERROR: EntryOutcome.ATTENTION,
}


def dns_checked(report: DnsReport, at: datetime) -> JournalEntry:
    items = []
    for check in report.checks:
        fix = check.fix
        fix_text = f"{fix.name} {fix.rtype} {fix.value}" if fix is not None else ""
        items.append(JournalItem(check.title, check.summary, _DNS_OUTCOMES[check.status], fix_text))
    problems = sum(1 for c in report.checks if c.status.is_problem)
    outcome = EntryOutcome.OK if not problems else EntryOutcome.ATTENTION
    title = (
        tr("DNS of {domain}: all checks passed").format(domain=report.domain)
        if not problems
        else tr("DNS of {domain}: {n} to fix").format(domain=report.domain, n=problems)
    )
    return JournalEntry(
        at=at,
        kind=EntryKind.DNS_CHECKED,
        step=WizardStep.DNS,
        outcome=outcome,
        title=title,
        items=tuple(items),
    )


def test_sent(result: SmtpTestResult, device: str) -> JournalEntry:
    return JournalEntry(
        at=result.started,
        kind=EntryKind.TEST_SENT,
        step=WizardStep.TEST,
        outcome=EntryOutcome.OK if result.sent else EntryOutcome.FAILED,
        title=result.verdict.title,
        detail=result.verdict.fix if not result.sent else "",
        reference=result.token,
        device=device,
        items=(
            JournalItem(tr("Server"), f"{result.endpoint.host}:{result.endpoint.port}"),
            JournalItem(tr("From"), result.sender),
            JournalItem(tr("To"), ", ".join(result.recipients)),
        ),
    )


def trace_followed(
    reference: str, delivery: str, outcome: EntryOutcome, detail: str, at: datetime, device: str
) -> JournalEntry:
    """`delivery`: a lower-case word for the sheets: "delivered", "failed", "pending"."""
    return JournalEntry(
        at=at,
        kind=EntryKind.TRACE,
        step=WizardStep.TEST,
        outcome=outcome,
        title=delivery,
        detail=detail,
        reference=reference,
        device=device,
    )


def exported(kind: EntryKind, names: Iterable[str], at: datetime, detail: str = "") -> JournalEntry:
    listed = ", ".join(names)
    title = (
        tr("Exported the sheets: {names}").format(names=listed)
        if kind is EntryKind.SHEETS_EXPORTED
        else tr("Exported the setup report: {names}").format(names=listed)
    )
    return JournalEntry(
        at=at,
        kind=kind,
        step=WizardStep.SHEETS,
        outcome=EntryOutcome.OK,
        title=title,
        detail=detail,
    )


def findings_checked(
    kind: EntryKind, subject: str, findings: Iterable[Finding], at: datetime
) -> JournalEntry:
    """Troubleshoot's checks of a device, or an audit of a tenant: what needs action."""
    needing = [f for f in findings if f.needs_action]
    what = tr("Troubleshoot") if kind is EntryKind.TROUBLESHOOT else tr("Relay audit")
    if needing:
        title = tr("{what} of {subject}: {n} to fix, first: {first}").format(
            what=what, subject=subject, n=len(needing), first=needing[0].title
        )
    else:
        title = tr("{what} of {subject}: nothing needs action").format(what=what, subject=subject)
    return JournalEntry(
        at=at,
        kind=kind,
        step=None,
        outcome=EntryOutcome.ATTENTION if needing else EntryOutcome.OK,
        title=title,
        items=tuple(JournalItem(f.title, f.word, EntryOutcome.ATTENTION, f.fix) for f in needing),
    )


def signed_in(upn: str, tenant: str, at: datetime) -> JournalEntry:
    return JournalEntry(
        at=at,
        kind=EntryKind.SIGNED_IN,
        step=WizardStep.SIGN_IN,
        outcome=EntryOutcome.OK,
        title=tr("Signed in as {upn}").format(upn=upn),
        detail=tenant,
    )


def last_session(history: Iterable[JournalEntry]) -> tuple[JournalEntry, ...]:
    """The entries of the last day something was done (what "last time" shows)."""
    entries = tuple(history)
    if not entries:
        return ()
    day = entries[-1].at.astimezone().date()
    return tuple(e for e in entries if e.at.astimezone().date() == day)


def when_text(at: datetime) -> str:
    """'2 December 2026, 10:42' in local time, as the sheets write dates."""
    return at.astimezone().strftime("%d %B %Y, %H:%M").lstrip("0")


def entry_line(entry: JournalEntry) -> str:
    """One entry in plain words, for the Summary and "last time"."""
    if entry.kind is EntryKind.CHANGE:
        outcome = change_outcome(entry)
        label = outcome.label if outcome is not None else entry.outcome.label
        return f"{label}: {entry.title}"
    if entry.kind is EntryKind.TEST_SENT:
        return tr("Test {reference}: {verdict}").format(
            reference=entry.reference, verdict=entry.title
        )
    if entry.kind is EntryKind.TRACE:
        return tr("Message trace: {reference} {delivery}").format(
            reference=entry.reference, delivery=entry.title
        )
    return entry.title


def last_time_text(history: Iterable[JournalEntry]) -> str:
    """What was done the last time, and when ("" when nothing was recorded)."""
    entries = last_session(history)
    if not entries:
        return ""
    # Reads repeat (each page reads the tenant); the last of each is enough here.
    shown: list[str] = []
    for entry in entries:
        if entry.kind is EntryKind.TENANT_READ:
            continue
        line = entry_line(entry)
        if line not in shown:
            shown.append(line)
    if not shown:
        shown = [entry_line(entries[-1])]
    return tr("Last time, {when}: {what}.").format(
        when=when_text(entries[-1].at), what="; ".join(shown)
    )
