"""The DNS health check's data: answers, check results, fixes and the JSON schema.

Services fill `DnsAnswer`s from the wire; `core.dns.verdicts` turns them into
`CheckResult`s; the page, the CLI and the report read a `DnsReport`. The JSON form
(`report_to_json`) is the documented, versioned output of `check-dns --json`:

    {"schema_version": 1, "domain": "contoso.com", "domain_ascii": "contoso.com",
     "method": "connector" | null, "site_ip": "203.0.113.7" | null,
     "site_ip_source": "entered" | "detected" | "none", "nameserver": "system" | "H:P",
     "elapsed_seconds": 0.21, "overall": "pass|warning|fail|info|error",
     "checks": [{"id": "spf", "title": "...", "status": "fail", "summary": "...",
                 "details": ["..."], "found": ["v=spf1 ..."],
                 "fix": null | {"name": "contoso.com", "host": "@", "type": "TXT",
                                "value": "v=spf1 ...", "ttl": 3600,
                                "action": "add" | "replace", "replaces": ["..."],
                                "note": "...", "warning": "...",
                                "alternative": null | {same keys, no alternative}}}]}

Status "error" means the check could not be done (timeout, SERVFAIL, refused,
unreachable resolver, time budget used up); it never means "record missing".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from wizard.core.i18n import tr

SCHEMA_VERSION = 1
DEFAULT_TTL = 3600


# Per-answer timeout and the budget of a whole check, in seconds.
DEFAULT_QUERY_TIMEOUT = 2.5
DEFAULT_BUDGET = 10.0


class CheckStatus(StrEnum):
    PASS = "pass"
    WARNING = "warning"
    FAIL = "fail"
    INFO = "info"
    ERROR = "error"  # could not check

    @property
    def label(self) -> str:
        return {
            CheckStatus.PASS: tr("OK"),
            CheckStatus.WARNING: tr("Warning"),
            CheckStatus.FAIL: tr("Problem"),
            CheckStatus.INFO: tr("Information"),
            CheckStatus.ERROR: tr("Could not check"),
        }[self]

    @property
    def is_problem(self) -> bool:
        return self in (CheckStatus.WARNING, CheckStatus.FAIL)


# Worst first: the overall status of a report is the first one present.
_SEVERITY = (
    CheckStatus.FAIL,
    CheckStatus.ERROR,
    CheckStatus.WARNING,
    CheckStatus.INFO,
    CheckStatus.PASS,
)


def worst(statuses: Iterable[CheckStatus]) -> CheckStatus:
    present = set(statuses)
    return next((s for s in _SEVERITY if s in present), CheckStatus.PASS)


class CheckId(StrEnum):
    MX = "mx"
    SPF = "spf"
    SPF_SITE_IP = "spf-site-ip"
    SPF_LOOKUPS = "spf-lookups"
    DKIM_SELECTOR1 = "dkim-selector1"
    DKIM_SELECTOR2 = "dkim-selector2"
    DMARC = "dmarc"
    AUTODISCOVER = "autodiscover"
    SITE_IP = "site-ip"
    PTR = "ptr"
    BLOCKLISTS = "blocklists"


# The order the page and the CLI list the checks in.
CHECK_ORDER: tuple[CheckId, ...] = tuple(CheckId)

CHECK_TITLES: dict[CheckId, str] = {
    CheckId.MX: tr("Incoming mail goes to Microsoft 365 (MX)"),
    CheckId.SPF: tr("Allowed senders list (SPF record)"),
    CheckId.SPF_SITE_IP: tr("The office's IP is an allowed sender (SPF)"),
    CheckId.SPF_LOOKUPS: tr("SPF stays within 10 DNS lookups"),
    CheckId.DKIM_SELECTOR1: tr("Message signing, key 1 (DKIM selector1)"),
    CheckId.DKIM_SELECTOR2: tr("Message signing, key 2 (DKIM selector2)"),
    CheckId.DMARC: tr("What receivers do with forged mail (DMARC)"),
    CheckId.AUTODISCOVER: tr("Mail apps find their settings (Autodiscover)"),
    CheckId.SITE_IP: tr("The office's public IP address"),
    CheckId.PTR: tr("Name of the office's IP (reverse DNS, PTR)"),
    CheckId.BLOCKLISTS: tr("The office's IP is on no spam blocklist"),
}


class AnswerStatus(StrEnum):
    OK = "ok"
    NXDOMAIN = "nxdomain"  # the name does not exist
    NODATA = "nodata"  # the name exists but has no record of this type
    TIMEOUT = "timeout"
    SERVFAIL = "servfail"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"  # the resolver could not be reached at all
    BUDGET = "budget"  # not asked: the check's overall time ran out
    INVALID = "invalid"  # not a valid DNS name or an unusable answer

    @property
    def is_missing(self) -> bool:
        return self in (AnswerStatus.NXDOMAIN, AnswerStatus.NODATA)

    @property
    def is_error(self) -> bool:
        return self not in (AnswerStatus.OK, AnswerStatus.NXDOMAIN, AnswerStatus.NODATA)


@dataclass(frozen=True)
class DnsAnswer:
    """One question and what came back, in presentation form.

    values: "10 host.example." for MX, the joined text for TXT, the target for
    CNAME/PTR, the address for A/AAAA. cnames: the aliases followed to get there.
    """

    name: str
    rtype: str
    status: AnswerStatus
    values: tuple[str, ...] = ()
    cnames: tuple[str, ...] = ()
    server: str = ""
    elapsed: float = 0.0
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status is AnswerStatus.OK and bool(self.values)

    @property
    def is_missing(self) -> bool:
        return self.status.is_missing or (self.status is AnswerStatus.OK and not self.values)

    @property
    def is_error(self) -> bool:
        return self.status.is_error

    def explain_error(self) -> str:
        """Plain words for an answer that is an error (not for missing records)."""
        where = f"{self.name} ({self.rtype})"
        texts = {
            AnswerStatus.TIMEOUT: tr(
                "The DNS server did not answer in time for {where}. This says nothing "
                "about whether the record exists."
            ),
            AnswerStatus.SERVFAIL: tr(
                "The DNS server failed to answer for {where} (SERVFAIL): the domain's "
                "DNS servers may be down or misconfigured (for example broken DNSSEC)."
            ),
            AnswerStatus.REFUSED: tr(
                "The DNS server refused to answer for {where} (REFUSED): it does not "
                "serve that name for this computer."
            ),
            AnswerStatus.UNREACHABLE: tr(
                "The DNS server could not be reached while asking for {where}: check "
                "the network connection or the DNS server setting."
            ),
            AnswerStatus.BUDGET: tr(
                "{where} was not asked: the check's time limit ran out, most likely "
                "because other names timed out."
            ),
            AnswerStatus.INVALID: tr("{where} is not a valid DNS name or the answer was unusable."),
        }
        text = texts.get(self.status, tr("{where}: no error."))
        return text.format(where=where)


@dataclass(frozen=True)
class RecordFix:
    """The exact record to publish at the domain's DNS host."""

    name: str  # absolute, without the final dot, in ASCII (IDNA) form as DNS needs it
    host: str  # relative to the domain, as DNS hosting panels ask: "@", "_dmarc"
    rtype: str
    value: str
    ttl: int = DEFAULT_TTL
    action: str = "add"  # "add" or "replace"
    replaces: tuple[str, ...] = ()
    note: str = ""
    warning: str = ""
    alternative: RecordFix | None = None

    def zone_line(self) -> str:
        """The record as a zone-file line (what many DNS panels accept pasted)."""
        value = self.value
        if self.rtype == "TXT":
            value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return f"{self.name}. {self.ttl} IN {self.rtype} {value}"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "host": self.host,
            "type": self.rtype,
            "value": self.value,
            "ttl": self.ttl,
            "action": self.action,
            "replaces": list(self.replaces),
            "note": self.note,
            "warning": self.warning,
        }
        data["alternative"] = self.alternative.to_json() if self.alternative else None
        return data


