"""DNS verdicts: from answers to pass / warning / fail / info / error, with the fix.

Every function here is pure: `services.dns.checks` gathers the answers (and pyspf's
evaluation) and hands them over. The words say what the finding means for the
sending method the user chose.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wizard.core.clouds import Cloud, CloudId
from wizard.core.dns.dmarc import is_dmarc, parse_dmarc, policy_meaning, starting_record
from wizard.core.dns.model import (
    DEFAULT_TTL,
    AnswerStatus,
    CheckId,
    CheckResult,
    CheckStatus,
    DnsAnswer,
    ExpectedRecords,
    RecordFix,
    SiteIpSource,
)
from wizard.core.dns.spf import (
    MAX_LOOKUPS,
    MAX_VOID_LOOKUPS,
    ProblemKind,
    SpfMerge,
    SpfWalk,
    largest_includes,
)
from wizard.core.i18n import tr
from wizard.core.methods import Method
from wizard.core.relay_host import not_found_advice
from wizard.core.validation import check_public_ipv4

if TYPE_CHECKING:
    from wizard.core.tenant import TenantSnapshot

# Methods whose mail reaches Microsoft 365 from the office's own IP address.
SITE_IP_METHODS = frozenset({Method.DIRECT_SEND, Method.CONNECTOR})

_AUTODISCOVER = {
    CloudId.GCC_HIGH: "autodiscover-s.office365.us",
    # DoD has its own (DoD endpoint list; M365-FACTS.md, corrections of 2 December 2026).
    CloudId.DOD: "autodiscover-s-dod.office365.us",
    CloudId.CHINA: "autodiscover.partner.outlook.cn",
}
# Where Microsoft 365 publishes DKIM keys: the tenant's onmicrosoft domain (older
# domains) or <prefix>.<letter>-v1.dkim.mail.microsoft (domains set up since May 2025).
# The label after "selectorN-" is Microsoft's token and can carry a suffix
# (selector1-exclusive-jasonshadow-com03i._domainkey.jasonshadow.r-v1.dkim.mail.microsoft
# in a public zone), so without Get-DkimSigningConfig only the zone is judged.
_DKIM_SUFFIX = re.compile(
    r"\._domainkey\.(?:[a-z0-9-]+\.)+"
    r"(?:onmicrosoft\.com|onmicrosoft\.us|partner\.onmschina\.cn|dkim\.mail\.microsoft)$"
)


def microsoft_spf_include(cloud: Cloud) -> str:
    """spf.protection.outlook.com for the cloud (derived from its MX suffix)."""
    return "spf." + cloud.mx_suffixes[0].removeprefix("mail.")


def autodiscover_target(cloud: Cloud) -> str:
    return _AUTODISCOVER.get(cloud.id, "autodiscover.outlook.com")


def _norm(name: str) -> str:
    return name.strip().rstrip(".").lower()


def relative_host(name: str, domain_ascii: str) -> str:
    name, domain_ascii = _norm(name), _norm(domain_ascii)
    if name == domain_ascii:
        return "@"
    if name.endswith("." + domain_ascii):
        return name[: -len(domain_ascii) - 1]
    return name + "."


def _squashed(text: str) -> str:
    return re.sub(r"[.\-]", "", text.lower())


@dataclass(frozen=True)
class CheckContext:
    domain: str  # for display (Unicode form for IDN)
    domain_ascii: str  # for DNS
    method: Method | None
    cloud: Cloud
    site_ip: str | None = None
    site_ip_source: SiteIpSource = SiteIpSource.NONE
    expected: ExpectedRecords = field(default_factory=ExpectedRecords)

    @property
    def needs_site_ip(self) -> bool:
        return self.method in SITE_IP_METHODS

    @property
    def method_words(self) -> str:
        return (
            {
                Method.SMTP_AUTH_OAUTH: tr("SMTP AUTH with OAuth"),
                Method.SMTP_AUTH: tr("SMTP AUTH"),
                Method.DIRECT_SEND: tr("direct send"),
                Method.CONNECTOR: tr("connector relay"),
                Method.HVE: tr("High Volume Email"),
            }.get(self.method, tr("the method you choose"))
            if self.method
            else tr("any method")
        )

    def fix(self, name: str, rtype: str, value: str, **kwargs: object) -> RecordFix:
        """A record to publish; names stay in their ASCII (IDNA) form, as DNS needs."""
        return RecordFix(
            name=_norm(name),
            host=relative_host(name, self.domain_ascii),
            rtype=rtype,
            value=value,
            ttl=DEFAULT_TTL,
            **kwargs,  # type: ignore[arg-type]
        )


def _error(check: CheckId, answer: DnsAnswer, found: Sequence[str] = ()) -> CheckResult:
    return CheckResult(
        check,
        CheckStatus.ERROR,
        tr("Could not check: {0}").format(_short_error(answer.status)),
        (
            answer.explain_error(),
            tr("Check again in a moment; if it persists, check the DNS server setting."),
        ),
        found=tuple(found),
    )


def _short_error(status: AnswerStatus) -> str:
    return {
        AnswerStatus.TIMEOUT: tr("the DNS server did not answer in time"),
        AnswerStatus.SERVFAIL: tr("the DNS server failed (SERVFAIL)"),
        AnswerStatus.REFUSED: tr("the DNS server refused the question"),
        AnswerStatus.UNREACHABLE: tr("the DNS server cannot be reached"),
        AnswerStatus.BUDGET: tr("the time limit ran out"),
        AnswerStatus.INVALID: tr("the name or answer is invalid"),
    }.get(status, status.value)


# --- MX -------------------------------------------------------------------------------


def _mx_entries(values: Sequence[str]) -> list[tuple[int, str]]:
    entries: list[tuple[int, str]] = []
    for value in values:
        parts = value.split()
        if len(parts) == 2 and parts[0].isdigit():
            entries.append((int(parts[0]), _norm(parts[1])))
    return sorted(entries)


def _mx_for_domain(host: str, domain_ascii: str) -> bool:
    """True if a Microsoft MX host's first label is made from this domain."""
    first = host.split(".", 1)[0]
    return _squashed(first).startswith(_squashed(domain_ascii))


