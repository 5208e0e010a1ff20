"""The admin API's hosts: the front door, and the tenant-specific host of some tenants.

How real tenants behave, as tools that run against them handle it:
- ScubaGear (cisagov/ScubaGear, Modules/Providers/ProviderHelpers/EXORestHelper.psm1,
  `Get-ExchangeOnlineApiEndpoint` and `Resolve-ScubaFrontDoorEndpoint`) sends
  `GET {front door}/AdminApi/v1.0/{tenantId}/EXOModuleFile` with the bearer token and
  automatic redirects off: "Some tenants get redirected to a tenant-specific
  subdomain"; the 3xx's Location names that host, and InvokeCommand goes there.
- CIPP-API (`New-ExoRequest`, `-MaximumRedirection 0`) and Monkey365
  (`Get-MonkeySecCompBackendUri`, `AllowAutoRedirect = $false`) read the Location of
  the same kind of redirect for the Security & Compliance endpoint; CIPP reads the
  module file's `value.exportedCmdlets` (`New-ExoRequest -AvailableCmdlets`).

The sandbox's tenant host is a second listener with the sandbox's certificate on another
loopback port. With `AdminRouting.served_from_tenant_host` on, the front door answers
EXOModuleFile and InvokeCommand with a 302 to the tenant host, which serves both; the
token's audience stays the front door's (the resource is the same). `redirect_to` makes
the front door send clients somewhere else instead (a test's host that is not
Microsoft's, which a client must refuse). Both hosts record every request with whether it
carried a bearer token, so a test can see where a token went.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from wizard.sandbox.https import Request, Response

MODULE_FILE = "exomodulefile"


@dataclass(frozen=True)
class HostRequest:
    """One request an admin API host received."""

    host: str  # the listener's base URL
    method: str
    path: str
    bearer: bool  # an Authorization: Bearer header came with it


class AdminRouting:
    """Where the admin API serves the tenant from; shared by both admin API hosts."""

    def __init__(self, *, served_from_tenant_host: bool = False) -> None:
        self._lock = threading.Lock()
        # The tenant host's base URL, set when its listener is bound.
        self.tenant_host = ""
        self.served_from_tenant_host = served_from_tenant_host
        # A base URL the front door redirects to instead of the tenant host (tests).
        self.redirect_to: str | None = None
        self._requests: list[HostRequest] = []

    def record(self, host: str, request: Request) -> None:
        auth = (request.header("Authorization") or "").strip()
        seen = HostRequest(host, request.method, request.path, auth.lower().startswith("bearer "))
        with self._lock:
            self._requests.append(seen)

    @property
    def requests(self) -> list[HostRequest]:
        with self._lock:
            return list(self._requests)

    def target(self) -> str | None:
        """Where the front door sends clients, or None when it serves the tenant itself."""
        if self.redirect_to:
            return self.redirect_to.rstrip("/")
        if self.served_from_tenant_host and self.tenant_host:
            return self.tenant_host.rstrip("/")
        return None


def is_module_file(parts: list[str]) -> bool:
    """`/AdminApi/v1.0/{tenant}/EXOModuleFile` (any case)."""
    return (
        len(parts) == 4
        and parts[0].lower() == "adminapi"
        and parts[1].lower() == "v1.0"
        and parts[3].lower() == MODULE_FILE
    )


def moved(request: Request, target: str) -> Response:
    """A 302 to the same path and query on `target` (a base URL), with no body."""
    location = target.rstrip("/") + request.path
    if request.query:
        location += "?" + urlencode(request.query, doseq=True)
    return Response(302, b"", headers=[("Location", location)])


def module_file(
    base_url: str,
    tenant: str,
    cmdlets: Iterable[str],
    module: Mapping[str, str] | None = None,
) -> Response:
    """The module file's answer: what a client may call (CIPP reads `exportedCmdlets`),
    and `module`, the field with the module's text (exo_module.py)."""
    item = {"exportedCmdlets": ",".join(sorted(cmdlets)), **(module or {})}
    return Response.of_json(
        200,
        {
            "@odata.context": f"{base_url}/AdminApi/v1.0/{tenant}/$metadata#EXOModuleFile",
            "value": [item],
        },
    )
