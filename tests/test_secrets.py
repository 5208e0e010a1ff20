from __future__ import annotations

from pathlib import Path

import keyring.backend
import keyring.backends.chainer
import keyring.backends.fail
import pytest

from tests.memory_keyring import LockedKeyring, MemoryKeyring, PlainFileKeyring
from wizard.core.errors import SecretStoreError
from wizard.services.secrets import SERVICE, SecretStore


def test_set_get_delete(memory_keyring: MemoryKeyring) -> None:
    store = SecretStore()
    assert store.get("Contoso HQ", "smtp-password:scanner@contoso.com") is None
    store.set("Contoso HQ", "smtp-password:scanner@contoso.com", "s3cret!")
    assert store.get("Contoso HQ", "smtp-password:scanner@contoso.com") == "s3cret!"
    assert (SERVICE, "Contoso HQ/smtp-password:scanner@contoso.com") in memory_keyring.entries
    assert store.delete("Contoso HQ", "smtp-password:scanner@contoso.com")
    assert not store.delete("Contoso HQ", "smtp-password:scanner@contoso.com")


def test_no_keyring_is_a_clear_error_and_no_file_fallback(tmp_path: object) -> None:
    store = SecretStore(keyring.backends.fail.Keyring())  # type: ignore[no-untyped-call]
    with pytest.raises(SecretStoreError) as info:
        store.set("Site", "purpose", "CANARY-pw")
    assert "no keyring is available" in info.value.what
    assert "Secret Service" in info.value.next_step
    assert "CANARY" not in info.value.plain() + info.value.detail


def test_plaintext_backend_is_refused() -> None:
    class PlaintextKeyring(MemoryKeyring):
        pass

    PlaintextKeyring.__module__ = "keyrings.alt.file"
    with pytest.raises(SecretStoreError, match="plain file"):
        SecretStore(PlaintextKeyring()).set("Site", "purpose", "x")


def test_locked_keyring() -> None:
    store = SecretStore(LockedKeyring())
    with pytest.raises(SecretStoreError) as info:
        store.get("Site", "purpose")
    assert "locked" in info.value.what and info.value.retryable


def test_empty_and_oversized_secrets() -> None:
    store = SecretStore()
    with pytest.raises(SecretStoreError, match="empty"):
        store.set("Site", "p", "")
    with pytest.raises(SecretStoreError, match="too long"):
        store.set("Site", "p", "x" * 5000)


def test_describe_backend_says_when_secrets_cannot_be_kept() -> None:
    assert SecretStore().describe_backend() == "tests.memory_keyring.MemoryKeyring"
    unusable = SecretStore(keyring.backends.fail.Keyring())  # type: ignore[no-untyped-call]
    assert "unusable: no keyring is available" in unusable.describe_backend()


def _chain(*backends: keyring.backend.KeyringBackend) -> keyring.backends.chainer.ChainerBackend:
    """keyring's own ChainerBackend over exactly these backends (as if installed)."""

    class Chain(keyring.backends.chainer.ChainerBackend):
        pass

    Chain.backends = list(backends)  # type: ignore[assignment]
    return Chain()  # type: ignore[no-untyped-call]


def test_a_chainer_with_a_plaintext_backend_is_refused_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    # Issue 14, item 2: with keyrings.alt present the chainer wrote the password to a
    # file; every backend a chainer may write to must be an OS keyring.
    plain = PlainFileKeyring()  # type: ignore[no-untyped-call]
    plain.path = tmp_path / "keyring_pass.cfg"
    memory = MemoryKeyring()
    store = SecretStore(_chain(plain, memory))
    with pytest.raises(SecretStoreError, match="plain file") as info:
        store.set("Site", "purpose", "CANARY-pw")
    assert not plain.path.exists() and not memory.entries
    assert "CANARY" not in info.value.plain() + info.value.detail
    with pytest.raises(SecretStoreError, match="plain file"):
        store.get("Site", "purpose")


def test_an_empty_chainer_is_refused() -> None:
    store = SecretStore(_chain())
    with pytest.raises(SecretStoreError, match="no keyring is available"):
        store.set("Site", "purpose", "x")
    assert "unusable" in store.describe_backend()


def test_a_chainer_of_acceptable_backends_works() -> None:
    memory = MemoryKeyring()
    SecretStore(_chain(memory)).set("Site", "purpose", "x")
    assert memory.entries == {(SERVICE, "Site/purpose"): "x"}


def test_an_unknown_backend_is_refused() -> None:
    class SomePlugin(keyring.backend.KeyringBackend):
        priority = 5

        def get_password(self, service: str, username: str) -> str | None:
            return None

        def set_password(self, service: str, username: str, password: str) -> None:
            raise AssertionError("must not be asked")

        def delete_password(self, service: str, username: str) -> None:
            raise AssertionError("must not be asked")

    SomePlugin.__module__ = "keyring_pass"
    with pytest.raises(SecretStoreError, match="not one of the operating system's keyrings"):
        SecretStore(SomePlugin()).set("Site", "purpose", "x")  # type: ignore[no-untyped-call]
