"""The sandbox's SecureString parameters: the key in EXOModuleFile, encrypted values only."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.m365_helpers import hve_login
from tests.test_sandbox_adminapi import _token, encrypted, failure, invoke, module_key, ok
from wizard.sandbox.server import Sandbox
from wizard.sandbox.tenant import HttpFault

ADDRESS = "hve-alerts@contoso.example"
PASSWORD = "Plain-Text-Pa55word!"


def _hve(password: object) -> dict[str, object]:
    return {
        "Name": "hve-alerts",
        "PrimarySmtpAddress": ADDRESS,
        "Password": password,
        "HVEAccount": True,
    }


def test_the_module_file_carries_the_sandboxs_public_key(sandbox: Sandbox) -> None:
    key = module_key(sandbox)
    assert key.key_size == 2048
    assert key.public_numbers() == sandbox.module_keys.public_key.public_numbers()


def test_a_plain_password_is_refused_the_way_exchange_refuses_a_bad_argument(
    sandbox: Sandbox,
) -> None:
    answer = invoke(sandbox, "New-MailUser", _hve(PASSWORD))
    code, exc_type, text = failure(answer, 400)
    assert code == "BadRequest" and answer.json()["error"]["message"] == "Invalid Operation"
    assert exc_type.endswith("ParameterTransformationException")
    assert text.startswith("Cannot process argument transformation on parameter 'Password'.")
    # Neither the answer nor the record of the call repeats the password.
    assert PASSWORD not in answer.text
    assert sandbox.state.admin_calls[-1].parameters["Password"] == "***"
    assert PASSWORD not in repr(sandbox.state.admin_calls)
    assert sandbox.state.mailbox(ADDRESS) is None and sandbox.state.account(ADDRESS) is None


@pytest.mark.parametrize(
    "value",
    [
        # Base64 of the right length, but not made with the sandbox's key.
        base64.b64encode(os.urandom(256)).decode(),
        # Encrypted with a key of its own: the sandbox cannot read it.
        "other-key",
        123,
    ],
)
def test_a_value_the_key_cannot_decrypt_is_refused(sandbox: Sandbox, value: object) -> None:
    if value == "other-key":
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
        value = encrypted(sandbox, PASSWORD, other)
    text = failure(invoke(sandbox, "New-MailUser", _hve(value)), 400)[2]
    assert "parameter 'Password'" in text
    assert sandbox.state.account(ADDRESS) is None


def test_an_encrypted_password_makes_an_account_that_signs_in_on_hve(sandbox: Sandbox) -> None:
    ok(invoke(sandbox, "New-MailUser", _hve(encrypted(sandbox, PASSWORD))))
    account = sandbox.state.account(ADDRESS)
    assert account is not None and account.password == PASSWORD
    assert hve_login(sandbox, ADDRESS, PASSWORD) == 235
    assert hve_login(sandbox, ADDRESS, PASSWORD + "x") == 535


def test_the_key_before_a_rotation_still_works_the_one_before_that_does_not(
    sandbox: Sandbox,
) -> None:
    first = module_key(sandbox)
    sandbox.module_keys.rotate()
    assert module_key(sandbox).public_numbers() != first.public_numbers()
    ok(invoke(sandbox, "New-MailUser", _hve(encrypted(sandbox, PASSWORD, first))))
    sandbox.module_keys.rotate()
    again = dict(
        _hve(encrypted(sandbox, PASSWORD, first)), Name="b", PrimarySmtpAddress="b@contoso.example"
    )
    assert "parameter 'Password'" in failure(invoke(sandbox, "New-MailUser", again), 400)[2]


def test_module_file_faults(sandbox: Sandbox) -> None:
    url = f"{sandbox.admin_api}/AdminApi/v1.0/{sandbox.state.tenant_id}/EXOModuleFile"
    headers = {"Authorization": f"Bearer {_token(sandbox)}"}
    sandbox.state.http_faults.append(HttpFault(503, match="EXOModuleFile"))
    with sandbox.http_session() as http:
        assert http.get(url, headers=headers, timeout=10).status_code == 503
        sandbox.module_keys.published = False
        answer = http.get(url, headers=headers, timeout=10)
    assert answer.status_code == 200
    module = base64.b64decode(answer.json()["value"][0]["encodedModule"]).decode()
    assert "Get-AcceptedDomain" in module and "RSAKeyValue" not in module