def mx_check(ctx: CheckContext, answer: DnsAnswer) -> CheckResult:
    expected = _norm(ctx.expected.mx_host) if ctx.expected.mx_host else None
    # Microsoft's MX token cannot be computed (M365-FACTS, corrections of 2 December
    # 2026): without the tenant's value no host is offered as a fix, only where to
    # find it.
    source_note = tr("This is the value your Microsoft 365 tenant gives for the domain.")
    where = not_found_advice(ctx.domain)
    if answer.is_error:
        return _error(CheckId.MX, answer)
    if answer.is_missing:
        return CheckResult(
            CheckId.MX,
            CheckStatus.FAIL,
            tr("No MX record: mail to {0} cannot be delivered anywhere.").format(ctx.domain),
            (
                tr("The MX record tells the world which server receives your domain's mail."),
                tr("Direct send and connector relay connect to this host, so they need it too."),
                *(() if expected else (where,)),
            ),
            ctx.fix(ctx.domain_ascii, "MX", f"0 {expected}", note=source_note)
            if expected
            else None,
        )
    entries = _mx_entries(answer.values)
    found = tuple(f"{p} {h}" for p, h in entries)
    if not entries:
        return CheckResult(
            CheckId.MX, CheckStatus.FAIL, tr("The MX record is unreadable."), (), found=found
        )
    best = entries[0][0]
    primary = [h for p, h in entries if p == best]
    microsoft = [h for _, h in entries if ctx.cloud.is_microsoft_mx(h)]
    others = [h for _, h in entries if not ctx.cloud.is_microsoft_mx(h)]
    details: list[str] = []
    if answer.cnames:
        details.append(
            tr("Reached through an alias (CNAME): {0}.").format(", ".join(answer.cnames))
        )
    replace_fix = (
        ctx.fix(
            ctx.domain_ascii,
            "MX",
            f"0 {expected}",
            action="replace",
            replaces=tuple(f"{p} {h}." for p, h in entries),
            note=source_note,
        )
        if expected
        else None
    )
    if not any(ctx.cloud.is_microsoft_mx(h) for h in primary):
        gateway = primary[0]
        ms_host = expected or (
            microsoft[0] if microsoft else tr("shown in the admin center (Settings > Domains)")
        )
        method_note = {
            Method.DIRECT_SEND: tr(
                "For direct send the device must connect to the Microsoft 365 host {ms} "
                "on port 25, not to the MX ({gw})."
            ),
            Method.CONNECTOR: tr(
                "For connector relay the device must connect to the Microsoft 365 host "
                "{ms} on port 25, not to the MX ({gw}); ask the filter's vendor about "
                "'Enhanced Filtering for Connectors' in Microsoft 365."
            ),
        }.get(
            ctx.method or Method.SMTP_AUTH,
            tr("For SMTP AUTH and High Volume Email the MX does not matter."),
        )
        return CheckResult(
            CheckId.MX,
            CheckStatus.INFO,
            tr("Mail arrives first at {0}, a filtering service in front of Microsoft 365.").format(
                gateway
            ),
            (
                tr(
                    "That is a normal setup (a third-party spam filter) when it passes mail on "
                    "to Microsoft 365."
                ),
                method_note.format(ms=ms_host, gw=gateway),
                *details,
            ),
            found=found,
        )
    if expected and expected not in primary:
        if expected in microsoft:
            status, summary = (
                CheckStatus.WARNING,
                tr("{0} is in the MX record but is not the preferred server.").format(expected),
            )
        else:
            status, summary = (
                CheckStatus.FAIL,
                tr("The MX points to {0}, but your tenant expects {1}.").format(
                    primary[0], expected
                ),
            )
        return CheckResult(CheckId.MX, status, summary, tuple(details), replace_fix, found)
    if not expected and not any(_mx_for_domain(h, ctx.domain_ascii) for h in primary):
        return CheckResult(
            CheckId.MX,
            CheckStatus.WARNING,
            tr("The MX points to Microsoft 365 ({0}), but not to a host made for {1}.").format(
                primary[0], ctx.domain
            ),
            (
                tr("It may belong to another domain or tenant. Sign in to compare it."),
                *details,
                where,
            ),
            replace_fix,
            found,
        )
    if others:
        details.append(
            tr(
                "Other mail servers are listed too ({0}): mail that reaches them skips "
                "Microsoft 365's filtering. Remove them unless they are a planned backup."
            ).format(", ".join(others))
        )
        return CheckResult(
            CheckId.MX,
            CheckStatus.WARNING,
            tr("The MX points to Microsoft 365, but other servers are listed too."),
            tuple(details),
            replace_fix,
            found,
        )
    host = primary[0]
    if ctx.method in SITE_IP_METHODS:
        details.insert(
            0, tr("The device sends to this host on port 25 ({0}).").format(ctx.method_words)
        )
    return CheckResult(
        CheckId.MX,
        CheckStatus.PASS,
        tr("Incoming mail goes to Microsoft 365 ({0}).").format(host),
        tuple(details),
        found=found,
    )


