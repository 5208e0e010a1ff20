"""The sandbox's admin API hosts: EXOModuleFile, and a tenant served from its own host."""

from __future__ import annotations

from typing import Any

import requests

from tests.test_sandbox_adminapi import ADMIN, _token
from tests.test_sandbox_adminapi import invoke as invoke_following
from wizard.sandbox.server import Sandbox
from wizard.sandbox.tenant import InboundConnector


def invoke(
    sandbox: Sandbox,
    cmdlet: str,
    *,
    url: str | None = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    """POST InvokeCommand without following a redirect."""
    auth = token if token is not None else _token(sandbox)
    sent = {"Authorization": f"Bearer {auth}", "X-AnchorMailbox": f"UPN:{ADMIN}"}
    sent.update(headers or {})
    with sandbox.http_session() as http:
        return http.post(
            url or sandbox.cloud.admin_api_url(sandbox.state.tenant_id),
            json={"CmdletInput": {"CmdletName": cmdlet}},
            headers=sent,
            allow_redirects=False,
            timeout=10,
        )


def module_file(
    sandbox: Sandbox, base: str | None = None, *, token: str | None = None
) -> requests.Response:
    auth = token if token is not None else _token(sandbox)
    url = f"{base or sandbox.admin_api}/AdminApi/v1.0/{sandbox.state.tenant_id}/EXOModuleFile"
    with sandbox.http_session() as http:
        return http.get(
            url,
            params={"Version": "3.9.2"},
            headers={"Authorization": f"Bearer {auth}", "X-AnchorMailbox": f"UPN:{ADMIN}"},
            allow_redirects=False,
            timeout=10,
        )


def test_the_front_door_serves_the_module_file_of_an_ordinary_tenant(sandbox: Sandbox) -> None:
    answer = module_file(sandbox)
    assert answer.status_code == 200, answer.text
    exported = answer.json()["value"][0]["exportedCmdlets"].split(",")
    assert {"Get-AcceptedDomain", "New-InboundConnector", "Get-MessageTraceV2"} <= set(exported)
    # Like InvokeCommand, it wants the admin API's token.
    assert module_file(sandbox, token="").status_code == 401
    graph = sandbox.issue_token(ADMIN, [f"{sandbox.graph}/.default"])
    assert module_file(sandbox, token=graph).status_code == 401


def test_a_tenant_served_from_its_own_host_is_sent_there() -> None:
    with Sandbox(served_from_tenant_host=True) as sandbox:
        tenant_id = sandbox.state.tenant_id
        host = sandbox.admin_api_tenant_host
        assert host != sandbox.admin_api and host.startswith("https://127.0.0.1:")
        assert sandbox.endpoints()["admin_api_tenant_host"] == host

        found = module_file(sandbox)
        assert found.status_code == 302 and found.content == b""
        location = found.headers["Location"]
        assert location == f"{host}/AdminApi/v1.0/{tenant_id}/EXOModuleFile?Version=3.9.2"
        # The same token works there: its resource is the admin API's, not a host's.
        assert module_file(sandbox, host).status_code == 200

        moved = invoke(sandbox, "Get-AcceptedDomain")
        assert moved.status_code == 302
        assert moved.headers["Location"] == f"{host}/adminapi/beta/{tenant_id}/InvokeCommand"
        assert sandbox.state.admin_calls == []  # the front door ran nothing
        answer = invoke(sandbox, "Get-AcceptedDomain", url=moved.headers["Location"])
        assert answer.status_code == 200
        assert answer.json()["@odata.context"].startswith(f"{host}/adminapi/beta/")
        assert [(c.cmdlet, c.status) for c in sandbox.state.admin_calls] == [
            ("Get-AcceptedDomain", 200)
        ]
        # requests, left to follow the 302, turns the POST into a GET and (another port:
        # another origin) drops the token: why the wizard re-sends a redirected call itself.
        assert invoke_following(sandbox, "Get-AcceptedDomain").status_code == 405
        seen = [(r.host, r.method, r.path.rsplit("/", 1)[1], r.bearer) for r in _requests(sandbox)]
        assert seen == [
            (sandbox.admin_api, "GET", "EXOModuleFile", True),
            (host, "GET", "EXOModuleFile", True),
            (sandbox.admin_api, "POST", "InvokeCommand", True),
            (host, "POST", "InvokeCommand", True),
            (sandbox.admin_api, "POST", "InvokeCommand", True),
            (host, "GET", "InvokeCommand", False),
        ]


def test_the_tenant_host_pages_on_itself_and_keeps_the_checks() -> None:
    with Sandbox(served_from_tenant_host=True) as sandbox:
        with sandbox.state.lock:
            sandbox.state.connectors = [InboundConnector(f"C{i}") for i in range(3)]
        url = (
            f"{sandbox.admin_api_tenant_host}/adminapi/beta/{sandbox.state.tenant_id}/InvokeCommand"
        )
        first = invoke(sandbox, "Get-InboundConnector", url=url, headers=_pages(2))
        link = first.json()["@odata.nextLink"]
        assert link.startswith(sandbox.admin_api_tenant_host + "/")
        assert len(invoke(sandbox, "Get-InboundConnector", url=link).json()["value"]) == 1
        # RBAC and tokens are checked there as on the front door.
        user = invoke(
            sandbox, "Get-InboundConnector", url=url, token=_token(sandbox, "user@contoso.example")
        )
        assert user.status_code == 403
        assert invoke(sandbox, "Get-InboundConnector", url=url, token="").status_code == 401


def test_routing_switches_while_running(sandbox: Sandbox) -> None:
    assert invoke(sandbox, "Get-AcceptedDomain").status_code == 200
    sandbox.admin_routing.served_from_tenant_host = True
    assert invoke(sandbox, "Get-AcceptedDomain").status_code == 302
    sandbox.admin_routing.redirect_to = "https://admin.example.net"
    moved = module_file(sandbox)
    assert moved.headers["Location"].startswith("https://admin.example.net/AdminApi/v1.0/")
    sandbox.admin_routing.redirect_to = None
    sandbox.admin_routing.served_from_tenant_host = False
    assert module_file(sandbox).status_code == 200


def _pages(size: int) -> dict[str, str]:
    return {"Prefer": f"odata.maxpagesize={size}"}


def _requests(sandbox: Sandbox) -> list[Any]:
    return sandbox.admin_routing.requests
