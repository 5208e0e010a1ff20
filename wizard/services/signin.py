"""Signing in with Microsoft (MSAL), per Cloud; tokens stay in memory for the session.

    signin = SignIn(cloud)                             # settings from the settings file
    admin = signin.sign_in_browser(cancel=token)       # system browser, loopback redirect
    # or: code = signin.start_device_code(); show code.user_code and code.verification_uri;
    #     admin = signin.finish_device_code(code, cancel=token)
    token = signin.exchange_token()                    # silent, refreshed by MSAL
    signin.sign_out()                                  # forgets every token

The interactive flow is MSAL's auth code flow with PKCE and its own loopback
receiver (`response_mode=form_post`); the wizard opens the browser itself through an
injectable `opener`, so it can offer device code when no browser opens and cancel a
sign-in that waits for the browser. The opener runs in a thread of its own and is never
waited for: the redirect ends the sign-in, whatever the browser command does. Entra
shows some refusals (AADSTS50011: redirect URI not registered for the client id) only in
the browser and never answers the app; the page therefore always offers "Use a code
instead" while it waits.

Other services get delegated tokens here too; see `smtp_send_token()` for XOAUTH2.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
import time
import webbrowser
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import msal
import msal.authority
import requests
from msal.oauth2cli import AuthCodeReceiver

from wizard.core.clouds import EXCHANGE_POWERSHELL_CLIENT_ID, AppJob, Cloud, CloudApps
from wizard.core.errors import PermissionDenied, SignInError, WizardError
from wizard.core.i18n import tr
from wizard.core.validation import Validated, check_domain
from wizard.services.admin_host import AdminHosts
from wizard.services.atomic import write_atomic
from wizard.services.cancel import Cancellation, Cancelled, check
from wizard.services.http import make_session, translate
from wizard.services.paths import config_dir

log = logging.getLogger(__name__)

# Entra role template ids as found in the `wids` claim.
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
EXCHANGE_ADMINISTRATOR = "29232cdf-9323-42fd-ade2-1d097af3e4de"
ADMIN_ROLES: dict[str, str] = {
    GLOBAL_ADMINISTRATOR: tr("Global Administrator"),
    EXCHANGE_ADMINISTRATOR: tr("Exchange Administrator"),
}

SETTINGS_FILE = "signin.json"
# 2: per-cloud app ids ("clouds"); files of schema 1 (no "clouds") still load.
SETTINGS_SCHEMA = 2
# How long the browser sign-in waits for the person to finish.
BROWSER_TIMEOUT = 300.0
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_AADSTS = re.compile(r"AADSTS(\d+)")
# The error the wizard posts to its own loopback receiver to end a wait.
_STOP_ERROR = "relay_wizard_stopped"

Opener = Callable[[str], bool]


# --- errors ---------------------------------------------------------------------------


class SignInCancelled(SignInError):
    """The person cancelled the sign-in (in the browser or in the wizard)."""


class SignInTimedOut(SignInError):
    default_retryable = True


class UseDeviceCode(SignInError):
    """The browser sign-in cannot work here; signing in with a code can."""


class NeedsSignIn(SignInError):
    """No token can be had silently: the person has to sign in (again)."""


def _codes(result: dict[str, Any]) -> list[int]:
    codes = [int(c) for c in result.get("error_codes") or [] if str(c).isdigit()]
    codes += [int(c) for c in _AADSTS.findall(str(result.get("error_description", "")))]
    return codes


def error_from_result(result: dict[str, Any], *, client_id: str = "") -> WizardError:
    """An MSAL error dict (or an OAuth error response) as a plain-words error."""
    error = str(result.get("error", ""))
    description = str(result.get("error_description", ""))
    codes = _codes(result)
    detail = (f"{error}: {description}" if description else error)[:2000]

    def has(*wanted: int) -> bool:
        return any(c in codes for c in wanted)

    if has(65002):
        # A first-party client asking for a first-party resource it is not
        # pre-authorised for (M365-FACTS.md "Which app may ask for what"; Microsoft
        # Learn "AADSTS error codes": ConsentRequiredForMicrosoftFirstPartyApp).
        return PermissionDenied(
            tr("This Microsoft app may not ask for that permission."),
            tr(
                "Client id {client} is one of Microsoft's own apps; Microsoft lets it reach "
                "only its own service, not this one (AADSTS65002)."
            ).format(client=client_id or "?"),
            tr(
                "Use an app registration of your own for this step: create it from the "
                "wizard ('App registration' on the Sign in page) or paste its client id."
            ),
            detail=detail,
        )
    if has(650057):
        return PermissionDenied(
            tr("The app registration does not list the permission the wizard asks for."),
            tr(
                "Client id {client} has no such permission under 'API permissions' (AADSTS650057)."
            ).format(client=client_id or "?"),
            tr(
                "Add the permission (for the test message: Office 365 Exchange Online > "
                "SMTP.Send, delegated) and grant admin consent, or let the wizard create "
                "the app registration."
            ),
            detail=detail,
        )
    if has(50011):
        return UseDeviceCode(
            tr("This app is not allowed to finish the sign-in in the browser."),
            tr(
                "The app registration (client id {client}) has no loopback redirect address "
                "(http://localhost) (AADSTS50011)."
            ).format(client=client_id or "?"),
            tr(
                "Sign in with a code instead, or add http://localhost under Authentication > "
                "Mobile and desktop applications in the app registration."
            ),
            detail=detail,
        )
    if has(700016):
        return SignInError(
            tr("The sign-in app is not known in this organisation."),
            tr("Client id {client} is not registered in the tenant (AADSTS700016).").format(
                client=client_id or "?"
            ),
            tr(
                "Check the client id under 'Advanced': an app registration belongs to one "
                "cloud (worldwide, GCC High, DoD and China each need their own), and a "
                "single-tenant app works only in its own tenant. Use a multi-tenant app, "
                "or clear the id to use the Exchange Online PowerShell app."
            ),
            detail=detail,
        )
    if has(90002, 900023, 90072) or has(50020):
        return SignInError(
            tr("That account or tenant is not the organisation you are signing in to."),
            tr(
                "The tenant entered under 'Advanced' does not exist, or the account belongs "
                "to another organisation (wrong tenant)."
            ),
            tr(
                "Check the tenant (a domain such as contoso.com, or the tenant ID) and sign "
                "in with an account of that organisation."
            ),
            detail=detail,
        )
    if has(50076, 50079, 50074, 50072):
        return SignInError(
            tr("Your organisation requires multi-factor authentication for this sign-in."),
            tr("The second factor was not completed or has not been set up for this account."),
            tr(
                "Sign in with the browser and complete the second step (or register it at "
                "aka.ms/mfasetup), then try again."
            ),
            detail=detail,
        )
    if has(53003, 53000, 53001, 530003, 530032):
        return PermissionDenied(
            tr("A Conditional Access policy of your organisation blocked this sign-in."),
            tr(
                "The policy may require a compliant or managed device, a trusted location, or "
                "forbid signing in with a code."
            ),
            tr(
                "Sign in from a device and place the policy allows, or ask the person who "
                "manages Conditional Access."
            ),
            detail=detail,
        )
    if has(65001, 90094, 90095):
        return PermissionDenied(
            tr("The sign-in app needs an administrator's consent in this organisation."),
            tr(
                "Nobody has granted the app (client id {client}) the permissions it asks for."
            ).format(client=client_id or "?"),
            tr(
                "Sign in once as a Global Administrator and accept the consent prompt, or "
                "grant admin consent in Entra admin center > Enterprise applications > the "
                "app > Permissions (AADSTS65001)."
            ),
            detail=detail,
        )
    if has(7000218):
        return SignInError(
            tr("The app registration does not allow sign-in from a desktop app."),
            tr("'Allow public client flows' is off for client id {client}.").format(
                client=client_id or "?"
            ),
            tr(
                "In the app registration, Authentication > Advanced settings: switch 'Allow "
                "public client flows' to Yes (AADSTS7000218), or let the wizard create it."
            ),
            detail=detail,
        )
    if has(50057, 50053, 50055, 50034, 50126):
        return SignInError(
            tr("Microsoft refused this account."),
            tr("The account is disabled, locked, unknown or its password has expired."),
            tr("Sign in with another admin account, or fix the account first."),
            detail=detail,
        )
    if has(70020) or error == "expired_token":
        return SignInTimedOut(
            tr("The sign-in code expired before it was used."),
            "",
            tr("Start again to get a new code."),
            detail=detail,
        )
    if error == "access_denied" or has(50058, 65004):
        return SignInCancelled(
            tr("Sign-in was cancelled."),
            "",
            tr("Sign in again when you are ready."),
            detail=detail,
        )
    if error == "authorization_declined":
        return SignInCancelled(
            tr("The sign-in with a code was declined."), "", tr("Start again."), detail=detail
        )
    if error in ("invalid_grant", "interaction_required", "login_required") or has(
        70008, 700082, 50173, 50078
    ):
        return NeedsSignIn(
            tr("Your sign-in has expired."),
            tr("Microsoft asks you to sign in again."),
            tr("Sign in again."),
            detail=detail,
        )
    if error == "consent_required":
        return PermissionDenied(
            tr("The sign-in app needs consent for this permission."),
            "",
            tr("Sign in as an administrator who can grant consent."),
            detail=detail,
        )
    return SignInError(
        tr("Microsoft did not complete the sign-in."),
        tr("The identity service answered: {text}").format(
            text=(description.splitlines() or [error or "?"])[0][:300]
        ),
        tr("Try again; if it keeps failing, sign in with a code instead."),
        detail=detail,
    )


# --- settings -------------------------------------------------------------------------


@dataclass(frozen=True)
class CloudAppIds:
    """The MSP's own app ids in one cloud (an app registration exists per cloud)."""

    mailbox_test: str | None = None  # SMTP.Send + offline_access, for the OAuth test
    msp_app: str | None = None  # optional: one app of the MSP's for every job


