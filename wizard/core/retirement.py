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
# MC786329 as revised on 27 January 2026: admins "can switch it back on", but Microsoft
# had not published how. Until it does, nothing the wizard prints may call Basic SMTP
# AUTH ready: only a test message accepted by Microsoft 365 shows that it works.
REENABLE_NOTICE = "MC786329"
REENABLE_NOTICE_REVISED = date(2026, 1, 27)


def long_date(day: date) -> str:
    """'31 December 2026': unambiguous in every locale the wizard is used in."""
    return f"{day.day} {day.strftime('%B')} {day.year}"


def basic_auth_proof(today: date) -> str:
    """Why a plan never calls Basic SMTP AUTH ready, with today's date: the test is the proof."""
    if today < BASIC_OFF_BY_DEFAULT:
        return tr(
            "Today ({today}) password sign-in still works where SMTP AUTH is on, but "
            "Microsoft switches Basic SMTP AUTH off by default for existing tenants at the end "
            "of December 2026 and had not published how to switch it back on ({notice}, "
            "revised {revised}). After that only a test message that Microsoft 365 accepts "
            "shows that the device can still send."
        ).format(
            today=long_date(today),
            notice=REENABLE_NOTICE,
            revised=long_date(REENABLE_NOTICE_REVISED),
        )
    return tr(
        "Today ({today}) Basic SMTP AUTH is off by default in existing tenants since the end "
        "of December 2026, and Microsoft had not published how to switch it back on "
        "({notice}, revised {revised}). A switch that looks right proves nothing: only a "
        "test message that Microsoft 365 accepts shows that password sign-in works here."
    ).format(
        today=long_date(today),
        notice=REENABLE_NOTICE,
        revised=long_date(REENABLE_NOTICE_REVISED),
    )


def basic_auth_can_be_called_ready(today: date) -> bool:
    """Never after the switch-off: a plan, sheet or summary then says 'test it' instead."""
    return today < BASIC_OFF_BY_DEFAULT


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
            "Basic SMTP AUTH is switched off by default in existing tenants (Microsoft says an "
            "admin can switch it back on, but had not published how); tenants created after "
            "this never have it."
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
                "switches Basic SMTP AUTH back on, which Microsoft had not published how to do "
                "(MC786329, revised 27 January 2026), and Microsoft removes it for good in the "
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
                "It works only where an admin switched it back on, and Microsoft had not "
                "published how (MC786329, revised 27 January 2026); Microsoft removes it for "
                "good in the second half of 2027. Do not count on it: send the test message, "
                "it is the proof."
            )
            + " "
            + tr("Checked on {today}.").format(today=long_date(today)),
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