# --- SPF ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpfEvaluation:
    """pyspf's verdict for one address: pass, fail, softfail, neutral, none,
    permerror or temperror."""

    result: str
    explanation: str = ""


@dataclass(frozen=True)
class SpfFix:
    """The merged record and what the service learned about it."""

    merge: SpfMerge
    walk: SpfWalk | None  # the merged record's own lookup count
    evaluation: SpfEvaluation | None  # the merged record, for the site IP
    alternative: str | None = None  # a flattened record when the merge is over the limit
    alternative_walk: SpfWalk | None = None


@dataclass(frozen=True)
class SpfFacts:
    walk: SpfWalk
    evaluation: SpfEvaluation | None  # the published record, for the site IP
    fix: SpfFix | None


def wants_site_ip_in_spf(ctx: CheckContext) -> bool:
    """Direct send and connector relay need it; with no method chosen, it is advised."""
    return bool(ctx.site_ip) and (ctx.needs_site_ip or ctx.method is None)


def microsoft_include_term(ctx: CheckContext, walk: SpfWalk) -> list[str]:
    """["include:spf.protection.outlook.com"] unless the tree includes it already."""
    include = microsoft_spf_include(ctx.cloud)
    return [] if walk.includes_any([include]) else [f"include:{include}"]


def _spf_fix(ctx: CheckContext, facts: SpfFacts) -> RecordFix | None:
    fix = facts.fix
    if fix is None or not fix.merge.changes_anything:
        return None
    notes: list[str] = []
    if fix.merge.added:
        notes.append(tr("Adds {0}.").format(" ".join(fix.merge.added)))
    for old, new in fix.merge.changed:
        notes.append(
            tr("Changes {0} to {1}: '{0}' lets anyone send as your domain.").format(old, new)
        )
    if len(fix.merge.replaces) > 1:
        notes.append(
            tr("Replaces the {0} separate SPF records with this one.").format(
                len(fix.merge.replaces)
            )
        )
    if fix.merge.replaces:
        notes.append(tr("Everything already in your record is kept."))
    warning = ""
    alternative: RecordFix | None = None
    if fix.walk is not None and fix.walk.lookups > MAX_LOOKUPS:
        warning = tr(
            "This record needs {n} DNS lookups, over the limit of {max}: receivers would "
            "treat it as broken."
        ).format(n=fix.walk.lookups, max=MAX_LOOKUPS)
        if fix.alternative and fix.alternative_walk and fix.alternative_walk.lookups <= MAX_LOOKUPS:
            alternative = ctx.fix(
                ctx.domain_ascii,
                "TXT",
                fix.alternative,
                action="replace",
                replaces=fix.merge.replaces,
                note=tr(
                    "Alternative within the limit ({n} lookups): your own a/mx terms are "
                    "replaced by the addresses they point to today. Update it whenever "
                    "those servers change address."
                ).format(n=fix.alternative_walk.lookups),
            )
        else:
            big = largest_includes(fix.walk.tree)
            names = ", ".join(f"{d} ({n})" for d, n in big)
            warning += " " + tr(
                "Move the senders behind the largest includes ({0}) to a subdomain "
                "(e.g. mail.{1}) with its own SPF record, or ask those services for a "
                "single-IP record."
            ).format(names, ctx.domain)
    if (
        fix.evaluation is not None
        and fix.evaluation.result != "pass"
        and ctx.site_ip
        and any(t.startswith("ip4:") for t in fix.merge.added)
    ):
        warning = (warning + " " if warning else "") + tr(
            "Even with this record, SPF does not allow {ip} ({r})."
        ).format(ip=ctx.site_ip, r=fix.evaluation.result)
    return ctx.fix(
        ctx.domain_ascii,
        "TXT",
        fix.merge.record,
        action="replace" if fix.merge.replaces else "add",
        replaces=fix.merge.replaces,
        note=" ".join(notes),
        warning=warning,
        alternative=alternative,
    )


def spf_checks(ctx: CheckContext, facts: SpfFacts) -> list[CheckResult]:
    return [
        _spf_record_check(ctx, facts),
        _spf_site_ip_check(ctx, facts),
        _spf_lookup_check(ctx, facts),
    ]


