"""Findings of the Troubleshoot path and the audit, and the document both export.

A `Finding` is one verdict in plain words: how bad (the tenant check's `Severity`),
what was found, why it matters, the one thing to do, and the wizard step that does
it. `checked=False` marks a check that could not run (not signed in, server out of
reach): it says what would make it run and never counts as a result.

`FindingsDocument` is what a report is made of, kept free of any drawing: a title,
the facts it rests on, and sections of findings and tables. The PDF export paints
it; the JSON export writes the report's own `to_json()`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wizard.core.i18n import tr
from wizard.core.steps import STEP_TITLES, WizardStep
from wizard.core.tenant_findings import SEVERITY_ORDER, SEVERITY_WORDS, Severity

__all__ = [
    "SEVERITY_ORDER",
    "SEVERITY_WORDS",
    "Finding",
    "FindingsDocument",
    "Section",
    "Severity",
    "Table",
    "at_risk",
    "headline",
    "join_words",
    "worst_checked",
]

NOT_CHECKED_WORD = tr("Not checked")


@dataclass(frozen=True)
class Finding:
    id: str
    severity: Severity
    title: str
    details: str = ""
    fix: str = ""
    # The step that applies the fix; WizardStep.OUTSIDE when it is done elsewhere.
    step: WizardStep | None = None
    # The values it rests on (timings, addresses, cmdlet output), one per line.
    technical: tuple[str, ...] = ()
    checked: bool = True

    @property
    def word(self) -> str:
        """The status word shown beside the icon."""
        return SEVERITY_WORDS[self.severity] if self.checked else NOT_CHECKED_WORD

    @property
    def needs_action(self) -> bool:
        return self.checked and self.severity in (Severity.WARNING, Severity.PROBLEM)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "severity": str(self.severity),
            "checked": self.checked,
            "title": self.title,
            "details": self.details,
            "fix": self.fix,
            "step": str(self.step) if self.step is not None else None,
            "step_title": STEP_TITLES[self.step] if self.step is not None else None,
            "technical": list(self.technical),
        }


def join_words(items: Sequence[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " " + tr("and") + " " + items[-1]


def worst_checked(findings: Iterable[Finding]) -> Severity:
    """The worst severity among the checks that ran (OK when none did)."""
    ran = [f for f in findings if f.checked]
    return min((f.severity for f in ran), key=SEVERITY_ORDER.__getitem__, default=Severity.OK)


def at_risk(findings: Iterable[Finding]) -> bool:
    return any(f.needs_action for f in findings)


def headline(findings: Iterable[Finding]) -> Finding | None:
    """The first problem in the order given, else the first warning: what to fix first."""
    ordered = list(findings)
    for severity in (Severity.PROBLEM, Severity.WARNING):
        for finding in ordered:
            if finding.checked and finding.severity is severity:
                return finding
    return None


@dataclass(frozen=True)
class Table:
    head: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Section:
    title: str
    findings: tuple[Finding, ...] = ()
    table: Table | None = None
    text: str = ""


@dataclass(frozen=True)
class FindingsDocument:
    """A report of findings, ready to paint: Troubleshoot or audit."""

    kind: str  # "troubleshoot" or "audit"
    title: str  # "Troubleshooting report"
    subject: str  # the device, or the tenant
    generated: datetime
    facts: tuple[tuple[str, str], ...]
    sections: tuple[Section, ...]
    # The first thing to fix, shown at the top; None when nothing needs action.
    summary: Finding | None = None

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for s in self.sections for f in s.findings)
