"""The relay's own certificate for STARTTLS: a small local CA and a certificate for
the relay's name and address, made with `cryptography` (already a dependency).

Devices that check certificates need to trust `relay-ca.pem` (the sheet says how);
most printers accept any certificate. The CA is kept across renewals, so a device that
trusts it keeps trusting a new relay certificate (new name, new address, renewal).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from wizard.core.errors import WizardError
from wizard.core.i18n import tr
from wizard.services.atomic import write_atomic

CA_FILE = "relay-ca.pem"
CA_KEY_FILE = "relay-ca.key"
CERT_FILE = "relay-cert.pem"
KEY_FILE = "relay-cert.key"
CA_YEARS = 10
# Devices and browsers refuse server certificates valid much longer than a year or two;
# the relay renews its own well before the end.
CERT_DAYS = 397
RENEW_WHEN_DAYS_LEFT = 30


@dataclass(frozen=True)
class RelayCertificate:
    cert_file: Path
    key_file: Path
    ca_file: Path
    fingerprint_sha256: str  # of the CA, for the sheet ("check this fingerprint")


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_atomic(path, pem)
    # The key file is readable by the service's account only.
    os.chmod(path, 0o600)


def _load_ca(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    try:
        cert = x509.load_pem_x509_certificate((directory / CA_FILE).read_bytes())
        key = serialization.load_pem_private_key((directory / CA_KEY_FILE).read_bytes(), None)
    except (OSError, ValueError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None
    if cert.not_valid_after_utc < _now() + datetime.timedelta(days=CERT_DAYS):
        return None
    return cert, key


def _make_ca(directory: Path, site: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Relay Wizard"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Relay Wizard local CA ({site})"[:64]),
        ]
    )
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key(directory / CA_KEY_FILE, key)
    write_atomic(directory / CA_FILE, cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _leaf_matches(path: Path, hostname: str, address: str) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return False
    if cert.not_valid_after_utc < _now() + datetime.timedelta(days=RENEW_WHEN_DAYS_LEFT):
        return False
    dns = {n.lower() for n in names.get_values_for_type(x509.DNSName)}
    ips = {str(ip) for ip in names.get_values_for_type(x509.IPAddress)}
    return hostname.lower() in dns and (not address or address in ips)


def ensure_certificate(
    directory: Path, *, site: str, hostname: str, address: str
) -> RelayCertificate:
    """The relay's certificate for `hostname` and `address`, made or renewed if needed."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        ca = _load_ca(directory) or _make_ca(directory, site)
        ca_cert, ca_key = ca
        cert_path, key_path = directory / CERT_FILE, directory / KEY_FILE
        if not (key_path.exists() and _leaf_matches(cert_path, hostname, address)):
            _make_leaf(cert_path, key_path, ca_cert, ca_key, hostname, address)
    except OSError as exc:
        raise WizardError(
            tr("The relay could not make its certificate in {path}.").format(path=directory),
            next_step=tr("Check that the relay's data folder can be written to."),
            detail=f"{type(exc).__name__}: {exc}",
        ) from None
    fingerprint = ca_cert.fingerprint(hashes.SHA256()).hex(":").upper()
    return RelayCertificate(cert_path, key_path, directory / CA_FILE, fingerprint)


def _make_leaf(
    cert_path: Path,
    key_path: Path,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    hostname: str,
    address: str,
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(hostname.lower())]
    short = hostname.split(".")[0].lower()
    if short != hostname.lower():
        names.append(x509.DNSName(short))
    if address:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(address)))
        except ValueError:
            pass
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname.lower()[:64])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CERT_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(key_path, key)
    write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM))
