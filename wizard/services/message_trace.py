"""Did the test message arrive? Ask Exchange's message trace until it knows.

After the server accepted a test message, `Get-MessageTraceV2` (through the Exchange
admin API's InvokeCommand) shows what became of it: Delivered, Failed, Quarantined,
or still Pending. Microsoft's trace lags by minutes, so the search polls with a
growing pause until a bounded deadline and then says honestly that it does not know
yet. Pauses go through the cancellation's `wait()` (the UI's CancelToken wakes at once
on cancel) and time through an injected clock, so tests run it without waiting.
A failure's reason comes from `Get-MessageTraceDetailV2`.

Limits, from the cmdlets' reference (learn.microsoft.com/powershell/module/
exchangepowershell/get-messagetracev2 and .../get-messagetracedetailv2; the old
Get-MessageTrace and Get-MessageTraceDetail went on 1 September 2025): at most 10 days
per query, ResultSize 1 to 5000 (default 1000), and "a maximum of 100 query requests
... within a 5 minute running window". Every query of this module goes through one
`TracePacer`, so a session stays below that; a throttled answer (HTTP 429) is waited
out.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from wizard.core.errors import PermissionDenied, Throttled, WizardError
from wizard.core.i18n import tr
from wizard.services.cancel import CancelFlag, Cancellation, Cancelled

log = logging.getLogger(__name__)

CMDLET = "Get-MessageTraceV2"
DETAIL_CMDLET = "Get-MessageTraceDetailV2"
# Microsoft's trace usually shows a message within 5 to 10 minutes.
DEFAULT_TIMEOUT = 600.0
FIRST_DELAY = 5.0
MAX_DELAY = 60.0
BACKOFF = 2.0
# Sent-time window: a little slack for the clocks of this computer and Microsoft's.
_SLACK = timedelta(minutes=15)
# The cmdlets' limits (see the module's docstring).
MAX_RANGE = timedelta(days=10)
MAX_AGE = timedelta(days=90)
MAX_RESULT_SIZE = 5000
QUERY_LIMIT = 100
QUERY_WINDOW = 300.0
# What this module allows itself: a margin below Microsoft's 100, so a query made at the
# same time by the admin center or a script of the same admin does not tip it over.
PACED_QUERIES = 90


class TracePacer:
    """At most `limit` trace queries in any `window` seconds; `acquire()` waits for a slot.

    Waits go through the caller's cancellation (its `wait()` wakes at once on cancel)
    and time through an injected clock, so a test can drive it without sleeping.
    """

    def __init__(
        self,
        limit: int = PACED_QUERIES,
        window: float = QUERY_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._sent: list[float] = []
        self._lock = threading.Lock()

    def acquire(self, cancel: Cancellation) -> None:
        while True:
            with self._lock:
                now = self.clock()
                self._sent = [t for t in self._sent if t > now - self.window]
                if len(self._sent) < self.limit:
                    self._sent.append(now)
                    return
                pause = self._sent[0] + self.window - now
            log.info(
                "message trace: %d queries in %.0f s; waiting %.1f s",
                self.limit,
                self.window,
                pause,
            )
            if cancel.wait(max(pause, 0.01)) or cancel.cancelled:
                raise Cancelled()

    @property
    def used(self) -> int:
        with self._lock:
            now = self.clock()
            return sum(1 for t in self._sent if t > now - self.window)


_SHARED = TracePacer()


def shared_pacer() -> TracePacer:
    """The one pacer of this process: every page and command of a session shares it."""
    return _SHARED


def _pacer_for(pacer: TracePacer | None, clock: Callable[[], float]) -> TracePacer:
    if pacer is not None:
        return pacer
    # An injected clock (a test) gets a pacer of its own on that clock.
    return _SHARED if clock is time.monotonic else TracePacer(clock=clock)


class _Rows(Protocol):
    @property
    def values(self) -> list[dict[str, Any]]: ...


class AdminClient(Protocol):
    """What the search needs of `exchange_admin.ExchangeAdmin`: InvokeCommand."""

    def invoke(
        self,
        cmdlet: str,
        parameters: Mapping[str, Any] | None = None,
        *,
        cancel: Cancellation | None = None,
    ) -> _Rows: ...


class TraceState(StrEnum):
    DELIVERED = "delivered"
    PENDING = "pending"  # seen, not final yet (or not seen before the deadline)
    FAILED = "failed"
    QUARANTINED = "quarantined"  # held as spam, malware or by a rule
    NOT_FOUND = "not-found"  # not in the trace before the deadline
    UNAVAILABLE = "unavailable"  # the trace could not be asked (no role, API down)
    CANCELLED = "cancelled"


FINAL_STATES = {TraceState.DELIVERED, TraceState.FAILED, TraceState.QUARANTINED}


@dataclass(frozen=True)
class TraceRow:
    recipient: str
    status: str  # as Exchange says it: "Delivered", "Pending", "FilteredAsSpam" ...
    received: str
    from_ip: str | None
    message_trace_id: str
    subject: str


@dataclass(frozen=True)
class TraceResult:
    state: TraceState
    title: str  # plain words for the page's banner
    detail: str  # what Exchange said (the failure reason, the rows' statuses)
    rows: tuple[TraceRow, ...]
    attempts: int
    elapsed: float

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES

    def to_json(self) -> dict[str, Any]:
        return {
            "state": str(self.state),
            "title": self.title,
            "detail": self.detail,
            "attempts": self.attempts,
            "elapsed_seconds": round(self.elapsed, 1),
            "rows": [
                {
                    "recipient": r.recipient,
                    "status": r.status,
                    "received": r.received,
                    "from_ip": r.from_ip,
                    "message_trace_id": r.message_trace_id,
                }
                for r in self.rows
            ],
        }


@dataclass(frozen=True)
class TraceProgress:
    """Reported before each pause: how the search is going."""

    attempt: int
    state: TraceState
    next_check_in: float
    elapsed: float


_TITLES: dict[TraceState, str] = {
    TraceState.DELIVERED: tr("The message reached the mailbox"),
    TraceState.PENDING: tr("Microsoft 365 is still delivering it"),
    TraceState.FAILED: tr("Microsoft 365 could not deliver it"),
    TraceState.QUARANTINED: tr("Microsoft 365's filters are holding it (quarantine)"),
    TraceState.NOT_FOUND: tr("It is not in the message trace yet"),
    TraceState.UNAVAILABLE: tr("The message trace could not be checked"),
    TraceState.CANCELLED: tr("The message trace check was stopped"),
}


def _state_of(status: str) -> TraceState:
    value = status.strip().lower()
    if value == "delivered":
        return TraceState.DELIVERED
    if value == "failed":
        return TraceState.FAILED
    if value in ("quarantined", "filteredasspam"):
        return TraceState.QUARANTINED
    # "Pending", "Expanded" (a group, still resolving), "GettingStatus", "None".
    return TraceState.PENDING


def _combine(rows: Sequence[TraceRow]) -> TraceState:
    """One state for all recipients: the worst one wins, Delivered only if all are."""
    states = {_state_of(r.status) for r in rows}
    for state in (TraceState.FAILED, TraceState.QUARANTINED, TraceState.PENDING):
        if state in states:
            return state
    return TraceState.DELIVERED


def _bare(message_id: str) -> str:
    return message_id.strip().strip("<>").lower()


def _rows(values: list[dict[str, Any]], message_id: str, token: str) -> list[TraceRow]:
    rows = []
    for value in values:
        same_id = _bare(str(value.get("MessageId", ""))) == _bare(message_id)
        subject = str(value.get("Subject") or "")
        if not same_id and token not in subject:
            continue
        rows.append(
            TraceRow(
                recipient=str(value.get("RecipientAddress") or ""),
                status=str(value.get("Status") or ""),
                received=str(value.get("Received") or ""),
                from_ip=value.get("FromIP"),
                message_trace_id=str(value.get("MessageTraceId") or ""),
                subject=subject,
            )
        )
    return rows


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ceil_second(moment: datetime) -> datetime:
    """Rounded up to a whole second: dates go to Exchange in whole seconds, and a
    truncated EndDate would leave out a message received earlier in the same second
    (a look right after a send)."""
    whole = moment.replace(microsecond=0)
    return whole if whole == moment else whole + timedelta(seconds=1)


class MessageTraceSearch:
    """Polls the trace for one sent message; `run()` on a worker thread."""

    def __init__(
        self,
        admin: AdminClient,
        *,
        sender: str,
        message_id: str,
        token: str,
        sent_at: datetime,
        timeout: float = DEFAULT_TIMEOUT,
        first_delay: float = FIRST_DELAY,
        max_delay: float = MAX_DELAY,
        cancel: Cancellation | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] | None = None,
        on_progress: Callable[[TraceProgress], None] | None = None,
        pacer: TracePacer | None = None,
    ) -> None:
        self._admin = admin
        self._pacer = _pacer_for(pacer, clock)
        self._sender = sender
        self._message_id = message_id
        self._token = token
        self._sent_at = sent_at
        self._timeout = timeout
        self._first_delay = first_delay
        self._max_delay = max_delay
        self._cancel: Cancellation = cancel if cancel is not None else CancelFlag()
        self._clock = clock
        self._now = now or (lambda: datetime.now(UTC))
        self._on_progress = on_progress

    def run(self) -> TraceResult:
        started = self._clock()
        delay = self._first_delay
        attempts = 0
        rows: list[TraceRow] = []
        last_error: WizardError | None = None
        while True:
            if self._cancel.cancelled:
                return self._result(TraceState.CANCELLED, rows, attempts, started)
            attempts += 1
            try:
                rows = self._ask()
                last_error = None
            except Cancelled:
                return self._result(TraceState.CANCELLED, rows, attempts, started)
            except Throttled as exc:
                last_error = exc
                delay = max(delay, exc.retry_after)
            except WizardError as exc:
                # No role, a refused sign-in, a cmdlet error: asking again changes
                # nothing. A network hiccup or a busy service may pass. Exchange's
                # role refusal is retryable for a person (once the role is granted),
                # not within one search: polling it for ten minutes tells nothing.
                if not exc.retryable or isinstance(exc, PermissionDenied):
                    return self._unavailable(exc, attempts, started)
                last_error = exc
            state = _combine(rows) if rows else TraceState.NOT_FOUND
            if state in FINAL_STATES:
                result = self._result(state, rows, attempts, started)
                if state is not TraceState.DELIVERED:
                    result = self._with_detail(result)
                return result
            elapsed = self._clock() - started
            remaining = self._timeout - elapsed
            if remaining <= 0:
                if last_error is not None and not rows:
                    return self._unavailable(last_error, attempts, started)
                return self._result(state, rows, attempts, started)
            pause = min(delay, remaining)
            if self._on_progress is not None:
                self._on_progress(TraceProgress(attempts, state, pause, elapsed))
            if self._cancel.wait(pause) or self._cancel.cancelled:
                return self._result(TraceState.CANCELLED, rows, attempts, started)
            delay = min(delay * BACKOFF, self._max_delay)

    def _ask(self) -> list[TraceRow]:
        end = max(self._now(), self._sent_at) + _SLACK
        start = max(self._sent_at - _SLACK, end - MAX_RANGE)
        parameters: dict[str, Any] = {
            "SenderAddress": [self._sender],
            "MessageId": [self._message_id],
            "StartDate": _iso(start),
            "EndDate": _iso(end),
        }
        self._pacer.acquire(self._cancel)
        values = self._admin.invoke(CMDLET, parameters, cancel=self._cancel).values
        rows = _rows(values, self._message_id, self._token)
        log.debug("message trace for %s: %d row(s)", self._token, len(rows))
        return rows

    def _with_detail(self, result: TraceResult) -> TraceResult:
        """Add Exchange's reason for a failure (Get-MessageTraceDetailV2), if it has one."""
        reasons = []
        for row in result.rows:
            if _state_of(row.status) is TraceState.DELIVERED or not row.message_trace_id:
                continue
            try:
                self._pacer.acquire(self._cancel)
                events = self._admin.invoke(
                    DETAIL_CMDLET,
                    {"MessageTraceId": row.message_trace_id, "RecipientAddress": row.recipient},
                    cancel=self._cancel,
                ).values
            except Cancelled:
                break
            except WizardError as exc:
                log.info("message trace detail unavailable: %s", exc.what)
                continue
            # Get-MessageTraceDetailV2 rows: Date, Event, Action, Detail; the reason of a
            # Fail / Quarantine event is in Detail.
            for event in events:
                text = str(event.get("Detail") or "").strip()
                if text and text not in reasons:
                    reasons.append(text)
        if not reasons:
            return result
        return TraceResult(
            result.state,
            result.title,
            " ".join([result.detail, *reasons]).strip(),
            result.rows,
            result.attempts,
            result.elapsed,
        )

    def _result(
        self, state: TraceState, rows: Sequence[TraceRow], attempts: int, started: float
    ) -> TraceResult:
        detail = "; ".join(f"{r.recipient}: {r.status}" for r in rows)
        if state is TraceState.NOT_FOUND:
            detail = not_traced_yet_text(self._token)
        elif state is TraceState.PENDING:
            detail = (detail + ". " if detail else "") + tr(
                "Delivery is not finished yet; look again in a few minutes."
            )
        elapsed = self._clock() - started
        log.info("message trace for %s: %s after %d check(s)", self._token, state, attempts)
        return TraceResult(state, _TITLES[state], detail, tuple(rows), attempts, elapsed)

    def _unavailable(self, exc: WizardError, attempts: int, started: float) -> TraceResult:
        return TraceResult(
            TraceState.UNAVAILABLE,
            _TITLES[TraceState.UNAVAILABLE],
            exc.plain(),
            (),
            attempts,
            self._clock() - started,
        )