@dataclass(frozen=True)
class SignInSettings:
    """Which app signs in, and to which tenant. Not secret; kept in a small JSON file."""

    client_id: str = EXCHANGE_POWERSHELL_CLIENT_ID
    # A tenant domain or id; None lets the account pick its home tenant.
    tenant: str | None = None
    # Cloud id -> the MSP's app ids in that cloud.
    clouds: dict[str, CloudAppIds] = field(default_factory=dict)

    @property
    def uses_default_client(self) -> bool:
        return self.client_id.lower() == EXCHANGE_POWERSHELL_CLIENT_ID

    def apps_for(self, cloud: Cloud) -> CloudApps:
        """The cloud's client per job, with this cloud's stored app ids applied."""
        ids = self.clouds.get(cloud.id.value, CloudAppIds())
        return replace(
            cloud.apps,
            mailbox_test=ids.mailbox_test or cloud.apps.mailbox_test,
            msp_app=ids.msp_app,
        )

    def with_cloud_apps(self, cloud: Cloud, ids: CloudAppIds) -> SignInSettings:
        return replace(self, clouds={**self.clouds, cloud.id.value: ids})


def check_client_id(text: str) -> Validated[str]:
    value = text.strip()
    if not value:
        return Validated.good(EXCHANGE_POWERSHELL_CLIENT_ID)
    if not _GUID.match(value):
        return Validated.bad(
            tr(
                "A client id looks like {example}: the 'Application (client) ID' of the app "
                "registration."
            ).format(example=EXCHANGE_POWERSHELL_CLIENT_ID)
        )
    return Validated.good(value.lower())


