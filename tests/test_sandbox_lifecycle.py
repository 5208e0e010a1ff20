"""The Sandbox object as a whole: start, stop, what it hands out, and `python main.py sandbox`."""

from __future__ import annotations

import json
import selectors
import signal
import smtplib
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import dns.resolver
import pytest
import requests

from tests.sandbox_fixtures import new_sockets, new_threads, open_sockets, thread_names
from wizard.core.clouds import CloudId, Endpoint
from wizard.sandbox.server import Sandbox
from wizard.sandbox.tenant import Account, TenantState, demo_tenant

ROOT = Path(__file__).resolve().parent.parent


def _resolver(endpoint: Endpoint) -> dns.resolver.Resolver:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [endpoint.host]
    resolver.port = endpoint.port
    resolver.lifetime = 5
    return resolver


def _smtp_ehlo(endpoint: Endpoint, ca_pem: str) -> smtplib.SMTP:
    import ssl

    client = smtplib.SMTP(endpoint.host, endpoint.port, timeout=5)
    client.ehlo("printer.contoso.example")
    client.starttls(context=ssl.create_default_context(cafile=ca_pem))
    client.ehlo("printer.contoso.example")
    return client


def test_start_and_stop_leave_no_thread_or_socket_behind() -> None:
    threads_before = thread_names()
    sockets_before = open_sockets()
    sandbox = Sandbox().start()
    ca_pem = sandbox.ca_pem
    assert ca_pem.is_file()
    # Leave clients connected (keep-alive HTTP, an SMTP session) across the stop.
    http = sandbox.http_session()
    assert http.get(f"{sandbox.authority}/v2.0/.well-known/openid-configuration").ok
    assert (
        http.post(sandbox.cloud.admin_api_url(sandbox.state.tenant_id), json={}).status_code == 401
    )
    smtp = _smtp_ehlo(sandbox.smtp.submission, str(ca_pem))
    assert _resolver(sandbox.dns).resolve("contoso.example", "MX")
    began = time.monotonic()
    sandbox.stop()
    assert time.monotonic() - began < 2
    http.close()
    smtp.close()
    assert not new_threads(threads_before)
    assert not new_sockets(sockets_before)
    assert not ca_pem.exists()  # the work folder with the CA is gone
    with pytest.raises(RuntimeError):
        _ = sandbox.admin_api


def test_start_is_idempotent_and_stop_may_repeat() -> None:
    with Sandbox() as sandbox:
        port = sandbox.dns.port
        assert sandbox.start() is sandbox and sandbox.dns.port == port
        assert sandbox.running and sandbox.ready_seconds is not None
    assert not sandbox.running
    sandbox.stop()


def test_a_sandbox_can_be_started_again_with_fresh_keys() -> None:
    sandbox = Sandbox()
    with sandbox:
        first_kid = sandbox.tokens.kid
    with sandbox:
        assert sandbox.tokens.kid != first_kid
        with sandbox.http_session() as http:
            assert http.get(f"{sandbox.authority}/discovery/v2.0/keys").ok


def test_endpoints_json_and_cloud(sandbox: Sandbox) -> None:
    data = json.loads(json.dumps(sandbox.endpoints()))
    assert data["schema_version"] == 1
    assert data["ca_pem"] == str(sandbox.ca_pem)
    assert data["tenant_id"] == sandbox.state.tenant_id
    assert data["domain"] == "contoso.example"
    assert data["authority"] == f"{data['authority'].rsplit('/', 1)[0]}/{sandbox.state.tenant_id}"
    for key in ("authority", "admin_api", "graph"):
        assert data[key].startswith("https://127.0.0.1:")
    assert data["sign_in"].startswith("http://127.0.0.1:")
    for key in ("dns", "smtp_submission", "mx", "hve"):
        assert data[key]["host"] == "127.0.0.1" and data[key]["port"] > 0
    assert data["site_public_ip"] == "203.0.113.25"
    roles = {a["upn"]: a["role"] for a in data["accounts"]}
    assert roles["admin@contoso.example"] == "Global Administrator"
    assert roles["exchadmin@contoso.example"] == "Exchange Administrator"
    assert roles["user@contoso.example"] == "User"
    assert "scanner@contoso.example" in roles
    cloud = sandbox.cloud
    assert cloud.id is CloudId.SANDBOX
    assert cloud.authority() == data["authority"]
    assert cloud.exchange_api == data["admin_api"] and cloud.graph == data["graph"]
    assert cloud.smtp == sandbox.smtp.submission and cloud.relay_endpoint == sandbox.smtp.mx
    assert cloud.hve_smtp == sandbox.smtp.hve and cloud.dns_server == sandbox.dns
    assert cloud.ca_bundle == str(sandbox.ca_pem)


def test_a_given_tenant_state_is_served() -> None:
    state = demo_tenant()
    state.display_name = "Fabrikam (test)"
    state.accounts.append(Account("it@contoso.example", "IT desk", {"Exchange Administrator"}))
    with Sandbox(state) as sandbox:
        assert sandbox.state is state
        token = sandbox.issue_token("it@contoso.example", [f"{sandbox.graph}/.default"])
        with sandbox.http_session() as http:
            org = http.get(
                f"{sandbox.graph}/v1.0/organization", headers={"Authorization": f"Bearer {token}"}
            )
        assert org.json()["value"][0]["displayName"] == "Fabrikam (test)"
        with pytest.raises(ValueError, match="no account"):
            sandbox.issue_token("ghost@contoso.example", [f"{sandbox.graph}/.default"])
        with pytest.raises(ValueError, match="AADSTS500011"):
            sandbox.issue_token("it@contoso.example", ["https://nowhere.example/.default"])
    assert isinstance(state, TenantState)


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            process.kill()
            process.wait()
            pytest.fail("`python main.py sandbox` printed nothing in time")
    return process.stdout.readline()


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_main_py_sandbox_prints_json_serves_and_stops(stop_signal: int) -> None:
    process = subprocess.Popen(
        [sys.executable, "main.py", "sandbox"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        data: dict[str, Any] = json.loads(_first_line(process, 60))
        ca_pem = data["ca_pem"]
        assert Path(ca_pem).is_file()
        if stop_signal == signal.SIGINT:
            # Every kind of client the product uses reaches it.
            with requests.Session() as http:
                http.trust_env = False
                http.verify = ca_pem
                config = http.get(f"{data['authority']}/v2.0/.well-known/openid-configuration")
                assert config.json()["issuer"].startswith(data["authority"])
                assert (
                    http.post(f"{data['admin_api']}/adminapi/beta/x/InvokeCommand").status_code
                    == 401
                )
            dns_endpoint = Endpoint(data["dns"]["host"], data["dns"]["port"])
            mx = _resolver(dns_endpoint).resolve(data["domain"], "MX")
            assert "mail.protection.outlook.com" in str(mx[0].exchange)
            submission = Endpoint(data["smtp_submission"]["host"], data["smtp_submission"]["port"])
            _smtp_ehlo(submission, ca_pem).quit()
        process.send_signal(stop_signal)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        assert process.stdout is not None and process.stderr is not None
        rest = process.stdout.read()
        errors = process.stderr.read()
        process.stdout.close()
        process.stderr.close()
    assert rest == ""  # one JSON line, nothing else on stdout
    assert "Traceback" not in errors
    assert not Path(ca_pem).exists()
