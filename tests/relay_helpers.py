"""Shared steps for the relay engine's tests: a config on loopback, an enrolled mailbox,
a device client, and what arrived in the sandbox tenant."""

from __future__ import annotations

import smtplib
import socket
import ssl
import threading
import time
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


def signed_in_mailbox(sandbox: Sandbox, mailbox: str = SCANNER) -> SignIn:
    """A SignIn in which the mailbox signed in with the mailbox-test app (the Relay
    step's sign-in as the device's mailbox)."""
    browser = StandInBrowser(mailbox, ca_pem=sandbox.ca_pem)
    signin = SignIn(sandbox.cloud, SignInSettings(), opener=browser.open)
    signin.sign_in_browser(mailbox=mailbox, timeout=20)
    browser.join(10)
    return signin


def sign_in_mailbox(sandbox: Sandbox, mailbox: str = SCANNER) -> str:
    """The refresh token of a new sign-in as the mailbox."""
    token = signed_in_mailbox(sandbox, mailbox).mailbox_refresh_token(mailbox)
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


class SubmissionDoor:
    """A loopback port in front of the sandbox's submission endpoint that can be shut
    ("the internet is down": connections refused) and opened again on the same port.

    Bytes pass through unchanged, so TLS and XOAUTH2 are between the relay and the
    sandbox as before; only reachability changes.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Bound but not listening: the kernel refuses connections (RST) and the port
        # stays ours for later.
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._open = False
        self._stopping = threading.Event()
        self.connections = 0
        self._sockets: list[socket.socket] = []

    def open(self) -> None:
        self._sock.listen(16)
        self._sock.settimeout(0.05)
        self._open = True
        thread = threading.Thread(target=self._accept, name="submission-door", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            upstream = socket.create_connection(self.target, timeout=10)
            self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                pipe = threading.Thread(target=self._pipe, args=(a, b), daemon=True)
                pipe.start()
                self._threads.append(pipe)

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self._stopping.set()
        self._sock.close()
        for thread in self._threads:
            thread.join(5)
        for sock in self._sockets:
            sock.close()


def behind_door(sandbox: Sandbox, door: SubmissionDoor) -> OnwardTarget:
    base = onward(sandbox)
    return OnwardTarget(**{**base.to_dict(), "smtp_port": door.port})


class Clock:
    """Time the relay reads (pacing, retries); moved by the test, never slept."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def free_port() -> int:
    """A loopback port free right now (for configs that the CLI validates: no port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