def _spf_record_check(ctx: CheckContext, facts: SpfFacts) -> CheckResult:
    walk = facts.walk
    fix = _spf_fix(ctx, facts)
    include = microsoft_spf_include(ctx.cloud)
    if walk.top is not None and walk.top.is_error:
        return _error(CheckId.SPF, walk.top)
    found = walk.records
    if not walk.records:
        return CheckResult(
            CheckId.SPF,
            CheckStatus.FAIL,
            tr("No SPF record: receivers cannot tell which servers may send for {0}.").format(
                ctx.domain
            ),
            (
                tr(
                    "Without it, mail from your domain (the scanner's too) is more likely to "
                    "land in junk folders, and anyone can pretend to be you."
                ),
            ),
            fix,
        )
    if len(walk.records) > 1:
        return CheckResult(
            CheckId.SPF,
            CheckStatus.FAIL,
            tr("There are {0} SPF records; there must be exactly one.").format(len(walk.records)),
            (
                tr(
                    "Receivers treat several SPF records as an error (permerror) and ignore "
                    "all of them."
                ),
            ),
            fix,
            found,
        )
    record = walk.record
    assert record is not None
    syntax = [
        p.text for p in walk.problems if p.kind == ProblemKind.SYNTAX and p.where == walk.domain
    ]
    if syntax:
        return CheckResult(
            CheckId.SPF,
            CheckStatus.FAIL,
            tr("The SPF record has errors, so receivers ignore it (permerror)."),
            tuple(syntax)
            + (tr("The fix leaves out the invalid terms; check that nothing needed is lost."),),
            fix,
            found,
        )
    problems: list[str] = []
    status = CheckStatus.PASS
    all_term = record.all_term
    if all_term is not None and all_term.effective_qualifier == "+":
        status = CheckStatus.FAIL
        problems.append(
            tr("'{0}' allows every server on the internet to send as {1}: dangerous.").format(
                all_term.raw, ctx.domain
            )
        )
    elif all_term is not None and all_term.effective_qualifier == "?":
        status = CheckStatus.FAIL
        problems.append(
            tr(
                "'?all' says nothing about other servers, so forged mail is not caught: "
                "dangerous. Use '~all' or '-all'."
            )
        )
    if not walk.includes_any([include]):
        status = CheckStatus.FAIL
        problems.append(
            tr(
                "It does not include {0}: mail Microsoft 365 sends for your domain fails SPF."
            ).format(include)
        )
    if all_term is None and record.redirect is None:
        if status is CheckStatus.PASS:
            status = CheckStatus.WARNING
        problems.append(
            tr("The record has no 'all' term, so mail from any other server is 'neutral'.")
        )
    if status is CheckStatus.PASS:
        ending = all_term.raw if all_term else (record.redirect.raw if record.redirect else "")
        return CheckResult(
            CheckId.SPF,
            CheckStatus.PASS,
            tr("One valid SPF record that includes Microsoft 365 ({0}).").format(ending),
            found=found,
        )
    summary = problems[0]
    return CheckResult(CheckId.SPF, status, summary, tuple(problems[1:]), fix, found)


def _spf_site_ip_check(ctx: CheckContext, facts: SpfFacts) -> CheckResult:
    walk = facts.walk
    found = walk.records
    not_needed = tr(
        "With {0} mail leaves from Microsoft 365's own servers, which the Microsoft include "
        "covers: the office's IP does not need to be in SPF."
    ).format(ctx.method_words)
    if not ctx.site_ip:
        status = CheckStatus.ERROR if ctx.needs_site_ip else CheckStatus.INFO
        return CheckResult(
            CheckId.SPF_SITE_IP,
            status,
            tr("Not checked: the office's public IP address is not known."),
            (tr("Enter the office's public IP address (or detect it), then check again."),),
            found=found,
        )
    if walk.top is not None and walk.top.is_error:
        return _error(CheckId.SPF_SITE_IP, walk.top)
    evaluation = facts.evaluation
    if evaluation is None:
        return CheckResult(CheckId.SPF_SITE_IP, CheckStatus.ERROR, tr("Could not evaluate SPF."))
    if evaluation.result == "temperror":
        return CheckResult(
            CheckId.SPF_SITE_IP,
            CheckStatus.ERROR,
            tr("Could not check: a DNS lookup failed while evaluating SPF (temperror)."),
            (evaluation.explanation,),
            found=found,
        )
    if evaluation.result == "pass":
        details = () if ctx.needs_site_ip or ctx.method is None else (not_needed,)
        return CheckResult(
            CheckId.SPF_SITE_IP,
            CheckStatus.PASS,
            tr("SPF allows mail from the office's IP {0}.").format(ctx.site_ip),
            details,
            found=found,
        )
    fix = _spf_fix(ctx, facts)
    meaning = {
        "fail": tr("SPF says {ip} may not send for the domain (fail)."),
        "softfail": tr("SPF says mail from {ip} is suspicious (softfail)."),
        "neutral": tr("SPF says nothing about {ip} (neutral)."),
        "none": tr("There is no SPF record to allow {ip} (none)."),
        "permerror": tr("The SPF record is broken, so it cannot allow {ip} (permerror)."),
    }.get(evaluation.result, tr("SPF does not allow {ip} ({r}).")).format(
        ip=ctx.site_ip, r=evaluation.result
    )
    if ctx.needs_site_ip:
        return CheckResult(
            CheckId.SPF_SITE_IP,
            CheckStatus.FAIL,
            meaning,
            (
                tr(
                    "With {0} the device's mail comes from the office's IP, so Microsoft 365 "
                    "checks SPF against it: without it, messages may go to junk or be "
                    "rejected by the domain's DMARC policy."
                ).format(ctx.method_words),
                tr("How a receiver sees it (pyspf): {0}").format(evaluation.explanation),
            ),
            fix,
            found,
        )
    if ctx.method is None:
        return CheckResult(
            CheckId.SPF_SITE_IP,
            CheckStatus.WARNING,
            meaning,
            (
                tr(
                    "Direct send and connector relay need the office's IP in SPF; SMTP AUTH "
                    "and High Volume Email do not. Choose a method to know for sure."
                ),
            ),
            fix,
            found,
        )
    return CheckResult(CheckId.SPF_SITE_IP, CheckStatus.INFO, meaning, (not_needed,), found=found)


