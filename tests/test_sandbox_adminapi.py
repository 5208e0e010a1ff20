"""The sandbox's Exchange admin API (InvokeCommand), driven with requests."""

from __future__ import annotations

import base64
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from wizard.core.clouds import EXCHANGE_POWERSHELL_CLIENT_ID
from wizard.sandbox.exchange.rbac import role_group_admin
from wizard.sandbox.identity.tokens import DEFAULT_USER_ROLE_ID, TokenService
from wizard.sandbox.server import Sandbox
from wizard.sandbox.tenant import HttpFault, TraceEntry, TraceStatus, TransportRule

ADMIN = "admin@contoso.example"


def _token(sandbox: Sandbox, upn: str = ADMIN, **kw: Any) -> str:
    return sandbox.issue_token(upn, [f"{sandbox.admin_api}/.default"], **kw)


def invoke(
    sandbox: Sandbox,
    cmdlet: str,
    parameters: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    url: str | None = None,
    timeout: float = 10,
) -> requests.Response:
    auth = token if token is not None else _token(sandbox)
    sent = {
        "Authorization": f"Bearer {auth}",
        "X-AnchorMailbox": f"UPN:{ADMIN}",
        "Content-Type": "application/json",
    }
    sent.update(headers or {})
    body: dict[str, Any] = {"CmdletInput": {"CmdletName": cmdlet}}
    if parameters is not None:
        body["CmdletInput"]["Parameters"] = parameters
    with sandbox.http_session() as http:
        return http.post(
            url or sandbox.cloud.admin_api_url(sandbox.state.tenant_id),
            json=body,
            headers=sent,
            timeout=timeout,
        )


