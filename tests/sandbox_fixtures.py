"""Helpers for the sandbox server tests: TLS material, access tokens, leak checks.

Built from trustme and PyJWT directly, so the DNS and SMTP server tests do not depend
on the sandbox's own PKI and token modules.
"""

from __future__ import annotations

import os
import ssl
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import trustme
from cryptography.hazmat.primitives.asymmetric import rsa

SMTP_AUDIENCE = "https://outlook.office.com"
TEST_TENANT_ID = "8f0d3c1e-5b7a-4c2e-9d41-2a6b0e7c9f15"


@dataclass
class TlsMaterial:
    """A throwaway CA, the server certificate for 127.0.0.1 and the contexts built on it."""

    ca: trustme.CA
    server_cert: trustme.LeafCert
    ca_pem: Path

    def server_context(self) -> ssl.SSLContext:
        """What the sandbox serves with: TLS 1.2 or newer, no client certificate asked."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.server_cert.configure_cert(context)
        return context

    def mx_context(self) -> ssl.SSLContext:
        """Like server_context, but asks for (and verifies) an optional client certificate."""
        context = self.server_context()
        context.verify_mode = ssl.CERT_OPTIONAL
        self.ca.configure_trust(context)
        return context

    def legacy_context(self) -> ssl.SSLContext:
        """A server context that still completes TLS 1.0/1.1 handshakes (to refuse them later)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.server_cert.configure_cert(context)
        allow_legacy_tls(context)
        return context

    def client_context(self, client_cert_for: str | None = None) -> ssl.SSLContext:
        """A verifying client context (hostname checked) that trusts the test CA."""
        context = ssl.create_default_context(cafile=str(self.ca_pem))
        if client_cert_for:
            self.ca.issue_cert(client_cert_for).configure_cert(context)
        return context

    def old_client_context(self) -> ssl.SSLContext:
        """A verifying client that speaks TLS 1.1 at most, like an old printer."""
        context = self.client_context()
        allow_legacy_tls(context)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.maximum_version = ssl.TLSVersion.TLSv1_1
        return context


def allow_legacy_tls(context: ssl.SSLContext) -> None:
    # TLS 1.0/1.1 are deprecated in Python and need OpenSSL security level 0 (their
    # handshake signs with SHA-1); both ends must opt in explicitly.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")


def legacy_tls_available() -> bool:
    """Whether this OpenSSL build can still negotiate TLS 1.1 at all."""
    return bool(getattr(ssl, "HAS_TLSv1_1", False))


def make_tls_material(directory: Path) -> TlsMaterial:
    ca = trustme.CA(organization_name="Relay Wizard test CA")
    server_cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_pem = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    return TlsMaterial(ca=ca, server_cert=server_cert, ca_pem=ca_pem)


class TokenIssuer:
    """Signs access tokens like Entra ID does for SMTP.Send, and checks them."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_key = self.key.public_key()

    def token(
        self,
        upn: str,
        scp: str = "SMTP.Send",
        *,
        aud: str = SMTP_AUDIENCE,
        lifetime: int = 3600,
        key: rsa.RSAPrivateKey | None = None,
        extra: dict[str, Any] | None = None,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "aud": aud,
            "iss": f"https://sts.windows.net/{TEST_TENANT_ID}/",
            "tid": TEST_TENANT_ID,
            "upn": upn,
            "preferred_username": upn,
            "scp": scp,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
        }
        claims.update(extra or {})
        return jwt.encode(claims, key or self.key, algorithm="RS256")

    def check(self, token: str) -> dict[str, Any]:
        """The sandbox's check_smtp_token: verified claims, or an exception."""
        claims: dict[str, Any] = jwt.decode(
            token, self.public_key, algorithms=["RS256"], audience=SMTP_AUDIENCE
        )
        return claims


def open_sockets() -> set[str]:
    """Sockets this process holds open, by inode (Linux: /proc/self/fd)."""
    found: set[str] = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:"):
            found.add(target)
    return found


def new_sockets(before: set[str]) -> set[str]:
    """Sockets open now that were not before (one way, as new_threads)."""
    return open_sockets() - before


def thread_names() -> set[str]:
    return {t.name for t in threading.enumerate()}


def new_threads(before: set[str]) -> set[str]:
    """Threads alive now that were not before.

    Compared one way only: a thread an earlier test left behind (a foreign
    "Dummy-N" thread Qt or a library started) may end meanwhile, and that is
    not this test's leak.
    """
    return thread_names() - before


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll with a deadline (for effects another thread makes without a signal)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
