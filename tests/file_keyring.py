"""A keyring backend in one JSON file, so a relay in another process (the kill and
restart test) shares the test's secrets. Tests only: never shipped, and a plain file is
exactly what the product refuses to keep secrets in."""

from __future__ import annotations

import json
import os
from pathlib import Path

import keyring.backend
import keyring.errors

PATH_ENV = "RELAY_WIZARD_TEST_KEYRING"


class FileKeyring(keyring.backend.KeyringBackend):
    priority = 1
    # The product's keyring check lets a test double through (services.secrets).
    relay_wizard_test_double = True

    def __init__(self, path: Path | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        # keyring instantiates every backend class it knows while choosing one; the
        # path is looked up only when this one is used.
        self._path = path

    @property
    def path(self) -> Path:
        return self._path or Path(os.environ[PATH_ENV])

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict[str, str]) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, self.path)

    def get_password(self, service: str, username: str) -> str | None:
        return self._read().get(f"{service}\n{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._read()
        data[f"{service}\n{username}"] = password
        self._write(data)

    def delete_password(self, service: str, username: str) -> None:
        data = self._read()
        if data.pop(f"{service}\n{username}", None) is None:
            raise keyring.errors.PasswordDeleteError(username)
        self._write(data)
