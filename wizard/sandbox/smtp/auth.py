"""Who may sign in at the submission and HVE stand-ins, checked in Exchange Online's order.

Client submission (smtp.office365.com), Basic (AUTH LOGIN / PLAIN):
  1. Basic retired by Microsoft          -> 550 5.7.30
  2. Entra ID Security Defaults on        -> 535 5.7.139 (security defaults)
  3. SMTP AUTH off for the mailbox, its own value or else the tenant's
                                          -> 535 5.7.139 (for the Mailbox / the Tenant)
  4. unknown user, no mailbox, wrong password -> 535 5.7.3
OAuth (AUTH XOAUTH2): the token must verify, be for this tenant, carry SMTP.Send for
the same user as `user=` (or, app-only, SMTP.SendAsApp for a service principal with
FullAccess to the mailbox), else 535 5.7.3; the mailbox's effective SMTP AUTH switch
still applies (5.7.139); Security Defaults and the Basic retirement do not.

High Volume Email (smtp.hve.mx.microsoft): only HVE accounts sign in (others 535
5.7.3); Basic keeps working there (M365-FACTS: until September 2028) and Security
Defaults do not block it (M365-FACTS lists HVE as the way round them); mail users have
no SMTP AUTH switch.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wizard.sandbox.smtp import replies
from wizard.sandbox.tenant import Mailbox, TenantState

log = logging.getLogger(__name__)

CheckToken = Callable[[str], dict[str, Any]]

SMTP_SEND = "SMTP.Send"
SMTP_SEND_AS_APP = "SMTP.SendAsApp"


@dataclass(frozen=True)
class SignIn:
    """The outcome of one AUTH command."""

    reply: str
    mailbox: str | None = None  # the signed-in mailbox's address, on success
    method: str = ""  # "basic" or "oauth"

    @property
    def ok(self) -> bool:
        return self.mailbox is not None


def _failed(method: str) -> SignIn:
    return SignIn(replies.AUTH_FAILED, method=method)


def _switch_refusal(state: TenantState, mailbox: Mailbox) -> str | None:
    if not state.effective_smtp_auth_disabled(mailbox):
        return None
    if mailbox.smtp_client_auth_disabled is None:
        return replies.AUTH_DISABLED_TENANT
    return replies.AUTH_DISABLED_MAILBOX


def _password_matches(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def basic_sign_in(state: TenantState, username: str, password: str, *, hve: bool) -> SignIn:
    """AUTH LOGIN / AUTH PLAIN with the account's password."""
    with state.lock:
        mailbox = state.mailbox(username)
        account = state.account(username)
        if hve:
            if mailbox is None or not mailbox.hve_account or account is None:
                return _failed("basic")
        else:
            if state.basic_auth_retired:
                return SignIn(replies.BASIC_RETIRED, method="basic")
            if state.security_defaults:
                return SignIn(replies.AUTH_SECURITY_DEFAULTS, method="basic")
            if mailbox is not None and not mailbox.hve_account:
                refusal = _switch_refusal(state, mailbox)
                if refusal:
                    return SignIn(refusal, method="basic")
            if account is None or mailbox is None or mailbox.hve_account:
                return _failed("basic")
            if not mailbox.licensed:
                return _failed("basic")
        if account.sign_in_error or not _password_matches(account.password, password):
            return _failed("basic")
        return SignIn(replies.AUTH_OK, mailbox=mailbox.address, method="basic")


def parse_xoauth2(blob: bytes) -> tuple[str, str] | None:
    """(user, token) from the decoded SASL XOAUTH2 string, None if malformed.

    The form is "user=<mailbox>\\x01auth=Bearer <token>\\x01\\x01".
    """
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        return None
    fields = dict(part.split("=", 1) for part in text.split("\x01") if part and "=" in part)
    user = fields.get("user", "").strip()
    auth = fields.get("auth", "")
    scheme, _, token = auth.partition(" ")
    if not user or scheme.lower() != "bearer" or not token.strip():
        return None
    return user, token.strip()


def _has_scope(claims: dict[str, Any], wanted: str) -> bool:
    scopes = str(claims.get("scp", "")).split()
    return any(s == wanted or s.endswith("/" + wanted) for s in scopes)


def _roles(claims: dict[str, Any]) -> list[str]:
    roles = claims.get("roles") or []
    return [str(r) for r in roles] if isinstance(roles, list) else []


def _app_may_use(state: TenantState, claims: dict[str, Any], mailbox: Mailbox) -> bool:
    """App-only: a service principal (New-ServicePrincipal) with FullAccess to the mailbox."""
    app_id = str(claims.get("appid") or claims.get("azp") or "").lower()
    object_id = str(claims.get("oid") or "").lower()
    granted = {g.lower() for g in mailbox.full_access}
    for sp in state.service_principals:
        if (
            app_id
            and sp.app_id.lower() == app_id
            or object_id
            and sp.object_id.lower() == object_id
        ):
            names = {sp.app_id, sp.object_id, sp.identity, sp.display_name}
            if granted & {n.lower() for n in names if n}:
                return True
    return False


def oauth_sign_in(
    state: TenantState, user: str, token: str, check_token: CheckToken, *, hve: bool
) -> SignIn:
    """AUTH XOAUTH2 with an access token for https://outlook.office.com."""
    try:
        claims = check_token(token)
    except Exception as error:  # any verification failure is the same 535 to the client
        log.info("XOAUTH2 token refused: %s", type(error).__name__)
        return _failed("oauth")
    with state.lock:
        tenant = str(claims.get("tid", "")).lower()
        if tenant and tenant != state.tenant_id.lower():
            return _failed("oauth")
        mailbox = state.mailbox(user)
        if mailbox is None:
            return _failed("oauth")
        if _has_scope(claims, SMTP_SEND):
            signed_in = str(claims.get("upn") or claims.get("preferred_username") or "")
            if signed_in.lower() != user.lower():
                return _failed("oauth")
        elif SMTP_SEND_AS_APP in _roles(claims) and not hve:
            if not _app_may_use(state, claims, mailbox):
                return _failed("oauth")
        else:
            return _failed("oauth")
        if hve:
            if not mailbox.hve_account:
                return _failed("oauth")
        else:
            if mailbox.hve_account or not mailbox.licensed:
                return _failed("oauth")
            refusal = _switch_refusal(state, mailbox)
            if refusal:
                return SignIn(refusal, method="oauth")
        return SignIn(replies.AUTH_OK, mailbox=mailbox.address, method="oauth")


def may_send_as(state: TenantState, mailbox_address: str, sender: str) -> bool:
    """Whether the signed-in mailbox may send as `sender` (itself, or Send As)."""
    if sender.lower() == mailbox_address.lower():
        return True
    with state.lock:
        mailbox = state.mailbox(mailbox_address)
        return mailbox is not None and sender.lower() in {a.lower() for a in mailbox.send_as}
