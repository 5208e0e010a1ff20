"""The wizard's side of the relay engine: this computer's addresses, the relay's CA
fingerprint as devices show it, and a relay health for Troubleshoot without a relay."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from wizard.core.clouds import CLOUDS, CloudId
from wizard.core.troubleshoot.relay_checks import TokenState
from wizard.services.relay.certs import ensure_certificate
from wizard.services.relay_setup import (
    certificate_file,
    certificate_fingerprint,
    local_addresses,
    new_relay_config,
    relay_health,
)


def test_local_addresses_are_this_computers_never_all_interfaces() -> None:
    found = local_addresses()
    assert found and found[-1] == "127.0.0.1"  # loopback last: the LAN comes first
    for text in found:
        address = ipaddress.ip_address(text)
        assert address.version == 4 and not address.is_unspecified


def test_the_fingerprint_is_the_relays_ca_as_devices_show_it(tmp_path: Path) -> None:
    config = new_relay_config(
        site="Contoso HQ",
        cloud=CLOUDS[CloudId.WORLDWIDE],
        tenant_id="t",
        client_id="c",
        listen_address="192.168.1.20",
        hostname="relay.contoso.lan",
        submission_port=587,
    )
    path = tmp_path / "relay.json"
    assert certificate_file(config, path) is None  # none made yet
    made = ensure_certificate(
        tmp_path / "relay-data",
        site="Contoso HQ",
        hostname="relay.contoso.lan",
        address="192.168.1.20",
    )
    ca = certificate_file(config, path)
    assert ca == made.ca_file
    fingerprint = certificate_fingerprint(ca)
    assert fingerprint == made.fingerprint_sha256
    cert = x509.load_pem_x509_certificate(made.ca_file.read_bytes())
    assert fingerprint == cert.fingerprint(hashes.SHA256()).hex(":").upper()
    assert certificate_fingerprint(tmp_path / "missing.pem") is None


def test_health_without_a_relay_or_without_the_device() -> None:
    nothing = relay_health(None, None, mailbox="scan@contoso.com")
    assert not nothing.configured and nothing.token is TokenState.UNKNOWN
    config = new_relay_config(
        site="S",
        cloud=CLOUDS[CloudId.WORLDWIDE],
        tenant_id="t",
        client_id="c",
        listen_address="127.0.0.1",
        hostname="relay",
        submission_port=587,
    )
    unknown = relay_health(config, None, mailbox="scan@contoso.com")
    assert unknown.configured and not unknown.device_known and not unknown.running
