"""The sandbox's SMTP endpoints, driven with smtplib exactly as the product drives them.

Every reply code of the M365-FACTS error table the sandbox can produce is produced
here by a real client: 530 5.7.57, 535 5.7.139 (tenant, mailbox, security defaults),
535 5.7.3, 550 5.7.30, 550 5.7.60, 550 5.7.64, 550 5.7.68, 550 5.7.54, 421 4.7.66,
550 5.7.606, 550 5.7.708 (in the trace), a timed-out port 25, plus 504 5.7.4 and the
connector's 451 5.7.3.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.sandbox_fixtures import (
    TlsMaterial,
    TokenIssuer,
    legacy_tls_available,
    make_tls_material,
    new_sockets,
    new_threads,
    open_sockets,
    thread_names,
)
from wizard.core.clouds import Endpoint
from wizard.sandbox.smtp.server import SmtpEndpoints
from wizard.sandbox.tenant import (
    DEMO_DOMAIN,
    DEMO_SITE_IP,
    Account,
    InboundConnector,
    Mailbox,
    ServicePrincipal,
    TenantState,
    TraceStatus,
    TransportRule,
    demo_tenant,
)

SCANNER = f"scanner@{DEMO_DOMAIN}"
USER = f"user@{DEMO_DOMAIN}"
RECEPTION = f"reception@{DEMO_DOMAIN}"
OUTSIDE = "someone@fabrikam.example"
HVE_ACCOUNT = f"alerts@{DEMO_DOMAIN}"
PASSWORD = "demo"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    return make_tls_material(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def issuer() -> TokenIssuer:
    return TokenIssuer()


@pytest.fixture
def state() -> TenantState:
    tenant = demo_tenant()
    tenant.accounts.append(Account(HVE_ACCOUNT, "Alerts (HVE)", password="hve-secret"))
    tenant.mailboxes.append(Mailbox(HVE_ACCOUNT, "Alerts (HVE)", licensed=False, hve_account=True))
    return tenant


@pytest.fixture
def endpoints(state: TenantState, tls: TlsMaterial, issuer: TokenIssuer) -> Iterator[SmtpEndpoints]:
    with SmtpEndpoints(
        state,
        tls.server_context(),
        issuer.check,
        mx_ssl_context=tls.mx_context(),
        legacy_tls_context=tls.legacy_context(),
    ) as running:
        yield running


class BannerSMTP(smtplib.SMTP):
    """smtplib's client, keeping the server's greeting."""

    banner = ""

    def connect(
        self, host: str = "localhost", port: int = 0, source_address: Any = None
    ) -> tuple[int, bytes]:
        code, text = super().connect(host, port, source_address)
        self.banner = f"{code} {text.decode()}"
        return code, text


def mailbox(state: TenantState, address: str) -> Mailbox:
    found = state.mailbox(address)
    assert found is not None
    return found


def connect(
    endpoint: Endpoint, tls: TlsMaterial | None = None, **context_args: str
) -> smtplib.SMTP:
    """A client that has said EHLO (and, given tls, switched to TLS and said it again)."""
    client = smtplib.SMTP(endpoint.host, endpoint.port, local_hostname="printer.local", timeout=5)
    client.ehlo()
    if tls is not None:
        client.starttls(context=tls.client_context(**context_args))
        client.ehlo()
    return client


def message(
    sender: str, to: str, subject: str = "Scan from the printer", headers: str = ""
) -> bytes:
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n{headers}"
        "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nThe scan is attached.\r\n"
    ).encode()


def xoauth2(user: str, token: str) -> str:
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def oauth_login(
    client: smtplib.SMTP, user: str, token: str, *, one_step: bool = True
) -> tuple[int, bytes]:
    sasl = xoauth2(user, token)
    return client.auth("XOAUTH2", lambda challenge=None: sasl, initial_response_ok=one_step)


def reply_of(error: smtplib.SMTPResponseException) -> str:
    text = error.smtp_error
    return f"{error.smtp_code} {text.decode() if isinstance(text, bytes) else text}"


def refused_rcpt(error: smtplib.SMTPRecipientsRefused, recipient: str) -> str:
    code, text = error.recipients[recipient]
    return f"{code} {text.decode()}"


# -- submission: greeting, TLS, AUTH before STARTTLS ---------------------------------


def test_submission_greets_and_announces_like_exchange(
    endpoints: SmtpEndpoints, tls: TlsMaterial
) -> None:
    client = BannerSMTP(endpoints.submission.host, endpoints.submission.port, timeout=5)
    try:
        assert re.match(
            r"220 XX0PR00CA0000\.outlook\.office365\.com Microsoft ESMTP MAIL Service ready at "
            r"\w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d \+0000$",
            client.banner,
        )
        code, text = client.ehlo("printer.local")
        lines = text.decode().splitlines()
        assert lines[0] == f"XX0PR00CA0000.outlook.office365.com Hello [{DEMO_SITE_IP}]"
        assert lines[1:] == [
            "SIZE 157286400",
            "PIPELINING",
            "DSN",
            "ENHANCEDSTATUSCODES",
            "STARTTLS",
            "8BITMIME",
            "BINARYMIME",
            "CHUNKING",
            "SMTPUTF8",
        ]
        assert client.starttls(context=tls.client_context())[0] == 220
        code, text = client.ehlo("printer.local")
        after = text.decode().splitlines()
        assert "AUTH LOGIN XOAUTH2" in after
        assert "STARTTLS" not in after
        assert client.sock is not None
        assert client.sock.version() in ("TLSv1.2", "TLSv1.3")  # type: ignore[attr-defined]
    finally:
        client.close()


def test_auth_before_starttls_is_refused(endpoints: SmtpEndpoints) -> None:
    with connect(endpoints.submission) as client:
        # smtplib itself refuses: AUTH is not offered before TLS.
        with pytest.raises(smtplib.SMTPNotSupportedError):
            client.login(SCANNER, PASSWORD)
        code, text = client.docmd("AUTH", "LOGIN")
        assert (code, text.decode().split(" [")[0]) == (
            504,
            "5.7.4 Unrecognized authentication type",
        )


def test_mail_without_auth_is_5_7_57_before_and_after_tls(
    endpoints: SmtpEndpoints, tls: TlsMaterial
) -> None:
    for use_tls in (None, tls):
        with connect(endpoints.submission, use_tls) as client:
            with pytest.raises(smtplib.SMTPSenderRefused) as refused:
                client.sendmail(SCANNER, [USER], message(SCANNER, USER))
            assert reply_of(refused.value).startswith(
                "530 5.7.57 Client not authenticated to send mail. [XX0PR00MB0000."
            )


# -- submission: Basic sign-in and its switches --------------------------------------


def test_basic_sign_in_and_send_is_traced(
    state: TenantState, endpoints: SmtpEndpoints, tls: TlsMaterial
) -> None:
    # The tenant keeps SMTP AUTH off; the scanner's mailbox overrides it.
    assert state.smtp_client_auth_disabled is True
    mailbox(state, SCANNER).smtp_client_auth_disabled = False
    body = message(SCANNER, f"{USER}, {OUTSIDE}", headers="Message-ID: <scan-1@printer.local>\r\n")
    with connect(endpoints.submission, tls) as client:
        assert client.login(SCANNER, PASSWORD) == (235, b"2.7.0 Authentication successful")
        client.mail(SCANNER)
        client.rcpt(USER)
        client.rcpt(OUTSIDE)
        client.rcpt(f"nobody@{DEMO_DOMAIN}")
        code, text = client.data(body)
    assert code == 250
    assert (
        text.decode()
        == "2.0.0 OK <scan-1@printer.local> [Hostname=XX0PR00MB0000.namprd00.prod.outlook.com]"
    )
    rows = {row.recipients[0]: row for row in state.trace}
    assert set(rows) == {USER, OUTSIDE, f"nobody@{DEMO_DOMAIN}"}
    assert rows[USER].status is TraceStatus.DELIVERED
    assert rows[OUTSIDE].status is TraceStatus.DELIVERED
    assert "outside the organisation" in rows[OUTSIDE].detail
    assert rows[f"nobody@{DEMO_DOMAIN}"].status is TraceStatus.FAILED
    assert rows[f"nobody@{DEMO_DOMAIN}"].detail.startswith(
        "550 5.1.10 RESOLVER.ADR.RecipientNotFound"
    )
    row = rows[USER]
    assert (row.sender, row.endpoint, row.from_ip) == (SCANNER, "submission", DEMO_SITE_IP)
    assert (row.message_id, row.subject) == ("<scan-1@printer.local>", "Scan from the printer")
    assert row.raw == body and row.size == len(body)
    assert len({r.message_trace_id for r in state.trace}) == 1


def test_auth_plain_is_accepted_after_tls(
    state: TenantState, endpoints: SmtpEndpoints, tls: TlsMaterial
) -> None:
    mailbox(state, SCANNER).smtp_client_auth_disabled = False
    with connect(endpoints.submission, tls) as client:
        client.user, client.password = SCANNER, PASSWORD
        assert client.auth("PLAIN", client.auth_plain)[0] == 235


@pytest.mark.parametrize(
    ("tenant_off", "mailbox_value", "expected"),
    [
        (
            True,
            None,
            "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled "
            "for the Tenant.",
        ),
        (
            False,
            True,
            "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled "
            "for the Mailbox.",
        ),
        (False, None, "235"),  # the mailbox inherits the tenant's "on"
        (True, False, "235"),  # the mailbox's "on" overrides the tenant's "off"
    ],
)
def test_smtp_auth_switches_and_inheritance(
    state: TenantState,
    endpoints: SmtpEndpoints,
    tls: TlsMaterial,
    tenant_off: bool,
    mailbox_value: bool | None,
    expected: str,
) -> None:
    state.smtp_client_auth_disabled = tenant_off
    mailbox(state, SCANNER).smtp_client_auth_disabled = mailbox_value
    with connect(endpoints.submission, tls) as client:
        if expected == "235":
            assert client.login(SCANNER, PASSWORD)[0] == 235
            return
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            client.login(SCANNER, PASSWORD)
    text = reply_of(refused.value)
    assert text.startswith(expected)
    assert "Visit https://aka.ms/smtp_auth_disabled for more information." in text


def test_security_defaults_block_basic_but_not_oauth(
    state: TenantState, endpoints: SmtpEndpoints, tls: TlsMaterial, issuer: TokenIssuer
) -> None:
    state.security_defaults = True
    mailbox(state, SCANNER).smtp_client_auth_disabled = False
    with connect(endpoints.submission, tls) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            client.login(SCANNER, PASSWORD)
    assert reply_of(refused.value).startswith(
        "535 5.7.139 Authentication unsuccessful, user is locked by your organization's "
        "security defaults policy. Contact your administrator."
    )
    with connect(endpoints.submission, tls) as client:
        assert oauth_login(client, SCANNER, issuer.token(SCANNER))[0] == 235


def test_basic_retired_is_5_7_30_and_oauth_still_works(
    state: TenantState, endpoints: SmtpEndpoints, tls: TlsMaterial, issuer: TokenIssuer
) -> None:
    state.basic_auth_retired = True
    state.security_defaults = True  # the retirement answers first
    mailbox(state, SCANNER).smtp_client_auth_disabled = False
    with connect(endpoints.submission, tls) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            client.login(SCANNER, PASSWORD)
    assert reply_of(refused.value).startswith(
        "550 5.7.30 Basic authentication is not supported for Client Submission"
    )
    with connect(endpoints.submission, tls) as client:
        assert oauth_login(client, SCANNER, issuer.token(SCANNER))[0] == 235
        client.sendmail(SCANNER, [USER], message(SCANNER, USER))
    assert state.trace[-1].status is TraceStatus.DELIVERED


@pytest.mark.parametrize(
    ("user", "password"), [(SCANNER, "wrong"), ("ghost@contoso.example", PASSWORD)]
)
def test_wrong_password_or_unknown_user_is_5_7_3(
    state: TenantState, endpoints: SmtpEndpoints, tls: TlsMaterial, user: str, password: str
) -> None:
    state.smtp_client_auth_disabled = False
    with connect(endpoints.submission, tls) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            client.login(user, password)
    assert reply_of(refused.value).startswith("535 5.7.3 Authentication unsuccessful [")


# -- submission: XOAUTH2 -------------------------------------------------------------


@pytest.mark.parametrize("one_step", [True, False])
def test_xoauth2_success_in_one_or_two_steps(
    state: TenantState,
    endpoints: SmtpEndpoints,
    tls: TlsMaterial,
    issuer: TokenIssuer,
    one_step: bool,
) -> None:
    mailbox(state, SCANNER).smtp_client_auth_disabled = False
    with connect(endpoints.submission, tls) as client:
        assert oauth_login(client, SCANNER, issuer.token(SCANNER), one_step=one_step) == (
            235,
            b"2.7.0 Authentication successful",
        )
        client.sendmail(SCANNER, [OUTSIDE], message(SCANNER, OUTSIDE))
    assert state.trace[-1].recipients == [OUTSIDE]


def test_xoauth2_refusals_are_5_7_3(
    state: TenantState, endpoints: SmtpEndpoints, tls: TlsMaterial, issuer: TokenIssuer
) -> None:
    mailbox(state, SCANNER).smtp_client_auth_disabled = False
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    bad_tokens = {
        "bad signature": (SCANNER, issuer.token(SCANNER, key=stranger)),
        "wrong scope": (SCANNER, issuer.token(SCANNER, scp="Mail.Read")),
        "wrong user": (SCANNER, issuer.token(USER)),
        "expired": (SCANNER, issuer.token(SCANNER, lifetime=-60)),
        "other tenant": (
            SCANNER,
            issuer.token(SCANNER, extra={"tid": "00000000-0000-0000-0000-000000000001"}),
        ),
        "not a token": (SCANNER, "not-a-jwt"),
    }
    for reason, (user, token) in bad_tokens.items():
        with connect(endpoints.submission, tls) as client:
            with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
                oauth_login(client, user, token)
            assert reply_of(refused.value).startswith("535 5.7.3 Authentication unsuccessful"), (
                reason
            )


def test_xoauth2_still_obeys_the_mailbox_switch(
    state: TenantState, endpoints: SmtpEndpoints, tls: TlsMaterial, issuer: TokenIssuer
) -> None:
    assert mailbox(state, SCANNER).smtp_client_auth_disabled is None  # inherits "off"
    with connect(endpoints.submission, tls) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            oauth_login(client, SCANNER, issuer.token(SCANNER))
    assert "5.7.139" in reply_of(refused.value)
    assert "disabled for the Tenant" in reply_of(refused.value)


def test_xoauth2_app_only_needs_full_access(
    state: TenantState, endpoints: SmtpEndpoints, tls: TlsMaterial, issuer: TokenIssuer
) -> None:
    mailbox(state, SCANNER).smtp_client_auth_disabled = False
    app_id = "11111111-2222-3333-4444-555555555555"
    token = issuer.token(
        "", scp="", extra={"roles": ["SMTP.SendAsApp"], "appid": app_id, "upn": None}
    )
    state.service_principals.append(ServicePrincipal(app_id=app_id, object_id="sp-object-id"))
    with connect(endpoints.submission, tls) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError):
            oauth_login(client, SCANNER, token)
    mailbox(state, SCANNER).full_access.add("sp-object-id")
    with connect(endpoints.submission, tls) as client:
        assert oauth_login(client, SCANNER, token)[0] == 235


# -- submission: sending as someone else ---------------------------------------------


def test_send_as_checked_at_mail_from_and_at_end_of_data(
    state: TenantState, endpoints: SmtpEndpoints, tls: TlsMaterial
) -> None:
    mailbox(state, SCANNER).smtp_client_auth_disabled = False
    expected = "550 5.7.60 SMTP; Client does not have permissions to send as this sender"
    with connect(endpoints.submission, tls) as client:
        client.login(SCANNER, PASSWORD)
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail(RECEPTION, [USER], message(RECEPTION, USER))
        assert reply_of(refused.value).startswith(expected)
        # Envelope right, From header someone else's: refused after DATA.
        with pytest.raises(smtplib.SMTPDataError) as refused_data:
            client.sendmail(SCANNER, [USER], message(RECEPTION, USER))
        assert reply_of(refused_data.value).startswith(expected)
    assert state.trace == []  # refused in the conversation: nothing to trace
    mailbox(state, SCANNER).send_as.add(RECEPTION)
    with connect(endpoints.submission, tls) as client:
        client.login(SCANNER, PASSWORD)
        client.sendmail(RECEPTION, [USER], message(RECEPTION, USER))
    assert state.trace[-1].sender == RECEPTION


# -- submission: protocol details ----------------------------------------------------


def test_chunking_bdat_delivers(
    state: TenantState, endpoints: SmtpEndpoints, tls: TlsMaterial
) -> None:
    mailbox(state, SCANNER).smtp_client_auth_disabled = False
    body = message(SCANNER, USER, subject="Chunked")
    with connect(endpoints.submission, tls) as client:
        client.login(SCANNER, PASSWORD)
        client.mail(SCANNER, ["BODY=BINARYMIME"])
        client.rcpt(USER, ["NOTIFY=FAILURE"])
        first, rest = body[:40], body[40:]
        client.send(f"BDAT {len(first)}\r\n".encode() + first)
        assert client.getreply()[0] == 250
        client.send(f"BDAT {len(rest)} LAST\r\n".encode() + rest)
        code, text = client.getreply()
    assert code == 250 and text.startswith(b"2.0.0 OK <")
    assert state.trace[-1].subject == "Chunked"
    assert state.trace[-1].raw == body


def test_oversized_message_refused_at_mail_from(
    state: TenantState, endpoints: SmtpEndpoints, tls: TlsMaterial
) -> None:
    mailbox(state, SCANNER).smtp_client_auth_disabled = False
    with connect(endpoints.submission, tls) as client:
        client.login(SCANNER, PASSWORD)
        code, text = client.mail(SCANNER, ["SIZE=200000000"])
    assert code == 552 and text.startswith(b"5.3.4 Message size exceeds fixed maximum message size")


# -- submission: TLS 1.0/1.1 ---------------------------------------------------------


@pytest.mark.skipif(not legacy_tls_available(), reason="this OpenSSL cannot speak TLS 1.1 at all")
def test_tls_1_1_client_gets_421_4_7_66(
    state: TenantState, endpoints: SmtpEndpoints, tls: TlsMaterial
) -> None:
    mailbox(state, SCANNER).smtp_client_auth_disabled = False
    client = smtplib.SMTP(endpoints.submission.host, endpoints.submission.port, timeout=5)
    try:
        client.starttls(context=tls.old_client_context())
        assert client.sock is not None
        assert client.sock.version() == "TLSv1.1"  # type: ignore[attr-defined]
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            client.login(SCANNER, PASSWORD)
    finally:
        client.close()
    assert reply_of(refused.value).startswith(
        "421 4.7.66 TLS 1.0 and 1.1 are not supported. Please upgrade/update your client to "
        "support TLS 1.2. Visit https://aka.ms/smtp_auth_tls"
    )


@pytest.mark.skipif(not legacy_tls_available(), reason="this OpenSSL cannot speak TLS 1.1 at all")
def test_tls_1_1_client_fails_the_handshake_without_a_legacy_context(
    state: TenantState, tls: TlsMaterial, issuer: TokenIssuer
) -> None:
    with SmtpEndpoints(state, tls.server_context(), issuer.check) as running:
        client = smtplib.SMTP(running.submission.host, running.submission.port, timeout=5)
        try:
            with pytest.raises(ssl.SSLError):
                client.starttls(context=tls.old_client_context())
        finally:
            client.close()


@pytest.mark.skipif(not legacy_tls_available(), reason="this OpenSSL cannot speak TLS 1.1 at all")
@pytest.mark.parametrize("allowed", [False, True])
def test_legacy_endpoint_serves_tls_1_1_only_once_the_tenant_allows_it(
    state: TenantState, endpoints: SmtpEndpoints, tls: TlsMaterial, allowed: bool
) -> None:
    mailbox(state, SCANNER).smtp_client_auth_disabled = False
    state.allow_legacy_tls_clients = allowed
    client = smtplib.SMTP(endpoints.legacy.host, endpoints.legacy.port, timeout=5)
    try:
        client.starttls(context=tls.old_client_context())
        if allowed:
            code, _ = client.login(SCANNER, PASSWORD)
            assert code == 235
        else:
            with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
                client.login(SCANNER, PASSWORD)
            assert reply_of(refused.value).startswith("421 4.7.66")
    finally:
        client.close()


# -- High Volume Email ---------------------------------------------------------------


def test_hve_basic_works_despite_retirement_and_security_defaults(
    state: TenantState, endpoints: SmtpEndpoints, tls: TlsMaterial
) -> None:
    state.basic_auth_retired = True
    state.security_defaults = True
    with connect(endpoints.hve, tls) as client:
        assert client.login(HVE_ACCOUNT, "hve-secret")[0] == 235
        client.sendmail(HVE_ACCOUNT, [USER], message(HVE_ACCOUNT, USER))
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.sendmail(HVE_ACCOUNT, [OUTSIDE], message(HVE_ACCOUNT, OUTSIDE))
    assert refused_rcpt(refused.value, OUTSIDE).startswith(
        "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain"
    )
    assert [(r.endpoint, r.recipients, r.status) for r in state.trace] == [
        ("hve", [USER], TraceStatus.DELIVERED)
    ]


def test_hve_refuses_ordinary_mailboxes_and_submission_refuses_hve_accounts(
    state: TenantState, endpoints: SmtpEndpoints, tls: TlsMaterial, issuer: TokenIssuer
) -> None:
    state.smtp_client_auth_disabled = False
    with connect(endpoints.hve, tls) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            client.login(SCANNER, PASSWORD)
    assert reply_of(refused.value).startswith("535 5.7.3")
    with connect(endpoints.submission, tls) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login(HVE_ACCOUNT, "hve-secret")
    with connect(endpoints.hve, tls) as client:
        assert oauth_login(client, HVE_ACCOUNT, issuer.token(HVE_ACCOUNT))[0] == 235


# -- MX: greeting, direct send -------------------------------------------------------


def test_mx_greets_like_eop_and_offers_no_auth(endpoints: SmtpEndpoints, tls: TlsMaterial) -> None:
    client = BannerSMTP(endpoints.mx.host, endpoints.mx.port, timeout=5)
    try:
        assert client.banner.startswith(
            "220 XX0NAM00FT000.mail.protection.outlook.com Microsoft ESMTP MAIL Service ready at "
        )
        lines = client.ehlo("printer.local")[1].decode().splitlines()
        assert "STARTTLS" in lines and not any(line.startswith("AUTH") for line in lines)
        client.starttls(context=tls.client_context())
        client.ehlo("printer.local")
        assert not client.has_extn("auth")
        code, text = client.docmd("AUTH", "LOGIN")
        assert code == 504 and text.startswith(b"5.7.4 Unrecognized authentication type")
    finally:
        client.close()


def test_direct_send_to_internal_recipient(state: TenantState, endpoints: SmtpEndpoints) -> None:
    with connect(endpoints.mx) as client:
        client.mail(SCANNER)
        client.rcpt(USER)
        code, text = client.data(message(SCANNER, USER))
    assert code == 250
    assert re.match(
        r"2\.6\.0 <[0-9A-F]+@XX0PR00MB0000\.namprd00\.prod\.outlook\.com> \[InternalId=\d+, "
        r"Hostname=XX0PR00MB0000\.namprd00\.prod\.outlook\.com\] \d+ bytes in [\d.]+, [\d.]+ "
        r"KB/sec Queued mail for delivery$",
        text.decode(),
    )
    row = state.trace[-1]
    assert (row.endpoint, row.from_ip, row.status) == ("mx", DEMO_SITE_IP, TraceStatus.DELIVERED)


def test_direct_send_is_internal_only_5_7_54(endpoints: SmtpEndpoints) -> None:
    with connect(endpoints.mx) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.sendmail(SCANNER, [OUTSIDE], message(SCANNER, OUTSIDE))
    assert refused_rcpt(refused.value, OUTSIDE).startswith(
        "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain ["
    )


def test_non_accepted_sender_cannot_relay_5_7_64_but_can_deliver_inbound(
    state: TenantState, endpoints: SmtpEndpoints
) -> None:
    stranger = "news@fabrikam.example"
    with connect(endpoints.mx) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.sendmail(stranger, [OUTSIDE], message(stranger, OUTSIDE))
        assert refused_rcpt(refused.value, OUTSIDE).startswith(
            "550 5.7.64 TenantAttribution; Relay Access Denied"
        )
        client.sendmail(stranger, [USER], message(stranger, USER))  # ordinary inbound mail
    assert state.trace[-1].recipients == [USER]


def test_unknown_internal_recipient_is_refused_by_edge_blocking(endpoints: SmtpEndpoints) -> None:
    with connect(endpoints.mx) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.sendmail(SCANNER, [f"nobody@{DEMO_DOMAIN}"], message(SCANNER, USER))
    assert refused_rcpt(refused.value, f"nobody@{DEMO_DOMAIN}").startswith(
        "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)"
    )


def test_reject_direct_send_5_7_68_unless_a_connector_matches(
    state: TenantState, endpoints: SmtpEndpoints
) -> None:
    state.reject_direct_send = True
    with connect(endpoints.mx) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.sendmail(SCANNER, [USER], message(SCANNER, USER))
    assert refused_rcpt(refused.value, USER).startswith(
        "550 5.7.68 TenantInboundAttribution; Direct Send not allowed for this organization "
        "from unauthorized sources"
    )
    state.connectors.append(
        InboundConnector(
            "Office printers", sender_domains=["*"], sender_ip_addresses=["203.0.113.0/24"]
        )
    )
    with connect(endpoints.mx) as client:
        client.sendmail(SCANNER, [USER], message(SCANNER, USER))
    assert state.trace[-1].status is TraceStatus.DELIVERED


# -- MX: connector relay -------------------------------------------------------------


def test_ip_connector_relays_outside_and_is_traced(
    state: TenantState, endpoints: SmtpEndpoints
) -> None:
    state.connectors.append(
        InboundConnector(
            "Relay for printers",
            sender_domains=[DEMO_DOMAIN],
            sender_ip_addresses=[f"{DEMO_SITE_IP}/32"],
        )
    )
    with connect(endpoints.mx) as client:
        client.sendmail(SCANNER, [OUTSIDE, USER], message(SCANNER, OUTSIDE))
    rows = {r.recipients[0]: r for r in state.trace}
    assert rows[OUTSIDE].status is TraceStatus.DELIVERED
    assert "inbound connector 'Relay for printers'" in rows[OUTSIDE].detail
    assert rows[USER].detail == "Delivered to the mailbox"


def test_relay_from_an_ip_no_connector_knows(state: TenantState, endpoints: SmtpEndpoints) -> None:
    state.connectors.append(
        InboundConnector(
            "Relay for printers",
            sender_domains=[DEMO_DOMAIN],
            sender_ip_addresses=["203.0.113.0/28"],
            restrict_domains_to_ip_addresses=True,
        )
    )
    state.relay_source_ip = "203.0.113.10"  # inside the connector's range
    with connect(endpoints.mx) as client:
        client.sendmail(SCANNER, [OUTSIDE], message(SCANNER, OUTSIDE))
    # The office's address changed: the connector no longer recognises it. On an
    # OnPremises connector RestrictDomainsToIPAddresses does nothing (it applies only to
    # Partner connectors), so MAIL FROM is taken and the relay is refused at RCPT TO.
    state.relay_source_ip = "198.51.100.7"
    with connect(endpoints.mx) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.sendmail(SCANNER, [OUTSIDE], message(SCANNER, OUTSIDE))
    assert refused_rcpt(refused.value, OUTSIDE).startswith(
        "550 5.7.64 TenantAttribution; Relay Access Denied"
    )


def test_ip_connector_does_not_relay_for_a_non_accepted_sender(
    state: TenantState, endpoints: SmtpEndpoints
) -> None:
    state.connectors.append(InboundConnector("Relay", sender_ip_addresses=[DEMO_SITE_IP]))
    with connect(endpoints.mx) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.sendmail(
                "app@fabrikam.example", [OUTSIDE], message("app@fabrikam.example", OUTSIDE)
            )
    assert refused_rcpt(refused.value, OUTSIDE).startswith("550 5.7.64 TenantAttribution")


def test_disabled_connector_is_ignored(state: TenantState, endpoints: SmtpEndpoints) -> None:
    state.connectors.append(
        InboundConnector("Old relay", sender_ip_addresses=[DEMO_SITE_IP], enabled=False)
    )
    with connect(endpoints.mx) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            client.sendmail(SCANNER, [OUTSIDE], message(SCANNER, OUTSIDE))


def test_require_tls_connector_refuses_plain_connections(
    state: TenantState, endpoints: SmtpEndpoints, tls: TlsMaterial
) -> None:
    # RequireTls applies only to Partner connectors (New-InboundConnector reference).
    state.connectors.append(
        InboundConnector(
            "Partner",
            connector_type="Partner",
            sender_ip_addresses=[DEMO_SITE_IP],
            require_tls=True,
        )
    )
    with connect(endpoints.mx) as client:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail(SCANNER, [USER], message(SCANNER, USER))
    assert reply_of(refused.value).startswith("451 5.7.3 STARTTLS is required to send mail [")
    with connect(endpoints.mx, tls) as client:
        client.sendmail(SCANNER, [USER], message(SCANNER, USER))
    assert state.trace[-1].status is TraceStatus.DELIVERED


def test_certificate_connector_matches_the_client_certificate(
    state: TenantState, endpoints: SmtpEndpoints, tls: TlsMaterial
) -> None:
    state.connectors.append(
        InboundConnector(
            "Certificate relay",
            sender_domains=[DEMO_DOMAIN],
            tls_sender_certificate_name=f"*.{DEMO_DOMAIN}",
            restrict_domains_to_certificate=True,
            require_tls=True,
        )
    )
    state.relay_source_ip = "198.51.100.99"  # any address: the certificate decides
    with connect(endpoints.mx, tls, client_cert_for=f"relay.{DEMO_DOMAIN}") as client:
        client.sendmail(SCANNER, [OUTSIDE], message(SCANNER, OUTSIDE))
    assert "Certificate relay" in state.trace[-1].detail
    # Another certificate, or none: the OnPremises connector does not match (its
    # RestrictDomainsToCertificate is a Partner-only switch), so nothing relays.
    for cert_name in ("relay.fabrikam.example", None):
        args = {"client_cert_for": cert_name} if cert_name else {}
        with connect(endpoints.mx, tls, **args) as client:
            with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
                client.sendmail(SCANNER, [OUTSIDE], message(SCANNER, OUTSIDE))
        assert refused_rcpt(refused.value, OUTSIDE).startswith(
            "550 5.7.64 TenantAttribution; Relay Access Denied"
        )


def test_banned_sending_ip_is_5_7_606(state: TenantState, endpoints: SmtpEndpoints) -> None:
    state.banned_sender_ips.add(DEMO_SITE_IP)
    with connect(endpoints.mx) as client:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail(SCANNER, [USER], message(SCANNER, USER))
    assert reply_of(refused.value).startswith(
        f"550 5.7.606 Access denied, banned sending IP [{DEMO_SITE_IP}]."
    )


def test_low_reputation_relay_fails_in_the_trace_with_5_7_708(
    state: TenantState, endpoints: SmtpEndpoints
) -> None:
    state.outbound_low_reputation = True
    state.connectors.append(InboundConnector("Relay", sender_ip_addresses=[DEMO_SITE_IP]))
    with connect(endpoints.mx) as client:
        client.sendmail(SCANNER, [OUTSIDE], message(SCANNER, OUTSIDE))  # accepted at the MX
    row = state.trace[-1]
    assert row.status is TraceStatus.FAILED
    assert row.detail.startswith("550 5.7.708 Service unavailable. Access denied")


# -- mail flow rules -----------------------------------------------------------------


def test_transport_rules_redirect_quarantine_delete_and_audit(
    state: TenantState, endpoints: SmtpEndpoints
) -> None:
    state.transport_rules = [
        TransportRule("Audit only", priority=0, mode="Audit", actions={"DeleteMessage": True}),
        TransportRule(
            "Scans to reception",
            priority=1,
            from_addresses=[SCANNER],
            actions={"RedirectMessageTo": [RECEPTION]},
        ),
        TransportRule(
            "Hold outside senders",
            priority=2,
            sender_domain_is=["fabrikam.example"],
            actions={"Quarantine": True},
        ),
        TransportRule(
            "Drop the old subnet",
            priority=3,
            sender_ip_ranges=["198.51.100.0/24"],
            actions={"DeleteMessage": True},
        ),
    ]
    with connect(endpoints.mx) as client:
        client.sendmail(SCANNER, [USER], message(SCANNER, USER))
    redirected = state.trace[-1]
    assert redirected.recipients == [RECEPTION]
    assert redirected.status is TraceStatus.DELIVERED
    assert "Redirected by the mail flow rule 'Scans to reception'" in redirected.detail
    with connect(endpoints.mx) as client:
        client.sendmail("news@fabrikam.example", [USER], message("news@fabrikam.example", USER))
    quarantined = state.trace[-1]
    assert quarantined.status is TraceStatus.QUARANTINED
    state.relay_source_ip = "198.51.100.20"
    with connect(endpoints.mx) as client:
        client.sendmail(USER, [RECEPTION], message(USER, RECEPTION))
    deleted = state.trace[-1]
    assert deleted.status is TraceStatus.FAILED
    assert "Drop the old subnet" in deleted.detail


# -- port 25 blocked -----------------------------------------------------------------


def test_blocked_port_25_times_out_at_connect(state: TenantState, endpoints: SmtpEndpoints) -> None:
    state.mx_port_blocked = True
    with pytest.raises(TimeoutError):
        smtplib.SMTP(endpoints.mx.host, endpoints.mx.port, timeout=0.4)
    with pytest.raises(socket.timeout):
        socket.create_connection((endpoints.mx.host, endpoints.mx.port), timeout=0.2)
    # The submission port is not affected.
    with connect(endpoints.submission) as client:
        assert client.noop()[0] == 250
    state.mx_port_blocked = False
    with connect(endpoints.mx) as client:
        assert client.noop() == (250, b"2.0.0 OK")


def test_port_25_blocked_before_start(
    state: TenantState, tls: TlsMaterial, issuer: TokenIssuer
) -> None:
    state.mx_port_blocked = True
    with SmtpEndpoints(state, tls.server_context(), issuer.check) as running:
        with pytest.raises(TimeoutError):
            smtplib.SMTP(running.mx.host, running.mx.port, timeout=0.3)


# -- life cycle ----------------------------------------------------------------------


def test_stop_leaves_no_thread_or_socket_behind(tls: TlsMaterial, issuer: TokenIssuer) -> None:
    threads_before = thread_names()
    sockets_before = open_sockets()
    state = demo_tenant()
    endpoints = SmtpEndpoints(
        state, tls.server_context(), issuer.check, mx_ssl_context=tls.mx_context()
    )
    endpoints.start()
    assert len({endpoints.submission.port, endpoints.hve.port, endpoints.mx.port}) == 3
    # Leave connections open: one inside TLS, one plain, and a closed port 25.
    inside_tls = connect(endpoints.submission, tls)
    plain = connect(endpoints.mx)
    state.mx_port_blocked = True
    endpoints.stop()
    for client in (inside_tls, plain):
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.noop()
        client.close()
    assert not new_threads(threads_before)
    assert not new_sockets(sockets_before)
    # A stopped endpoint set starts again.
    state.mx_port_blocked = False
    endpoints.start()
    with connect(endpoints.mx) as client:
        assert client.noop()[0] == 250
    endpoints.stop()
    assert not new_threads(threads_before)
    assert not new_sockets(sockets_before)
