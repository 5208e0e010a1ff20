"""The mailbox-test app registration, made through the sandbox's Graph, then used.

The admin signs in (admin API and Graph clients), the wizard creates a multi-tenant
public client with SMTP.Send and consents to it in the tenant, a second run changes
nothing, and the mailbox's OAuth test signs in with the new app and is accepted by the
sandbox's submission endpoint with XOAUTH2.
"""

from __future__ import annotations

import base64
import smtplib
import ssl

import pytest

from tests.m365_helpers import ADMIN, SCANNER, sign_in
from wizard.core.clouds import AppJob
from wizard.core.errors import PermissionDenied
from wizard.sandbox.identity.browser import StandInBrowser
from wizard.sandbox.server import Sandbox
from wizard.services.app_registration import (
    APP_TAG,
    EXCHANGE_RESOURCE_APP_ID,
    SMTP_SEND_SCOPE_ID,
    ensure_mailbox_test_app,
)
from wizard.services.graph import Graph
from wizard.services.signin import CloudAppIds, SignIn, SignInSettings, jwt_claims


def _writer(sandbox: Sandbox, signin: SignIn) -> Graph:
    """Graph as the admin, with the permissions that create apps and grant consent."""

    def token(force_refresh: bool = False) -> str:
        return signin.token_for(
            sandbox.cloud.graph_app_admin_scopes,
            force_refresh=force_refresh,
            username=ADMIN,
            job=AppJob.GRAPH_READ,
        )

    return Graph(sandbox.cloud, token)


def test_create_once_then_find_it_again(sandbox: Sandbox) -> None:
    signin, _ = sign_in(sandbox)
    graph = _writer(sandbox, signin)
    first = ensure_mailbox_test_app(graph)
    assert first.created and set(first.granted) == {"SMTP.Send", "offline_access User.Read"}
    [app] = sandbox.graph_api.apps.applications
    assert app["signInAudience"] == "AzureADMultipleOrgs"
    assert app["isFallbackPublicClient"] is True
    assert app["publicClient"]["redirectUris"] == ["http://localhost"]
    assert APP_TAG in app["tags"]
    exchange = next(
        r for r in app["requiredResourceAccess"] if r["resourceAppId"] == EXCHANGE_RESOURCE_APP_ID
    )
    assert exchange["resourceAccess"] == [{"id": SMTP_SEND_SCOPE_ID, "type": "Scope"}]
    assert {g["consentType"] for g in sandbox.graph_api.apps.grants} == {"AllPrincipals"}
    again = ensure_mailbox_test_app(graph)
    assert not again.created and again.granted == ()
    assert again.client_id == first.client_id
    assert len(sandbox.graph_api.apps.applications) == 1
    assert len(sandbox.graph_api.apps.grants) == 2


def test_the_created_app_sends_the_oauth_test(sandbox: Sandbox) -> None:
    signin, _ = sign_in(sandbox)
    made = ensure_mailbox_test_app(_writer(sandbox, signin))
    settings = SignInSettings().with_cloud_apps(
        sandbox.cloud, CloudAppIds(mailbox_test=made.client_id)
    )
    mailbox = SignIn(sandbox.cloud, settings)
    assert mailbox.client_for(AppJob.MAILBOX_TEST) == made.client_id
    browser = StandInBrowser(SCANNER, ca_pem=sandbox.ca_pem)
    mailbox._opener = browser.open
    mailbox.sign_in_browser(mailbox=SCANNER, timeout=20)
    browser.join(10)
    token = mailbox.smtp_send_token(SCANNER)
    assert jwt_claims(token)["appid"] == made.client_id
    sandbox.state.smtp_client_auth_disabled = False
    context = ssl.create_default_context(cafile=str(sandbox.ca_pem))
    endpoint = sandbox.cloud.smtp
    with smtplib.SMTP(endpoint.host, endpoint.port, timeout=10) as smtp:
        smtp.starttls(context=context)
        smtp.ehlo()
        xoauth2 = base64.b64encode(f"user={SCANNER}\x01auth=Bearer {token}\x01\x01".encode())
        code, _ = smtp.docmd("AUTH", "XOAUTH2 " + xoauth2.decode())
        assert code == 235
        refused = smtp.sendmail(SCANNER, [SCANNER], b"Subject: OAuth test\r\n\r\nHello\r\n")
        assert refused == {}


def test_without_the_write_permissions_graph_refuses(sandbox: Sandbox) -> None:
    signin, _ = sign_in(sandbox)
    with pytest.raises(PermissionDenied):
        ensure_mailbox_test_app(Graph(sandbox.cloud, signin.graph_token))
    assert sandbox.graph_api.apps.applications == []
