"""Exchange Online cmdlets over REST: the admin API's InvokeCommand (M365-FACTS.md).

    admin = ExchangeAdmin.for_sign_in(cloud, signin, account)
    result = admin.invoke("Get-InboundConnector")
    for connector in result.values: ...

`POST {exchange_api}/adminapi/beta/{tenant}/InvokeCommand` with
`{"CmdletInput": {"CmdletName": ..., "Parameters": {...}}}`; the answer's `value` is
the cmdlet's output, paged with `@odata.nextLink` (followed with the same body), and
`@adminapi.warnings` carries the cmdlet's warnings. The host is the cloud's front door
until `admin_host.discover` (once per sign-in, `SignIn.admin_hosts`) names the
tenant's own; a redirected call is re-sent there by hand, to Microsoft's hosts only.
Failures become typed errors with
the server's own text: `ExchangeCommandError` for a cmdlet that failed,
`ExchangeRoleRefused` (a `PermissionDenied`) when Exchange's role check says no (403,
or a 401 with an RBAC text), `Throttled` once 429 persists beyond the retries,
`NeedsSignIn` when a refreshed token is refused again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests

from wizard.core.clouds import Cloud
from wizard.core.errors import PermissionDenied, ServiceError, WizardError
from wizard.core.i18n import tr
from wizard.core.plan import Cmdlet
from wizard.core.redact import redact
from wizard.services.admin_host import (
    REDIRECT_STATUSES,
    AdminHosts,
    base_of,
    discover,
    invoke_url,
    redirect_target,
)
from wizard.services.cancel import Cancellation, NeverCancelled, check
from wizard.services.exo_module_key import ModuleKey
from wizard.services.http import (
    DEFAULT_RETRY,
    RetryPolicy,
    make_session,
    retry_after_seconds,
    send,
    with_retries,
)
from wizard.services.signin import NeedsSignIn

log = logging.getLogger(__name__)

SERVICE = tr("the Exchange Online admin API")
PAGE_SIZE = 1000
# A tenant with more pages than this is far beyond what the wizard reads.
MAX_PAGES = 100
# Redirects one InvokeCommand may take (to the tenant's own host, admin_host.py).
MAX_REDIRECTS = 2


class TokenProvider(Protocol):
    def __call__(self, force_refresh: bool = False) -> str: ...


class SecretRefused(ServiceError):
    """Exchange refused an encrypted password twice, with a freshly read key."""

    default_retryable = True

    def __init__(self, cmdlet: str, cause: WizardError) -> None:
        super().__init__(
            tr("Exchange Online did not accept the encrypted password for {cmdlet}.").format(
                cmdlet=cmdlet
            ),
            tr(
                "The password is encrypted with the key Microsoft publishes in the admin "
                "API's module file; Exchange refused it even after the key was read again. "
                "Nothing was created."
            ),
            tr(
                "Try again later, or create the account in the Exchange admin center "
                "(Mail flow > High volume email) and give its password to the wizard."
            ),
            detail=cause.detail,
        )


def _secret_refused(error: WizardError, names: Sequence[str]) -> bool:
    """Exchange's binding error for a SecureString it could not decrypt."""
    if not isinstance(error, ExchangeCommandError):
        return False
    text = error.server_text
    return "Transformation" in error.error_type and any(
        f"parameter '{name}'" in text for name in names
    )


class ExchangeCommandError(ServiceError):
    """A cmdlet failed; `server_text` is Exchange's own explanation."""

    def __init__(
        self,
        what: str,
        why: str = "",
        next_step: str = "",
        *,
        cmdlet: str = "",
        status: int = 0,
        code: str = "",
        error_type: str = "",
        server_text: str = "",
        detail: str = "",
        retryable: bool | None = None,
    ) -> None:
        super().__init__(what, why, next_step, detail=detail, retryable=retryable)
        self.cmdlet = cmdlet
        self.status = status
        self.code = code
        self.error_type = error_type
        self.server_text = server_text

    @property
    def is_not_found(self) -> bool:
        return (
            self.status == 404
            or "NotFound" in self.error_type
            or "couldn't be found" in self.server_text
            or "could not be found" in self.server_text
        )

    @property
    def already_exists(self) -> bool:
        text = self.server_text.lower()
        return "AlreadyExists" in self.error_type or "already exists" in text


