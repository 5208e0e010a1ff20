"""The rules of the three SMTP stand-ins, on top of the shared Exchange protocol.

- Submission (smtp.office365.com): sign in first (530 5.7.57 otherwise), send as the
  signed-in mailbox or an address it has Send As for (550 5.7.60, checked at MAIL
  FROM for the envelope and at the end of DATA for the From header), to anyone.
- High Volume Email (smtp.hve.mx.microsoft): the same, for HVE accounts, to
  recipients inside the organisation only.
- MX (<domain>.mail.protection.outlook.com): anonymous; direct send, connector relay
  and plain inbound mail by the rules in smtp/mx.py.
"""

from __future__ import annotations

import asyncio
import time

from wizard.sandbox.smtp import replies
from wizard.sandbox.smtp.auth import (
    SignIn,
    basic_sign_in,
    may_send_as,
    oauth_sign_in,
    parse_xoauth2,
)
from wizard.sandbox.smtp.delivery import Message, deliver, header_addresses, parse_headers
from wizard.sandbox.smtp.mx import (
    MxConnection,
    MxTransaction,
    check_recipient,
    check_sender,
    domain_of,
)
from wizard.sandbox.smtp.session import EndpointConfig, ExchangeSession


class SubmissionSession(ExchangeSession):
    """Client submission; with `hve` set in the config kind, High Volume Email."""

    @property
    def hve(self) -> bool:
        return self.config.kind == "hve"

    def basic_sign_in(self, username: str, password: str) -> SignIn:
        return basic_sign_in(self.config.state, username, password, hve=self.hve)

    def oauth_sign_in(self, blob: bytes) -> SignIn:
        parsed = parse_xoauth2(blob)
        if parsed is None or self.config.check_token is None:
            return SignIn(replies.AUTH_FAILED, method="oauth")
        user, token = parsed
        return oauth_sign_in(self.config.state, user, token, self.config.check_token, hve=self.hve)

    async def check_sender(self, sender: str) -> str | None:
        if self.signed_in is None or self.signed_in.mailbox is None:
            return replies.NOT_AUTHENTICATED
        if not may_send_as(self.config.state, self.signed_in.mailbox, sender):
            return replies.SEND_AS_DENIED
        return None

    async def check_recipient(self, recipient: str) -> str | None:
        if not self.hve:
            return None  # client submission sends anywhere
        with self.config.state.lock:
            internal = self.config.state.is_accepted(domain_of(recipient))
        return None if internal else replies.NON_ACCEPTED_DOMAIN

    def check_content(self, content: bytes) -> str | None:
        assert self.signed_in is not None and self.signed_in.mailbox is not None
        headers = parse_headers(content)
        for address in header_addresses(headers, "From"):
            if not may_send_as(self.config.state, self.signed_in.mailbox, address):
                return replies.SEND_AS_DENIED
        return None

    def accept(self, content: bytes) -> str:
        assert self.envelope is not None and self.envelope.mail_from is not None
        message_id, _ = deliver(
            self.config.state,
            Message(
                endpoint=self.config.kind,
                sender=self.envelope.mail_from,
                recipients=list(self.envelope.rcpt_tos),
                raw=content,
                from_ip=self.source_ip,
            ),
        )
        return replies.accepted(message_id)


class MxSession(ExchangeSession):
    """Exchange Online Protection at the tenant's MX host."""

    def __init__(self, config: EndpointConfig, loop: asyncio.AbstractEventLoop) -> None:
        self._transaction: MxTransaction | None = None
        super().__init__(config, loop)

    def simulated_source_ip(self) -> str:
        with self.config.state.lock:
            return self.config.state.effective_relay_source_ip

    def reset_transaction(self) -> None:
        self._transaction = None

    def _connection(self) -> MxConnection:
        names: list[str] = []
        cert = self.peer_certificate()
        if cert:
            for rdn in cert.get("subject", ()):
                names += [value for key, value in rdn if key == "commonName"]
            names += [value for key, value in cert.get("subjectAltName", ()) if key == "DNS"]
        return MxConnection(
            source_ip=self.source_ip,
            tls=self.tls_active,
            cert_names=tuple(n.lower() for n in names),
        )

    async def check_sender(self, sender: str) -> str | None:
        refusal, transaction = check_sender(self.config.state, self._connection(), sender)
        self._transaction = None if refusal else transaction
        return refusal

    async def check_recipient(self, recipient: str) -> str | None:
        assert self._transaction is not None
        return check_recipient(self.config.state, self._transaction, recipient)

    def accept(self, content: bytes) -> str:
        assert self.envelope is not None and self.envelope.mail_from is not None
        assert self._transaction is not None
        connector = self._transaction.connector
        message_id, _ = deliver(
            self.config.state,
            Message(
                endpoint="mx",
                sender=self.envelope.mail_from,
                recipients=list(self.envelope.rcpt_tos),
                raw=content,
                from_ip=self.source_ip,
                connector=connector.name if connector else None,
            ),
        )
        return replies.queued(message_id, len(content), time.monotonic() - self._data_started)
