"""The relay host of direct send and connector relay: tenant, live MX, checked guess.

Against the sandbox's DNS server, whose demo domain has a suffixed MX token
(`contoso-example01b...`) as real zones do, so the dashed guess does not exist.
"""

from __future__ import annotations

from typing import Any

from tests.dns_helpers import dns_sandbox
from wizard.core.clouds import CLOUDS, CloudId
from wizard.core.relay_host import (
    RelayHostSource,
    decide_relay_host,
    guess_mx_host,
    microsoft_mx,
)
from wizard.sandbox.tenant import DEMO_DOMAIN, DnsRecord, demo_tenant, microsoft_mx_host
from wizard.services.dns.checks import dns_settings_for
from wizard.services.dns.client import DnsClient
from wizard.services.relay_host import find_relay_host

WW = CLOUDS[CloudId.WORLDWIDE]


def test_the_tenant_beats_dns_and_dns_beats_a_guess() -> None:
    live = ["10 mx1.mimecast.com.", "20 contoso-com01b.mail.protection.outlook.com."]
    tenant = decide_relay_host(
        WW, "contoso.com", tenant_mx="Contoso-com.B-v1.mx.microsoft.", live_mx=live
    )
    assert (tenant.host, tenant.source, tenant.verified) == (
        "contoso-com.b-v1.mx.microsoft",
        RelayHostSource.TENANT,
        True,
    )
    from_dns = decide_relay_host(WW, "contoso.com", live_mx=live)
    # The gateway comes first in DNS; the device needs the Microsoft host behind it.
    assert (from_dns.host, from_dns.source) == (
        "contoso-com01b.mail.protection.outlook.com",
        RelayHostSource.LIVE_MX,
    )
    unchecked = decide_relay_host(WW, "contoso.com", live_mx=["10 mx1.mimecast.com."])
    assert not unchecked.found and unchecked.is_guess and not unchecked.verified
    checked = decide_relay_host(WW, "contoso.com", guess_resolves=True)
    assert checked.host == "contoso-com.mail.protection.outlook.com"
    assert checked.display.endswith("(unverified guess)") and not checked.verified
    assert microsoft_mx(WW, ["5 a.b-v1.mx.microsoft", "0 z.mail.protection.outlook.com"]) == (
        "z.mail.protection.outlook.com"
    )


def test_the_live_mx_is_found_and_the_dashed_guess_never_printed() -> None:
    state = demo_tenant()
    with dns_sandbox(state) as sandbox:
        settings = dns_settings_for(sandbox.cloud, query_timeout=1.0, budget=4.0)
        relay = find_relay_host(sandbox.cloud, DEMO_DOMAIN, dns_settings=settings)
        assert relay.source is RelayHostSource.LIVE_MX and relay.verified
        assert relay.host == microsoft_mx_host(DEMO_DOMAIN)
        with DnsClient(settings) as client:
            # The dashed name the old code computed does not exist, as on the internet.
            assert client.query(guess_mx_host(WW, DEMO_DOMAIN), "A").is_missing

        # A domain whose MX goes to a gateway and whose guess does not resolve: no host.
        state.set_record("gateway.example", "MX", "10 mx1.mimecast.com.")
        missing = find_relay_host(sandbox.cloud, "gateway.example", dns_settings=settings)
        assert not missing.found and "Settings > Domains > gateway.example" in (
            missing.not_found_advice
        )

        # The same, but the dashed guess does resolve: kept, marked as a guess.
        state.dns_records.append(
            DnsRecord("gateway-example.mail.protection.outlook.com", "A", "52.101.0.12")
        )
        guess = find_relay_host(sandbox.cloud, "gateway.example", dns_settings=settings)
        assert guess.host == "gateway-example.mail.protection.outlook.com"
        assert guess.is_guess and not guess.verified


def test_dns_trouble_is_not_found_within_the_budget() -> None:
    # Nothing listens on this port: every query times out, and the answer is "not found"
    # (never a guessed host), within the lookup's bounded time.
    from wizard.core.clouds import Endpoint
    from wizard.services.dns.client import DnsSettings

    settings = DnsSettings((Endpoint("127.0.0.1", 9),), query_timeout=0.3, budget=1.0)
    relay = find_relay_host(WW, "contoso.com", dns_settings=settings)
    assert not relay.found


def test_the_demo_method_page_shows_the_real_host(qtbot: Any, sandbox: Any) -> None:
    # In --demo, on the domain with a suffixed MX token, the Method page shows the host
    # a real printer must use (read from the live MX), never the dashed guess and never
    # the sandbox's loopback listener.
    from PySide6.QtCore import Qt

    from tests.ui_helpers import make_wizard
    from wizard.core.methods import Method
    from wizard.ui.pages.method import MethodPage
    from wizard.ui.selftest import sample_profile

    state = sandbox.state
    profile = sample_profile(state.default_domain, state.site_public_ip)
    wizard = make_wizard(qtbot, profile, cloud=sandbox.cloud, pages=(MethodPage,))
    page = wizard.currentPage()
    assert isinstance(page, MethodPage)
    qtbot.mouseClick(page.card(Method.CONNECTOR).radio, Qt.MouseButton.LeftButton)
    host = microsoft_mx_host(DEMO_DOMAIN)
    qtbot.waitUntil(lambda: page.preview.values.get("Server") == host, timeout=10_000)
    assert page.preview.values["Server from"] == "from the domain's MX record in DNS"
    assert page.preview.values["Port"] == "25"
    qtbot.waitUntil(lambda: not wizard.session.tasks.busy, timeout=10_000)
