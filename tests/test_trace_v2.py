"""Message trace V2: the detail cmdlet for the reason, the lag, the query limits.

Against the sandbox's admin API (real HTTP). Time in the search goes through a fake
clock; the sandbox's lag is moved by moving the message's received time, never by
waiting.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.test_message_trace import ADMIN, SCANNER, FakeTime, _admin, _search, _send
from wizard.core.errors import Throttled
from wizard.sandbox.tenant import (
    DEMO_TRACE_DELAY,
    TenantState,
    TraceEntry,
    TraceStatus,
    TransportRule,
    demo_tenant,
)
from wizard.services.exchange_admin import ExchangeAdmin, ExchangeCommandError
from wizard.services.http import RetryPolicy
from wizard.services.message_trace import (
    DETAIL_CMDLET,
    TracePacer,
    TraceState,
    recent_messages,
)


def _calls(sandbox: Any, cmdlet: str) -> list[dict[str, Any]]:
    with sandbox.state.lock:
        return [c.parameters for c in sandbox.state.admin_calls if c.cmdlet == cmdlet]


def _no_retry_admin(sandbox: Any) -> ExchangeAdmin:
    cloud = sandbox.cloud
    return ExchangeAdmin(
        cloud,
        sandbox.state.tenant_id,
        ADMIN,
        lambda force_refresh=False: sandbox.issue_token(ADMIN, [cloud.exchange_scope]),
        retry=RetryPolicy(throttle_retries=0, server_error_backoff=0.01),
    )


def test_demo_tenant_lags_briefly_and_a_bare_state_not_at_all() -> None:
    assert 20 <= demo_tenant().trace_delay == DEMO_TRACE_DELAY <= 40
    assert TenantState("t", "T", "t.onmicrosoft.com").trace_delay == 0


def test_failure_reason_comes_from_the_detail_cmdlet(sandbox: Any) -> None:
    with sandbox.state.lock:
        sandbox.state.transport_rules.append(
            TransportRule(
                "Drop scanner mail", from_addresses=[SCANNER], actions={"DeleteMessage": True}
            )
        )
    result = _send(sandbox)
    found = _search(sandbox, result, FakeTime()).run()
    assert found.state is TraceState.FAILED
    assert "Deleted by the mail flow rule 'Drop scanner mail'" in found.detail
    (detail_call,) = _calls(sandbox, DETAIL_CMDLET)
    row = found.rows[0]
    assert detail_call == {
        "MessageTraceId": row.message_trace_id,
        "RecipientAddress": row.recipient,
    }
    assert _calls(sandbox, "Get-MessageTraceV2")
    assert not _calls(sandbox, "Get-MessageTrace")


def test_detail_cmdlet_rows_carry_event_action_detail(sandbox: Any) -> None:
    with sandbox.state.lock:
        sandbox.state.transport_rules.append(
            TransportRule(
                "Hold scanner mail", from_addresses=[SCANNER], actions={"Quarantine": True}
            )
        )
    _send(sandbox)
    entry = sandbox.state.trace[-1]
    events = (
        _admin(sandbox)
        .invoke(
            DETAIL_CMDLET,
            {"MessageTraceId": entry.message_trace_id, "RecipientAddress": entry.recipients[0]},
        )
        .values
    )
    assert [e["Event"] for e in events] == ["Receive", "Quarantine"]
    assert events[-1]["Action"] == "Quarantine"
    assert "Hold scanner mail" in events[-1]["Detail"]
    # Both parameters are mandatory, as in Exchange.
    with pytest.raises(ExchangeCommandError) as refused:
        _admin(sandbox).invoke(DETAIL_CMDLET, {"MessageTraceId": entry.message_trace_id})
    assert "missing mandatory parameters: RecipientAddress" in refused.value.server_text


def test_rows_are_invisible_before_the_delay_and_present_after(sandbox: Any) -> None:
    sandbox.state.trace_delay = 600.0  # Microsoft: 5 to 10 minutes
    result = _send(sandbox)
    fake = FakeTime()
    found = _search(sandbox, result, fake, timeout=60, first_delay=5).run()
    assert found.state is TraceState.NOT_FOUND
    assert "5 to 10 minutes" in found.detail
    with sandbox.state.lock:
        for entry in sandbox.state.trace:
            entry.received -= timedelta(seconds=601)
    found = _search(sandbox, result, FakeTime()).run()
    assert found.state is TraceState.DELIVERED and found.attempts == 1


def test_sandbox_refuses_more_than_ten_days(sandbox: Any) -> None:
    now = datetime.now(UTC)
    with pytest.raises(ExchangeCommandError) as refused:
        _admin(sandbox).invoke(
            "Get-MessageTraceV2",
            {
                "StartDate": (now - timedelta(days=11)).isoformat(),
                "EndDate": now.isoformat(),
            },
        )
    assert "can't be more than 10 days" in refused.value.server_text


def test_sandbox_refuses_a_result_size_over_5000(sandbox: Any) -> None:
    with pytest.raises(ExchangeCommandError) as refused:
        _admin(sandbox).invoke("Get-MessageTraceV2", {"ResultSize": 5001})
    assert "outside the range 1-5000" in refused.value.server_text


def test_sandbox_throttles_the_101st_query_in_five_minutes(sandbox: Any) -> None:
    now = datetime.now(UTC)
    with sandbox.state.lock:
        # 99 recent queries and some older than the running window.
        sandbox.state.trace_queries = [now - timedelta(minutes=6)] * 50 + [now] * 99
    admin = _no_retry_admin(sandbox)
    admin.invoke("Get-MessageTraceV2", {})  # the 100th is still answered
    with pytest.raises(Throttled):
        admin.invoke("Get-MessageTraceV2", {})
    with pytest.raises(Throttled):
        admin.invoke(DETAIL_CMDLET, {"MessageTraceId": "x", "RecipientAddress": "a@b.example"})


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("Get-MessageTrace", "Get-MessageTraceV2"),
        ("Get-MessageTraceDetail", "Get-MessageTraceDetailV2"),
    ],
)
def test_retired_cmdlets_answer_as_exchange_does(sandbox: Any, old: str, new: str) -> None:
    with pytest.raises(ExchangeCommandError) as refused:
        _admin(sandbox).invoke(old, {"SenderAddress": SCANNER})
    text = refused.value.server_text
    assert text.startswith(f"{old} will start deprecating on September 1st, 2025.")
    assert text.endswith(f"to switch to {new}.")


def test_pacer_keeps_a_session_below_the_limit() -> None:
    fake = FakeTime()
    pacer = TracePacer(limit=90, window=300.0, clock=fake.clock)
    for _ in range(90):
        pacer.acquire(fake)
    assert fake.waits == [] and pacer.used == 90
    pacer.acquire(fake)  # the 91st waits until the first leaves the window
    assert fake.waits == [pytest.approx(300.0)]
    assert pacer.used <= 90


def test_polling_shares_the_pacer_and_waits_instead_of_being_throttled(sandbox: Any) -> None:
    result = _send(sandbox)
    with sandbox.state.lock:
        sandbox.state.trace.clear()
    fake = FakeTime()
    pacer = TracePacer(limit=3, window=300.0, clock=fake.clock)
    found = _search(
        sandbox, result, fake, timeout=30, first_delay=1, max_delay=1, pacer=pacer
    ).run()
    assert found.state is TraceState.NOT_FOUND
    # Three queries, then the fourth waited for the first to leave the 300 s window.
    assert max(fake.waits) == pytest.approx(298.0, abs=1.0)
    assert len(_calls(sandbox, "Get-MessageTraceV2")) <= 4


def test_recent_messages_asks_ten_days_at_a_time_and_continues_full_answers(
    sandbox: Any,
) -> None:
    now = datetime.now(UTC)
    with sandbox.state.lock:
        for i in range(5):
            sandbox.state.trace.append(
                TraceEntry(
                    message_id=f"<m{i}@x>",
                    sender=SCANNER,
                    recipients=[f"user{i}@contoso.example"],
                    subject=f"scan {i}",
                    status=TraceStatus.DELIVERED,
                    from_ip="203.0.113.25",
                    endpoint="mx",
                    received=now - timedelta(days=1 + (i % 2) * 12),
                )
            )
    fake = FakeTime()
    rows = recent_messages(
        _admin(sandbox),
        SCANNER,
        since=now - timedelta(days=20),
        until=now,
        cancel=fake,
        pacer=TracePacer(clock=fake.clock),
        page_size=2,
    )
    assert sorted(r.recipient for r in rows) == [f"user{i}@contoso.example" for i in range(5)]
    calls = _calls(sandbox, "Get-MessageTraceV2")
    for call in calls:
        start = datetime.fromisoformat(call["StartDate"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(call["EndDate"].replace("Z", "+00:00"))
        assert end - start <= timedelta(days=10)
        assert call["ResultSize"] <= 5000
    assert any("StartingRecipientAddress" in c for c in calls)


def test_waiting_texts_say_rows_appear_after_5_to_10_minutes() -> None:
    from wizard.services.message_trace import not_traced_yet_text, waiting_text

    assert "5 to 10 minutes" in waiting_text(2, 10.0) and "10 seconds" in waiting_text(2, 10.0)
    assert "5 to 10 minutes" in not_traced_yet_text("RW-TOKEN")
    assert "RW-TOKEN" in not_traced_yet_text("RW-TOKEN")
