"""The mailbox-test app registration, made through Microsoft Graph for the technician.

    app = ensure_mailbox_test_app(graph_with_write_scopes, cancel=token)
    # app.client_id goes into the settings for this cloud (SignInSettings.with_cloud_apps)

A Microsoft first-party client may not ask for SMTP.Send (AADSTS65002), so the OAuth
test needs an app of the MSP's own (M365-FACTS.md, corrections): a multi-tenant public
client (`signInAudience: AzureADMultipleOrgs`), redirect `http://localhost` under
`publicClient`, "Allow public client flows" on (`isFallbackPublicClient`), delegated
SMTP.Send on Office 365 Exchange Online plus offline_access and User.Read on Graph, and
admin consent in this tenant (`oauth2PermissionGrants` with consentType AllPrincipals).

Request shapes: Microsoft Learn, "Create application", "Create servicePrincipal",
"Create oAuth2PermissionGrant" (Graph v1.0). Permission ids as public tools register
them (SMTP.Send 258f6531-..., e.g. in scripts that create SMTP OAuth apps; User.Read and
offline_access from Microsoft's Graph permissions reference).

Idempotent: the app carries a tag; a second run finds it, its service principal and
its grants and creates only what is missing. Needs the Graph delegated permissions
Application.ReadWrite.All and DelegatedPermissionGrant.ReadWrite.All (a Global or
Application/Cloud Application Administrator consents to them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from wizard.services.cancel import Cancellation
from wizard.services.graph import Graph

APP_TAG = "RelayWizardMailboxTest"
DISPLAY_NAME = "Relay Wizard mailbox test"
EXCHANGE_RESOURCE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"
GRAPH_RESOURCE_APP_ID = "00000003-0000-0000-c000-000000000000"
SMTP_SEND_SCOPE_ID = "258f6531-6087-4cc4-bb90-092c5fb3ed3f"
OFFLINE_ACCESS_SCOPE_ID = "7427e0e9-2fba-42fe-b0c0-848c9e6a8182"
USER_READ_SCOPE_ID = "e1fe6dd8-ba31-4d61-89e7-88639da4683d"

# Resource app id -> the delegated scopes this tenant's admin consents to for the app.
GRANTS: dict[str, str] = {
    EXCHANGE_RESOURCE_APP_ID: "SMTP.Send",
    GRAPH_RESOURCE_APP_ID: "offline_access User.Read",
}


@dataclass(frozen=True)
class MailboxTestApp:
    client_id: str  # the appId: what the wizard signs in with
    object_id: str  # the application object
    service_principal_id: str  # the enterprise application in this tenant
    created: bool  # False when an earlier run had made it
    granted: tuple[str, ...]  # the consents made in this run ("SMTP.Send", ...)


def application_body() -> dict[str, Any]:
    """The application object as the portal's manual steps would make it."""
    return {
        "displayName": DISPLAY_NAME,
        "signInAudience": "AzureADMultipleOrgs",
        "isFallbackPublicClient": True,
        "publicClient": {"redirectUris": ["http://localhost"]},
        "tags": [APP_TAG],
        "requiredResourceAccess": [
            {
                "resourceAppId": EXCHANGE_RESOURCE_APP_ID,
                "resourceAccess": [{"id": SMTP_SEND_SCOPE_ID, "type": "Scope"}],
            },
            {
                "resourceAppId": GRAPH_RESOURCE_APP_ID,
                "resourceAccess": [
                    {"id": OFFLINE_ACCESS_SCOPE_ID, "type": "Scope"},
                    {"id": USER_READ_SCOPE_ID, "type": "Scope"},
                ],
            },
        ],
    }


def _first(graph: Graph, path: str, cancel: Cancellation | None) -> dict[str, Any] | None:
    values = graph.get(path, cancel=cancel).get("value") or []
    return values[0] if values and isinstance(values[0], dict) else None


def _filter(expression: str) -> str:
    return "$filter=" + quote(expression, safe="'()/:=")


def _service_principal(
    graph: Graph, app_id: str, cancel: Cancellation | None, *, create: bool
) -> str | None:
    query = _filter(f"appId eq '{app_id}'")
    found = _first(graph, f"servicePrincipals?{query}", cancel)
    if found is not None:
        return str(found["id"])
    if not create:
        return None
    return str(graph.post("servicePrincipals", {"appId": app_id}, cancel=cancel)["id"])


def ensure_mailbox_test_app(graph: Graph, *, cancel: Cancellation | None = None) -> MailboxTestApp:
    """Find or create the app, its service principal and the admin consents.

    Raises the Graph client's typed errors (PermissionDenied when the admin may not
    create apps or grant consent); what was made before the failure is found again
    on the next run, so a retry finishes the job without duplicates.
    """
    tagged = _filter(f"tags/any(t:t eq '{APP_TAG}')")
    existing = _first(graph, f"applications?{tagged}", cancel)
    created = existing is None
    app = existing or graph.post("applications", application_body(), cancel=cancel)
    client_id, object_id = str(app["appId"]), str(app["id"])
    sp = _service_principal(graph, client_id, cancel, create=True)
    assert sp is not None
    granted: list[str] = []
    for resource_app, scope in GRANTS.items():
        resource = _service_principal(graph, resource_app, cancel, create=False)
        if resource is None:
            continue  # the tenant has no such service (never for Exchange and Graph)
        query = _filter(f"clientId eq '{sp}' and resourceId eq '{resource}'")
        if _first(graph, f"oauth2PermissionGrants?{query}", cancel) is not None:
            continue
        graph.post(
            "oauth2PermissionGrants",
            {
                "clientId": sp,
                "consentType": "AllPrincipals",
                "resourceId": resource,
                "scope": scope,
            },
            cancel=cancel,
        )
        granted.append(scope)
    return MailboxTestApp(client_id, object_id, sp, created, tuple(granted))