def _spf_lookup_check(ctx: CheckContext, facts: SpfFacts) -> CheckResult:
    walk = facts.walk
    if walk.top is not None and walk.top.is_error:
        return _error(CheckId.SPF_LOOKUPS, walk.top)
    if not walk.records:
        return CheckResult(
            CheckId.SPF_LOOKUPS, CheckStatus.INFO, tr("Nothing to count: there is no SPF record.")
        )
    counted = tr("{n} of {max} DNS lookups, {v} of {vmax} empty (void) lookups.").format(
        n=walk.lookups, max=MAX_LOOKUPS, v=walk.void_lookups, vmax=MAX_VOID_LOOKUPS
    )
    tree = _tree_lines(walk)
    permerrors = [
        p for p in walk.permerrors if p.kind != ProblemKind.SYNTAX or p.where != walk.domain
    ]
    notes = [p.text for p in walk.problems if p.kind in (ProblemKind.MACRO, ProblemKind.IGNORED)]
    if walk.errors:
        names = ", ".join(sorted({f"{a.name} ({_short_error(a.status)})" for a in walk.errors}))
        if not permerrors:
            return CheckResult(
                CheckId.SPF_LOOKUPS,
                CheckStatus.ERROR,
                tr("Could not count every lookup: {0}.").format(names),
                (tr("Counted so far: {0}").format(counted), *tree),
                found=walk.records,
            )
        notes.append(tr("Some names could not be read: {0}.").format(names))
    if permerrors:
        fix = None
        if any(p.kind == ProblemKind.TOO_MANY_LOOKUPS for p in permerrors) and facts.fix:
            alt = facts.fix.alternative
            alt_walk = facts.fix.alternative_walk
            if alt and alt_walk and alt_walk.lookups <= MAX_LOOKUPS:
                fix = ctx.fix(
                    ctx.domain_ascii,
                    "TXT",
                    alt,
                    action="replace",
                    replaces=walk.records,
                    note=tr(
                        "Your own a/mx terms replaced by the addresses they point to today "
                        "({n} lookups). Update it whenever those servers change address."
                    ).format(n=alt_walk.lookups),
                )
        if fix is None and any(p.kind == ProblemKind.TOO_MANY_LOOKUPS for p in permerrors):
            big = largest_includes(walk.tree)
            notes.append(
                tr(
                    "Move the senders behind the largest includes ({0}) to a subdomain with "
                    "its own SPF record, or ask those services for a flattened record."
                ).format(", ".join(f"{d} ({n})" for d, n in big))
            )
        return CheckResult(
            CheckId.SPF_LOOKUPS,
            CheckStatus.FAIL,
            permerrors[0].text,
            (*(p.text for p in permerrors[1:]), counted, *notes, *tree),
            fix,
            walk.records,
        )
    if any(p.kind == ProblemKind.PTR for p in walk.problems):
        return CheckResult(
            CheckId.SPF_LOOKUPS,
            CheckStatus.WARNING,
            next(p.text for p in walk.problems if p.kind == ProblemKind.PTR),
            (counted, *notes, *tree),
            found=walk.records,
        )
    return CheckResult(
        CheckId.SPF_LOOKUPS,
        CheckStatus.PASS,
        counted,
        (*notes, *tree),
        found=walk.records,
    )


def _tree_lines(walk: SpfWalk) -> list[str]:
    lines: list[str] = []

    def visit(node: object, depth: int) -> None:
        from wizard.core.dns.spf import SpfNode

        assert isinstance(node, SpfNode)
        if depth:
            cost = (
                tr("no SPF record")
                if node.record is None
                else tr("lookups inside: {0}").format(node.total_lookups)
            )
            lines.append("  " * depth + f"{node.via} ({cost})")
        for child in node.children:
            visit(child, depth + 1)

    if walk.tree is not None and walk.tree.children:
        lines.append(tr("Lookups by include:"))
        visit(walk.tree, 0)
    return lines


# --- DKIM -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DkimFacts:
    """The two questions asked at <selector>._domainkey.<domain>, in parallel."""

    selector: str  # "selector1" or "selector2"
    cname: DnsAnswer  # CNAME at the selector name: the first hop
    key: DnsAnswer  # TXT at the selector name: the resolver follows every alias

    @property
    def targets(self) -> tuple[str, ...]:
        """Every alias target in order, the last being where the key lives."""
        if self.key.cnames:
            return tuple(_norm(c) for c in self.key.cnames)
        if self.cname.ok:
            return (_norm(self.cname.values[0]),)
        return ()


def dkim_target_plausible(selector: str, target: str, domain_ascii: str) -> bool:
    """True if `target` has one of the forms Microsoft 365 gives this selector."""
    target = _norm(target)
    prefix = f"{selector}-"
    if not target.startswith(prefix) or not _DKIM_SUFFIX.search(target):
        return False
    # The token is Microsoft's (often the dashed domain, often with a suffix or a
    # prefix): only a non-empty label is required; the tenant's config decides exactly.
    return bool(target[len(prefix) :].split(".", 1)[0])


def _other_selector(name: str) -> str:
    return (
        name.replace("selector1", "\0").replace("selector2", "selector1").replace("\0", "selector2")
    )


