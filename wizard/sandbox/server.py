"""The whole sandbox tenant in one object: every server on 127.0.0.1, a fresh CA, a Cloud.

    with Sandbox() as sandbox:              # demo_state() unless a TenantState is given
        cloud = sandbox.cloud               # a wizard.core Cloud pointing at the servers
        sandbox.state.reject_direct_send = True

Servers: the identity provider (https, the MSAL authority), its sign-in pages
(plain http, so a real browser shows no certificate warning), the Exchange admin
API and Graph (https, one port each so their token audiences differ), the tenant's own
admin API host (`Sandbox(served_from_tenant_host=True)` or `sandbox.admin_routing`
sends clients there from the front door), DNS (UDP and TCP on one port), and the SMTP
submission, HVE and MX stand-ins.
"""

from __future__ import annotations

import json
import logging
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import requests

from wizard.core.clouds import EXCHANGE_POWERSHELL_CLIENT_ID, Cloud, Endpoint, sandbox_cloud
from wizard.sandbox.dns_server import DnsServer
from wizard.sandbox.exchange.adminapi import AdminApi
from wizard.sandbox.exchange.exo_module import ModuleKeys
from wizard.sandbox.exchange.hosts import AdminRouting
from wizard.sandbox.exchange.rbac import add_role_group_admin
from wizard.sandbox.graph.api import GraphApi
from wizard.sandbox.https import LoopbackServer
from wizard.sandbox.identity.aad_errors import AadError
from wizard.sandbox.identity.provider import IdentityProvider
from wizard.sandbox.identity.scopes import parse_scopes, sandbox_resources
from wizard.sandbox.identity.signin_pages import DEVICE_LOGIN, SignInPages
from wizard.sandbox.identity.tokens import ACCESS_TOKEN_LIFETIME, OUTLOOK_AUDIENCE, TokenService
from wizard.sandbox.pki import SandboxPki, create_pki
from wizard.sandbox.smtp.server import SmtpEndpoints
from wizard.sandbox.tenant import (
    DEMO_MAILBOX_TEST_CLIENT_ID,
    AppRegistration,
    TenantState,
    demo_tenant,
)

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1


def demo_state() -> TenantState:
    """The demo tenant the sandbox serves by default: `demo_tenant()` plus a member of
    the Exchange role group Organization Management who has no Entra admin role."""
    return add_role_group_admin(demo_tenant())


