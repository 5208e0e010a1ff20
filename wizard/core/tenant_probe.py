"""The tenant probe's verdicts: which of the wizard's assumptions hold on a real tenant.

The wizard rests on a handful of facts about how Exchange Online and Entra answer
(M365-FACTS.md, "Corrections of 2 December 2026"): which host serves the admin API,
which app may ask for which token, what Graph lets us read, where the HVE password key
comes from, what the MX and DKIM values really are, which trace cmdlets exist. The
probe (`tenant-probe`) checks each one on the technician's own tenant without changing
anything, so that a report from a real tenant can say exactly what held.

A `ProbeCheck` is one assumption and what the tenant answered. `held=None` means the
check could not run (say why); it is neither a success nor a failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from wizard.core.i18n import tr

PROBE_SCHEMA_VERSION = 1


class ProbeArea(StrEnum):
    ADMIN_API = "admin-api"
    TOKENS = "tokens"
    GRAPH = "graph"
    HVE = "hve"
    DNS = "dns"
    TRACE = "trace"


AREA_TITLES: dict[ProbeArea, str] = {
    ProbeArea.ADMIN_API: tr("Exchange admin API"),
    ProbeArea.TOKENS: tr("Which app may ask for which token"),
    ProbeArea.GRAPH: tr("Microsoft Graph reads"),
    ProbeArea.HVE: tr("High Volume Email password key"),
    ProbeArea.DNS: tr("MX and DKIM values"),
    ProbeArea.TRACE: tr("Message trace"),
}


@dataclass(frozen=True)
class ProbeCheck:
    """One assumption, and what the tenant answered."""

    id: str
    area: ProbeArea
    # The assumption, as a sentence that is true when it holds.
    assumption: str
    # True: it held; False: it did not (the wizard would go wrong here); None: not run.
    held: bool | None
    # What was seen, in plain words.
    observed: str = ""
    # The values it rests on (hosts, codes, cmdlet output), one per line; no secrets.
    evidence: tuple[str, ...] = ()

    @property
    def word(self) -> str:
        if self.held is None:
            return tr("not checked")
        return tr("held") if self.held else tr("did not hold")

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "area": str(self.area),
            "assumption": self.assumption,
            "held": self.held,
            "observed": self.observed,
            "evidence": list(self.evidence),
        }


@dataclass(frozen=True)
class ProbeReport:
    cloud: str
    tenant_id: str
    signed_in_as: str
    generated: datetime
    checks: tuple[ProbeCheck, ...] = field(default=())

    @property
    def failed(self) -> tuple[ProbeCheck, ...]:
        return tuple(c for c in self.checks if c.held is False)

    @property
    def not_checked(self) -> tuple[ProbeCheck, ...]:
        return tuple(c for c in self.checks if c.held is None)

    @property
    def all_held(self) -> bool:
        return bool(self.checks) and all(c.held is True for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": PROBE_SCHEMA_VERSION,
            "kind": "tenant-probe",
            "cloud": self.cloud,
            "tenant_id": self.tenant_id,
            "signed_in_as": self.signed_in_as,
            "generated": self.generated.isoformat(timespec="seconds"),
            "summary": {
                "held": sum(1 for c in self.checks if c.held is True),
                "did_not_hold": len(self.failed),
                "not_checked": len(self.not_checked),
            },
            "checks": [c.to_json() for c in self.checks],
        }


def ordered(checks: Sequence[ProbeCheck]) -> tuple[ProbeCheck, ...]:
    """Checks grouped by area in the order of `ProbeArea`, each area's order kept."""
    rank = {area: i for i, area in enumerate(ProbeArea)}
    return tuple(sorted(checks, key=lambda c: rank[c.area]))