def dkim_checks(ctx: CheckContext, first: DkimFacts, second: DkimFacts) -> list[CheckResult]:
    tenant = ctx.expected.dkim_targets
    expected: dict[str, str | None] = {
        "selector1": _norm(tenant[0]) if tenant else None,
        "selector2": _norm(tenant[1]) if tenant else None,
    }
    if tenant is None:
        # Without the tenant, one correct selector tells the other's exact value.
        for facts, other in ((first, "selector2"), (second, "selector1")):
            good = [
                t
                for t in facts.targets
                if dkim_target_plausible(facts.selector, t, ctx.domain_ascii)
            ]
            if good and expected[other] is None:
                expected[other] = _other_selector(good[0])
    return [
        _dkim_check(ctx, first, expected["selector1"], tenant is not None),
        _dkim_check(ctx, second, expected["selector2"], tenant is not None),
    ]


def _dkim_check(
    ctx: CheckContext, facts: DkimFacts, expected: str | None, from_tenant: bool
) -> CheckResult:
    check = CheckId.DKIM_SELECTOR1 if facts.selector == "selector1" else CheckId.DKIM_SELECTOR2
    name = f"{facts.selector}._domainkey.{ctx.domain_ascii}"
    source = (
        tr("The value comes from your tenant's DKIM settings (Get-DkimSigningConfig).")
        if from_tenant
        else tr("Derived from the other selector, which points to Microsoft 365 correctly.")
    )
    unknown = tr(
        "Sign in (so the wizard can read the tenant's DKIM settings), or copy the value "
        "from Microsoft Defender > Email authentication settings > DKIM."
    )
    first = facts.cname
    if first.is_error:
        return _error(check, first)
    if first.is_missing:
        details = [
            tr(
                "Microsoft 365 signs your domain's mail with two keys it rotates; each needs a "
                "CNAME record pointing to Microsoft. Without them, receivers cannot verify the "
                "signature and DMARC relies on SPF alone."
            )
        ]
        if facts.key.ok and not facts.key.cnames:
            details.append(
                tr(
                    "There is a TXT key at this name instead (perhaps from another mail "
                    "service); Microsoft 365 needs the CNAME there."
                )
            )
        if expected is None:
            details.append(unknown)
        fix = (
            ctx.fix(
                name,
                "CNAME",
                expected,
                note=source,
                replaces=facts.key.values
                if facts.key and facts.key.ok and not facts.key.cnames
                else (),
            )
            if expected
            else None
        )
        return CheckResult(
            check,
            CheckStatus.FAIL,
            tr("The DKIM record {0} is missing.").format(f"{facts.selector}._domainkey"),
            tuple(details),
            fix,
        )
    targets = facts.targets
    found = tuple(targets)
    chain_note: tuple[str, ...] = ()
    if len(targets) > 1:
        chain_note = (
            tr("It reaches Microsoft 365 through a chain of aliases: {0}.").format(
                " -> ".join(targets)
            ),
        )
    if expected is not None:
        matches = expected in targets
    else:
        matches = any(dkim_target_plausible(facts.selector, t, ctx.domain_ascii) for t in targets)
    if not matches:
        details = [
            tr("It points to {0}.").format(targets[-1] if targets else "?"),
            tr("Microsoft 365 expects {0}.").format(expected)
            if expected
            else tr(
                "Microsoft 365 targets look like "
                "{sel}-{dashed}._domainkey.<tenant>.onmicrosoft.com or "
                "{sel}-<token>._domainkey.<tenant>.<letter>-v1.dkim.mail.microsoft."
            ).format(sel=facts.selector, dashed=ctx.domain_ascii.replace(".", "-")),
        ]
        if expected is None:
            details.append(unknown)
        fix = (
            ctx.fix(name, "CNAME", expected, action="replace", replaces=(targets[0],), note=source)
            if expected
            else None
        )
        return CheckResult(
            check,
            CheckStatus.FAIL,
            tr("{0} points somewhere other than Microsoft 365.").format(
                f"{facts.selector}._domainkey"
            ),
            (*details, *chain_note),
            fix,
            found,
        )
    key = facts.key
    if key.is_missing:
        return CheckResult(
            check,
            CheckStatus.WARNING,
            tr("{0} points to Microsoft 365, but no key is published there yet.").format(
                f"{facts.selector}._domainkey"
            ),
            (
                tr(
                    "Microsoft publishes the key once DKIM signing is switched on for the domain "
                    "(Microsoft Defender > Email authentication settings > DKIM)."
                ),
                *chain_note,
            ),
            found=found,
        )
    extra = (key.explain_error(),) if key.is_error else ()
    return CheckResult(
        check,
        CheckStatus.PASS,
        tr("{0} points to Microsoft 365.").format(f"{facts.selector}._domainkey"),
        (*chain_note, *extra),
        found=found,
    )


# --- DMARC ----------------------------------------------------------------------------


