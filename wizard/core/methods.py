"""The ways a device can send mail through Microsoft 365 (M365-FACTS.md)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from wizard.core.i18n import tr


class Method(StrEnum):
    SMTP_AUTH_OAUTH = "smtp-auth-oauth"
    SMTP_AUTH = "smtp-auth"
    DIRECT_SEND = "direct-send"
    CONNECTOR = "connector"
    HVE = "hve"
    # A relay on an always-on computer at the office: the device signs in to it with
    # its own user name and password, and the relay submits onward with OAuth.
    LOCAL_RELAY = "local-relay"


# The methods whose device connects to the tenant's MX host (core.relay_host). The
# local relay is not one: its device talks to a computer at the office, which submits
# to the cloud's SMTP AUTH endpoint.
RELAY_METHODS = frozenset({Method.DIRECT_SEND, Method.CONNECTOR})

# The methods whose mail reaches Microsoft 365 through client submission (the cloud's
# smtp endpoint, signed in as a mailbox), so a mailbox's SMTP AUTH switch and limits apply.
# The switch gates OAuth (XOAUTH2) sign-ins as well as passwords (Microsoft Learn,
# "Enable or disable SMTP AUTH in Exchange Online"; odoo/documentation#4794 asks its OAuth
# guide to say so), which is why the local relay, signing in with OAuth, needs it too.
SUBMISSION_METHODS = frozenset({Method.SMTP_AUTH, Method.SMTP_AUTH_OAUTH, Method.LOCAL_RELAY})


class Tri(StrEnum):
    """An answer the user may not know yet."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"

    @classmethod
    def of(cls, value: bool | None) -> Tri:
        if value is None:
            return cls.UNKNOWN
        return cls.YES if value else cls.NO


@dataclass(frozen=True)
class MethodInfo:
    method: Method
    title: str  # plain words first, the technical term second
    short: str  # one line
    explanation: str  # what it is, for someone who does not know the term
    internal_only: bool


METHOD_INFO: dict[Method, MethodInfo] = {
    Method.SMTP_AUTH_OAUTH: MethodInfo(
        Method.SMTP_AUTH_OAUTH,
        tr("Send as a mailbox, signed in with Microsoft (SMTP AUTH with OAuth)"),
        tr("The device signs in to its own mailbox with a Microsoft token."),
        tr(
            "The device authenticates to smtp.office365.com with an OAuth token for a "
            "licensed mailbox. No password is stored on the device, it can mail anyone, "
            "and it keeps working after Basic authentication is retired."
        ),
        internal_only=False,
    ),
    Method.SMTP_AUTH: MethodInfo(
        Method.SMTP_AUTH,
        tr("Send as a mailbox with its password (SMTP AUTH, Basic)"),
        tr("The device signs in to its own mailbox with a user name and password."),
        tr(
            "The device authenticates to smtp.office365.com on port 587 with the "
            "mailbox's user name and password. It can mail anyone, but Microsoft is "
            "retiring this Basic authentication."
        ),
        internal_only=False,
    ),
    Method.DIRECT_SEND: MethodInfo(
        Method.DIRECT_SEND,
        tr("Deliver straight to your own mailboxes (direct send)"),
        tr("The device hands mail to your domain's Microsoft 365 mail server anonymously."),
        tr(
            "The device connects to your domain's MX host on port 25 without signing in. "
            "Nothing to set up in the tenant, but it can only reach mailboxes in your "
            "own organisation."
        ),
        internal_only=True,
    ),
    Method.CONNECTOR: MethodInfo(
        Method.CONNECTOR,
        tr("Relay through a connector for your office (SMTP relay)"),
        tr("Microsoft 365 recognises your office by its fixed IP or certificate."),
        tr(
            "An inbound connector in the tenant accepts mail from your office's static "
            "public IP address (or a TLS certificate) on port 25. No mailbox or password "
            "on the device, and it can mail anyone."
        ),
        internal_only=False,
    ),
    Method.HVE: MethodInfo(
        Method.HVE,
        tr("Send many internal messages from a dedicated account (High Volume Email)"),
        tr("A special unlicensed account for bulk internal mail."),
        tr(
            "An HVE account (no licence needed) submits to the High Volume Email endpoint "
            "on port 587 with TLS. It is metered and can only reach mailboxes in your "
            "own organisation."
        ),
        internal_only=True,
    ),
    Method.LOCAL_RELAY: MethodInfo(
        Method.LOCAL_RELAY,
        tr("Through a relay on a computer at the office (local relay)"),
        tr("The device hands its mail to a computer at the office, which sends it on."),
        tr(
            "An always-on computer on the devices' network runs Relay Wizard's relay. Each "
            "device signs in to it with its own user name and password; the relay keeps "
            "the mail safe in a queue and sends it on to Microsoft 365 as the device's "
            "mailbox, signed in with OAuth. It can mail anyone and keeps working after "
            "Basic authentication is retired."
        ),
        internal_only=False,
    ),
}
