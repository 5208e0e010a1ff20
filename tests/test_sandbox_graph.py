"""The sandbox's Microsoft Graph endpoints, driven with requests."""

from __future__ import annotations

import time

import pytest
import requests

from wizard.core.clouds import EXCHANGE_POWERSHELL_CLIENT_ID
from wizard.sandbox.identity.tokens import TokenService
from wizard.sandbox.server import Sandbox
from wizard.sandbox.tenant import AcceptedDomain, HttpFault

ADMIN = "admin@contoso.example"


def get(
    sandbox: Sandbox, path: str, token: str | None = None, timeout: float = 10
) -> requests.Response:
    if token is None:
        token = sandbox.issue_token("user@contoso.example", [f"{sandbox.graph}/.default"])
    with sandbox.http_session() as http:
        return http.get(
            f"{sandbox.graph}/v1.0/{path}",
            headers={"Authorization": f"Bearer {token}", "client-request-id": "req-1"},
            timeout=timeout,
        )


def test_organization(sandbox: Sandbox) -> None:
    response = get(sandbox, "organization")
    assert response.status_code == 200
    [org] = response.json()["value"]
    assert org["id"] == sandbox.state.tenant_id
    assert org["displayName"] == "Contoso (demo)"
    assert {d["name"] for d in org["verifiedDomains"]} == {
        "contoso.example",
        "contosodemo.onmicrosoft.com",
    }


def test_domains(sandbox: Sandbox) -> None:
    domains = {d["id"]: d for d in get(sandbox, "domains").json()["value"]}
    assert domains["contoso.example"]["isDefault"] is True
    assert domains["contoso.example"]["isVerified"] is True
    assert domains["contosodemo.onmicrosoft.com"]["isInitial"] is True
    assert "Email" in domains["contoso.example"]["supportedServices"]
    single = get(sandbox, "domains/contoso.example").json()
    assert single["id"] == "contoso.example"


def test_service_configuration_records_name_the_tenants_mx(sandbox: Sandbox) -> None:
    # A domain added since July 2026 has a DNSSEC mx.microsoft host: Graph is the truth.
    sandbox.state.accepted_domains.append(
        AcceptedDomain("fabrikam.example", mx_host="fabrikam-example.b-v1.mx.microsoft")
    )
    records = get(sandbox, "domains/fabrikam.example/serviceConfigurationRecords").json()["value"]
    email = [r for r in records if r["supportedService"] == "Email"]
    by_type = {r["recordType"]: r for r in email}
    assert by_type["Mx"]["mailExchange"] == "fabrikam-example.b-v1.mx.microsoft"
    assert by_type["Mx"]["label"] == "fabrikam.example"
    assert "include:spf.protection.outlook.com" in by_type["Txt"]["text"]
    assert by_type["CName"]["label"] == "autodiscover.fabrikam.example"
    assert by_type["CName"]["canonicalName"] == "autodiscover.outlook.com"
    # Graph lists other services too; a client must choose by supportedService.
    assert {r["supportedService"] for r in records} >= {"OfficeCommunicationsOnline", "Intune"}
    classic = get(sandbox, "domains/contoso.example/serviceConfigurationRecords").json()["value"]
    assert classic[0]["mailExchange"] == "contoso-example01b.mail.protection.outlook.com"


@pytest.mark.parametrize("enabled", [False, True])
def test_security_defaults_policy(sandbox: Sandbox, enabled: bool) -> None:
    sandbox.state.security_defaults = enabled
    policy = get(sandbox, "policies/identitySecurityDefaultsEnforcementPolicy").json()
    assert policy["isEnabled"] is enabled


def test_unknown_domain_and_path(sandbox: Sandbox) -> None:
    missing = get(sandbox, "domains/nosuch.example/serviceConfigurationRecords")
    assert missing.status_code == 404
    error = missing.json()["error"]
    assert error["code"] == "Request_ResourceNotFound"
    assert error["innerError"]["client-request-id"] == "req-1"
    assert get(sandbox, "users").status_code == 400


def test_token_checks(sandbox: Sandbox) -> None:
    def refused(token: str) -> str:
        response = get(sandbox, "organization", token=token)
        assert response.status_code == 401
        assert "WWW-Authenticate" in response.headers
        error = response.json()["error"]
        assert error["code"] == "InvalidAuthenticationToken"
        message: str = error["message"]
        return message

    assert refused("") == "Access token is empty."
    expired = sandbox.issue_token(ADMIN, [f"{sandbox.graph}/.default"], lifetime=-60)
    assert "expired" in refused(expired)
    admin_api_token = sandbox.issue_token(ADMIN, [f"{sandbox.admin_api}/.default"])
    assert refused(admin_api_token) == "Invalid audience."
    other = TokenService(authority_host=sandbox.identity_url, tenant_id=sandbox.state.tenant_id)
    account = sandbox.state.account(ADMIN)
    assert account is not None
    forged = other.access_token(
        account,
        audience=sandbox.graph,
        scopes=["User.Read"],
        client_id=EXCHANGE_POWERSHELL_CLIENT_ID,
    )
    assert refused(forged) == "Signature validation failed."


@pytest.mark.parametrize(
    "status,code",
    [(429, "TooManyRequests"), (503, "serviceNotAvailable"), (500, "generalException")],
)
def test_faults(sandbox: Sandbox, status: int, code: str) -> None:
    sandbox.state.http_faults.append(HttpFault(status, retry_after=4, match="/domains"))
    assert get(sandbox, "organization").status_code == 200  # the fault waits for /domains
    response = get(sandbox, "domains")
    assert response.status_code == status
    assert response.headers["Retry-After"] == "4"
    assert response.json()["error"]["code"] == code
    assert get(sandbox, "domains").status_code == 200


def test_slow_answer(sandbox: Sandbox) -> None:
    sandbox.state.http_faults.append(HttpFault(200, delay=0.25))
    began = time.monotonic()
    assert get(sandbox, "domains").status_code == 200
    assert time.monotonic() - began >= 0.25


def test_each_endpoint_needs_its_own_permission(sandbox: Sandbox) -> None:
    only_user_read = sandbox.issue_token(ADMIN, [f"{sandbox.graph}/User.Read"])
    assert get(sandbox, "organization", only_user_read).status_code == 200
    for path in (
        "domains",
        "domains/contoso.example/serviceConfigurationRecords",
        "policies/identitySecurityDefaultsEnforcementPolicy",
    ):
        response = get(sandbox, path, only_user_read)
        assert response.status_code == 403, path
        assert response.json()["error"]["code"] == "Authorization_RequestDenied"
    domains = sandbox.issue_token(ADMIN, [f"{sandbox.graph}/Domain.Read.All"])
    assert get(sandbox, "domains", domains).status_code == 200
    assert (
        get(sandbox, "policies/identitySecurityDefaultsEnforcementPolicy", domains).status_code
        == 403
    )
    policy = sandbox.issue_token(ADMIN, [f"{sandbox.graph}/Policy.Read.All"])
    assert (
        get(sandbox, "policies/identitySecurityDefaultsEnforcementPolicy", policy).status_code
        == 200
    )
