"""Microsoft Graph, read-only and optional: the tenant's name, domains and MX record.

The Exchange admin API is the wizard's source for everything it changes; Graph adds
what only Entra knows (the tenant's name, the MX host Microsoft assigned a domain,
whether Security Defaults are on). The sign-in app may not have the Graph
permissions (the Exchange Online PowerShell app has none by default), so callers
treat every failure here as "unknown" rather than as the end of the check.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from wizard.core.clouds import Cloud
from wizard.core.errors import PermissionDenied, ServiceError
from wizard.core.i18n import tr
from wizard.core.tenant import AcceptedDomain
from wizard.services.cancel import Cancellation, check
from wizard.services.exchange_admin import TokenProvider
from wizard.services.http import DEFAULT_RETRY, RetryPolicy, make_session, send, with_retries
from wizard.services.signin import NeedsSignIn

log = logging.getLogger(__name__)

SERVICE = tr("Microsoft Graph")
API_VERSION = "v1.0"


class GraphError(ServiceError):
    def __init__(
        self,
        what: str,
        why: str = "",
        next_step: str = "",
        *,
        status: int = 0,
        code: str = "",
        detail: str = "",
    ) -> None:
        super().__init__(what, why, next_step, detail=detail, retryable=status >= 500)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class Organization:
    tenant_id: str
    display_name: str
    domains: tuple[AcceptedDomain, ...]


@dataclass(frozen=True)
class GraphDomain:
    name: str
    is_default: bool
    is_initial: bool
    is_verified: bool
    supported_services: tuple[str, ...]


class Graph:
    def __init__(
        self,
        cloud: Cloud,
        token: TokenProvider,
        *,
        session: requests.Session | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        self.cloud = cloud
        self._token = token
        self._session = session if session is not None else make_session(cloud)
        self._retry = retry

    def url(self, path: str) -> str:
        return f"{self.cloud.graph}/{API_VERSION}/{path.lstrip('/')}"

    def get(self, path: str, *, cancel: Cancellation | None = None) -> dict[str, Any]:
        return self._request("GET", path, None, cancel)

    def post(
        self, path: str, body: dict[str, Any], *, cancel: Cancellation | None = None
    ) -> dict[str, Any]:
        """A create; not retried after a server error (it may have been done)."""
        return self._request("POST", path, body, cancel)

    def _request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        cancel: Cancellation | None,
    ) -> dict[str, Any]:
        check(cancel)
        url = self.url(path)
        refreshed = False
        while True:
            token = self._token(force_refresh=refreshed)

            def attempt(token: str = token) -> requests.Response:
                headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
                if body is None:
                    return send(self._session, method, url, service=SERVICE, headers=headers)
                return send(self._session, method, url, service=SERVICE, headers=headers, json=body)

            response = with_retries(
                attempt,
                service=SERVICE,
                idempotent=method == "GET",
                policy=self._retry,
                cancel=cancel,
            )
            if response.status_code == 401 and not refreshed:
                refreshed = True
                continue
            break
        if response.status_code >= 400:
            raise self._error(response, path)
        try:
            data = response.json()
        except ValueError:
            raise GraphError(
                tr("Microsoft Graph answered with something that is not JSON."),
                status=response.status_code,
                detail=response.text[:300],
            ) from None
        return data if isinstance(data, dict) else {}

    def _error(self, response: requests.Response, path: str) -> Exception:
        code, message = "", ""
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            code = str(body["error"].get("code") or "")
            message = str(body["error"].get("message") or "")
        detail = f"GET {path}: HTTP {response.status_code} {code} {message}"[:1000]
        if response.status_code == 401:
            return NeedsSignIn(
                tr("Microsoft Graph did not accept your sign-in."),
                "",
                tr("Sign in again."),
                detail=detail,
            )
        if response.status_code == 403:
            return PermissionDenied(
                tr("The sign-in app may not read this from Microsoft Graph."),
                tr("It lacks a Graph permission, or your account lacks the role for it."),
                tr("Nothing to do for the wizard's changes; the value stays unknown."),
                detail=detail,
            )
        return GraphError(
            tr("Microsoft Graph could not answer."),
            tr("Graph answered: {text}").format(text=message or f"HTTP {response.status_code}"),
            tr("Try again in a minute.") if response.status_code >= 500 else "",
            status=response.status_code,
            code=code,
            detail=detail,
        )

    # -- what the wizard reads

    def organization(self, *, cancel: Cancellation | None = None) -> Organization:
        data = self.get("organization", cancel=cancel)
        values = data.get("value") or []
        org = values[0] if values and isinstance(values[0], dict) else {}
        domains = tuple(
            AcceptedDomain(
                str(d.get("name", "")),
                default=bool(d.get("isDefault")),
                initial=bool(d.get("isInitial")),
            )
            for d in org.get("verifiedDomains") or []
            if isinstance(d, dict) and d.get("name")
        )
        return Organization(str(org.get("id", "")), str(org.get("displayName", "")), domains)

    def domains(self, *, cancel: Cancellation | None = None) -> tuple[GraphDomain, ...]:
        data = self.get("domains", cancel=cancel)
        return tuple(
            GraphDomain(
                name=str(d.get("id", "")),
                is_default=bool(d.get("isDefault")),
                is_initial=bool(d.get("isInitial")),
                is_verified=bool(d.get("isVerified")),
                supported_services=tuple(str(s) for s in d.get("supportedServices") or []),
            )
            for d in data.get("value") or []
            if isinstance(d, dict) and d.get("id")
        )

    def mx_host(self, domain: str, *, cancel: Cancellation | None = None) -> str | None:
        """The MX host Microsoft 365 assigned `domain` (serviceConfigurationRecords)."""
        data = self.get(
            f"domains/{quote(domain, safe='')}/serviceConfigurationRecords", cancel=cancel
        )
        best: tuple[int, str] | None = None
        for record in data.get("value") or []:
            if not isinstance(record, dict):
                continue
            kind = str(record.get("recordType", "")).lower()
            if kind != "mx" or not record.get("mailExchange"):
                continue
            preference = int(record.get("preference") or 0)
            host = str(record["mailExchange"]).rstrip(".").lower()
            if best is None or preference < best[0]:
                best = (preference, host)
        return best[1] if best else None

    def security_defaults(self, *, cancel: Cancellation | None = None) -> bool:
        """Whether Entra Security Defaults are on (needs Policy.Read.All)."""
        data = self.get("policies/identitySecurityDefaultsEnforcementPolicy", cancel=cancel)
        if "isEnabled" not in data:
            raise GraphError(
                tr("Microsoft Graph did not say whether Security Defaults are on."),
                detail=str(sorted(data))[:200],
            )
        return bool(data["isEnabled"])