@dataclass(frozen=True)
class CheckResult:
    id: CheckId
    status: CheckStatus
    summary: str
    details: tuple[str, ...] = ()
    fix: RecordFix | None = None
    found: tuple[str, ...] = ()  # what DNS holds now

    @property
    def title(self) -> str:
        return CHECK_TITLES[self.id]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id.value,
            "title": self.title,
            "status": self.status.value,
            "summary": self.summary,
            "details": list(self.details),
            "found": list(self.found),
            "fix": self.fix.to_json() if self.fix else None,
        }


class SiteIpSource(StrEnum):
    ENTERED = "entered"
    DETECTED = "detected"
    NONE = "none"


@dataclass(frozen=True)
class ExpectedRecords:
    """What the tenant says the records must be; None where it was not asked."""

    mx_host: str | None = None
    dkim_selector1: str | None = None
    dkim_selector2: str | None = None

    @property
    def dkim_targets(self) -> tuple[str, str] | None:
        if self.dkim_selector1 and self.dkim_selector2:
            return (self.dkim_selector1, self.dkim_selector2)
        return None


@dataclass(frozen=True)
class IpProvider:
    """A resolver-based "what is my IP" service: ask `servers` for `qname`.

    The answer is the address the question came from, as the provider's own server
    saw it, so the question must go to that server directly (not through a
    recursive resolver, which would be the one asking).
    """

    name: str
    qname: str
    rtype: str  # "A" (the address itself) or "TXT" (the address as text)
    servers: tuple[tuple[str, int], ...]
    rdclass: str = "IN"


