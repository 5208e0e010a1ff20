"""The InvokeCommand client against the sandbox's admin API: headers, paging, errors, retries."""

from __future__ import annotations

import pytest

from tests.m365_helpers import ADMIN, USER, RecordingWait, clients, sign_in
from wizard.core.errors import NetworkError, PermissionDenied, ServiceTimeout, Throttled, TlsFailure
from wizard.sandbox.server import Sandbox
from wizard.sandbox.tenant import HttpFault, InboundConnector
from wizard.services.exchange_admin import ExchangeAdmin, ExchangeCommandError, _split_detail
from wizard.services.http import RetryPolicy, make_session, retry_after_seconds, send
from wizard.services.signin import NeedsSignIn


def test_invoke_reads_the_tenant_with_the_documented_headers(sandbox: Sandbox) -> None:
    signin, account = sign_in(sandbox)
    admin, _ = clients(sandbox, signin, account)
    domains = admin.invoke("Get-AcceptedDomain").values
    assert {d["DomainName"] for d in domains} == {"contoso.example", "contosodemo.onmicrosoft.com"}
    call = sandbox.state.admin_calls[-1]
    assert call.cmdlet == "Get-AcceptedDomain" and call.caller == ADMIN and call.status == 200


def test_paging_follows_next_link_with_the_same_body(sandbox: Sandbox) -> None:
    with sandbox.state.lock:
        sandbox.state.connectors = [
            InboundConnector(f"Connector {i}", sender_ip_addresses=[f"198.51.100.{i}"])
            for i in range(5)
        ]
    signin, account = sign_in(sandbox)
    admin, _ = clients(sandbox, signin, account, page_size=2)
    before = len(sandbox.state.admin_calls)
    values = admin.invoke("Get-InboundConnector").values
    assert [v["Name"] for v in values] == [f"Connector {i}" for i in range(5)]
    pages = sandbox.state.admin_calls[before:]
    assert len(pages) == 3 and all(p.cmdlet == "Get-InboundConnector" for p in pages)


def test_warnings_are_surfaced(sandbox: Sandbox) -> None:
    signin, account = sign_in(sandbox)
    admin, _ = clients(sandbox, signin, account)
    # Setting what is already set: Exchange warns that nothing was changed.
    result = admin.invoke("Set-TransportConfig", {"SmtpClientAuthenticationDisabled": True})
    assert result.warnings and "modified" in " ".join(result.warnings).lower()


def test_cmdlet_error_is_typed_with_the_servers_text(sandbox: Sandbox) -> None:
    signin, account = sign_in(sandbox)
    admin, _ = clients(sandbox, signin, account)
    with pytest.raises(ExchangeCommandError) as caught:
        admin.invoke("Get-CASMailbox", {"Identity": "nobody@contoso.example"})
    error = caught.value
    assert error.is_not_found
    assert "nobody@contoso.example" in error.server_text
    assert error.cmdlet == "Get-CASMailbox"
    assert error.server_text in error.why
    assert "ManagementObjectNotFoundException" in error.error_type


def test_non_admin_is_refused_in_plain_words(sandbox: Sandbox) -> None:
    signin, account = sign_in(sandbox, USER)
    admin, _ = clients(sandbox, signin, account)
    with pytest.raises(PermissionDenied) as caught:
        admin.invoke("Get-InboundConnector")
    assert caught.value.what == f"{USER} may not run Get-InboundConnector in Exchange."
    assert "Exchange Administrator role, or membership of the Organization" in caught.value.why
    assert caught.value.retryable


def test_429_honours_retry_after(sandbox: Sandbox) -> None:
    signin, account = sign_in(sandbox)
    admin, _ = clients(sandbox, signin, account)
    sandbox.state.http_faults.append(HttpFault(429, retry_after=7, match="Get-TransportConfig"))
    waits = RecordingWait()
    result = admin.invoke("Get-TransportConfig", cancel=waits)
    assert result.values
    assert waits.waits == [7.0]


def test_429_that_persists_becomes_throttled(sandbox: Sandbox) -> None:
    signin, account = sign_in(sandbox)
    admin, _ = clients(sandbox, signin, account, retry=RetryPolicy(throttle_retries=2))
    for _ in range(3):
        sandbox.state.http_faults.append(HttpFault(429, match="Get-TransportConfig"))
    waits = RecordingWait()
    with pytest.raises(Throttled) as caught:
        admin.invoke("Get-TransportConfig", cancel=waits)
    assert waits.waits == [5.0, 5.0]  # the default when Retry-After is missing
    assert caught.value.retryable and caught.value.retry_after == 5.0
    assert "throttling" in caught.value.what


