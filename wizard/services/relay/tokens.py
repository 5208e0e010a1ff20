"""The mailboxes' delegated SMTP.Send tokens: refresh token in the keyring, MSAL renews.

The relay runs as a service without the wizard, so the refresh token of each device's
mailbox is kept in the OS keyring (the sign-in happens once, in the wizard's Relay
step, as that mailbox with the MSP's app registration: SMTP.Send + offline_access).
Entra rotates refresh tokens: each renewal stores the new one. Access tokens stay in
memory only and are renewed five minutes before they expire.

A refresh token can be longer than one Windows Credential Manager entry holds (about
1,280 characters, M365-FACTS.md), so it is kept in numbered parts under one name.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import msal
import msal.authority
import requests

from wizard.core.errors import NetworkError, SignInError, WizardError
from wizard.core.i18n import tr
from wizard.core.relay import OnwardTarget, RelayConfig, refresh_token_purpose
from wizard.services.http import make_session, translate
from wizard.services.secrets import SecretStore

log = logging.getLogger(__name__)

PART_CHARS = 1000
MAX_PARTS = 16
# Renew this long before the access token runs out, so a message never goes with a
# token that expires on the way.
RENEW_BEFORE = 300.0


class MailboxNeedsSignIn(SignInError):
    """The mailbox's refresh token is missing, expired or revoked: sign in again."""


def _parts_purpose(mailbox: str, n: int) -> str:
    return f"{refresh_token_purpose(mailbox)}#{n}"


def store_refresh_token(store: SecretStore, site: str, mailbox: str, token: str) -> None:
    parts = [token[i : i + PART_CHARS] for i in range(0, len(token), PART_CHARS)] or [""]
    if len(parts) > MAX_PARTS:
        raise SignInError(tr("The sign-in answer is too long to keep in the keyring."))
    old = _part_count(store, site, mailbox)
    for n, part in enumerate(parts, start=1):
        store.set(site, _parts_purpose(mailbox, n), part)
    # The head names the number of parts and is written last: a reader that sees it
    # sees every part of this token.
    store.set(site, refresh_token_purpose(mailbox), f"parts={len(parts)}")
    for n in range(len(parts) + 1, old + 1):
        store.delete(site, _parts_purpose(mailbox, n))


def _part_count(store: SecretStore, site: str, mailbox: str) -> int:
    head = store.get(site, refresh_token_purpose(mailbox)) or ""
    if not head.startswith("parts="):
        return 0
    value = head.removeprefix("parts=")
    return int(value) if value.isdigit() and int(value) <= MAX_PARTS else 0


def load_refresh_token(store: SecretStore, site: str, mailbox: str) -> str | None:
    count = _part_count(store, site, mailbox)
    if not count:
        return None
    parts = [store.get(site, _parts_purpose(mailbox, n)) for n in range(1, count + 1)]
    if any(p is None for p in parts):
        return None
    return "".join(p for p in parts if p is not None)


def forget_refresh_token(store: SecretStore, site: str, mailbox: str) -> None:
    count = _part_count(store, site, mailbox)
    for n in range(1, count + 1):
        store.delete(site, _parts_purpose(mailbox, n))
    store.delete(site, refresh_token_purpose(mailbox))


def enroll_mailbox(
    config: RelayConfig, store: SecretStore, refresh_token: str, mailbox: str
) -> None:
    """Keep the refresh token of `mailbox` (from the Relay step's sign-in as it)."""
    if not refresh_token:
        raise MailboxNeedsSignIn(tr("The sign-in gave no refresh token (offline_access)."))
    store_refresh_token(store, config.site, mailbox.lower(), refresh_token)


@dataclass
class _Cached:
    token: str
    expires_at: float


def _needs_instance_discovery_off(authority_host: str) -> bool:
    host = urlsplit(authority_host).hostname or ""
    return host.lower() not in msal.authority.WELL_KNOWN_AUTHORITY_HOSTS


