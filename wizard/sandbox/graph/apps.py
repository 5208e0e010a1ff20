"""The sandbox's Graph application endpoints: app registrations, service principals,
admin consent grants.

Shapes and rules follow Microsoft Learn's Graph v1.0 reference ("Create application",
"List applications" with `$filter=tags/any(...)`, "Create servicePrincipal",
"List servicePrincipals" with `$filter=appId eq '...'`, "Create oAuth2PermissionGrant",
"List oauth2PermissionGrants" with `$filter=clientId eq '...'`): POST answers 201 with
the created object; writes need Application.ReadWrite.All (applications, service
principals) or DelegatedPermissionGrant.ReadWrite.All (grants), else 403
Authorization_RequestDenied. An application created here becomes an app registration
the sandbox's identity provider signs users in with (its public client redirect URIs).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from wizard.sandbox.tenant import AppRegistration, TenantState

# The tenant's service principals of Microsoft's resources (every tenant has them).
RESOURCE_APPS = {
    "00000002-0000-0ff1-ce00-000000000000": "Office 365 Exchange Online",
    "00000003-0000-0000-c000-000000000000": "Microsoft Graph",
}
# Delegated permission ids as Microsoft publishes them ("Microsoft Graph permissions
# reference"; SMTP.Send from Office 365 Exchange Online's oauth2PermissionScopes, as
# email-oauth2-proxy's and Microsoft Learn's SMTP OAuth set-up steps name it).
PERMISSION_NAMES = {
    "258f6531-6087-4cc4-bb90-092c5fb3ed3f": "SMTP.Send",
    "7427e0e9-2fba-42fe-b0c0-848c9e6a8182": "offline_access",
    "e1fe6dd8-ba31-4d61-89e7-88639da4683d": "User.Read",
    "37f7f235-527c-4136-accd-4a02d197296e": "openid",
    "14dad69e-099b-42c9-810b-d002981feec1": "profile",
}

WRITE_PERMISSION = {
    "applications": "Application.ReadWrite.All",
    "serviceprincipals": "Application.ReadWrite.All",
    "oauth2permissiongrants": "DelegatedPermissionGrant.ReadWrite.All",
}
READ_PERMISSIONS = {
    "applications": ("Application.Read.All", "Application.ReadWrite.All"),
    "serviceprincipals": ("Application.Read.All", "Application.ReadWrite.All"),
    "oauth2permissiongrants": (
        "DelegatedPermissionGrant.Read.All",
        "DelegatedPermissionGrant.ReadWrite.All",
    ),
}

_EQ = re.compile(r"(\w+) eq '([^']*)'")
_TAG = re.compile(r"tags/any\(\w+:\w+ eq '([^']*)'\)")


@dataclass
class GraphApps:
    """Entra objects made through Graph, shared by the Graph stand-in's requests."""

    state: TenantState
    applications: list[dict[str, Any]] = field(default_factory=list)
    service_principals: list[dict[str, Any]] = field(default_factory=list)
    grants: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for app_id, name in RESOURCE_APPS.items():
            self.service_principals.append(
                {"id": str(uuid.uuid4()), "appId": app_id, "displayName": name}
            )

    def collection(self, name: str) -> list[dict[str, Any]] | None:
        return {
            "applications": self.applications,
            "serviceprincipals": self.service_principals,
            "oauth2permissiongrants": self.grants,
        }.get(name)

    def list(self, name: str, filter_text: str) -> list[dict[str, Any]]:
        items = self.collection(name) or []
        tag = _TAG.search(filter_text)
        if tag:
            items = [i for i in items if tag.group(1) in i.get("tags", [])]
        for key, value in _EQ.findall(_TAG.sub("", filter_text)):
            items = [i for i in items if str(i.get(key, "")).lower() == value.lower()]
        return items

    def create(self, name: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if name == "applications":
            app = dict(body, id=str(uuid.uuid4()), appId=str(uuid.uuid4()))
            self.applications.append(app)
            redirects = list((body.get("publicClient") or {}).get("redirectUris") or [])
            self.state.apps.append(
                AppRegistration(
                    app["appId"],
                    str(body.get("displayName") or ""),
                    redirects,
                    required=_required(body),
                    consented={},
                    public_client_flows=body.get("isFallbackPublicClient") is True,
                )
            )
            return 201, app
        if name == "serviceprincipals":
            app_id = str(body.get("appId") or "")
            if not any(a["appId"] == app_id for a in self.applications):
                return 400, {
                    "code": "Request_BadRequest",
                    "message": "The appId '{id}' of the service principal does not reference "
                    "a valid application object.".replace("{id}", app_id),
                }
            sp = {"id": str(uuid.uuid4()), "appId": app_id, "displayName": ""}
            self.service_principals.append(sp)
            return 201, sp
        if name == "oauth2permissiongrants":
            grant = dict(body, id=str(uuid.uuid4()))
            self.grants.append(grant)
            self._consent(grant)
            return 201, grant
        return 400, {"code": "BadRequest", "message": f"Unsupported segment '{name}'."}

    def _consent(self, grant: dict[str, Any]) -> None:
        """An admin consent grant: the client app may now get tokens for those scopes."""
        by_id = {sp["id"]: sp for sp in self.service_principals}
        client = by_id.get(str(grant.get("clientId") or ""))
        resource = by_id.get(str(grant.get("resourceId") or ""))
        if client is None or resource is None:
            return
        app = self.state.app(str(client["appId"]))
        name = str(resource["appId"])
        if app is None or app.consented is None or name not in RESOURCE_APPS:
            return
        scopes = frozenset(str(grant.get("scope") or "").split())
        app.consented[name] = app.consented.get(name, frozenset()) | scopes


def _required(body: dict[str, Any]) -> dict[str, frozenset[str]]:
    """requiredResourceAccess as resource app id -> delegated permission names."""
    required: dict[str, frozenset[str]] = {}
    for entry in body.get("requiredResourceAccess") or []:
        name = str(entry.get("resourceAppId") or "")
        if name not in RESOURCE_APPS:
            continue
        names = {
            PERMISSION_NAMES.get(str(a.get("id")), str(a.get("id")))
            for a in entry.get("resourceAccess") or []
            if a.get("type") == "Scope"
        }
        required[name] = required.get(name, frozenset()) | frozenset(names)
    return required
