"""The sandbox's identity provider: Entra ID's v2.0 endpoints, as MSAL Python uses them.

HTTPS (the authority): OpenID discovery, signing keys, /token (authorization code
with PKCE, refresh token, device code) and /devicecode. The pages a person sees
(authorize, device login) are served over plain http on loopback by
`signin.SignInPages` so a real browser shows no certificate warning; they call
`begin_authorize` / `finish_authorize` / `device_*` here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from wizard.sandbox import signin_html
from wizard.sandbox.aad import AadError, aad_error, parse_aadsts
from wizard.sandbox.https import Request, Response
from wizard.sandbox.scopes import ResourceApi, ScopeRequest, parse_scopes
from wizard.sandbox.tenant import Account, AppRegistration, TenantState
from wizard.sandbox.tokens import ACCESS_TOKEN_LIFETIME, TokenService, client_info

AUTH_CODE_LIFETIME = 600
PENDING_SIGN_IN_LIFETIME = 900
DEVICE_CODE_LIFETIME = 900
REFRESH_TOKEN_LIFETIME = 90 * 24 * 3600
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ23456789"
# Entra names the interactive MFA/CA interrupts this way on the redirect.
_INTERACTIVE_ERRORS = {50076: "interaction_required", 50079: "interaction_required"}


@dataclass
class PendingSignIn:
    """An /authorize request waiting for the person to pick an account."""

    flow_id: str
    app: AppRegistration
    redirect_uri: str
    state: str | None
    scope: ScopeRequest
    nonce: str | None
    code_challenge: str | None
    challenge_method: str
    response_mode: str
    wants_client_info: bool
    login_hint: str | None
    expires: float


@dataclass
class AuthCode:
    client_id: str
    redirect_uri: str
    scope: ScopeRequest
    nonce: str | None
    code_challenge: str | None
    challenge_method: str
    upn: str
    expires: float
    redeemed: bool = False


@dataclass
class RefreshGrant:
    client_id: str
    upn: str
    issued: float
    expires: float
    revoked: bool = False


@dataclass
class DeviceGrant:
    device_code: str
    user_code: str
    app: AppRegistration
    scope: ScopeRequest
    expires: float
    interval: int
    last_poll: float | None = None
    status: str = "pending"  # pending, approved, declined, failed, redeemed
    upn: str | None = None
    error: AadError | None = None


@dataclass
class AuthorizeOutcome:
    """What the sign-in page does with an /authorize request."""

    pending: PendingSignIn | None = None
    # Shown on the page; Entra does not redirect when client or redirect URI are bad.
    page_error: AadError | None = None
    # Sent back to the app's redirect URI.
    redirect: Response | None = None
    extra: dict[str, str] = field(default_factory=dict)


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
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: dict[str, PendingSignIn] = {}
        self._codes: dict[str, AuthCode] = {}
        self._refresh: dict[str, RefreshGrant] = {}
        self._devices: dict[str, DeviceGrant] = {}

    # -- tenant and client checks -------------------------------------------------

    def tenant_known(self, tenant: str) -> bool:
        tenant = tenant.lower()
        if tenant in ("organizations", "common", self.state.tenant_id.lower()):
            return True
        return tenant == self.state.initial_domain.lower() or self.state.is_accepted(tenant)

    @property
    def tenant_name(self) -> str:
        return self.state.display_name

    def _check_client(self, tenant: str, client_id: str | None) -> AppRegistration | AadError:
        if not self.tenant_known(tenant):
            return aad_error(90002, tenant=tenant)
        if not client_id:
            return aad_error(900144, name="client_id")
        app = self.state.app(client_id)
        if app is None:
            return aad_error(700016, client_id=client_id, tenant_name=self.state.tenant_id)
        return app

    def _parse_scope(self, raw: str, client_id: str) -> ScopeRequest | AadError:
        return parse_scopes(
            raw, self.resources, client_id=client_id, tenant_name=self.state.tenant_id
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
                return _error(aad_error(90002, tenant=tenant), correlation)
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
                return _error(aad_error(900561), correlation)
            return self._token(tenant, request.form(), correlation)
        if rest == "oauth2/v2.0/devicecode":
            if request.method != "POST":
                return _error(aad_error(900561), correlation)
            return self._devicecode(tenant, request.form(), correlation)
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
        app = self._check_client(tenant, form.get("client_id"))
        if isinstance(app, AadError):
            return _error(app, correlation)
        grant_type = form.get("grant_type")
        if not grant_type:
            return _error(aad_error(900144, name="grant_type"), correlation)
        if grant_type == "authorization_code":
            result = self._redeem_code(app, form)
        elif grant_type == "refresh_token":
            result = self._redeem_refresh(app, form)
        elif grant_type == DEVICE_CODE_GRANT:
            result = self._redeem_device(app, form)
        else:
            result = aad_error(70003, grant=grant_type)
        if isinstance(result, AadError):
            return _error(result, correlation)
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
            if self._clock() > grant.expires:
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
        if self._clock() > grant.expires:
            issued = datetime.fromtimestamp(grant.issued, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            return aad_error(700082, issued=issued)
        scope = self._parse_scope(form.get("scope", ""), app.client_id)
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
            now = self._clock()
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
                    grant.expires = self._clock() - 1

    # -- device code ------------------------------------------------------------------

    def _devicecode(self, tenant: str, form: dict[str, str], correlation: str | None) -> Response:
        app = self._check_client(tenant, form.get("client_id"))
        if isinstance(app, AadError):
            return _error(app, correlation)
        scope = self._parse_scope(form.get("scope", ""), app.client_id)
        if isinstance(scope, AadError):
            return _error(scope, correlation)
        user_code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(9))
        grant = DeviceGrant(
            device_code=secrets.token_urlsafe(48),
            user_code=user_code,
            app=app,
            scope=scope,
            expires=self._clock() + DEVICE_CODE_LIFETIME,
            interval=self.state.device_code_interval,
        )
        with self._lock:
            self._devices[grant.device_code] = grant
        uri = self.device_login_url
        return Response.of_json(
            200,
            {
                "user_code": user_code,
                "device_code": grant.device_code,
                "verification_uri": uri,
                "expires_in": DEVICE_CODE_LIFETIME,
                "interval": grant.interval,
                "message": (
                    f"To sign in, use a web browser to open the page {uri} and enter the code "
                    f"{user_code} to authenticate."
                ),
            },
        )

    @property
    def device_login_url(self) -> str:
        return f"{self.sign_in_base}/devicelogin"

    def _redeem_device(
        self, app: AppRegistration, form: dict[str, str]
    ) -> dict[str, Any] | AadError:
        device_code = form.get("device_code")
        if not device_code:
            return aad_error(900144, name="device_code")
        now = self._clock()
        with self._lock:
            grant = self._devices.get(device_code)
            if grant is None or grant.app.client_id != app.client_id or grant.status == "redeemed":
                return aad_error(70000)
            if now > grant.expires:
                return aad_error(70019)
            too_soon = grant.last_poll is not None and now - grant.last_poll < grant.interval - 0.5
            grant.last_poll = now
            if grant.status == "pending":
                return aad_error(70016, error="slow_down") if too_soon else aad_error(70016)
            if grant.status == "declined":
                return aad_error(65004, error="authorization_declined")
            if grant.status == "failed" and grant.error is not None:
                return grant.error
            grant.status = "redeemed"
            upn = grant.upn or ""
        account = self.state.account(upn)
        if account is None:
            return aad_error(70000)
        return self.token_response(
            account,
            app.client_id,
            grant.scope,
            nonce=None,
            with_client_info=form.get("client_info") == "1",
        )

    def device_grant(self, user_code: str) -> DeviceGrant | None:
        """The waiting device sign-in a person typed the code of (None if unknown/expired)."""
        user_code = user_code.strip().upper().replace("-", "").replace(" ", "")
        with self._lock:
            for grant in self._devices.values():
                if (
                    grant.user_code == user_code
                    and grant.status == "pending"
                    and self._clock() <= grant.expires
                ):
                    return grant
        return None

    def device_decide(self, grant: DeviceGrant, upn: str | None) -> AadError | None:
        """Approve (upn) or decline (None) a device sign-in; returns the account's error."""
        with self._lock:
            if upn is None:
                grant.status = "declined"
                return None
            account = self.state.account(upn)
            if account is None:
                grant.status = "declined"
                return None
            problem = self.account_error(account, grant.scope.resource.uri)
            grant.upn = account.upn
            grant.status = "failed" if problem else "approved"
            grant.error = problem
            return problem

    def expire_device_codes(self) -> None:
        with self._lock:
            for grant in self._devices.values():
                grant.expires = self._clock() - 1

    # -- interactive sign-in (used by the http pages) ----------------------------------

    def begin_authorize(self, tenant: str, params: dict[str, str]) -> AuthorizeOutcome:
        app = self._check_client(tenant, params.get("client_id"))
        if isinstance(app, AadError):
            return AuthorizeOutcome(page_error=app)
        redirect_uri = params.get("redirect_uri")
        if not redirect_uri:
            return AuthorizeOutcome(page_error=aad_error(900971))
        if not redirect_allowed(app, redirect_uri):
            return AuthorizeOutcome(
                page_error=aad_error(50011, redirect_uri=redirect_uri, client_id=app.client_id)
            )
        state = params.get("state")
        mode = params.get("response_mode", "query")

        def fail(error: AadError) -> AuthorizeOutcome:
            return AuthorizeOutcome(redirect=redirect_error(redirect_uri, mode, error, state))

        response_type = params.get("response_type")
        if not response_type:
            return fail(aad_error(900144, name="response_type"))
        if response_type != "code":
            return fail(aad_error(700054, value=response_type))
        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method", "plain")
        if challenge is not None and method not in ("S256", "plain"):
            return fail(aad_error(9002313, error="invalid_request"))
        scope = self._parse_scope(params.get("scope", ""), app.client_id)
        if isinstance(scope, AadError):
            return fail(scope)
        pending = PendingSignIn(
            flow_id=secrets.token_urlsafe(24),
            app=app,
            redirect_uri=redirect_uri,
            state=state,
            scope=scope,
            nonce=params.get("nonce"),
            code_challenge=challenge,
            challenge_method=method,
            response_mode=mode,
            wants_client_info=params.get("client_info") == "1",
            login_hint=params.get("login_hint"),
            expires=self._clock() + PENDING_SIGN_IN_LIFETIME,
        )
        with self._lock:
            self._pending[pending.flow_id] = pending
        return AuthorizeOutcome(pending=pending)

    def pending_sign_in(self, flow_id: str) -> PendingSignIn | None:
        with self._lock:
            pending = self._pending.get(flow_id)
        if pending is None or self._clock() > pending.expires:
            return None
        return pending

    def finish_authorize(self, pending: PendingSignIn, upn: str | None) -> Response:
        """The person picked an account (or cancelled): send the result to the app."""
        with self._lock:
            self._pending.pop(pending.flow_id, None)
        if upn is None:
            return redirect_error(
                pending.redirect_uri,
                pending.response_mode,
                aad_error(65004, error="access_denied"),
                pending.state,
            )
        account = self.state.account(upn)
        if account is None:
            return Response.of_html(
                400, signin_html.error_page(aad_error(70000), heading="Unknown account")
            )
        problem = self.account_error(account, pending.scope.resource.uri)
        if problem is not None:
            problem = AadError(
                problem.code, _INTERACTIVE_ERRORS.get(problem.code, problem.error), problem.message
            )
            return redirect_error(
                pending.redirect_uri, pending.response_mode, problem, pending.state
            )
        code = secrets.token_urlsafe(64)
        with self._lock:
            self._codes[code] = AuthCode(
                client_id=pending.app.client_id,
                redirect_uri=pending.redirect_uri,
                scope=pending.scope,
                nonce=pending.nonce,
                code_challenge=pending.code_challenge,
                challenge_method=pending.challenge_method,
                upn=account.upn,
                expires=self._clock() + AUTH_CODE_LIFETIME,
            )
        fields = {"code": code}
        if pending.wants_client_info:
            fields["client_info"] = client_info(account, self.state.tenant_id)
        if pending.state is not None:
            fields["state"] = pending.state
        fields["session_state"] = secrets.token_hex(16)
        return deliver(pending.redirect_uri, pending.response_mode, fields)

    def expire_auth_codes(self) -> None:
        with self._lock:
            for grant in self._codes.values():
                grant.expires = self._clock() - 1