def ok(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "@odata.context" in body and isinstance(body["value"], list)
    return body


def failure(response: requests.Response, status: int) -> tuple[str, str, str]:
    """(error.code, exception type, text) of an Exchange error answer."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    inner = error["innererror"]
    assert inner["type"] == "Microsoft.Exchange.Admin.OData.Core.ODataServiceException"
    if "details" in error:
        _, exc_type, text = error["details"][0]["message"].split("|", 2)
    else:
        exc_type, text = inner["internalexception"]["type"], inner["internalexception"]["message"]
    return error["code"], exc_type, text


CONNECTOR = {
    "Name": "Scanner relay",
    "ConnectorType": "OnPremises",
    "SenderDomains": ["contoso.example"],
    "SenderIPAddresses": ["203.0.113.25"],
    "RestrictDomainsToIPAddresses": True,
    "RequireTls": True,
}


# -- happy paths ------------------------------------------------------------------------------


def test_read_cmdlets(sandbox: Sandbox) -> None:
    domains = ok(invoke(sandbox, "Get-AcceptedDomain"))["value"]
    assert [(d["DomainName"], d["Default"], d["InitialDomain"]) for d in domains] == [
        ("contoso.example", True, False),
        ("contosodemo.onmicrosoft.com", False, True),
    ]
    [transport] = ok(invoke(sandbox, "Get-TransportConfig"))["value"]
    assert transport["SmtpClientAuthenticationDisabled"] is True
    assert transport["AllowLegacyTLSClients"] is False
    [org] = ok(invoke(sandbox, "Get-OrganizationConfig"))["value"]
    assert org["RejectDirectSend"] is False
    [dkim] = ok(invoke(sandbox, "Get-DkimSigningConfig", {"Identity": "contoso.example"}))["value"]
    assert dkim["Selector2CNAME"] == sandbox.state.dkim[0].selector2_cname
    mailboxes = ok(invoke(sandbox, "Get-Mailbox"))["value"]
    assert "scanner@contoso.example" in {m["PrimarySmtpAddress"] for m in mailboxes}
    [scanner] = ok(invoke(sandbox, "Get-Mailbox", {"Identity": "scanner"}))["value"]
    assert scanner["RecipientTypeDetails"] == "UserMailbox"


def test_tenant_may_be_named_by_domain_in_the_url(sandbox: Sandbox) -> None:
    url = sandbox.cloud.admin_api_url("contosodemo.onmicrosoft.com")
    assert ok(invoke(sandbox, "Get-AcceptedDomain", url=url))["value"]
    other = sandbox.cloud.admin_api_url("fabrikam.example")
    assert invoke(sandbox, "Get-AcceptedDomain", url=other).status_code == 404


def test_set_transport_config_and_the_no_change_warning(sandbox: Sandbox) -> None:
    params = {"SmtpClientAuthenticationDisabled": False, "AllowLegacyTLSClients": True}
    body = ok(invoke(sandbox, "Set-TransportConfig", params))
    assert "@adminapi.warnings" not in body
    assert sandbox.state.smtp_client_auth_disabled is False
    assert sandbox.state.allow_legacy_tls_clients is True
    again = ok(invoke(sandbox, "Set-TransportConfig", params))
    assert again["@adminapi.warnings"] == [
        "The command completed successfully but no settings of 'Transport Settings' have been "
        "modified."
    ]


@pytest.mark.parametrize("value", [True, False, None])
def test_set_cas_mailbox_true_false_null(sandbox: Sandbox, value: bool | None) -> None:
    mailbox = sandbox.state.mailbox("scanner@contoso.example")
    assert mailbox is not None
    mailbox.smtp_client_auth_disabled = "unset"  # type: ignore[assignment]  # any other value
    params = {"Identity": "scanner@contoso.example", "SmtpClientAuthenticationDisabled": value}
    ok(invoke(sandbox, "Set-CASMailbox", params))
    assert mailbox.smtp_client_auth_disabled is value
    [cas] = ok(invoke(sandbox, "Get-CASMailbox", {"Identity": "scanner"}))["value"]
    assert cas["SmtpClientAuthenticationDisabled"] is value
    # null inherits the tenant switch (off for this tenant).
    expected = True if value is None else value
    assert sandbox.state.effective_smtp_auth_disabled(mailbox) is expected


def test_set_organization_config_reject_direct_send(sandbox: Sandbox) -> None:
    ok(invoke(sandbox, "Set-OrganizationConfig", {"RejectDirectSend": True}))
    assert sandbox.state.reject_direct_send is True
    body = ok(invoke(sandbox, "Set-OrganizationConfig", {"RejectDirectSend": True}))
    assert "no settings of" in body["@adminapi.warnings"][0]


def test_get_transport_rule_names_conditions_and_actions_as_exchange(sandbox: Sandbox) -> None:
    sandbox.state.transport_rules.append(
        TransportRule(
            "Block scanner spoofing",
            priority=0,
            sender_ip_ranges=["198.51.100.0/24"],
            sender_domain_is=["contoso.example"],
            actions={"Quarantine": True, "SetSCL": 9},
        )
    )
    [rule] = ok(invoke(sandbox, "Get-TransportRule"))["value"]
    assert rule["SenderIpRanges"] == ["198.51.100.0/24"]
    assert rule["SenderDomainIs"] == ["contoso.example"]
    assert (rule["Quarantine"], rule["SetSCL"], rule["DeleteMessage"]) == (True, 9, False)
    assert (rule["State"], rule["Mode"], rule["Priority"]) == ("Enabled", "Enforce", 0)


def module_key(sandbox: Sandbox) -> rsa.RSAPublicKey:
    """The public key in the sandbox's EXOModuleFile answer, read as a client would."""
    url = f"{sandbox.admin_api}/AdminApi/v1.0/{sandbox.state.tenant_id}/EXOModuleFile"
    with sandbox.http_session() as http:
        answer = http.get(url, headers={"Authorization": f"Bearer {_token(sandbox)}"}, timeout=10)
    assert answer.status_code == 200, answer.text
    module = base64.b64decode(answer.json()["value"][0]["encodedModule"]).decode()
    found = re.search(r"<Modulus>(.+?)</Modulus><Exponent>(.+?)</Exponent>", module)
    assert found is not None, module[:300]
    n, e = (int.from_bytes(base64.b64decode(found.group(i)), "big") for i in (1, 2))
    return rsa.RSAPublicNumbers(e, n).public_key()


def encrypted(sandbox: Sandbox, value: str, key: rsa.RSAPublicKey | None = None) -> str:
    """A SecureString value as Microsoft's module sends it (ExoHelper EncryptValue)."""
    key = key if key is not None else module_key(sandbox)
    return base64.b64encode(key.encrypt(value.encode(), padding.PKCS1v15())).decode()


def test_new_mail_user_hve_account(sandbox: Sandbox) -> None:
    params = {
        "Name": "HVE scanner",
        "PrimarySmtpAddress": "hve-scanner@contoso.example",
        "Password": encrypted(sandbox, "S3cret!pass"),
        "HVEAccount": True,
    }
    [user] = ok(invoke(sandbox, "New-MailUser", params))["value"]
    assert user["RecipientTypeDetails"] == "HVEAccount"
    mailbox = sandbox.state.mailbox("hve-scanner@contoso.example")
    assert mailbox is not None and mailbox.hve_account and not mailbox.licensed
    account = sandbox.state.account("hve-scanner@contoso.example")
    assert account is not None and account.password == "S3cret!pass"
    # Not a mailbox, and not logged with its password.
    assert invoke(sandbox, "Get-Mailbox", {"Identity": "hve-scanner"}).status_code == 404
    assert sandbox.state.admin_calls[-2].parameters["Password"] == "***"
    code, exc_type, _ = failure(invoke(sandbox, "New-MailUser", params), 400)
    assert exc_type.endswith("ProxyAddressExistsException")
    outside = dict(params, Name="x", PrimarySmtpAddress="x@fabrikam.example")
    assert "isn't an accepted domain" in failure(invoke(sandbox, "New-MailUser", outside), 400)[2]
    listed = ok(invoke(sandbox, "Get-MailUser", {"HVEAccount": True}))["value"]
    assert [u["PrimarySmtpAddress"] for u in listed] == ["hve-scanner@contoso.example"]


def test_service_principal_and_mailbox_permission(sandbox: Sandbox) -> None:
    app_id, object_id = (
        "6d3f1a57-8b1c-4c8e-9f0e-2a3b4c5d6e7f",
        "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    )
    [sp] = ok(
        invoke(
            sandbox,
            "New-ServicePrincipal",
            {"AppId": app_id, "ObjectId": object_id, "DisplayName": "Scanner app"},
        )
    )["value"]
    assert sp["AppId"] == app_id
    permission = {
        "Identity": "scanner@contoso.example",
        "User": object_id,
        "AccessRights": ["FullAccess"],
        "InheritanceType": "All",
    }
    [row] = ok(invoke(sandbox, "Add-MailboxPermission", permission))["value"]
    assert row["AccessRights"] == ["FullAccess"]
    mailbox = sandbox.state.mailbox("scanner@contoso.example")
    assert mailbox is not None and object_id in mailbox.full_access
    again = ok(invoke(sandbox, "Add-MailboxPermission", permission))
    assert again["@adminapi.warnings"][0].startswith("An existing permission entry was found")
    dup = invoke(sandbox, "New-ServicePrincipal", {"AppId": app_id, "ObjectId": object_id})
    assert failure(dup, 400)[1].endswith("ADObjectAlreadyExistsException")
    nobody = dict(permission, User="ghost@contoso.example")
    assert failure(invoke(sandbox, "Add-MailboxPermission", nobody), 404)[0] == "NotFound"


def test_message_trace_v2_filters(sandbox: Sandbox) -> None:
    now = datetime.now(UTC)
    sandbox.state.trace.extend(
        [
            TraceEntry(
                "<a@x>",
                "scanner@contoso.example",
                ["user@contoso.example"],
                "Scan 1",
                TraceStatus.DELIVERED,
                "203.0.113.25",
                "mx",
                received=now - timedelta(hours=1),
            ),
            TraceEntry(
                "<b@x>",
                "scanner@contoso.example",
                ["user@contoso.example", "admin@contoso.example"],
                "Invoice scan",
                TraceStatus.FAILED,
                "203.0.113.25",
                "mx",
                received=now - timedelta(minutes=5),
            ),
            TraceEntry(
                "<c@x>",
                "other@fabrikam.example",
                ["user@contoso.example"],
                "Old",
                TraceStatus.DELIVERED,
                "198.51.100.7",
                "mx",
                received=now - timedelta(days=5),
            ),
        ]
    )
    rows = ok(invoke(sandbox, "Get-MessageTraceV2"))["value"]
    assert [r["MessageId"] for r in rows] == ["<b@x>", "<b@x>", "<a@x>"]  # newest first, 48 h
    rows = ok(
        invoke(
            sandbox,
            "Get-MessageTraceV2",
            {
                "SenderAddress": "scanner@contoso.example",
                "RecipientAddress": "admin@contoso.example",
            },
        )
    )["value"]
    assert [(r["MessageId"], r["Status"]) for r in rows] == [("<b@x>", "Failed")]
    week = {"StartDate": (now - timedelta(days=7)).isoformat(), "EndDate": now.isoformat()}
    rows = ok(invoke(sandbox, "Get-MessageTraceV2", dict(week, MessageId="c@x")))["value"]
    assert [r["FromIP"] for r in rows] == ["198.51.100.7"]
    rows = ok(
        invoke(sandbox, "Get-MessageTraceV2", {"Subject": "scan", "SubjectFilterType": "EndsWith"})
    )["value"]
    assert {r["MessageId"] for r in rows} == {"<b@x>"}
    too_long = {"StartDate": (now - timedelta(days=20)).isoformat(), "EndDate": now.isoformat()}
    assert "10 days" in failure(invoke(sandbox, "Get-MessageTraceV2", too_long), 400)[2]


# -- connectors ---------------------------------------------------------------------------------


def test_connector_lifecycle(sandbox: Sandbox) -> None:
    [created] = ok(invoke(sandbox, "New-InboundConnector", CONNECTOR))["value"]
    assert created["SenderDomains"] == ["smtp:contoso.example;1"]
    assert created["SenderIPAddresses"] == ["203.0.113.25"]
    [connector] = sandbox.state.connectors
    assert connector.restrict_domains_to_ip_addresses and connector.require_tls
    change = {
        "Identity": "Scanner relay",
        "SenderIPAddresses": {
            "@odata.type": "#Exchange.GenericHashTable",
            "Add": ["198.51.100.0/24"],
        },
    }
    assert "@adminapi.warnings" not in ok(invoke(sandbox, "Set-InboundConnector", change))
    assert sandbox.state.connectors[0].sender_ip_addresses == ["203.0.113.25", "198.51.100.0/24"]
    same = ok(
        invoke(sandbox, "Set-InboundConnector", {"Identity": "Scanner relay", "RequireTls": True})
    )
    assert "no settings of 'Scanner relay'" in same["@adminapi.warnings"][0]
    [got] = ok(invoke(sandbox, "Get-InboundConnector", {"Identity": "scanner relay"}))["value"]
    assert got["Guid"] == connector.identity
    ok(invoke(sandbox, "Remove-InboundConnector", {"Identity": "Scanner relay", "Confirm": False}))
    assert sandbox.state.connectors == []
    code, exc_type, text = failure(
        invoke(sandbox, "Remove-InboundConnector", {"Identity": "Scanner relay"}), 404
    )
    assert (code, exc_type) == (
        "NotFound",
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
    )
    assert text.startswith("The operation couldn't be performed because object 'Scanner relay'")
    detail = invoke(sandbox, "Get-InboundConnector", {"Identity": "nope"}).json()
    assert detail["error"]["details"][0]["message"].startswith("Ex6F9304|")


@pytest.mark.parametrize(
    "change,fragment",
    [
        ({"SenderIPAddresses": ["2001:db8::1"]}, "IPv6"),
        ({"SenderIPAddresses": ["203.0.112.0/23"]}, "/24 to /32"),
        ({"SenderIPAddresses": ["not-an-ip"]}, "isn't a valid IPv4"),
        ({"SenderIPAddresses": [], "RestrictDomainsToIPAddresses": True}, "SenderIPAddresses must"),
        ({"RestrictDomainsToCertificate": True}, "TlsSenderCertificateName must"),
        ({"SenderIPAddresses": [], "RestrictDomainsToIPAddresses": False}, "OnPremises inbound"),
        ({"SenderDomains": ["not a domain"]}, "isn't a valid domain"),
    ],
)
def test_new_connector_validation(sandbox: Sandbox, change: dict[str, Any], fragment: str) -> None:
    code, exc_type, text = failure(
        invoke(sandbox, "New-InboundConnector", dict(CONNECTOR, **change)), 400
    )
    assert code == "BadRequest" and fragment in text
    assert sandbox.state.connectors == []


def test_connector_binding_errors(sandbox: Sandbox) -> None:
    missing = {k: v for k, v in CONNECTOR.items() if k != "SenderDomains"}
    code, exc_type, text = failure(invoke(sandbox, "New-InboundConnector", missing), 400)
    assert exc_type == "System.Management.Automation.ParameterBindingException"
    assert text.endswith("missing mandatory parameters: SenderDomains.")
    response = invoke(sandbox, "New-InboundConnector", dict(CONNECTOR, ConnectorType="Cloud"))
    error = response.json()["error"]
    assert "details" not in error  # as Exchange sends it: innererror only
    assert (
        "Specify one of the following enumerator names and try again: OnPremises, Partner"
        in (error["innererror"]["internalexception"]["message"])
    )
    ok(invoke(sandbox, "New-InboundConnector", CONNECTOR))
    code, exc_type, text = failure(invoke(sandbox, "New-InboundConnector", CONNECTOR), 400)
    assert exc_type.endswith("ADObjectAlreadyExistsException") and "already in use" in text


def test_unknown_cmdlet_and_bad_parameters(sandbox: Sandbox) -> None:
    code, exc_type, text = failure(invoke(sandbox, "Get-Nonsense"), 400)
    assert exc_type == "System.Management.Automation.CommandNotFoundException"
    assert text.startswith("The term 'Get-Nonsense' is not recognized as the name of a cmdlet")
    response = invoke(sandbox, "Get-TransportConfig", {"Bogus": 1})
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("BadRequest", "Invalid Operation")
    assert error["details"][0]["message"] == (
        "|Microsoft.Exchange.AdminApi.CommandInvocation.AmbiguousParameterSetException|"
        "Parameter set cannot be resolved using the specified named parameters. Invalid cmdlet "
        "parameters specified. Bogus"
    )
    bad_bool = invoke(sandbox, "Set-TransportConfig", {"SmtpClientAuthenticationDisabled": "no"})
    assert "Boolean parameters accept only Boolean values" in failure(bad_bool, 400)[2]
    assert invoke(sandbox, "Get-Mailbox", {"Identity": "ghost"}).status_code == 404
    with sandbox.http_session() as http:
        garbage = http.post(
            sandbox.cloud.admin_api_url(sandbox.state.tenant_id),
            data=b"{",
            headers={"Authorization": f"Bearer {_token(sandbox)}"},
        )
    assert garbage.status_code == 400


def test_paging_follows_next_link_with_the_same_body(sandbox: Sandbox) -> None:
    for n in range(5):
        ok(invoke(sandbox, "New-InboundConnector", dict(CONNECTOR, Name=f"Relay {n}")))
    seen: list[str] = []
    url: str | None = None
    pages = 0
    while True:
        body = ok(
            invoke(
                sandbox, "Get-InboundConnector", url=url, headers={"Prefer": "odata.maxpagesize=2"}
            )
        )
        seen += [c["Name"] for c in body["value"]]
        pages += 1
        url = body.get("@odata.nextLink")
        if url is None:
            break
        assert len(body["value"]) == 2
    assert pages == 3 and seen == [f"Relay {n}" for n in range(5)]


# -- authentication, roles, faults ---------------------------------------------------------------


def _challenge(response: requests.Response) -> str:
    assert response.status_code == 401 and response.content == b""
    return response.headers["WWW-Authenticate"]


def test_token_checks(sandbox: Sandbox) -> None:
    assert "error=" not in _challenge(invoke(sandbox, "Get-AcceptedDomain", token=""))
    expired = invoke(sandbox, "Get-AcceptedDomain", token=_token(sandbox, lifetime=-60))
    assert 'error="invalid_token"' in _challenge(expired)
    assert "expired" in expired.headers["x-ms-diagnostics"]
    graph_token = sandbox.issue_token(ADMIN, [f"{sandbox.graph}/.default"])
    wrong = invoke(sandbox, "Get-AcceptedDomain", token=graph_token)
    _challenge(wrong)
    assert 'error_category="invalid_resource"' in wrong.headers["x-ms-diagnostics"]
    other = TokenService(authority_host=sandbox.identity_url, tenant_id=sandbox.state.tenant_id)
    account = sandbox.state.account(ADMIN)
    assert account is not None
    forged = other.access_token(
        account,
        audience=sandbox.admin_api,
        scopes=["Exchange.Manage"],
        client_id=EXCHANGE_POWERSHELL_CLIENT_ID,
    )
    assert (
        "signing key"
        in invoke(sandbox, "Get-AcceptedDomain", token=forged).headers["x-ms-diagnostics"]
    )
    assert sandbox.state.admin_calls == []  # refused before any cmdlet ran


def test_a_user_without_an_admin_role_is_refused(sandbox: Sandbox) -> None:
    response = invoke(
        sandbox, "Get-InboundConnector", token=_token(sandbox, "user@contoso.example")
    )
    code, exc_type, text = failure(response, 403)
    assert code == "Forbidden" and "isn't assigned to any management roles" in text
    exch = invoke(
        sandbox, "Get-InboundConnector", token=_token(sandbox, "exchadmin@contoso.example")
    )
    assert exch.status_code == 200


def test_an_organization_management_member_without_an_entra_role_runs_the_cmdlets(
    sandbox: Sandbox,
) -> None:
    upn = role_group_admin(sandbox.state)
    token = _token(sandbox, upn)
    # The token names no admin role: only the "User" role every member has.
    assert sandbox.tokens.verify(token, sandbox.admin_api)["wids"] == [DEFAULT_USER_ROLE_ID]
    assert ok(invoke(sandbox, "Get-InboundConnector", token=token))["value"] == []
    changed = invoke(
        sandbox, "Set-TransportConfig", {"SmtpClientAuthenticationDisabled": True}, token=token
    )
    assert changed.status_code == 200
    assert [(c.caller, c.status) for c in sandbox.state.admin_calls] == [(upn, 200), (upn, 200)]


def test_throttling_and_server_errors(sandbox: Sandbox) -> None:
    sandbox.state.http_faults += [
        HttpFault(429, retry_after=7, match="Get-AcceptedDomain"),
        HttpFault(500),
        HttpFault(503, retry_after=2.5),
    ]
    assert invoke(sandbox, "Get-TransportConfig").status_code == 500  # matches any cmdlet
    throttled = invoke(sandbox, "Get-AcceptedDomain")
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "7"
    assert throttled.json()["error"]["code"] == "TooManyRequests"
    unavailable = invoke(sandbox, "Get-AcceptedDomain")
    assert unavailable.status_code == 503 and unavailable.headers["Retry-After"] == "3"
    assert ok(invoke(sandbox, "Get-AcceptedDomain"))["value"]  # faults are used up
    assert [c.status for c in sandbox.state.admin_calls] == [500, 429, 503, 200]


def test_slow_answer(sandbox: Sandbox) -> None:
    sandbox.state.http_faults.append(HttpFault(200, delay=0.3))
    began = time.monotonic()
    assert ok(invoke(sandbox, "Get-AcceptedDomain"))["value"]
    assert time.monotonic() - began >= 0.3
    sandbox.state.http_faults.append(HttpFault(200, delay=30))
    with pytest.raises(requests.exceptions.ReadTimeout):
        invoke(sandbox, "Get-AcceptedDomain", timeout=0.2)
    # Stopping does not wait out the 30 s answer still in progress.
    began = time.monotonic()
    sandbox.stop()
    assert time.monotonic() - began < 5
