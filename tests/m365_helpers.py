"""Shared steps for the sign-in, admin API, tenant check and apply tests (real sandbox)."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from typing import Any

from wizard.core.methods import Method, Tri
from wizard.core.profile import Printer, Site, SiteProfile
from wizard.sandbox.identity.browser import StandInBrowser
from wizard.sandbox.server import Sandbox
from wizard.sandbox.tenant import DEMO_DOMAIN, DEMO_SITE_IP
from wizard.services.exchange_admin import ExchangeAdmin
from wizard.services.graph import Graph
from wizard.services.http import RetryPolicy
from wizard.services.signin import SignedIn, SignIn, SignInSettings

ADMIN = f"admin@{DEMO_DOMAIN}"
EXCHANGE_ADMIN = f"exchadmin@{DEMO_DOMAIN}"
USER = f"user@{DEMO_DOMAIN}"
SCANNER = f"scanner@{DEMO_DOMAIN}"


@dataclass
class RecordingWait:
    """A Cancellation whose waits return at once and are remembered (no real sleeping)."""

    waits: list[float] = field(default_factory=list)
    stop: bool = False

    @property
    def cancelled(self) -> bool:
        return self.stop

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        return self.stop


def sign_in(
    sandbox: Sandbox,
    upn: str = ADMIN,
    settings: SignInSettings | None = None,
    *,
    graph: bool = True,
) -> tuple[SignIn, SignedIn]:
    browser = StandInBrowser(upn, ca_pem=sandbox.ca_pem)
    signin = SignIn(sandbox.cloud, settings or SignInSettings(), opener=browser.open)
    account = signin.sign_in_browser(timeout=20)
    browser.join(10)
    if graph:
        # Graph reads have their own client (the Graph Command Line Tools app).
        signin.sign_in_graph(timeout=20)
        browser.join(10)
    return signin, account


def clients(
    sandbox: Sandbox, signin: SignIn, account: SignedIn, **kw: Any
) -> tuple[ExchangeAdmin, Graph]:
    retry = kw.pop("retry", RetryPolicy(server_error_backoff=0.01))
    admin = ExchangeAdmin(
        sandbox.cloud, account.tenant_id, account.upn, signin.exchange_token, retry=retry, **kw
    )
    graph = Graph(sandbox.cloud, signin.graph_token, retry=retry)
    return admin, graph


def profile(
    method: Method,
    *,
    sender: str = SCANNER,
    public_ip: str | None = DEMO_SITE_IP,
    tls12: Tri = Tri.YES,
    name: str = "Main office",
) -> SiteProfile:
    return SiteProfile(
        site=Site(
            name=name,
            domain=DEMO_DOMAIN,
            public_ip=public_ip,
            static_ip=Tri.YES if public_ip else Tri.NO,
            port25_open=Tri.YES,
            external_recipients=Tri.YES,
        ),
        method=method,
        printers=(Printer("Scanner", sender=sender, tls12=tls12, smtp_auth=Tri.YES),),
    )


def changing_calls(sandbox: Sandbox) -> list[tuple[str, dict[str, Any]]]:
    """Every cmdlet the admin API ran that could change the tenant (not Get-*)."""
    with sandbox.state.lock:
        return [
            (c.cmdlet, dict(c.parameters))
            for c in sandbox.state.admin_calls
            if not c.cmdlet.lower().startswith("get-") and c.status < 400
        ]


def hve_login(sandbox: Sandbox, address: str, password: str) -> int:
    """AUTH on the sandbox's HVE endpoint over STARTTLS: 235 signed in, else the code."""
    endpoint = sandbox.cloud.hve_smtp
    assert endpoint is not None
    context = ssl.create_default_context(cafile=str(sandbox.ca_pem))
    with smtplib.SMTP(endpoint.host, endpoint.port, timeout=10) as smtp:
        smtp.starttls(context=context)
        smtp.ehlo()
        try:
            return smtp.login(address, password)[0]
        except smtplib.SMTPAuthenticationError as refused:
            return refused.smtp_code
