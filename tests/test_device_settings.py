from __future__ import annotations

import pytest

from wizard.core.clouds import CLOUDS, CloudId, Endpoint, sandbox_cloud
from wizard.core.device_settings import AuthKind, Security, device_settings
from wizard.core.methods import Method, Tri

WW = CLOUDS[CloudId.WORLDWIDE]


def test_smtp_auth() -> None:
    s = device_settings(Method.SMTP_AUTH, WW, domain="contoso.com", sender="scan@contoso.com")
    assert (s.server, s.port, s.security, s.auth) == (
        "smtp.office365.com",
        587,
        Security.STARTTLS,
        AuthKind.PASSWORD,
    )
    assert s.username == "scan@contoso.com" and not s.internal_only
    assert any("30" in limit for limit in s.limits)


def test_oauth_and_legacy() -> None:
    s = device_settings(
        Method.SMTP_AUTH_OAUTH,
        WW,
        domain="contoso.com",
        sender="scan@contoso.com",
        username="svc@contoso.com",
    )
    assert s.auth is AuthKind.OAUTH and s.username == "svc@contoso.com"
    legacy = device_settings(
        Method.SMTP_AUTH, WW, domain="contoso.com", sender="scan@contoso.com", tls12=Tri.NO
    )
    assert legacy.server == "smtp-legacy.office365.com"


def test_direct_send_and_connector_use_the_decided_relay_host() -> None:
    from wizard.core.relay_host import RelayHost, RelayHostSource

    tenant = RelayHost(
        "contoso.com", "contoso-com01b.mail.protection.outlook.com", RelayHostSource.TENANT, True
    )
    d = device_settings(
        Method.DIRECT_SEND, WW, domain="contoso.com", sender="scan@contoso.com", mx_host=tenant
    )
    assert (d.server, d.port, d.auth, d.internal_only) == (
        "contoso-com01b.mail.protection.outlook.com",
        25,
        AuthKind.NONE,
        True,
    )
    assert d.server_display == d.server and d.relay_host is tenant
    c = device_settings(
        Method.CONNECTOR,
        WW,
        domain="contoso.com",
        sender="scan@contoso.com",
        mx_host="contoso-com.b-v1.mx.microsoft",
    )
    assert c.server == "contoso-com.b-v1.mx.microsoft" and c.tls_required
    old = device_settings(
        Method.CONNECTOR, WW, domain="contoso.com", sender="s@contoso.com", tls12=Tri.NO
    )
    assert old.security is Security.NONE and not old.tls_required


def test_no_relay_host_is_never_computed() -> None:
    from wizard.core.relay_host import RelayHost, RelayHostSource

    missing = device_settings(
        Method.DIRECT_SEND, WW, domain="contoso.com", sender="scan@contoso.com"
    )
    assert missing.server == "" and not missing.host_found
    assert missing.server_display == "Relay host not found"
    assert any("Settings > Domains > contoso.com" in n for n in missing.notes)
    guess = RelayHost(
        "contoso.com", "contoso-com.mail.protection.outlook.com", RelayHostSource.GUESS, False
    )
    guessed = device_settings(
        Method.CONNECTOR, WW, domain="contoso.com", sender="s@contoso.com", mx_host=guess
    )
    assert guessed.server == "contoso-com.mail.protection.outlook.com"
    assert guessed.server_display.endswith("(unverified guess)")
    assert any("guess" in n for n in guessed.notes)


def test_hve() -> None:
    h = device_settings(Method.HVE, WW, domain="contoso.com", sender="bulk@contoso.com")
    assert (h.server, h.port, h.internal_only) == ("smtp.hve.mx.microsoft", 587, True)
    with pytest.raises(ValueError):
        device_settings(Method.HVE, CLOUDS[CloudId.GCC_HIGH], domain="c.com", sender="a@c.com")


def test_sandbox_cloud_points_at_loopback() -> None:
    cloud = sandbox_cloud(
        identity="https://127.0.0.1:4000/",
        admin_api="https://127.0.0.1:4001",
        graph="https://127.0.0.1:4001",
        smtp=Endpoint("127.0.0.1", 4025),
        relay=Endpoint("127.0.0.1", 4026),
        dns=Endpoint("127.0.0.1", 4053),
        ca_bundle="/tmp/ca.pem",
        tenant_id="tid",
    )
    assert cloud.is_sandbox and cloud.authority() == "https://127.0.0.1:4000/tid"
    relay = device_settings(Method.CONNECTOR, cloud, domain="contoso.com", sender="s@contoso.com")
    assert (relay.server, relay.port) == ("127.0.0.1", 4026)
    assert cloud.admin_api_url("tid") == "https://127.0.0.1:4001/adminapi/beta/tid/InvokeCommand"


