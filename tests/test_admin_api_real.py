"""The admin API as real tenants answer: busy (concurrency) answers and non-JSON bodies.

Sources: GreyCorbel/ExoHelper Invoke-ExoCommand retries a plain-text answer beginning
"You have reached the maximum number of concurrent requests per tenant. Please wait
and try again" and reports non-JSON answers (M365-FACTS, corrections of 2 Dec 2026).
"""

from __future__ import annotations

import logging

import pytest

from tests.m365_helpers import RecordingWait, clients, sign_in
from wizard.sandbox.server import Sandbox
from wizard.services.exchange_admin import ExchangeCommandError
from wizard.services.http import RetryPolicy, make_session


def test_sandbox_answers_200_with_the_concurrency_text(sandbox: Sandbox) -> None:
    signin, account = sign_in(sandbox)
    sandbox.state.concurrency_answers = 1
    session = make_session(sandbox.cloud)
    response = session.post(
        sandbox.cloud.admin_api_url(account.tenant_id),
        headers={"Authorization": f"Bearer {signin.exchange_token()}"},
        json={"CmdletInput": {"CmdletName": "Get-OrganizationConfig", "Parameters": {}}},
    )
    assert response.status_code == 200
    assert response.text.startswith(
        "You have reached the maximum number of concurrent requests per tenant. "
        "Please wait and try again"
    )
    with pytest.raises(ValueError):
        response.json()


def test_concurrency_answer_is_retried_then_succeeds(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    signin, account = sign_in(sandbox)
    admin, _ = clients(sandbox, signin, account)
    sandbox.state.concurrency_answers = 2
    waits = RecordingWait()
    with caplog.at_level(logging.INFO):
        result = admin.invoke("Get-OrganizationConfig", cancel=waits)
    assert result.values
    assert waits.waits == [5.0, 10.0]  # growing, bounded by the policy
    assert "too many concurrent requests" in caplog.text


def test_concurrency_answer_on_a_change_is_retried_too(sandbox: Sandbox) -> None:
    signin, account = sign_in(sandbox)
    admin, _ = clients(sandbox, signin, account)
    sandbox.state.concurrency_answers = 1
    waits = RecordingWait()
    admin.invoke("Set-TransportConfig", {"SmtpClientAuthenticationDisabled": False}, cancel=waits)
    assert sandbox.state.smtp_client_auth_disabled is False
    assert len(waits.waits) == 1


def test_concurrency_answer_that_persists_is_an_explained_retryable_error(
    sandbox: Sandbox,
) -> None:
    signin, account = sign_in(sandbox)
    admin, _ = clients(sandbox, signin, account, retry=RetryPolicy(throttle_retries=2))
    sandbox.state.concurrency_answers = 5
    waits = RecordingWait()
    with pytest.raises(ExchangeCommandError) as caught:
        admin.invoke("Get-OrganizationConfig", cancel=waits)
    error = caught.value
    assert error.retryable
    assert error.code == "TooManyConcurrentRequests"
    assert "concurrent requests" in error.why and "did not run" in error.why
    assert error.next_step
    assert len(waits.waits) == 2
    assert sandbox.state.concurrency_answers == 2  # three attempts, no more


def test_non_json_answer_on_a_read_is_retried(sandbox: Sandbox) -> None:
    signin, account = sign_in(sandbox)
    admin, _ = clients(sandbox, signin, account)
    sandbox.state.non_json_answers = 1
    waits = RecordingWait()
    assert admin.invoke("Get-OrganizationConfig", cancel=waits).values
    assert len(waits.waits) == 1


def test_non_json_answer_that_persists_is_explained(sandbox: Sandbox) -> None:
    signin, account = sign_in(sandbox)
    admin, _ = clients(sandbox, signin, account)
    sandbox.state.non_json_answers = 5
    with pytest.raises(ExchangeCommandError) as caught:
        admin.invoke("Get-OrganizationConfig", cancel=RecordingWait())
    assert caught.value.retryable and caught.value.code == "NonJsonAnswer"
    assert "not JSON" in caught.value.what


def test_non_json_answer_on_a_change_is_not_repeated(sandbox: Sandbox) -> None:
    signin, account = sign_in(sandbox)
    admin, _ = clients(sandbox, signin, account)
    sandbox.state.non_json_answers = 1
    waits = RecordingWait()
    with pytest.raises(ExchangeCommandError):
        admin.invoke(
            "Set-TransportConfig", {"SmtpClientAuthenticationDisabled": False}, cancel=waits
        )
    assert waits.waits == []