@dataclass(frozen=True)
class CommandResult:
    cmdlet: str
    values: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def first(self) -> dict[str, Any] | None:
        return self.values[0] if self.values else None


def _looks_like_type(part: str) -> bool:
    return "." in part and ("Exception" in part or part.count(".") >= 2) and " " not in part


def _split_detail(message: str) -> tuple[str, str, str]:
    """A cmdlet error's detail -> (exception type, error id or reason, text).

    Exchange formats `details[].message` as three '|'-separated parts; live tenants
    send `ErrorId|ExceptionType|Text` (the id may be empty), and some documents name
    them `Type|Reason|Text`. Whichever part looks like a .NET exception type is the
    type; the last part (which may itself contain '|') is the text.
    """
    parts = message.split("|", 2)
    if len(parts) < 3:
        if len(parts) == 2 and _looks_like_type(parts[0].strip()):
            return parts[0].strip(), "", parts[1].strip()
        return "", "", message.strip()
    first, second, text = (p.strip() for p in parts)
    if _looks_like_type(second) and not _looks_like_type(first):
        return second, first, text
    return first, second, text


def parse_error(response: requests.Response, cmdlet: str) -> ExchangeCommandError:
    """An admin API error answer as ExchangeCommandError with the server's text."""
    status = response.status_code
    code = ""
    message = ""
    error_type = ""
    reason = ""
    text = ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        code = str(error.get("code") or "")
        message = str(error.get("message") or "")
        for item in error.get("details") or []:
            if isinstance(item, dict) and item.get("message"):
                error_type, reason, text = _split_detail(str(item["message"]))
                break
        inner = error.get("innererror")
        internal = inner.get("internalexception") if isinstance(inner, dict) else None
        if not text and isinstance(internal, dict) and internal.get("message"):
            # Parameter binding problems come without details, as the inner exception.
            error_type = str(internal.get("type") or "")
            text = str(internal["message"]).strip()
        if not text and message:
            error_type, reason, text = _split_detail(message)
    if not text:
        text = response.text.strip()[:500] or f"HTTP {status}"
    retryable = status >= 500 or status == 408
    what = tr("Exchange could not run {cmdlet}.").format(cmdlet=cmdlet)
    why = tr("Exchange answered: {text}").format(text=text[:600])
    next_step = (
        tr("Try again in a minute.")
        if retryable
        else tr("Check the setting it names, or make the change in the Exchange admin center.")
    )
    return ExchangeCommandError(
        what,
        why,
        next_step,
        cmdlet=cmdlet,
        status=status,
        code=code,
        error_type=error_type,
        server_text=text,
        detail=f"HTTP {status} {code} {error_type} {reason}: {text}"[:2000],
        retryable=retryable,
    )


class ExchangeRoleRefused(PermissionDenied):
    """Exchange's own role check (RBAC) refused the account a cmdlet.

    This, not the token's role ids, says whether an account may work in Exchange: a
    member of the Organization Management role group runs the cmdlets without any
    Entra admin role, and a GDAP technician's token may carry no `wids` at all
    (M365-FACTS.md, corrections). Retryable: once the role is given, the same sign-in
    works after a few minutes.
    """

    def __init__(self, upn: str, cmdlet: str, error: ExchangeCommandError) -> None:
        super().__init__(
            tr("{who} may not run {cmdlet} in Exchange.").format(
                who=upn or tr("This account"), cmdlet=cmdlet
            ),
            tr(
                "Exchange's role check refused it: the account needs the Exchange "
                "Administrator role, or membership of the Organization Management role "
                "group in Exchange. Exchange answered: {text}"
            ).format(text=error.server_text[:400]),
            tr(
                "Ask for the Exchange Administrator role or membership of Organization "
                "Management, then try again (a new role can take a few minutes to reach "
                "Exchange), or sign in with another account."
            ),
            detail=error.detail,
            retryable=True,
        )
        self.upn = upn
        self.cmdlet = cmdlet
        self.server_text = error.server_text


