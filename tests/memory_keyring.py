"""An in-memory keyring backend for tests (never shipped: it is under tests/)."""

from __future__ import annotations

import base64
from pathlib import Path

import keyring.backend
import keyring.errors


class MemoryKeyring(keyring.backend.KeyringBackend):
    priority = 1
    # SecretStore accepts it in place of the OS keyring: nothing leaves this process.
    keeps_secrets_in_memory_only = True

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.entries[(service, username)]
        except KeyError:
            raise keyring.errors.PasswordDeleteError(username) from None


class LockedKeyring(MemoryKeyring):
    """Behaves like a Secret Service collection the user has not unlocked."""

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked("locked")


class PlainFileKeyring(keyring.backend.KeyringBackend):
    """Stores secrets base64-encoded in a file, as keyrings.alt's file backends do.

    Named as keyrings.alt's module is, because SecretStore recognises a plaintext
    backend by where it comes from; the file is set by the test.
    """

    priority = 1
    path: Path | None = None

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        assert self.path is not None
        with self.path.open("a", encoding="ascii") as handle:
            handle.write(f"{service} {username} {base64.b64encode(password.encode()).decode()}\n")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.PasswordDeleteError(username)


PlainFileKeyring.__module__ = "keyrings.alt.file"
