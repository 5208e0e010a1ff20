"""What the wizard's Relay step and Troubleshoot need around the relay engine.

The engine (services.relay) runs the relay; this module is the wizard's side of it:
which addresses of this computer the relay may listen on, a first config for a site
and its tenant, the relay's certificate and fingerprint, and a `RelayHealth` for
Troubleshoot (the relay's status plus a real SMTP greeting from its address). Every
network conversation here is bounded in time and size.
"""

from __future__ import annotations

import hashlib
import ipaddress
import smtplib
import socket
import ssl
import struct
import sys
from datetime import datetime
from pathlib import Path

from wizard.core.clouds import Cloud
from wizard.core.device_settings import LocalRelayAccess
from wizard.core.relay import OnwardTarget, RelayConfig, RelayDevice
from wizard.core.troubleshoot.relay_checks import RelayHealth, TokenState
from wizard.services.relay.certs import CA_FILE
from wizard.services.relay.config_store import data_dir
from wizard.services.relay.probe import RelayTestResult, send_through_relay
from wizard.services.relay.status import RelayStatus, relay_status
from wizard.services.smtp_test import new_test_token

# A greeting and EHLO answer from our own relay on the office network: seconds at most.
PROBE_TIMEOUT = 5.0
# The certificate file is a few kilobytes; a bigger one is not the relay's.
MAX_CERT_BYTES = 256 * 1024


def _interface_addresses() -> list[str]:
    """The IPv4 address of each network interface, asked of the kernel (Linux).

    A Debian host's own name resolves to 127.0.1.1 only, so the name alone misses the
    LAN address; SIOCGIFADDR reads it without sending anything.
    """
    if not sys.platform.startswith("linux"):
        return []
    import fcntl

    siocgifaddr = 0x8915  # <linux/sockios.h>
    found: list[str] = []
    try:
        names = [name for _index, name in socket.if_nameindex()]
    except OSError:
        return []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for name in names[:64]:
            request = struct.pack("256s", name.encode()[:15])
            try:
                answer = fcntl.ioctl(probe.fileno(), siocgifaddr, request)
            except OSError:
                continue  # no IPv4 address on this interface
            found.append(socket.inet_ntoa(answer[20:24]))
    return found


def local_addresses() -> list[str]:
    """This computer's IPv4 addresses a relay may listen on (never 0.0.0.0), LAN first.

    From the network interfaces and the host's own names, without sending anything;
    loopback comes last so that a test or a demo on this computer alone can still
    choose it.
    """
    found: list[str] = []
    for address in _interface_addresses():
        if address not in found:
            found.append(address)
    names = {socket.gethostname(), socket.getfqdn(), "localhost"}
    for name in names:
        try:
            infos = socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)
        except OSError:
            continue
        for info in infos:
            address = str(info[4][0])
            if address not in found:
                found.append(address)
    found = [a for a in found if not ipaddress.ip_address(a).is_unspecified]
    if "127.0.0.1" not in found:
        found.append("127.0.0.1")
    return sorted(found, key=lambda a: (ipaddress.ip_address(a).is_loopback, a))


def suggested_hostname() -> str:
    """This computer's name as the relay's certificate should carry it."""
    name = socket.gethostname().strip().lower().rstrip(".")
    return name or "relay"


def new_relay_config(
    *,
    site: str,
    cloud: Cloud,
    tenant_id: str,
    client_id: str,
    listen_address: str,
    hostname: str,
    submission_port: int,
    plain_port: int | None = None,
    admin_report_address: str | None = None,
    devices: tuple[RelayDevice, ...] = (),
) -> RelayConfig:
    """A relay config that sends onward to `cloud` as the tenant's mailboxes."""
    return RelayConfig(
        site=site,
        listen_address=listen_address.strip(),
        hostname=hostname.strip().lower(),
        onward=OnwardTarget.from_cloud(cloud, tenant_id, client_id),
        devices=devices,
        submission_port=submission_port,
        plain_port=plain_port,
        admin_report_address=admin_report_address or None,
    )


def certificate_file(config: RelayConfig, config_path: Path | None = None) -> Path | None:
    """The CA certificate a device trusts to check the relay's own certificate.

    The relay makes a small CA of its own and keeps it across renewals (services.relay
    .certs), so a device that trusts it keeps trusting the relay. None when the relay
    was given a certificate (trusted like any other) or has not made one yet.
    """
    if config.cert_file:
        return None
    path = data_dir(config, config_path) / CA_FILE
    return path if path.is_file() else None


def certificate_fingerprint(path: Path | None) -> str | None:
    """SHA-256 of the certificate's DER bytes as AA:BB:..., as devices display it."""
    if path is None:
        return None
    try:
        if path.stat().st_size > MAX_CERT_BYTES:
            return None
        der = ssl.PEM_cert_to_DER_cert(path.read_text(encoding="ascii"))
    except (OSError, ValueError):
        return None
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def _probe(host: str, port: int, timeout: float) -> tuple[bool, str, bool | None, str]:
    """Connect like a device: (answered, greeting, STARTTLS offered, error)."""
    try:
        with smtplib.SMTP(timeout=timeout) as client:
            code, banner = client.connect(host, port)
            greeting = f"{code} {banner.decode('utf-8', 'replace')[:200]}"
            client.ehlo("relay-wizard-check")
            offered = client.has_extn("starttls")
            try:
                client.quit()
            except smtplib.SMTPException:
                pass
            return True, greeting, offered, ""
    except (OSError, smtplib.SMTPException) as exc:
        return False, "", None, f"{type(exc).__name__}: {str(exc)[:200]}"


def relay_health(
    config: RelayConfig | None,
    access: LocalRelayAccess | None,
    *,
    mailbox: str,
    config_path: Path | None = None,
    status: RelayStatus | None = None,
    timeout: float = PROBE_TIMEOUT,
) -> RelayHealth:
    """What Troubleshoot's relay checks need for one device (see core.troubleshoot)."""
    if config is None:
        return RelayHealth(False, False, False, "", True, mailbox)
    if access is None:
        return RelayHealth(True, False, False, "", True, mailbox)
    address = f"{access.host}:{access.port}"
    state = status if status is not None else relay_status(config, config_path)
    answered, greeting, offered, error = _probe(access.host, access.port, timeout)
    token = TokenState.parse(state.tokens.get(mailbox.lower()))
    last = datetime.fromtimestamp(state.last_delivery) if state.last_delivery else None
    return RelayHealth(
        configured=True,
        device_known=True,
        running=state.running,
        address=address,
        starttls=access.starttls,
        mailbox=mailbox,
        reachable=answered,
        connect_error=error,
        greeting=greeting,
        starttls_offered=offered,
        queued=state.queued,
        failed=state.failed,
        last_delivery=last,
        last_error=state.last_error,
        token=token,
    )


def send_traceable_test(
    config: RelayConfig,
    device: RelayDevice,
    password: str,
    *,
    to: str,
    starttls: bool = True,
    ca_file: str | None = None,
    timeout: float = PROBE_TIMEOUT * 6,
) -> RelayTestResult:
    """The relay's test message as the device sends it (STARTTLS, AUTH, its sender),
    carrying one of the wizard's RW- tokens so the message trace follows it onward
    the way it follows the Test step's messages."""
    return send_through_relay(
        config,
        device,
        password,
        to=to,
        starttls=starttls,
        ca_file=ca_file,
        timeout=timeout,
        token=new_test_token(),
    )
