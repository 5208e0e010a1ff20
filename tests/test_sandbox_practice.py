"""Practice faults: each one changes the sandbox as the real event would, and back."""

from __future__ import annotations

import pytest

from tests.m365_helpers import SCANNER
from tests.test_troubleshoot import by_id, device, plant_office_connector, run
from wizard.core.findings import Severity
from wizard.core.methods import Method
from wizard.core.steps import WizardStep
from wizard.sandbox.practice import CHANGED_IP, FAULTS, Fault, Practice
from wizard.sandbox.server import Sandbox
from wizard.sandbox.tenant import demo_tenant


@pytest.mark.parametrize("info", FAULTS, ids=lambda info: info.fault.value)
def test_each_fault_goes_on_and_off_leaving_the_tenant_as_it_was(info: object) -> None:
    state = demo_tenant()
    before = repr(state)
    practice = Practice(state)
    fault = info.fault  # type: ignore[attr-defined]
    assert not practice.is_on(fault)
    practice.set(fault, True)
    assert practice.is_on(fault) and practice.planted() == [fault]
    assert repr(state) != before
    practice.set(fault, False)
    assert not practice.is_on(fault) and practice.planted() == []
    assert repr(state) == before


def test_ip_change_follows_through_dns(sandbox: Sandbox) -> None:
    Practice(sandbox.state).set(Fault.IP_CHANGED, True)
    assert sandbox.state.effective_relay_source_ip == CHANGED_IP


def test_troubleshoot_names_planted_faults_and_the_fixing_step(sandbox: Sandbox) -> None:
    practice = Practice(sandbox.state)
    plant_office_connector(sandbox)

    practice.set(Fault.PORT25_BLOCKED, True)
    ports = by_id(run(sandbox, device(sandbox, Method.CONNECTOR)))["ports"]
    assert ports.severity is Severity.PROBLEM and ports.step is WizardStep.METHOD
    practice.set(Fault.PORT25_BLOCKED, False)

    practice.set(Fault.IP_CHANGED, True)
    # Relayed outside: an OnPremises connector does not refuse internal mail from another
    # address (RestrictDomainsToIPAddresses applies to Partner connectors only).
    outside = device(sandbox, Method.CONNECTOR, recipient="it@fabrikam.example")
    auth = by_id(run(sandbox, outside, signed_in=True))["auth"]
    assert "5.7.64" in auth.details and auth.step is WizardStep.PLAN
    practice.set(Fault.IP_CHANGED, False)

    sandbox.state.mailbox(SCANNER).smtp_client_auth_disabled = False  # type: ignore[union-attr]
    practice = Practice(sandbox.state)
    practice.set(Fault.BASIC_RETIRED, True)
    auth = by_id(run(sandbox, device(sandbox, Method.SMTP_AUTH), password="demo"))["auth"]
    assert "5.7.30" in auth.details and auth.step is WizardStep.METHOD
    practice.set(Fault.BASIC_RETIRED, False)

    practice.set(Fault.MAILBOX_SMTP_AUTH_OFF, True)
    auth = by_id(run(sandbox, device(sandbox, Method.SMTP_AUTH), password="demo"))["auth"]
    assert "5.7.139" in auth.details and auth.step is WizardStep.PLAN
