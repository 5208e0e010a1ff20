"""The relay's config model and its rules (pure), and the keyring-kept pieces."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from wizard.core.relay import (
    OnwardTarget,
    Outcome,
    Refusal,
    RelayConfig,
    RelayDevice,
    RelayLimits,
    authenticate,
    backoff_seconds,
    classify_reply,
    client_allowed,
    sender_allowed,
    validate,
)
from wizard.services.relay.certs import ensure_certificate
from wizard.services.relay.devices import add_device, generate_password, password_matches
from wizard.services.relay.tokens import (
    PART_CHARS,
    forget_refresh_token,
    load_refresh_token,
    store_refresh_token,
)
from wizard.services.secrets import SecretStore

TARGET = OnwardTarget(
    cloud="worldwide",
    tenant="8f0d3c1e-5b7a-4c2e-9d41-2a6b0e7c9f15",
    client_id="5e1f7a2c-3b8d-4c6e-9a0f-d2b4c6e8f0a1",
    authority_host="https://login.microsoftonline.com",
    smtp_host="smtp.office365.com",
    smtp_port=587,
    smtp_scope="https://outlook.office.com/SMTP.Send",
)
SCANNER = RelayDevice("Scanner", "192.168.1.50", "scanner", "scanner@contoso.com")


def config(**changes: object) -> RelayConfig:
    base = RelayConfig(
        site="Contoso HQ",
        listen_address="192.168.1.20",
        hostname="relay.contoso.lan",
        onward=TARGET,
        devices=(SCANNER,),
    )
    return RelayConfig.from_dict({**base.to_dict(), **changes})


def fields(cfg: RelayConfig) -> set[str]:
    return {p.field for p in validate(cfg)}


def test_a_good_config_round_trips_and_validates() -> None:
    cfg = config(plain_port=25, admin_report_address="it@contoso.com")
    assert validate(cfg) == []
    assert RelayConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.mailboxes == ("scanner@contoso.com",)


@pytest.mark.parametrize("address", ["0.0.0.0", "::", ""])
def test_never_all_interfaces_by_default(address: str) -> None:
    assert "listen_address" in fields(config(listen_address=address))


def test_all_interfaces_only_on_purpose() -> None:
    assert fields(config(listen_address="0.0.0.0", allow_all_interfaces=True)) == set()


def test_device_problems_say_what_to_fix() -> None:
    bad = RelayDevice("", "8.8.8.8", "Scanner HQ", "not-an-address")
    cfg = config(devices=[bad.to_dict(), SCANNER.to_dict(), SCANNER.to_dict()])
    problems = {p.field: p.message for p in validate(cfg)}
    assert "public address" in problems["devices.Scanner HQ.ip"]
    assert "small letters" in problems["devices.Scanner HQ.username"]
    assert "devices.Scanner HQ.sender" in problems
    assert "share the user name" in problems["devices.scanner.username"]


def test_plain_port_must_differ_and_onward_is_needed() -> None:
    assert "plain_port" in fields(config(plain_port=587))
    assert "onward" in fields(config(onward={}))


def test_only_devices_ips_may_talk_and_only_as_themselves() -> None:
    cfg = config()
    assert client_allowed(cfg, "192.168.1.50")
    assert client_allowed(cfg, "::ffff:192.168.1.50")
    assert not client_allowed(cfg, "192.168.1.51")
    assert authenticate(cfg, "192.168.1.50", "SCANNER", True) == (SCANNER, None)
    assert authenticate(cfg, "192.168.1.50", "scanner", False) == (None, Refusal.BAD_CREDENTIALS)
    assert authenticate(cfg, "192.168.1.9", "scanner", True) == (None, Refusal.WRONG_COMPUTER)
    assert sender_allowed(SCANNER, "Scanner@Contoso.com")
    assert not sender_allowed(SCANNER, "ceo@contoso.com")


@pytest.mark.parametrize(
    "code,text,outcome",
    [
        (250, "2.0.0 OK", Outcome.DELIVERED),
        (451, "4.3.0 busy", Outcome.RETRY),
        (421, "4.7.0 try later", Outcome.RETRY),
        (535, "5.7.3 Authentication unsuccessful", Outcome.NEEDS_SIGN_IN),
        (535, "5.7.139 SmtpClientAuthentication is disabled", Outcome.HELD),
        (550, "5.7.60 send as", Outcome.FAILED),
        (554, "5.6.0 bad", Outcome.FAILED),
    ],
)
def test_onward_replies(code: int, text: str, outcome: Outcome) -> None:
    assert classify_reply(code, f"{code} {text}") is outcome


def test_backoff_grows_and_is_capped() -> None:
    waits = [backoff_seconds(n) for n in range(1, 12)]
    assert waits == sorted(waits) and waits[0] == 5 and waits[-1] == 900


def test_limits_from_a_file_ignore_nonsense() -> None:
    limits = RelayLimits.from_dict({"messages_per_minute": "lots", "recipients_per_day": True})
    assert limits == RelayLimits()


def test_a_long_refresh_token_is_kept_in_parts() -> None:
    store = SecretStore()
    token = "0." + "x" * (PART_CHARS * 2 + 17)
    store_refresh_token(store, "Site", "scanner@contoso.com", token)
    assert load_refresh_token(store, "Site", "scanner@contoso.com") == token
    store_refresh_token(store, "Site", "scanner@contoso.com", "short")
    assert load_refresh_token(store, "Site", "scanner@contoso.com") == "short"
    assert store.get("Site", "relay-refresh-token:scanner@contoso.com#2") is None
    forget_refresh_token(store, "Site", "scanner@contoso.com")
    assert load_refresh_token(store, "Site", "scanner@contoso.com") is None


def test_device_passwords_live_in_the_keyring_only() -> None:
    store = SecretStore()
    cfg, device, password = add_device(
        config(devices=[]), store, name="Copier", ip="192.168.1.60", sender="Copier@Contoso.com"
    )
    assert device.username == "copier" and device.sender == "copier@contoso.com"
    assert password not in str(cfg.to_dict())
    assert store.get(cfg.site, "relay-device-password:copier") == password
    assert password_matches(password, password) and not password_matches(password, "x")
    assert not password_matches(None, "")
    assert len(generate_password()) == 20 and generate_password().isalnum()
    _, again, _ = add_device(
        cfg, store, name="Copier 2", ip="192.168.1.61", sender="copier@contoso.com"
    )
    assert again.username == "copier-2"


def test_the_relay_certificate_verifies_against_its_ca(tmp_path: Path) -> None:
    made = ensure_certificate(
        tmp_path, site="HQ", hostname="relay.contoso.lan", address="127.0.0.1"
    )
    cert = x509.load_pem_x509_certificate(made.cert_file.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "relay.contoso.lan" in names.get_values_for_type(x509.DNSName)
    assert oct(made.key_file.stat().st_mode & 0o777) == "0o600"
    # A careful device that trusts relay-ca.pem verifies the relay by its name.
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(made.cert_file, made.key_file)
    client = ssl.create_default_context(cafile=str(made.ca_file))
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    c = client.wrap_bio(incoming, outgoing, server_hostname="relay.contoso.lan")
    s = server.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):
        for side in (c, s):
            try:
                side.do_handshake()
            except ssl.SSLWantReadError:
                pass
        s_in.write(outgoing.read())
        incoming.write(s_out.read())
    assert c.version() in ("TLSv1.2", "TLSv1.3")
    # The same CA is kept when the name changes; the certificate is made anew.
    again = ensure_certificate(
        tmp_path, site="HQ", hostname="scanrelay.contoso.lan", address="127.0.0.1"
    )
    assert again.fingerprint_sha256 == made.fingerprint_sha256
    assert again.cert_file.read_bytes() != cert.public_bytes(serialization.Encoding.PEM)


def test_the_queue_folders_are_private(tmp_path: Path) -> None:
    from wizard.services.relay.queue import MessageQueue

    MessageQueue(tmp_path / "data")
    for folder in ("data", "data/queue", "data/failed"):
        assert oct((tmp_path / folder).stat().st_mode & 0o777) == "0o700", folder


def test_onward_trusts_the_public_cas_for_a_real_cloud() -> None:
    from wizard.services.relay.onward import Submitter, xoauth2

    submitter = Submitter(TARGET)
    assert submitter._context.get_ca_certs()  # certifi's list at least
    assert submitter._context.minimum_version is ssl.TLSVersion.TLSv1_2
    assert submitter._context.check_hostname
    # The SASL string as Microsoft documents it (user, ^A, auth=Bearer, ^A^A).
    import base64

    assert base64.b64decode(xoauth2("a@b.c", "T")) == b"user=a@b.c\x01auth=Bearer T\x01\x01"
