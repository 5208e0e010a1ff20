"""The DKIM verdicts: both selectors' CNAMEs against Get-DkimSigningConfig or Microsoft's zones."""

from __future__ import annotations

import re
from dataclasses import dataclass

from wizard.core.dns.context import CheckContext, error_result, norm_name
from wizard.core.dns.model import (
    CheckId,
    CheckResult,
    CheckStatus,
    DnsAnswer,
)
from wizard.core.i18n import tr

# Where Microsoft 365 publishes DKIM keys: the tenant's onmicrosoft domain (older
# domains) or <prefix>.<letter>-v1.dkim.mail.microsoft (domains set up since May 2025).
# The label after "selectorN-" is Microsoft's token and can carry a suffix
# (selector1-exclusive-jasonshadow-com03i._domainkey.jasonshadow.r-v1.dkim.mail.microsoft
# in a public zone), so without Get-DkimSigningConfig only the zone is judged.
_DKIM_SUFFIX = re.compile(
    r"\._domainkey\.(?:[a-z0-9-]+\.)+"
    r"(?:onmicrosoft\.com|onmicrosoft\.us|partner\.onmschina\.cn|dkim\.mail\.microsoft)$"
)


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
            return tuple(norm_name(c) for c in self.key.cnames)
        if self.cname.ok:
            return (norm_name(self.cname.values[0]),)
        return ()


def dkim_target_plausible(selector: str, target: str, domain_ascii: str) -> bool:
    """True if `target` has one of the forms Microsoft 365 gives this selector."""
    target = norm_name(target)
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
        "selector1": norm_name(tenant[0]) if tenant else None,
        "selector2": norm_name(tenant[1]) if tenant else None,
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
        return error_result(check, first)
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