def test_500_on_a_read_is_retried(sandbox: Sandbox) -> None:
    signin, account = sign_in(sandbox)
    admin, _ = clients(sandbox, signin, account)
    sandbox.state.http_faults.append(HttpFault(500, match="Get-OrganizationConfig"))
    waits = RecordingWait()
    assert admin.invoke("Get-OrganizationConfig", cancel=waits).values
    assert len(waits.waits) == 1


def test_500_on_a_change_is_not_retried(sandbox: Sandbox) -> None:
    signin, account = sign_in(sandbox)
    admin, _ = clients(sandbox, signin, account)
    sandbox.state.http_faults.append(HttpFault(500, match="Set-TransportConfig"))
    with pytest.raises(ExchangeCommandError) as caught:
        admin.invoke("Set-TransportConfig", {"AllowLegacyTLSClients": True})
    assert caught.value.status == 500 and caught.value.retryable
    assert sandbox.state.allow_legacy_tls_clients is False


def test_401_refreshes_the_token_once(sandbox: Sandbox) -> None:
    expired = sandbox.issue_token(ADMIN, [sandbox.cloud.exchange_scope], lifetime=-60)
    fresh = sandbox.issue_token(ADMIN, [sandbox.cloud.exchange_scope])
    asked: list[bool] = []

    def token(force_refresh: bool = False) -> str:
        asked.append(force_refresh)
        return fresh if force_refresh else expired

    admin = ExchangeAdmin(sandbox.cloud, sandbox.state.tenant_id, ADMIN, token)
    assert admin.invoke("Get-AcceptedDomain").values
    # The host discovery asks first; its 401 leaves the client on the front door,
    # whose own 401 then refreshes the token once.
    assert asked == [False, False, True]


def test_401_twice_asks_to_sign_in_again(sandbox: Sandbox) -> None:
    expired = sandbox.issue_token(ADMIN, [sandbox.cloud.exchange_scope], lifetime=-60)
    admin = ExchangeAdmin(
        sandbox.cloud, sandbox.state.tenant_id, ADMIN, lambda force_refresh=False: expired
    )
    with pytest.raises(NeedsSignIn):
        admin.invoke("Get-AcceptedDomain")


def test_slow_answer_times_out(sandbox: Sandbox) -> None:
    token = sandbox.issue_token(ADMIN, [sandbox.cloud.exchange_scope])
    session = make_session(sandbox.cloud, timeout=(5, 0.3))
    admin = ExchangeAdmin(
        sandbox.cloud,
        sandbox.state.tenant_id,
        ADMIN,
        lambda force_refresh=False: token,
        session=session,
    )
    sandbox.state.http_faults.append(HttpFault(200, delay=2, match="Get-AcceptedDomain"))
    with pytest.raises(ServiceTimeout) as caught:
        admin.invoke("Get-AcceptedDomain")
    assert caught.value.retryable
    assert "did not answer in time" in caught.value.what


def test_untrusted_certificate_is_a_tls_failure(sandbox: Sandbox) -> None:
    session = make_session(None)  # the system store does not know the sandbox CA
    with pytest.raises(TlsFailure) as caught:
        send(session, "GET", sandbox.admin_api, service="the admin API")
    assert not caught.value.retryable
    assert "could not be verified" in caught.value.what


def test_refused_connection_is_a_network_error() -> None:
    session = make_session(None)
    with pytest.raises(NetworkError) as caught:
        send(session, "GET", "https://127.0.0.1:9/", service="nothing")
    assert caught.value.retryable


@pytest.mark.parametrize(
    "value,expected",
    [(None, 5.0), ("3", 3.0), ("-4", 0.0), ("99999", 300.0), ("soon", 5.0)],
)
def test_retry_after_parsing(value: str | None, expected: float) -> None:
    assert retry_after_seconds(value, 5.0) == expected


@pytest.mark.parametrize(
    "message,expected",
    [
        (
            "Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|"
            "Object 'x' couldn't be found.",
            (
                "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
                "Ex6F9304",
                "Object 'x' couldn't be found.",
            ),
        ),
        (
            "|Microsoft.Exchange.Management.Tasks.ValidationException|Bad value | really",
            ("Microsoft.Exchange.Management.Tasks.ValidationException", "", "Bad value | really"),
        ),
        (
            "Microsoft.Exchange.Data.DataValidationException|Reason|Text",
            ("Microsoft.Exchange.Data.DataValidationException", "Reason", "Text"),
        ),
        ("Just text", ("", "", "Just text")),
    ],
)
def test_error_detail_formats(message: str, expected: tuple[str, str, str]) -> None:
    assert _split_detail(message) == expected
