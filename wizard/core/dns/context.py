"""What every DNS check shares: the context it runs in, names, and the error result.

Pure, as every module of `core.dns`: `services.dns.checks` gathers the answers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wizard.core.clouds import Cloud, CloudId
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
from wizard.core.i18n import tr
from wizard.core.methods import Method

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


def microsoft_spf_include(cloud: Cloud) -> str:
    """spf.protection.outlook.com for the cloud (derived from its MX suffix)."""
    return "spf." + cloud.mx_suffixes[0].removeprefix("mail.")


def autodiscover_target(cloud: Cloud) -> str:
    return _AUTODISCOVER.get(cloud.id, "autodiscover.outlook.com")


def norm_name(name: str) -> str:
    return name.strip().rstrip(".").lower()


def relative_host(name: str, domain_ascii: str) -> str:
    name, domain_ascii = norm_name(name), norm_name(domain_ascii)
    if name == domain_ascii:
        return "@"
    if name.endswith("." + domain_ascii):
        return name[: -len(domain_ascii) - 1]
    return name + "."


def squashed(text: str) -> str:
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
                Method.LOCAL_RELAY: tr("the local relay"),
            }.get(self.method, tr("the method you choose"))
            if self.method
            else tr("any method")
        )

    def fix(self, name: str, rtype: str, value: str, **kwargs: object) -> RecordFix:
        """A record to publish; names stay in their ASCII (IDNA) form, as DNS needs."""
        return RecordFix(
            name=norm_name(name),
            host=relative_host(name, self.domain_ascii),
            rtype=rtype,
            value=value,
            ttl=DEFAULT_TTL,
            **kwargs,  # type: ignore[arg-type]
        )


def error_result(check: CheckId, answer: DnsAnswer, found: Sequence[str] = ()) -> CheckResult:
    return CheckResult(
        check,
        CheckStatus.ERROR,
        tr("Could not check: {0}").format(short_error(answer.status)),
        (
            answer.explain_error(),
            tr("Check again in a moment; if it persists, check the DNS server setting."),
        ),
        found=tuple(found),
    )


def short_error(status: AnswerStatus) -> str:
    return {
        AnswerStatus.TIMEOUT: tr("the DNS server did not answer in time"),
        AnswerStatus.SERVFAIL: tr("the DNS server failed (SERVFAIL)"),
        AnswerStatus.REFUSED: tr("the DNS server refused the question"),
        AnswerStatus.UNREACHABLE: tr("the DNS server cannot be reached"),
        AnswerStatus.BUDGET: tr("the time limit ran out"),
        AnswerStatus.INVALID: tr("the name or answer is invalid"),
    }.get(status, status.value)


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