def _error(error: AadError, correlation: str | None) -> Response:
    return Response.of_json(error.status, error.body(correlation))


def _pkce_matches(verifier: str, challenge: str, method: str) -> bool:
    if method == "plain":
        return hmac.compare_digest(verifier, challenge)
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return hmac.compare_digest(expected, challenge)


def redirect_allowed(app: AppRegistration, redirect_uri: str) -> bool:
    """Entra's rule: exact match, except that a loopback http URI may use any port."""
    asked = urlsplit(redirect_uri)
    for registered in app.redirect_uris:
        if registered == redirect_uri:
            return True
        known = urlsplit(registered)
        loopback = known.hostname in ("localhost", "127.0.0.1", "::1")
        if (
            loopback
            and known.scheme == "http"
            and asked.scheme == "http"
            and asked.hostname == known.hostname
            and (asked.path or "/") == (known.path or "/")
            and not asked.query
        ):
            return True
    return False


def deliver(redirect_uri: str, mode: str, fields: dict[str, str]) -> Response:
    """Hand fields to the app: an auto-posting form (form_post) or a 302 (query)."""
    if mode == "form_post":
        return Response.of_html(200, signin_html.form_post(redirect_uri, fields))
    sep = "&" if "?" in redirect_uri else "?"
    return Response(302, headers=[("Location", f"{redirect_uri}{sep}{urlencode(fields)}")])


def redirect_error(redirect_uri: str, mode: str, error: AadError, state: str | None) -> Response:
    body = error.body()
    fields = {
        "error": error.error,
        "error_description": body["error_description"],
        "error_uri": body["error_uri"],
    }
    if state is not None:
        fields["state"] = state
    return deliver(redirect_uri, mode, fields)
