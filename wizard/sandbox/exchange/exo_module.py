"""The key Exchange publishes for SecureString parameters, and the module file that carries it.

What real Exchange does, as the public sources show it (services/exo_module_key.py has
the client's side):
- Connect-ExchangeOnline downloads a temporary module from
  `GET /AdminApi/v1.0/{tenant}/EXOModuleFile`; the public half of an RSA key pair is
  embedded in it (GreyCorbel/ExoHelper README), and Microsoft's module encrypts every
  SecureString parameter with it before InvokeCommand: base64 of RSA PKCS#1 v1.5 over
  the UTF-8 value (ExoHelper `EncryptValue`, `RSACryptoServiceProvider.Encrypt(bytes,
  $false)`; the key as `<RSAKeyValue>` XML, 2048 bits in every copy ExoHelper kept).
- Microsoft rotates the pair and "at least one version back is supported" (ExoHelper);
  without the key "commands that work with sensitive data will fail" (ExoHelper README).

The sandbox makes its own pair when it starts and keeps the private half, so it can
decrypt what a client sends. It serves the public half in the module file's answer next
to `exportedCmdlets` (CIPP-API reads that field). Which field of Microsoft's answer holds
the module's text, and how it is encoded, no public source shows: the sandbox's
`encodedModule` (base64 of a stand-in psm1 text) is its own invention, which is why the
wizard's client looks for the key XML anywhere in the answer instead of in one field.
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections.abc import Iterable

from cryptography.hazmat.primitives.asymmetric import rsa

KEY_BITS = 2048
MODULE_TEXT_FIELD = "encodedModule"


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.b64encode(raw).decode("ascii")


def public_xml(key: rsa.RSAPublicKey) -> str:
    """The key as .NET's RSACryptoServiceProvider.ToXmlString(false) writes it."""
    numbers = key.public_numbers()
    return (
        f"<RSAKeyValue><Modulus>{_b64(numbers.n)}</Modulus>"
        f"<Exponent>{_b64(numbers.e)}</Exponent></RSAKeyValue>"
    )


def _pkcs1_v15_decrypt(key: rsa.RSAPrivateKey, data: bytes) -> bytes | None:
    """RSA PKCS#1 v1.5 decryption that says when the value was not made with this key.

    cryptography's `decrypt(..., PKCS1v15())` may answer a wrong key with random bytes
    instead of an error (implicit rejection, OpenSSL 3.2+), which would make a value
    for the previous key look like one for the current key. The sandbox is no target
    for padding-oracle attacks, so it checks the padding itself (RFC 8017, 7.2.2).
    """
    private = key.private_numbers()
    n = private.public_numbers.n
    size = (n.bit_length() + 7) // 8
    if len(data) != size:
        return None
    c = int.from_bytes(data, "big")
    if c >= n:
        return None
    block = pow(c, private.d, n).to_bytes(size, "big")
    if block[0] != 0 or block[1] != 2:
        return None
    end = block.find(b"\x00", 2)
    # At least eight bytes of non-zero padding before the separator.
    if end < 10:
        return None
    return block[end + 1 :]


class ModuleKeys:
    """The sandbox's key pair for sensitive parameters: the current one and the one before."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
        self._previous: rsa.RSAPrivateKey | None = None
        # False: the module file is served without the key (a test of a client that
        # cannot find it, as if Microsoft had changed the file).
        self.published = True

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        with self._lock:
            return self._current.public_key()

    def public_xml(self) -> str:
        return public_xml(self.public_key)

    def rotate(self) -> None:
        """A new pair; values encrypted with the one before are still accepted."""
        fresh = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
        with self._lock:
            self._previous, self._current = self._current, fresh

    def decrypt(self, value: str) -> str | None:
        """The plain text of an encrypted SecureString value, or None if it is not one."""
        try:
            data = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            return None
        with self._lock:
            keys = [k for k in (self._current, self._previous) if k is not None]
        for key in keys:
            plain = _pkcs1_v15_decrypt(key, data)
            if plain is None:
                continue
            try:
                return plain.decode("utf-8")
            except UnicodeDecodeError:
                return None
        return None

    def module_text(self, cmdlets: Iterable[str]) -> str:
        """A stand-in for the generated psm1: the key in its data, one stub per cmdlet."""
        lines = [
            "# Relay Wizard sandbox: stand-in for the module Connect-ExchangeOnline downloads.",
            "$script:ModuleConfiguration = @{",
        ]
        if self.published:
            lines.append(f"    PublicKey = '{self.public_xml()}'")
        lines.append("}")
        for name in cmdlets:
            lines.append(f"function script:{name} {{ Invoke-ExoRestCommand -Name '{name}' }}")
        return "\n".join(lines) + "\n"

    def module_field(self, cmdlets: Iterable[str]) -> dict[str, str]:
        """The module file answer's field with the module's text (base64 of UTF-8)."""
        text = self.module_text(cmdlets).encode("utf-8")
        return {MODULE_TEXT_FIELD: base64.b64encode(text).decode("ascii")}
