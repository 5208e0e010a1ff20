"""Applying a change plan: one change at a time, stop at the first failure, verify.

    result = apply_plan(plan, admin, recheck=lambda: fresh_plan(), secrets=..., cancel=token,
                        progress=token.report)

Each needed change runs its cmdlet; `progress` hears "running" and the outcome of
each. The first failure stops the run: the changes before it are applied, the rest
are "not run". Afterwards `recheck()` reads the tenant again and rebuilds the plan,
which is how the result is verified (a change that ran but is still needed is
reported) and why applying again is safe: a retry starts from the fresh plan, in
which whatever was already made is "already done" and is not run again.
"""

from __future__ import annotations

import logging
import secrets as random_secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from wizard.core.errors import InvalidInput, WizardError
from wizard.core.i18n import tr
from wizard.core.plan import Change, ChangeKind, ChangeStatus, Plan
from wizard.core.secret_names import password_purpose
from wizard.services.cancel import Cancellation, Cancelled, check
from wizard.services.exchange_admin import ExchangeAdmin
from wizard.services.secrets import SecretStore

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    RUNNING = "running"
    APPLIED = "applied"
    FAILED = "failed"
    NOT_RUN = "not-run"
    ALREADY_DONE = "already-done"
    SKIPPED = "skipped"  # left as it is by the user's choice
    BLOCKED = "blocked"


@dataclass(frozen=True)
class ChangeResult:
    change: Change
    outcome: Outcome
    error: WizardError | None = None
    warnings: tuple[str, ...] = ()

    @property
    def change_id(self) -> str:
        return self.change.id


@dataclass(frozen=True)
class ApplyResult:
    results: tuple[ChangeResult, ...]
    # The plan rebuilt from the tenant as it is after the run; None if it could not be read.
    verified: Plan | None = None
    recheck_error: WizardError | None = None
    cancelled: bool = False
    # Changes that ran without an error but the re-read tenant still needs.
    unconfirmed: tuple[str, ...] = field(default=())

    def with_outcome(self, outcome: Outcome) -> tuple[ChangeResult, ...]:
        return tuple(r for r in self.results if r.outcome is outcome)

    @property
    def applied(self) -> tuple[ChangeResult, ...]:
        return self.with_outcome(Outcome.APPLIED)

    @property
    def failed(self) -> ChangeResult | None:
        return next(iter(self.with_outcome(Outcome.FAILED)), None)

    @property
    def not_run(self) -> tuple[ChangeResult, ...]:
        return self.with_outcome(Outcome.NOT_RUN)

    @property
    def nothing_to_change(self) -> bool:
        """Nothing was needed: every change was already done (or left by choice)."""
        return not any(
            r.outcome in (Outcome.APPLIED, Outcome.FAILED, Outcome.NOT_RUN) for r in self.results
        )

    @property
    def complete(self) -> bool:
        return (
            self.failed is None
            and not self.not_run
            and not self.cancelled
            and not self.unconfirmed
            and (self.verified is None or self.verified.nothing_to_change)
        )

    def summary(self) -> str:
        if self.nothing_to_change and self.failed is None:
            return tr("Nothing to change: the tenant already has every setting this plan needs.")
        made = len(self.applied)
        parts = [
            tr("No change was made.")
            if made == 0
            else tr("1 change made.")
            if made == 1
            else tr("{n} changes made.").format(n=made)
        ]
        left = len(self.not_run) + (1 if self.failed is not None else 0)
        if self.failed is not None:
            parts.append(
                tr("'{title}' failed, so {n} of the changes are not made yet.").format(
                    title=self.failed.change.title, n=left
                )
            )
        elif self.cancelled:
            parts.append(tr("Stopped before {n} of the changes.").format(n=left))
        if self.unconfirmed:
            parts.append(
                tr("{n} of them did not show up when the tenant was read again.").format(
                    n=len(self.unconfirmed)
                )
            )
        elif self.complete and made:
            parts.append(tr("The tenant now has every setting this plan needs."))
        return " ".join(parts)


SecretSource = Callable[[Change], Mapping[str, str]]
Progress = Callable[[ChangeResult], None]


def _initial_outcome(change: Change) -> Outcome | None:
    return {
        ChangeStatus.DONE: Outcome.ALREADY_DONE,
        ChangeStatus.SKIPPED: Outcome.SKIPPED,
        ChangeStatus.BLOCKED: Outcome.BLOCKED,
    }.get(change.status)


