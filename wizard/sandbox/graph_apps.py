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
                AppRegistration(app["appId"], str(body.get("displayName") or ""), redirects)
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
            return 201, grant
        return 400, {"code": "BadRequest", "message": f"Unsupported segment '{name}'."}