def test_clouds() -> None:
    from wizard.core.relay_host import guess_mx_host

    assert (
        guess_mx_host(WW, "Bücher.example") == "xn--bcher-kva-example.mail.protection.outlook.com"
    )
    assert WW.is_microsoft_mx("contoso-com.a-v1.mx.microsoft.")
    assert not WW.is_microsoft_mx("mx1.mimecast.com")
    assert CLOUDS[CloudId.GCC_HIGH].legacy_tls_smtp is None
    assert guess_mx_host(CLOUDS[CloudId.CHINA], "c.cn").endswith("partner.outlook.cn")
    assert CLOUDS[CloudId.DOD].is_microsoft_mx("agency-mil.protection.apps.mil")
    assert CLOUDS[CloudId.GCC_HIGH].is_microsoft_mx("agency-gov.l-v1.usgovcloud-mx.microsoft")
    assert WW.exchange_scope == "https://outlook.office365.com/.default"


def test_redaction() -> None:
    from wizard.core.redact import redact

    text = (
        "AUTH PLAIN AHVzZXIAcGFzcw== then Authorization: Bearer abc.def-ghi "
        'password="hunter2" token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig CANARY'
    )
    out = redact(text, "CANARY")
    for secret in ("AHVzZXIAcGFzcw==", "abc.def-ghi", "hunter2", "eyJhbGci", "CANARY"):
        assert secret not in out


def test_sandbox_sheets_show_worldwide_values() -> None:
    from wizard.core.clouds import device_facing

    cloud = sandbox_cloud(
        identity="https://127.0.0.1:4000/",
        admin_api="https://127.0.0.1:4001",
        graph="https://127.0.0.1:4001",
        smtp=Endpoint("127.0.0.1", 4025),
        relay=Endpoint("127.0.0.1", 4026),
        dns=Endpoint("127.0.0.1", 4053),
        ca_bundle="/tmp/ca.pem",
        tenant_id="tid",
    )
    assert device_facing(cloud) is WW
    assert device_facing(WW) is WW


def test_sovereign_hosts_as_the_corrected_facts_list_them() -> None:
    from wizard.core.dns.context import autodiscover_target

    dod = CLOUDS[CloudId.DOD]
    assert dod.smtp.host == "outlook-dod.office365.us"
    assert autodiscover_target(dod) == "autodiscover-s-dod.office365.us"
    assert autodiscover_target(CLOUDS[CloudId.GCC_HIGH]) == "autodiscover-s.office365.us"
    assert CLOUDS[CloudId.CHINA].authority_host == "https://login.partner.microsoftonline.cn"


def test_local_relay_settings_point_at_the_relay() -> None:
    from wizard.core.device_settings import AuthKind, LocalRelayAccess, Security

    access = LocalRelayAccess("192.168.1.20", 587, True, "scanner-hq", "AA:BB")
    s = device_settings(
        Method.LOCAL_RELAY, WW, domain="contoso.com", sender="scan@contoso.com", local_relay=access
    )
    assert (s.server, s.port, s.security, s.tls_required) == (
        "192.168.1.20",
        587,
        Security.STARTTLS,
        True,
    )
    assert s.auth is AuthKind.PASSWORD and s.username == "scanner-hq"
    assert not s.internal_only and s.relay_host is None
    assert any("smtp.office365.com" in n for n in s.notes)
    plain = device_settings(
        Method.LOCAL_RELAY,
        WW,
        domain="contoso.com",
        sender="scan@contoso.com",
        local_relay=LocalRelayAccess("192.168.1.20", 25, False, "scanner-hq"),
    )
    assert plain.security is Security.NONE and not plain.tls_required
    missing = device_settings(
        Method.LOCAL_RELAY, WW, domain="contoso.com", sender="scan@contoso.com"
    )
    assert not missing.host_found and any("Relay step" in n for n in missing.notes)
