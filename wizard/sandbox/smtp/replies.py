"""The replies of the sandbox's SMTP endpoints, worded as Exchange Online words them.

Where a text could be checked it carries its source; M365-FACTS.md wins where sources
disagree. Exchange Online appends "[<server> <UTC time> <id>]" to its error replies;
`stamp()` does the same so clients and the wizard see the full real shape.

Sources (stored public copies, checked November 2026):
- Banner, EHLO lists before and after STARTTLS, "220 2.0.0 SMTP server ready",
  "235 2.7.0 Authentication successful": protocol logs of smtp.office365.com in
  wneessen/go-mail#130, simonrob/email-oauth2-proxy#95 and #416, muquit/mailsend-go#68.
- "504 5.7.4 Unrecognized authentication type": nodemailer#189, PHPMailer#1254 and a
  Microsoft engineer's answer in mattermost#954 (AUTH before STARTTLS).
- "535 5.7.3 Authentication unsuccessful": MailKit#700, triplea-game#12505.
- "535 5.7.139 ... disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled
  ...": email-oauth2-proxy#193, nodemailer#1484; "... security defaults policy ...":
  docs.bookyourpto.com SMTP troubleshooting. The "for the Mailbox" wording follows the
  tenant text and M365-FACTS (no public log of it was found).
- "530 5.7.57 Client not authenticated to send mail.": email-oauth2-proxy#315,
  sasl-xoauth2#96.
- "550 5.7.60 SMTP; Client does not have permissions to send as this sender":
  gophish#1600.
- "550 5.7.30 Basic authentication is not supported for Client Submission":
  M365-FACTS (MC786329).
- "421 4.7.66 TLS 1.0 and 1.1 are not supported. ... https://aka.ms/smtp_auth_tls":
  m365scripts.com, Broadcom KB 227333.
- "550 5.7.64 TenantAttribution; Relay Access Denied": Microsoft Learn, "550 5.7.64
  TenantAttribution when sending mail externally".
- "550 5.7.68 TenantInboundAttribution; Direct Send not allowed for this organization
  from unauthorized sources": Salesforce KB 005133045, Exchange Team blog replies.
- "451 5.7.3 STARTTLS is required to send mail": Microsoft Tech Community (connector
  with TLS required) and ex-shell.com.
- "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain": M365-FACTS;
  no log of High Volume Email's own wording for outside recipients was found, so the
  HVE stand-in answers the same.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from email.utils import format_datetime

# Server names in Exchange Online's style; "XX0" marks them as made up.
SUBMISSION_HOST = "XX0PR00CA0000.outlook.office365.com"
HVE_HOST = "XX0PR00CA0001.outlook.office365.com"
LEGACY_HOST = "XX0PR00CA0002.outlook.office365.com"
MX_HOST = "XX0NAM00FT000.mail.protection.outlook.com"
# The mailbox server that answers after DATA, and the one EOP names in its errors.
BACKEND_HOST = "XX0PR00MB0000.namprd00.prod.outlook.com"
EOP_HOST = "XX0NAM00FT000.eop-nam00.prod.protection.outlook.com"

MAX_MESSAGE_SIZE = 157286400  # the SIZE Exchange Online announces (150 MB)

STARTTLS_READY = "220 2.0.0 SMTP server ready"
AUTH_OK = "235 2.7.0 Authentication successful"
SENDER_OK = "250 2.1.0 Sender OK"
RECIPIENT_OK = "250 2.1.5 Recipient OK"
RESET_OK = "250 2.0.0 Resetting"
NOOP_OK = "250 2.0.0 OK"
DATA_GO = "354 Start mail input; end with <CRLF>.<CRLF>"
CLOSING = "221 2.0.0 Service closing transmission channel"
LOGIN_USERNAME = "Username:"
LOGIN_PASSWORD = "Password:"

AUTH_UNRECOGNIZED = "504 5.7.4 Unrecognized authentication type"
AUTH_FAILED = "535 5.7.3 Authentication unsuccessful"
AUTH_DISABLED_TENANT = (
    "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for "
    "the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information."
)
AUTH_DISABLED_MAILBOX = (
    "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for "
    "the Mailbox. Visit https://aka.ms/smtp_auth_disabled for more information."
)
AUTH_SECURITY_DEFAULTS = (
    "535 5.7.139 Authentication unsuccessful, user is locked by your organization's "
    "security defaults policy. Contact your administrator."
)
BASIC_RETIRED = "550 5.7.30 Basic authentication is not supported for Client Submission"
LEGACY_TLS = (
    "421 4.7.66 TLS 1.0 and 1.1 are not supported. Please upgrade/update your client to "
    "support TLS 1.2. Visit https://aka.ms/smtp_auth_tls"
)
ALREADY_AUTHENTICATED = "503 5.5.2 Already authenticated"
NOT_AUTHENTICATED = "530 5.7.57 Client not authenticated to send mail."
SEND_AS_DENIED = "550 5.7.60 SMTP; Client does not have permissions to send as this sender"

RELAY_DENIED = "550 5.7.64 TenantAttribution; Relay Access Denied"
NON_ACCEPTED_DOMAIN = "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain"
DIRECT_SEND_REJECTED = (
    "550 5.7.68 TenantInboundAttribution; Direct Send not allowed for this organization "
    "from unauthorized sources"
)
STARTTLS_REQUIRED = "451 5.7.3 STARTTLS is required to send mail"
# Directory-based edge blocking: an accepted (authoritative) domain, no such mailbox.
UNKNOWN_RECIPIENT = "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)"
BANNED_IP = (
    "550 5.7.606 Access denied, banned sending IP [{ip}]. To request removal from this "
    "list please visit https://sender.office.com/ and follow the directions. For more "
    "information please go to http://go.microsoft.com/fwlink/?LinkID=526655 AS(1430)"
)
# Not an SMTP reply of the MX: what the recipient's server says when Exchange relays
# out through its high-risk pool; it shows in the message trace.
LOW_REPUTATION = (
    "550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP. "
    "For more information please go to http://go.microsoft.com/fwlink/?LinkId=526653 AS(7230)"
)
RECIPIENT_NOT_FOUND = (
    "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"
)

SEND_HELLO_FIRST = "503 5.5.2 Send hello first"
NEED_MAIL = "503 5.5.2 Need mail command"
NEED_RCPT = "503 5.5.2 Need rcpt command"
SENDER_ALREADY_GIVEN = "503 5.5.2 Sender already specified"
BAD_SEQUENCE = "503 5.5.1 Bad sequence of commands"
INVALID_ADDRESS = "501 5.1.7 Invalid address"
INVALID_ARGUMENTS = "501 5.5.4 Invalid arguments"
UNSUPPORTED_PARAMETER = "555 5.5.4 Unsupported parameter"
SIZE_EXCEEDED = "552 5.3.4 Message size exceeds fixed maximum message size"
LINE_TOO_LONG = "500 5.5.2 Line too long"
TLS_ALREADY_ACTIVE = "503 5.5.1 TLS is already active"
UNRECOGNIZED_COMMAND = "500 5.3.3 Unrecognized command '{command}'"
NOT_IMPLEMENTED = "502 5.3.3 Command not implemented"


def banner(now: datetime | None = None) -> str:
    """The greeting after "220 <host> ": "Microsoft ESMTP MAIL Service ready at <date>"."""
    when = format_datetime(now or datetime.now(UTC))
    return f"Microsoft ESMTP MAIL Service ready at {when}"


def stamp(reply: str, host: str, now: datetime | None = None) -> str:
    """An error reply with Exchange's trailer: "[server 2026-11-27T10:11:12.345Z 08DE...]"."""
    if reply[:1] not in ("4", "5"):
        return reply
    when = (now or datetime.now(UTC)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return f"{reply} [{host} {when} {secrets.token_hex(8).upper()}]"


def accepted(message_id: str) -> str:
    """Client submission's answer to a message it took (smtp.office365.com)."""
    return f"250 2.0.0 OK {message_id} [Hostname={BACKEND_HOST}]"


def queued(message_id: str, size: int, seconds: float) -> str:
    """Exchange Online Protection's answer to a message it took at the MX."""
    internal_id = secrets.randbelow(10**13)
    rate = size / 1024 / max(seconds, 0.001)
    return (
        f"250 2.6.0 {message_id} [InternalId={internal_id}, Hostname={BACKEND_HOST}] "
        f"{size} bytes in {seconds:.3f}, {rate:.3f} KB/sec Queued mail for delivery"
    )
