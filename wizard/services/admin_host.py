"""Which Exchange admin API host serves the tenant: found once per sign-in, Microsoft's only.

Some tenants are served from a tenant-specific host, not the cloud's front door
(`outlook.office365.com`). How tools that run against real tenants find it:
- ScubaGear (cisagov/ScubaGear, Modules/Providers/ProviderHelpers/EXORestHelper.psm1,
  `Get-ExchangeOnlineApiEndpoint` / `Resolve-ScubaFrontDoorEndpoint`) sends
  `GET {front door}/AdminApi/v1.0/{tenantId}/EXOModuleFile` with the bearer token,
  automatic redirects off and a 15 s timeout; a 3xx's Location names the tenant's host
  ("Some tenants get redirected to a tenant-specific subdomain"), a 2xx means the
  front door serves the tenant. It then builds `https://<first label of the redirect's
  host>.<front door host>` for InvokeCommand, without a port.
- CIPP-API (`New-ExoRequest`, `-MaximumRedirection 0`) and Monkey365
  (`Get-MonkeySecCompBackendUri`, `AllowAutoRedirect = $false`) do the same for the
  Security & Compliance endpoint, where the redirect names a backend port (446) that
  clients do not use.
- A client must not let its HTTP library follow: requests re-sends a redirected POST as
  a GET and drops `Authorization` for another origin (and must not keep it for a host
  that is not Microsoft's).

So a redirect is accepted only to the front door's own host, a subdomain of it, or
(rebuilt as ScubaGear does) a host under the front door's parent domain, which are
Microsoft's for that cloud (`office365.com`, `office365.us`, `outlook.cn`); anything
else is refused in plain words and the token never goes there. A front door named by
an IP address (the sandbox) has no subdomains: only other ports of that address.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from urllib.parse import SplitResult, urljoin, urlsplit

import requests

from wizard.core.clouds import Cloud
from wizard.core.errors import ServiceError, WizardError
from wizard.core.i18n import tr
from wizard.services.cancel import Cancellation, check
from wizard.services.http import send

log = logging.getLogger(__name__)

# ScubaGear gives the discovery 15 s; the connection gets the usual 10.
DISCOVERY_TIMEOUT: tuple[float, float] = (10.0, 15.0)
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
SERVICE = tr("the Exchange Online admin API")


class AdminHostRefused(ServiceError):
    """Exchange (or something pretending to be it) sent the wizard to a foreign host."""

    def __init__(self, host: str, *, detail: str = "") -> None:
        super().__init__(
            tr("Exchange sent the wizard on to {host}, which is not a Microsoft server.").format(
                host=host or tr("an unnamed server")
            ),
            tr(
                "Your sign-in goes only to Microsoft's Exchange Online servers of this "
                "cloud, so the wizard stopped instead of following."
            ),
            tr(
                "Try again in a few minutes. If it happens again, a proxy or security "
                "software on this network may be changing Microsoft's answers: try "
                "another network."
            ),
            detail=detail,
            retryable=True,
        )
        self.host = host


def front_door(cloud: Cloud) -> str:
    return cloud.exchange_api.rstrip("/")


def invoke_url(base: str, tenant_id: str) -> str:
    return f"{base.rstrip('/')}/adminapi/beta/{tenant_id}/InvokeCommand"


def module_file_url(base: str, tenant_id: str) -> str:
    return f"{base.rstrip('/')}/AdminApi/v1.0/{tenant_id}/EXOModuleFile"


def base_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _netloc(host: str, port: int | None) -> str:
    name = f"[{host}]" if ":" in host else host
    return f"{name}:{port}" if port else name


def allowed_base(cloud: Cloud, target: SplitResult) -> str | None:
    """The base URL to use for a redirect's target, or None when it is not Microsoft's."""
    front = urlsplit(front_door(cloud))
    front_host = (front.hostname or "").lower()
    host = (target.hostname or "").lower().rstrip(".")
    if target.scheme.lower() != "https" or not host or target.username or target.password:
        return None
    if _is_address(front_host):
        return f"https://{_netloc(host, target.port)}" if host == front_host else None
    if host == front_host or host.endswith("." + front_host):
        # The port is the front door's: the backend port (446) is not for clients.
        return f"https://{_netloc(host, front.port)}"
    parent = front_host.partition(".")[2]
    if "." in parent and host.endswith("." + parent):
        prefix = host.partition(".")[0]
        return f"https://{_netloc(f'{prefix}.{front_host}', front.port)}"
    return None


def redirect_target(cloud: Cloud, current: str, location: str) -> str:
    """Where a redirect from `current` leads, kept on Microsoft's hosts; raises
    AdminHostRefused for anywhere else."""
    target = urlsplit(urljoin(current, location.strip()))
    base = allowed_base(cloud, target)
    if base is None:
        raise AdminHostRefused(
            (target.hostname or "").lower(),
            detail=f"redirect from {urlsplit(current).netloc} to {target.geturl()[:300]!r}",
        )
    path = target.path or "/"
    return f"{base}{path}" + (f"?{target.query}" if target.query else "")


class AdminHosts:
    """The admin API base URL found for each tenant; one per sign-in (`SignIn` keeps it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._found: dict[str, str] = {}

    def get(self, tenant_id: str) -> str | None:
        with self._lock:
            return self._found.get(tenant_id.lower())

    def remember(self, tenant_id: str, base: str) -> None:
        with self._lock:
            self._found[tenant_id.lower()] = base.rstrip("/")

    def clear(self) -> None:
        with self._lock:
            self._found.clear()


def discover(
    cloud: Cloud,
    tenant_id: str,
    anchor_upn: str,
    token: str,
    session: requests.Session,
    *,
    cancel: Cancellation | None = None,
) -> str | None:
    """The base URL that serves the tenant, from the front door's EXOModuleFile answer.

    None when the front door gave no usable answer (an error, a redirect without a
    Location): the caller stays on the front door, and InvokeCommand's own answer
    (an explained error, or a redirect it follows the same careful way) decides.
    Raises AdminHostRefused for a redirect off Microsoft's hosts, before any token
    goes there. Only the status line and headers are read, never the body.
    """
    check(cancel)
    url = module_file_url(front_door(cloud), tenant_id)
    try:
        response = send(
            session,
            "GET",
            url,
            service=SERVICE,
            headers={
                "Authorization": f"Bearer {token}",
                "X-AnchorMailbox": f"UPN:{anchor_upn}",
                "Accept": "application/json",
            },
            allow_redirects=False,
            stream=True,
            timeout=DISCOVERY_TIMEOUT,
        )
    except WizardError as exc:
        log.info("admin API host discovery failed; using the front door: %s", exc.detail)
        return None
    with response:
        status = response.status_code
        location = response.headers.get("Location") or ""
    if 200 <= status < 300:
        return front_door(cloud)
    if status in REDIRECT_STATUSES and location:
        base = base_of(redirect_target(cloud, url, location))
        log.info("Exchange serves tenant %s from %s", tenant_id, urlsplit(base).netloc)
        return base
    log.info("admin API host discovery answered HTTP %s; using the front door", status)
    return None
