"""Devices of the relay: each gets its own user name and a generated password.

The password goes to the OS keyring (SecretStore) and to the technician once, to type
into the device; the config file only names the device.
"""

from __future__ import annotations

import hmac
import re
import secrets
import string

from wizard.core.errors import InvalidInput
from wizard.core.i18n import tr
from wizard.core.relay import RelayConfig, RelayDevice, check_device, device_password_purpose
from wizard.services.secrets import SecretStore

# Letters and digits only: device web pages often refuse or mangle symbols. 20 of 62
# characters are about 119 bits, and fit the 32-character fields older printers have.
_ALPHABET = string.ascii_letters + string.digits
PASSWORD_LENGTH = 20


def generate_password(length: int = PASSWORD_LENGTH) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def suggest_username(config: RelayConfig, sender: str) -> str:
    """'scanner@contoso.com' -> 'scanner', then 'scanner-2' if taken."""
    local = re.sub(r"[^a-z0-9._-]", "-", sender.partition("@")[0].lower()).strip("-.") or "device"
    local = local[:56]
    name, n = local, 2
    while config.device_for_username(name) is not None:
        name, n = f"{local}-{n}", n + 1
    return name


def add_device(
    config: RelayConfig,
    store: SecretStore,
    *,
    name: str,
    ip: str,
    sender: str,
    username: str | None = None,
) -> tuple[RelayConfig, RelayDevice, str]:
    """The config with the device added, the device, and its new password (show it once).

    Adding a device with a user name that exists replaces it and gives it a new
    password (the old one stops working).
    """
    device = RelayDevice(
        name=name.strip(),
        ip=ip.strip(),
        username=(username or suggest_username(config, sender)).strip().lower(),
        sender=sender.strip().lower(),
    )
    problems = check_device(device)
    if problems:
        raise InvalidInput(problems[0].message, detail="; ".join(p.message for p in problems))
    password = generate_password()
    store.set(config.site, device_password_purpose(device.username), password)
    return config.with_device(device), device, password


def remove_device(config: RelayConfig, store: SecretStore, username: str) -> RelayConfig:
    device = config.device_for_username(username)
    if device is None:
        raise InvalidInput(
            tr("The relay has no device with the user name '{name}'.").format(name=username)
        )
    store.delete(config.site, device_password_purpose(device.username))
    return config.without_device(device.username)


def device_password(config: RelayConfig, store: SecretStore, device: RelayDevice) -> str | None:
    return store.get(config.site, device_password_purpose(device.username))


def password_matches(expected: str | None, given: str) -> bool:
    """Constant-time, so the reply time tells nothing about the password."""
    if not expected:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))
