"""The admin API client finds the tenant's host and never sends the token off Microsoft's.

Against the real sandbox servers: a tenant served from its own admin API host (the
front door answers EXOModuleFile and InvokeCommand with a 302), and a recording HTTPS
server under another name, which must never see a request.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.m365_helpers import ADMIN, clients, sign_in
from wizard.core.clouds import CLOUDS, CloudId
from wizard.sandbox.https import LoopbackServer, Request, Response
from wizard.sandbox.server import Sandbox
from wizard.sandbox.tenant import InboundConnector
from wizard.services.admin_host import AdminHostRefused, AdminHosts, allowed_base
from wizard.services.exchange_admin import ExchangeAdmin, ExchangeCommandError


@pytest.fixture
def moved() -> Iterator[Sandbox]:
    """A sandbox tenant served from its own admin API host."""
    with Sandbox(served_from_tenant_host=True) as running:
        running.state.trace_delay = 0.0
        yield running


class Recorder:
    """An HTTPS server with the sandbox's certificate that only records what it gets."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.seen: list[tuple[str, str, str | None]] = []
        self.server = LoopbackServer(
            self._app, name="not-microsoft", ssl_context=sandbox.pki.server_context()
        )

    def _app(self, request: Request) -> Response:
        self.seen.append((request.method, request.path, request.header("Authorization")))
        return Response.of_json(200, {"value": []})

    @property
    def base_url(self) -> str:
        # Another name for the same machine: not the admin API's host, so not Microsoft's.
        return self.server.base_url.replace("127.0.0.1", "localhost")


@pytest.fixture
def recorder(sandbox: Sandbox) -> Iterator[Recorder]:
    found = Recorder(sandbox)
    found.server.start()
    yield found
    found.server.stop()


def _posts(sandbox: Sandbox) -> list[tuple[str, str]]:
    return [
        (r.host, r.path.rsplit("/", 1)[1])
        for r in sandbox.admin_routing.requests
        if r.method == "POST"
    ]


def test_a_tenant_on_its_own_host_works_end_to_end(moved: Sandbox) -> None:
    signin, account = sign_in(moved)
    with moved.state.lock:
        moved.state.connectors = [InboundConnector(f"C{i}") for i in range(3)]
    admin, _ = clients(moved, signin, account, page_size=2, hosts=signin.admin_hosts)
    assert [c["Name"] for c in admin.invoke("Get-InboundConnector").values] == ["C0", "C1", "C2"]
    result = admin.invoke("Set-TransportConfig", {"SmtpClientAuthenticationDisabled": False})
    assert result.cmdlet == "Set-TransportConfig"
    assert moved.state.smtp_client_auth_disabled is False
    host = moved.admin_api_tenant_host
    assert admin.url == f"{host}/adminapi/beta/{moved.state.tenant_id}/InvokeCommand"
    # One look at the front door, then every call (pages too) straight to the tenant's host.
    requests = moved.admin_routing.requests
    assert [(r.host, r.method, r.path.rsplit("/", 1)[1]) for r in requests[:1]] == [
        (moved.admin_api, "GET", "EXOModuleFile")
    ]
    assert _posts(moved) == [(host, "InvokeCommand")] * 3
    assert all(r.bearer for r in requests)

    # Once per sign-in: the next client of the same sign-in does not ask again.
    again, _ = clients(moved, signin, account, hosts=signin.admin_hosts)
    assert again.url == admin.url
    assert again.invoke("Get-AcceptedDomain").values
    assert [r.method for r in moved.admin_routing.requests[len(requests) :]] == ["POST"]
    # A new sign-in asks again.
    signin.sign_out()
    assert signin.admin_hosts.get(moved.state.tenant_id) is None


def test_a_redirected_invoke_command_is_re_sent_with_the_token(sandbox: Sandbox) -> None:
    signin, account = sign_in(sandbox)
    admin, _ = clients(sandbox, signin, account, hosts=signin.admin_hosts)
    assert admin.invoke("Get-AcceptedDomain").values  # discovered: the front door
    assert signin.admin_hosts.get(sandbox.state.tenant_id) == sandbox.admin_api
    # Now Exchange moves the tenant: the front door sends InvokeCommand on.
    sandbox.admin_routing.served_from_tenant_host = True
    assert admin.invoke("Get-TransportConfig").values
    host = sandbox.admin_api_tenant_host
    assert _posts(sandbox)[-2:] == [(sandbox.admin_api, "InvokeCommand"), (host, "InvokeCommand")]
    assert sandbox.admin_routing.requests[-1].bearer
    assert signin.admin_hosts.get(sandbox.state.tenant_id) == host
    assert admin.url.startswith(host + "/")
    calls = [(c.cmdlet, c.status) for c in sandbox.state.admin_calls]
    assert calls == [("Get-AcceptedDomain", 200), ("Get-TransportConfig", 200)]


def test_discovery_that_points_off_microsoft_is_refused_before_the_token_goes(
    sandbox: Sandbox, recorder: Recorder
) -> None:
    sandbox.admin_routing.redirect_to = recorder.base_url
    signin, account = sign_in(sandbox)
    admin, _ = clients(sandbox, signin, account)
    with pytest.raises(AdminHostRefused) as caught:
        admin.invoke("Get-AcceptedDomain")
    error = caught.value
    assert error.host == "localhost"
    assert (
        error.what == "Exchange sent the wizard on to localhost, which is not a Microsoft server."
    )
    assert "only to Microsoft's Exchange Online servers" in error.why
    assert error.retryable and "proxy or security software" in error.next_step
    assert recorder.seen == []
    assert sandbox.state.admin_calls == []


