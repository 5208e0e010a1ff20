"""Message trace after a test message, against the sandbox's admin API (real HTTP)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from wizard.core.device_settings import device_settings
from wizard.core.methods import Method
from wizard.core.transcript import Outcome, SmtpTestResult
from wizard.sandbox.tenant import DEMO_DOMAIN, TraceStatus, TransportRule
from wizard.services.exchange_admin import ExchangeAdmin
from wizard.services.http import RetryPolicy
from wizard.services.message_trace import (
    MAX_DELAY,
    MessageTraceSearch,
    TraceProgress,
    TraceState,
)
from wizard.services.smtp_test import SendTestRequest, SmtpTest

ADMIN = f"admin@{DEMO_DOMAIN}"
SCANNER = f"scanner@{DEMO_DOMAIN}"
USER = f"user@{DEMO_DOMAIN}"


@dataclass
class FakeTime:
    """A Cancellation whose waits advance a clock instead of sleeping."""

    now: float = 1000.0
    waits: list[float] = field(default_factory=list)
    stop: bool = False
    on_wait: Callable[[], None] | None = None

    @property
    def cancelled(self) -> bool:
        return self.stop

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        if self.on_wait is not None:
            self.on_wait()
        return self.stop

    def clock(self) -> float:
        return self.now


def _admin(sandbox: Any, upn: str = ADMIN) -> ExchangeAdmin:
    cloud = sandbox.cloud

    def token(force_refresh: bool = False) -> str:
        issued: str = sandbox.issue_token(upn, [cloud.exchange_scope])
        return issued

    return ExchangeAdmin(
        cloud,
        sandbox.state.tenant_id,
        upn,
        token,
        retry=RetryPolicy(server_error_backoff=0.01),
    )


def _send(sandbox: Any, to: str = USER) -> SmtpTestResult:
    # The tenant's MX host, as the wizard learns it from the tenant (never computed).
    mx_host = next(d.mx_host for d in sandbox.state.accepted_domains if d.name == DEMO_DOMAIN)
    settings = device_settings(
        Method.DIRECT_SEND, sandbox.cloud, domain=DEMO_DOMAIN, sender=SCANNER, mx_host=mx_host
    )
    request = SendTestRequest.from_settings(settings, [to], cloud=sandbox.cloud, timeout=3)
    result = SmtpTest(request).run()
    assert result.outcome is Outcome.SENT, result.transcript_text()
    return result


def _search(
    sandbox: Any, result: SmtpTestResult, fake: FakeTime, **kwargs: Any
) -> MessageTraceSearch:
    return MessageTraceSearch(
        kwargs.pop("admin", None) or _admin(sandbox),
        sender=result.sender,
        message_id=result.message_id,
        token=result.token,
        sent_at=result.started,
        cancel=fake,
        clock=fake.clock,
        **kwargs,
    )


def test_finds_the_delivered_message(sandbox: Any) -> None:
    result = _send(sandbox)
    fake = FakeTime()
    found = _search(sandbox, result, fake).run()
    assert found.state is TraceState.DELIVERED and found.final
    assert found.attempts == 1 and fake.waits == []
    assert [r.recipient for r in found.rows] == [USER]
    assert found.rows[0].from_ip == sandbox.state.site_public_ip
    assert found.title == "The message reached the mailbox"
    assert found.to_json()["state"] == "delivered"


def test_pending_then_delivered(sandbox: Any) -> None:
    result = _send(sandbox)
    with sandbox.state.lock:
        entry = next(e for e in sandbox.state.trace if e.message_id == result.message_id)
        entry.status = TraceStatus.PENDING
    progress: list[TraceProgress] = []

    def deliver_on_second_wait() -> None:
        if len(fake.waits) == 2:
            with sandbox.state.lock:
                entry.status = TraceStatus.DELIVERED

    fake = FakeTime(on_wait=deliver_on_second_wait)
    found = _search(sandbox, result, fake, first_delay=5, on_progress=progress.append).run()
    assert found.state is TraceState.DELIVERED
    assert found.attempts == 3 and fake.waits == [5, 10]
    assert [p.state for p in progress] == [TraceState.PENDING, TraceState.PENDING]


def test_not_found_gives_up_after_the_time_limit(sandbox: Any) -> None:
    result = _send(sandbox)
    with sandbox.state.lock:
        sandbox.state.trace.clear()  # Microsoft's trace has not caught up yet
    fake = FakeTime()
    found = _search(sandbox, result, fake, timeout=300, first_delay=5).run()
    assert found.state is TraceState.NOT_FOUND and not found.final
    # Growing pauses, capped, and never beyond the time limit.
    assert fake.waits[:4] == [5, 10, 20, 40]
    assert max(fake.waits) <= MAX_DELAY and sum(fake.waits) == pytest.approx(300)
    assert result.token in found.detail


def test_quarantined_by_a_rule(sandbox: Any) -> None:
    with sandbox.state.lock:
        sandbox.state.transport_rules.append(
            TransportRule(
                "Hold scanner mail", from_addresses=[SCANNER], actions={"Quarantine": True}
            )
        )
    result = _send(sandbox)
    found = _search(sandbox, result, FakeTime()).run()
    assert found.state is TraceState.QUARANTINED and found.final
    assert "Quarantined" in found.detail


def test_failed_delivery(sandbox: Any) -> None:
    with sandbox.state.lock:
        sandbox.state.transport_rules.append(
            TransportRule(
                "Drop scanner mail", from_addresses=[SCANNER], actions={"DeleteMessage": True}
            )
        )
    result = _send(sandbox)
    found = _search(sandbox, result, FakeTime()).run()
    assert found.state is TraceState.FAILED
    assert found.rows and found.rows[0].status == "Failed"


def test_without_the_admin_role_the_trace_is_unavailable(sandbox: Any) -> None:
    result = _send(sandbox)
    fake = FakeTime()
    found = _search(sandbox, result, fake, admin=_admin(sandbox, USER)).run()
    assert found.state is TraceState.UNAVAILABLE and fake.waits == []
    assert "admin" in found.detail.lower()


def test_cancel_stops_the_search(sandbox: Any) -> None:
    result = _send(sandbox)
    with sandbox.state.lock:
        sandbox.state.trace.clear()

    def stop() -> None:
        fake.stop = True

    fake = FakeTime(on_wait=stop)
    found = _search(sandbox, result, fake).run()
    assert found.state is TraceState.CANCELLED and len(fake.waits) == 1
