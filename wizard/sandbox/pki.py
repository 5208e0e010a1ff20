"""The sandbox's own certificate authority: fresh for every Sandbox, trusted explicitly.

Every client of the sandbox (requests, msal, smtplib) verifies TLS against `ca_pem`;
nothing here switches verification off. The server certificate names 127.0.0.1,
::1 and localhost because MSAL's loopback redirect uses "localhost" while the
servers bind 127.0.0.1.
"""

from __future__ import annotations

import ssl
import warnings
from dataclasses import dataclass
from pathlib import Path

import trustme

CA_FILE_NAME = "sandbox-ca.pem"
SERVER_IDENTITIES = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class SandboxPki:
    """A throwaway CA, one server certificate issued by it, and the CA's PEM on disk."""

    ca: trustme.CA
    server_cert: trustme.LeafCert
    ca_pem: Path

    def server_context(self, *, minimum: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2) -> ssl.SSLContext:
        """A server-side context; Microsoft 365 refuses anything older than TLS 1.2."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = minimum
        self.server_cert.configure_cert(context)
        return context

    def mx_context(self) -> ssl.SSLContext:
        """The MX stand-in's context: asks for an optional client certificate and checks it
        against the sandbox CA, so certificate connectors (TlsSenderCertificateName) match."""
        context = self.server_context()
        context.verify_mode = ssl.CERT_OPTIONAL
        self.ca.configure_trust(context)
        return context

    def legacy_context(self) -> ssl.SSLContext:
        """A server context that still completes TLS 1.0/1.1 handshakes, so the submission
        stand-in can answer old devices as Exchange does (421 4.7.66) instead of failing
        the handshake."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.server_cert.configure_cert(context)
        allow_legacy_tls(context)
        return context

    def client_context(self, client_cert_for: str | None = None) -> ssl.SSLContext:
        """A verifying client context that trusts the sandbox CA (and nothing else).

        With `client_cert_for` (a domain) it also presents a certificate for that name,
        as a device matched by a certificate connector would.
        """
        context = ssl.create_default_context(cafile=str(self.ca_pem))
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if client_cert_for:
            self.ca.issue_cert(client_cert_for).configure_cert(context)
        return context


def allow_legacy_tls(context: ssl.SSLContext) -> None:
    """Let a context negotiate TLS 1.0/1.1 (deprecated: needs OpenSSL security level 0)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")


def create_pki(work_dir: Path) -> SandboxPki:
    """Create a CA and a loopback server certificate; write the CA PEM into work_dir."""
    ca = trustme.CA(
        organization_name="Relay Wizard sandbox",
        organization_unit_name="Sandbox tenant CA (this computer only)",
    )
    server_cert = ca.issue_cert(*SERVER_IDENTITIES, common_name="Relay Wizard sandbox")
    ca_pem = work_dir / CA_FILE_NAME
    ca.cert_pem.write_to_path(str(ca_pem))
    return SandboxPki(ca=ca, server_cert=server_cert, ca_pem=ca_pem)
