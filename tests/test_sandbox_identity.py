"""The sandbox's identity provider, driven by a plain msal.PublicClientApplication and requests."""

from __future__ import annotations

import base64
import hashlib
import re
import webbrowser
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import msal
import pytest
import requests

from wizard.core.clouds import EXCHANGE_POWERSHELL_CLIENT_ID, GRAPH_CLI_CLIENT_ID
from wizard.sandbox.identity.browser import (
    SignInPageError,
    StandInBrowser,
    complete_device_sign_in,
    complete_sign_in,
)
from wizard.sandbox.identity.tokens import (
    DEFAULT_USER_ROLE_ID,
    ROLE_TEMPLATE_IDS,
    InvalidToken,
    TokenProblem,
    TokenService,
)
from wizard.sandbox.server import Sandbox
from wizard.sandbox.tenant import DEMO_MAILBOX_TEST_CLIENT_ID

ADMIN = "admin@contoso.example"
EXCH_ADMIN = "exchadmin@contoso.example"
USER = "user@contoso.example"
TIMEOUT = 15


_sessions: list[requests.Session] = []


@pytest.fixture(autouse=True)
def _close_sessions() -> Iterator[None]:
    yield
    while _sessions:
        _sessions.pop().close()


def _app(sandbox: Sandbox, client_id: str = EXCHANGE_POWERSHELL_CLIENT_ID, **kw: Any) -> Any:
    """A plain MSAL public client on the sandbox authority, trusting only its CA."""
    http = sandbox.http_session()
    _sessions.append(http)
    return msal.PublicClientApplication(
        client_id,
        authority=kw.pop("authority", sandbox.authority),
        instance_discovery=False,
        http_client=http,
        **kw,
    )


def _interactive(
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    upn: str | None,
    scopes: list[str],
    app: Any = None,
) -> tuple[dict[str, Any], StandInBrowser]:
    browser = StandInBrowser(upn, ca_pem=sandbox.ca_pem)
    monkeypatch.setattr(webbrowser, "open", browser.open)
    result = (app or _app(sandbox)).acquire_token_interactive(scopes, timeout=TIMEOUT)
    browser.join(TIMEOUT)
    return result, browser


def _aad(response: requests.Response) -> tuple[str, int]:
    body = response.json()
    for key in (
        "error",
        "error_description",
        "error_codes",
        "timestamp",
        "trace_id",
        "correlation_id",
    ):
        assert key in body, key
    assert body["error_description"].startswith(f"AADSTS{body['error_codes'][0]}: ")
    return body["error"], body["error_codes"][0]


# -- discovery --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tenant",
    ["tenant-id", "contosodemo.onmicrosoft.com", "contoso.example", "organizations", "common"],
)
def test_discovery_answers_for_the_names_of_the_tenant(sandbox: Sandbox, tenant: str) -> None:
    name = sandbox.state.tenant_id if tenant == "tenant-id" else tenant
    with sandbox.http_session() as http:
        config = http.get(
            f"{sandbox.identity_url}/{name}/v2.0/.well-known/openid-configuration"
        ).json()
        assert config["token_endpoint"].startswith("https://127.0.0.1:")
        # The pages a person sees are plain http on loopback: no certificate warning.
        assert config["authorization_endpoint"].startswith("http://127.0.0.1:")
        assert config["device_authorization_endpoint"].endswith("/oauth2/v2.0/devicecode")
        keys = http.get(config["jwks_uri"]).json()["keys"]
        assert keys[0]["kid"] == sandbox.tokens.kid and keys[0]["kty"] == "RSA"


def test_discovery_of_an_unknown_tenant_is_aadsts90002(sandbox: Sandbox) -> None:
    with sandbox.http_session() as http:
        response = http.get(
            f"{sandbox.identity_url}/nosuch.example/v2.0/.well-known/openid-configuration",
            headers={"client-request-id": "abc-123"},
        )
    assert response.status_code == 400
    assert _aad(response) == ("invalid_tenant", 90002)
    assert response.json()["correlation_id"] == "abc-123"


# -- interactive sign-in ----------------------------------------------------------------------


