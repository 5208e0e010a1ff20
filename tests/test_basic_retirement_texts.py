"""Basic SMTP AUTH after 31 December 2026: nothing calls it ready; the test is the proof.

MC786329 (revised 27 January 2026): Microsoft switches Basic SMTP AUTH off by default
for existing tenants at the end of December 2026 and had not published how to switch it
back on. The plan, the advisor (which the Summary page shows) and the sheets' note all
take their words from core.retirement with an injected "today".
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

import pytest

from wizard.core.advisor import DeviceCapabilities, SiteNeeds, TenantFacts, Variant, advise
from wizard.core.clouds import CLOUDS, CloudId
from wizard.core.methods import Method, Tri
from wizard.core.plan import ChangeStatus, build_plan
from wizard.core.profile import Printer, Site, SiteProfile
from wizard.core.retirement import (
    basic_auth_can_be_called_ready,
    basic_auth_outlook,
    basic_auth_proof,
    long_date,
)
from wizard.core.sheet import _retirement_note
from wizard.core.tenant import AcceptedDomain, MailboxState, TenantSnapshot

WW = CLOUDS[CloudId.WORLDWIDE]
DOMAIN = "contoso.example"
BEFORE = date(2026, 12, 2)
AFTER = date(2027, 1, 5)
READY = re.compile(r"\bready\b", re.IGNORECASE)

PROFILE = SiteProfile(
    site=Site(name="Main office", domain=DOMAIN, public_ip="203.0.113.25"),
    printers=(Printer("Scanner", sender=f"scanner@{DOMAIN}", tls12=Tri.YES),),
)
SNAPSHOT = TenantSnapshot(
    tenant_id="t1",
    display_name="Contoso",
    accepted_domains=(AcceptedDomain(DOMAIN, default=True),),
    smtp_auth_disabled=True,
    allow_legacy_tls_clients=False,
    reject_direct_send=False,
    security_defaults=Tri.NO,
    mailboxes=(MailboxState(f"scanner@{DOMAIN}", exists=True, smtp_auth_disabled=False),),
)


def _plan_texts(today: date) -> list[str]:
    plan = build_plan(PROFILE, Method.SMTP_AUTH, Variant.STANDARD, SNAPSHOT, WW, today=today)
    texts = list(plan.notes) + list(plan.blockers)
    for change in plan.changes:
        texts += [change.title, change.why, change.detail]
    return texts


def test_the_date_rule() -> None:
    assert basic_auth_can_be_called_ready(date(2026, 12, 30))
    assert not basic_auth_can_be_called_ready(date(2026, 12, 31))
    assert long_date(AFTER) == "5 January 2027"


def test_plan_after_the_switch_off_never_calls_basic_ready() -> None:
    plan = build_plan(PROFILE, Method.SMTP_AUTH, Variant.STANDARD, SNAPSHOT, WW, today=AFTER)
    change = plan.change(f"mailbox-smtp-auth:scanner@{DOMAIN}")
    assert change is not None and change.status is ChangeStatus.DONE
    # The switch is set, but that is not said to make a password work.
    assert "test message shows whether it does" in change.detail
    texts = _plan_texts(AFTER)
    assert not any(READY.search(t) for t in texts), texts
    note = next(n for n in plan.notes if "MC786329" in n)
    assert "5 January 2027" in note and "had not published how" in note
    assert "test message" in note


def test_plan_before_the_switch_off_names_the_date_too() -> None:
    plan = build_plan(PROFILE, Method.SMTP_AUTH, Variant.STANDARD, SNAPSHOT, WW, today=BEFORE)
    note = next(n for n in plan.notes if "MC786329" in n)
    assert "2 December 2026" in note and "end of December 2026" in note
    assert not any(READY.search(t) for t in _plan_texts(BEFORE))


def test_oauth_plan_has_no_basic_note() -> None:
    plan = build_plan(PROFILE, Method.SMTP_AUTH_OAUTH, Variant.STANDARD, SNAPSHOT, WW, today=AFTER)
    assert not any("MC786329" in n for n in plan.notes)


@pytest.mark.parametrize("today", [BEFORE, AFTER, date(2027, 3, 1)])
def test_advisor_output_names_the_date_and_the_proof(today: date) -> None:
    advice = advise(
        DeviceCapabilities(tls12=Tri.YES, smtp_auth=Tri.YES, oauth=Tri.NO),
        SiteNeeds(),
        TenantFacts(security_defaults=Tri.NO),
        WW,
        today,
    )
    basic = advice.for_method(Method.SMTP_AUTH)
    text = " ".join(basic.reasons + basic.warnings + basic.blockers + basic.needs)
    assert "had not published" in text
    assert not READY.search(text)
    if today >= date(2026, 12, 31):
        # The Summary page shows these warnings under "Check first".
        assert long_date(today) in text and "test message" in text


def test_sheet_note_after_the_switch_off_is_the_same_core_text() -> None:
    note = _retirement_note(Method.SMTP_AUTH, AFTER)
    assert note is not None
    outlook = basic_auth_outlook(AFTER)
    assert note == f"{outlook.headline} {outlook.detail}"
    assert "5 January 2027" in note and "test message" in note and not READY.search(note)


def test_proof_text_changes_on_the_day() -> None:
    assert "still works" in basic_auth_proof(date(2026, 12, 30))
    after = basic_auth_proof(date(2026, 12, 31))
    assert "31 December 2026" in after and "proves nothing" in after


def test_security_defaults_blocker_still_wins() -> None:
    snapshot = replace(SNAPSHOT, security_defaults=Tri.YES)
    plan = build_plan(PROFILE, Method.SMTP_AUTH, Variant.STANDARD, snapshot, WW, today=AFTER)
    assert any("Security Defaults" in b for b in plan.blockers)
