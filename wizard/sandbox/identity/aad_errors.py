"""Entra ID's error replies: the AADSTS codes the sandbox's identity provider uses.

Shapes follow what Entra sends: `{"error", "error_description": "AADSTSnnnnn: ...
Trace ID: ... Correlation ID: ... Timestamp: ...", "error_codes": [n], "timestamp",
"trace_id", "correlation_id", "error_uri"}`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from wizard.sandbox.https import Response

# code -> (OAuth error, message template)
CATALOG: dict[int, tuple[str, str]] = {
    90002: (
        "invalid_tenant",
        "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and "
        "are signing into the correct cloud. Check with your subscription administrator, "
        "this may happen if there are no active subscriptions for the tenant.",
    ),
    700016: (
        "unauthorized_client",
        "Application with identifier '{client_id}' was not found in the directory "
        "'{tenant_name}'. This can happen if the application has not been installed by the "
        "administrator of the tenant or consented to by any user in the tenant. You may have "
        "sent your authentication request to the wrong tenant.",
    ),
    50011: (
        "invalid_request",
        "The redirect URI '{redirect_uri}' specified in the request does not match the "
        "redirect URIs configured for the application '{client_id}'. Make sure the redirect "
        "URI sent in the request matches one added to your application in the Azure portal. "
        "Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix "
        "this.",
    ),
    50076: (
        "invalid_grant",
        "Due to a configuration change made by your administrator, or because you moved to a "
        "new location, you must use multi-factor authentication to access '{resource}'.",
    ),
    50079: (
        "invalid_grant",
        "Due to a configuration change made by your administrator, or because you moved to a "
        "new location, you must enroll in multi-factor authentication to access '{resource}'.",
    ),
    53003: (
        "access_denied",
        "Access has been blocked by Conditional Access policies. The access policy does not "
        "allow token issuance.",
    ),
    50057: ("invalid_grant", "The user account is disabled."),
    65004: ("access_denied", "User declined to consent to access the app."),
    70008: (
        "invalid_grant",
        "The provided authorization code or refresh token has expired due to inactivity. Send "
        "a new interactive authorization request for this user and resource.",
    ),
    54005: (
        "invalid_grant",
        "OAuth2 Authorization code was already redeemed, please retry with a new valid code or "
        "use an existing refresh token.",
    ),
    501481: (
        "invalid_grant",
        "The Code_Verifier does not match the code_challenge supplied in the authorization "
        "request.",
    ),
    70000: ("invalid_grant", "Provided grant is invalid or malformed."),
    9002313: ("invalid_grant", "Invalid request. Request is malformed or invalid."),
    700082: (
        "invalid_grant",
        "The refresh token has expired due to inactivity. The token was issued on {issued} "
        "and was inactive for 90.00:00:00.",
    ),
    70011: (
        "invalid_scope",
        "The provided value for the input parameter 'scope' is not valid. The scope "
        "'{scope}' is not valid.",
    ),
    28000: (
        "invalid_scope",
        "Provided value for the input parameter scope is not valid because it contains more "
        "than one resource. Scope {scope} is not valid.",
    ),
    500011: (
        "invalid_resource",
        "The resource principal named {resource} was not found in the tenant named "
        "{tenant_name}. This can happen if the application has not been installed by the "
        "administrator of the tenant or consented to by any user in the tenant. You might "
        "have sent your authentication request to the wrong tenant.",
    ),
    # Microsoft identity platform error reference; seen on real tenants e.g. in
    # AzureAD/microsoft-authentication-library-for-dotnet#668, Azure-Samples/DSRegTool#1.
    65002: (
        "invalid_client",
        "Consent between first party application '{app}' and first party resource "
        "'{resource_id}' must be configured via preauthorization - applications owned and "
        "operated by Microsoft must get approval from the API owner before requesting "
        "tokens for that API.",
    ),
    # The three an MSP's own app registration meets (Microsoft identity platform error
    # reference; texts as real tenants show them, e.g. AzureAD/microsoft-authentication-
    # library-for-python issues and simonrob/email-oauth2-proxy's set-up notes).
    65001: (
        "invalid_grant",
        "The user or administrator has not consented to use the application with ID "
        "'{app}' named '{name}'. Send an interactive authorization request for this user "
        "and resource.",
    ),
    650057: (
        "invalid_client",
        "Invalid resource. The client has requested access to a resource which is not "
        "listed in the requested permissions in the client's application registration. "
        "Client app ID: {app}({name}). Resource value from request: {resource}. Resource "
        "app ID: {resource_id}. List of valid resources from app registration: {valid}.",
    ),
    7000218: (
        "invalid_client",
        "The request body must contain the following parameter: 'client_assertion' or "
        "'client_secret'.",
    ),
    650053: (
        "invalid_client",
        "The application '{app}' asked for scope '{permission}' that doesn't exist on the "
        "resource '{resource}'. Contact the app vendor.",
    ),
    70003: ("unsupported_grant_type", "The app requested an unsupported grant type '{grant}'."),
    900144: ("invalid_request", "The request body must contain the following parameter: '{name}'."),
    900561: ("invalid_request", "The endpoint only accepts POST requests. Received a GET request."),
    90014: (
        "invalid_request",
        "The required field '{name}' is missing from the credential. Ensure that you have all "
        "the necessary parameters for the login request.",
    ),
    900971: ("invalid_request", "No reply address provided."),
    70016: (
        "authorization_pending",
        "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
    ),
    70019: ("expired_token", "Verification code expired."),
    70018: (
        "bad_verification_code",
        "Invalid verification code due to User typing in wrong user code for device code flow.",
    ),
    50173: (
        "invalid_grant",
        "The provided grant has expired due to it being revoked, a fresh auth token is needed. "
        "The user might have changed or reset their password.",
    ),
    700054: (
        "unsupported_response_type",
        "response_type '{value}' is not enabled for the application.",
    ),
    50058: ("interaction_required", "A silent sign-in request was sent but no user is signed in."),
}


@dataclass(frozen=True)
class AadError:
    code: int
    error: str
    message: str
    status: int = 400

    @property
    def description(self) -> str:
        return f"AADSTS{self.code}: {self.message}"

    def body(self, correlation_id: str | None = None) -> dict[str, Any]:
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        trace_id = str(uuid.uuid4())
        correlation = correlation_id or str(uuid.uuid4())
        return {
            "error": self.error,
            "error_description": (
                f"{self.description}\r\nTrace ID: {trace_id}\r\n"
                f"Correlation ID: {correlation}\r\nTimestamp: {now}"
            ),
            "error_codes": [self.code],
            "timestamp": now,
            "trace_id": trace_id,
            "correlation_id": correlation,
            "error_uri": f"https://login.microsoftonline.com/error?code={self.code}",
        }


def aad_error(code: int, *, error: str | None = None, status: int = 400, **values: str) -> AadError:
    """The catalogued error `code` with its message filled in."""
    oauth_error, template = CATALOG[code]
    return AadError(code, error or oauth_error, template.format_map(_Blank(values)), status)


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def parse_aadsts(text: str) -> int | None:
    """'AADSTS50076' or '50076' -> 50076 (Account.sign_in_error accepts either)."""
    digits = text.strip().upper().removeprefix("AADSTS")
    return int(digits) if digits.isdigit() else None


def error_response(error: AadError, correlation_id: str | None = None) -> Response:
    """The JSON error answer of a token, device code or discovery request."""
    return Response.of_json(error.status, error.body(correlation_id))
