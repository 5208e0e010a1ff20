"""How a message-trace result reads on a status line: tone, word and sentence.

The Test message step and the Relay step both follow their test message through
Get-MessageTraceV2 and say the same thing about it.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from wizard.services.message_trace import TraceResult, TraceState
from wizard.ui.style import Tone


def _tr(text: str) -> str:
    return QCoreApplication.translate("TraceStatus", text)


def trace_status(trace: TraceResult) -> tuple[Tone, str, str]:
    """(tone, word, sentence) for a status line."""
    tone, word = {
        TraceState.DELIVERED: (Tone.GOOD, _tr("Delivered")),
        TraceState.PENDING: (Tone.INFO, _tr("Pending")),
        TraceState.FAILED: (Tone.BAD, _tr("Failed")),
        TraceState.QUARANTINED: (Tone.WARNING, _tr("Quarantined")),
        TraceState.NOT_FOUND: (Tone.INFO, _tr("Not traced yet")),
        TraceState.UNAVAILABLE: (Tone.WARNING, _tr("Not checked")),
        TraceState.CANCELLED: (Tone.NEUTRAL, _tr("Stopped")),
    }[trace.state]
    if trace.state is TraceState.DELIVERED:
        text = _tr("{title} ({recipients}, according to the message trace).").format(
            title=trace.title, recipients=", ".join(row.recipient for row in trace.rows)
        )
    else:
        text = trace.title + (f". {trace.detail}" if trace.detail else ".")
    return tone, word, text
