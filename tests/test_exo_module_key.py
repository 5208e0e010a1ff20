"""Reading Exchange's public key from a module file, and encrypting with it (no server).

The layouts: ExoHelper's PublicKey.xml (indented, the modulus on its own line), a psm1
text with the key in its data, the same inside JSON with `<` escaped, and base64 of the
text in UTF-8 or UTF-16 (which field of Exchange's answer holds the module, and how, no
public source shows; exo_module_key.py).
"""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from wizard.core.errors import InvalidInput
from wizard.services.exo_module_key import encrypt_secure_string, find_public_key


def _b64(number: int) -> str:
    return base64.b64encode(number.to_bytes((number.bit_length() + 7) // 8, "big")).decode()


def _pair(bits: int = 2048) -> tuple[rsa.RSAPrivateKey, str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    numbers = private.public_key().public_numbers()
    # Laid out as ExoHelper's PublicKey.xml is: indented, the modulus on its own line.
    xml = (
        "<RSAKeyValue>\n    <Modulus>\n        "
        f"{_b64(numbers.n)}\n    </Modulus>\n    <Exponent>{_b64(numbers.e)}</Exponent>\n"
        "</RSAKeyValue>"
    )
    return private, xml


@pytest.fixture(scope="module")
def pair() -> tuple[rsa.RSAPrivateKey, str]:
    return _pair()


def _same(found: rsa.RSAPublicKey, private: rsa.RSAPrivateKey) -> bool:
    return found.public_numbers() == private.public_key().public_numbers()


def test_the_key_is_found_in_plain_escaped_and_base64_module_text(
    pair: tuple[rsa.RSAPrivateKey, str],
) -> None:
    private, xml = pair
    psm1 = f"$script:config = @{{ PublicKey = '{xml}' }}\nfunction Get-Mailbox {{}}\n"
    assert _same(find_public_key(psm1), private)
    escaped = json.dumps({"value": [{"module": psm1}]}).replace("<", "\\u003c")
    assert "<RSAKeyValue>" not in escaped
    assert _same(find_public_key(escaped), private)
    for encoding in ("utf-8", "utf-16"):
        encoded = base64.b64encode(psm1.encode(encoding)).decode()
        body = json.dumps({"value": [{"exportedCmdlets": "Get-Mailbox", "file": encoded}]})
        assert _same(find_public_key(body), private)


def test_a_small_or_missing_key_is_refused() -> None:
    _, small = _pair(1024)
    with pytest.raises(ValueError, match="1024-bit"):
        find_public_key(f"PublicKey = '{small}'")
    with pytest.raises(ValueError, match=r"no <RSAKeyValue>"):
        find_public_key(json.dumps({"value": [{"exportedCmdlets": "Get-Mailbox"}]}))
    with pytest.raises(ValueError):
        find_public_key("<RSAKeyValue><Modulus>not base64!</Modulus></RSAKeyValue>")


def test_encryption_is_pkcs1_v15_of_the_utf8_value(pair: tuple[rsa.RSAPrivateKey, str]) -> None:
    private, xml = pair
    key = find_public_key(xml)
    value = "Pässword-with-ümlauts"
    sent = encrypt_secure_string(key, value)
    raw = base64.b64decode(sent, validate=True)
    assert len(raw) == 256
    assert private.decrypt(raw, padding.PKCS1v15()).decode("utf-8") == value
    # Random padding: the same value never looks the same twice.
    assert encrypt_secure_string(key, value) != sent
    with pytest.raises(InvalidInput):
        encrypt_secure_string(key, "x" * 246)
