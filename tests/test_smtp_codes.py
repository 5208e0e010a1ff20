"""The SMTP reply catalog (M365-FACTS error table) gives the right plain words."""

from __future__ import annotations

import pytest

from wizard.core.smtp_codes import (
    ConnectionFailure,
    enhanced_code,
    explain_connection_failure,
    explain_reply,
)
from wizard.core.steps import WizardStep

REPLIES = [
    (
        535,
        "5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the "
        "Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.",
        "5.7.139-tenant",
        WizardStep.PLAN,
    ),
    (
        535,
        "5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the "
        "Mailbox. Visit https://aka.ms/smtp_auth_disabled for more information.",
        "5.7.139-mailbox",
        WizardStep.PLAN,
    ),
    (
        535,
        "5.7.139 Authentication unsuccessful, user is locked by your organization's "
        "security defaults policy. Contact your administrator.",
        "5.7.139-security-defaults",
        WizardStep.METHOD,
    ),
    (535, "5.7.3 Authentication unsuccessful", "5.7.3", WizardStep.TEST),
    (530, "5.7.57 Client not authenticated to send mail.", "5.7.57", WizardStep.SHEETS),
    (
        550,
        "5.7.60 SMTP; Client does not have permissions to send as this sender",
        "5.7.60",
        WizardStep.SITE,
    ),
    (
        554,
        "5.2.252 SendAsDenied; scanner@contoso.com not allowed to send as "
        "reception@contoso.com; STOREDRV.Submission.Exception:SendAsDeniedException.Mapi",
        "5.2.252-send-as",
        WizardStep.SITE,
    ),
    (550, "5.7.64 TenantAttribution; Relay Access Denied", "5.7.64", WizardStep.PLAN),
    (
        550,
        "5.7.68 TenantInboundAttribution; Direct Send not allowed for this organization "
        "from unauthorized sources",
        "5.7.68",
        WizardStep.METHOD,
    ),
    (
        550,
        "5.7.54 SMTP; Unable to relay recipient in non-accepted domain",
        "5.7.54",
        WizardStep.METHOD,
    ),
    (
        550,
        "5.7.30 Basic authentication is not supported for Client Submission",
        "5.7.30",
        WizardStep.METHOD,
    ),
    (421, "4.7.66 TLS 1.0 and 1.1 are not supported.", "4.7.66", WizardStep.PLAN),
    (
        550,
        "5.7.606 Access denied, banned sending IP [203.0.113.25].",
        "5.7.606-649",
        WizardStep.OUTSIDE,
    ),
    (550, "5.7.649 Access denied, banned sending IP", "5.7.606-649", WizardStep.OUTSIDE),
    (
        550,
        "5.7.708 Service unavailable. Access denied, traffic not accepted from this IP.",
        "5.7.708",
        WizardStep.METHOD,
    ),
    (504, "5.7.4 Unrecognized authentication type", "5.7.4", WizardStep.SHEETS),
]


@pytest.mark.parametrize("code,text,key,step", REPLIES)
def test_catalog(code: int, text: str, key: str, step: WizardStep) -> None:
    verdict = explain_reply(code, text)
    assert verdict.key == key
    assert verdict.step is step
    assert verdict.title and verdict.explanation and verdict.fix


def test_unknown_codes_fall_back_honestly() -> None:
    temporary = explain_reply(451, "4.4.0 Temporary server error")
    assert temporary.retryable and "4.4.0" in temporary.title
    permanent = explain_reply(550, "5.1.1 User unknown")
    assert not permanent.retryable and "transcript" in permanent.fix
    assert explain_reply(550, "no enhanced code here").key == "550"


def test_range_bounds() -> None:
    assert explain_reply(550, "5.7.605 x").key != "5.7.606-649"
    assert explain_reply(550, "5.7.650 x").key != "5.7.606-649"


def test_enhanced_code() -> None:
    assert enhanced_code("5.7.139 Authentication unsuccessful") == "5.7.139"
    assert enhanced_code("Authentication unsuccessful") is None


@pytest.mark.parametrize("kind", list(ConnectionFailure))
def test_connection_failures(kind: ConnectionFailure) -> None:
    verdict = explain_connection_failure(kind, "smtp.office365.com", 25)
    assert verdict.key == kind.value and verdict.title and verdict.fix


def test_port25_block_points_to_587_methods() -> None:
    verdict = explain_connection_failure(ConnectionFailure.PORT25_BLOCKED, "mx.example", 25)
    assert "587" in verdict.fix and verdict.step is WizardStep.METHOD