def apply_plan(
    plan: Plan,
    admin: ExchangeAdmin,
    *,
    recheck: Callable[[], Plan] | None = None,
    secrets: SecretSource | None = None,
    cancel: Cancellation | None = None,
    progress: Progress | None = None,
) -> ApplyResult:
    """Run the plan's needed changes in order; see the module's notes."""
    if plan.unresolved:
        raise InvalidInput(
            tr("Choose what to do about '{title}' first.").format(title=plan.unresolved[0].title),
            tr("The wizard does not change an existing connector without your choice."),
        )
    if plan.blockers:
        raise InvalidInput(
            tr("This plan cannot be applied as it is."),
            plan.blockers[0],
        )
    report: Progress = progress or (lambda _r: None)
    results: list[ChangeResult] = []
    stopped = False
    cancelled = False
    for change in plan.changes:
        ready = _initial_outcome(change)
        if ready is not None:
            results.append(ChangeResult(change, ready))
            continue
        if stopped:
            results.append(ChangeResult(change, Outcome.NOT_RUN))
            continue
        if cancel is not None and cancel.cancelled:
            cancelled = stopped = True
            results.append(ChangeResult(change, Outcome.NOT_RUN))
            continue
        report(ChangeResult(change, Outcome.RUNNING))
        outcome = _run(change, admin, secrets, cancel)
        if outcome.outcome is Outcome.FAILED:
            stopped = True
            cancelled = isinstance(outcome.error, Cancelled)
            if cancelled:
                outcome = ChangeResult(change, Outcome.NOT_RUN)
        results.append(outcome)
        report(outcome)
    verified: Plan | None = None
    recheck_error: WizardError | None = None
    if recheck is not None and not (cancel is not None and cancel.cancelled):
        try:
            verified = recheck()
        except WizardError as exc:
            log.info("re-reading the tenant after applying failed: %s", exc.detail or exc.what)
            recheck_error = exc
    unconfirmed: tuple[str, ...] = ()
    if verified is not None:
        still_needed = {c.id for c in verified.to_apply}
        unconfirmed = tuple(
            r.change_id
            for r in results
            if r.outcome is Outcome.APPLIED and r.change_id in still_needed
        )
    return ApplyResult(tuple(results), verified, recheck_error, cancelled, unconfirmed)


def _run(
    change: Change,
    admin: ExchangeAdmin,
    secrets: SecretSource | None,
    cancel: Cancellation | None,
) -> ChangeResult:
    cmdlet = change.cmdlet
    if cmdlet is None:
        return ChangeResult(change, Outcome.ALREADY_DONE)
    try:
        check(cancel)
        values: Mapping[str, str] = {}
        if cmdlet.secret_parameters:
            if secrets is None:
                raise InvalidInput(
                    tr("'{title}' needs a password, and none was provided.").format(
                        title=change.title
                    )
                )
            values = secrets(change)
        result = admin.run(cmdlet, values, cancel=cancel)
    except WizardError as exc:
        log.info("change %s failed: %s", change.id, exc.detail or exc.what)
        return ChangeResult(change, Outcome.FAILED, exc)
    log.info("change %s applied (%s)", change.id, cmdlet.name)
    return ChangeResult(change, Outcome.APPLIED, None, tuple(result.warnings))


# --- secrets for changes that need one ---------------------------------------------------

PASSWORD_LENGTH = 24
_SYMBOLS = "-_.!@#%+="


def new_password(length: int = PASSWORD_LENGTH) -> str:
    """A random password that satisfies Entra's complexity rule (all four kinds)."""
    kinds = (string.ascii_lowercase, string.ascii_uppercase, string.digits, _SYMBOLS)
    alphabet = "".join(kinds)
    while True:
        candidate = "".join(random_secrets.choice(alphabet) for _ in range(length))
        if all(any(c in kind for c in candidate) for kind in kinds):
            return candidate


def keyring_secrets(store: SecretStore, site: str) -> SecretSource:
    """Passwords for new HVE accounts: made once, kept in the keyring before use.

    The password is stored before the account is created, so a failure half-way never
    leaves an account whose password nobody knows; a retry reuses it.
    """

    def source(change: Change) -> Mapping[str, str]:
        if change.kind is not ChangeKind.HVE_ACCOUNT or change.cmdlet is None:
            return {}
        address = str(change.cmdlet.parameter("PrimarySmtpAddress") or "")
        purpose = password_purpose(address)
        password = store.get(site, purpose)
        if not password:
            password = new_password()
            store.set(site, purpose, password)
        return {"Password": password}

    return source