def not_traced_yet_text(token: str) -> str:
    """What to say while the trace has no row yet: Microsoft lists a message after minutes."""
    return tr(
        "The message was accepted, but Microsoft's message trace does not list it yet. "
        "Microsoft lists a message 5 to 10 minutes after it was sent; check again later in "
        "the Exchange admin center (Mail flow > Message trace) for {token}."
    ).format(token=token)


def waiting_text(attempt: int, next_check_in: float) -> str:
    """The progress line while the search waits for Microsoft's trace."""
    return tr(
        "Not in the trace yet (check {n}); looking again in {seconds:.0f} seconds. Microsoft "
        "lists a message 5 to 10 minutes after it was sent, so this can take a while."
    ).format(n=attempt, seconds=next_check_in)


def _row(value: dict[str, Any]) -> TraceRow:
    return TraceRow(
        recipient=str(value.get("RecipientAddress") or ""),
        status=str(value.get("Status") or ""),
        received=str(value.get("Received") or ""),
        from_ip=value.get("FromIP"),
        message_trace_id=str(value.get("MessageTraceId") or ""),
        subject=str(value.get("Subject") or ""),
    )


def recent_messages(
    admin: AdminClient,
    sender: str,
    *,
    since: datetime,
    until: datetime,
    limit: int = 100,
    cancel: Cancellation | None = None,
    pacer: TracePacer | None = None,
    page_size: int = MAX_RESULT_SIZE,
) -> tuple[TraceRow, ...]:
    """One look at the trace: the sender's messages in a window, newest first, one row per
    recipient. For troubleshooting; no polling.

    A window over 10 days is asked in 10-day pieces (never further back than 90 days), a
    full answer is continued with StartingRecipientAddress and EndDate as the reference
    describes, each query paced.
    """
    waiter: Cancellation = cancel if cancel is not None else CancelFlag()
    paced = pacer if pacer is not None else _SHARED
    limit = max(1, limit)
    since = max(since, until - MAX_AGE)
    rows: list[TraceRow] = []
    end = _ceil_second(until)
    while end > since and len(rows) < limit:
        start = max(since, end - MAX_RANGE)
        size = min(limit - len(rows), page_size, MAX_RESULT_SIZE)
        parameters: dict[str, Any] = {
            "SenderAddress": [sender],
            "StartDate": _iso(start),
            "EndDate": _iso(end),
            "ResultSize": size,
        }
        while True:
            paced.acquire(waiter)
            values = admin.invoke(CMDLET, parameters, cancel=cancel).values
            rows.extend(_row(v) for v in values)
            if not values or len(values) < size or len(rows) >= limit:
                break
            # A full answer: continue after its last row (the cmdlet has no pagination).
            last = values[-1]
            size = min(limit - len(rows), page_size, MAX_RESULT_SIZE)
            parameters = {
                **parameters,
                "EndDate": str(last.get("Received") or parameters["EndDate"]),
                "StartingRecipientAddress": str(last.get("RecipientAddress") or ""),
                "ResultSize": size,
            }
        end = start
    # ISO times sort as text; Exchange usually answers newest first already.
    rows.sort(key=lambda r: r.received, reverse=True)
    return tuple(rows[:limit])


def find_test_message(admin: AdminClient, **kwargs: Any) -> TraceResult:
    """Poll the trace for one message (see MessageTraceSearch for the arguments)."""
    return MessageTraceSearch(admin, **kwargs).run()
