"""What each device is told about the local relay, drawn from the relay's configuration.

The bridge between the relay's own model (core.relay, the engine's) and the device-facing
values (core.device_settings, the sheets, Troubleshoot): one place decides which address,
port and security a device gets.
"""

from __future__ import annotations

from collections.abc import Iterable

from wizard.core.device_settings import LocalRelayAccess
from wizard.core.methods import Tri
from wizard.core.profile import Printer
from wizard.core.relay import RelayConfig, RelayDevice


def relay_device_for(config: RelayConfig, printer: Printer) -> RelayDevice | None:
    """The relay's device for a printer of the profile: by name, else by sender."""
    name = printer.name.strip().casefold()
    by_name = next((d for d in config.devices if d.name.strip().casefold() == name), None)
    if by_name is not None:
        return by_name
    sender = printer.sender.strip().lower()
    return next((d for d in config.devices if d.mailbox == sender), None) if sender else None


def uses_plain_port(config: RelayConfig, printer: Printer) -> bool:
    """A device without TLS 1.2 gets the plain LAN port, when the technician opened it."""
    return printer.tls12 is Tri.NO and config.plain_port is not None


def relay_access(
    config: RelayConfig, printer: Printer, certificate_sha256: str | None = None
) -> LocalRelayAccess | None:
    device = relay_device_for(config, printer)
    if device is None:
        return None
    plain = uses_plain_port(config, printer)
    # The address, not the name: a printer often has no DNS of the office's own names,
    # and the relay's certificate names both.
    return LocalRelayAccess(
        host=config.listen_address,
        port=config.plain_port
        if plain and config.plain_port is not None
        else config.submission_port,
        starttls=not plain,
        username=device.username,
        certificate_sha256=None if plain else certificate_sha256,
    )


def relay_access_map(
    config: RelayConfig | None,
    printers: Iterable[Printer],
    certificate_sha256: str | None = None,
) -> dict[str, LocalRelayAccess]:
    """Printer name -> how it reaches the relay, for the printers the relay knows."""
    if config is None:
        return {}
    found: dict[str, LocalRelayAccess] = {}
    for printer in printers:
        access = relay_access(config, printer, certificate_sha256)
        if access is not None:
            found[printer.name] = access
    return found
