"""Entra's checks on an MSP's own app registration made through Graph.

What real tenants answer (Microsoft identity platform error reference): a permission
the registration does not list is AADSTS650057, one nobody consented to in the tenant
AADSTS65001, the device code flow without "Allow public client flows" AADSTS7000218.
"""

from __future__ import annotations

from typing import Any

import requests

from wizard.sandbox.server import Sandbox
from wizard.sandbox.tenant import DEMO_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"
EXCHANGE = "00000002-0000-0ff1-ce00-000000000000"
GRAPH = "00000003-0000-0000-c000-000000000000"
SMTP_SEND = "258f6531-6087-4cc4-bb90-092c5fb3ed3f"
USER_READ = "e1fe6dd8-ba31-4d61-89e7-88639da4683d"
SMTP_SCOPE = "https://outlook.office.com/SMTP.Send offline_access"


def _graph(sandbox: Sandbox, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    token = sandbox.issue_token(
        ADMIN,
        [
            f"{sandbox.graph}/Application.ReadWrite.All",
            f"{sandbox.graph}/DelegatedPermissionGrant.ReadWrite.All",
        ],
    )
    with sandbox.http_session() as http:
        response = http.request(
            method,
            f"{sandbox.graph}/v1.0/{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    assert response.status_code in (200, 201), response.text
    result: dict[str, Any] = response.json()
    return result


def _make_app(sandbox: Sandbox, *, smtp: bool = True, public_flows: bool = True) -> str:
    access = [{"resourceAppId": GRAPH, "resourceAccess": [{"id": USER_READ, "type": "Scope"}]}]
    if smtp:
        access.append(
            {"resourceAppId": EXCHANGE, "resourceAccess": [{"id": SMTP_SEND, "type": "Scope"}]}
        )
    app = _graph(
        sandbox,
        "POST",
        "applications",
        {
            "displayName": "MSP mailbox test",
            "signInAudience": "AzureADMultipleOrgs",
            "isFallbackPublicClient": public_flows,
            "publicClient": {"redirectUris": ["http://localhost"]},
            "requiredResourceAccess": access,
        },
    )
    return str(app["appId"])


def _consent(sandbox: Sandbox, app_id: str, scope: str) -> None:
    client = _graph(sandbox, "POST", "servicePrincipals", {"appId": app_id})
    found = _graph(sandbox, "GET", f"servicePrincipals?$filter=appId eq '{EXCHANGE}'", {})
    _graph(
        sandbox,
        "POST",
        "oauth2PermissionGrants",
        {
            "clientId": client["id"],
            "consentType": "AllPrincipals",
            "resourceId": found["value"][0]["id"],
            "scope": scope,
        },
    )


def _device_code(sandbox: Sandbox, client_id: str) -> requests.Response:
    with sandbox.http_session() as http:
        return http.post(
            f"{sandbox.authority}/oauth2/v2.0/devicecode",
            data={"client_id": client_id, "scope": SMTP_SCOPE},
            timeout=10,
        )


def _code(response: requests.Response) -> str:
    body = response.json()
    return str(body.get("error_description", "")).split(":", 1)[0] if "error" in body else ""


def test_without_admin_consent_smtp_send_is_aadsts65001_then_works(sandbox: Sandbox) -> None:
    app_id = _make_app(sandbox)
    refused = _device_code(sandbox, app_id)
    assert refused.status_code == 400 and _code(refused) == "AADSTS65001"
    assert "has not consented" in refused.json()["error_description"]
    _consent(sandbox, app_id, "SMTP.Send")
    started = _device_code(sandbox, app_id)
    assert started.status_code == 200 and "user_code" in started.json()


def test_a_permission_the_registration_does_not_list_is_aadsts650057(sandbox: Sandbox) -> None:
    app_id = _make_app(sandbox, smtp=False)
    refused = _device_code(sandbox, app_id)
    assert refused.status_code == 400 and _code(refused) == "AADSTS650057"
    assert "not listed in the requested permissions" in refused.json()["error_description"]


def test_device_code_without_public_client_flows_is_aadsts7000218(sandbox: Sandbox) -> None:
    app_id = _make_app(sandbox, public_flows=False)
    _consent(sandbox, app_id, "SMTP.Send")
    refused = _device_code(sandbox, app_id)
    assert refused.status_code == 400 and _code(refused) == "AADSTS7000218"
    assert "client_secret" in refused.json()["error_description"]