def dmarc_check(
    ctx: CheckContext, own: DnsAnswer, parents: Sequence[DnsAnswer] = ()
) -> CheckResult:
    """own: TXT at _dmarc.<domain>; parents: TXT at _dmarc.<each parent>, nearest first."""
    name = f"_dmarc.{ctx.domain_ascii}"
    if own.is_error:
        return _error(CheckId.DMARC, own)
    method_note = {
        Method.DIRECT_SEND: tr(
            "With direct send the device's mail passes DMARC only through SPF, so the "
            "office's IP must be in SPF before the policy is tightened."
        ),
        Method.CONNECTOR: tr(
            "With connector relay the device's mail passes DMARC through SPF (the office's "
            "IP) and Microsoft's DKIM signature on the way out."
        ),
    }.get(ctx.method or Method.SMTP_AUTH, "")
    records = [v for v in own.values if is_dmarc(v)] if own.ok else []
    if not records:
        for parent in parents:
            inherited = [v for v in parent.values if is_dmarc(v)] if parent.ok else []
            if len(inherited) == 1:
                record = parse_dmarc(inherited[0])
                if not record.errors:
                    return CheckResult(
                        CheckId.DMARC,
                        CheckStatus.PASS
                        if record.subdomain_policy != "none"
                        else CheckStatus.WARNING,
                        tr("Covered by the DMARC record of the parent domain ({0}).").format(
                            parent.name.removeprefix("_dmarc.")
                        ),
                        (policy_meaning(record.subdomain_policy),),
                        found=(inherited[0],),
                    )
        return CheckResult(
            CheckId.DMARC,
            CheckStatus.FAIL,
            tr("No DMARC record: nothing tells receivers what to do with forged mail."),
            (
                tr(
                    "Start with a policy that only reports (p=none) and sends you daily "
                    "reports; after a few weeks of clean reports move to p=quarantine, then "
                    "p=reject. Create the report mailbox, or change the address."
                ),
                *((method_note,) if method_note else ()),
            ),
            ctx.fix(
                name,
                "TXT",
                starting_record(ctx.domain_ascii),
                note=tr("A safe first record: it changes no delivery."),
            ),
        )
    if len(records) > 1:
        return CheckResult(
            CheckId.DMARC,
            CheckStatus.FAIL,
            tr("There are {0} DMARC records; receivers ignore them all.").format(len(records)),
            (),
            ctx.fix(
                name,
                "TXT",
                records[0],
                action="replace",
                replaces=tuple(records),
                note=tr("Keep one record (the first)."),
            ),
            tuple(records),
        )
    record = parse_dmarc(records[0])
    found = (record.raw,)
    if record.errors:
        fixed = starting_record(ctx.domain_ascii)
        if record.policy and not any("p=" in e for e in record.errors):
            fixed = f"v=DMARC1; p={record.policy}" + (
                f"; rua={record.tags['rua']}" if record.rua else ""
            )
        return CheckResult(
            CheckId.DMARC,
            CheckStatus.FAIL,
            tr("The DMARC record has errors, so receivers may ignore it."),
            record.errors,
            ctx.fix(name, "TXT", fixed, action="replace", replaces=found),
            found,
        )
    details = [policy_meaning(record.policy)]
    if record.rua:
        details.append(tr("Daily reports go to {0}.").format(", ".join(record.rua)))
    else:
        details.append(tr("No report address (rua=): you will not learn who sends as your domain."))
    if method_note:
        details.append(method_note)
    details.extend(record.warnings)
    if record.policy == "none":
        return CheckResult(
            CheckId.DMARC,
            CheckStatus.WARNING,
            tr("DMARC only monitors (p=none): forged mail is still delivered."),
            (
                *details,
                tr(
                    "When the reports show that all your real mail passes (including the "
                    "scanner's), move to quarantine."
                ),
            ),
            ctx.fix(
                name,
                "TXT",
                record.with_policy("quarantine"),
                action="replace",
                replaces=found,
                note=tr("Tightens the policy; every other tag is kept."),
            ),
            found,
        )
    if record.pct < 100:
        return CheckResult(
            CheckId.DMARC,
            CheckStatus.WARNING,
            tr("The policy applies to only {0}% of failing mail (pct={0}).").format(record.pct),
            tuple(details),
            ctx.fix(
                name,
                "TXT",
                record.with_policy(record.policy or "quarantine"),
                action="replace",
                replaces=found,
            ),
            found,
        )
    return CheckResult(
        CheckId.DMARC,
        CheckStatus.PASS,
        tr("DMARC is enforced (p={0}).").format(record.policy),
        tuple(details),
        found=found,
    )


# --- Autodiscover, site IP, PTR, blocklists -------------------------------------------


def autodiscover_check(ctx: CheckContext, answer: DnsAnswer) -> CheckResult:
    target = autodiscover_target(ctx.cloud)
    name = f"autodiscover.{ctx.domain_ascii}"
    if answer.is_error:
        return _error(CheckId.AUTODISCOVER, answer)
    meaning = tr(
        "Outlook and phones use it to find their mail settings; sending devices do not need it."
    )
    if answer.is_missing:
        return CheckResult(
            CheckId.AUTODISCOVER,
            CheckStatus.INFO,
            tr("No Autodiscover record."),
            (meaning,),
            ctx.fix(name, "CNAME", target),
        )
    current = _norm(answer.values[0])
    if current == target:
        return CheckResult(
            CheckId.AUTODISCOVER,
            CheckStatus.PASS,
            tr("Autodiscover points to Microsoft 365 ({0}).").format(target),
            (meaning,),
            found=(current,),
        )
    return CheckResult(
        CheckId.AUTODISCOVER,
        CheckStatus.INFO,
        tr("Autodiscover points to {0}, not to Microsoft 365.").format(current),
        (meaning, tr("That is right only while mailboxes still live on another server.")),
        ctx.fix(name, "CNAME", target, action="replace", replaces=(current,)),
        (current,),
    )


