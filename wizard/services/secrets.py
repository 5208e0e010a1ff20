"""Secrets in the operating system's keyring, and nowhere else.

Keyed by site and purpose ("Contoso HQ" / "smtp-password:scanner@contoso.com").
A missing, locked or plain-text keyring is an error with a plain-words message; there
is deliberately no fallback to a file.
"""

from __future__ import annotations

import keyring
import keyring.backend
import keyring.backends.chainer
import keyring.errors

from wizard.core.errors import SecretStoreError
from wizard.core.i18n import tr

SERVICE = "relay-wizard"
# Windows Credential Manager holds about 1,280 characters per entry.
MAX_SECRET_CHARS = 1200


# The operating systems' own keyrings, as keyring ships them. Anything else (keyrings.alt's
# files, keyring_pass, a cryptfile, an unknown plug-in) is refused: "a keyring" is not
# enough, the secret must end up where the operating system guards it.
OS_KEYRING_MODULES = (
    "keyring.backends.Windows",
    "keyring.backends.macOS",
    "keyring.backends.SecretService",
    "keyring.backends.libsecret",
    "keyring.backends.kwallet",
)
# A backend class may declare that it keeps secrets in this process only and never
# writes them anywhere (the tests' in-memory keyring does); nothing leaves memory.
IN_MEMORY_ONLY = "keeps_secrets_in_memory_only"
# A backend class the test suite made so that a second process (the relay killed and
# started again) shares the test's secrets. It lives in tests/, which is never shipped;
# the product itself never writes a secret to a file.
TEST_DOUBLE = "relay_wizard_test_double"


def _backend_name(backend: keyring.backend.KeyringBackend) -> str:
    return f"{type(backend).__module__}.{type(backend).__name__}"


def _in(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _refuses(backend: keyring.backend.KeyringBackend) -> str | None:
    """Why a backend cannot be used for secrets, or None if it can.

    A chainer writes to the first of its backends that takes the secret (keyring's
    ChainerBackend.set_password), so every backend in the chain must be acceptable; an
    empty chain stores nothing at all.
    """
    module = type(backend).__module__
    if isinstance(backend, keyring.backends.chainer.ChainerBackend):
        try:
            chained = list(backend.backends)
        except Exception:  # a plug-in failing to load: nothing is known to be safe
            chained = []
        if not chained:
            return tr("no keyring is available on this computer")
        for child in chained:
            why = _refuses(child)
            if why:
                return why
        return None
    if module.startswith("keyrings.alt"):
        return tr("the only keyring available stores secrets in a plain file")
    if _in(module, ("keyring.backends.fail", "keyring.backends.null")):
        return tr("no keyring is available on this computer")
    if getattr(type(backend), IN_MEMORY_ONLY, False) is True:
        return None
    if getattr(type(backend), TEST_DOUBLE, False) is True:
        return None
    if not _in(module, OS_KEYRING_MODULES):
        return tr("{name} is not one of the operating system's keyrings").format(
            name=_backend_name(backend)
        )
    try:
        # keyring's own backends raise here when they cannot run (no D-Bus, no module).
        usable = float(backend.priority) > 0
    except Exception:
        usable = False
    if not usable:
        return tr("the keyring backend is not usable here")
    return None


def entry_name(site: str, purpose: str) -> str:
    return f"{site.strip()}/{purpose.strip()}"


class SecretStore:
    """get/set/delete secrets for (site, purpose) in the OS keyring."""

    def __init__(
        self, backend: keyring.backend.KeyringBackend | None = None, service: str = SERVICE
    ) -> None:
        self._backend = backend
        self._service = service

    def _keyring(self) -> keyring.backend.KeyringBackend:
        backend = self._backend or keyring.get_keyring()
        why = _refuses(backend)
        if why:
            raise SecretStoreError(
                tr("Secrets cannot be kept safely: {why}.").format(why=why),
                why=tr("Relay Wizard keeps passwords only in the operating system's keyring."),
                next_step=_keyring_hint(),
                detail=_backend_name(backend),
            )
        return backend

    def describe_backend(self) -> str:
        """The backend's name, and why it cannot hold secrets if it cannot."""
        backend = self._backend or keyring.get_keyring()
        name = _backend_name(backend)
        why = _refuses(backend)
        return f"{name} (unusable: {why})" if why else name

    def get(self, site: str, purpose: str) -> str | None:
        try:
            return self._keyring().get_password(self._service, entry_name(site, purpose))
        except keyring.errors.KeyringLocked:
            raise _locked() from None
        except keyring.errors.KeyringError as exc:
            raise _failed(exc) from None

    def set(self, site: str, purpose: str, secret: str) -> None:
        if not secret:
            raise SecretStoreError(tr("There is nothing to keep: the secret is empty."))
        if len(secret) > MAX_SECRET_CHARS:
            raise SecretStoreError(
                tr(
                    "This secret is too long for the keyring ({n} characters; at most {max})."
                ).format(n=len(secret), max=MAX_SECRET_CHARS)
            )
        try:
            self._keyring().set_password(self._service, entry_name(site, purpose), secret)
        except keyring.errors.KeyringLocked:
            raise _locked() from None
        except keyring.errors.PasswordSetError as exc:
            raise _failed(exc) from None
        except keyring.errors.KeyringError as exc:
            raise _failed(exc) from None

    def delete(self, site: str, purpose: str) -> bool:
        """Forget a secret; False if there was none."""
        try:
            self._keyring().delete_password(self._service, entry_name(site, purpose))
        except keyring.errors.PasswordDeleteError:
            return False
        except keyring.errors.KeyringLocked:
            raise _locked() from None
        except keyring.errors.KeyringError as exc:
            raise _failed(exc) from None
        return True


def _keyring_hint() -> str:
    return tr(
        "On Windows and macOS the keyring is built in. On Linux, install and unlock a "
        "Secret Service keyring (GNOME Keyring or KWallet) and start Relay Wizard again."
    )


def _locked() -> SecretStoreError:
    return SecretStoreError(
        tr("The keyring is locked."),
        next_step=tr("Unlock it (your login password usually does) and try again."),
        retryable=True,
    )


def _failed(exc: Exception) -> SecretStoreError:
    # The exception text of a keyring backend never contains the secret itself,
    # only the backend's own complaint.
    return SecretStoreError(
        tr("The keyring refused the request."),
        next_step=_keyring_hint(),
        detail=type(exc).__name__,
        retryable=True,
    )
