"""Troubleshoot checks for the local relay: does it run, can the devices reach it, and
does it hold a valid sign-in for the device's mailbox; each says which step fixes it.

Pure: `services.relay_health` gathers a `RelayHealth` (the relay's own status file,
a connection to its listening address, the token state per mailbox); these turn it
into findings in the order a message travels: device -> relay -> Microsoft 365.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from wizard.core.findings import Finding, Severity
from wizard.core.i18n import tr
from wizard.core.steps import WizardStep


class RelayCheck(StrEnum):
    RUNS = "relay-runs"
    REACHABLE = "relay-reachable"
    TOKEN = "relay-token"


RELAY_CHECK_TITLES: dict[RelayCheck, str] = {
    RelayCheck.RUNS: tr("The relay runs on the office computer"),
    RelayCheck.REACHABLE: tr("The devices' network reaches the relay"),
    RelayCheck.TOKEN: tr("The relay can sign in as the device's mailbox"),
}


class TokenState(StrEnum):
    """The relay's sign-in for one mailbox, as the relay reports it."""

    OK = "ok"
    MISSING = "missing"  # never signed in as the mailbox on the Relay step
    REFUSED = "refused"  # Microsoft refused the refresh token (revoked, expired)
    UNREACHABLE = "unreachable"  # the sign-in service could not be reached
    UNKNOWN = "unknown"  # the relay said nothing about it (not running, older relay)

    @classmethod
    def parse(cls, value: str | None) -> TokenState:
        try:
            return cls(value or "unknown")
        except ValueError:
            return cls.UNKNOWN


@dataclass(frozen=True)
class RelayHealth:
    """What is known of the relay for one device (None: could not be found out)."""

    configured: bool  # a relay is set up on this computer
    device_known: bool  # the device is one of the relay's devices
    running: bool
    address: str  # where the device sends: "192.168.1.20:587"
    starttls: bool  # the device's port offers STARTTLS (False: the plain LAN port)
    mailbox: str
    # A connection to `address` from this computer: None when not tried.
    reachable: bool | None = None
    connect_error: str = ""
    greeting: str = ""  # the relay's 220 line
    starttls_offered: bool | None = None
    queued: int = 0
    failed: int = 0
    last_delivery: datetime | None = None
    last_error: str = ""
    token: TokenState = TokenState.UNKNOWN


def relay_findings(health: RelayHealth) -> tuple[Finding, ...]:
    """Runs, reachable, token: one finding each, with the step that fixes it."""
    return (_runs(health), _reachable(health), _token(health))


def _finding(
    check: RelayCheck,
    severity: Severity,
    title: str,
    details: str = "",
    fix: str = "",
    step: WizardStep | None = None,
    technical: tuple[str, ...] = (),
    *,
    checked: bool = True,
) -> Finding:
    return Finding(str(check), severity, title, details, fix, step, technical, checked)


def _queue_line(health: RelayHealth) -> tuple[str, ...]:
    lines = [
        tr("Waiting in the queue: {n}").format(n=health.queued),
        tr("Failed for good: {n}").format(n=health.failed),
    ]
    if health.last_delivery is not None:
        lines.append(
            tr("Last delivery: {when}").format(when=health.last_delivery.strftime("%Y-%m-%d %H:%M"))
        )
    if health.last_error:
        lines.append(tr("Last error: {error}").format(error=health.last_error))
    return tuple(lines)


def _runs(h: RelayHealth) -> Finding:
    if not h.configured:
        return _finding(
            RelayCheck.RUNS,
            Severity.PROBLEM,
            tr("No relay is set up on this computer"),
            tr("The device is set up for the local relay, but this computer has none."),
            tr("Set the relay up for the devices on the Relay step (on the office computer)."),
            WizardStep.RELAY,
        )
    if not h.device_known:
        return _finding(
            RelayCheck.RUNS,
            Severity.PROBLEM,
            tr("The relay does not know this device"),
            tr(
                "It refuses every message from a device it was not given, with its own "
                "user name and address."
            ),
            tr("Add the device on the Relay step, then enter its new values on the device."),
            WizardStep.RELAY,
        )
    if not h.running:
        return _finding(
            RelayCheck.RUNS,
            Severity.PROBLEM,
            tr("The relay is not running"),
            tr(
                "While it is stopped the devices cannot send; nothing queued is lost, it "
                "is sent when the relay starts again."
            ),
            tr("Start the relay on the Relay step (and check that the service starts at boot)."),
            WizardStep.RELAY,
            _queue_line(h),
        )
    if h.failed:
        return _finding(
            RelayCheck.RUNS,
            Severity.WARNING,
            tr("The relay runs, but {n} messages failed for good").format(n=h.failed),
            tr("Microsoft 365 refused them; the relay kept them in its failed folder."),
            tr("Read the reason on the Relay step; the last error is below."),
            WizardStep.RELAY,
            _queue_line(h),
        )
    return _finding(
        RelayCheck.RUNS,
        Severity.OK,
        tr("The relay runs"),
        tr("{n} messages wait in its queue.").format(n=h.queued) if h.queued else "",
        technical=_queue_line(h),
    )