# Exchange's RBAC refusals: Remote PowerShell's "isn't assigned to any management roles"
# (MicrosoftDocs/office-docs-powershell#6271), the REST cmdlets' HTTP 401 "User is not
# allowed to call Get-Mailbox" (#7970, #8058), and the AccessDeniedException type.
_ROLE_REFUSALS = (
    "not allowed to call",
    "isn't assigned to any management roles",
    "is not assigned to any management roles",
    "accessdeniedexception",
)


def _is_role_refusal(response: requests.Response) -> bool:
    """A 401 whose body is Exchange's RBAC refusal, not a refused token (which is empty)."""
    text = response.text[:4000].lower()
    return any(marker in text for marker in _ROLE_REFUSALS)


BUSY_TEXT = "You have reached the maximum number of concurrent requests per tenant"


def _is_busy_answer(response: requests.Response) -> bool:
    # Plain text as ExoHelper matches it; also found inside a JSON error's message.
    return BUSY_TEXT.lower() in response.text[:2000].lower()


def _is_read(cmdlet: str) -> bool:
    return cmdlet.split("-", 1)[0].lower() in ("get", "test")


def _scrub(error: WizardError, secrets: list[str]) -> None:
    """Mask `secrets` in every text an error carries (it may be shown and logged)."""
    for name in ("what", "why", "next_step", "detail", "server_text"):
        text = getattr(error, name, None)
        if isinstance(text, str):
            setattr(error, name, redact(text, *secrets))
    error.args = tuple(redact(a, *secrets) if isinstance(a, str) else a for a in error.args)


class AdminSignIn(Protocol):
    """What a client needs of a sign-in (services.signin.SignIn)."""

    admin_hosts: AdminHosts

    def exchange_token(self, force_refresh: bool = False) -> str: ...


class AdminAccount(Protocol):
    """What a client needs of the signed-in admin (services.signin.SignedIn)."""

    @property
    def tenant_id(self) -> str: ...

    @property
    def upn(self) -> str: ...


