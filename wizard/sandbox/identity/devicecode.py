"""The device code flow of the sandbox's identity provider (RFC 8628, as Entra runs it).

/devicecode hands out a 9-character user code; the person enters it on the
/devicelogin page (identity/signin_pages.py) and picks an account; the device polls /token and
gets authorization_pending (AADSTS70016), slow_down when it polls faster than the
interval, authorization_declined, expired_token (AADSTS70019), or its tokens.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wizard.sandbox.https import Response
from wizard.sandbox.identity.aad_errors import AadError, aad_error, error_response
from wizard.sandbox.identity.scopes import ScopeRequest
from wizard.sandbox.tenant import AppRegistration

if TYPE_CHECKING:
    from wizard.sandbox.identity.provider import IdentityProvider

DEVICE_CODE_LIFETIME = 900
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ23456789"
DEVICE_LOGIN_PATH = "/devicelogin"
# A poll this much earlier than the interval still counts as on time (client clocks).
POLL_SKEW = 0.5


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


class DeviceCodes:
    def __init__(self, provider: IdentityProvider) -> None:
        self._provider = provider
        self._lock = threading.Lock()
        self._grants: dict[str, DeviceGrant] = {}

    @property
    def login_url(self) -> str:
        return f"{self._provider.sign_in_base}{DEVICE_LOGIN_PATH}"

    def start(self, tenant: str, form: dict[str, str], correlation: str | None) -> Response:
        """POST /{tenant}/oauth2/v2.0/devicecode."""
        provider = self._provider
        app = provider.check_client(tenant, form.get("client_id"))
        if isinstance(app, AadError):
            return error_response(app, correlation)
        if not app.public_client_flows:
            # Entra treats the app as confidential: it wants a secret or an assertion.
            return error_response(aad_error(7000218), correlation)
        scope = provider.parse_scope(form.get("scope", ""), app.client_id)
        if isinstance(scope, AadError):
            return error_response(scope, correlation)
        user_code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(9))
        grant = DeviceGrant(
            device_code=secrets.token_urlsafe(48),
            user_code=user_code,
            app=app,
            scope=scope,
            expires=provider.clock() + DEVICE_CODE_LIFETIME,
            interval=provider.state.device_code_interval,
        )
        with self._lock:
            self._grants[grant.device_code] = grant
        uri = self.login_url
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

    def redeem(self, app: AppRegistration, form: dict[str, str]) -> dict[str, Any] | AadError:
        """grant_type=urn:ietf:params:oauth:grant-type:device_code at /token."""
        device_code = form.get("device_code")
        if not device_code:
            return aad_error(900144, name="device_code")
        provider = self._provider
        now = provider.clock()
        with self._lock:
            grant = self._grants.get(device_code)
            if grant is None or grant.app.client_id != app.client_id or grant.status == "redeemed":
                return aad_error(70000)
            if now > grant.expires:
                return aad_error(70019)
            too_soon = (
                grant.last_poll is not None and now - grant.last_poll < grant.interval - POLL_SKEW
            )
            grant.last_poll = now
            if grant.status == "pending":
                return aad_error(70016, error="slow_down") if too_soon else aad_error(70016)
            if grant.status == "declined":
                return aad_error(65004, error="authorization_declined")
            if grant.status == "failed" and grant.error is not None:
                return grant.error
            grant.status = "redeemed"
            upn = grant.upn or ""
        account = provider.state.account(upn)
        if account is None:
            return aad_error(70000)
        return provider.token_response(
            account,
            app.client_id,
            grant.scope,
            nonce=None,
            with_client_info=form.get("client_info") == "1",
        )

    def find(self, user_code: str) -> DeviceGrant | None:
        """The waiting device sign-in a person typed the code of (None if unknown/expired)."""
        user_code = user_code.strip().upper().replace("-", "").replace(" ", "")
        now = self._provider.clock()
        with self._lock:
            for grant in self._grants.values():
                if (
                    grant.user_code == user_code
                    and grant.status == "pending"
                    and now <= grant.expires
                ):
                    return grant
        return None

    def decide(self, grant: DeviceGrant, upn: str | None) -> AadError | None:
        """Approve (upn) or decline (None) a device sign-in; returns the account's error."""
        account = self._provider.state.account(upn) if upn is not None else None
        problem = (
            self._provider.account_error(account, grant.scope.resource.uri) if account else None
        )
        with self._lock:
            if account is None:
                grant.status = "declined"
                return None
            grant.upn = account.upn
            grant.status = "failed" if problem else "approved"
            grant.error = problem
        return problem

    def expire_all(self) -> None:
        """Let every device code run out (tests of expired_token)."""
        with self._lock:
            for grant in self._grants.values():
                grant.expires = self._provider.clock() - 1
