"""The Troubleshoot path against the sandbox, with faults planted in it.

Each planted fault (port 25 closed, the office's IP changed, a rule redirecting the
scanner's mail, Basic auth retired, a wrong server name, a device stuck on TLS 1.0)
must be found, explained in plain words, and point at the step that fixes it.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.m365_helpers import ADMIN, SCANNER
from tests.tenant_clients import tenant_clients
from wizard.core.clouds import Endpoint, device_facing
from wizard.core.device_settings import Security, device_settings
from wizard.core.findings import Finding, Severity
from wizard.core.mail_rules import RuleInfo, rule_effects
from wizard.core.methods import Method, Tri
from wizard.core.plan import connector_name
from wizard.core.steps import WizardStep
from wizard.core.transcript import Outcome
from wizard.core.troubleshoot.model import (
    CHECK_ORDER,
    DeviceUnderTest,
    PortProbe,
    PortRole,
    Reach,
    connect_target,
)
from wizard.core.troubleshoot.wire_checks import check_ports
from wizard.sandbox.server import Sandbox
from wizard.sandbox.tenant import DEMO_DOMAIN, DEMO_SITE_IP, InboundConnector, TransportRule
from wizard.services.cancel import CancelFlag, Cancelled
from wizard.services.exchange_admin import ExchangeAdmin
from wizard.services.relay_host import find_relay_host
from wizard.services.signin import NeedsSignIn
from wizard.services.smtp_test import Credentials, SendTestRequest, SmtpTest
from wizard.services.troubleshooter import (
    Troubleshooter,
    TroubleshootOptions,
    parse_rule,
)

FAST = TroubleshootOptions(connect_timeout=0.6, smtp_timeout=5.0, dns_timeout=1.0)
NEW_IP = "198.51.100.77"
PASSWORD = "Sc4nner-Passwört!"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def device(
    sandbox: Sandbox,
    method: Method,
    *,
    sender: str = SCANNER,
    tls12: Tri = Tri.YES,
    **changes: Any,
) -> DeviceUnderTest:
    """The device as its settings sheet has it (the worldwide names; the relay host as
    the wizard finds it: the demo domain's live MX in the sandbox's DNS)."""
    values = device_settings(
        method,
        device_facing(sandbox.cloud),
        domain=DEMO_DOMAIN,
        sender=sender,
        tls12=tls12,
        mx_host=find_relay_host(sandbox.cloud, DEMO_DOMAIN),
    )
    base = DeviceUnderTest.from_settings(values, tls12=tls12, known_site_ip=DEMO_SITE_IP)
    return DeviceUnderTest(**{**base.__dict__, **changes})


def run(
    sandbox: Sandbox,
    dut: DeviceUnderTest,
    *,
    password: str | None = None,
    signed_in: bool = False,
    seen: list[Finding] | None = None,
) -> Any:
    credentials = Credentials(password=password) if password else None

    def troubleshoot(admin: ExchangeAdmin | None) -> Any:
        return Troubleshooter(
            dut,
            sandbox.cloud,
            credentials=credentials,
            admin=admin,
            signed_in_as=ADMIN if admin else None,
            options=FAST,
            on_result=seen.append if seen is not None else None,
        ).run()

    if not signed_in:
        return troubleshoot(None)
    with tenant_clients(sandbox) as (admin, _graph, _account):
        return troubleshoot(admin)


def by_id(report: Any) -> dict[str, Finding]:
    return {f.id: f for f in report.findings}


def plant_office_connector(sandbox: Sandbox) -> None:
    """The connector the wizard's plan creates for the office's static IP."""
    with sandbox.state.lock:
        sandbox.state.connectors.append(
            InboundConnector(
                name=connector_name("Main office"),
                sender_domains=[DEMO_DOMAIN],
                sender_ip_addresses=[DEMO_SITE_IP],
                restrict_domains_to_ip_addresses=True,
            )
        )


def test_a_working_smtp_auth_device_passes_every_check_in_order(sandbox: Sandbox) -> None:
    sandbox.state.mailbox(SCANNER).smtp_client_auth_disabled = False  # type: ignore[union-attr]
    sandbox.state.account(SCANNER).password = PASSWORD  # type: ignore[union-attr]
    seen: list[Finding] = []
    report = run(
        sandbox,
        device(sandbox, Method.SMTP_AUTH),
        password=PASSWORD,
        signed_in=True,
        seen=seen,
    )
    # Reported one by one, in the order a connection is made.
    assert [f.id for f in seen] == [str(c) for c in CHECK_ORDER]
    found = by_id(report)
    assert found["resolve"].severity is Severity.OK
    assert "smtp.office365.com resolves" in found["resolve"].title
    assert found["ports"].severity is Severity.OK
    assert found["tls"].title == "STARTTLS works with TLS 1.3 and TLS 1.2"
    assert "refuses mail over TLS 1.1 and TLS 1.0" in found["tls"].details
    assert found["certificate"].severity is Severity.OK
    assert found["auth"].severity is Severity.OK
    assert "nothing was sent" in found["auth"].details.lower()
    assert found["connector"].title == "Not needed: the device signs in"
    assert found["rules"].severity is Severity.OK
    assert found["trace"].severity is Severity.WARNING  # nothing sent in the last 48 h
    assert report.headline is found["trace"]
    assert report.auth is not None and report.auth.outcome is Outcome.CHECKED
    # The sign-in check sent nothing: no message reached the tenant.
    assert sandbox.state.trace == []
    # The password never reaches the report.
    text = json.dumps(report.to_json())
    assert PASSWORD not in text and b64(PASSWORD) not in text
    assert report.to_json()["device"]["recipient"] == SCANNER


def test_port_25_blocked_is_named_with_the_method_step(sandbox: Sandbox) -> None:
    sandbox.state.mx_port_blocked = True
    began = time.monotonic()
    report = run(sandbox, device(sandbox, Method.CONNECTOR))
    elapsed = time.monotonic() - began
    ports = by_id(report)["ports"]
    assert ports.severity is Severity.PROBLEM
    assert ports.title == "Outbound port 25 is blocked on this network"
    assert "port 587 answered" in ports.details
    assert ports.step is WizardStep.METHOD
    assert "587" in ports.fix
    assert report.headline is ports
    # The later wire checks are not run against a port that does not answer.
    for check in ("tls", "certificate", "auth"):
        assert not by_id(report)[check].checked
    relay = next(p for p in report.ports if p.role is PortRole.RELAY)
    submission = next(p for p in report.ports if p.role is PortRole.SUBMISSION)
    assert sandbox.cloud.relay_endpoint is not None
    assert relay.reach is Reach.TIMEOUT and relay.port == sandbox.cloud.relay_endpoint.port
    assert submission.reach is Reach.OPEN and submission.port == sandbox.cloud.smtp.port
    # Both ports were tried side by side: one time limit, not two.
    assert elapsed < 3 * FAST.connect_timeout + 1.5


def test_port_25_blocked_does_not_matter_for_a_device_on_587(sandbox: Sandbox) -> None:
    sandbox.state.mx_port_blocked = True
    sandbox.state.mailbox(SCANNER).smtp_client_auth_disabled = False  # type: ignore[union-attr]
    report = run(sandbox, device(sandbox, Method.SMTP_AUTH), password="demo")
    ports = by_id(report)["ports"]
    assert ports.severity is Severity.INFO
    assert "does not matter for this device" in ports.details
    assert by_id(report)["auth"].severity is Severity.OK


def test_changed_office_ip_is_found_on_the_wire_and_in_the_connector(sandbox: Sandbox) -> None:
    plant_office_connector(sandbox)
    # The office got a new address from its provider.
    sandbox.state.site_public_ip = NEW_IP
    # Relay to the outside is what the connector is for; an OnPremises connector does not
    # refuse internal mail from other addresses (RestrictDomainsToIPAddresses is a
    # Partner-only switch), so the test message goes outside.
    report = run(
        sandbox,
        device(sandbox, Method.CONNECTOR, recipient="it@fabrikam.example"),
        signed_in=True,
    )
    found = by_id(report)
    auth = found["auth"]
    assert auth.severity is Severity.PROBLEM, auth
    assert "5.7.64" in auth.details
    assert auth.step is WizardStep.PLAN
    connector = found["connector"]
    assert connector.severity is Severity.PROBLEM
    assert NEW_IP in connector.title and DEMO_SITE_IP in connector.title
    assert connector.step is WizardStep.PLAN
    assert f"The site profile has {DEMO_SITE_IP}" in " ".join(connector.technical)
    assert report.new_site_ip == NEW_IP
    assert report.headline is not None and report.headline.step is WizardStep.PLAN
    data = report.to_json()
    assert data["public_ip"]["address"] == NEW_IP
    assert data["connectors"][0]["matches"] is None


def test_with_the_connector_updated_the_same_device_passes(sandbox: Sandbox) -> None:
    plant_office_connector(sandbox)
    report = run(
        sandbox,
        device(sandbox, Method.CONNECTOR, recipient="it@fabrikam.example"),
        signed_in=True,
    )
    found = by_id(report)
    assert found["auth"].severity is Severity.OK  # relayed to outside: the connector matched
    assert (
        found["connector"].title
        == f"Connector '{connector_name('Main office')}' recognises the office"
    )


def test_a_rule_that_redirects_the_scanners_mail_is_named(sandbox: Sandbox) -> None:
    state = sandbox.state
    state.mailbox(SCANNER).smtp_client_auth_disabled = False  # type: ignore[union-attr]
    with state.lock:
        state.transport_rules.append(
            TransportRule(
                name="Scans to the archive",
                priority=0,
                from_addresses=[SCANNER],
                actions={"RedirectMessageTo": ["archive@fabrikam.example"]},
            )
        )
        state.transport_rules.append(
            TransportRule(name="Disclaimer", priority=1, actions={"ApplyHtmlDisclaimerText": "x"})
        )
        state.transport_rules.append(
            TransportRule(
                name="Other sender",
                priority=2,
                from_addresses=[f"user@{DEMO_DOMAIN}"],
                actions={"Quarantine": True},
            )
        )
    # The scanner sent a scan earlier today; the rule redirected it.
    values = device_settings(Method.SMTP_AUTH, sandbox.cloud, domain=DEMO_DOMAIN, sender=SCANNER)
    request = SendTestRequest.from_settings(values, [f"user@{DEMO_DOMAIN}"], cloud=sandbox.cloud)
    assert SmtpTest(request, Credentials(password="demo")).run().sent

    report = run(sandbox, device(sandbox, Method.SMTP_AUTH), password="demo", signed_in=True)
    rules = by_id(report)["rules"]
    assert rules.severity is Severity.PROBLEM
    assert (
        rules.title
        == "Mail flow rule 'Scans to the archive' redirects it to archive@fabrikam.example"
    )
    assert "Disclaimer" in rules.details and "Other sender" not in rules.details
    assert rules.step is WizardStep.OUTSIDE
    assert "Mail flow > Rules" in rules.fix
    trace = by_id(report)["trace"]
    assert trace.severity is Severity.OK
    assert "archive@fabrikam.example" in trace.details
    assert [r.rule for r in report.rules] == ["Scans to the archive", "Disclaimer"]


def test_basic_auth_retired_is_explained_with_the_method_step(sandbox: Sandbox) -> None:
    sandbox.state.mailbox(SCANNER).smtp_client_auth_disabled = False  # type: ignore[union-attr]
    sandbox.state.basic_auth_retired = True
    report = run(sandbox, device(sandbox, Method.SMTP_AUTH), password="demo")
    auth = by_id(report)["auth"]
    assert auth.severity is Severity.PROBLEM
    assert auth.title == "Basic authentication is no longer accepted"
    assert "5.7.30" in auth.details
    assert auth.step is WizardStep.METHOD
    assert "OAuth" in auth.fix
    assert report.headline is auth


def test_smtp_auth_off_for_the_inheriting_mailbox_points_at_the_plan(sandbox: Sandbox) -> None:
    # The demo tenant has SMTP AUTH off and the scanner's mailbox inherits it.
    report = run(sandbox, device(sandbox, Method.SMTP_AUTH), password="demo")
    auth = by_id(report)["auth"]
    assert auth.title == "SMTP AUTH is switched off for the tenant"
    assert auth.step is WizardStep.PLAN


def test_without_password_or_sign_in_the_checks_say_what_they_need(sandbox: Sandbox) -> None:
    report = run(sandbox, device(sandbox, Method.SMTP_AUTH))
    found = by_id(report)
    assert not found["auth"].checked
    assert found["auth"].title == "Enter the password to check the sign-in"
    for check in ("connector", "rules", "trace"):
        assert not found[check].checked
        assert found[check].title == "Sign in to check this"
        assert found[check].step is WizardStep.SIGN_IN
    assert report.signed_in_as is None


def test_a_mistyped_server_name_is_caught_first(sandbox: Sandbox) -> None:
    report = run(sandbox, device(sandbox, Method.SMTP_AUTH, host="smtp.office356.com"))
    resolve = by_id(report)["resolve"]
    assert resolve.severity is Severity.PROBLEM
    assert resolve.title == "The server name smtp.office356.com does not exist"
    assert resolve.fix == "Enter smtp.office365.com as the server on the device."
    assert resolve.step is WizardStep.SHEETS
    assert by_id(report)["ports"].severity is Severity.PROBLEM
    assert report.headline is resolve


def test_a_device_stuck_on_old_tls_is_told_about_421_4_7_66(sandbox: Sandbox) -> None:
    dut = device(sandbox, Method.SMTP_AUTH, tls12=Tri.NO, host="smtp.office365.com", port=587)
    report = run(sandbox, dut, password="demo")
    tls = by_id(report)["tls"]
    assert tls.severity is Severity.PROBLEM
    assert tls.title == "The device's TLS 1.0/1.1 is refused"
    assert "4.7.66" in tls.details
    assert tls.step is WizardStep.PLAN
    # The device should use the legacy endpoint, which the name check says too.
    assert by_id(report)["resolve"].title == (
        "The device uses smtp.office365.com, not smtp-legacy.office365.com"
    )


def test_cancelling_stops_the_run(sandbox: Sandbox) -> None:
    sandbox.state.mx_port_blocked = True
    flag = CancelFlag()
    troubleshooter = Troubleshooter(
        device(sandbox, Method.CONNECTOR),
        sandbox.cloud,
        options=TroubleshootOptions(connect_timeout=30),
        cancel=flag,
        on_result=lambda f: flag.cancel() if f.id == "resolve" else None,
    )
    began = time.monotonic()
    with pytest.raises(Cancelled):
        troubleshooter.run()
    assert time.monotonic() - began < 3


def test_the_sandbox_maps_the_sheet_values_to_its_own_endpoints(sandbox: Sandbox) -> None:
    cloud = sandbox.cloud
    assert connect_target(device(sandbox, Method.SMTP_AUTH), cloud) == cloud.smtp
    assert connect_target(device(sandbox, Method.HVE), cloud) == cloud.hve_smtp
    assert connect_target(device(sandbox, Method.DIRECT_SEND), cloud) == cloud.relay_endpoint
    typed = device(sandbox, Method.SMTP_AUTH, host="mail.example.net", port=2525)
    assert connect_target(typed, cloud) == Endpoint("mail.example.net", 2525)


# --- pure pieces ------------------------------------------------------------------------------


def _dut(**changes: Any) -> DeviceUnderTest:
    base = DeviceUnderTest(
        method=Method.CONNECTOR,
        sender=SCANNER,
        host="contoso-example.mail.protection.outlook.com",
        port=25,
        security=Security.STARTTLS,
        tls_required=True,
        auth=device_settings(
            Method.CONNECTOR, device_facing_cloud(), domain=DEMO_DOMAIN, sender=SCANNER
        ).auth,
    )
    return DeviceUnderTest(**{**base.__dict__, **changes})


def device_facing_cloud() -> Any:
    from wizard.core.clouds import CLOUDS, CloudId

    return CLOUDS[CloudId.WORLDWIDE]


def test_ports_timeout_on_both_is_no_way_out() -> None:
    target = Endpoint("mx.example", 25)
    probes = [
        PortProbe(PortRole.RELAY, "mx.example", 25, Reach.TIMEOUT, 5.0),
        PortProbe(PortRole.SUBMISSION, "smtp.example", 587, Reach.TIMEOUT, 5.0),
    ]
    finding = check_ports(_dut(), probes, target)
    assert finding.title == "Microsoft 365 does not answer from this network"
    assert finding.step is WizardStep.OUTSIDE
    refused = [PortProbe(PortRole.RELAY, "mx.example", 25, Reach.REFUSED, 0.01)]
    assert check_ports(_dut(), refused, target).title == "The connection was refused"


def test_rule_conditions_exceptions_and_test_mode() -> None:
    dut = _dut()
    rules = [
        RuleInfo(
            "By domain", 0, sender_domains=("contoso.example",), actions=(("Quarantine", ""),)
        ),
        RuleInfo(
            "Excepted",
            1,
            sender_domains=("contoso.example",),
            except_from=(SCANNER,),
            actions=(("DeleteMessage", ""),),
        ),
        RuleInfo("Audit only", 2, mode="Audit", actions=(("RedirectMessageTo", "x@y.example"),)),
        RuleInfo("Off", 3, enabled=False, actions=(("DeleteMessage", ""),)),
        RuleInfo(
            "Other IPs",
            4,
            sender_ip_ranges=("192.0.2.0/24",),
            actions=(("DeleteMessage", ""),),
        ),
        RuleInfo(
            "Office IP, only for big mail",
            5,
            sender_ip_ranges=(f"{DEMO_SITE_IP}/32",),
            other_conditions=("MessageSizeOver",),
            actions=(("RejectMessageReasonText", "Too big"),),
        ),
        RuleInfo("Spam", 6, from_words=("scan",), actions=(("SetSCL", "9"),)),
    ]
    effects = rule_effects(dut.sender, rules, DEMO_SITE_IP, signs_in=dut.signs_in)
    assert [e.rule for e in effects] == [
        "By domain",
        "Audit only",
        "Office IP, only for big mail",
        "Spam",
    ]
    by_rule = {e.rule: e for e in effects}
    assert by_rule["By domain"].severity is Severity.PROBLEM
    assert by_rule["Audit only"].severity is Severity.INFO and by_rule["Audit only"].test_mode
    big = by_rule["Office IP, only for big mail"]
    assert big.severity is Severity.WARNING and "MessageSizeOver is met" in big.condition
    assert by_rule["Spam"].severity is Severity.WARNING
    assert "SCL 9" in by_rule["Spam"].effects[0]


def test_exchange_rule_json_is_read_with_its_many_empty_fields() -> None:
    item = {
        "Name": "Scans to the archive",
        "Identity": "Scans to the archive",
        "Priority": 3,
        "State": "Enabled",
        "Mode": "Enforce",
        "From": [SCANNER],
        "SenderDomainIs": None,
        "SenderIpRanges": [],
        "SentTo": None,
        "SubjectContainsWords": ["scan"],
        "ExceptIfFrom": None,
        "RedirectMessageTo": ["archive@fabrikam.example"],
        "Quarantine": False,
        "DeleteMessage": False,
        "SetSCL": None,
        "StopRuleProcessing": True,
        "Comments": "",
    }
    rule = parse_rule(item)
    assert rule.name == "Scans to the archive" and rule.priority == 3 and rule.enabled
    assert rule.from_addresses == (SCANNER,)
    assert rule.other_conditions == ("SubjectContainsWords",)
    assert rule.actions == (
        ("RedirectMessageTo", "archive@fabrikam.example"),
        ("StopRuleProcessing", ""),
    )
    disabled = parse_rule({**item, "State": "Disabled"})
    assert not disabled.enabled


def test_recent_trace_window_is_bounded(sandbox: Sandbox) -> None:
    """Old messages (before the window) are not counted as recent."""
    from wizard.sandbox.tenant import TraceEntry, TraceStatus

    with sandbox.state.lock:
        sandbox.state.trace.append(
            TraceEntry(
                message_id="<old@contoso.example>",
                sender=SCANNER,
                recipients=[f"user@{DEMO_DOMAIN}"],
                subject="Scan from last week",
                status=TraceStatus.FAILED,
                from_ip=DEMO_SITE_IP,
                endpoint="submission",
                received=datetime.now(UTC) - timedelta(days=5),
            )
        )
        sandbox.state.trace.append(
            TraceEntry(
                message_id="<new@contoso.example>",
                sender=SCANNER,
                recipients=[f"user@{DEMO_DOMAIN}"],
                subject="Scan from this morning",
                status=TraceStatus.QUARANTINED,
                from_ip=DEMO_SITE_IP,
                endpoint="submission",
                received=datetime.now(UTC) - timedelta(hours=3),
            )
        )
    report = run(sandbox, device(sandbox, Method.SMTP_AUTH), signed_in=True)
    trace = by_id(report)["trace"]
    assert [m.subject for m in report.messages] == ["Scan from this morning"]
    assert trace.title == "The device's latest message is held in quarantine"
    assert trace.step is WizardStep.OUTSIDE


def test_oauth_sign_in_is_checked_with_the_token(sandbox: Sandbox) -> None:
    sandbox.state.mailbox(SCANNER).smtp_client_auth_disabled = False  # type: ignore[union-attr]
    token = sandbox.issue_token(SCANNER, [sandbox.cloud.smtp_oauth_scope])
    report = Troubleshooter(
        device(sandbox, Method.SMTP_AUTH_OAUTH),
        sandbox.cloud,
        credentials=Credentials(token_provider=lambda: token),
        options=FAST,
    ).run()
    auth = by_id(report)["auth"]
    assert auth.severity is Severity.OK
    assert "Signed in with XOAUTH2 as scanner@contoso.example" in auth.technical
    text = json.dumps(report.to_json())
    assert token not in text and token[:40] not in text


def test_oauth_without_a_mailbox_sign_in_says_so(sandbox: Sandbox) -> None:
    def no_token() -> str:
        raise NeedsSignIn("You are not signed in.", "", "Sign in first.")

    report = Troubleshooter(
        device(sandbox, Method.SMTP_AUTH_OAUTH),
        sandbox.cloud,
        credentials=Credentials(token_provider=no_token),
        options=FAST,
    ).run()
    auth = by_id(report)["auth"]
    assert not auth.checked
    assert auth.title == f"Sign in as {SCANNER} to check the sign-in"
