"""Tenant findings: what each tenant state means for the site and method, one row each."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

import pytest

from tests.test_plan import DOMAIN, IP, NAME, PROFILE, SNAPSHOT, ours
from wizard.core.advisor import Variant
from wizard.core.clouds import CLOUDS, CloudId
from wizard.core.methods import Method, Tri
from wizard.core.profile import Printer, SiteProfile
from wizard.core.steps import WizardStep
from wizard.core.tenant import (
    AcceptedDomain,
    DkimConfig,
    MailboxState,
    MxInfo,
    MxSource,
    TenantSnapshot,
)
from wizard.core.tenant_findings import Finding, Severity, analyse, worst

TODAY = date(2026, 11, 27)
SNAP = replace(SNAPSHOT, dkim=(DkimConfig(DOMAIN, True, "s1", "s2"),))


@dataclass
class Case:
    name: str
    method: Method | None
    snapshot: TenantSnapshot = SNAP
    profile: SiteProfile = PROFILE
    variant: Variant = Variant.STANDARD
    cloud: CloudId = CloudId.WORLDWIDE
    today: date = TODAY
    # finding id -> (severity, fix step or None, text the title or detail contains)
    expect: dict[str, tuple[Severity, WizardStep | None, str]] = field(default_factory=dict)
    absent: tuple[str, ...] = ()


CASES = [
    Case(
        "domain accepted",
        Method.CONNECTOR,
        expect={f"domain:{DOMAIN}": (Severity.OK, None, "accepted domain")},
    ),
    Case(
        "wrong tenant: the site's domain is not there",
        Method.CONNECTOR,
        snapshot=replace(SNAP, accepted_domains=(AcceptedDomain("fabrikam.example", True),)),
        expect={f"domain:{DOMAIN}": (Severity.PROBLEM, WizardStep.SIGN_IN, "signed in to another")},
    ),
    Case(
        "a device's sender domain is not accepted",
        Method.CONNECTOR,
        profile=replace(
            PROFILE, printers=(Printer("Scanner", sender="scanner@elsewhere.example"),)
        ),
        expect={"domain:elsewhere.example": (Severity.PROBLEM, WizardStep.SITE, "sender")},
    ),
    Case(
        "mx from graph",
        Method.DIRECT_SEND,
        snapshot=replace(SNAP, mx=MxInfo(DOMAIN, "x.mx.microsoft", MxSource.GRAPH)),
        expect={"mx": (Severity.INFO, WizardStep.DNS, "received by x.mx.microsoft")},
    ),
    Case(
        "smtp auth off for the mailbox by inheritance",
        Method.SMTP_AUTH_OAUTH,
        expect={
            f"mailbox:scanner@{DOMAIN}": (Severity.WARNING, WizardStep.PLAN, "inherits"),
            "smtp-auth-tenant": (Severity.OK, None, "off for the tenant"),
        },
    ),
    Case(
        "smtp auth on by inheritance from an open tenant",
        Method.SMTP_AUTH_OAUTH,
        snapshot=replace(SNAP, smtp_auth_disabled=False),
        expect={
            f"mailbox:scanner@{DOMAIN}": (Severity.INFO, WizardStep.PLAN, "inherits"),
            "smtp-auth-tenant": (Severity.WARNING, WizardStep.OUTSIDE, "whole tenant"),
        },
    ),
    Case(
        "smtp auth on for the mailbox itself",
        Method.SMTP_AUTH_OAUTH,
        snapshot=replace(SNAP, mailboxes=(MailboxState(f"scanner@{DOMAIN}", True, False),)),
        expect={f"mailbox:scanner@{DOMAIN}": (Severity.OK, None, "own setting")},
    ),
    Case(
        "mailbox off although the tenant is on",
        Method.SMTP_AUTH,
        snapshot=replace(
            SNAP,
            smtp_auth_disabled=False,
            mailboxes=(MailboxState(f"scanner@{DOMAIN}", True, True),),
        ),
        expect={f"mailbox:scanner@{DOMAIN}": (Severity.WARNING, WizardStep.PLAN, "own setting")},
    ),
    Case(
        "missing mailbox",
        Method.SMTP_AUTH,
        snapshot=replace(SNAP, mailboxes=(MailboxState(f"scanner@{DOMAIN}", False),)),
        expect={f"mailbox:scanner@{DOMAIN}": (Severity.PROBLEM, WizardStep.SITE, "no mailbox")},
    ),
    Case(
        "no mailbox findings for a connector",
        Method.CONNECTOR,
        absent=(f"mailbox:scanner@{DOMAIN}",),
        expect={"smtp-auth-tenant": (Severity.OK, None, "off")},
    ),
    Case(
        "security defaults block basic",
        Method.SMTP_AUTH,
        snapshot=replace(SNAP, security_defaults=Tri.YES),
        expect={"security-defaults": (Severity.PROBLEM, WizardStep.METHOD, "5.7.139")},
    ),
    Case(
        "security defaults unknown is a warning for basic",
        Method.SMTP_AUTH,
        expect={"security-defaults": (Severity.WARNING, WizardStep.TEST, "could not be read")},
    ),
    Case(
        "security defaults do not matter for a connector",
        Method.CONNECTOR,
        snapshot=replace(SNAP, security_defaults=Tri.YES),
        expect={"security-defaults": (Severity.INFO, None, "does not depend")},
    ),
    Case(
        "legacy tls needed and not allowed",
        Method.SMTP_AUTH,
        variant=Variant.LEGACY_TLS,
        expect={"legacy-tls": (Severity.WARNING, WizardStep.PLAN, "not allowed")},
    ),
    Case(
        "legacy tls needed in a cloud without it",
        Method.SMTP_AUTH,
        variant=Variant.LEGACY_TLS,
        cloud=CloudId.GCC_HIGH,
        expect={"legacy-tls": (Severity.PROBLEM, WizardStep.METHOD, "no endpoint")},
    ),
    Case(
        "legacy tls allowed, not needed",
        Method.CONNECTOR,
        snapshot=replace(SNAP, allow_legacy_tls_clients=True),
        expect={"legacy-tls": (Severity.INFO, None, "legacy endpoint")},
    ),
    Case(
        "reject direct send on for direct send",
        Method.DIRECT_SEND,
        snapshot=replace(SNAP, reject_direct_send=True),
        expect={"reject-direct-send": (Severity.WARNING, WizardStep.PLAN, "connector")},
    ),
    Case(
        "reject direct send off for direct send",
        Method.DIRECT_SEND,
        expect={"reject-direct-send": (Severity.OK, None, "accepts direct send")},
    ),
    Case(
        "reject direct send off, other method: a hint",
        Method.CONNECTOR,
        expect={"reject-direct-send": (Severity.INFO, WizardStep.OUTSIDE, "RejectDirectSend")},
    ),
    Case(
        "no connectors",
        Method.CONNECTOR,
        expect={"connectors": (Severity.INFO, WizardStep.PLAN, "no inbound connectors")},
    ),
    Case(
        "our connector as desired",
        Method.CONNECTOR,
        snapshot=replace(SNAP, connectors=(ours(),)),
        expect={f"connector:{NAME}": (Severity.OK, None, "looks right")},
    ),
    Case(
        "our connector on an old IP",
        Method.CONNECTOR,
        snapshot=replace(SNAP, connectors=(ours(sender_ip_addresses=("198.51.100.7",)),)),
        expect={f"connector:{NAME}": (Severity.PROBLEM, WizardStep.PLAN, "5.7.64")},
    ),
    Case(
        "someone's connector for our domains on another IP",
        Method.DIRECT_SEND,
        snapshot=replace(
            SNAP, connectors=(ours(name="Old", sender_ip_addresses=("198.51.100.7",)),)
        ),
        expect={"connector:Old": (Severity.WARNING, WizardStep.OUTSIDE, "out of date")},
    ),
    Case(
        "a connector wider than the site",
        Method.CONNECTOR,
        snapshot=replace(
            SNAP, connectors=(ours(name="Wide", sender_ip_addresses=("203.0.113.0/24",)),)
        ),
        expect={"connector:Wide": (Severity.WARNING, WizardStep.PLAN, "256 addresses")},
    ),
    Case(
        "ip connector for a site without a static ip",
        Method.SMTP_AUTH_OAUTH,
        profile=replace(PROFILE, site=replace(PROFILE.site, static_ip=Tri.NO)),
        snapshot=replace(SNAP, connectors=(ours(),)),
        expect={f"connector:{NAME}": (Severity.WARNING, WizardStep.METHOD, "no static IP")},
    ),
    Case(
        "certificate connector whose name is not an accepted domain",
        Method.CONNECTOR,
        snapshot=replace(
            SNAP,
            connectors=(
                ours(
                    name="Cert",
                    sender_ip_addresses=(),
                    tls_sender_certificate_name="*.relay.fabrikam.example",
                    restrict_domains_to_certificate=True,
                ),
            ),
        ),
        expect={"connector:Cert": (Severity.WARNING, WizardStep.OUTSIDE, "MC1226222")},
    ),
    Case(
        "certificate connector on a subdomain of an accepted domain is fine",
        Method.CONNECTOR,
        snapshot=replace(
            SNAP,
            connectors=(
                ours(
                    name="Cert",
                    sender_ip_addresses=(),
                    tls_sender_certificate_name=f"*.mail.{DOMAIN}",
                    restrict_domains_to_certificate=True,
                ),
            ),
        ),
        expect={"connector:Cert": (Severity.OK, None, "looks right")},
    ),
    Case(
        "dkim off",
        Method.CONNECTOR,
        snapshot=replace(SNAP, dkim=(DkimConfig(DOMAIN, False),)),
        expect={"dkim": (Severity.WARNING, WizardStep.DNS, "DKIM signing is off")},
    ),
    Case(
        "dkim on",
        Method.CONNECTOR,
        expect={"dkim": (Severity.OK, WizardStep.DNS, "DKIM")},
    ),
    Case(
        "basic auth dates for smtp auth before the switch-off",
        Method.SMTP_AUTH,
        expect={"basic-auth": (Severity.WARNING, WizardStep.METHOD, "days from today")},
    ),
    Case(
        "basic auth in the removal window",
        Method.SMTP_AUTH,
        today=date(2027, 9, 1),
        expect={"basic-auth": (Severity.PROBLEM, WizardStep.METHOD, "second half of 2027")},
    ),
    Case(
        "hve password until 2028",
        Method.HVE,
        expect={"basic-auth": (Severity.INFO, None, "September 2028")},
    ),
    Case(
        "connector not affected by basic retirement",
        Method.CONNECTOR,
        expect={"basic-auth": (Severity.OK, None, "Not affected")},
    ),
    Case(
        "local relay not affected by basic retirement: its relay signs in with OAuth",
        Method.LOCAL_RELAY,
        expect={"basic-auth": (Severity.OK, None, "signs in to Microsoft 365 as each mailbox")},
    ),
    Case(
        "hve address is a mailbox",
        Method.HVE,
        expect={f"hve:scanner@{DOMAIN}": (Severity.PROBLEM, WizardStep.SITE, "mailbox")},
    ),
    Case(
        "unreadable parts are shown",
        Method.CONNECTOR,
        snapshot=replace(SNAP, unreadable=("Graph could not be read.",)),
        expect={"unreadable:0": (Severity.INFO, None, "Graph could not be read.")},
    ),
]


def _by_id(findings: tuple[Finding, ...]) -> dict[str, Finding]:
    return {f.id: f for f in findings}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_findings(case: Case) -> None:
    findings = analyse(
        case.snapshot, case.profile, case.method, case.variant, CLOUDS[case.cloud], case.today
    )
    found = _by_id(findings)
    for finding_id, (severity, step, text) in case.expect.items():
        assert finding_id in found, sorted(found)
        finding = found[finding_id]
        assert finding.severity is severity, finding
        assert finding.fix_step is step, finding
        assert text in finding.title + " " + finding.detail, finding
    for finding_id in case.absent:
        assert finding_id not in found


def test_findings_come_worst_first() -> None:
    snapshot = replace(
        SNAP,
        accepted_domains=(AcceptedDomain("fabrikam.example", True),),
        connectors=(ours(),),
    )
    findings = analyse(
        snapshot, PROFILE, Method.CONNECTOR, Variant.IP_CONNECTOR, CLOUDS[CloudId.WORLDWIDE], TODAY
    )
    order = [f.severity for f in findings]
    assert order[0] is Severity.PROBLEM
    assert worst(findings) is Severity.PROBLEM
    assert worst(()) is Severity.OK
    ranks = {Severity.PROBLEM: 0, Severity.WARNING: 1, Severity.INFO: 2, Severity.OK: 3}
    assert [ranks[s] for s in order] == sorted(ranks[s] for s in order)


def test_every_finding_is_plain_and_complete() -> None:
    for case in CASES:
        for finding in analyse(
            case.snapshot, case.profile, case.method, case.variant, CLOUDS[case.cloud], case.today
        ):
            assert finding.title.strip() and not finding.title.endswith(".")
            if finding.severity in (Severity.WARNING, Severity.PROBLEM):
                assert finding.detail, finding
                assert finding.fix_step is not None, finding
            assert "Traceback" not in finding.detail and "{" not in finding.detail


def test_site_ip_is_the_one_the_cases_use() -> None:
    assert PROFILE.site.public_ip == IP
