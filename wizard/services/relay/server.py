"""The running relay: the SMTP listener, the durable queue and the delivery worker.

server = RelayServer(config, secrets=SecretStore(), config_path=path).start()
server.status()          # RelayStatus (queue length, last delivery, last error, tokens)
server.stop()            # stops listening; the message in hand is finished or requeued
"""

from __future__ import annotations

from pathlib import Path

from wizard.core.relay import RelayConfig
from wizard.services.relay.status import RelayStatus
from wizard.services.secrets import SecretStore


class RelayServer:
    def __init__(
        self,
        config: RelayConfig,
        *,
        secrets: SecretStore | None = None,
        config_path: Path | None = None,
    ) -> None:
        self.config = config
        self.secrets = secrets or SecretStore()
        self.config_path = config_path

    def start(self) -> RelayServer:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def status(self) -> RelayStatus:
        raise NotImplementedError
