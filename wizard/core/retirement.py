"""The Basic-auth retirement timeline for SMTP AUTH (message MC786329, rev. Jan 2026).

Everything date-dependent the wizard says about Basic authentication comes from
`basic_auth_outlook(today)`, so the advice, the tenant check, the sheets and the
report all change on the same day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from wizard.core.i18n import tr

# "At the end of December 2026" Basic SMTP AUTH is switched off by default for
# existing tenants. Microsoft gives no exact day; the last day of the month is the
# latest it can mean, so from then on we say it has happened.
BASIC_OFF_BY_DEFAULT = date(2026, 12, 31)
# Microsoft names the final removal date "in the second half of 2027".
FINAL_REMOVAL_WINDOW_START = date(2027, 7, 1)
FINAL_REMOVAL_WINDOW_END = date(2027, 12, 31)
# High Volume Email keeps Basic authentication until September 2028.
HVE_BASIC_UNTIL = date(2028, 9, 30)


class BasicAuthPhase(StrEnum):
    SUPPORTED = "supported"  # before the end of December 2026
    OFF_BY_DEFAULT = "off-by-default"  # admins can still switch it back on
    REMOVAL_WINDOW = "removal-window"  # second half of 2027: removal may come any day
    REMOVED = "removed"  # after 2027: assume it is gone


@dataclass(frozen=True)
class DateToRemember:
    when: str  # as Microsoft states it ("end of December 2026")
    day: date  # the day we act on
    what: str


@dataclass(frozen=True)
class BasicAuthOutlook:
    phase: BasicAuthPhase
    headline: str
    detail: str
    days_until_off: int | None  # while still supported
    dates: tuple[DateToRemember, ...]

    @property
    def usable(self) -> bool:
        """Can a device still rely on Basic SMTP AUTH at all (maybe after re-enabling)?"""
        return self.phase is not BasicAuthPhase.REMOVED


TIMELINE: tuple[DateToRemember, ...] = (
    DateToRemember(
        tr("end of December 2026"),
        BASIC_OFF_BY_DEFAULT,
        tr(
            "Basic SMTP AUTH is switched off by default in existing tenants (an admin can "
            "switch it back on); tenants created after this never have it."
        ),
    ),
    DateToRemember(
        tr("second half of 2027"),
        FINAL_REMOVAL_WINDOW_START,
        tr("Microsoft removes Basic SMTP AUTH for good, on a date it will announce."),
    ),
    DateToRemember(
        tr("September 2028"),
        HVE_BASIC_UNTIL,
        tr("High Volume Email stops accepting Basic authentication."),
    ),
)


def basic_auth_outlook(today: date) -> BasicAuthOutlook:
    if today < BASIC_OFF_BY_DEFAULT:
        days = (BASIC_OFF_BY_DEFAULT - today).days
        return BasicAuthOutlook(
            BasicAuthPhase.SUPPORTED,
            tr(
                "Basic SMTP AUTH is switched off by default at the end of December 2026 "
                "({days} days from today)."
            ).format(days=days),
            tr(
                "A device set up with a password today stops sending then unless an admin "
                "switches Basic SMTP AUTH back on, and Microsoft removes it for good in the "
                "second half of 2027."
            ),
            days,
            TIMELINE,
        )
    if today < FINAL_REMOVAL_WINDOW_START:
        return BasicAuthOutlook(
            BasicAuthPhase.OFF_BY_DEFAULT,
            tr("Basic SMTP AUTH has been switched off by default since the end of December 2026."),
            tr(
                "It works only where an admin switched it back on, and Microsoft removes it "
                "for good in the second half of 2027."
            ),
            None,
            TIMELINE,
        )
    if today <= FINAL_REMOVAL_WINDOW_END:
        return BasicAuthOutlook(
            BasicAuthPhase.REMOVAL_WINDOW,
            tr("Microsoft is removing Basic SMTP AUTH for good during the second half of 2027."),
            tr(
                "A device that still signs in with a password can stop sending any day, "
                "with the error 550 5.7.30."
            ),
            None,
            TIMELINE,
        )
    return BasicAuthOutlook(
        BasicAuthPhase.REMOVED,
        tr("Basic SMTP AUTH has been removed from Microsoft 365."),
        tr("Devices must use OAuth, a connector, direct send or High Volume Email."),
        None,
        TIMELINE,
    )


def hve_basic_supported(today: date) -> bool:
    return today <= HVE_BASIC_UNTIL