def test_invoke_command_redirect_off_microsoft_is_refused(
    sandbox: Sandbox, recorder: Recorder
) -> None:
    signin, account = sign_in(sandbox)
    admin, _ = clients(sandbox, signin, account)
    assert admin.invoke("Get-AcceptedDomain").values
    sandbox.admin_routing.redirect_to = recorder.base_url
    with pytest.raises(AdminHostRefused):
        admin.invoke("Set-TransportConfig", {"SmtpClientAuthenticationDisabled": False})
    # Nothing reached the other host, and the change ran nowhere.
    assert recorder.seen == []
    assert sandbox.state.smtp_client_auth_disabled is True
    assert admin.url.startswith(sandbox.admin_api + "/")


def test_a_redirect_to_plain_http_is_refused(sandbox: Sandbox) -> None:
    signin, account = sign_in(sandbox)
    admin, _ = clients(sandbox, signin, account)
    sandbox.admin_routing.redirect_to = sandbox.admin_api_tenant_host.replace("https:", "http:")
    with pytest.raises(AdminHostRefused):
        admin.invoke("Get-AcceptedDomain")
    assert not any(r.method == "POST" for r in sandbox.admin_routing.requests)


def test_redirects_in_a_circle_stop_after_two(sandbox: Sandbox) -> None:
    token = sandbox.issue_token(ADMIN, [sandbox.cloud.exchange_scope])
    admin = ExchangeAdmin(
        sandbox.cloud, sandbox.state.tenant_id, ADMIN, lambda force_refresh=False: token
    )
    sandbox.admin_routing.redirect_to = sandbox.admin_api  # the front door to itself
    with pytest.raises(ExchangeCommandError) as caught:
        admin.invoke("Get-AcceptedDomain")
    assert caught.value.retryable and "kept sending" in caught.value.what
    assert len(_posts(sandbox)) == 3  # the call and two redirects, no more


def test_each_client_without_a_sign_in_s_hosts_finds_the_host_itself(moved: Sandbox) -> None:
    token = moved.issue_token(ADMIN, [moved.cloud.exchange_scope])
    hosts = AdminHosts()
    for _ in range(2):
        admin = ExchangeAdmin(
            moved.cloud, moved.state.tenant_id, ADMIN, lambda force_refresh=False: token
        )
        assert admin.invoke("Get-AcceptedDomain").values
    shared = [
        ExchangeAdmin(
            moved.cloud,
            moved.state.tenant_id,
            ADMIN,
            lambda force_refresh=False: token,
            hosts=hosts,
        )
        for _ in range(2)
    ]
    for admin in shared:
        assert admin.invoke("Get-AcceptedDomain").values
    # Two clients on their own asked once each, the two sharing `hosts` once together;
    # the redirect's Location is read, never followed.
    gets = [r.host for r in moved.admin_routing.requests if r.method == "GET"]
    assert gets == [moved.admin_api] * 3


@pytest.mark.parametrize(
    ("cloud", "location", "expected"),
    [
        # A subdomain of the front door: used as it is, the backend port dropped.
        (
            CloudId.WORLDWIDE,
            "https://nam13b.outlook.office365.com:446/x",
            "https://nam13b.outlook.office365.com",
        ),
        (CloudId.WORLDWIDE, "https://outlook.office365.com/x", "https://outlook.office365.com"),
        # Under the front door's parent (Microsoft's): rebuilt as ScubaGear does.
        (
            CloudId.WORLDWIDE,
            "https://nam13b.admin.office365.com/x",
            "https://nam13b.outlook.office365.com",
        ),
        (
            CloudId.GCC_HIGH,
            "https://usg01b.outlook.office365.us/x",
            "https://usg01b.outlook.office365.us",
        ),
        (
            CloudId.DOD,
            "https://dod02b.outlook-dod.office365.us/x",
            "https://dod02b.outlook-dod.office365.us",
        ),
        (CloudId.CHINA, "https://chn01b.partner.outlook.cn/x", "https://chn01b.partner.outlook.cn"),
        # Not Microsoft's, or not safely so.
        (CloudId.WORLDWIDE, "https://evil.example/x", None),
        (CloudId.WORLDWIDE, "https://outlook.office365.com.evil.example/x", None),
        (CloudId.WORLDWIDE, "https://office365.com/x", None),
        (CloudId.WORLDWIDE, "http://nam13b.outlook.office365.com/x", None),
        (CloudId.WORLDWIDE, "https://me@nam13b.outlook.office365.com/x", None),
        (CloudId.WORLDWIDE, "https://nam13b.outlook.office365.us/x", None),
        (CloudId.GCC_HIGH, "https://nam13b.outlook.office365.com/x", None),
    ],
)
def test_which_redirects_stay_on_microsoft_s_hosts(
    cloud: CloudId, location: str, expected: str | None
) -> None:
    assert allowed_base(CLOUDS[cloud], urlsplit(location)) == expected


def test_a_front_door_named_by_its_address_allows_only_that_address(sandbox: Sandbox) -> None:
    cloud = sandbox.cloud
    port = urlsplit(sandbox.admin_api_tenant_host).port
    assert (
        allowed_base(cloud, urlsplit(f"https://127.0.0.1:{port}/x")) == f"https://127.0.0.1:{port}"
    )
    assert allowed_base(cloud, urlsplit(f"https://127.0.0.2:{port}/x")) is None
    assert allowed_base(cloud, urlsplit(f"https://localhost:{port}/x")) is None
