"""`tenant-probe`: every assumption checked read-only, and each refusal reported.

The demo tenant answers as a real tenant is expected to, so every check holds there;
each test then sets the sandbox to refuse one thing and checks that the probe names it
(and only it) as not holding, and that nothing in the tenant changed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from wizard import app
from wizard.sandbox import server as sandbox_server
from wizard.sandbox.tenant import (
    HttpFault,
    TenantState,
    TraceEntry,
    TraceStatus,
    demo_tenant,
)

ROOT = Path(__file__).resolve().parent.parent

WRITE_VERBS = ("New-", "Set-", "Add-", "Remove-", "Enable-", "Disable-")


def _probe(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    change: Callable[[TenantState], None] = lambda state: None,
) -> tuple[int, dict[str, Any], TenantState]:
    states: list[TenantState] = []

    def tenant() -> TenantState:
        state = demo_tenant()
        change(state)
        states.append(state)
        return state

    monkeypatch.setattr(sandbox_server, "demo_tenant", tenant)
    code = app.main(["--demo", "tenant-probe", "--json"])
    captured = capsys.readouterr()
    assert captured.out.strip(), captured.err
    return code, json.loads(captured.out), states[0]


def _by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in report["checks"]}


def _read_only(state: TenantState) -> None:
    calls = [c.cmdlet for c in state.admin_calls]
    assert calls, "the probe asked Exchange nothing"
    assert not [c for c in calls if c.startswith(WRITE_VERBS)], calls


def test_demo_probe_as_a_subprocess_holds_everywhere(tmp_path: Path) -> None:
    env = dict(os.environ, RELAY_WIZARD_HOME=str(tmp_path), QT_QPA_PLATFORM="offscreen")
    result = subprocess.run(
        [sys.executable, "main.py", "--demo", "tenant-probe", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["schema_version"] == 1 and data["kind"] == "tenant-probe"
    assert data["signed_in_as"] == "admin@contoso.example"
    failed = [c for c in data["checks"] if c["held"] is False]
    assert failed == []
    ids = {c["id"] for c in data["checks"]}
    assert {
        "admin-read",
        "admin-host",
        "secure-string-key",
        "token-admin",
        "token-admin-app-smtp",
        "graph-organization",
        "graph-domains",
        "graph-security-defaults",
        "graph-service-records",
        "mx-values",
        "dkim-values",
        "trace-v2",
        "trace-detail-v2",
    } <= ids
    assert data["summary"]["did_not_hold"] == 0
    for check in data["checks"]:
        assert check["assumption"] and set(check) >= {"area", "held", "observed", "evidence"}


def test_text_report_says_nothing_changed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sandbox_server, "demo_tenant", demo_tenant)
    code = app.main(["--demo", "tenant-probe"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Nothing was changed in the tenant." in out
    assert "[FAIL]" not in out and "Result: " in out


def test_graph_refusing_security_defaults_is_reported(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(state: TenantState) -> None:
        state.http_faults.append(HttpFault(403, match="identitySecurityDefaults"))

    code, report, state = _probe(monkeypatch, capsys, refuse)
    checks = _by_id(report)
    assert code == 1
    assert checks["graph-security-defaults"]["held"] is False
    assert checks["graph-domains"]["held"] is True
    _read_only(state)


def test_a_dkim_record_that_is_not_the_tenants_value_is_reported(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    domain = demo_tenant().default_domain

    def wrong_dkim(state: TenantState) -> None:
        name = f"selector1._domainkey.{domain}"
        state.dns_records = [r for r in state.dns_records if r.name != name]
        state.set_record(name, "CNAME", f"selector1-guess._domainkey.{domain}")

    code, report, _ = _probe(monkeypatch, capsys, wrong_dkim)
    dkim = _by_id(report)["dkim-values"]
    assert code == 1 and dkim["held"] is False
    assert f"selector1._domainkey.{domain}" in dkim["observed"]


def test_an_mx_host_the_tenant_names_that_does_not_resolve_is_reported(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_address(state: TenantState) -> None:
        hosts = {d.mx_host for d in state.accepted_domains if d.mx_host}
        state.dns_records = [
            r for r in state.dns_records if not (r.rtype == "A" and r.name in hosts)
        ]

    code, report, _ = _probe(monkeypatch, capsys, no_address)
    mx = _by_id(report)["mx-values"]
    assert code == 1 and mx["held"] is False, mx


def test_a_trace_cmdlet_error_is_reported_and_the_rest_still_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(state: TenantState) -> None:
        state.http_faults.append(HttpFault(400, match="Get-MessageTraceV2"))

    code, report, _ = _probe(monkeypatch, capsys, refuse)
    checks = _by_id(report)
    assert checks["trace-v2"]["held"] is False
    assert checks["trace-detail-v2"]["held"] is None
    assert checks["dkim-values"]["held"] is True
    assert code == 1


def test_a_module_file_without_the_key_is_reported(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # HVE set-up needs Exchange's public key from the module file; a tenant whose module
    # file cannot be read says so here, before anyone creates an HVE account.
    def refuse(state: TenantState) -> None:
        # Each fault is used up by one request: the host discovery's, then the key's.
        state.http_faults += [HttpFault(404, match="EXOModuleFile") for _ in range(4)]

    code, report, _ = _probe(monkeypatch, capsys, refuse)
    checks = _by_id(report)
    assert checks["secure-string-key"]["held"] is False, checks["secure-string-key"]
    assert "key" in checks["secure-string-key"]["observed"]
    assert checks["admin-read"]["held"] is True
    assert "front door" in checks["admin-host"]["observed"]
    assert code == 1


def test_every_check_holds_on_a_tenant_with_mail_history(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def history(state: TenantState) -> None:
        state.trace.append(
            TraceEntry(
                message_id="<earlier@contoso.example>",
                sender="scanner@contoso.example",
                recipients=["reception@contoso.example"],
                subject="Scan",
                status=TraceStatus.DELIVERED,
                from_ip=state.site_public_ip,
                endpoint="mx",
                received=datetime.now(UTC) - timedelta(hours=1),
            )
        )

    code, report, state = _probe(monkeypatch, capsys, history)
    not_held = [c for c in report["checks"] if c["held"] is not True]
    assert not_held == [], not_held
    assert code == 0
    assert _by_id(report)["trace-detail-v2"]["evidence"]
    _read_only(state)
