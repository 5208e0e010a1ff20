"""Injected HTTP failures (TenantState.http_faults): throttling, server errors, slow answers."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from wizard.sandbox.https import Request, Response
from wizard.sandbox.tenant import HttpFault, TenantState


def take_fault(state: TenantState, key: str) -> HttpFault | None:
    """Remove and return the first fault meant for `key` (a cmdlet name or a Graph path)."""
    with state.lock:
        for fault in state.http_faults:
            if fault.match.lower() in key.lower():
                state.http_faults.remove(fault)
                return fault
    return None


def apply_fault(
    fault: HttpFault, request: Request, body: Callable[[int], dict[str, Any]]
) -> Response | None:
    """Wait out the fault's delay; return the failure to send, or None to answer normally."""
    if fault.delay > 0:
        # Wakes early when the sandbox stops, so a slow answer never delays shutdown.
        request.stopping.wait(fault.delay)
    if fault.status < 400:
        return None
    headers = []
    if fault.retry_after is not None:
        headers.append(("Retry-After", str(max(0, math.ceil(fault.retry_after)))))
    return Response.of_json(fault.status, body(fault.status), headers)
