"""The demo's whole path on this computer: a printer stand-in sends through the relay,
the relay submits to the sandbox tenant as the device's mailbox, and the tenant's
message trace (Get-MessageTraceV2) shows the message delivered."""

from __future__ import annotations

from pathlib import Path

from tests.m365_helpers import SCANNER, sign_in
from tests.relay_helpers import INSIDE, allow_smtp_auth, enroll, relay_config, with_scanner
from wizard.sandbox.server import Sandbox
from wizard.services.exchange_admin import ExchangeAdmin
from wizard.services.message_trace import MessageTraceSearch, TraceState
from wizard.services.relay import RelayServer, send_through_relay
from wizard.services.secrets import SecretStore


def test_printer_relay_tenant_and_trace(sandbox: Sandbox, tmp_path: Path) -> None:
    store = SecretStore()
    allow_smtp_auth(sandbox)
    config, device, password = with_scanner(relay_config(sandbox, tmp_path), store)
    enroll(sandbox, config, store)
    with RelayServer(config, secrets=store) as relay:
        # The printer stand-in verifies the relay the careful way: its own CA, its name.
        sent = send_through_relay(
            config,
            device,
            password,
            to=INSIDE,
            port=relay.port(),
            ca_file=str(tmp_path / "relay-ca.pem"),
        )
        assert sent.reply.startswith("250") and sent.queue_id
        signin, account = sign_in(sandbox, graph=False)
        admin = ExchangeAdmin(sandbox.cloud, account.tenant_id, account.upn, signin.exchange_token)
        found = MessageTraceSearch(
            admin,
            sender=SCANNER,
            message_id=sent.message_id,
            token=sent.token,
            sent_at=sent.sent_at,
            first_delay=0.05,
            timeout=10,
        ).run()
    assert found.state is TraceState.DELIVERED, found
    assert [row.recipient for row in found.rows] == [INSIDE]
