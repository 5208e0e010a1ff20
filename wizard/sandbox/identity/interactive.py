"""Interactive sign-in (authorization code flow) of the sandbox's identity provider.

The /authorize request is checked the way Entra checks it: a bad tenant, client or
redirect URI is shown on the page (AADSTS90002, 700016, 50011) and never sent to the
redirect URI; later problems (response type, scope, the account's own sign-in
error, Cancel) go back to the app as `error` + `error_description`, by an
auto-submitting form (response_mode=form_post, the only mode MSAL accepts) or a 302.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from wizard.sandbox.https import Response
from wizard.sandbox.identity import signin_html
from wizard.sandbox.identity.aad_errors import AadError, aad_error
from wizard.sandbox.identity.scopes import ScopeRequest
from wizard.sandbox.identity.tokens import client_info
from wizard.sandbox.tenant import AppRegistration

if TYPE_CHECKING:
    from wizard.sandbox.identity.provider import IdentityProvider

AUTH_CODE_LIFETIME = 600
PENDING_SIGN_IN_LIFETIME = 900
# Entra names the interactive MFA interrupts this way on the redirect.
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
class AuthorizeOutcome:
    """What the sign-in page does with an /authorize request."""

    pending: PendingSignIn | None = None
    # Shown on the page; Entra does not redirect when client or redirect URI are bad.
    page_error: AadError | None = None
    # Sent back to the app's redirect URI.
    redirect: Response | None = None


class InteractiveSignIn:
    def __init__(self, provider: IdentityProvider) -> None:
        self._provider = provider
        self._lock = threading.Lock()
        self._pending: dict[str, PendingSignIn] = {}

    def begin(self, tenant: str, params: dict[str, str]) -> AuthorizeOutcome:
        app = self._provider.check_client(tenant, params.get("client_id"))
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
        scope = self._provider.parse_scope(params.get("scope", ""), app.client_id)
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
            expires=self._provider.clock() + PENDING_SIGN_IN_LIFETIME,
        )
        with self._lock:
            self._pending[pending.flow_id] = pending
        return AuthorizeOutcome(pending=pending)

    def pending(self, flow_id: str) -> PendingSignIn | None:
        with self._lock:
            pending = self._pending.get(flow_id)
        if pending is None or self._provider.clock() > pending.expires:
            return None
        return pending

    def finish(self, pending: PendingSignIn, upn: str | None) -> Response:
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
        account = self._provider.state.account(upn)
        if account is None:
            return Response.of_html(
                400, signin_html.error_page(aad_error(70000), heading="Unknown account")
            )
        problem = self._provider.account_error(account, pending.scope.resource.uri)
        if problem is not None:
            problem = AadError(
                problem.code, _INTERACTIVE_ERRORS.get(problem.code, problem.error), problem.message
            )
            return redirect_error(
                pending.redirect_uri, pending.response_mode, problem, pending.state
            )
        code = secrets.token_urlsafe(64)
        self._provider.store_code(
            code,
            AuthCode(
                client_id=pending.app.client_id,
                redirect_uri=pending.redirect_uri,
                scope=pending.scope,
                nonce=pending.nonce,
                code_challenge=pending.code_challenge,
                challenge_method=pending.challenge_method,
                upn=account.upn,
                expires=self._provider.clock() + AUTH_CODE_LIFETIME,
            ),
        )
        fields = {"code": code}
        if pending.wants_client_info:
            fields["client_info"] = client_info(account, self._provider.state.tenant_id)
        if pending.state is not None:
            fields["state"] = pending.state
        fields["session_state"] = secrets.token_hex(16)
        return deliver(pending.redirect_uri, pending.response_mode, fields)


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
