"""Shared steps for the relay engine's tests: a config on loopback, an enrolled mailbox,
a device client, and what arrived in the sandbox tenant."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path

from tests.m365_helpers import SCANNER
from wizard.core.relay import OnwardTarget, RelayConfig, RelayDevice, RelayLimits
from wizard.sandbox.identity.browser import StandInBrowser
from wizard.sandbox.server import Sandbox
from wizard.sandbox.tenant import DEMO_DOMAIN, DEMO_MAILBOX_TEST_CLIENT_ID, TraceStatus
from wizard.services.relay import add_device, enroll_mailbox
from wizard.services.secrets import SecretStore
from wizard.services.signin import SignIn, SignInSettings

SITE = "Contoso HQ"
DEVICE_IP = "127.0.0.1"
OTHER_COMPUTER = "127.0.0.2"
OUTSIDE = "someone@fabrikam.example"
INSIDE = f"user@{DEMO_DOMAIN}"


def onward(sandbox: Sandbox) -> OnwardTarget:
    return OnwardTarget.from_cloud(
        sandbox.cloud, sandbox.state.tenant_id, DEMO_MAILBOX_TEST_CLIENT_ID
    )


def relay_config(
    sandbox: Sandbox,
    directory: Path,
    *,
    plain_port: int | None = None,
    limits: RelayLimits | None = None,
    target: OnwardTarget | None = None,
    admin_report_address: str | None = None,
) -> RelayConfig:
    """The relay on 127.0.0.1 (any free port), nothing configured yet but the onward path."""
    return RelayConfig(
        site=SITE,
        listen_address="127.0.0.1",
        hostname="relay.contoso.lan",
        onward=target or onward(sandbox),
        submission_port=0,
        plain_port=plain_port,
        data_dir=str(directory),
        limits=limits or RelayLimits(),
        admin_report_address=admin_report_address,
    )


def with_scanner(
    config: RelayConfig, store: SecretStore, ip: str = DEVICE_IP
) -> tuple[RelayConfig, RelayDevice, str]:
    return add_device(config, store, name="Scanner, 2nd floor", ip=ip, sender=SCANNER)


def allow_smtp_auth(sandbox: Sandbox, mailbox: str = SCANNER) -> None:
    """The tenant keeps SMTP AUTH off; the relay's mailbox has it on (as the plan sets)."""
    found = sandbox.state.mailbox(mailbox)
    assert found is not None
    with sandbox.state.lock:
        found.smtp_client_auth_disabled = False


def sign_in_mailbox(sandbox: Sandbox, mailbox: str = SCANNER) -> str:
    """Sign in as the mailbox with the mailbox-test app (the Relay step's sign-in); its
    refresh token."""
    browser = StandInBrowser(mailbox, ca_pem=sandbox.ca_pem)
    signin = SignIn(sandbox.cloud, SignInSettings(), opener=browser.open)
    signin.sign_in_browser(mailbox=mailbox, timeout=20)
    browser.join(10)
    token = signin.mailbox_refresh_token(mailbox)
    assert token
    return token


def enroll(
    sandbox: Sandbox, config: RelayConfig, store: SecretStore, mailbox: str = SCANNER
) -> None:
    enroll_mailbox(config, store, sign_in_mailbox(sandbox, mailbox), mailbox)


def scan(subject: str, *, sender: str = SCANNER, to: str = OUTSIDE) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content("Scanned document attached.\n")
    message.add_attachment(
        b"%PDF-1.4 scan", maintype="application", subtype="pdf", filename="scan.pdf"
    )
    return message


def device_client(
    port: int, *, source: str = DEVICE_IP, starttls: bool = True, host: str = "127.0.0.1"
) -> smtplib.SMTP:
    """A printer: connects from `source`, STARTTLS (accepting the relay's own certificate,
    as most printers do)."""
    smtp = smtplib.SMTP(host, port, timeout=10, source_address=(source, 0))
    smtp.ehlo()
    if starttls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        smtp.starttls(context=context)
        smtp.ehlo()
    return smtp


def delivered(sandbox: Sandbox, subject: str) -> list[str]:
    """Recipients the sandbox delivered a message with `subject` to (via submission)."""
    with sandbox.state.lock:
        return [
            r
            for entry in sandbox.state.trace
            if entry.subject == subject
            and entry.endpoint == "submission"
            and entry.status is TraceStatus.DELIVERED
            for r in entry.recipients
        ]


def subjects(sandbox: Sandbox) -> list[str]:
    with sandbox.state.lock:
        return [e.subject for e in sandbox.state.trace if e.endpoint == "submission"]
