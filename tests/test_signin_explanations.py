"""Every AADSTS code of the facts sheet gets plain words and a next step; the per-job,
per-cloud app model and the sovereign hosts."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from wizard.core.clouds import (
    CLOUDS,
    EXCHANGE_POWERSHELL_CLIENT_ID,
    GRAPH_CLI_CLIENT_ID,
    AppJob,
    CloudApps,
    CloudId,
)
from wizard.core.errors import PermissionDenied, SignInError
from wizard.sandbox.server import Sandbox
from wizard.services.paths import config_dir
from wizard.services.signin import (
    CloudAppIds,
    SignIn,
    SignInSettings,
    UseDeviceCode,
    error_from_result,
    load_settings,
    save_settings,
)


@pytest.mark.parametrize(
    "code,kind,why_words,next_words",
    [
        (65002, PermissionDenied, "Microsoft's own apps", "app registration of your own"),
        (65001, PermissionDenied, "permissions it asks for", "admin consent"),
        (650057, PermissionDenied, "API permissions", "SMTP.Send"),
        (7000218, SignInError, "Allow public client flows", "Allow"),
        (50011, UseDeviceCode, "http://localhost", "Mobile and desktop"),
        (700016, SignInError, "not registered", "one cloud"),
    ],
)
def test_each_facts_sheet_code_is_explained(
    code: int, kind: type[Exception], why_words: str, next_words: str
) -> None:
    result = {
        "error": "invalid_request",
        "error_description": f"AADSTS{code}: something Entra said.\r\nTrace ID: x",
    }
    error = error_from_result(result, client_id=EXCHANGE_POWERSHELL_CLIENT_ID)
    assert type(error) is kind
    assert why_words in error.why
    assert next_words in error.next_step
    # No generic "did not complete" fallback for a code the wizard knows.
    assert "did not complete" not in error.what


def test_65002_names_the_client() -> None:
    error = error_from_result({"error": "invalid_client", "error_codes": [65002]}, client_id="c1")
    assert "c1" in error.why
    assert "AADSTS65002" in error.why


def test_apps_per_job_default_to_the_first_party_clients() -> None:
    apps = CLOUDS[CloudId.WORLDWIDE].apps
    assert apps.client_for(AppJob.ADMIN_API) == EXCHANGE_POWERSHELL_CLIENT_ID
    assert apps.client_for(AppJob.GRAPH_READ) == GRAPH_CLI_CLIENT_ID
    # No first-party client for SMTP.Send: the MSP's app registration or nothing.
    assert apps.client_for(AppJob.MAILBOX_TEST) is None
    assert CloudApps(mailbox_test="m").client_for(AppJob.MAILBOX_TEST) == "m"


def test_msp_app_serves_every_job() -> None:
    apps = CloudApps(msp_app="msp", mailbox_test="m")
    assert {apps.client_for(job) for job in AppJob} == {"msp"}


def test_graph_reads_ask_named_scopes() -> None:
    scopes = CLOUDS[CloudId.WORLDWIDE].graph_read_scopes
    assert "https://graph.microsoft.com/Domain.Read.All" in scopes
    assert "https://graph.microsoft.com/Policy.Read.All" in scopes
    assert not any(s.endswith("/.default") for s in scopes)


def test_sovereign_hosts() -> None:
    assert CLOUDS[CloudId.DOD].smtp.host == "outlook-dod.office365.us"
    assert CLOUDS[CloudId.GCC_HIGH].smtp.host == "smtp.office365.us"
    assert CLOUDS[CloudId.CHINA].authority_host == "https://login.partner.microsoftonline.cn"


def test_an_error_redirected_to_the_loopback_ends_the_wait_at_once(sandbox: Sandbox) -> None:
    """Entra redirects a 65002 to the redirect URI: the wait ends with the explanation,
    not after the browser timeout (BROWSER_TIMEOUT stays at its full value here)."""

    def entra_redirects_an_error(url: str) -> bool:
        query = parse_qs(urlsplit(url).query)
        # What Entra posts back (response_mode=form_post) for a refused request.
        requests.post(
            query["redirect_uri"][0],
            data={
                "error": "invalid_client",
                "error_description": "AADSTS65002: Consent between first party application "
                "and first party resource must be configured via preauthorization.",
                "state": query["state"][0],
            },
            timeout=10,
        )
        return True

    signin = SignIn(sandbox.cloud, SignInSettings(), opener=entra_redirects_an_error)
    with pytest.raises(PermissionDenied) as caught:
        signin.sign_in_browser()
    assert "AADSTS65002" in caught.value.why


def test_app_ids_per_cloud_round_trip() -> None:
    worldwide, dod = CLOUDS[CloudId.WORLDWIDE], CLOUDS[CloudId.DOD]
    mine = SignInSettings().with_cloud_apps(
        worldwide, CloudAppIds(mailbox_test="11111111-1111-1111-1111-111111111111")
    )
    mine = mine.with_cloud_apps(
        dod, CloudAppIds(mailbox_test="22222222-2222-2222-2222-222222222222")
    )
    save_settings(mine)
    loaded = load_settings()
    assert loaded == mine
    assert (
        loaded.apps_for(worldwide).client_for(AppJob.MAILBOX_TEST)
        == "11111111-1111-1111-1111-111111111111"
    )
    assert (
        loaded.apps_for(dod).client_for(AppJob.MAILBOX_TEST)
        == "22222222-2222-2222-2222-222222222222"
    )
    # Another cloud has no app of the MSP's: no SMTP app, first-party clients elsewhere.
    china = loaded.apps_for(CLOUDS[CloudId.CHINA])
    assert china.client_for(AppJob.MAILBOX_TEST) is None
    assert china.client_for(AppJob.GRAPH_READ) == GRAPH_CLI_CLIENT_ID


def test_schema_1_settings_still_load() -> None:
    (config_dir() / "signin.json").parent.mkdir(parents=True, exist_ok=True)
    (config_dir() / "signin.json").write_text(
        json.dumps({"schema_version": 1, "client_id": "", "tenant": "contoso.example"})
    )
    loaded = load_settings()
    assert loaded.tenant == "contoso.example"
    assert loaded.clouds == {}
