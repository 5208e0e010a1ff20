"""Signed-in admin clients for the sandbox whose HTTP session is closed afterwards.

Every client shares one session, closed when the block ends, so no connection is
left for the garbage collector to find (a ResourceWarning fails the test that
happens to run then).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tests.m365_helpers import ADMIN
from wizard.sandbox.identity.browser import StandInBrowser
from wizard.sandbox.server import Sandbox
from wizard.services.exchange_admin import ExchangeAdmin
from wizard.services.graph import Graph
from wizard.services.http import RetryPolicy, make_session
from wizard.services.signin import SignedIn, SignIn, SignInSettings


@contextmanager
def tenant_clients(
    sandbox: Sandbox, upn: str = ADMIN, *, graph_sign_in: bool = False
) -> Iterator[tuple[ExchangeAdmin, Graph, SignedIn]]:
    """graph_sign_in: also sign in to Graph's own client (else Graph reads stay unknown)."""
    with make_session(sandbox.cloud) as http:
        browser = StandInBrowser(upn, ca_pem=sandbox.ca_pem)
        signin = SignIn(sandbox.cloud, SignInSettings(), session=http, opener=browser.open)
        account = signin.sign_in_browser(timeout=20)
        browser.join(10)
        if graph_sign_in:
            signin.sign_in_graph(timeout=20)
            browser.join(10)
        retry = RetryPolicy(server_error_backoff=0.01)
        admin = ExchangeAdmin(
            sandbox.cloud,
            account.tenant_id,
            account.upn,
            signin.exchange_token,
            session=http,
            retry=retry,
        )
        graph = Graph(sandbox.cloud, signin.graph_token, session=http, retry=retry)
        try:
            yield admin, graph, account
        finally:
            signin.sign_out()
