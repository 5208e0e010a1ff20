"""What becomes of a message an endpoint took: mail flow rules, delivery, the trace.

Every accepted message leaves one TraceEntry per final recipient (as
Get-MessageTraceV2 lists one row per recipient), sharing the message's trace id.
Messages refused during the SMTP conversation leave no trace, as in Exchange Online
("blocked at the protocol layer" cannot be traced).
"""

from __future__ import annotations

import email.policy
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses

from wizard.sandbox.smtp import replies
from wizard.sandbox.smtp.mx import domain_of, ip_in
from wizard.sandbox.tenant import TenantState, TraceEntry, TraceStatus, TransportRule


@dataclass
class Message:
    """A message as an endpoint accepted it."""

    endpoint: str  # "submission", "hve" or "mx"
    sender: str  # envelope sender (MAIL FROM)
    recipients: list[str]
    raw: bytes
    from_ip: str
    connector: str | None = None  # the inbound connector that matched (MX)


def parse_headers(raw: bytes) -> EmailMessage:
    parsed = BytesParser(policy=email.policy.default).parsebytes(raw, headersonly=True)
    assert isinstance(parsed, EmailMessage)
    return parsed


def header_addresses(headers: EmailMessage, name: str) -> list[str]:
    """The addresses in a header (From, Sender), tolerant of malformed values."""
    values = headers.get_all(name) or []
    try:
        return [a.addr_spec for value in values for a in value.addresses if a.addr_spec]
    except (AttributeError, ValueError, TypeError):
        return [addr for _, addr in getaddresses([str(v) for v in values]) if addr]


def message_id(headers: EmailMessage) -> str:
    """The message's Message-ID, or a new one in Exchange's form when it has none."""
    value = str(headers.get("Message-ID", "") or "").strip()
    if value:
        return value
    return f"<{uuid.uuid4().hex.upper()}@{replies.BACKEND_HOST}>"


def _subject(headers: EmailMessage) -> str:
    try:
        return str(headers.get("Subject", "") or "")
    except (ValueError, TypeError):
        return ""


@dataclass
class _RuleOutcome:
    recipients: list[str]
    redirected_by: str | None = None
    quarantined_by: str | None = None
    deleted_by: str | None = None


def _rule_matches(rule: TransportRule, senders: list[str], from_ip: str) -> bool:
    senders = [s.lower() for s in senders if s]
    if rule.from_addresses and not {a.lower() for a in rule.from_addresses} & set(senders):
        return False
    if rule.sender_domain_is:
        domains = {d.lower().rstrip(".") for d in rule.sender_domain_is}
        if not domains & {domain_of(s) for s in senders}:
            return False
    return not rule.sender_ip_ranges or ip_in(from_ip, rule.sender_ip_ranges)


def _as_list(value: object) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, (list, tuple, set)):
        return [str(v) for v in value]
    return []


def apply_rules(state: TenantState, message: Message, senders: list[str]) -> _RuleOutcome:
    """Mail flow rules by priority (0 first); audit-mode rules only watch."""
    outcome = _RuleOutcome(recipients=list(message.recipients))
    rules = sorted(
        (r for r in state.transport_rules if r.state.lower() == "enabled"),
        key=lambda r: r.priority,
    )
    for rule in rules:
        if not _rule_matches(rule, senders, message.from_ip):
            continue
        if rule.mode.lower() != "enforce":
            continue
        actions = rule.actions
        if actions.get("DeleteMessage"):
            outcome.deleted_by = rule.name
        if actions.get("Quarantine"):
            outcome.quarantined_by = rule.name
        redirect = _as_list(actions.get("RedirectMessageTo"))
        if redirect:
            outcome.recipients = redirect
            outcome.redirected_by = rule.name
        if actions.get("StopRuleProcessing"):
            break
    return outcome


def _fate(
    state: TenantState, message: Message, recipient: str, outcome: _RuleOutcome
) -> tuple[TraceStatus, str]:
    if outcome.deleted_by:
        return TraceStatus.FAILED, f"Deleted by the mail flow rule '{outcome.deleted_by}'"
    if outcome.quarantined_by:
        return TraceStatus.QUARANTINED, (
            f"Quarantined by the mail flow rule '{outcome.quarantined_by}'"
        )
    if state.is_accepted(domain_of(recipient)):
        if state.mailbox(recipient) is None:
            return TraceStatus.FAILED, replies.RECIPIENT_NOT_FOUND
        return TraceStatus.DELIVERED, "Delivered to the mailbox"
    if message.endpoint == "mx" and state.outbound_low_reputation:
        return TraceStatus.FAILED, replies.LOW_REPUTATION
    if message.connector:
        return TraceStatus.DELIVERED, (
            f"Relayed through the inbound connector '{message.connector}' to the "
            "recipient's mail server outside the organisation"
        )
    return TraceStatus.DELIVERED, "Sent to the recipient's mail server outside the organisation"


def deliver(state: TenantState, message: Message) -> tuple[str, list[TraceEntry]]:
    """Apply the rules, record the trace; returns (Message-ID, new trace entries)."""
    headers = parse_headers(message.raw)
    msg_id = message_id(headers)
    subject = _subject(headers)
    senders = [message.sender, *header_addresses(headers, "From")]
    trace_id = str(uuid.uuid4())
    with state.lock:
        outcome = apply_rules(state, message, senders)
        entries = []
        for recipient in outcome.recipients:
            status, detail = _fate(state, message, recipient, outcome)
            if outcome.redirected_by and not outcome.deleted_by:
                detail = f"Redirected by the mail flow rule '{outcome.redirected_by}'; {detail}"
            entries.append(
                TraceEntry(
                    message_id=msg_id,
                    sender=message.sender,
                    recipients=[recipient],
                    subject=subject,
                    status=status,
                    from_ip=message.from_ip,
                    endpoint=message.endpoint,
                    detail=detail,
                    size=len(message.raw),
                    raw=message.raw,
                    message_trace_id=trace_id,
                )
            )
        state.trace.extend(entries)
    return msg_id, entries
