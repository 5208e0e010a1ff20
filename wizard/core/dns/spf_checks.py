"""The SPF verdicts: the record, the site's IP in it, and the lookup limits (RFC 7208).

`core.dns.spf` parses and walks the record; this module judges it for the method.
"""

from __future__ import annotations

from dataclasses import dataclass

from wizard.core.dns.context import CheckContext, error_result, microsoft_spf_include, short_error
from wizard.core.dns.model import (
    CheckId,
    CheckResult,
    CheckStatus,
    RecordFix,
)
from wizard.core.dns.spf import MAX_LOOKUPS, MAX_VOID_LOOKUPS
from wizard.core.dns.spf_merge import SpfMerge, largest_includes
from wizard.core.dns.spf_walk import ProblemKind, SpfWalk
from wizard.core.i18n import tr


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
        return error_result(CheckId.SPF, walk.top)
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
        return error_result(CheckId.SPF_SITE_IP, walk.top)
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
        return error_result(CheckId.SPF_LOOKUPS, walk.top)
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
        names = ", ".join(sorted({f"{a.name} ({short_error(a.status)})" for a in walk.errors}))
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
        from wizard.core.dns.spf_walk import SpfNode

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
