"""A test message through the relay, sent the way the device will send it."""

from __future__ import annotations

from wizard.core.relay import RelayConfig, RelayDevice


def send_through_relay(
    config: RelayConfig,
    device: RelayDevice,
    password: str,
    *,
    to: str,
    ca_file: str | None = None,
    timeout: float = 30.0,
) -> str:
    """Connect to the relay as `device` (STARTTLS on 587, AUTH, its sender) and send one
    message to `to`; returns the relay's queue id. Raises typed errors with the relay's
    own refusal in plain words."""
    raise NotImplementedError  # filled in with the listener
