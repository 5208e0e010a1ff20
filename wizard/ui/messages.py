"""The one way to tell the user about an error: log it, then show it on the page.

    report_error(self.status, error, doing=self.tr("opening the profile"))

Services raise the typed errors of wizard.core.errors, which carry their own
plain-words `what`, `why` and `next_step`; they are shown as they are, never parsed.
Anything else is a fault in Relay Wizard: it is logged with its traceback and shown
as such, with a pointer to the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from PySide6.QtCore import QCoreApplication

from wizard.core.errors import WizardError
from wizard.core.redact import redact
from wizard.ui.style import Tone
from wizard.ui.tasks import TaskCancelled

log = logging.getLogger(__name__)


def _tr(text: str) -> str:
    return QCoreApplication.translate("messages", text)


@dataclass(frozen=True)
class UserMessage:
    tone: Tone
    what: str
    why: str = ""
    next_step: str = ""
    # Technical detail for the "Details" fold: server replies, codes. Never a secret.
    detail: str = ""

    @property
    def word(self) -> str:
        """The status word shown next to the icon: status is never colour alone."""
        return {
            Tone.GOOD: _tr("Done"),
            Tone.WARNING: _tr("Warning"),
            Tone.BAD: _tr("Problem"),
            Tone.INFO: _tr("Note"),
            Tone.NEUTRAL: _tr("Note"),
        }[self.tone]

    def plain(self) -> str:
        parts = [self.what, self.why, self.next_step]
        return " ".join(p.strip() for p in parts if p and p.strip())


class MessageTarget(Protocol):
    """Where a page shows its messages (widgets.status_area.StatusArea)."""

    def show_message(self, message: UserMessage) -> None: ...


def message_for_error(error: BaseException, *, doing: str) -> UserMessage:
    if isinstance(error, TaskCancelled):
        return UserMessage(Tone.INFO, _tr("Stopped: {doing} was cancelled.").format(doing=doing))
    if isinstance(error, WizardError):
        return UserMessage(
            Tone.BAD,
            error.what,
            error.why,
            error.next_step,
            redact(error.detail),
        )
    from wizard.services.paths import log_file

    return UserMessage(
        Tone.BAD,
        _tr("Something unexpected went wrong while {doing}.").format(doing=doing),
        _tr("This is a fault in Relay Wizard, not in your settings."),
        _tr("Try again. If it happens again, send the log file to support: {path}").format(
            path=log_file()
        ),
        redact(f"{type(error).__name__}: {error}"),
    )


def report_error(target: MessageTarget, error: BaseException, *, doing: str) -> UserMessage:
    """Log `error`, then show it in `target` (a page's status area)."""
    message = message_for_error(error, doing=doing)
    if isinstance(error, TaskCancelled):
        log.info("%s: cancelled", doing)
    elif isinstance(error, WizardError):
        # Expected trouble (a damaged file, a refused sign-in): the user sees it, the
        # log keeps the technical detail; not a warning about the app itself.
        log.info(
            "%s failed: %s%s", doing, error.plain(), f" ({error.detail})" if error.detail else ""
        )
    else:
        log.error(
            "Unexpected error while %s", doing, exc_info=(type(error), error, error.__traceback__)
        )
    target.show_message(message)
    return message


def report(target: MessageTarget, message: UserMessage) -> None:
    """Show a message that is not an error (a success, a note); logged at info level."""
    log.info("%s: %s", message.word, message.plain())
    target.show_message(message)
