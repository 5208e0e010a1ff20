"""Graph refusing or throttling the Security Defaults read (issue 14, item 8): the value
stays unknown with its reason in `unreadable` (so the audit shows it), and a Retry-After
longer than the wizard would ever wait is handed back at once, not waited out."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from typing import Any

import pytest

from tests.tenant_clients import tenant_clients
from wizard.core.audit import audit_tenant
from wizard.core.methods import Tri
from wizard.sandbox.tenant import DEMO_DOMAIN, HttpFault
from wizard.services.tenant_check import read_tenant

SD_PATH = "identitySecurityDefaults"


class RecordedWaits:
    """A Cancellation whose waits return at once and are written down."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self._lock = threading.Lock()

    @property
    def cancelled(self) -> bool:
        return False

    def wait(self, seconds: float) -> bool:
        with self._lock:
            self.waits.append(seconds)
        return False


@pytest.mark.parametrize(
    ("faults", "reason"),
    [
        ([HttpFault(403, match=SD_PATH)], "may not read this"),
        ([HttpFault(401, match=SD_PATH), HttpFault(401, match=SD_PATH)], "did not accept"),
        ([HttpFault(429, retry_after=3600, match=SD_PATH)], "Wait 60 minutes"),
    ],
    ids=["403", "401", "429-an-hour"],
)
def test_security_defaults_unreadable_is_said_and_never_waited_out(
    sandbox: Any, faults: list[HttpFault], reason: str
) -> None:
    waits = RecordedWaits()
    with tenant_clients(sandbox, graph_sign_in=True) as (admin, graph, _account):
        sandbox.state.http_faults.extend(faults)
        snapshot = read_tenant(admin, graph, sandbox.cloud, site_domain=DEMO_DOMAIN, cancel=waits)
    assert snapshot.security_defaults is Tri.UNKNOWN
    said = [text for text in snapshot.unreadable if "Security Defaults" in text]
    assert said and reason in said[0], snapshot.unreadable
    assert not waits.waits, waits.waits  # an hour is not waited for, even in 60 s steps
    report = audit_tenant(snapshot, today=date(2026, 12, 2), generated=datetime.now(UTC))
    findings = report.findings
    assert any("Security Defaults" in f.details for f in findings if f.id.startswith("unreadable"))
