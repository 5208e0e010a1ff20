"""The sandbox's identity provider: Entra ID's v2.0 endpoints, as MSAL Python uses them.

HTTPS (the authority): OpenID discovery, signing keys, /token (authorization code
with PKCE, refresh token, device code) and /devicecode. The pages a person sees
(authorize, device login) are served over plain http on loopback by
`signin.SignInPages`, so a real browser shows no certificate warning; they drive
`provider.interactive` (interactive.py) and `provider.devices` (devicecode.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from wizard.sandbox.https import Request, Response
from wizard.sandbox.identity.aad_errors import AadError, aad_error, error_response, parse_aadsts
from wizard.sandbox.identity.devicecode import DEVICE_CODE_GRANT, DeviceCodes
from wizard.sandbox.identity.interactive import AuthCode, InteractiveSignIn
from wizard.sandbox.identity.scopes import ResourceApi, ScopeRequest, parse_scopes
from wizard.sandbox.identity.tokens import ACCESS_TOKEN_LIFETIME, TokenService, client_info
from wizard.sandbox.tenant import Account, AppRegistration, TenantState

REFRESH_TOKEN_LIFETIME = 90 * 24 * 3600


@dataclass
class RefreshGrant:
    client_id: str
    upn: str
    issued: float
    expires: float
    revoked: bool = False


class IdentityProvider:
    def __init__(
        self,
        state: TenantState,
        tokens: TokenService,
        resources: list[ResourceApi],
        *,
        sign_in_base: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state = state
        self.tokens = tokens
        self.resources = resources
        self.authority_base = tokens.authority_host
        self.sign_in_base = sign_in_base.rstrip("/")
        self.clock = clock
        self._lock = threading.Lock()
        self._codes: dict[str, AuthCode] = {}
        self._refresh: dict[str, RefreshGrant] = {}
        self.interactive = InteractiveSignIn(self)
        self.devices = DeviceCodes(self)

    # -- tenant and client checks -------------------------------------------------

    def tenant_known(self, tenant: str) -> bool:
        tenant = tenant.lower()
        if tenant in ("organizations", "common", self.state.tenant_id.lower()):
            return True
        return tenant == self.state.initial_domain.lower() or self.state.is_accepted(tenant)

    @property
    def tenant_name(self) -> str:
        return self.state.display_name

    def check_client(self, tenant: str, client_id: str | None) -> AppRegistration | AadError:
        if not self.tenant_known(tenant):
            return aad_error(90002, tenant=tenant)
        if not client_id:
            return aad_error(900144, name="client_id")
        app = self.state.app(client_id)
        if app is None:
            return aad_error(700016, client_id=client_id, tenant_name=self.state.tenant_id)
        return app

    def parse_scope(self, raw: str, client_id: str) -> ScopeRequest | AadError:
        scope = parse_scopes(
            raw, self.resources, client_id=client_id, tenant_name=self.state.tenant_id
        )
        if isinstance(scope, AadError):
            return scope
        return (
            self.preauthorization_error(client_id, scope)
            or self.consent_error(client_id, scope)
            or scope
        )

    def consent_error(self, client_id: str, scope: ScopeRequest) -> AadError | None:
        """AADSTS650057 for a permission the app registration does not list, AADSTS65001
        for one nobody consented to in this tenant (see AppRegistration)."""
        app = self.state.app(client_id)
        if app is None:
            return None
        resource = scope.resource.app_id
        wanted = set(scope.permissions)
        if app.required is not None and not wanted <= app.required.get(resource, frozenset()):
            return aad_error(
                650057,
                app=client_id,
                name=app.display_name,
                resource=scope.resource.uri,
                resource_id=scope.resource.app_id,
                valid=", ".join(sorted(app.required)),
            )
        if app.consented is not None and not wanted <= app.consented.get(resource, frozenset()):
            return aad_error(65001, app=client_id, name=app.display_name)
        return None

    def preauthorization_error(self, client_id: str, scope: ScopeRequest) -> AadError | None:
        """AADSTS65002 for a Microsoft first-party client asking for a first-party
        resource (or permission) it is not pre-authorised for (M365-FACTS.md,
        corrections; the error as real tenants give it, e.g. secureworks/PhishInSuits#1).
        """
        app = self.state.app(client_id)
        if app is None or app.preauthorized is None:
            return None
        allowed = app.preauthorized.get(scope.resource.display_name)
        if allowed is not None and (not allowed or set(scope.permissions) <= allowed):
            return None
        return aad_error(
            65002, app=client_id, resource_id=scope.resource.app_id or scope.resource.uri
        )

    def account_error(self, account: Account, resource: str) -> AadError | None:
        """The error an account is set up to fail sign-in with (MFA, Conditional Access)."""
        if not account.sign_in_error:
            return None
        code = parse_aadsts(account.sign_in_error)
        if code is None:
            return aad_error(70000)
        try:
            return aad_error(code, resource=resource)
        except KeyError:
            return AadError(code, "invalid_grant", f"Sign-in failed ({account.sign_in_error}).")

    # -- the HTTPS app ------------------------------------------------------------

    def app(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p]
        if len(parts) < 2:
            return Response.of_json(404, {"error": "not_found"})
        tenant, rest = parts[0], "/".join(parts[1:])
        correlation = request.header("client-request-id")
        if rest == "v2.0/.well-known/openid-configuration" and request.method == "GET":
            if not self.tenant_known(tenant):
                return error_response(aad_error(90002, tenant=tenant), correlation)
            return Response.of_json(200, self.discovery(tenant))
        if rest == "discovery/v2.0/keys":
            return Response.of_json(200, self.tokens.jwks())
        if rest == "oauth2/v2.0/authorize":
            # The pages live on the plain-http listener (no certificate warning).
            target = f"{self.sign_in_base}/{tenant}/oauth2/v2.0/authorize"
            query = urlencode([(k, v) for k, vs in request.query.items() for v in vs])
            return Response(302, headers=[("Location", f"{target}?{query}")])
        if rest == "oauth2/v2.0/token":
            if request.method != "POST":
                return error_response(aad_error(900561), correlation)
            return self._token(tenant, request.form(), correlation)
        if rest == "oauth2/v2.0/devicecode":
            if request.method != "POST":
                return error_response(aad_error(900561), correlation)
            return self.devices.start(tenant, request.form(), correlation)
        return Response.of_json(404, {"error": "not_found"})

    def discovery(self, tenant: str) -> dict[str, Any]:
        named = tenant.lower() in ("organizations", "common")
        issuer = f"{self.authority_base}/{{tenantid}}/v2.0" if named else self.tokens.issuer
        path_tenant = tenant if named else self.state.tenant_id
        base = f"{self.authority_base}/{path_tenant}"
        return {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": issuer,
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{self.resources[1].uri}/oidc/userinfo",
            "authorization_endpoint": f"{self.sign_in_base}/{path_tenant}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "name",
                "tid",
                "ver",
                "preferred_username",
                "oid",
            ],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windowsazure.com",
        }

    # -- /token ---------------------------------------------------------------------

    def _token(self, tenant: str, form: dict[str, str], correlation: str | None) -> Response:
        app = self.check_client(tenant, form.get("client_id"))
        if isinstance(app, AadError):
            return error_response(app, correlation)
        grant_type = form.get("grant_type")
        if not grant_type:
            return error_response(aad_error(900144, name="grant_type"), correlation)
        if grant_type == "authorization_code":
            result = self._redeem_code(app, form)
        elif grant_type == "refresh_token":
            result = self._redeem_refresh(app, form)
        elif grant_type == DEVICE_CODE_GRANT:
            result = self.devices.redeem(app, form)
        else:
            result = aad_error(70003, grant=grant_type)
        if isinstance(result, AadError):
            return error_response(result, correlation)
        return Response.of_json(200, result)

    def _redeem_code(self, app: AppRegistration, form: dict[str, str]) -> dict[str, Any] | AadError:
        code = form.get("code")
        if not code:
            return aad_error(900144, name="code")
        with self._lock:
            grant = self._codes.get(code)
            if grant is None or grant.client_id != app.client_id:
                return aad_error(70000)
            if grant.redeemed:
                return aad_error(54005)
            if self.clock() > grant.expires:
                return aad_error(70008)
            if form.get("redirect_uri") != grant.redirect_uri:
                return aad_error(
                    50011, redirect_uri=form.get("redirect_uri", ""), client_id=app.client_id
                )
            if grant.code_challenge is not None:
                verifier = form.get("code_verifier")
                if not verifier:
                    return aad_error(900144, name="code_verifier")
                if not _pkce_matches(verifier, grant.code_challenge, grant.challenge_method):
                    return aad_error(501481)
            grant.redeemed = True
        account = self.state.account(grant.upn)
        if account is None:
            return aad_error(70000)
        return self.token_response(
            account,
            app.client_id,
            grant.scope,
            nonce=grant.nonce,
            with_client_info=form.get("client_info") == "1",
        )

    def _redeem_refresh(
        self, app: AppRegistration, form: dict[str, str]
    ) -> dict[str, Any] | AadError:
        token = form.get("refresh_token")
        if not token:
            return aad_error(900144, name="refresh_token")
        with self._lock:
            grant = self._refresh.get(token)
        if grant is None or grant.client_id != app.client_id:
            return aad_error(9002313)
        if grant.revoked:
            return aad_error(50173)
        if self.clock() > grant.expires:
            issued = datetime.fromtimestamp(grant.issued, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            return aad_error(700082, issued=issued)
        scope = self.parse_scope(form.get("scope", ""), app.client_id)
        if isinstance(scope, AadError):
            return scope
        account = self.state.account(grant.upn)
        if account is None:
            return aad_error(70000)
        problem = self.account_error(account, scope.resource.uri)
        if problem is not None:
            return problem
        return self.token_response(
            account,
            app.client_id,
            scope,
            nonce=None,
            with_client_info=form.get("client_info") == "1",
        )

    def token_response(
        self,
        account: Account,
        client_id: str,
        scope: ScopeRequest,
        *,
        nonce: str | None,
        with_client_info: bool,
    ) -> dict[str, Any]:
        lifetime = ACCESS_TOKEN_LIFETIME
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": scope.response_scope,
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": self.tokens.access_token(
                account,
                audience=scope.resource.uri,
                scopes=scope.permissions,
                client_id=client_id,
                lifetime=lifetime,
            ),
        }
        if "offline_access" in scope.oidc:
            token = self.tokens.refresh_token()
            now = self.clock()
            with self._lock:
                self._refresh[token] = RefreshGrant(
                    client_id, account.upn, now, now + REFRESH_TOKEN_LIFETIME
                )
            body["refresh_token"] = token
        if "openid" in scope.oidc:
            body["id_token"] = self.tokens.id_token(account, client_id=client_id, nonce=nonce)
        if with_client_info:
            body["client_info"] = client_info(account, self.state.tenant_id)
        return body

    def revoke_refresh_tokens(self, upn: str) -> int:
        """Revoke every refresh token of a user (as "Revoke sessions" does); returns how many."""
        with self._lock:
            grants = [g for g in self._refresh.values() if g.upn.lower() == upn.lower()]
            for grant in grants:
                grant.revoked = True
        return len(grants)

    def expire_refresh_tokens(self, upn: str) -> None:
        with self._lock:
            for grant in self._refresh.values():
                if grant.upn.lower() == upn.lower():
                    grant.expires = self.clock() - 1

    def store_code(self, code: str, grant: AuthCode) -> None:
        with self._lock:
            self._codes[code] = grant

    def expire_device_codes(self) -> None:
        """Let every device code run out (for tests of expired_token)."""
        self.devices.expire_all()

    def expire_auth_codes(self) -> None:
        with self._lock:
            for grant in self._codes.values():
                grant.expires = self.clock() - 1


def _pkce_matches(verifier: str, challenge: str, method: str) -> bool:
    if method == "plain":
        return hmac.compare_digest(verifier, challenge)
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return hmac.compare_digest(expected, challenge)
