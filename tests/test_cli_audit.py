"""`python main.py [--demo] audit [--json]`: sign-in, exit codes, the JSON document."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from wizard import app
from wizard.sandbox import server as sandbox_server
from wizard.sandbox.tenant import TenantState, demo_tenant

ROOT = Path(__file__).resolve().parent.parent


def test_demo_audit_json_as_a_subprocess(tmp_path: Path) -> None:
    env = dict(os.environ, RELAY_WIZARD_HOME=str(tmp_path), QT_QPA_PLATFORM="offscreen")
    result = subprocess.run(
        [sys.executable, "main.py", "--demo", "audit", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # The demo tenant accepts direct send (RejectDirectSend off): at risk.
    assert result.returncode == 1, result.stderr
    assert "signing in as admin@contoso.example" in result.stderr
    data = json.loads(result.stdout)
    state = demo_tenant()
    assert data["schema_version"] == 1
    assert data["tenant"]["id"] == state.tenant_id
    assert data["tenant"]["name"] == state.display_name
    assert data["tenant"]["signed_in_as"] == "admin@contoso.example"
    assert data["smtp_auth"]["tenant_disabled"] is state.smtp_client_auth_disabled
    assert data["smtp_auth"]["mailboxes"] == [
        {
            "address": m.address,
            "display_name": m.display_name,
            "own": m.smtp_client_auth_disabled,
            "effective": state.effective_smtp_auth_disabled(m),
            "inherited": True,
            "smtp_auth_enabled": False,
        }
        for m in sorted(state.mailboxes, key=lambda m: m.address)
    ]
    assert data["connectors"] == []
    assert data["reject_direct_send"] is False
    assert data["hve_accounts"] == []
    assert len(data["dates"]) == 3
    at_risk = [f["id"] for f in data["findings"] if f["severity"] in ("warning", "problem")]
    assert at_risk == ["reject-direct-send"]
    for finding in data["findings"]:
        assert set(finding) >= {"id", "severity", "title", "details", "fix", "step"}


def _clean_demo() -> TenantState:
    state = demo_tenant()
    state.reject_direct_send = True
    # Quick device-code polls (Entra says 5 seconds).
    state.device_code_interval = 1
    return state


def test_nothing_at_risk_exits_0_with_a_text_report(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sandbox_server, "demo_tenant", _clean_demo)
    code = app.main(["--demo", "audit"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    out = captured.out
    assert out.startswith("Relay audit of Contoso (demo)")
    assert "[ OK ] Anonymous mail that claims to be from your domains is refused" in out
    assert "scanner@contoso.example" in out and "(inherited from the tenant)" in out
    assert "end of December 2026" in out
    assert out.rstrip().endswith("Result: nothing at risk.")


def test_device_code_prints_the_code_and_page_to_stderr(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sandbox_server, "demo_tenant", _clean_demo)
    code = app.main(["--demo", "audit", "--device-code", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "/devicelogin and enter the code " in captured.err
    # A second code for the Graph client, as the browser path does a second round.
    assert "One more, for Microsoft Graph" in captured.err
    assert "Graph sign-in failed" not in captured.err
    assert json.loads(captured.out)["at_risk"] is False


def _no_entra_admin() -> TenantState:
    state = _clean_demo()
    for account in state.accounts:
        account.roles = set()
    return state


def test_a_role_group_member_without_an_entra_role_audits(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # No Global or Exchange Administrator left: the demo signs in as the member of
    # Organization Management, whose token names no admin role. Exchange lets it read.
    monkeypatch.setattr(sandbox_server, "demo_tenant", _no_entra_admin)
    code = app.main(["--demo", "audit", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    upn = "orgmgmt@contoso.example"
    assert f"signing in as {upn}" in captured.err
    assert f"note: {upn}: no Entra admin role in the token; Exchange will decide." in captured.err
    assert json.loads(captured.out)["tenant"]["signed_in_as"] == upn


def test_an_account_exchange_refuses_exits_3_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Neither an Entra admin role nor an Exchange role group: the sign-in works, and
    # Exchange's own refusal is the answer.
    monkeypatch.setattr(sandbox_server, "demo_state", _no_entra_admin)
    code = app.main(["--demo", "audit", "--json"])
    captured = capsys.readouterr()
    assert code == 3
    assert "no Entra admin role in the token; Exchange will decide" in captured.err
    assert re.search(
        r"error: admin@contoso\.example may not run Get-\S+ in Exchange\.", captured.err
    )
    assert "membership of the Organization Management role group" in captured.err
    assert "isn't assigned to any management roles" in captured.err  # Exchange's own words
    assert captured.out == ""


@pytest.mark.parametrize(
    "argv",
    [
        ["audit", "--client-id", "not-a-guid"],
        ["audit", "--tenant", "not a tenant!"],
    ],
)
def test_bad_usage_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert app.main(argv) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_unknown_cloud_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        app.main(["audit", "--cloud", "moon"])
    assert exit_info.value.code == 2


@pytest.mark.parametrize(
    "command",
    [
        ["send-test", "--method", "hve", "--from", "a@b.example", "--to", "c@b.example"],
        ["check-dns", "contoso.example"],
    ],
)
def test_demo_is_refused_where_it_would_not_apply(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert app.main(["--demo", *command]) == 2
    assert "--demo does not apply" in capsys.readouterr().err
