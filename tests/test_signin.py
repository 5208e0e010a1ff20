"""Sign-in against the sandbox's identity provider, through the real MSAL and HTTP stack."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.m365_helpers import ADMIN, EXCHANGE_ADMIN, SCANNER, USER, sign_in
from wizard.core.clouds import EXCHANGE_POWERSHELL_CLIENT_ID, GRAPH_CLI_CLIENT_ID
from wizard.core.errors import PermissionDenied, SignInError
from wizard.sandbox.identity.browser import SignInPageError, StandInBrowser, complete_device_sign_in
from wizard.sandbox.server import Sandbox
from wizard.services.cancel import CancelFlag, Cancelled
from wizard.services.paths import config_dir
from wizard.services.signin import (
    NeedsSignIn,
    SignIn,
    SignInCancelled,
    SignInSettings,
    SignInTimedOut,
    UseDeviceCode,
    check_client_id,
    check_tenant,
    error_from_result,
    jwt_claims,
    load_settings,
    save_settings,
)


def test_browser_sign_in_as_global_admin(sandbox: Sandbox) -> None:
    signin, account = sign_in(sandbox)
    assert account.upn == ADMIN
    assert account.display_name == "Adele Admin"
    assert account.tenant_id == sandbox.state.tenant_id
    assert account.roles == frozenset({"Global Administrator"})
    assert account.has_admin_role is True
    token = signin.exchange_token()
    claims = jwt_claims(token)
    assert claims["aud"] == sandbox.cloud.exchange_api
    assert signin.account == account
    # Tokens stay in memory: nothing about them was written anywhere.
    assert not list(config_dir().glob("*")) if config_dir().exists() else True


def test_exchange_admin_role_is_recognised(sandbox: Sandbox) -> None:
    _, account = sign_in(sandbox, EXCHANGE_ADMIN)
    assert account.roles == frozenset({"Exchange Administrator"})


def test_account_without_admin_role_signs_in_and_exchange_decides(sandbox: Sandbox) -> None:
    # The token's roles are only a hint (tests/test_exchange_rbac.py: Exchange's answer).
    _, account = sign_in(sandbox, USER)
    assert account.has_admin_role is False
    assert account.role_text == "no Entra admin role in the token; Exchange will decide"


def test_cancel_in_the_browser(sandbox: Sandbox) -> None:
    browser = StandInBrowser(None, ca_pem=sandbox.ca_pem)
    signin = SignIn(sandbox.cloud, SignInSettings(), opener=browser.open)
    with pytest.raises(SignInCancelled) as caught:
        signin.sign_in_browser(timeout=20)
    browser.join(10)
    assert caught.value.what == "Sign-in was cancelled."
    assert signin.account is None


def test_timeout_when_the_browser_never_comes_back(sandbox: Sandbox) -> None:
    opened: list[str] = []

    def remember(url: str) -> bool:
        opened.append(url)
        return True

    signin = SignIn(sandbox.cloud, SignInSettings(), opener=remember)
    began = time.monotonic()
    with pytest.raises(SignInTimedOut) as caught:
        signin.sign_in_browser(timeout=0.3)
    assert time.monotonic() - began < 5
    assert "AADSTS50011" in caught.value.why
    assert opened and "response_mode=form_post" in opened[0]


def test_a_browser_command_that_never_returns_does_not_hold_the_sign_in(
    sandbox: Sandbox,
) -> None:
    # As webbrowser's generic launcher does: it waits for the browser process, which
    # stays open after "Authentication complete".
    browser = StandInBrowser(ADMIN, ca_pem=sandbox.ca_pem)
    release = threading.Event()
    returned: list[bool] = []

    def open_and_wait(url: str) -> bool:
        browser.open(url)
        release.wait(30)
        returned.append(True)
        return True

    signin = SignIn(sandbox.cloud, SignInSettings(), opener=open_and_wait)
    try:
        account = signin.sign_in_browser(timeout=20)
        browser.join(10)
        assert account.upn == ADMIN
        assert not returned, "the sign-in waited for the browser command"
    finally:
        release.set()


def test_cancel_from_the_wizard_while_waiting(sandbox: Sandbox) -> None:
    flag = CancelFlag()
    signin = SignIn(sandbox.cloud, SignInSettings(), opener=lambda url: True)
    threading.Timer(0.2, flag.cancel).start()
    with pytest.raises(Cancelled):
        signin.sign_in_browser(timeout=30, cancel=flag)


def test_no_browser_offers_a_code(sandbox: Sandbox) -> None:
    signin = SignIn(sandbox.cloud, SignInSettings(), opener=lambda url: False)
    with pytest.raises(UseDeviceCode) as caught:
        signin.sign_in_browser(timeout=10)
    assert "code" in caught.value.next_step


def test_redirect_not_registered_shows_in_the_browser_and_device_code_works(
    sandbox: Sandbox,
) -> None:
    client = str(uuid.uuid4())
    sandbox.register_client(
        client, ["https://login.microsoftonline.com/common/oauth2/nativeclient"]
    )
    sandbox.state.device_code_interval = 1
    settings = SignInSettings(client_id=client)
    browser = StandInBrowser(ADMIN, ca_pem=sandbox.ca_pem)
    signin = SignIn(sandbox.cloud, settings, opener=browser.open)
    with pytest.raises(SignInTimedOut):
        signin.sign_in_browser(timeout=1.5)
    with pytest.raises(SignInPageError) as page:
        browser.join(10)
    assert "AADSTS50011" in str(page.value) + page.value.page
    # The fallback the wizard offers: the same app signs in with a code.
    code = signin.start_device_code()
    done = threading.Thread(
        target=complete_device_sign_in, args=(code.verification_uri, code.user_code, ADMIN)
    )
    done.start()
    account = signin.finish_device_code(code)
    done.join(10)
    assert account.upn == ADMIN


def test_device_code_sign_in(sandbox: Sandbox) -> None:
    sandbox.state.device_code_interval = 1
    signin = SignIn(sandbox.cloud, SignInSettings())
    code = signin.start_device_code()
    assert code.user_code and code.verification_uri.startswith("http")
    assert code.expires_at > time.time()
    helper = threading.Thread(
        target=complete_device_sign_in, args=(code.verification_uri, code.user_code, ADMIN)
    )
    helper.start()
    account = signin.finish_device_code(code)
    helper.join(10)
    assert account.upn == ADMIN and account.has_admin_role
    assert signin.exchange_token()


def test_device_code_declined(sandbox: Sandbox) -> None:
    sandbox.state.device_code_interval = 1
    signin = SignIn(sandbox.cloud, SignInSettings())
    code = signin.start_device_code()
    helper = threading.Thread(
        target=complete_device_sign_in, args=(code.verification_uri, code.user_code, None)
    )
    helper.start()
    with pytest.raises(SignInCancelled):
        signin.finish_device_code(code)
    helper.join(10)


def test_device_code_cancelled_in_the_wizard(sandbox: Sandbox) -> None:
    sandbox.state.device_code_interval = 1
    signin = SignIn(sandbox.cloud, SignInSettings())
    code = signin.start_device_code()
    flag = CancelFlag()
    threading.Timer(0.2, flag.cancel).start()
    began = time.monotonic()
    with pytest.raises(Cancelled):
        signin.finish_device_code(code, cancel=flag)
    assert time.monotonic() - began < 4


def test_device_code_expired(sandbox: Sandbox) -> None:
    sandbox.state.device_code_interval = 1
    signin = SignIn(sandbox.cloud, SignInSettings())
    code = signin.start_device_code()
    sandbox.identity.expire_device_codes()
    with pytest.raises(SignInTimedOut) as caught:
        signin.finish_device_code(code)
    assert "expired" in caught.value.what


@pytest.mark.parametrize(
    "error,expected_type,words",
    [
        ("AADSTS50076", SignInError, "multi-factor"),
        ("AADSTS53003", PermissionDenied, "Conditional Access"),
    ],
)
def test_mfa_and_conditional_access_refusals(
    sandbox: Sandbox, error: str, expected_type: type[Exception], words: str
) -> None:
    account = sandbox.state.account(ADMIN)
    assert account is not None
    account.sign_in_error = error
    browser = StandInBrowser(ADMIN, ca_pem=sandbox.ca_pem)
    signin = SignIn(sandbox.cloud, SignInSettings(), opener=browser.open)
    with pytest.raises(expected_type) as caught:
        signin.sign_in_browser(timeout=20)
    browser.join(10)
    assert words in caught.value.what  # type: ignore[attr-defined]
    assert error in caught.value.detail  # type: ignore[attr-defined]


def test_unknown_client_id(sandbox: Sandbox) -> None:
    signin = SignIn(sandbox.cloud, SignInSettings(client_id=str(uuid.uuid4())))
    with pytest.raises(SignInError) as caught:
        signin.start_device_code()
    assert "not known in this organisation" in caught.value.what
    assert "700016" in caught.value.why


def test_unknown_tenant(sandbox: Sandbox) -> None:
    signin = SignIn(sandbox.cloud, SignInSettings(tenant="nowhere.example"))
    with pytest.raises(SignInError) as caught:
        signin.start_device_code()
    assert "tenant" in caught.value.what + caught.value.why


def test_silent_refresh_and_sign_out(sandbox: Sandbox) -> None:
    signin, account = sign_in(sandbox)
    first = signin.exchange_token()
    refreshed = signin.exchange_token(force_refresh=True)
    assert first != refreshed
    assert jwt_claims(refreshed)["upn"] == ADMIN
    # Graph comes from the Graph Command Line Tools client, with the named scopes.
    graph = jwt_claims(signin.graph_token())
    assert graph["aud"] == sandbox.cloud.graph
    assert graph["appid"] == GRAPH_CLI_CLIENT_ID
    assert {"Domain.Read.All", "Policy.Read.All"} <= set(graph["scp"].split())
    signin.sign_out()
    assert signin.account is None
    with pytest.raises(NeedsSignIn):
        signin.exchange_token()


def test_revoked_refresh_token_asks_to_sign_in_again(sandbox: Sandbox) -> None:
    signin, _ = sign_in(sandbox)
    sandbox.identity.revoke_refresh_tokens(ADMIN)
    with pytest.raises(NeedsSignIn) as caught:
        signin.exchange_token(force_refresh=True)
    assert caught.value.next_step == "Sign in again."


def test_smtp_send_token_for_the_devices_mailbox(sandbox: Sandbox) -> None:
    signin, admin = sign_in(sandbox)
    with pytest.raises(NeedsSignIn):
        signin.smtp_send_token(SCANNER)
    browser = StandInBrowser(SCANNER, ca_pem=sandbox.ca_pem)
    signin._opener = browser.open
    signed = signin.sign_in_browser(mailbox=SCANNER, timeout=20)
    browser.join(10)
    assert signed.upn == SCANNER
    assert signin.account == admin  # the admin stays signed in
    claims = jwt_claims(signin.smtp_send_token(SCANNER))
    assert claims["upn"] == SCANNER
    assert "SMTP.Send" in claims["scp"].split()
    assert jwt_claims(signin.exchange_token())["upn"] == ADMIN


def test_signing_in_as_the_wrong_mailbox_is_refused(sandbox: Sandbox) -> None:
    signin, _ = sign_in(sandbox)
    browser = StandInBrowser(USER, ca_pem=sandbox.ca_pem)
    signin._opener = browser.open
    with pytest.raises(SignInError) as caught:
        signin.sign_in_browser(mailbox=SCANNER, timeout=20)
    browser.join(10)
    assert "not as scanner@" in caught.value.what
    with pytest.raises(NeedsSignIn):
        signin.smtp_send_token(USER)


def test_settings_round_trip_and_defaults() -> None:
    assert load_settings() == SignInSettings()
    assert load_settings().client_id == EXCHANGE_POWERSHELL_CLIENT_ID
    mine = SignInSettings(client_id=str(uuid.uuid4()), tenant="contoso.example")
    save_settings(mine)
    assert load_settings() == mine
    data = json.loads((config_dir() / "signin.json").read_text())
    assert data["schema_version"] == 2  # per-cloud app ids (issue 12)
    (config_dir() / "signin.json").write_text("{broken")
    assert load_settings() == SignInSettings()


@pytest.mark.parametrize(
    "text,ok,value",
    [
        ("", True, EXCHANGE_POWERSHELL_CLIENT_ID),
        ("  FB78D390-0C51-40CD-8E17-FDBFAB77341B ", True, EXCHANGE_POWERSHELL_CLIENT_ID),
        ("not-a-guid", False, None),
    ],
)
def test_client_id_validation(text: str, ok: bool, value: str | None) -> None:
    result = check_client_id(text)
    assert result.ok is ok and result.value == value


@pytest.mark.parametrize(
    "text,ok,value",
    [
        ("", True, None),
        ("organizations", True, None),
        ("Contoso.COM", True, "contoso.com"),
        ("8f0d3c1e-5b7a-4c2e-9d41-2a6b0e7c9f15", True, "8f0d3c1e-5b7a-4c2e-9d41-2a6b0e7c9f15"),
        ("not a tenant", False, None),
    ],
)
def test_tenant_validation(text: str, ok: bool, value: str | None) -> None:
    result = check_tenant(text)
    assert result.ok is ok and result.value == value


@pytest.mark.parametrize(
    "result,kind,words",
    [
        ({"error": "access_denied"}, SignInCancelled, "cancelled"),
        ({"error": "invalid_grant", "error_codes": [70008]}, NeedsSignIn, "expired"),
        (
            {"error": "invalid_request", "error_description": "AADSTS90002: Tenant 'x' not found."},
            SignInError,
            "organisation",
        ),
        ({"error": "invalid_client", "error_codes": [7000218]}, SignInError, "desktop app"),
        ({"error": "invalid_grant", "error_codes": [65001]}, PermissionDenied, "consent"),
        ({"error": "weird", "error_description": "Something else"}, SignInError, "did not"),
    ],
)
def test_error_mapping(result: dict[str, object], kind: type[Exception], words: str) -> None:
    error = error_from_result(result, client_id="c")
    assert type(error) is kind
    assert words in error.what + error.why


def test_sessions_ignore_requests_ca_bundle(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The machine's REQUESTS_CA_BUNDLE must not decide what MSAL's session trusts."""
    bogus = tmp_path / "empty.pem"
    bogus.write_text("")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bogus))
    signin, account = sign_in(sandbox)
    assert account.upn == ADMIN
    with requests.Session() as plain:  # what the variable would do to a default session
        with pytest.raises((requests.exceptions.SSLError, OSError)):
            plain.get(sandbox.authority + "/v2.0/.well-known/openid-configuration", timeout=5)