def _reachable(h: RelayHealth) -> Finding:
    technical = (h.address, *((h.greeting,) if h.greeting else ()))
    if h.reachable is None or not h.configured:
        return _finding(
            RelayCheck.REACHABLE,
            Severity.INFO,
            tr("Not checked"),
            tr("The relay has to be set up and running first."),
            step=WizardStep.RELAY,
            checked=False,
        )
    if not h.reachable:
        return _finding(
            RelayCheck.REACHABLE,
            Severity.PROBLEM,
            tr("The relay does not answer at {address}").format(address=h.address),
            tr(
                "A device on the office network gets no answer there: the relay listens on "
                "another address, or a firewall on the relay's computer blocks the port."
            )
            + (" " + h.connect_error if h.connect_error else ""),
            tr(
                "Check the listening address on the Relay step; allow the port in the "
                "computer's firewall for the office network only."
            ),
            WizardStep.RELAY if h.running else WizardStep.OUTSIDE,
            technical,
        )
    if h.starttls and h.starttls_offered is False:
        return _finding(
            RelayCheck.REACHABLE,
            Severity.PROBLEM,
            tr("The relay answers but offers no STARTTLS on {address}").format(address=h.address),
            tr("The device is set up for encryption, which this port does not offer."),
            tr("Use the relay's STARTTLS port on the device (see its sheet)."),
            WizardStep.SHEETS,
            technical,
        )
    return _finding(
        RelayCheck.REACHABLE,
        Severity.OK,
        tr("The relay answers at {address}").format(address=h.address),
        technical=technical,
    )


def _token(h: RelayHealth) -> Finding:
    mailbox = h.mailbox
    if "5.7.139" in h.last_error:
        # Exchange refuses the mailbox itself: a new sign-in would not help.
        return _finding(
            RelayCheck.TOKEN,
            Severity.PROBLEM,
            tr("Microsoft 365 refuses SMTP AUTH for {mailbox}").format(mailbox=mailbox),
            tr(
                "The relay's sign-in is fine, but SMTP AUTH is switched off for the mailbox "
                "(535 5.7.139); the relay holds the mail until it is switched on."
            ),
            tr("Switch SMTP AUTH on for that mailbox on the Plan step."),
            WizardStep.PLAN,
            (h.last_error,),
        )
    if h.token is TokenState.OK:
        return _finding(
            RelayCheck.TOKEN,
            Severity.OK,
            tr("The relay holds a valid sign-in for {mailbox}").format(mailbox=mailbox),
        )
    if h.token is TokenState.MISSING:
        return _finding(
            RelayCheck.TOKEN,
            Severity.PROBLEM,
            tr("The relay has no sign-in for {mailbox}").format(mailbox=mailbox),
            tr("It keeps the device's mail in its queue until it can send as the mailbox."),
            tr("Sign in as the mailbox on the Relay step."),
            WizardStep.RELAY,
        )
    if h.token is TokenState.REFUSED:
        return _finding(
            RelayCheck.TOKEN,
            Severity.PROBLEM,
            tr("Microsoft refused the relay's sign-in for {mailbox}").format(mailbox=mailbox),
            tr(
                "The sign-in was revoked or has expired (a password change, an admin's "
                "revocation, or months without use). Queued mail waits; nothing is dropped."
            ),
            tr("Sign in as the mailbox again on the Relay step."),
            WizardStep.RELAY,
            (h.last_error,) if h.last_error else (),
        )
    if h.token is TokenState.UNREACHABLE:
        return _finding(
            RelayCheck.TOKEN,
            Severity.WARNING,
            tr("The relay cannot reach Microsoft's sign-in service"),
            tr("Mail waits in the queue and is sent when the connection is back."),
            tr("Check the office computer's internet connection (and any proxy)."),
            WizardStep.OUTSIDE,
            (h.last_error,) if h.last_error else (),
        )
    return _finding(
        RelayCheck.TOKEN,
        Severity.INFO,
        tr("Not checked"),
        tr("The relay reports its sign-ins while it runs."),
        step=WizardStep.RELAY,
        checked=False,
    )