def check_tenant(text: str) -> Validated[str | None]:
    value = text.strip()
    if not value:
        return Validated.good(None)
    if _GUID.match(value):
        return Validated.good(value.lower())
    if value.lower() in ("organizations", "common"):
        return Validated.good(None)
    domain = check_domain(value)
    if not domain.ok:
        return Validated.bad(
            tr("Enter the tenant as a domain (contoso.com, contoso.onmicrosoft.com) or its ID.")
        )
    return Validated.good(domain.value)


def load_settings() -> SignInSettings:
    path = config_dir() / SETTINGS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return SignInSettings()
    except (OSError, ValueError) as exc:
        log.info("sign-in settings unreadable (%s); using the defaults", exc)
        return SignInSettings()
    if not isinstance(data, dict):
        return SignInSettings()
    client = check_client_id(str(data.get("client_id") or ""))
    tenant = check_tenant(str(data.get("tenant") or ""))
    return SignInSettings(
        client.value if client.ok and client.value else EXCHANGE_POWERSHELL_CLIENT_ID,
        tenant.value if tenant.ok else None,
        _load_clouds(data.get("clouds")),
    )


def _optional_client(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    checked = check_client_id(value)
    return checked.value if checked.ok else None


def _load_clouds(raw: object) -> dict[str, CloudAppIds]:
    if not isinstance(raw, dict):
        return {}
    clouds: dict[str, CloudAppIds] = {}
    for cloud_id, entry in raw.items():
        if isinstance(cloud_id, str) and isinstance(entry, dict):
            clouds[cloud_id] = CloudAppIds(
                _optional_client(entry.get("mailbox_test_client_id")),
                _optional_client(entry.get("msp_client_id")),
            )
    return clouds


def save_settings(settings: SignInSettings) -> None:
    document = {
        "schema_version": SETTINGS_SCHEMA,
        "client_id": settings.client_id,
        "tenant": settings.tenant,
        "clouds": {
            cloud_id: {
                "mailbox_test_client_id": ids.mailbox_test,
                "msp_client_id": ids.msp_app,
            }
            for cloud_id, ids in sorted(settings.clouds.items())
        },
    }
    write_atomic(
        config_dir() / SETTINGS_FILE, (json.dumps(document, indent=2) + "\n").encode("utf-8")
    )


# --- results --------------------------------------------------------------------------


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified: only to read claims of our own access token."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        data = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (binascii.Error, ValueError, UnicodeError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class SignedIn:
    upn: str
    display_name: str
    tenant_id: str
    object_id: str
    # Entra admin role names from the access token's `wids`; None when the token has
    # none. Only a hint: Exchange's own answer decides (a member of the Organization
    # Management role group has no Entra role; GDAP tokens may carry no `wids`).
    roles: frozenset[str] | None
    home_account_id: str = field(repr=False, default="")

    @property
    def has_admin_role(self) -> bool | None:
        return None if self.roles is None else bool(self.roles)

    @property
    def role_text(self) -> str:
        if self.roles is None:
            return tr("no roles in the token; Exchange will decide")
        if not self.roles:
            return tr("no Entra admin role in the token; Exchange will decide")
        return ", ".join(sorted(self.roles))


@dataclass(frozen=True)
class DeviceCode:
    """A started device code sign-in: show `user_code` and `verification_uri`."""

    user_code: str
    verification_uri: str
    message: str
    expires_at: float
    scopes: tuple[str, ...]
    mailbox: str | None = None
    flow: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)


