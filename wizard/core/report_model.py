"""The setup report's content: plain data, painted by wizard/export/report.py.

Every section is optional. The wizard fills a section once its step has run (tenant
check, changes, DNS, test message); a section left as None is printed as "not run",
never with invented data. An empty tuple means the step ran and found nothing, e.g.
no change was needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from wizard.core.advisor import Assessment
from wizard.core.i18n import tr
from wizard.core.journal import (
    ChangeOutcome,
    EntryKind,
    EntryOutcome,
    Journal,
    change_outcome,
)
from wizard.core.methods import METHOD_INFO, RELAY_METHODS, Method
from wizard.core.profile import SiteProfile
from wizard.core.relay_host import RelayHost
from wizard.core.retirement import TIMELINE, DateToRemember


@dataclass(frozen=True)
class TenantInfo:
    name: str
    tenant_id: str
    domain: str


@dataclass(frozen=True)
class MethodChoice:
    method: Method
    title: str
    reasons: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    @classmethod
    def from_assessment(cls, assessment: Assessment) -> MethodChoice:
        return cls(
            assessment.method,
            METHOD_INFO[assessment.method].title,
            assessment.reasons,
            assessment.warnings,
        )

    @classmethod
    def without_reasons(cls, method: Method) -> MethodChoice:
        """A method read from a profile, when the advisor's reasons are not at hand."""
        return cls(method, METHOD_INFO[method].title, ())


class ChangeResult(StrEnum):
    APPLIED = "applied"
    UNCHANGED = "unchanged"  # already as wanted: nothing was done
    FAILED = "failed"
    SKIPPED = "skipped"  # the user chose not to apply it


@dataclass(frozen=True)
class AppliedChange:
    title: str  # plain words: "Allow SMTP AUTH for scanner@contoso.com"
    powershell: str  # the equivalent command, for the record
    result: ChangeResult
    detail: str = ""


class CheckStatus(StrEnum):
    OK = "ok"
    WARNING = "warning"
    FAILED = "failed"
    NOT_RUN = "not-run"


@dataclass(frozen=True)
class DnsResult:
    check: str  # "SPF", "DMARC", ...
    status: CheckStatus
    summary: str
    fix: str = ""  # the record to publish, when something is open

    @property
    def open(self) -> bool:
        return self.status in (CheckStatus.WARNING, CheckStatus.FAILED) and bool(self.fix)


@dataclass(frozen=True)
class SmtpTestOutcome:
    passed: bool
    verdict: str  # plain words
    when: datetime | None = None
    transcript: tuple[str, ...] = ()  # a short, redacted summary: a few key lines


@dataclass(frozen=True)
class PrinterLine:
    name: str
    vendor: str  # the vendor catalog's id, as in the profile
    model: str
    location: str


@dataclass(frozen=True)
class SetupReport:
    site_name: str
    domain: str
    generated: date
    printers: tuple[PrinterLine, ...] = ()
    tenant: TenantInfo | None = None
    method: MethodChoice | None = None
    changes: tuple[AppliedChange, ...] | None = None
    dns: tuple[DnsResult, ...] | None = None
    test: SmtpTestOutcome | None = None
    dates: tuple[DateToRemember, ...] = field(default=TIMELINE)
    # Direct send and connector relay: the device-facing host and where it came from.
    relay_host: RelayHost | None = None

    @property
    def open_dns_fixes(self) -> tuple[DnsResult, ...]:
        return tuple(r for r in self.dns or () if r.open)

    @classmethod
    def for_profile(
        cls,
        profile: SiteProfile,
        today: date,
        *,
        tenant: TenantInfo | None = None,
        assessment: Assessment | None = None,
        changes: tuple[AppliedChange, ...] | None = None,
        dns: tuple[DnsResult, ...] | None = None,
        test: SmtpTestOutcome | None = None,
        relay_host: RelayHost | None = None,
    ) -> SetupReport:
        """A report for a site profile; the sections not passed stay "not run"."""
        method: MethodChoice | None = None
        if assessment is not None:
            method = MethodChoice.from_assessment(assessment)
        elif profile.method is not None:
            method = MethodChoice.without_reasons(profile.method)
        return cls(
            site_name=profile.site.name,
            domain=profile.site.domain,
            generated=today,
            printers=tuple(
                PrinterLine(p.name, p.vendor, p.model, p.location) for p in profile.printers
            ),
            tenant=tenant,
            method=method,
            changes=changes,
            dns=dns,
            test=test,
            relay_host=relay_host if profile.method in RELAY_METHODS else None,
        )


