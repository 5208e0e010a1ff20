"""The relay audit against the sandbox: its JSON must say exactly what the tenant holds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from PySide6.QtGui import QGuiApplication

from tests.m365_helpers import ADMIN, SCANNER
from tests.pdf_helpers import pages_text
from tests.tenant_clients import tenant_clients
from wizard.core.audit import AuditReport, audit_tenant
from wizard.core.findings import Severity
from wizard.core.methods import Tri
from wizard.core.steps import WizardStep
from wizard.core.tenant import MailboxState, TenantSnapshot
from wizard.export.findings_report import findings_pdf_bytes
from wizard.sandbox.server import Sandbox
from wizard.sandbox.tenant import (
    DEMO_DOMAIN,
    DEMO_SITE_IP,
    Account,
    InboundConnector,
    Mailbox,
    TenantState,
)
from wizard.services.audit import run_audit

NOV_2026 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
AUG_2027 = datetime(2027, 8, 1, 12, 0, tzinfo=UTC)
HVE = f"hve-scans@{DEMO_DOMAIN}"
RECEPTION = f"reception@{DEMO_DOMAIN}"


def plant_exposure(state: TenantState) -> None:
    """SMTP AUTH on for the tenant, one mailbox on, one off, the others inheriting;
    connectors of every risk; an HVE account; RejectDirectSend on."""
    with state.lock:
        state.smtp_client_auth_disabled = False
        state.mailbox(SCANNER).smtp_client_auth_disabled = False  # type: ignore[union-attr]
        state.mailbox(RECEPTION).smtp_client_auth_disabled = True  # type: ignore[union-attr]
        state.mailboxes.append(Mailbox(HVE, "Scans (HVE)", licensed=False, hve_account=True))
        state.accounts.append(Account(HVE, "Scans (HVE)"))
        state.reject_direct_send = True
        state.connectors += [
            InboundConnector(
                name="Office",
                sender_domains=[DEMO_DOMAIN],
                sender_ip_addresses=[DEMO_SITE_IP],
                restrict_domains_to_ip_addresses=True,
            ),
            InboundConnector(
                name="Hosted scanning",
                sender_domains=[DEMO_DOMAIN],
                tls_sender_certificate_name="relay.scanhost.example",
                restrict_domains_to_certificate=True,
            ),
            InboundConnector(
                name="Old copier range",
                sender_domains=["*"],
                sender_ip_addresses=["198.51.100.0/24"],
            ),
        ]


def audit(sandbox: Sandbox, now: datetime = NOV_2026) -> AuditReport:
    with tenant_clients(sandbox) as (admin, graph, account):
        return run_audit(admin, graph, sandbox.cloud, signed_in_as=account.upn, now=lambda: now)


def test_audit_json_matches_the_sandbox_state(sandbox: Sandbox) -> None:
    state = sandbox.state
    plant_exposure(state)
    report = audit(sandbox)
    data = report.to_json()
    assert data["schema_version"] == 1 and data["kind"] == "audit"
    assert data["tenant"] == {
        "id": state.tenant_id,
        "name": state.display_name,
        "signed_in_as": ADMIN,
    }
    assert data["generated_at"] == "2026-11-27T12:00:00+00:00"

    # Every mailbox (not the HVE mail user), with its own and its effective value.
    smtp = data["smtp_auth"]
    assert smtp["tenant_disabled"] is False
    expected = sorted(
        (
            {
                "address": m.address,
                "display_name": m.display_name,
                "own": m.smtp_client_auth_disabled,
                "effective": state.effective_smtp_auth_disabled(m),
                "inherited": m.smtp_client_auth_disabled is None,
                "smtp_auth_enabled": not state.effective_smtp_auth_disabled(m),
            }
            for m in state.mailboxes
            if not m.hve_account
        ),
        key=lambda m: str(m["address"]),
    )
    assert smtp["mailboxes"] == expected
    inheriting = [m["address"] for m in expected if m["inherited"]]
    assert inheriting == [
        f"admin@{DEMO_DOMAIN}",
        f"exchadmin@{DEMO_DOMAIN}",
        f"user@{DEMO_DOMAIN}",
    ]
    assert all(m["effective"] is False for m in expected if m["inherited"])

    connectors = {c["name"]: c for c in data["connectors"]}
    assert set(connectors) == {c.name for c in state.connectors}
    assert connectors["Office"]["at_risk"] is False
    assert connectors["Office"]["severity"] == "info"
    assert connectors["Office"]["recognises_by"] == "ip"
    assert connectors["Hosted scanning"]["at_risk"] is True
    assert connectors["Hosted scanning"]["certificate_domain_accepted"] is False
    assert "MC1226222" in connectors["Hosted scanning"]["risks"][0]
    assert connectors["Old copier range"]["at_risk"] is True
    assert connectors["Old copier range"]["addresses_accepted"] == 256

    assert data["reject_direct_send"] is True
    assert data["hve_accounts"] == [{"address": HVE, "display_name": "Scans (HVE)"}]
    dates = data["dates"]
    assert [d["date"] for d in dates] == ["2026-12-31", "2027-07-01", "2028-09-30"]
    exposed = sorted(str(m["address"]) for m in expected if m["smtp_auth_enabled"])
    assert sorted(dates[0]["affected"]) == exposed
    assert dates[0]["passed"] is False
    assert dates[2]["affected"] == [HVE]

    findings = {f["id"]: f for f in data["findings"]}
    assert findings["smtp-auth-tenant"]["severity"] == "warning"
    inherited = findings["smtp-auth-inherited"]
    assert inherited["severity"] == "warning"
    assert inherited["title"] == "3 mailbox(es) can use SMTP AUTH only because the tenant allows it"
    assert all(a in inherited["details"] for a in inheriting)
    assert findings["smtp-auth-mailboxes"]["details"].startswith(SCANNER)
    assert findings["basic-auth"]["severity"] == "warning"
    assert findings["basic-auth"]["step"] == "method"
    assert findings["reject-direct-send"]["severity"] == "ok"
    assert findings["connector:Hosted scanning"]["severity"] == "warning"
    assert findings["connector:Old copier range"]["severity"] == "warning"
    assert "hve" in findings
    assert data["at_risk"] is True
    # Worst first.
    order = [f["severity"] for f in data["findings"]]
    ranks = {"problem": 0, "warning": 1, "info": 2, "ok": 3}
    assert order == sorted(order, key=ranks.__getitem__)
    # Read only: the audit ran Get- cmdlets and nothing else.
    assert {c.cmdlet.split("-")[0] for c in state.admin_calls} == {"Get"}


def test_the_demo_tenant_inherits_an_off_switch(sandbox: Sandbox) -> None:
    report = audit(sandbox)
    data = report.to_json()
    assert data["smtp_auth"]["tenant_disabled"] is True
    assert all(
        m["inherited"] and m["effective"] is True and not m["smtp_auth_enabled"]
        for m in data["smtp_auth"]["mailboxes"]
    )
    findings = {f["id"]: f for f in data["findings"]}
    assert findings["smtp-auth-mailboxes"]["title"] == "No mailbox can use SMTP AUTH"
    assert findings["basic-auth"]["severity"] == "ok"
    # Direct send is open in the demo tenant: that is the one exposure.
    assert [f["id"] for f in data["findings"] if f["severity"] in ("warning", "problem")] == [
        "reject-direct-send"
    ]
    assert report.at_risk


def test_in_the_second_half_of_2027_password_mailboxes_are_a_problem(sandbox: Sandbox) -> None:
    plant_exposure(sandbox.state)
    report = audit(sandbox, now=AUG_2027)
    basic = next(f for f in report.findings if f.id == "basic-auth")
    assert basic.severity is Severity.PROBLEM
    assert basic.step is WizardStep.METHOD
    assert [d.passed for d in report.dates] == [True, True, False]


def _snapshot(**changes: Any) -> TenantSnapshot:
    base = TenantSnapshot(
        tenant_id="t",
        display_name="Fabrikam",
        accepted_domains=(),
        smtp_auth_disabled=True,
        allow_legacy_tls_clients=False,
        reject_direct_send=True,
        security_defaults=Tri.NO,
        mailboxes=(MailboxState("a@fabrikam.example", True, None, "A"),),
    )
    return TenantSnapshot(**{**base.__dict__, **changes})


def test_a_clean_tenant_is_not_at_risk() -> None:
    report = audit_tenant(_snapshot(), today=NOV_2026.date(), generated=NOV_2026)
    assert not report.at_risk
    assert {f.severity for f in report.findings} <= {Severity.OK, Severity.INFO}
    assert report.dates[0].impact == (
        "No mailbox can use SMTP AUTH, so nothing changes for this tenant."
    )


def test_an_unreadable_tenant_switch_is_not_taken_for_off() -> None:
    snapshot = _snapshot(smtp_auth_disabled=None)
    report = audit_tenant(snapshot, today=NOV_2026.date(), generated=NOV_2026)
    switch = next(f for f in report.findings if f.id == "smtp-auth-tenant")
    assert switch.severity is Severity.WARNING
    assert report.mailboxes[0].effective is None and not report.mailboxes[0].exposed
    assert report.to_json()["smtp_auth"]["mailboxes"][0]["smtp_auth_enabled"] is None


def test_the_audit_pdf_reads_back(sandbox: Sandbox, qapp: QGuiApplication) -> None:
    plant_exposure(sandbox.state)
    report = audit(sandbox)
    text = " ".join(pages_text(findings_pdf_bytes(report.document())))
    assert "RELAY AUDIT" in text and "Contoso (demo)" in text
    assert "FIRST TO FIX" in text
    assert "3 mailbox(es) can use SMTP AUTH only because the tenant allows it" in text
    assert "user@contoso.example" in text and "$null" in text
    assert "second half of 2027" in text
