"""Typed errors that carry their own plain-words explanation.

Services raise these; pages show `what`, `why` and `next_step` as they are and never
parse exception strings. No secret may ever be put into any field of these errors.
"""

from __future__ import annotations


class WizardError(Exception):
    """Base of every error the user may see.

    what: what happened, in one sentence.
    why: why it matters (optional).
    next_step: the one thing to do next (optional).
    detail: technical detail for the log and the "details" fold (server text, codes).
    retryable: whether trying the same thing again can succeed.
    """

    default_retryable = False

    def __init__(
        self,
        what: str,
        why: str = "",
        next_step: str = "",
        *,
        detail: str = "",
        retryable: bool | None = None,
    ) -> None:
        super().__init__(what)
        self.what = what
        self.why = why
        self.next_step = next_step
        self.detail = detail
        self.retryable = self.default_retryable if retryable is None else retryable

    def plain(self) -> str:
        """The whole explanation as one paragraph for logs, CLI output and dialogs."""
        parts = [self.what, self.why, self.next_step]
        return " ".join(p.strip() for p in parts if p and p.strip())


class InvalidInput(WizardError):
    """Something the user typed or chose cannot be used."""


class ProfileError(WizardError):
    """A site profile file cannot be read or written."""


class SecretStoreError(WizardError):
    """The operating system's keyring is missing, locked or refused the request."""


class NetworkError(WizardError):
    """A connection failed (refused, unreachable, reset): usually worth retrying."""

    default_retryable = True


class ServiceTimeout(NetworkError):
    """A service did not answer in time."""


class TlsFailure(NetworkError):
    """The TLS handshake or the certificate check failed. Never retried silently."""

    default_retryable = False


class SignInError(WizardError):
    """Sign-in did not complete (cancelled, timed out, refused, wrong tenant)."""


class PermissionDenied(WizardError):
    """The signed-in account lacks the role or the right for the request."""


class Throttled(NetworkError):
    """The service asked us to slow down (HTTP 429)."""

    def __init__(
        self,
        what: str,
        why: str = "",
        next_step: str = "",
        *,
        retry_after: float = 0.0,
        detail: str = "",
    ) -> None:
        super().__init__(what, why, next_step, detail=detail)
        self.retry_after = retry_after


class ServiceError(WizardError):
    """The service answered with an error of its own (HTTP 5xx, cmdlet error)."""