def test_interactive_sign_in_with_msal(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    scope = f"{sandbox.admin_api}/.default"
    app = _app(sandbox)
    result, browser = _interactive(sandbox, monkeypatch, ADMIN, [scope], app)
    assert "access_token" in result, result
    assert browser.opened[0].startswith("http://127.0.0.1:")
    assert "Authentication complete" in (browser.result.text if browser.result else "")
    claims = sandbox.tokens.verify(result["access_token"], sandbox.admin_api)
    assert claims["upn"] == ADMIN and claims["tid"] == sandbox.state.tenant_id
    assert claims["scp"] == "Exchange.Manage"
    assert ROLE_TEMPLATE_IDS["Global Administrator"] in claims["wids"]
    assert result["id_token_claims"]["preferred_username"] == ADMIN
    [account] = app.get_accounts()
    assert account["username"] == ADMIN
    assert account["home_account_id"].endswith("." + sandbox.state.tenant_id)
    # The cache answers the same scope silently; the Exchange Online PowerShell client
    # is not pre-authorised for Graph: its refresh token is refused with AADSTS65002.
    assert app.acquire_token_silent([scope], account=account)["access_token"]
    graph = app.acquire_token_silent_with_error(
        [f"{sandbox.graph}/Domain.Read.All"], account=account
    )
    assert "access_token" not in graph and 65002 in graph["error_codes"]


def test_exchange_admin_token_carries_the_exchange_admin_role(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, _ = _interactive(sandbox, monkeypatch, EXCH_ADMIN, [f"{sandbox.admin_api}/.default"])
    wids = sandbox.tokens.verify(result["access_token"], sandbox.admin_api)["wids"]
    assert wids == [ROLE_TEMPLATE_IDS["Exchange Administrator"], DEFAULT_USER_ROLE_ID]


def test_smtp_send_scope_gives_an_outlook_token(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Through the MSP's own app registration: a first-party client gets AADSTS65002.
    result, _ = _interactive(
        sandbox,
        monkeypatch,
        "scanner@contoso.example",
        ["https://outlook.office.com/SMTP.Send"],
        _app(sandbox, DEMO_MAILBOX_TEST_CLIENT_ID),
    )
    claims = sandbox.tokens.verify(result["access_token"], "https://outlook.office.com")
    assert claims["scp"] == "SMTP.Send" and claims["wids"] == [DEFAULT_USER_ROLE_ID]


def test_cancel_returns_access_denied(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    result, _ = _interactive(sandbox, monkeypatch, None, [f"{sandbox.admin_api}/.default"])
    assert result["error"] == "access_denied"
    assert result["error_description"].startswith("AADSTS65004")


@pytest.mark.parametrize(
    "code,error", [("AADSTS53003", "access_denied"), ("AADSTS50076", "interaction_required")]
)
def test_account_sign_in_error_reaches_the_app(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, code: str, error: str
) -> None:
    account = sandbox.state.account(ADMIN)
    assert account is not None
    account.sign_in_error = code
    result, _ = _interactive(sandbox, monkeypatch, ADMIN, [f"{sandbox.admin_api}/.default"])
    assert result["error"] == error
    assert result["error_description"].startswith(code)


def _authorize_url(sandbox: Sandbox, **params: str) -> str:
    query = {
        "client_id": EXCHANGE_POWERSHELL_CLIENT_ID,
        "response_type": "code",
        "redirect_uri": "http://localhost:5555",
        "scope": f"{sandbox.admin_api}/.default openid offline_access",
        "state": "st",
        "response_mode": "form_post",
    }
    query.update(params)
    base = sandbox.sign_in_url.rsplit("/", 1)[0]
    return f"{base}/{sandbox.state.tenant_id}/oauth2/v2.0/authorize?{urlencode(query)}"


@pytest.mark.parametrize(
    "params,code",
    [
        ({"client_id": "11111111-2222-3333-4444-555555555555"}, "AADSTS700016"),
        ({"redirect_uri": "https://evil.example/cb"}, "AADSTS50011"),
        ({"redirect_uri": "http://localhost:5555/other/path"}, "AADSTS50011"),
    ],
)
def test_bad_client_or_redirect_is_shown_on_the_page(
    sandbox: Sandbox, params: dict[str, str], code: str
) -> None:
    with pytest.raises(SignInPageError) as caught:
        complete_sign_in(_authorize_url(sandbox, **params), ADMIN)
    assert code in str(caught.value)


@pytest.mark.parametrize(
    "params,expected",
    [
        ({"response_type": "token"}, ("unsupported_response_type", "AADSTS700054")),
        ({"scope": "https://unknown.example/.default"}, ("invalid_resource", "AADSTS500011")),
    ],
)
def test_later_authorize_errors_go_back_to_the_app(
    sandbox: Sandbox, params: dict[str, str], expected: tuple[str, str]
) -> None:
    url = _authorize_url(sandbox, response_mode="query", **params)
    with requests.Session() as http:
        http.trust_env = False
        response = http.get(url, allow_redirects=False)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}" == "http://localhost:5555"
    answer = dict(parse_qsl(location.query))
    assert answer["error"] == expected[0] and answer["state"] == "st"
    assert answer["error_description"].startswith(expected[1])


def test_unknown_tenant_page_is_aadsts90002(sandbox: Sandbox) -> None:
    url = _authorize_url(sandbox).replace(sandbox.state.tenant_id, "nosuch.example")
    with pytest.raises(SignInPageError, match="AADSTS90002"):
        complete_sign_in(url, ADMIN)


def test_a_registered_client_signs_in(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    client_id = "0c3b1f2a-6d5e-4f47-8a9b-1c2d3e4f5a6b"
    sandbox.register_client(client_id, ["http://localhost"], "MSP tools")
    app = _app(sandbox, client_id, authority=f"{sandbox.identity_url}/organizations")
    result, _ = _interactive(sandbox, monkeypatch, ADMIN, [f"{sandbox.graph}/.default"], app)
    claims = sandbox.tokens.verify(result["access_token"], sandbox.graph)
    assert claims["appid"] == client_id


# -- authorization code details (PKCE, reuse, expiry) ---------------------------------------


def _code(sandbox: Sandbox, verifier: str) -> str:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    url = _authorize_url(
        sandbox, code_challenge=challenge.decode(), code_challenge_method="S256", nonce="n1"
    )
    with requests.Session() as http:
        http.trust_env = False
        page = http.get(url)
        flow = re.search(r'name="flow" value="([^"]+)"', page.text)
        assert flow is not None
        posted = http.post(page.url.split("?")[0], data={"flow": flow.group(1), "upn": ADMIN})
    code = re.search(r'name="code" value="([^"]+)"', posted.text)
    assert code is not None and 'action="http://localhost:5555"' in posted.text
    return code.group(1)


def _redeem(sandbox: Sandbox, code: str, verifier: str) -> requests.Response:
    with sandbox.http_session() as http:
        return http.post(
            f"{sandbox.authority}/oauth2/v2.0/token",
            data={
                "client_id": EXCHANGE_POWERSHELL_CLIENT_ID,
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": "http://localhost:5555",
                "code_verifier": verifier,
                "scope": f"{sandbox.admin_api}/.default openid offline_access",
            },
        )


def test_pkce_code_redeems_once(sandbox: Sandbox) -> None:
    verifier = "v" * 43
    code = _code(sandbox, verifier)
    wrong = _redeem(sandbox, code, "w" * 43)
    assert wrong.status_code == 400 and _aad(wrong) == ("invalid_grant", 501481)
    ok = _redeem(sandbox, code, verifier)
    assert ok.status_code == 200
    body = ok.json()
    assert {"access_token", "refresh_token", "id_token", "scope"} <= set(body)
    id_claims = msal.oauth2cli.oidc._decode_id_token_claims(body["id_token"])
    assert id_claims["nonce"] == "n1" and id_claims["aud"] == EXCHANGE_POWERSHELL_CLIENT_ID
    again = _redeem(sandbox, code, verifier)
    assert _aad(again) == ("invalid_grant", 54005)


def test_expired_code_is_aadsts70008(sandbox: Sandbox) -> None:
    verifier = "x" * 43
    code = _code(sandbox, verifier)
    sandbox.identity.expire_auth_codes()
    assert _aad(_redeem(sandbox, code, verifier)) == ("invalid_grant", 70008)


# -- token endpoint errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    "data,expected",
    [
        ({"grant_type": "password"}, ("unsupported_grant_type", 70003)),
        ({"client_id": None}, ("invalid_request", 900144)),
        ({"client_id": "11111111-2222-3333-4444-555555555555"}, ("unauthorized_client", 700016)),
        ({"refresh_token": "0.garbage"}, ("invalid_grant", 9002313)),
    ],
)
def test_token_endpoint_errors(
    sandbox: Sandbox, data: dict[str, Any], expected: tuple[str, int]
) -> None:
    form = {
        "client_id": EXCHANGE_POWERSHELL_CLIENT_ID,
        "grant_type": "refresh_token",
        "refresh_token": "x",
        "scope": f"{sandbox.admin_api}/.default",
    }
    form.update(data)
    with sandbox.http_session() as http:
        response = http.post(
            f"{sandbox.authority}/oauth2/v2.0/token",
            data={k: v for k, v in form.items() if v is not None},
        )
    assert response.status_code == 400
    assert _aad(response) == expected


def test_token_endpoint_refuses_get(sandbox: Sandbox) -> None:
    with sandbox.http_session() as http:
        response = http.get(f"{sandbox.authority}/oauth2/v2.0/token")
    assert _aad(response) == ("invalid_request", 900561)


@pytest.mark.parametrize(
    "scopes,expected",
    [
        (["{admin}/.default", "{graph}/.default"], ("invalid_scope", 28000)),
        (["https://unknown.example/.default"], ("invalid_resource", 500011)),
        (["{admin}/Mail.ReadWrite"], ("invalid_client", 650053)),
    ],
)
def test_device_code_request_checks_scopes(
    sandbox: Sandbox, scopes: list[str], expected: tuple[str, int]
) -> None:
    scope = " ".join(s.format(admin=sandbox.admin_api, graph=sandbox.graph) for s in scopes)
    with sandbox.http_session() as http:
        response = http.post(
            f"{sandbox.authority}/oauth2/v2.0/devicecode",
            data={"client_id": EXCHANGE_POWERSHELL_CLIENT_ID, "scope": scope},
        )
    assert _aad(response) == expected


# -- device code ---------------------------------------------------------------------------


def test_device_code_flow_with_msal(sandbox: Sandbox) -> None:
    app = _app(sandbox)
    flow = app.initiate_device_flow([f"{sandbox.admin_api}/.default"])
    assert flow["message"].startswith("To sign in, use a web browser to open the page http://")
    assert re.fullmatch(r"[A-Z0-9]{9}", flow["user_code"])
    page = complete_device_sign_in(flow["verification_uri"], flow["user_code"], EXCH_ADMIN)
    assert "You have signed in" in page.text
    result = app.acquire_token_by_device_flow(flow)
    assert sandbox.tokens.verify(result["access_token"], sandbox.admin_api)["upn"] == EXCH_ADMIN
    assert app.get_accounts()[0]["username"] == EXCH_ADMIN


def _poll(sandbox: Sandbox, device_code: str) -> requests.Response:
    with sandbox.http_session() as http:
        return http.post(
            f"{sandbox.authority}/oauth2/v2.0/token",
            data={
                "client_id": EXCHANGE_POWERSHELL_CLIENT_ID,
                "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                "device_code": device_code,
            },
        )


def _start_device(sandbox: Sandbox) -> dict[str, Any]:
    with sandbox.http_session() as http:
        response = http.post(
            f"{sandbox.authority}/oauth2/v2.0/devicecode",
            data={
                "client_id": EXCHANGE_POWERSHELL_CLIENT_ID,
                "scope": f"{sandbox.admin_api}/.default offline_access",
            },
        )
    assert response.status_code == 200
    flow: dict[str, Any] = response.json()
    assert flow["interval"] == sandbox.state.device_code_interval
    return flow


def test_device_code_pending_slow_down_then_tokens(sandbox: Sandbox) -> None:
    sandbox.state.device_code_interval = 1
    flow = _start_device(sandbox)
    assert _aad(_poll(sandbox, flow["device_code"])) == ("authorization_pending", 70016)
    # Polling again at once is faster than the interval the server asked for.
    assert _aad(_poll(sandbox, flow["device_code"])) == ("slow_down", 70016)
    complete_device_sign_in(flow["verification_uri"], flow["user_code"], ADMIN)
    done = _poll(sandbox, flow["device_code"])
    assert done.status_code == 200 and "refresh_token" in done.json()
    assert _aad(_poll(sandbox, flow["device_code"])) == ("invalid_grant", 70000)


def test_device_code_declined(sandbox: Sandbox) -> None:
    sandbox.state.device_code_interval = 1
    app = _app(sandbox)
    flow = app.initiate_device_flow([f"{sandbox.admin_api}/.default"])
    page = complete_device_sign_in(flow["verification_uri"], flow["user_code"], None)
    assert "declined" in page.text
    result = app.acquire_token_by_device_flow(flow)
    assert result["error"] == "authorization_declined"


def test_device_code_expired(sandbox: Sandbox) -> None:
    flow = _start_device(sandbox)
    sandbox.identity.expire_device_codes()
    assert _aad(_poll(sandbox, flow["device_code"])) == ("expired_token", 70019)
    with pytest.raises(SignInPageError, match="didn't work"):
        complete_device_sign_in(flow["verification_uri"], flow["user_code"], ADMIN)


def test_device_code_with_conditional_access_block(sandbox: Sandbox) -> None:
    account = sandbox.state.account(ADMIN)
    assert account is not None
    account.sign_in_error = "AADSTS53003"
    flow = _start_device(sandbox)
    with pytest.raises(SignInPageError, match="AADSTS53003"):
        complete_device_sign_in(flow["verification_uri"], flow["user_code"], ADMIN)
    assert _aad(_poll(sandbox, flow["device_code"])) == ("access_denied", 53003)


def test_wrong_user_code_is_refused(sandbox: Sandbox) -> None:
    with pytest.raises(SignInPageError, match="didn't work"):
        complete_device_sign_in(sandbox.sign_in_url, "BBBBBBBBB", ADMIN)


# -- refresh ----------------------------------------------------------------------------------


def _device_tokens(sandbox: Sandbox, app: Any, upn: str) -> dict[str, Any]:
    flow = app.initiate_device_flow([f"{sandbox.admin_api}/.default"])
    complete_device_sign_in(flow["verification_uri"], flow["user_code"], upn)
    result: dict[str, Any] = app.acquire_token_by_device_flow(flow)
    return result


def test_refresh_with_msal_and_its_failures(sandbox: Sandbox) -> None:
    app = _app(sandbox)
    first = _device_tokens(sandbox, app, ADMIN)
    [account] = app.get_accounts()
    fresh = app.acquire_token_silent(
        [f"{sandbox.admin_api}/.default"], account=account, force_refresh=True
    )
    assert fresh["access_token"] != first["access_token"]
    # MFA now required: a refresh fails the way Entra says so.
    user = sandbox.state.account(ADMIN)
    assert user is not None
    user.sign_in_error = "AADSTS50076"
    with sandbox.http_session() as http:
        form = {
            "client_id": EXCHANGE_POWERSHELL_CLIENT_ID,
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "scope": f"{sandbox.admin_api}/.default",
        }
        response = http.post(f"{sandbox.authority}/oauth2/v2.0/token", data=form)
        assert _aad(response) == ("invalid_grant", 50076)
        user.sign_in_error = None
        assert sandbox.identity.revoke_refresh_tokens(ADMIN) >= 1
        response = http.post(f"{sandbox.authority}/oauth2/v2.0/token", data=form)
        assert _aad(response) == ("invalid_grant", 50173)


def test_expired_refresh_token_is_aadsts700082(sandbox: Sandbox) -> None:
    app = _app(sandbox)
    tokens = _device_tokens(sandbox, app, ADMIN)
    sandbox.identity.expire_refresh_tokens(ADMIN)
    with sandbox.http_session() as http:
        response = http.post(
            f"{sandbox.authority}/oauth2/v2.0/token",
            data={
                "client_id": EXCHANGE_POWERSHELL_CLIENT_ID,
                "grant_type": "refresh_token",
                "refresh_token": tokens["refresh_token"],
                "scope": f"{sandbox.admin_api}/.default",
            },
        )
    assert _aad(response) == ("invalid_grant", 700082)


# -- token verification ------------------------------------------------------------------------


def test_verify_names_the_problem(sandbox: Sandbox) -> None:
    good = sandbox.issue_token(ADMIN, [f"{sandbox.admin_api}/.default"])
    assert sandbox.tokens.verify(good, sandbox.admin_api)["upn"] == ADMIN
    cases = {
        TokenProblem.EXPIRED: (
            sandbox.issue_token(ADMIN, [f"{sandbox.admin_api}/.default"], lifetime=-60),
            sandbox.admin_api,
        ),
        TokenProblem.WRONG_AUDIENCE: (good, sandbox.graph),
        TokenProblem.MALFORMED: ("not-a-jwt", sandbox.admin_api),
        TokenProblem.BAD_SIGNATURE: (
            good[:-8] + ("A" * 8 if not good.endswith("A" * 8) else "B" * 8),
            sandbox.admin_api,
        ),
    }
    for reason, (token, audience) in cases.items():
        with pytest.raises(InvalidToken) as caught:
            sandbox.tokens.verify(token, audience)
        assert caught.value.reason is reason


def test_a_token_from_another_sandbox_does_not_verify(sandbox: Sandbox) -> None:
    other = TokenService(authority_host=sandbox.identity_url, tenant_id=sandbox.state.tenant_id)
    account = sandbox.state.account(ADMIN)
    assert account is not None
    forged = other.access_token(
        account,
        audience=sandbox.admin_api,
        scopes=["Exchange.Manage"],
        client_id=EXCHANGE_POWERSHELL_CLIENT_ID,
    )
    with pytest.raises(InvalidToken) as caught:
        sandbox.tokens.verify(forged, sandbox.admin_api)
    assert caught.value.reason is TokenProblem.BAD_SIGNATURE


# --- first-party clients: AADSTS65002 for resources they are not pre-authorised for ---


def test_exchange_client_asking_for_smtp_send_is_refused_at_once_in_the_browser(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The error is sent back to the app's redirect URI, so the sign-in ends at once.
    result, _ = _interactive(
        sandbox, monkeypatch, "scanner@contoso.example", ["https://outlook.office.com/SMTP.Send"]
    )
    assert "access_token" not in result
    assert result["error_description"].startswith("AADSTS65002")
    assert EXCHANGE_POWERSHELL_CLIENT_ID in result["error_description"]


@pytest.mark.parametrize(
    ("client_id", "scope_of"),
    [
        (EXCHANGE_POWERSHELL_CLIENT_ID, lambda s: f"{s.graph}/Domain.Read.All"),
        (EXCHANGE_POWERSHELL_CLIENT_ID, lambda s: "https://outlook.office.com/SMTP.Send"),
        (GRAPH_CLI_CLIENT_ID, lambda s: f"{s.admin_api}/.default"),
        (GRAPH_CLI_CLIENT_ID, lambda s: "https://outlook.office.com/SMTP.Send"),
    ],
)
def test_first_party_clients_get_65002_for_other_resources_with_a_code(
    sandbox: Sandbox, client_id: str, scope_of: Any
) -> None:
    with sandbox.http_session() as http:
        response = http.post(
            f"{sandbox.authority}/oauth2/v2.0/devicecode",
            data={"client_id": client_id, "scope": scope_of(sandbox)},
        )
    assert response.status_code == 400
    assert _aad(response) == ("invalid_client", 65002)


def test_each_client_gets_its_own_resource(sandbox: Sandbox) -> None:
    for client_id, scope in (
        (EXCHANGE_POWERSHELL_CLIENT_ID, f"{sandbox.admin_api}/.default"),
        (GRAPH_CLI_CLIENT_ID, f"{sandbox.graph}/Domain.Read.All {sandbox.graph}/Policy.Read.All"),
        (DEMO_MAILBOX_TEST_CLIENT_ID, "https://outlook.office.com/SMTP.Send"),
    ):
        flow = _app(sandbox, client_id).initiate_device_flow(scope.split())
        assert "user_code" in flow, (client_id, flow)
