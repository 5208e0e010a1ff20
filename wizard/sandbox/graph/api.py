"""The few Microsoft Graph v1.0 endpoints the wizard reads: organization and domains.

`serviceConfigurationRecords` is the tenant's word on the MX host (M365-FACTS): it
returns the accepted domain's `mx_host`, the SPF TXT and the autodiscover CNAME
for Email, plus the Teams and Intune records Graph also lists (a client must pick
by `supportedService`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from wizard.sandbox.faults import apply_fault, take_fault
from wizard.sandbox.graph.apps import READ_PERMISSIONS, WRITE_PERMISSION, GraphApps
from wizard.sandbox.https import Request, Response
from wizard.sandbox.identity.tokens import InvalidToken, TokenProblem, TokenService
from wizard.sandbox.tenant import AcceptedDomain, TenantState, microsoft_mx_host

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
SPF_INCLUDE = "v=spf1 include:spf.protection.outlook.com -all"

_AUTH_MESSAGES = {
    TokenProblem.EXPIRED: "Lifetime validation failed, the token is expired.",
    TokenProblem.NOT_YET_VALID: "Lifetime validation failed, the token is not yet valid.",
    TokenProblem.WRONG_AUDIENCE: "Invalid audience.",
    TokenProblem.BAD_SIGNATURE: "Signature validation failed.",
    TokenProblem.WRONG_ISSUER: "Issuer validation failed.",
    TokenProblem.MALFORMED: "IDX14100: JWT is not well formed.",
}


class GraphApi:
    def __init__(self, state: TenantState, tokens: TokenService, *, base_url: str) -> None:
        self.state = state
        self.tokens = tokens
        self.base_url = base_url.rstrip("/")
        self.apps = GraphApps(state)

    def _error(
        self,
        request: Request,
        status: int,
        code: str,
        message: str,
        headers: list[tuple[str, str]] | None = None,
    ) -> Response:
        return Response.of_json(status, self._error_body(request, code, message), headers)

    @staticmethod
    def _error_body(request: Request, code: str, message: str) -> dict[str, Any]:
        return {
            "error": {
                "code": code,
                "message": message,
                "innerError": {
                    "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                    "request-id": str(uuid.uuid4()),
                    "client-request-id": request.header("client-request-id") or str(uuid.uuid4()),
                },
            }
        }

    def app(self, request: Request) -> Response:
        parts = [unquote(p) for p in request.path.split("/") if p]
        if not parts or parts[0] != "v1.0":
            return self._error(request, 400, "BadRequest", "Invalid version.")
        problem = self._authenticate(request)
        if problem is not None:
            return problem
        denied = self._scope_problem(request, [p.lower() for p in parts[1:]])
        if denied is not None:
            return denied
        fault = take_fault(self.state, request.path)
        if fault is not None:
            failure = apply_fault(fault, request, lambda status: self._fault_body(request, status))
            if failure is not None:
                return failure
        route = [p.lower() for p in parts[1:]]
        if len(route) == 1 and self.apps.collection(route[0]) is not None:
            return self._apps(request, route[0])
        if request.method != "GET":
            return self._error(
                request, 405, "Request_BadRequest", "The HTTP method is not allowed here."
            )
        with self.state.lock:
            if route == ["organization"]:
                return self._collection("organization", [self._organization()])
            if route == ["policies", "identitysecuritydefaultsenforcementpolicy"]:
                return Response.of_json(200, self._security_defaults())
            if route == ["domains"]:
                return self._collection(
                    "domains", [_domain(d) for d in self.state.accepted_domains]
                )
            if len(route) in (2, 3) and route[0] == "domains":
                domain = next(
                    (d for d in self.state.accepted_domains if d.name.lower() == route[1]), None
                )
                if domain is None:
                    return self._error(
                        request,
                        404,
                        "Request_ResourceNotFound",
                        f"Resource '{parts[2]}' does not exist or one of its queried "
                        "reference-property objects are not present.",
                    )
                if len(route) == 2:
                    body = {"@odata.context": f"{self.base_url}/v1.0/$metadata#domains/$entity"}
                    body.update(_domain(domain))
                    return Response.of_json(200, body)
                if route[2] == "serviceconfigurationrecords":
                    return self._collection(
                        f"domains('{domain.name}')/serviceConfigurationRecords",
                        _service_records(domain),
                    )
        return self._error(
            request,
            400,
            "BadRequest",
            f"Resource not found for the segment '{parts[-1]}'.",
        )

    def _security_defaults(self) -> dict[str, Any]:
        return {
            "@odata.context": f"{self.base_url}/v1.0/$metadata#policies/"
            "identitySecurityDefaultsEnforcementPolicy/$entity",
            "id": "00000000-0000-0000-0000-000000000005",
            "displayName": "Security Defaults",
            "description": "Security defaults is a set of basic identity security mechanisms "
            "recommended by Microsoft.",
            "isEnabled": self.state.security_defaults,
        }

    def _collection(self, context: str, value: list[dict[str, Any]]) -> Response:
        return Response.of_json(
            200, {"@odata.context": f"{self.base_url}/v1.0/$metadata#{context}", "value": value}
        )

    def _fault_body(self, request: Request, status: int) -> dict[str, Any]:
        codes = {
            429: ("TooManyRequests", "Too many requests are being made. Retry after a while."),
            503: ("serviceNotAvailable", "The service is temporarily unavailable."),
        }
        code, message = codes.get(status, ("generalException", "An unexpected error occurred."))
        return self._error_body(request, code, message)

    def _apps(self, request: Request, name: str) -> Response:
        """Applications, service principals and grants (see graph_apps)."""
        with self.state.lock:
            if request.method == "GET":
                return self._collection(name, self.apps.list(name, request.arg("$filter") or ""))
            if request.method != "POST":
                return self._error(
                    request, 405, "Request_BadRequest", "The HTTP method is not allowed here."
                )
            try:
                body = request.json()
            except ValueError:
                body = None
            if not isinstance(body, dict):
                return self._error(request, 400, "BadRequest", "Invalid JSON body.")
            status, created = self.apps.create(name, body)
            if status != 201:
                return self._error(request, status, created["code"], created["message"])
            return Response.of_json(201, created)

    def _scope_problem(self, request: Request, route: list[str]) -> Response | None:
        """403 when the token lacks every delegated permission the endpoint accepts.

        Least-privileged permissions per Microsoft Learn's Graph v1.0 reference pages:
        "Get organization" (User.Read), "List domains" / "Get domain" / "List
        serviceConfigurationRecords" (Domain.Read.All, or Directory.Read.All), "Get
        identitySecurityDefaultsEnforcementPolicy" (Policy.Read.All); the 403 body is
        Graph's Authorization_RequestDenied.
        """
        needs: tuple[str, ...] = ()
        if route[:1] == ["organization"]:
            needs = ("User.Read", "Organization.Read.All", "Directory.Read.All")
        elif route[:1] == ["domains"]:
            needs = ("Domain.Read.All", "Directory.Read.All")
        elif route[:2] == ["policies", "identitysecuritydefaultsenforcementpolicy"]:
            needs = ("Policy.Read.All",)
        elif len(route) == 1 and route[0] in WRITE_PERMISSION:
            needs = (
                (WRITE_PERMISSION[route[0]],)
                if request.method == "POST"
                else READ_PERMISSIONS[route[0]]
            )
        if not needs:
            return None
        token = (request.header("Authorization") or "").partition(" ")[2].strip()
        granted = set(str(self.tokens.verify(token, self.base_url).get("scp", "")).split())
        if granted & set(needs):
            return None
        return self._error(
            request,
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )

    def _authenticate(self, request: Request) -> Response | None:
        header = request.header("Authorization") or ""
        scheme, _, token = header.partition(" ")
        challenge = (
            'Bearer realm="", '
            f'authorization_uri="{self.tokens.authority_host}/common/oauth2/authorize", '
            f'client_id="{GRAPH_APP_ID}"'
        )
        if scheme.lower() != "bearer" or not token.strip():
            return self._error(
                request,
                401,
                "InvalidAuthenticationToken",
                "Access token is empty.",
                [("WWW-Authenticate", challenge)],
            )
        try:
            self.tokens.verify(token.strip(), self.base_url)
        except InvalidToken as problem:
            return self._error(
                request,
                401,
                "InvalidAuthenticationToken",
                _AUTH_MESSAGES[problem.reason],
                [("WWW-Authenticate", challenge)],
            )
        return None

    def _organization(self) -> dict[str, Any]:
        state = self.state
        return {
            "id": state.tenant_id,
            "displayName": state.display_name,
            "tenantType": "AAD",
            "countryLetterCode": "US",
            "preferredLanguage": "en",
            "createdDateTime": "2024-03-11T09:12:44Z",
            "onPremisesSyncEnabled": None,
            "verifiedDomains": [
                {
                    "capabilities": "Email, OfficeCommunicationsOnline",
                    "isDefault": d.default,
                    "isInitial": d.initial,
                    "name": d.name,
                    "type": "Managed",
                }
                for d in state.accepted_domains
            ],
        }


def _domain(domain: AcceptedDomain) -> dict[str, Any]:
    return {
        "authenticationType": "Managed",
        "availabilityStatus": None,
        "id": domain.name,
        "isAdminManaged": True,
        "isDefault": domain.default,
        "isInitial": domain.initial,
        "isRoot": True,
        "isVerified": True,
        "supportedServices": ["Email", "OfficeCommunicationsOnline"],
        "passwordValidityPeriodInDays": 2147483647,
        "passwordNotificationWindowInDays": 14,
        "state": None,
    }


def _record(
    kind: str, domain: AcceptedDomain, label: str, supported: str, **fields: Any
) -> dict[str, Any]:
    record = {
        "@odata.type": f"#microsoft.graph.domainDns{kind}Record",
        "id": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{kind}.{label}.{supported}")),
        "isOptional": supported != "Email",
        "label": label,
        "recordType": "CName" if kind == "Cname" else kind,
        "supportedService": supported,
        "ttl": 3600,
    }
    record.update(fields)
    return record


def _service_records(domain: AcceptedDomain) -> list[dict[str, Any]]:
    name = domain.name
    mx = domain.mx_host or microsoft_mx_host(name)
    return [
        _record("Mx", domain, name, "Email", mailExchange=mx, preference=0),
        _record("Txt", domain, name, "Email", text=SPF_INCLUDE),
        _record(
            "Cname",
            domain,
            f"autodiscover.{name}",
            "Email",
            canonicalName="autodiscover.outlook.com",
        ),
        _record(
            "Cname",
            domain,
            f"sip.{name}",
            "OfficeCommunicationsOnline",
            canonicalName="sipdir.online.lync.com",
        ),
        _record(
            "Cname",
            domain,
            f"lyncdiscover.{name}",
            "OfficeCommunicationsOnline",
            canonicalName="webdir.online.lync.com",
        ),
        _record(
            "Srv",
            domain,
            name,
            "OfficeCommunicationsOnline",
            nameTarget="sipdir.online.lync.com",
            port=443,
            priority=100,
            protocol="_tls",
            service="_sip",
            weight=1,
        ),
        _record(
            "Srv",
            domain,
            name,
            "OfficeCommunicationsOnline",
            nameTarget="sipfed.online.lync.com",
            port=5061,
            priority=100,
            protocol="_tcp",
            service="_sipfederationtls",
            weight=1,
        ),
        _record(
            "Cname",
            domain,
            f"enterpriseregistration.{name}",
            "Intune",
            canonicalName="enterpriseregistration.windows.net",
        ),
        _record(
            "Cname",
            domain,
            f"enterpriseenrollment.{name}",
            "Intune",
            canonicalName="enterpriseenrollment.manage.microsoft.com",
        ),
    ]
