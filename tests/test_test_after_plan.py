"""The demo's promise: once the plan is applied, each method's test message goes through.

The demo tenant starts as planted (SMTP AUTH off, no connector); the tenant check, the
change plan and its application run over HTTP as in the wizard, then the test message
is sent to the sandbox's SMTP endpoints and found in the message trace.
"""

from __future__ import annotations

import pytest

from tests.m365_helpers import ADMIN, SCANNER, USER, profile
from wizard.core.advisor import Variant
from wizard.core.device_settings import AuthKind, device_settings
from wizard.core.methods import Method
from wizard.core.plan import Plan, build_plan
from wizard.core.secret_names import password_purpose
from wizard.core.transcript import Outcome
from wizard.sandbox.server import Sandbox
from wizard.sandbox.tenant import DEMO_DOMAIN
from wizard.services.apply import apply_plan, keyring_secrets
from wizard.services.cancel import CancelFlag
from wizard.services.exchange_admin import ExchangeAdmin
from wizard.services.graph import Graph
from wizard.services.http import RetryPolicy
from wizard.services.message_trace import MessageTraceSearch, TraceState
from wizard.services.secrets import SecretStore
from wizard.services.smtp_test import Credentials, SendTestRequest, SmtpTest
from wizard.services.tenant_check import check_site

SITE = "Main office"
OUTSIDE = "someone@fabrikam.example"
HVE_SENDER = f"hve-scanner@{DEMO_DOMAIN}"


def _clients(sandbox: Sandbox) -> tuple[ExchangeAdmin, Graph]:
    cloud = sandbox.cloud
    exchange = sandbox.issue_token(ADMIN, [cloud.exchange_scope])
    graph = sandbox.issue_token(ADMIN, [cloud.graph_scope])
    retry = RetryPolicy(server_error_backoff=0.01)
    admin = ExchangeAdmin(
        cloud, sandbox.state.tenant_id, ADMIN, lambda force_refresh=False: exchange, retry=retry
    )
    return admin, Graph(cloud, lambda force_refresh=False: graph, retry=retry)


# The local relay's device sends to the relay on this computer, not to Microsoft 365:
# its test after the plan is the relay's own (test_relay_page, test_relay_demo).
@pytest.mark.parametrize("method", [m for m in Method if m is not Method.LOCAL_RELAY])
def test_each_method_passes_after_the_plan(sandbox: Sandbox, method: Method) -> None:
    sender = HVE_SENDER if method is Method.HVE else SCANNER
    site = profile(method, sender=sender, name=SITE)
    admin, graph = _clients(sandbox)
    cloud = sandbox.cloud
    variant = Variant.IP_CONNECTOR if method is Method.CONNECTOR else Variant.STANDARD

    def plan() -> Plan:
        snapshot = check_site(admin, graph, cloud, site, method)
        return build_plan(site, method, variant, snapshot, cloud)

    store = SecretStore()
    result = apply_plan(
        plan(),
        admin,
        recheck=plan,
        secrets=keyring_secrets(store, SITE),
        cancel=CancelFlag(),
    )
    assert result.complete, result.summary()

    settings = device_settings(method, cloud, domain=DEMO_DOMAIN, sender=sender)
    to = OUTSIDE if method is Method.CONNECTOR else USER
    request = SendTestRequest.from_settings(settings, [to], cloud=cloud, timeout=3)
    credentials = Credentials()
    if method is Method.SMTP_AUTH:
        credentials = Credentials(password="demo")  # the demo accounts' password
    elif method is Method.HVE:
        # Made by the plan and kept in the keyring, where the test page looks for it.
        credentials = Credentials(password=store.get(SITE, password_purpose(sender)))
    elif request.auth is AuthKind.OAUTH:
        token = sandbox.issue_token(sender, [cloud.smtp_oauth_scope])
        credentials = Credentials(token_provider=lambda: token)
    sent = SmtpTest(request, credentials).run()
    assert sent.outcome is Outcome.SENT, sent.transcript_text()

    trace = MessageTraceSearch(
        admin,
        sender=sent.sender,
        message_id=sent.message_id,
        token=sent.token,
        sent_at=sent.started,
        timeout=5,
    ).run()
    assert trace.state is TraceState.DELIVERED, trace.detail
