"""The local relay engine: SMTP listener, durable queue, onward XOAUTH2, service install.

The entry points the wizard's Relay step and `relay-wizard relay ...` use (stable):

    config = load_config(path)                           # wizard.core.relay.RelayConfig
    server = RelayServer(config, secrets=SecretStore()).start()   # listens, delivers
    server.status()                                      # RelayStatus, live
    server.stop()                                        # finishes the message in hand
    relay_status(config)                                 # RelayStatus from outside
    device, password = add_device(config, secrets, name=..., ip=..., sender=...)
    enroll_mailbox(config, secrets, refresh_token, mailbox)  # after the mailbox signed in
    probe_token(config, secrets, mailbox)                # ("ok"|"missing"|"refused"|..., why)
    install_service(config_path, manager=service_manager())  # systemd / launchd / sc.exe
    remove_service(manager=service_manager())
    send_through_relay(config, device, password, to=...)     # the way the device will;
                                                         # RelayTestResult (Message-ID)

Everything here raises the typed errors of wizard.core.errors, never a traceback.
"""

from __future__ import annotations

from wizard.services.relay.config_store import default_config_path, load_config, save_config
from wizard.services.relay.devices import add_device, remove_device
from wizard.services.relay.probe import RelayTestResult, send_through_relay
from wizard.services.relay.server import RelayServer
from wizard.services.relay.service import (
    ServiceManager,
    install_service,
    remove_service,
    service_manager,
)
from wizard.services.relay.status import RelayStatus, TokenState, relay_status
from wizard.services.relay.tokens import enroll_mailbox, probe_token

__all__ = [
    "RelayServer",
    "RelayStatus",
    "RelayTestResult",
    "ServiceManager",
    "TokenState",
    "add_device",
    "default_config_path",
    "enroll_mailbox",
    "install_service",
    "load_config",
    "probe_token",
    "relay_status",
    "remove_device",
    "remove_service",
    "save_config",
    "send_through_relay",
    "service_manager",
]
