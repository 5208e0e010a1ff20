"""The DMARC verdict: is there a policy, what it means, and the next step.

`core.dns.dmarc` parses the record; this module judges it.
"""

from __future__ import annotations

from collections.abc import Sequence

from wizard.core.dns.context import CheckContext, error_result
from wizard.core.dns.dmarc import is_dmarc, parse_dmarc, policy_meaning, starting_record
from wizard.core.dns.model import (
    CheckId,
    CheckResult,
    CheckStatus,
    DnsAnswer,
)
from wizard.core.i18n import tr
from wizard.core.methods import Method


def dmarc_check(
    ctx: CheckContext, own: DnsAnswer, parents: Sequence[DnsAnswer] = ()
) -> CheckResult:
    """own: TXT at _dmarc.<domain>; parents: TXT at _dmarc.<each parent>, nearest first."""
    name = f"_dmarc.{ctx.domain_ascii}"
    if own.is_error:
        return error_result(CheckId.DMARC, own)
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
