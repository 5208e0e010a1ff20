"""The "Server" rows of a device's settings, as the Method and Summary pages show them.

For direct send and connector relay the host is the one `core.relay_host` decided: a
verified host is shown with its source, a guess is shown with "a guess, not
confirmed", and a host that was not found is never replaced by a computed one.
"""

from __future__ import annotations

from wizard.core.device_settings import DeviceSettings
from wizard.core.i18n import tr
from wizard.ui.widgets.values import ValueRows


def add_server_rows(rows: ValueRows, settings: DeviceSettings, *, pending: bool) -> None:
    relay = settings.relay_host
    if relay is None and not settings.server:
        # The local relay before the Relay step has added the device: nothing to copy.
        rows.add(tr("Server"), tr("The relay's address, once the Relay step adds the device"))
        return
    if relay is None:
        rows.add(tr("Server"), settings.server, copy=True)
        return
    if not settings.server:
        rows.add(
            tr("Server"),
            tr("Looking up the domain's MX record…")
            if pending
            else tr("Not found yet: see the notes below"),
        )
        return
    rows.add(tr("Server"), settings.server, copy=True)
    rows.add(tr("Server from"), relay.source_label)