def site_ip_check(ctx: CheckContext, detail: str = "", error: str = "") -> CheckResult:
    """detail: where the address came from; error: why detection failed."""
    if not ctx.site_ip:
        status = CheckStatus.ERROR if error else CheckStatus.INFO
        return CheckResult(
            CheckId.SITE_IP,
            status,
            tr("The office's public IP address is not known."),
            tuple(x for x in (error, tr("Enter it by hand, or check again.")) if x),
        )
    checked = check_public_ipv4(ctx.site_ip)
    details = [detail] if detail else []
    if ctx.method is Method.CONNECTOR:
        details.append(
            tr(
                "Connector relay needs this address to be static (fixed) and not shared "
                "with others."
            )
        )
    if not checked.ok:
        return CheckResult(CheckId.SITE_IP, CheckStatus.WARNING, checked.error, tuple(details))
    how = tr("entered by hand") if ctx.site_ip_source is SiteIpSource.ENTERED else tr("detected")
    return CheckResult(
        CheckId.SITE_IP,
        CheckStatus.INFO,
        tr("{ip} ({how}).").format(ip=ctx.site_ip, how=how),
        tuple(details),
    )


def reverse_name(ip: str) -> str:
    return ipaddress.ip_address(ip).reverse_pointer


def ptr_check(ctx: CheckContext, answer: DnsAnswer | None) -> CheckResult:
    if not ctx.site_ip or answer is None:
        return CheckResult(
            CheckId.PTR, CheckStatus.INFO, tr("Not checked: the office's IP is not known.")
        )
    if answer.is_error:
        return _error(CheckId.PTR, answer)
    meaning = tr(
        "Your internet provider sets this name. Microsoft 365 does not need it for the "
        "methods this wizard sets up; some other receivers look at it."
    )
    if answer.is_missing:
        return CheckResult(
            CheckId.PTR,
            CheckStatus.INFO,
            tr("{0} has no reverse name (PTR).").format(ctx.site_ip),
            (meaning,),
        )
    name = _norm(answer.values[0])
    return CheckResult(
        CheckId.PTR,
        CheckStatus.PASS,
        tr("{ip} is named {name}.").format(ip=ctx.site_ip, name=name),
        (meaning,),
        found=(name,),
    )


def blocklist_query(ip: str, zone: str) -> str:
    return ".".join(reversed(ip.split("."))) + "." + _norm(zone)


def blocklist_check(ctx: CheckContext, answers: Sequence[tuple[str, DnsAnswer]]) -> CheckResult:
    """answers: (zone, A answer for the reversed IP under the zone)."""
    if not ctx.site_ip:
        return CheckResult(
            CheckId.BLOCKLISTS, CheckStatus.INFO, tr("Not checked: the office's IP is not known.")
        )
    listed: list[str] = []
    clean: list[str] = []
    unusable: list[str] = []
    for zone, answer in answers:
        if answer.is_missing:
            clean.append(zone)
        elif answer.is_error:
            unusable.append(tr("{0}: {1}").format(zone, _short_error(answer.status)))
        else:
            codes = [v for v in answer.values if v.startswith("127.")]
            if codes and all(v.startswith("127.255.255.") for v in codes):
                # Spamhaus and others answer this to queries through big public resolvers.
                unusable.append(
                    tr("{0}: the list refused the question ({1})").format(zone, codes[0])
                )
            elif codes:
                listed.append(f"{zone} ({', '.join(codes)})")
            else:
                unusable.append(
                    tr("{0}: an unexpected answer ({1})").format(zone, ", ".join(answer.values))
                )
    details = [tr("Could not ask {0}.").format(u) for u in unusable]
    if listed:
        return CheckResult(
            CheckId.BLOCKLISTS,
            CheckStatus.WARNING,
            tr("{ip} is on a spam blocklist: {lists}.").format(
                ip=ctx.site_ip, lists=", ".join(listed)
            ),
            (
                tr(
                    "Mail sent from this address may be refused or junked (with direct send "
                    "Microsoft 365 itself may reject it). Find out why on the list's website "
                    "(often an infected computer in the office) and ask for removal."
                ),
                *details,
            ),
        )
    if not clean:
        return CheckResult(
            CheckId.BLOCKLISTS,
            CheckStatus.ERROR,
            tr("Could not ask any blocklist."),
            tuple(details),
        )
    return CheckResult(
        CheckId.BLOCKLISTS,
        CheckStatus.PASS,
        tr("{ip} is on none of the blocklists checked ({lists}).").format(
            ip=ctx.site_ip, lists=", ".join(clean)
        ),
        tuple(details),
    )


def expected_from_snapshot(snapshot: TenantSnapshot | None, domain: str) -> ExpectedRecords:
    """What the signed-in tenant says the domain's MX and DKIM records must be.

    A computed MX (the tenant could not be asked) is no expectation: the check then
    accepts both Microsoft forms. DKIM counts only when the tenant has both CNAMEs.
    """
    if snapshot is None:
        return ExpectedRecords()
    # Here, not at the top: the tenant model is the wizard's, and check-dns (which
    # has no tenant) would pay for importing it.
    from wizard.core.tenant import MxSource, normalise_domain

    mx = snapshot.mx
    mx_host = (
        mx.host
        if mx is not None
        and mx.source is MxSource.GRAPH
        and normalise_domain(mx.domain) == normalise_domain(domain)
        else None
    )
    dkim = snapshot.dkim_for(domain)
    if dkim is not None and dkim.selector1_cname and dkim.selector2_cname:
        return ExpectedRecords(mx_host, dkim.selector1_cname, dkim.selector2_cname)
    return ExpectedRecords(mx_host)