class ExchangeAdmin:
    """One signed-in admin's InvokeCommand client for one tenant."""

    @classmethod
    def for_sign_in(
        cls,
        cloud: Cloud,
        sign_in: AdminSignIn,
        account: AdminAccount,
        *,
        session: requests.Session | None = None,
    ) -> ExchangeAdmin:
        """The admin's client: the sign-in's token, and the tenant's host once the
        sign-in found it (so it is asked for once per sign-in, not once per client)."""
        return cls(
            cloud,
            account.tenant_id,
            account.upn,
            sign_in.exchange_token,
            session=session,
            hosts=sign_in.admin_hosts,
        )

    def __init__(
        self,
        cloud: Cloud,
        tenant_id: str,
        anchor_upn: str,
        token: TokenProvider,
        *,
        session: requests.Session | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        page_size: int = PAGE_SIZE,
        hosts: AdminHosts | None = None,
    ) -> None:
        self.cloud = cloud
        self.page_size = page_size
        self.tenant_id = tenant_id
        self.anchor_upn = anchor_upn
        self._token = token
        self._session = session if session is not None else make_session(cloud)
        self._retry = retry
        # The host that serves the tenant, found once per sign-in (`SignIn.admin_hosts`);
        # until then the cloud's front door.
        self._hosts = hosts if hosts is not None else AdminHosts()
        known = self._hosts.get(tenant_id)
        self.url = invoke_url(known, tenant_id) if known else cloud.admin_api_url(tenant_id)
        self._located = known is not None
        self._locating = threading.Lock()
        # Exchange's public key for SecureString parameters (exo_module_key.py), read
        # from the module file of the host that serves the tenant, once per sign-in.
        self._module_key = ModuleKey(
            self._session,
            tenant_id,
            lambda: base_of(self.url),
            self._headers,
            lambda refresh: self._token(force_refresh=refresh),
            retry=retry,
            follow=lambda url, location: redirect_target(self.cloud, url, location),
        )

    @property
    def on_tenant_host(self) -> bool:
        """Whether InvokeCommand goes to a host other than the cloud's front door."""
        return base_of(self.url) != base_of(self.cloud.admin_api_url(self.tenant_id))

    def secure_string_key_bits(self, *, cancel: Cancellation | None = None) -> int:
        """The size of Exchange's public key for secret parameters (read, then cached)."""
        return int(self._module_key.get(cancel=cancel).key_size)

    def _headers(self, token: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {token}",
            "X-AnchorMailbox": f"UPN:{self.anchor_upn}",
            "Prefer": f"odata.maxpagesize={self.page_size}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }

    def run(
        self,
        cmdlet: Cmdlet,
        secrets: Mapping[str, str] | None = None,
        *,
        cancel: Cancellation | None = None,
    ) -> CommandResult:
        """Run a plan's cmdlet; secret parameters are filled in only here, encrypted.

        A SecureString parameter (an HVE account's password) goes to Exchange only
        encrypted with Microsoft's public key from the module file, in the shape
        ExoHelper's Invoke-ExoCommand sends it: the parameter's own name, a base64 string
        (exo_module_key.py). Neither the value nor its ciphertext reaches a log or an
        error: an error that quotes them (Exchange's binding errors may) is scrubbed.
        """
        if not cmdlet.secret_parameters:
            return self.invoke(cmdlet.name, cmdlet.invoke_parameters(secrets), cancel=cancel)
        # The key comes from the host that serves the tenant. Microsoft rotates it: when
        # Exchange refuses the encrypted value (a binding error, so nothing ran), the key
        # is read again and the cmdlet sent once more (ExoHelper refreshes its copy too).
        self._locate(cancel)
        for attempt in (1, 2):
            parameters = cmdlet.invoke_parameters(secrets)
            hidden: list[str] = []
            for name in cmdlet.secret_parameters:
                value = str(parameters[name])
                protected = self._module_key.encrypt(value, (cmdlet.name,), cancel=cancel)
                parameters[name] = protected
                hidden += [value, protected]
            try:
                return self.invoke(cmdlet.name, parameters, cancel=cancel)
            except WizardError as exc:
                _scrub(exc, hidden)
                if not _secret_refused(exc, cmdlet.secret_parameters):
                    raise
                if attempt == 1:
                    log.info("%s: Exchange refused the encrypted value; key read again", cmdlet)
                    self._module_key.forget()
                    continue
                raise SecretRefused(cmdlet.name, exc) from None
        raise AssertionError("unreachable")

    def invoke(
        self,
        cmdlet: str,
        parameters: Mapping[str, Any] | None = None,
        *,
        cancel: Cancellation | None = None,
    ) -> CommandResult:
        body = {"CmdletInput": {"CmdletName": cmdlet, "Parameters": dict(parameters or {})}}
        values: list[dict[str, Any]] = []
        warnings: list[str] = []
        self._locate(cancel)
        url: str | None = self.url
        pages = 0
        while url is not None:
            check(cancel)
            page = self._post(url, body, cmdlet, cancel)
            raw = page.get("value")
            if isinstance(raw, list):
                values.extend(v for v in raw if isinstance(v, dict))
            elif isinstance(raw, dict):
                values.append(raw)
            for warning in page.get("@adminapi.warnings") or []:
                if str(warning).strip():
                    warnings.append(str(warning).strip())
            pages += 1
            url = self._next_link(page.get("@odata.nextLink"), cmdlet, pages)
        for warning in warnings:
            log.info("%s: Exchange warned: %s", cmdlet, warning)
        return CommandResult(cmdlet, values, warnings)

    def _locate(self, cancel: Cancellation | None) -> None:
        """Ask the front door once which host serves the tenant (admin_host.discover)."""
        with self._locating:
            if self._located:
                return
            known = self._hosts.get(self.tenant_id)
            if known is None:
                known = discover(
                    self.cloud,
                    self.tenant_id,
                    self.anchor_upn,
                    self._token(),
                    self._session,
                    cancel=cancel,
                )
                if known is not None:
                    self._hosts.remember(self.tenant_id, known)
            self._located = True
            if known is not None:
                self.url = invoke_url(known, self.tenant_id)

    def _redirected(self, response: requests.Response, url: str, cmdlet: str, hops: int) -> str:
        """Where a redirected InvokeCommand goes next: Microsoft's hosts only, twice at most."""
        location = response.headers.get("Location") or ""
        if not location or hops >= MAX_REDIRECTS:
            raise ExchangeCommandError(
                tr("Exchange kept sending {cmdlet} on to other servers.").format(cmdlet=cmdlet),
                tr("It did not say which server serves this tenant."),
                tr("Try again in a minute."),
                cmdlet=cmdlet,
                status=response.status_code,
                code="Redirect",
                detail=f"{cmdlet}: HTTP {response.status_code} after {hops} redirects, "
                f"Location {location[:300]!r}",
                retryable=True,
            )
        target = redirect_target(self.cloud, url, location)
        base = base_of(target)
        # Later calls of this sign-in go straight there.
        self._hosts.remember(self.tenant_id, base)
        self.url = invoke_url(base, self.tenant_id)
        log.info("%s: Exchange serves this tenant from %s", cmdlet, urlsplit(base).netloc)
        return target

    def _next_link(self, link: object, cmdlet: str, pages: int) -> str | None:
        if not link:
            return None
        text = str(link)
        ours, theirs = urlsplit(self.url), urlsplit(text)
        # The bearer token goes only to the admin API itself.
        if (theirs.scheme, theirs.netloc) != (ours.scheme, ours.netloc):
            raise ExchangeCommandError(
                tr("Exchange sent a next-page link to another server."),
                tr("The wizard does not send your sign-in anywhere else."),
                detail=f"{cmdlet}: nextLink {theirs.netloc!r}",
                cmdlet=cmdlet,
            )
        if pages >= MAX_PAGES:
            raise ExchangeCommandError(
                tr("{cmdlet} returned more pages than the wizard reads.").format(cmdlet=cmdlet),
                cmdlet=cmdlet,
            )
        return text

    def _post(
        self, url: str, body: dict[str, Any], cmdlet: str, cancel: Cancellation | None
    ) -> dict[str, Any]:
        """One page, retrying Exchange's "too many concurrent requests" and non-JSON answers.

        Real tenants sometimes answer with a plain-text "You have reached the maximum
        number of concurrent requests per tenant. Please wait and try again" (HTTP 200
        as well as error codes) and sometimes with a body that is not JSON at all;
        GreyCorbel/ExoHelper's Invoke-ExoCommand waits and retries the first (3 s times
        the attempt when there is no Retry-After) and reports the second. The busy
        answer means the cmdlet did not run, so it is retried for changes too; a
        non-JSON answer is retried for reads only.
        """
        waiter: Cancellation = cancel if cancel is not None else NeverCancelled()
        busy = 0
        garbled = 0
        while True:
            response, url = self._post_once(url, body, cmdlet, cancel)
            if _is_busy_answer(response):
                if busy >= self._retry.throttle_retries:
                    raise ExchangeCommandError(
                        tr("Exchange is too busy for this tenant right now."),
                        tr(
                            "Exchange answered {n} times that the tenant has reached the "
                            "maximum number of concurrent requests (other tools or admins "
                            "are working in it at the same time). {cmdlet} did not run."
                        ).format(n=busy + 1, cmdlet=cmdlet),
                        tr("Wait a minute, then try again."),
                        cmdlet=cmdlet,
                        status=response.status_code,
                        code="TooManyConcurrentRequests",
                        server_text=response.text.strip()[:500],
                        detail=f"{cmdlet}: concurrency answer {busy + 1} times",
                        retryable=True,
                    )
                busy += 1
                wait = min(
                    retry_after_seconds(
                        response.headers.get("Retry-After"), self._retry.default_retry_after
                    )
                    * busy,
                    self._retry.max_retry_after,
                )
                log.info(
                    "%s: Exchange has too many concurrent requests for this tenant; "
                    "trying again in %.1f s (attempt %d of %d)",
                    cmdlet,
                    wait,
                    busy + 1,
                    self._retry.throttle_retries + 1,
                )
                if waiter.wait(wait):
                    check(cancel)
                continue
            if response.status_code < 400:
                try:
                    data = response.json()
                except ValueError:
                    if _is_read(cmdlet) and garbled < self._retry.server_error_retries:
                        garbled += 1
                        wait = self._retry.server_error_backoff * (2 ** (garbled - 1))
                        log.info(
                            "%s: Exchange answered with something that is not JSON; "
                            "trying again in %.1f s",
                            cmdlet,
                            wait,
                        )
                        if waiter.wait(wait):
                            check(cancel)
                        continue
                    raise ExchangeCommandError(
                        tr("Exchange answered {cmdlet} with something that is not JSON.").format(
                            cmdlet=cmdlet
                        ),
                        tr(
                            "The admin API sometimes sends a page that is not a cmdlet's "
                            "answer when it is busy or being updated."
                        ),
                        tr("Try again in a minute."),
                        cmdlet=cmdlet,
                        status=response.status_code,
                        code="NonJsonAnswer",
                        detail=f"{response.headers.get('Content-Type', '')}: {response.text[:500]}",
                        retryable=True,
                    ) from None
                if not isinstance(data, dict):
                    return {"value": data if isinstance(data, list) else []}
                return data
            self._raise_for(response, cmdlet)

    def _post_once(
        self, url: str, body: dict[str, Any], cmdlet: str, cancel: Cancellation | None
    ) -> tuple[requests.Response, str]:
        """One answer that is not a redirect, and the URL that gave it."""
        refreshed = False
        hops = 0
        while True:
            token = self._token(force_refresh=refreshed)

            def attempt(token: str = token, url: str = url) -> requests.Response:
                # Redirects are followed below, not by requests: it would re-send the
                # POST as a GET and drop the token (admin_host.py).
                return send(
                    self._session,
                    "POST",
                    url,
                    service=SERVICE,
                    headers=self._headers(token),
                    json=body,
                    allow_redirects=False,
                )

            response = with_retries(
                attempt,
                service=SERVICE,
                idempotent=_is_read(cmdlet),
                policy=self._retry,
                cancel=cancel,
            )
            if response.status_code in REDIRECT_STATUSES:
                url = self._redirected(response, url, cmdlet, hops)
                hops += 1
                continue
            if response.status_code == 401 and not refreshed:
                log.info("%s: token refused (401); refreshing it once", cmdlet)
                refreshed = True
                continue
            break
        return response, url

    def _raise_for(self, response: requests.Response, cmdlet: str) -> None:
        if response.status_code == 403 or (
            response.status_code == 401 and _is_role_refusal(response)
        ):
            raise ExchangeRoleRefused(self.anchor_upn, cmdlet, parse_error(response, cmdlet))
        if response.status_code == 401:
            raise NeedsSignIn(
                tr("Exchange Online did not accept your sign-in."),
                tr("The sign-in expired or was revoked."),
                tr("Sign in again."),
                detail=parse_error(response, cmdlet).detail,
            )
        raise parse_error(response, cmdlet)
