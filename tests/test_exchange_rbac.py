"""Exchange's own role check decides, not the token's role ids (M365-FACTS.md, corrections).

Against the real sandbox: a member of the Organization Management role group without
an Entra admin role signs in, is not blocked and its reads and changes work; an
account with neither is refused with the explained, retryable message.
"""

from __future__ import annotations

import json

import pytest
import requests

from tests.m365_helpers import USER, clients, sign_in
from wizard.core.errors import PermissionDenied
from wizard.sandbox.exchange.rbac import ORGANIZATION_MANAGEMENT, role_group_admin
from wizard.sandbox.server import Sandbox
from wizard.services.exchange_admin import ExchangeRoleRefused, _is_role_refusal
from wizard.services.signin import SignedIn
from wizard.services.tenant_check import read_identity


def test_a_role_group_member_signs_in_and_works_in_exchange(sandbox: Sandbox) -> None:
    upn = role_group_admin(sandbox.state)
    signin, account = sign_in(sandbox, upn)
    assert account.upn == upn
    assert account.has_admin_role is False  # the token names no Entra admin role
    assert account.role_text == "no Entra admin role in the token; Exchange will decide"
    admin, graph = clients(sandbox, signin, account, hosts=signin.admin_hosts)
    identity = read_identity(admin, graph)
    assert identity.default_domain == "contoso.example"
    admin.invoke("Set-TransportConfig", {"SmtpClientAuthenticationDisabled": False})
    assert sandbox.state.smtp_client_auth_disabled is False
    assert {c.caller for c in sandbox.state.admin_calls} == {upn}
    assert all(c.status == 200 for c in sandbox.state.admin_calls)


def test_an_account_with_neither_is_refused_in_plain_words_and_may_retry(
    sandbox: Sandbox,
) -> None:
    signin, account = sign_in(sandbox, USER)
    admin, graph = clients(sandbox, signin, account, hosts=signin.admin_hosts)
    with pytest.raises(ExchangeRoleRefused) as caught:
        read_identity(admin, graph)
    refused = caught.value
    assert isinstance(refused, PermissionDenied)
    assert refused.what == f"{USER} may not run Get-AcceptedDomain in Exchange."
    assert refused.why.startswith(
        "Exchange's role check refused it: the account needs the Exchange Administrator "
        "role, or membership of the Organization Management role group in Exchange."
    )
    assert "isn't assigned to any management roles" in refused.server_text
    assert "Ask for the Exchange Administrator role" in refused.next_step
    assert refused.retryable and refused.cmdlet == "Get-AcceptedDomain"
    assert [c.status for c in sandbox.state.admin_calls] == [403]

    # An admin adds the account to Organization Management: the same sign-in now works.
    account_there = sandbox.state.account(USER)
    assert account_there is not None
    with sandbox.state.lock:
        account_there.roles.add(ORGANIZATION_MANAGEMENT)
    assert read_identity(admin, graph).default_domain == "contoso.example"


def _answer(status: int, body: object) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = b"" if body is None else json.dumps(body).encode()
    return response


def test_exchange_s_rbac_texts_are_told_from_a_refused_token() -> None:
    # The REST cmdlets answer RBAC with HTTP 401 and this body
    # (MicrosoftDocs/office-docs-powershell#7970 and #8058).
    rest = {
        "error": {
            "code": "Unauthorized",
            "message": "User is not allowed to call Get-Mailbox",
            "innererror": {
                "message": "User is not allowed to call Get-Mailbox",
                "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
            },
        }
    }
    assert _is_role_refusal(_answer(401, rest))
    assert not _is_role_refusal(_answer(401, None))  # a refused token: empty, challenged


@pytest.mark.parametrize(
    ("roles", "text"),
    [
        (None, "no roles in the token; Exchange will decide"),
        (frozenset(), "no Entra admin role in the token; Exchange will decide"),
        (frozenset({"Exchange Administrator"}), "Exchange Administrator"),
    ],
)
def test_the_token_s_roles_are_only_a_hint(roles: frozenset[str] | None, text: str) -> None:
    # GDAP technicians' tokens may carry no `wids` at all (roles None).
    assert SignedIn("a@b.example", "A", "t", "o", roles).role_text == text
