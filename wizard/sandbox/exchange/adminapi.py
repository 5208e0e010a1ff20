"""Exchange Online's admin API: POST /adminapi/beta/{tenant}/InvokeCommand.

Also GET /AdminApi/v1.0/{tenant}/EXOModuleFile, and the front door's redirects for a
tenant served from its own host (exchange/hosts.py).

As M365-FACTS describes it: a bearer token for the admin API resource, a body
`{"CmdletInput": {"CmdletName", "Parameters"}}`, an answer `{"@odata.context",
"value", "@odata.nextLink", "@adminapi.warnings"}`, paging by
`Prefer: odata.maxpagesize=N` (follow the next link with the same body), errors as
`{"error": {"code", "message", "details", "innererror"}}`. Every call that gets past
the token check is recorded in `state.admin_calls`, except one the front door sends on
to the tenant's host (it ran nowhere).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from wizard.sandbox.exchange.cmdlets import Cmdlet, CmdletError, Context, bind, unknown_cmdlet
from wizard.sandbox.exchange.cmdlets_org import CMDLETS as ORG_CMDLETS
from wizard.sandbox.exchange.cmdlets_recipients import CMDLETS as RECIPIENT_CMDLETS
from wizard.sandbox.exchange.cmdlets_transport import CMDLETS as TRANSPORT_CMDLETS
from wizard.sandbox.exchange.exo_module import ModuleKeys
from wizard.sandbox.exchange.hosts import AdminRouting, is_module_file, module_file, moved
from wizard.sandbox.exchange.rbac import may_run_cmdlets
from wizard.sandbox.faults import apply_fault, take_fault
from wizard.sandbox.https import Request, Response
from wizard.sandbox.identity.tokens import InvalidToken, TokenProblem, TokenService
from wizard.sandbox.tenant import AdminCall, TenantState

# Exchange Online's resource app id, which its 401 challenge names.
EXCHANGE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"
DEFAULT_PAGE_SIZE = 1000
CONCURRENCY_TEXT = (
    "You have reached the maximum number of concurrent requests per tenant. "
    "Please wait and try again."
)
_PAGE_SIZE_RE = re.compile(r"odata\.maxpagesize\s*=\s*(\d+)", re.IGNORECASE)

REGISTRY: dict[str, Cmdlet] = {
    c.name.lower(): c for c in [*TRANSPORT_CMDLETS, *ORG_CMDLETS, *RECIPIENT_CMDLETS]
}


def _bad_request(text: str) -> Response:
    return Response.of_json(
        400,
        {"error": {"code": "BadRequest", "message": text, "innererror": {"message": text}}},
    )


def _server_error_body(status: int) -> dict[str, Any]:
    if status == 429:
        return {
            "error": {
                "code": "TooManyRequests",
                "message": "Too many requests were sent in a short time. Retry after the time "
                "given in the Retry-After header.",
            }
        }
    if status == 503:
        return {"error": {"code": "ServiceUnavailable", "message": "The service is unavailable."}}
    return {"error": {"code": "InternalServerError", "message": "Error executing cmdlet"}}


def page_size(prefer: str | None) -> int:
    match = _PAGE_SIZE_RE.search(prefer or "")
    if match is None:
        return DEFAULT_PAGE_SIZE
    return max(1, min(int(match.group(1)), DEFAULT_PAGE_SIZE))


def _skip_token(cmdlet: str, offset: int) -> str:
    raw = json.dumps({"c": cmdlet.lower(), "o": offset}).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _read_skip_token(token: str) -> tuple[str, int] | None:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return str(data["c"]), int(data["o"])
    except (ValueError, KeyError, TypeError):
        return None


class AdminApi:
    def __init__(
        self,
        state: TenantState,
        tokens: TokenService,
        *,
        base_url: str,
        audience: str | None = None,
        routing: AdminRouting | None = None,
        front_door: bool = True,
        module_keys: ModuleKeys | None = None,
    ) -> None:
        self.state = state
        # The key pair for SecureString parameters, shared by every host of the tenant.
        self.module_keys = module_keys if module_keys is not None else ModuleKeys()
        self.tokens = tokens
        self.base_url = base_url.rstrip("/")
        # Tokens name the front door's resource, whichever host serves the tenant.
        self.audience = (audience or base_url).rstrip("/")
        self.routing = routing
        self.front_door = front_door

    def app(self, request: Request) -> Response:
        if self.routing is not None:
            self.routing.record(self.base_url, request)
        parts = [p for p in request.path.split("/") if p]
        if is_module_file(parts):
            return self._module_file(request, parts[2])
        if len(parts) != 4 or [p.lower() for p in parts[:2]] != ["adminapi", "beta"]:
            return Response.of_json(404, {"error": {"code": "NotFound", "message": "Not found"}})
        tenant, method = parts[2], parts[3]
        if method.lower() != "invokecommand":
            return Response.of_json(404, {"error": {"code": "NotFound", "message": "Not found"}})
        claims = self._admit(request, tenant, "POST")
        if isinstance(claims, Response):
            return claims
        caller = str(claims.get("upn") or "")
        account = self.state.account(caller)
        try:
            body = request.json()
            cmdlet_input = body["CmdletInput"]
            name = str(cmdlet_input["CmdletName"])
            parameters = cmdlet_input.get("Parameters") or {}
            if not isinstance(parameters, dict):
                raise TypeError("Parameters must be an object")
        except (ValueError, KeyError, TypeError):
            return _bad_request('The request body must be {"CmdletInput": {"CmdletName": ...}}.')
        # Exchange's RBAC decides (an Entra admin role or an Exchange role group).
        if not may_run_cmdlets(account):
            response = self._forbidden(caller, name)
            self._record(name, parameters, caller, response.status, "access denied")
            return response
        busy = self._busy_answer()
        if busy is not None:
            self._record(name, parameters, caller, busy.status, "injected busy answer")
            return busy
        fault = take_fault(self.state, name)
        if fault is not None:
            failure = apply_fault(fault, request, _server_error_body)
            if failure is not None:
                self._record(name, parameters, caller, failure.status, "injected fault")
                return failure
        offset = 0
        skip = request.arg("$skiptoken")
        if skip is not None:
            decoded = _read_skip_token(skip)
            if decoded is None or decoded[0] != name.lower():
                return _bad_request("The skip token does not belong to this request.")
            offset = decoded[1]
        try:
            cmdlet = REGISTRY.get(name.lower())
            if cmdlet is None:
                raise unknown_cmdlet(name)
            bound = bind(cmdlet.params, parameters, self.module_keys.decrypt)
            result = cmdlet.run(Context(self.state, caller), bound)
        except CmdletError as error:
            self._record(name, parameters, caller, error.status, error.text)
            return Response.of_json(error.status, error.body())
        self._record(name, parameters, caller, 200, "")
        return self._answer(tenant, cmdlet.name, result.value, result.warnings, offset, request)

    def _answer(
        self,
        tenant: str,
        cmdlet: str,
        value: list[dict[str, Any]],
        warnings: list[str],
        offset: int,
        request: Request,
    ) -> Response:
        size = page_size(request.header("Prefer"))
        page = value[offset : offset + size]
        body: dict[str, Any] = {
            "@odata.context": (
                f"{self.base_url}/adminapi/beta/{tenant}/$metadata#Collection(Exchange.GenericHashTable)"
            ),
        }
        if warnings:
            body["adminapi.warnings@odata.type"] = "#Collection(String)"
            body["@adminapi.warnings"] = warnings
        body["value"] = page
        if offset + size < len(value):
            body["@odata.nextLink"] = (
                f"{self.base_url}/adminapi/beta/{tenant}/InvokeCommand"
                f"?%24skiptoken={_skip_token(cmdlet, offset + size)}"
            )
        headers = []
        if request.header("Prefer") and _PAGE_SIZE_RE.search(request.header("Prefer") or ""):
            headers.append(("Preference-Applied", f"odata.maxpagesize={size}"))
        return Response.of_json(200, body, headers)

    def _admit(self, request: Request, tenant: str, verb: str) -> dict[str, Any] | Response:
        """What every admin API call passes first: its HTTP method, the token, the
        tenant, and the host (a tenant served from its own host is sent on there)."""
        if request.method != verb:
            return Response.of_json(
                405, {"error": {"code": "MethodNotAllowed", "message": f"Use {verb}."}}
            )
        claims = self._authenticate(request)
        if isinstance(claims, Response):
            return claims
        if not self._is_our_tenant(tenant) or claims.get("tid") != self.state.tenant_id:
            return self._unknown_tenant(tenant)
        elsewhere = self._elsewhere()
        if elsewhere is not None:
            return moved(request, elsewhere)
        return claims

    def _module_file(self, request: Request, tenant: str) -> Response:
        """GET /AdminApi/v1.0/{tenant}/EXOModuleFile, where clients find the tenant's host."""
        claims = self._admit(request, tenant, "GET")
        if isinstance(claims, Response):
            return claims
        # HttpFault(match="EXOModuleFile"): the download fails, is slow, or (with
        # `module_keys.published` off) carries no key.
        fault = take_fault(self.state, "EXOModuleFile")
        if fault is not None:
            failure = apply_fault(fault, request, _server_error_body)
            if failure is not None:
                return failure
        names = sorted(c.name for c in REGISTRY.values())
        return module_file(self.base_url, tenant, names, self.module_keys.module_field(names))

    def _elsewhere(self) -> str | None:
        if not self.front_door or self.routing is None:
            return None
        return self.routing.target()

    def _unknown_tenant(self, tenant: str) -> Response:
        return Response.of_json(
            404,
            {"error": {"code": "NotFound", "message": f"Tenant '{tenant}' was not found."}},
        )

    def _busy_answer(self) -> Response | None:
        """HTTP 200 that is not a cmdlet's answer, as real tenants send it at times.

        GreyCorbel/ExoHelper (Invoke-ExoCommand) retries a plain-text body beginning
        "You have reached the maximum number of concurrent requests per tenant. Please
        wait and try again", and warns "Received non-JSON response" for other bodies.
        """
        with self.state.lock:
            if self.state.concurrency_answers > 0:
                self.state.concurrency_answers -= 1
                return Response(200, CONCURRENCY_TEXT.encode("utf-8"))
            if self.state.non_json_answers > 0:
                self.state.non_json_answers -= 1
                return Response.of_html(
                    200, "<html><body>Service temporarily unavailable</body></html>"
                )
        return None

    def _is_our_tenant(self, tenant: str) -> bool:
        tenant = tenant.lower()
        return (
            tenant == self.state.tenant_id.lower()
            or tenant == self.state.initial_domain.lower()
            or self.state.is_accepted(tenant)
        )

    def _authenticate(self, request: Request) -> dict[str, Any] | Response:
        header = request.header("Authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return self._unauthorized(None)
        try:
            return self.tokens.verify(token.strip(), self.audience)
        except InvalidToken as problem:
            return self._unauthorized(problem)

    def _unauthorized(self, problem: InvalidToken | None) -> Response:
        challenge = (
            f'Bearer client_id="{EXCHANGE_APP_ID}", '
            'trusted_issuers="00000001-0000-0000-c000-000000000000@*", '
            'token_types="app_asserted_user_v1 service_asserted_app_v1", '
            f'authorization_uri="{self.tokens.authority_host}/common/oauth2/authorize"'
        )
        headers = []
        if problem is not None:
            category = (
                "invalid_resource"
                if problem.reason is TokenProblem.WRONG_AUDIENCE
                else "invalid_token"
            )
            challenge += f', error="invalid_token", error_description="{problem.message}"'
            headers.append(
                (
                    "x-ms-diagnostics",
                    f'2000001;reason="{problem.message}";error_category="{category}"',
                )
            )
        headers.append(("WWW-Authenticate", challenge))
        return Response(401, b"", headers=headers)

    def _forbidden(self, caller: str, cmdlet: str) -> Response:
        error = CmdletError(
            # Remote PowerShell's words (MicrosoftDocs/office-docs-powershell#6271); no
            # advice: an Entra role or an Exchange role group would both do (rbac.py).
            f'The user "{caller}" isn\'t assigned to any management roles that allow running '
            f"'{cmdlet}'.",
            "Microsoft.Exchange.Configuration.Tasks.AccessDeniedException",
            status=403,
            code="Forbidden",
        )
        return Response.of_json(403, error.body())

    def _record(
        self, cmdlet: str, parameters: dict[str, Any], caller: str, status: int, error: str
    ) -> None:
        # Keep secrets (New-MailUser -Password) out of the record tests and logs may print.
        shown = {k: ("***" if k.lower() == "password" else v) for k, v in parameters.items()}
        with self.state.lock:
            self.state.admin_calls.append(AdminCall(cmdlet, shown, caller, status, error))
