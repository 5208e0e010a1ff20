"""Autodiscover, the site's public IP, its PTR record and the blocklists."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from wizard.core.dns.context import (
    CheckContext,
    autodiscover_target,
    error_result,
    norm_name,
    short_error,
)
from wizard.core.dns.model import (
    CheckId,
    CheckResult,
    CheckStatus,
    DnsAnswer,
    SiteIpSource,
)
from wizard.core.i18n import tr
from wizard.core.methods import Method
from wizard.core.validation import check_public_ipv4


def autodiscover_check(ctx: CheckContext, answer: DnsAnswer) -> CheckResult:
    target = autodiscover_target(ctx.cloud)
    name = f"autodiscover.{ctx.domain_ascii}"
    if answer.is_error:
        return error_result(CheckId.AUTODISCOVER, answer)
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
    current = norm_name(answer.values[0])
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
        return error_result(CheckId.PTR, answer)
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
    name = norm_name(answer.values[0])
    return CheckResult(
        CheckId.PTR,
        CheckStatus.PASS,
        tr("{ip} is named {name}.").format(ip=ctx.site_ip, name=name),
        (meaning,),
        found=(name,),
    )


def blocklist_query(ip: str, zone: str) -> str:
    return ".".join(reversed(ip.split("."))) + "." + norm_name(zone)


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
            unusable.append(tr("{0}: {1}").format(zone, short_error(answer.status)))
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