# --- one client per job ----------------------------------------------------------------


def test_the_mailbox_test_uses_the_msps_app_not_a_microsoft_one(sandbox: Sandbox) -> None:
    from wizard.core.clouds import AppJob
    from wizard.sandbox.tenant import DEMO_MAILBOX_TEST_CLIENT_ID

    signin, _ = sign_in(sandbox, graph=False)
    assert signin.client_for(AppJob.ADMIN_API) == EXCHANGE_POWERSHELL_CLIENT_ID
    assert signin.client_for(AppJob.GRAPH_READ) == GRAPH_CLI_CLIENT_ID
    assert signin.client_for(AppJob.MAILBOX_TEST) == DEMO_MAILBOX_TEST_CLIENT_ID
    browser = StandInBrowser(SCANNER, ca_pem=sandbox.ca_pem)
    signin._opener = browser.open
    signin.sign_in_browser(mailbox=SCANNER, timeout=20)
    browser.join(10)
    claims = jwt_claims(signin.smtp_send_token(SCANNER))
    assert claims["appid"] == DEMO_MAILBOX_TEST_CLIENT_ID


def test_the_exchange_client_as_mailbox_test_app_fails_at_once_with_65002(
    sandbox: Sandbox,
) -> None:
    from wizard.services.signin import CloudAppIds

    settings = SignInSettings().with_cloud_apps(
        sandbox.cloud, CloudAppIds(mailbox_test=EXCHANGE_POWERSHELL_CLIENT_ID)
    )
    signin, _ = sign_in(sandbox, settings=settings, graph=False)
    browser = StandInBrowser(SCANNER, ca_pem=sandbox.ca_pem)
    signin._opener = browser.open
    started = time.monotonic()
    with pytest.raises(PermissionDenied) as caught:
        # The full browser wait stays in force: only the redirected error ends it.
        signin.sign_in_browser(mailbox=SCANNER, timeout=300)
    assert time.monotonic() - started < 60
    assert "AADSTS65002" in caught.value.detail
    assert "65002" in caught.value.plain() or "SMTP.Send" in caught.value.plain()


def test_graph_needs_its_own_sign_in_and_says_so(sandbox: Sandbox) -> None:
    signin, _ = sign_in(sandbox, graph=False)
    with pytest.raises(NeedsSignIn) as caught:
        signin.graph_token()
    assert "Microsoft Graph" in caught.value.what
    browser = StandInBrowser(ADMIN, ca_pem=sandbox.ca_pem)
    signin._opener = browser.open
    signin.sign_in_graph(timeout=20)
    browser.join(10)
    assert jwt_claims(signin.graph_token())["appid"] == GRAPH_CLI_CLIENT_ID


def test_no_mailbox_test_app_is_explained_before_any_sign_in(sandbox: Sandbox) -> None:
    import dataclasses

    from wizard.core.clouds import CloudApps
    from wizard.services.signin import NoMailboxTestApp

    cloud = dataclasses.replace(sandbox.cloud, apps=CloudApps())
    signin = SignIn(cloud, SignInSettings(), opener=lambda url: True)
    with pytest.raises(NoMailboxTestApp) as caught:
        signin.sign_in_browser(mailbox=SCANNER, timeout=5)
    assert "app registration" in caught.value.plain()