_CHANGE_RESULTS: dict[ChangeOutcome, ChangeResult] = {
    ChangeOutcome.APPLIED: ChangeResult.APPLIED,
    ChangeOutcome.ALREADY_DONE: ChangeResult.UNCHANGED,
    ChangeOutcome.FAILED: ChangeResult.FAILED,
    ChangeOutcome.SKIPPED: ChangeResult.SKIPPED,
}
_DNS_STATUS: dict[EntryOutcome, CheckStatus] = {
    EntryOutcome.OK: CheckStatus.OK,
    EntryOutcome.INFO: CheckStatus.OK,
    EntryOutcome.ATTENTION: CheckStatus.WARNING,
    EntryOutcome.FAILED: CheckStatus.FAILED,
}


def report_from_journal(
    profile: SiteProfile,
    today: date,
    journal: Journal,
    *,
    assessment: Assessment | None = None,
    relay_host: RelayHost | None = None,
) -> SetupReport:
    """The setup report drawn from the session journal (and the profile's history):
    each section from the latest entry of its kind; a step with no entry stays "not
    run"."""
    tenant: TenantInfo | None = None
    read = journal.last(EntryKind.TENANT_READ)
    if read is not None:
        values = {item.label: item.value for item in read.items}
        tenant = TenantInfo(
            values.get(tr("Organisation"), ""),
            values.get(tr("Tenant ID"), ""),
            values.get(tr("Domain"), profile.site.domain),
        )
    changes: tuple[AppliedChange, ...] | None = None
    made = journal.changes()
    if made:
        latest: dict[str, AppliedChange] = {}
        for entry in made:
            outcome = change_outcome(entry) or ChangeOutcome.APPLIED
            # The same change run twice (a retry) is reported once, as it ended.
            latest[entry.title] = AppliedChange(
                entry.title, entry.command, _CHANGE_RESULTS[outcome], entry.detail
            )
        changes = tuple(latest.values())
    dns: tuple[DnsResult, ...] | None = None
    checked = journal.last(EntryKind.DNS_CHECKED)
    if checked is not None:
        dns = tuple(
            DnsResult(item.label, _DNS_STATUS[item.outcome], item.value, item.fix)
            for item in checked.items
        )
    test: SmtpTestOutcome | None = None
    record = journal.last_test()
    if record is not None:
        verdict = record.verdict
        if record.delivery:
            verdict = tr("{verdict} Message trace: {reference} {delivery}.").format(
                verdict=verdict, reference=record.reference, delivery=record.delivery
            )
        else:
            verdict = tr("{verdict} Reference {reference}.").format(
                verdict=verdict, reference=record.reference
            )
        # In local time: the report prints the time as it reads it.
        test = SmtpTestOutcome(record.passed, verdict, record.when.astimezone())
    return SetupReport.for_profile(
        profile,
        today,
        tenant=tenant,
        assessment=assessment,
        changes=changes,
        dns=dns,
        test=test,
        relay_host=relay_host,
    )


def date_status(item: DateToRemember, today: date) -> str:
    """'passed' or 'in N days', for the dates table."""
    days = (item.day - today).days
    if days < 0:
        return tr("passed")
    if days == 0:
        return tr("today")
    return tr("in {n} days").format(n=days)
