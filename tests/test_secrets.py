from __future__ import annotations

import keyring.backends.fail
import pytest

from tests.memory_keyring import LockedKeyring, MemoryKeyring
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