# Stable, well-known anycast servers of each provider; configurable by the caller.
DEFAULT_IP_PROVIDERS: tuple[IpProvider, ...] = (
    IpProvider(
        "OpenDNS", "myip.opendns.com", "A", (("208.67.222.222", 53), ("208.67.220.220", 53))
    ),
    IpProvider("Google", "o-o.myaddr.l.google.com", "TXT", (("216.239.32.10", 53),)),
    IpProvider("Cloudflare", "whoami.cloudflare", "TXT", (("1.1.1.1", 53),), rdclass="CH"),
)

# Public DNS blocklists that answer anyone (small on purpose; configurable).
DEFAULT_BLOCKLISTS: tuple[str, ...] = (
    "zen.spamhaus.org",
    "bl.spamcop.net",
    "psbl.surriel.com",
)


@dataclass(frozen=True)
class DnsReport:
    domain: str  # as the user typed it (Unicode for IDN)
    domain_ascii: str
    method: str | None
    site_ip: str | None
    site_ip_source: SiteIpSource
    nameserver: str
    checks: tuple[CheckResult, ...] = ()
    elapsed: float = 0.0
    cancelled: bool = False
    notes: tuple[str, ...] = field(default=())

    @property
    def overall(self) -> CheckStatus:
        return worst(c.status for c in self.checks)

    def check(self, check_id: CheckId) -> CheckResult | None:
        return next((c for c in self.checks if c.id is check_id), None)

    @property
    def has_problems(self) -> bool:
        return any(c.status.is_problem for c in self.checks)

    @property
    def has_errors(self) -> bool:
        return any(c.status is CheckStatus.ERROR for c in self.checks)

    def fixes(self) -> list[RecordFix]:
        """Each distinct record to publish, once (the SPF fix serves several checks)."""
        seen: dict[tuple[str, str, str], RecordFix] = {}
        for check in self.checks:
            if check.fix and check.status is not CheckStatus.PASS:
                seen.setdefault((check.fix.name, check.fix.rtype, check.fix.value), check.fix)
        return list(seen.values())


def report_to_json(report: DnsReport) -> dict[str, Any]:
    ordered = sorted(report.checks, key=lambda c: CHECK_ORDER.index(c.id))
    return {
        "schema_version": SCHEMA_VERSION,
        "domain": report.domain,
        "domain_ascii": report.domain_ascii,
        "method": report.method,
        "site_ip": report.site_ip,
        "site_ip_source": report.site_ip_source.value,
        "nameserver": report.nameserver,
        "elapsed_seconds": round(report.elapsed, 3),
        "overall": report.overall.value,
        "cancelled": report.cancelled,
        "checks": [c.to_json() for c in ordered],
    }