class Sandbox:
    """A simulated Microsoft 365 tenant on loopback (a context manager; or start()/stop())."""

    def __init__(
        self, state: TenantState | None = None, *, served_from_tenant_host: bool = False
    ) -> None:
        self.state = state if state is not None else demo_state()
        # Which admin API host serves the tenant; switchable while running.
        self.admin_routing = AdminRouting(served_from_tenant_host=served_from_tenant_host)
        # The key pair for SecureString parameters (exo_module.py): its public half is in
        # the module file, its private half decrypts New-MailUser -Password.
        self.module_keys = ModuleKeys()
        self._work_dir: Path | None = None
        self._pki: SandboxPki | None = None
        self._listeners: list[LoopbackServer] = []
        self._dns: DnsServer | None = None
        self._smtp: SmtpEndpoints | None = None
        self._tokens: TokenService | None = None
        self._identity: IdentityProvider | None = None
        self._lock = threading.Lock()
        self.ready_seconds: float | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._identity is not None

    def start(self) -> Sandbox:
        with self._lock:
            if self.running:
                return self
            began = time.perf_counter()
            try:
                self._start()
            except BaseException:
                self._stop()
                raise
            self.ready_seconds = time.perf_counter() - began
        log.info("sandbox tenant ready in %.0f ms", self.ready_seconds * 1000)
        return self

    def _start(self) -> None:
        self._work_dir = Path(tempfile.mkdtemp(prefix="relay-wizard-sandbox-"))
        self._pki = pki = create_pki(self._work_dir)
        # Bind every listener first: the services need each other's URLs.
        identity_srv = LoopbackServer(
            lambda r: self.identity.app(r), name="identity", ssl_context=pki.server_context()
        )
        self._listeners.append(identity_srv)
        pages_srv = LoopbackServer(lambda r: pages.app(r), name="sign-in")
        self._listeners.append(pages_srv)
        admin_srv = LoopbackServer(
            lambda r: admin.app(r), name="admin-api", ssl_context=pki.server_context()
        )
        self._listeners.append(admin_srv)
        # The tenant-specific admin API host (exchange/hosts.py): another port, same CA.
        tenant_srv = LoopbackServer(
            lambda r: tenant_admin.app(r), name="admin-api-tenant", ssl_context=pki.server_context()
        )
        self._listeners.append(tenant_srv)
        graph_srv = LoopbackServer(
            lambda r: graph.app(r), name="graph", ssl_context=pki.server_context()
        )
        self._listeners.append(graph_srv)

        tokens = TokenService(authority_host=identity_srv.base_url, tenant_id=self.state.tenant_id)
        resources = sandbox_resources(admin_srv.base_url, graph_srv.base_url)
        identity = IdentityProvider(self.state, tokens, resources, sign_in_base=pages_srv.base_url)
        pages = SignInPages(identity)
        routing = self.admin_routing
        routing.tenant_host = tenant_srv.base_url
        keys = self.module_keys
        admin = AdminApi(
            self.state, tokens, base_url=admin_srv.base_url, routing=routing, module_keys=keys
        )
        tenant_admin = AdminApi(
            self.state,
            tokens,
            base_url=tenant_srv.base_url,
            audience=admin_srv.base_url,
            routing=routing,
            front_door=False,
            module_keys=keys,
        )
        graph = GraphApi(self.state, tokens, base_url=graph_srv.base_url)
        # Tests look at the Entra objects made through Graph (app registrations).
        self.graph_api = graph
        self._tokens = tokens
        for listener in self._listeners:
            listener.start()
        self._dns = DnsServer(self.state)
        self._dns.start()
        self._smtp = SmtpEndpoints(
            self.state,
            pki.server_context(),
            tokens.checker(OUTLOOK_AUDIENCE),
            mx_ssl_context=pki.mx_context(),
            legacy_tls_context=pki.legacy_context(),
        )
        self._smtp.start()
        self._identity = identity  # last: `running` turns true only when all is up

    def stop(self) -> None:
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        self._identity = None
        stoppers: list[Callable[[], None]] = [s.stop for s in self._listeners]
        if self._smtp is not None:
            stoppers.append(self._smtp.stop)
        if self._dns is not None:
            stoppers.append(self._dns.stop)
        # Each server waits up to one poll interval to notice; stop them side by side.
        failures: list[BaseException] = []

        def run(stop: Callable[[], None]) -> None:
            try:
                stop()
            except BaseException as exc:  # re-raised below, in the caller's thread
                failures.append(exc)

        threads = [threading.Thread(target=run, args=(s,), name="sandbox-stop") for s in stoppers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self._smtp = None
        self._dns = None
        self._listeners.clear()
        if self._work_dir is not None:
            shutil.rmtree(self._work_dir, ignore_errors=True)
            self._work_dir = None
        self._pki = None
        self._tokens = None
        if failures:
            raise failures[0]

    # -- what clients need ----------------------------------------------------------------

    def _require(self) -> None:
        if not self.running:
            raise RuntimeError("the sandbox is not running; call start() first")

    @property
    def identity(self) -> IdentityProvider:
        if self._identity is None:
            raise RuntimeError("the sandbox is not running; call start() first")
        return self._identity

    @property
    def tokens(self) -> TokenService:
        if self._tokens is None:
            raise RuntimeError("the sandbox is not running; call start() first")
        return self._tokens

    @property
    def pki(self) -> SandboxPki:
        if self._pki is None:
            raise RuntimeError("the sandbox is not running; call start() first")
        return self._pki

    @property
    def ca_pem(self) -> Path:
        return self.pki.ca_pem

    def _url(self, name: str) -> str:
        self._require()
        return next(s.base_url for s in self._listeners if s.name == name)

    @property
    def identity_url(self) -> str:
        return self._url("identity")

    @property
    def authority(self) -> str:
        """The MSAL authority for this tenant: https://127.0.0.1:P/<tenant id>."""
        return f"{self.identity_url}/{self.state.tenant_id}"

    @property
    def admin_api(self) -> str:
        return self._url("admin-api")

    @property
    def admin_api_tenant_host(self) -> str:
        """The base URL of the tenant-specific admin API host."""
        return self._url("admin-api-tenant")

    @property
    def graph(self) -> str:
        return self._url("graph")

    @property
    def sign_in_url(self) -> str:
        """The device-login page ("enter the code"); the authorize page shares its server."""
        return self._url("sign-in") + DEVICE_LOGIN

    @property
    def dns(self) -> Endpoint:
        self._require()
        assert self._dns is not None
        return self._dns.endpoint

    @property
    def smtp(self) -> SmtpEndpoints:
        self._require()
        assert self._smtp is not None
        return self._smtp

    @property
    def cloud(self) -> Cloud:
        return sandbox_cloud(
            identity=self.identity_url,
            admin_api=self.admin_api,
            graph=self.graph,
            smtp=self.smtp.submission,
            relay=self.smtp.mx,
            dns=self.dns,
            ca_bundle=str(self.ca_pem),
            tenant_id=self.state.tenant_id,
            hve=self.smtp.hve,
            legacy_tls=self.smtp.legacy,
            mailbox_test_client=(
                DEMO_MAILBOX_TEST_CLIENT_ID
                if self.state.app(DEMO_MAILBOX_TEST_CLIENT_ID) is not None
                else None
            ),
        )

    def endpoints(self) -> dict[str, Any]:
        """The `python main.py sandbox` JSON (DESIGN.md), schema version 1."""

        def hp(endpoint: Endpoint) -> dict[str, Any]:
            return {"host": endpoint.host, "port": endpoint.port}

        with self.state.lock:
            accounts = [
                {
                    "upn": a.upn,
                    "display_name": a.display_name,
                    "role": ", ".join(sorted(a.roles)) or "User",
                    "mailbox": self.state.mailbox(a.upn) is not None,
                }
                for a in self.state.accounts
            ]
        return {
            "schema_version": SCHEMA_VERSION,
            "ca_pem": str(self.ca_pem),
            "tenant_id": self.state.tenant_id,
            "tenant_name": self.state.display_name,
            "domain": self.state.default_domain,
            "initial_domain": self.state.initial_domain,
            "authority": self.authority,
            "client_id": EXCHANGE_POWERSHELL_CLIENT_ID,
            "admin_api": self.admin_api,
            "admin_api_tenant_host": self.admin_api_tenant_host,
            "graph": self.graph,
            "sign_in": self.sign_in_url,
            "dns": hp(self.dns),
            "smtp_submission": hp(self.smtp.submission),
            "hve": hp(self.smtp.hve),
            "smtp_legacy": hp(self.smtp.legacy),
            "mx": hp(self.smtp.mx),
            "site_public_ip": self.state.site_public_ip,
            "accounts": accounts,
        }

    def register_client(
        self, client_id: str, redirect_uris: list[str], display_name: str = "Test application"
    ) -> AppRegistration:
        """Register another public client (e.g. an MSP's own app) with the tenant."""
        app = AppRegistration(client_id, display_name, list(redirect_uris))
        with self.state.lock:
            self.state.apps = [a for a in self.state.apps if a.client_id != client_id] + [app]
        return app

    def issue_token(
        self,
        upn: str,
        scopes: list[str],
        *,
        client_id: str = EXCHANGE_POWERSHELL_CLIENT_ID,
        lifetime: int = ACCESS_TOKEN_LIFETIME,
    ) -> str:
        """An access token as the identity provider would issue it, without a sign-in.

        A negative `lifetime` gives an already expired token.
        """
        account = self.state.account(upn)
        if account is None:
            raise ValueError(f"no account {upn!r} in the sandbox tenant")
        scope = parse_scopes(
            " ".join(scopes),
            self.identity.resources,
            client_id=client_id,
            tenant_name=self.state.tenant_id,
        )
        if isinstance(scope, AadError):
            raise ValueError(scope.description)
        return self.tokens.access_token(
            account,
            audience=scope.resource.uri,
            scopes=scope.permissions,
            client_id=client_id,
            lifetime=lifetime,
        )

    def http_session(self) -> requests.Session:
        """A requests session that trusts the sandbox CA (and ignores REQUESTS_CA_BUNDLE)."""
        session = requests.Session()
        session.trust_env = False
        session.verify = str(self.ca_pem)
        return session


def run_foreground(out: Any = None) -> int:
    """`python main.py sandbox`: print the endpoints as one JSON line, serve until stopped."""
    out = out or sys.stdout
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with Sandbox() as sandbox:
            out.write(json.dumps(sandbox.endpoints()) + "\n")
            out.flush()
            print(
                "Sandbox tenant running on 127.0.0.1. Press Ctrl-C to stop.",
                file=sys.stderr,
                flush=True,
            )
            while not stop.wait(0.2):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
