"""The MX verdict: does the domain's mail reach Microsoft 365, and at which host."""

from __future__ import annotations

from collections.abc import Sequence

from wizard.core.dns.context import SITE_IP_METHODS, CheckContext, error_result, norm_name, squashed
from wizard.core.dns.model import (
    CheckId,
    CheckResult,
    CheckStatus,
    DnsAnswer,
)
from wizard.core.i18n import tr
from wizard.core.methods import Method
from wizard.core.relay_host import not_found_advice


def _mx_entries(values: Sequence[str]) -> list[tuple[int, str]]:
    entries: list[tuple[int, str]] = []
    for value in values:
        parts = value.split()
        if len(parts) == 2 and parts[0].isdigit():
            entries.append((int(parts[0]), norm_name(parts[1])))
    return sorted(entries)


def _mx_for_domain(host: str, domain_ascii: str) -> bool:
    """True if a Microsoft MX host's first label is made from this domain."""
    first = host.split(".", 1)[0]
    return squashed(first).startswith(squashed(domain_ascii))


def mx_check(ctx: CheckContext, answer: DnsAnswer) -> CheckResult:
    expected = norm_name(ctx.expected.mx_host) if ctx.expected.mx_host else None
    # Microsoft's MX token cannot be computed (M365-FACTS, corrections of 2 December
    # 2026): without the tenant's value no host is offered as a fix, only where to
    # find it.
    source_note = tr("This is the value your Microsoft 365 tenant gives for the domain.")
    where = not_found_advice(ctx.domain)
    if answer.is_error:
        return error_result(CheckId.MX, answer)
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