class MailboxTokens:
    """Access tokens for the relay's mailboxes, renewed with the keyring's refresh token."""

    def __init__(
        self,
        config: RelayConfig,
        store: SecretStore,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._target: OnwardTarget = config.onward
        self._store = store
        self._session = session or make_session(ca_bundle=self._target.ca_bundle)
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: dict[str, _Cached] = {}
        self._app: msal.PublicClientApplication | None = None

    def _msal(self) -> msal.PublicClientApplication:
        if self._app is None:
            kwargs: dict[str, Any] = {}
            if _needs_instance_discovery_off(self._target.authority_host):
                kwargs["instance_discovery"] = False
            try:
                self._app = msal.PublicClientApplication(
                    self._target.client_id,
                    authority=self._target.authority,
                    http_client=self._session,
                    token_cache=msal.TokenCache(),  # memory only; the keyring holds the RT
                    **kwargs,
                )
            except requests.RequestException as exc:
                raise translate(exc, tr("Microsoft sign-in")) from None
            except ValueError as exc:
                raise NetworkError(
                    tr("The relay could not read the sign-in service's settings."),
                    detail=str(exc)[:300],
                ) from None
        return self._app

    def has_refresh_token(self, mailbox: str) -> bool:
        return load_refresh_token(self._store, self._config.site, mailbox) is not None

    def forget_access_token(self, mailbox: str) -> None:
        with self._lock:
            self._cached.pop(mailbox.lower(), None)

    def access_token(self, mailbox: str) -> str:
        """A valid access token for SMTP.Send as `mailbox`.

        Raises MailboxNeedsSignIn (no or refused refresh token: hold the mail),
        NetworkError (the sign-in service is unreachable: retry later).
        """
        mailbox = mailbox.lower()
        with self._lock:
            cached = self._cached.get(mailbox)
            if cached is not None and cached.expires_at - RENEW_BEFORE > self._clock():
                return cached.token
            refresh = load_refresh_token(self._store, self._config.site, mailbox)
            if refresh is None:
                raise MailboxNeedsSignIn(
                    tr("The relay holds no sign-in for {mailbox}.").format(mailbox=mailbox),
                    tr("Its mail waits in the queue; nothing is lost."),
                    tr("Sign in as {mailbox} in the wizard's Relay step.").format(mailbox=mailbox),
                )
            app = self._msal()
            try:
                result = app.acquire_token_by_refresh_token(refresh, [self._target.smtp_scope])
            except requests.RequestException as exc:
                raise translate(exc, tr("Microsoft sign-in")) from None
            except (ValueError, KeyError) as exc:
                raise NetworkError(
                    tr("The sign-in service gave an answer the relay cannot read."),
                    detail=type(exc).__name__,
                ) from None
            if "access_token" not in result:
                raise _error(result, mailbox)
            new_refresh = result.get("refresh_token")
            if isinstance(new_refresh, str) and new_refresh and new_refresh != refresh:
                store_refresh_token(self._store, self._config.site, mailbox, new_refresh)
            token = str(result["access_token"])
            lifetime = float(result.get("expires_in") or 3600)
            self._cached[mailbox] = _Cached(token, self._clock() + lifetime)
            return token


def _error(result: dict[str, Any], mailbox: str) -> WizardError:
    error = str(result.get("error", ""))
    description = str(result.get("error_description", ""))
    detail = f"{error}: {description.splitlines()[0] if description else ''}"[:500]
    if error in ("invalid_grant", "interaction_required", "login_required", "consent_required"):
        return MailboxNeedsSignIn(
            tr("Microsoft no longer accepts the relay's sign-in for {mailbox}.").format(
                mailbox=mailbox
            ),
            tr(
                "The sign-in was revoked, expired or its password changed. Its mail waits in "
                "the queue; nothing is lost."
            ),
            tr("Sign in as {mailbox} again in the wizard's Relay step.").format(mailbox=mailbox),
            detail=detail,
        )
    if error in ("temporarily_unavailable", "server_error", "") or "AADSTS90033" in description:
        return NetworkError(
            tr("The sign-in service did not renew the relay's token right now."),
            detail=detail,
        )
    return MailboxNeedsSignIn(
        tr("Microsoft refused to renew the relay's sign-in for {mailbox}.").format(mailbox=mailbox),
        tr("Its mail waits in the queue; nothing is lost."),
        tr("Check the app registration and sign in as {mailbox} again.").format(mailbox=mailbox),
        detail=detail,
    )


def probe_token(
    config: RelayConfig,
    store: SecretStore,
    mailbox: str,
    *,
    session: requests.Session | None = None,
) -> tuple[str, str]:
    """Renew the mailbox's token now (Troubleshoot: "does the relay hold a valid
    sign-in?"): ("ok" | "missing" | "refused" | "unreachable", plain explanation).

    The renewed refresh token is kept, as the relay itself would keep it.
    """
    tokens = MailboxTokens(config, store, session=session)
    if not tokens.has_refresh_token(mailbox):
        return "missing", tr("The relay holds no sign-in for {mailbox}.").format(mailbox=mailbox)
    try:
        tokens.access_token(mailbox)
    except MailboxNeedsSignIn as exc:
        return "refused", exc.plain()
    except WizardError as exc:
        return "unreachable", exc.plain()
    return "ok", tr("The relay's sign-in for {mailbox} is valid.").format(mailbox=mailbox)
