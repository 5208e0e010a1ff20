"""Which resources the sandbox's identity provider issues tokens for, and scope parsing.

Entra rules kept here: one resource per token request (AADSTS28000), `.default`
means every permission granted to the client on that resource, a permission the
resource does not expose is AADSTS650053, an unknown resource AADSTS500011.
"""

from __future__ import annotations

from dataclasses import dataclass

from wizard.sandbox.identity.aad_errors import AadError, aad_error
from wizard.sandbox.identity.tokens import OUTLOOK_AUDIENCE

OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})


@dataclass(frozen=True)
class ResourceApi:
    uri: str  # the token audience, e.g. the admin API's base URL
    display_name: str
    permissions: tuple[str, ...]
    # The resource's first-party application id (what AADSTS65002 names).
    app_id: str = ""


# First-party resource application ids (Microsoft Learn, "Verify first-party Microsoft
# applications in sign-in reports").
EXCHANGE_RESOURCE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"
GRAPH_RESOURCE_APP_ID = "00000003-0000-0000-c000-000000000000"


def sandbox_resources(admin_api: str, graph: str) -> list[ResourceApi]:
    return [
        ResourceApi(
            admin_api.rstrip("/"),
            "Office 365 Exchange Online",
            ("Exchange.Manage",),
            EXCHANGE_RESOURCE_APP_ID,
        ),
        ResourceApi(
            graph.rstrip("/"),
            "Microsoft Graph",
            (
                "User.Read",
                "Organization.Read.All",
                "Domain.Read.All",
                "Policy.Read.All",
                "Application.ReadWrite.All",
                "DelegatedPermissionGrant.ReadWrite.All",
            ),
            GRAPH_RESOURCE_APP_ID,
        ),
        # SMTP.Send is a permission of the same Office 365 Exchange Online application,
        # asked for with the outlook.office.com audience (M365-FACTS.md).
        ResourceApi(
            OUTLOOK_AUDIENCE,
            "Office 365 Exchange Online (SMTP)",
            ("SMTP.Send", "IMAP.AccessAsUser.All", "POP.AccessAsUser.All"),
            EXCHANGE_RESOURCE_APP_ID,
        ),
    ]


@dataclass(frozen=True)
class ScopeRequest:
    """A parsed `scope` parameter."""

    resource: ResourceApi
    permissions: tuple[str, ...]  # bare names, for the `scp` claim
    oidc: frozenset[str]
    asked_default: bool

    @property
    def response_scope(self) -> str:
        """The `scope` of the token response: what was granted, as full URIs."""
        granted = [f"{self.resource.uri}/{p}" for p in self.permissions]
        if self.asked_default:
            granted.append(f"{self.resource.uri}/.default")
        return " ".join([*sorted(self.oidc & {"openid", "profile", "email"}), *granted])


def parse_scopes(
    raw: str, resources: list[ResourceApi], *, client_id: str, tenant_name: str
) -> ScopeRequest | AadError:
    words = [w for w in raw.split() if w]
    oidc = frozenset(w for w in words if w in OIDC_SCOPES)
    asked = [w for w in words if w not in OIDC_SCOPES]
    if not asked:
        # Entra's default when only OpenID scopes are asked for: a Graph User.Read token.
        graph = next(r for r in resources if r.display_name == "Microsoft Graph")
        return ScopeRequest(graph, ("User.Read",), oidc, False)
    by_resource: dict[str, list[str]] = {}
    for word in asked:
        resource_uri, _, permission = word.rpartition("/")
        if not resource_uri or not permission:
            return aad_error(70011, scope=word)
        by_resource.setdefault(resource_uri.rstrip("/").lower(), []).append(permission)
    if len(by_resource) > 1:
        return aad_error(28000, scope=" ".join(asked))
    resource_key, permissions = next(iter(by_resource.items()))
    resource = next((r for r in resources if r.uri.lower() == resource_key), None)
    if resource is None:
        return aad_error(500011, resource=resource_key, tenant_name=tenant_name)
    if ".default" in permissions:
        return ScopeRequest(resource, resource.permissions, oidc, True)
    for permission in permissions:
        if permission not in resource.permissions:
            return aad_error(650053, app=client_id, permission=permission, resource=resource.uri)
    return ScopeRequest(resource, tuple(dict.fromkeys(permissions)), oidc, False)