# --- the service ----------------------------------------------------------------------


def _needs_instance_discovery_off(authority_host: str) -> bool:
    """MSAL checks an authority host it does not know against Microsoft's discovery
    service; a host outside Microsoft's list (a local identity provider) is not there,
    so MSAL must read its OpenID configuration directly."""
    host = urlsplit(authority_host).hostname or ""
    return host.lower() not in msal.authority.WELL_KNOWN_AUTHORITY_HOSTS


class NoMailboxTestApp(SignInError):
    """No app registration of the MSP's is set for the mailbox test in this cloud."""


class SignIn:
    """Sign-in to one Cloud, one client per job (AppJob); tokens live in memory only.

    The admin signs in with the admin-API client; Graph reads use the Graph client
    (a second sign-in for the same account, `sign_in_graph`), the mailbox test the
    MSP's app registration. A Microsoft first-party client asking for another
    first-party resource gets AADSTS65002 (M365-FACTS.md, corrections), so one client
    serves all three only when it is the MSP's own app.
    """

    def __init__(
        self,
        cloud: Cloud,
        settings: SignInSettings | None = None,
        *,
        session: requests.Session | None = None,
        opener: Opener | None = None,
        browser_timeout: float = BROWSER_TIMEOUT,
    ) -> None:
        self.cloud = cloud
        self.settings = settings if settings is not None else load_settings()
        self._session = session if session is not None else make_session(cloud)
        self._opener: Opener = opener if opener is not None else webbrowser.open
        self.browser_timeout = browser_timeout
        self._lock = threading.RLock()
        self._apps: dict[str, msal.PublicClientApplication] = {}
        self._account: SignedIn | None = None
        # The admin API host of each tenant, found once per sign-in (admin_host.py).
        self.admin_hosts = AdminHosts()

    # -- state

    @property
    def account(self) -> SignedIn | None:
        return self._account

    @property
    def authority(self) -> str:
        return self.cloud.authority(self.settings.tenant)

    @property
    def admin_scopes(self) -> tuple[str, ...]:
        return (self.cloud.exchange_scope,)

    def use_settings(self, settings: SignInSettings) -> None:
        """Switch app or tenant: signs out, as tokens of one app are not the other's."""
        with self._lock:
            if settings != self.settings:
                self.sign_out()
                self.settings = settings

    def sign_out(self) -> None:
        """Forget every token and account of this session."""
        with self._lock:
            for app in self._apps.values():
                for account in app.get_accounts():
                    app.remove_account(account)
            self._apps = {}
            self._account = None
            self.admin_hosts.clear()

    def client_for(self, job: AppJob) -> str | None:
        """The client id that serves `job` in this cloud (None: no app set for it).

        A client id entered under 'Advanced' other than the Exchange Online PowerShell
        app is the MSP's own app: it serves every job, as it did before apps per job.
        """
        apps = self.settings.apps_for(self.cloud)
        if apps.msp_app:
            return apps.msp_app
        if not self.settings.uses_default_client:
            return self.settings.client_id
        if job is AppJob.ADMIN_API:
            return self.settings.client_id
        return apps.client_for(job)

    def _job_client(self, job: AppJob) -> str:
        client = self.client_for(job)
        if client is None:
            raise NoMailboxTestApp(
                tr("The OAuth test needs an app registration of your own."),
                tr(
                    "Microsoft's own apps may not ask for SMTP.Send: the sign-in would fail "
                    "with AADSTS65002."
                ),
                tr(
                    "On the Sign in step, under Advanced, create the app for the OAuth test "
                    "(or paste your own app's client ID), then try again."
                ),
            )
        return client

    def _scopes(self, job: AppJob) -> list[str]:
        if job is AppJob.MAILBOX_TEST:
            return [self.cloud.smtp_oauth_scope]
        if job is AppJob.GRAPH_READ:
            return list(self.cloud.graph_read_scopes)
        return list(self.admin_scopes)

    def _msal(self, client_id: str | None = None) -> msal.PublicClientApplication:
        client_id = client_id or self._job_client(AppJob.ADMIN_API)
        with self._lock:
            if client_id not in self._apps:
                kwargs: dict[str, Any] = {}
                if _needs_instance_discovery_off(self.cloud.authority_host):
                    kwargs["instance_discovery"] = False
                try:
                    self._apps[client_id] = msal.PublicClientApplication(
                        client_id,
                        authority=self.authority,
                        http_client=self._session,
                        token_cache=msal.TokenCache(),  # memory only, never on disk
                        **kwargs,
                    )
                except requests.RequestException as exc:
                    raise translate(exc, tr("Microsoft sign-in")) from None
                except ValueError as exc:
                    raise SignInError(
                        tr("The sign-in service does not know this tenant."),
                        tr("'{tenant}' could not be found at {host}.").format(
                            tenant=self.settings.tenant or self.cloud.default_tenant,
                            host=urlsplit(self.cloud.authority_host).hostname,
                        ),
                        tr("Check the tenant under 'Advanced' (a domain or the tenant ID)."),
                        detail=str(exc)[:500],
                    ) from None
            return self._apps[client_id]

    # -- results

    def _signed_in(self, result: dict[str, Any], client_id: str) -> SignedIn:
        if "access_token" not in result:
            raise error_from_result(result, client_id=client_id)
        claims = result.get("id_token_claims") or {}
        access = jwt_claims(str(result["access_token"]))
        wids = access.get("wids")
        roles: frozenset[str] | None = None
        if isinstance(wids, list):
            roles = frozenset(ADMIN_ROLES[w] for w in wids if w in ADMIN_ROLES)
        upn = str(
            claims.get("preferred_username")
            or access.get("upn")
            or access.get("preferred_username")
            or ""
        )
        client_info = result.get("client_info")
        home = ""
        if isinstance(client_info, str):
            info = jwt_claims("x." + client_info + ".x")
            if info.get("uid") and info.get("utid"):
                home = f"{info['uid']}.{info['utid']}"
        return SignedIn(
            upn=upn,
            display_name=str(claims.get("name") or access.get("name") or upn),
            tenant_id=str(claims.get("tid") or access.get("tid") or ""),
            object_id=str(claims.get("oid") or access.get("oid") or ""),
            roles=roles,
            home_account_id=home,
        )

    def _call(self, what: Callable[[], dict[str, Any] | None]) -> dict[str, Any] | None:
        try:
            return what()
        except requests.RequestException as exc:
            raise translate(exc, tr("Microsoft sign-in")) from None

    # -- interactive

    def sign_in_browser(
        self,
        *,
        mailbox: str | None = None,
        login_hint: str | None = None,
        timeout: float | None = None,
        cancel: Cancellation | None = None,
        job: AppJob | None = None,
        scopes: Sequence[str] | None = None,
        on_open: Callable[[str], None] | None = None,
    ) -> SignedIn:
        """Sign in in the system browser; the admin's session unless `mailbox` is given.

        `on_open` gets the sign-in page's address before the browser is asked to open
        it, so the wizard can offer it for copying when no browser window appears.

        With `mailbox`, the person signs in as that mailbox with the mailbox-test app to
        let the wizard send one test message with OAuth (SMTP.Send); the admin stays
        signed in. `job=AppJob.GRAPH_READ` signs the admin in to the Graph client.
        """
        job = AppJob.MAILBOX_TEST if mailbox else (job or AppJob.ADMIN_API)
        client_id = self._job_client(job)
        scopes = list(scopes) if scopes else self._scopes(job)
        app = self._msal(client_id)
        wait = self.browser_timeout if timeout is None else timeout
        with AuthCodeReceiver(port=0) as receiver:
            port = receiver.get_port()
            flow = app.initiate_auth_code_flow(
                scopes,
                redirect_uri=f"http://localhost:{port}",
                login_hint=mailbox or login_hint,
                prompt=None if mailbox or login_hint else "select_account",
                response_mode="form_post",
            )
            if on_open is not None:
                on_open(flow["auth_uri"])
            response = self._await_browser(receiver, port, flow, wait, cancel, client_id)
        result = self._call(
            lambda: app.acquire_token_by_auth_code_flow(flow, response, scopes=scopes)
        )
        signed_in = self._signed_in(result or {}, client_id)
        return self._adopt(signed_in, mailbox, job, client_id)

    def sign_in_graph(
        self,
        *,
        timeout: float | None = None,
        cancel: Cancellation | None = None,
        on_open: Callable[[str], None] | None = None,
    ) -> None:
        """Sign the signed-in admin in to the Graph client too (login_hint: one click in
        a browser that has just signed in). Nothing to do when one app serves both."""
        admin = self._account
        if admin is None:
            raise NeedsSignIn(tr("You are not signed in."), "", tr("Sign in first."))
        if self.client_for(AppJob.GRAPH_READ) == self.client_for(AppJob.ADMIN_API):
            return
        self.sign_in_browser(
            login_hint=admin.upn,
            timeout=timeout,
            cancel=cancel,
            job=AppJob.GRAPH_READ,
            on_open=on_open,
        )

    def _await_browser(
        self,
        receiver: AuthCodeReceiver,
        port: int,
        flow: dict[str, Any],
        timeout: float,
        cancel: Cancellation | None,
        client_id: str,
    ) -> dict[str, Any]:
        response: dict[str, Any] = {}
        done = threading.Event()

        def receive() -> None:
            try:
                # get_auth_response runs the same wait in a thread of its own and looks
                # at it once a second (time.sleep(1)), so every browser sign-in took a
                # second longer than the browser did. This is already our own thread:
                # wait directly where MSAL offers it, else the public call.
                direct = getattr(receiver, "_get_auth_response", None)
                if callable(direct):
                    direct(response, state=flow["state"])
                else:
                    response.update(receiver.get_auth_response(state=flow["state"]) or {})
            finally:
                done.set()

        listener = threading.Thread(target=receive, name="sign-in-redirect", daemon=True)
        listener.start()
        # The browser command may not return until the browser window closes
        # (webbrowser's generic launcher waits for its process, and so do some
        # xdg-open handlers): it runs in a thread of its own, and the redirect
        # decides, not the command. Only a command that says "no browser" ends the wait.
        opener_done = threading.Event()
        opened: list[bool] = []

        def open_browser() -> None:
            try:
                opened.append(bool(self._opener(flow["auth_uri"])))
            except Exception as exc:  # noqa: BLE001 - any browser failure means "no browser"
                log.info("the browser could not be opened: %s", exc)
                opened.append(False)
            finally:
                opener_done.set()

        threading.Thread(target=open_browser, name="sign-in-browser", daemon=True).start()
        deadline = time.monotonic() + timeout
        while not done.wait(0.05):
            if opener_done.is_set() and not all(opened):
                self._stop_receiver(port, flow["state"], listener, done)
                raise UseDeviceCode(
                    tr("No web browser could be opened on this computer."),
                    tr("Signing in with the browser needs one on this computer."),
                    tr("Sign in with a code instead, on any device with a browser."),
                )
            if cancel is not None and cancel.cancelled:
                self._stop_receiver(port, flow["state"], listener, done)
                raise Cancelled()
            if time.monotonic() >= deadline:
                self._stop_receiver(port, flow["state"], listener, done)
                raise SignInTimedOut(
                    tr("The sign-in in the browser was not finished in time."),
                    tr(
                        "If the browser showed an error, for example AADSTS50011, the app "
                        "cannot finish the sign-in there."
                    ),
                    tr("Try again, or sign in with a code instead."),
                )
        if response.get("error") == _STOP_ERROR or not response:
            raise Cancelled()
        if "code" not in response:
            raise error_from_result(response, client_id=client_id)
        return response

    @staticmethod
    def _stop_receiver(
        port: int, state: str, listener: threading.Thread, done: threading.Event
    ) -> None:
        """End MSAL's loopback wait the way a browser would: with an error response."""
        if not done.is_set():
            with requests.Session() as local:
                local.trust_env = False
                try:
                    local.post(
                        f"http://127.0.0.1:{port}",
                        data={"error": _STOP_ERROR, "state": state},
                        timeout=5,
                    )
                except requests.RequestException as exc:
                    log.info("could not stop the sign-in listener: %s", exc)
        # MSAL polls its listener once a second.
        listener.join(timeout=3)

    # -- device code

    def start_device_code(
        self, *, mailbox: str | None = None, job: AppJob | None = None
    ) -> DeviceCode:
        job = AppJob.MAILBOX_TEST if mailbox else (job or AppJob.ADMIN_API)
        client_id = self._job_client(job)
        scopes = self._scopes(job)
        app = self._msal(client_id)
        flow = self._call(lambda: app.initiate_device_flow(scopes=scopes)) or {}
        if "user_code" not in flow:
            raise error_from_result(flow, client_id=client_id)
        flow["_relay_wizard_job"] = str(job)
        return DeviceCode(
            user_code=str(flow["user_code"]),
            verification_uri=str(flow.get("verification_uri") or flow.get("verification_url")),
            message=str(flow.get("message", "")),
            expires_at=float(flow.get("expires_at") or time.time() + 900),
            scopes=tuple(scopes),
            mailbox=mailbox,
            flow=flow,
        )

    def finish_device_code(
        self, code: DeviceCode, *, cancel: Cancellation | None = None
    ) -> SignedIn:
        """Wait for the person to enter the code; MSAL polls at the server's interval."""
        job = AppJob(code.flow.get("_relay_wizard_job", AppJob.ADMIN_API))
        client_id = self._job_client(job)
        app = self._msal(client_id)

        def stop(flow: dict[str, Any]) -> bool:
            return (
                bool(cancel is not None and cancel.cancelled)
                or flow.get("expires_at", 0) < time.time()
            )

        result = self._call(
            lambda: app.acquire_token_by_device_flow(code.flow, exit_condition=stop)
        )
        check(cancel)
        result = result or {}
        if result.get("error") == "authorization_pending":
            raise SignInTimedOut(
                tr("The sign-in code expired before it was used."),
                "",
                tr("Start again to get a new code."),
            )
        signed_in = self._signed_in(result, client_id)
        return self._adopt(signed_in, code.mailbox, job, client_id)

    def _adopt(
        self, signed_in: SignedIn, mailbox: str | None, job: AppJob, client_id: str
    ) -> SignedIn:
        if job is AppJob.GRAPH_READ:
            admin = self._account
            if admin is not None and signed_in.upn.lower() != admin.upn.lower():
                self._forget(signed_in, client_id)
                raise SignInError(
                    tr("You signed in to Microsoft Graph as {upn}, not as {admin}.").format(
                        upn=signed_in.upn, admin=admin.upn
                    ),
                    tr("The wizard reads the tenant as the admin who signed in."),
                    tr("Sign in again and choose {admin}.").format(admin=admin.upn),
                )
            return signed_in
        if mailbox:
            if signed_in.upn.lower() != mailbox.lower():
                self._forget(signed_in, client_id)
                raise SignInError(
                    tr("You signed in as {upn}, not as {mailbox}.").format(
                        upn=signed_in.upn, mailbox=mailbox
                    ),
                    tr("The test message must be sent by the device's own mailbox."),
                    tr("Sign in again and choose {mailbox}.").format(mailbox=mailbox),
                )
            return signed_in
        with self._lock:
            previous = self._account
            if previous is not None and previous.home_account_id != signed_in.home_account_id:
                for app_client in list(self._apps):
                    self._forget(previous, app_client)
            self._account = signed_in
            self.admin_hosts.clear()
        log.info("signed in to tenant %s (%s)", signed_in.tenant_id, signed_in.role_text)
        return signed_in

    def _forget(self, signed_in: SignedIn, client_id: str) -> None:
        app = self._msal(client_id)
        for account in app.get_accounts():
            if account.get("home_account_id") == signed_in.home_account_id:
                app.remove_account(account)

    # -- silent tokens

    def _msal_account(self, client_id: str, username: str | None = None) -> dict[str, Any] | None:
        app = self._msal(client_id)
        if username is None:
            current = self._account
            if current is None:
                return None
            return next(
                (
                    a
                    for a in app.get_accounts()
                    if a.get("home_account_id") == current.home_account_id
                ),
                None,
            )
        found = app.get_accounts(username=username)
        return found[0] if found else None

    def token_for(
        self,
        scopes: Sequence[str],
        *,
        force_refresh: bool = False,
        username: str | None = None,
        job: AppJob = AppJob.ADMIN_API,
    ) -> str:
        """An access token for `scopes`, silently, for the admin (or `username`), from
        the client that serves `job`.

        One resource per call (Entra refuses mixed resources). Raises NeedsSignIn when
        only a new sign-in can help, PermissionDenied when consent is missing.
        """
        client_id = self._job_client(job)
        with self._lock:
            app = self._msal(client_id)
            account = self._msal_account(client_id, username)
            if account is None:
                raise NeedsSignIn(
                    tr("You are not signed in."),
                    "",
                    tr("Sign in first."),
                )
        result = self._call(
            lambda: app.acquire_token_silent_with_error(
                list(scopes), account, force_refresh=force_refresh
            )
        )
        if result is None:
            raise NeedsSignIn(tr("Your sign-in has expired."), "", tr("Sign in again."))
        if "access_token" not in result:
            raise error_from_result(result, client_id=client_id)
        return str(result["access_token"])

    def exchange_token(self, force_refresh: bool = False) -> str:
        """For the Exchange admin API; the `TokenProvider` the admin client takes."""
        return self.token_for(self.admin_scopes, force_refresh=force_refresh)

    def graph_token(self, force_refresh: bool = False) -> str:
        """For Microsoft Graph reads, from the Graph client, with the named scopes.

        Raises NeedsSignIn until `sign_in_graph()` ran (when Graph has its own client).
        """
        admin = self._account
        try:
            return self.token_for(
                self.cloud.graph_read_scopes,
                force_refresh=force_refresh,
                username=admin.upn if admin is not None else None,
                job=AppJob.GRAPH_READ,
            )
        except NeedsSignIn as exc:
            if admin is None:
                raise
            raise NeedsSignIn(
                tr("The wizard is not signed in to Microsoft Graph."),
                tr("Graph gives the domains' MX records and whether Security Defaults are on."),
                tr("Sign in again with the browser to let the wizard read them."),
                detail=exc.detail,
            ) from None

    def smtp_send_token(self, mailbox: str, force_refresh: bool = False) -> str:
        """A delegated SMTP.Send token for `mailbox`, for SASL XOAUTH2 on submission.

        Silent only, from the mailbox-test app: raises NeedsSignIn until the person has
        signed in as the mailbox with `sign_in_browser(mailbox=...)` or
        `start_device_code(mailbox=...)` + `finish_device_code()`, NoMailboxTestApp when
        no such app is set. Build the XOAUTH2 string from the token yourself and never
        log it.
        """
        return self.token_for(
            (self.cloud.smtp_oauth_scope,),
            force_refresh=force_refresh,
            username=mailbox,
            job=AppJob.MAILBOX_TEST,
        )

    def mailbox_refresh_token(self, mailbox: str) -> str | None:
        """The refresh token of `mailbox`'s sign-in with the mailbox-test app, or None.

        Only for the local relay, which keeps it in the OS keyring to send as the
        mailbox while the wizard is closed (services/relay/tokens.py); never log it.
        """
        client_id = self._job_client(AppJob.MAILBOX_TEST)
        with self._lock:
            app = self._msal(client_id)
            account = self._msal_account(client_id, mailbox)
            if account is None:
                return None
            found = list(
                app.token_cache.search(
                    msal.TokenCache.CredentialType.REFRESH_TOKEN,
                    query={"home_account_id": account.get("home_account_id")},
                )
            )
        return str(found[0]["secret"]) if found else None

    def graph_writer_token(self, force_refresh: bool = False) -> str:
        """Graph with Application.ReadWrite.All + DelegatedPermissionGrant.ReadWrite.All,
        for making the mailbox-test app (`sign_in_graph_writer()` first)."""
        admin = self._account
        return self.token_for(
            self.cloud.graph_app_admin_scopes,
            force_refresh=force_refresh,
            username=admin.upn if admin is not None else None,
            job=AppJob.GRAPH_READ,
        )

    def sign_in_graph_writer(self, *, cancel: Cancellation | None = None) -> None:
        """Consent to the Graph permissions that create an app and grant admin consent:
        the browser asks the admin once (Microsoft's consent page)."""
        admin = self._account
        if admin is None:
            raise NeedsSignIn(tr("You are not signed in."), "", tr("Sign in first."))
        self.sign_in_browser(
            login_hint=admin.upn,
            cancel=cancel,
            job=AppJob.GRAPH_READ,
            scopes=self.cloud.graph_app_admin_scopes,
        )
