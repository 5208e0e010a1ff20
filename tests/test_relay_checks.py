"""Troubleshoot's relay checks: runs, reachable, token; each names the step that fixes it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from wizard.core.findings import Severity
from wizard.core.steps import WizardStep
from wizard.core.troubleshoot.relay_checks import (
    RelayCheck,
    RelayHealth,
    TokenState,
    relay_findings,
)

HEALTHY = RelayHealth(
    configured=True,
    device_known=True,
    running=True,
    address="192.168.1.20:587",
    starttls=True,
    mailbox="scan@contoso.com",
    reachable=True,
    greeting="220 relay.contoso.lan ESMTP",
    starttls_offered=True,
    token=TokenState.OK,
)


def _by_id(health: RelayHealth) -> dict[str, tuple[Severity, WizardStep | None, str, bool]]:
    return {f.id: (f.severity, f.step, f.title, f.checked) for f in relay_findings(health)}


def test_a_healthy_relay_is_ok_throughout() -> None:
    found = _by_id(HEALTHY)
    assert [s for s, *_ in found.values()] == [Severity.OK] * 3
    assert list(found) == [str(c) for c in RelayCheck]


@pytest.mark.parametrize(
    "change,check,severity,step,title",
    [
        ({"configured": False}, RelayCheck.RUNS, Severity.PROBLEM, WizardStep.RELAY, "No relay"),
        ({"device_known": False}, RelayCheck.RUNS, Severity.PROBLEM, WizardStep.RELAY, "not know"),
        ({"running": False}, RelayCheck.RUNS, Severity.PROBLEM, WizardStep.RELAY, "not running"),
        ({"failed": 2}, RelayCheck.RUNS, Severity.WARNING, WizardStep.RELAY, "2 messages failed"),
        (
            {"reachable": False, "connect_error": "Connection refused"},
            RelayCheck.REACHABLE,
            Severity.PROBLEM,
            WizardStep.RELAY,
            "does not answer at 192.168.1.20:587",
        ),
        (
            {"reachable": False, "running": False},
            RelayCheck.REACHABLE,
            Severity.PROBLEM,
            WizardStep.OUTSIDE,
            "does not answer",
        ),
        (
            {"starttls_offered": False},
            RelayCheck.REACHABLE,
            Severity.PROBLEM,
            WizardStep.SHEETS,
            "no STARTTLS",
        ),
        (
            {"token": TokenState.MISSING},
            RelayCheck.TOKEN,
            Severity.PROBLEM,
            WizardStep.RELAY,
            "no sign-in",
        ),
        (
            {"token": TokenState.REFUSED},
            RelayCheck.TOKEN,
            Severity.PROBLEM,
            WizardStep.RELAY,
            "refused the relay's sign-in",
        ),
        (
            {"token": TokenState.UNREACHABLE},
            RelayCheck.TOKEN,
            Severity.WARNING,
            WizardStep.OUTSIDE,
            "cannot reach",
        ),
        (
            {
                "last_error": "535 5.7.139 Authentication unsuccessful, "
                "SmtpClientAuthentication is disabled for the Mailbox"
            },
            RelayCheck.TOKEN,
            Severity.PROBLEM,
            WizardStep.PLAN,
            "refuses SMTP AUTH",
        ),
    ],
)
def test_each_fault_names_its_fix(
    change: dict[str, object], check: RelayCheck, severity: Severity, step: WizardStep, title: str
) -> None:
    found = _by_id(replace(HEALTHY, **change))  # type: ignore[arg-type]
    got_severity, got_step, got_title, checked = found[str(check)]
    assert checked
    assert (got_severity, got_step) == (severity, step)
    assert title in got_title


def test_what_could_not_be_checked_says_so() -> None:
    found = _by_id(replace(HEALTHY, reachable=None, token=TokenState.UNKNOWN))
    assert not found[str(RelayCheck.REACHABLE)][3]
    assert not found[str(RelayCheck.TOKEN)][3]


def test_token_state_parses_what_the_relay_writes() -> None:
    assert TokenState.parse("refused") is TokenState.REFUSED
    assert TokenState.parse(None) is TokenState.UNKNOWN
    assert TokenState.parse("something new") is TokenState.UNKNOWN
