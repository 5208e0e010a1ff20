"""What an SMTP reply or a connection failure means, in plain words, with the fix.

The catalog follows the error table of M365-FACTS.md. It is keyed by the enhanced
status code; where one code means two things (5.7.139) the server's text decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from wizard.core.i18n import tr
from wizard.core.steps import WizardStep


@dataclass(frozen=True)
class Verdict:
    key: str  # stable id, e.g. "5.7.139-disabled" (JSON output, tests)
    title: str  # what happened
    explanation: str  # why, in plain words
    fix: str  # the one thing to do
    step: WizardStep  # the wizard step that applies the fix
    retryable: bool = False


@dataclass(frozen=True)
class _Entry:
    enhanced: str  # "5.7.139", or a range "5.7.606-649"
    text: re.Pattern[str] | None
    verdict: Verdict

    def matches(self, enhanced: str, text: str) -> bool:
        if "-" in self.enhanced.rpartition(".")[2]:
            prefix, _, span = self.enhanced.rpartition(".")
            low, high = (int(x) for x in span.split("-"))
            head, _, last = enhanced.rpartition(".")
            if head != prefix or not last.isdigit() or not low <= int(last) <= high:
                return False
        elif enhanced != self.enhanced:
            return False
        return self.text is None or bool(self.text.search(text))


def _v(
    key: str, title: str, explanation: str, fix: str, step: WizardStep, retryable: bool = False
) -> Verdict:
    return Verdict(key, title, explanation, fix, step, retryable)


_CATALOG: tuple[_Entry, ...] = (
    _Entry(
        "5.7.139",
        re.compile(r"(?i)security defaults"),
        _v(
            "5.7.139-security-defaults",
            tr("Security Defaults block password sign-in for SMTP"),
            tr(
                "The tenant has Entra ID Security Defaults switched on, which refuses Basic "
                "authentication for SMTP whatever the SMTP AUTH switches say."
            ),
            tr("Use SMTP AUTH with OAuth, High Volume Email or a connector instead."),
            WizardStep.METHOD,
        ),
    ),
    _Entry(
        "5.7.139",
        re.compile(r"(?i)disabled for the tenant"),
        _v(
            "5.7.139-tenant",
            tr("SMTP AUTH is switched off for the tenant"),
            tr(
                "Microsoft 365 refuses SMTP sign-in because SMTP AUTH is off for the whole "
                "organisation and the mailbox does not override it."
            ),
            tr("Switch SMTP AUTH on for this one mailbox (the tenant stays off)."),
            WizardStep.PLAN,
        ),
    ),
    _Entry(
        "5.7.139",
        re.compile(r"(?i)disabled for the mailbox"),
        _v(
            "5.7.139-mailbox",
            tr("SMTP AUTH is switched off for this mailbox"),
            tr("The mailbox's own SMTP AUTH setting refuses sign-in."),
            tr("Switch SMTP AUTH on for this mailbox."),
            WizardStep.PLAN,
        ),
    ),
    _Entry(
        "5.7.139",
        None,
        _v(
            "5.7.139",
            tr("Microsoft 365 refused the sign-in"),
            tr("SMTP AUTH is switched off, or a policy blocks Basic authentication."),
            tr(
                "Check the tenant: SMTP AUTH for the mailbox, Security Defaults, "
                "authentication policies."
            ),
            WizardStep.TENANT,
        ),
    ),
    _Entry(
        "5.7.3",
        re.compile(r"(?i)starttls is required|must issue a starttls"),
        _v(
            "5.7.3-starttls",
            tr("The connector requires TLS"),
            tr("The connector that matches this device accepts only encrypted connections."),
            tr("Switch STARTTLS on in the device's settings."),
            WizardStep.SHEETS,
        ),
    ),
    _Entry(
        "5.7.3",
        None,
        _v(
            "5.7.3",
            tr("The user name, password or token was not accepted"),
            tr(
                "Microsoft 365 refused the credentials: a wrong password, an expired or "
                "unconsented token, or Basic authentication blocked for this account."
            ),
            tr("Enter the mailbox's password again, or sign in again to renew the consent."),
            WizardStep.TEST,
            retryable=True,
        ),
    ),
    _Entry(
        "5.7.57",
        None,
        _v(
            "5.7.57",
            tr("The device did not sign in"),
            tr(
                "The server expects SMTP AUTH on this endpoint, and no AUTH command was sent "
                "(often the wrong port or STARTTLS switched off)."
            ),
            tr("Use port 587 with STARTTLS and switch authentication on."),
            WizardStep.SHEETS,
        ),
    ),
    _Entry(
        "5.7.60",
        None,
        _v(
            "5.7.60",
            tr("The sender address is not the signed-in mailbox"),
            tr(
                "The From address differs from the mailbox that signed in, and that mailbox "
                "has no Send As permission for it."
            ),
            tr("Use the mailbox's own address as the sender, or grant it Send As."),
            WizardStep.SITE,
        ),
    ),
    _Entry(
        # The From header names someone else than the envelope; Exchange's store
        # refuses it after DATA ("SendAsDenied"). Same cause and fix as 5.7.60.
        "5.2.252",
        re.compile(r"(?i)sendas"),
        _v(
            "5.2.252-send-as",
            tr("The sender address is not the signed-in mailbox"),
            tr(
                "The message's From address differs from the mailbox that signed in, and "
                "that mailbox has no Send As permission for it."
            ),
            tr("Use the mailbox's own address as the sender, or grant it Send As."),
            WizardStep.SITE,
        ),
    ),
    _Entry(
        "5.7.64",
        None,
        _v(
            "5.7.64",
            tr("No connector recognises this device"),
            tr(
                "Microsoft 365 could not match the connection to the tenant: the office's "
                "public IP or the certificate differs from the connector's."
            ),
            tr("Update the connector to the office's current public IP (or certificate)."),
            WizardStep.PLAN,
        ),
    ),
    _Entry(
        "5.7.68",
        None,
        _v(
            "5.7.68",
            tr("The tenant rejects direct send"),
            tr(
                "RejectDirectSend is on, so anonymous mail from your domain is refused unless "
                "a connector matches the device."
            ),
            tr("Add a connector for the device (connector relay)."),
            WizardStep.METHOD,
        ),
    ),
    _Entry(
        "5.7.54",
        None,
        _v(
            "5.7.54",
            tr("Mail to outside recipients is not allowed on this path"),
            tr("Direct send delivers only to mailboxes in your own organisation."),
            tr("Use connector relay or SMTP AUTH to reach outside recipients."),
            WizardStep.METHOD,
        ),
    ),
    _Entry(
        "5.4.1",
        re.compile(r"(?i)recipient address rejected"),
        _v(
            "5.4.1-recipient",
            tr("The recipient does not exist in your organisation"),
            tr(
                "Microsoft 365 knows every address of your domains and refuses mail for an "
                "address that is not one of them (Directory-Based Edge Blocking)."
            ),
            tr("Check the recipient's address, or send the test to an existing mailbox."),
            WizardStep.TEST,
        ),
    ),
    _Entry(
        "5.1.10",
        None,
        _v(
            "5.1.10",
            tr("The recipient does not exist"),
            tr("No mailbox or contact has this address."),
            tr("Check the recipient's address, or send the test to an existing mailbox."),
            WizardStep.TEST,
        ),
    ),
    _Entry(
        "5.7.30",
        None,
        _v(
            "5.7.30",
            tr("Basic authentication is no longer accepted"),
            tr("Microsoft 365 has stopped accepting passwords for SMTP client submission."),
            tr("Switch to SMTP AUTH with OAuth, a connector or High Volume Email."),
            WizardStep.METHOD,
        ),
    ),
    _Entry(
        "4.7.66",
        None,
        _v(
            "4.7.66",
            tr("The device's TLS is too old"),
            tr("Microsoft 365 refuses TLS 1.0 and 1.1 on this endpoint."),
            tr(
                "Update the device's firmware for TLS 1.2, or use the legacy TLS endpoint "
                "(the tenant must allow legacy TLS clients)."
            ),
            WizardStep.PLAN,
        ),
    ),
    _Entry(
        "5.7.606-649",
        None,
        _v(
            "5.7.606-649",
            tr("The office's IP address is banned by Microsoft 365"),
            tr("Microsoft's filters blocked this sending IP, usually after spam from it."),
            tr("Request delisting at https://sender.office.com, then try again."),
            WizardStep.OUTSIDE,
        ),
    ),
    _Entry(
        "5.7.708",
        None,
        _v(
            "5.7.708",
            tr("The sending IP has a low reputation"),
            tr("Microsoft 365 does not trust mail from this IP yet (common for new tenants)."),
            tr("Use SMTP AUTH or a connector instead of anonymous sending."),
            WizardStep.METHOD,
        ),
    ),
    _Entry(
        "5.7.4",
        None,
        _v(
            "5.7.4",
            tr("Sign-in was attempted before encryption"),
            tr("Microsoft 365 offers sign-in only after STARTTLS."),
            tr("Switch STARTTLS on in the device's settings."),
            WizardStep.SHEETS,
        ),
    ),
)

_ENHANCED = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")


def enhanced_code(text: str) -> str | None:
    """The enhanced status code (RFC 3463) at the start of an SMTP reply text."""
    match = _ENHANCED.search(text[:40])
    return match.group(1) if match else None


def explain_reply(code: int, text: str) -> Verdict:
    """Plain words for an SMTP reply (code 421/5xx and its text)."""
    enhanced = enhanced_code(text) or ""
    for entry in _CATALOG:
        if entry.matches(enhanced, text):
            return entry.verdict
    temporary = 400 <= code < 500
    return Verdict(
        f"{code}-{enhanced}" if enhanced else str(code),
        tr("The server answered {code} {enhanced}").format(code=code, enhanced=enhanced).strip(),
        tr("A temporary problem on the server's side.")
        if temporary
        else tr("The server refused the message; its own words are in the transcript."),
        tr("Try again in a few minutes.")
        if temporary
        else tr(
            "Read the server's reply in the transcript; search for the code on Microsoft Learn."
        ),
        WizardStep.TEST,
        retryable=temporary,
    )


def explain_accepted(reply: str) -> Verdict:
    """The verdict of a test message the server accepted."""
    return _v(
        "accepted",
        tr("The test message was accepted"),
        tr(
            "Microsoft 365 accepted the message for delivery ({reply}). Accepted is not yet "
            "delivered: the message trace shows whether it arrived."
        ).format(reply=reply),
        tr("Enter the same settings on the device, then print its settings sheet."),
        WizardStep.SHEETS,
    )


def explain_envelope_accepted(reply: str) -> Verdict:
    """Troubleshooting stopped before DATA: the server took sign-in, sender and recipients."""
    return _v(
        "envelope-accepted",
        tr("The server would take the message"),
        tr(
            "Microsoft 365 accepted the sign-in (if any), the sender and the recipients "
            "({reply}); the check stopped there, so nothing was sent."
        ).format(reply=reply),
        tr("Nothing to fix on this path."),
        WizardStep.TEST,
    )


def explain_cancelled() -> Verdict:
    return _v(
        "cancelled",
        tr("The test was cancelled"),
        tr("The test stopped before the server accepted the message."),
        tr("Send the test again when you are ready."),
        WizardStep.TEST,
        retryable=True,
    )


def explain_international_address() -> Verdict:
    """An address with accents or non-Latin letters, and no SMTPUTF8 on the server."""
    return _v(
        "smtputf8",
        tr("This server does not take addresses with accents or non-Latin letters"),
        tr(
            "The part before the @ has letters beyond plain ASCII, which needs the "
            "server's SMTPUTF8 extension, and this server does not offer it."
        ),
        tr("Use an address with plain letters before the @, or check the server name."),
        WizardStep.SITE,
    )


def explain_mechanism_not_offered(mechanism: str, offered: tuple[str, ...]) -> Verdict:
    """The server refused the sign-in method itself (504 5.7.4 after STARTTLS)."""
    return _v(
        "auth-mechanism",
        tr("This server does not offer sign-in with {mechanism}").format(mechanism=mechanism),
        tr("After encryption started, the server offered: {offered}.").format(
            offered=", ".join(offered) if offered else tr("no sign-in at all")
        ),
        tr("Check that the server is the right one for this method."),
        WizardStep.METHOD,
    )


class ConnectionFailure(StrEnum):
    NAME_NOT_RESOLVED = "name-not-resolved"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    PORT25_BLOCKED = "port25-blocked"
    TLS_HANDSHAKE = "tls-handshake"
    CERTIFICATE_NAME = "certificate-name"
    CERTIFICATE_UNTRUSTED = "certificate-untrusted"
    TLS12_UNAVAILABLE = "tls12-unavailable"
    # The server does not offer STARTTLS although the method needs encryption.
    STARTTLS_UNAVAILABLE = "starttls-unavailable"
    # No route to the server (no network, a VPN or a firewall rejecting it).
    UNREACHABLE = "unreachable"
    DISCONNECTED = "disconnected"
    # The certificate's dates: refused like any bad certificate, but no proxy to blame.
    CERTIFICATE_EXPIRED = "certificate-expired"
    CERTIFICATE_NOT_YET_VALID = "certificate-not-yet-valid"
    # Something answered, but not in SMTP (an HTTP server, garbage, a line without end).
    NOT_SMTP = "not-smtp"
    # An SMTP reply that never ends (continuation lines without a last line, or too many).
    ENDLESS_REPLY = "endless-reply"
    # Each answer came, but the whole conversation ran over its time limit.
    TOO_SLOW = "too-slow"


def explain_connection_failure(kind: ConnectionFailure, host: str, port: int) -> Verdict:
    where = f"{host}:{port}"
    table: dict[ConnectionFailure, Verdict] = {
        ConnectionFailure.NAME_NOT_RESOLVED: _v(
            kind.value,
            tr("The server's name does not resolve"),
            tr("{host} could not be found in DNS from this computer.").format(host=host),
            tr("Check the server name for typos and that this computer's DNS works."),
            WizardStep.SHEETS,
            retryable=True,
        ),
        ConnectionFailure.REFUSED: _v(
            kind.value,
            tr("The connection was refused"),
            tr("Nothing accepted the connection at {where}.").format(where=where),
            tr("Check the server name and port."),
            WizardStep.SHEETS,
            retryable=True,
        ),
        ConnectionFailure.TIMEOUT: _v(
            kind.value,
            tr("The server did not answer"),
            tr("The connection to {where} timed out; a firewall may drop it.").format(where=where),
            tr("Check the firewall, then try again."),
            WizardStep.TEST,
            retryable=True,
        ),
        ConnectionFailure.PORT25_BLOCKED: _v(
            kind.value,
            tr("Outbound port 25 seems blocked"),
            tr(
                "The connection to {where} timed out. Internet providers and firewalls "
                "often block port 25."
            ).format(where=where),
            tr(
                "Ask the provider to open port 25, or use a method on port 587 (SMTP AUTH "
                "or High Volume Email)."
            ),
            WizardStep.METHOD,
            retryable=True,
        ),
        ConnectionFailure.TLS_HANDSHAKE: _v(
            kind.value,
            tr("The encrypted connection could not be set up"),
            tr("The TLS handshake with {where} failed.").format(where=where),
            tr("Check that nothing between here and Microsoft 365 intercepts TLS."),
            WizardStep.TEST,
            retryable=True,
        ),
        ConnectionFailure.CERTIFICATE_NAME: _v(
            kind.value,
            tr("The server's certificate is for another name"),
            tr(
                "The certificate {host} presented does not carry that name; the device "
                "would refuse it too."
            ).format(host=host),
            tr("Use the host name exactly as shown (never an IP address)."),
            WizardStep.SHEETS,
        ),
        ConnectionFailure.CERTIFICATE_UNTRUSTED: _v(
            kind.value,
            tr("The server's certificate is not trusted"),
            tr(
                "The certificate from {where} is not signed by a trusted authority; "
                "something may be intercepting the connection."
            ).format(where=where),
            tr("Check for a proxy or security appliance that inspects TLS."),
            WizardStep.TEST,
        ),
        ConnectionFailure.TLS12_UNAVAILABLE: _v(
            kind.value,
            tr("TLS 1.2 is not available"),
            tr("No common TLS version 1.2 or newer could be agreed with {where}.").format(
                where=where
            ),
            tr("Update the device's firmware, or use the legacy TLS endpoint."),
            WizardStep.PLAN,
        ),
        ConnectionFailure.STARTTLS_UNAVAILABLE: _v(
            kind.value,
            tr("The server does not offer encryption"),
            tr(
                "{where} did not offer STARTTLS, so the password or the message would travel "
                "unencrypted. Microsoft 365 always offers it: something in between (an "
                "antivirus or firewall scanning mail) may be removing it."
            ).format(where=where),
            tr("Check the server name and port, and any mail scanning on this network."),
            WizardStep.SHEETS,
        ),
        ConnectionFailure.UNREACHABLE: _v(
            kind.value,
            tr("The server cannot be reached from here"),
            tr("There is no network route to {where}.").format(where=where),
            tr("Check this computer's network connection, VPN and firewall."),
            WizardStep.TEST,
            retryable=True,
        ),
        ConnectionFailure.DISCONNECTED: _v(
            kind.value,
            tr("The server closed the connection"),
            tr("{where} hung up in the middle of the conversation.").format(where=where),
            tr("Try again; if it repeats, look at the last lines of the transcript."),
            WizardStep.TEST,
            retryable=True,
        ),
        ConnectionFailure.CERTIFICATE_EXPIRED: _v(
            kind.value,
            tr("The server's certificate has expired"),
            tr(
                "The certificate {where} presented is past its end date, so the device would "
                "refuse it too. Microsoft 365 renews its certificates in time: a wrong date "
                "on this computer has the same effect."
            ).format(where=where),
            tr(
                "Check this computer's date and time; if they are right, the server's owner "
                "must renew the certificate."
            ),
            WizardStep.TEST,
            retryable=True,
        ),
        ConnectionFailure.CERTIFICATE_NOT_YET_VALID: _v(
            kind.value,
            tr("The server's certificate is not valid yet"),
            tr(
                "The certificate {where} presented starts on a later date than this "
                "computer's clock shows."
            ).format(where=where),
            tr("Check this computer's date and time, then try again."),
            WizardStep.TEST,
            retryable=True,
        ),
        ConnectionFailure.NOT_SMTP: _v(
            kind.value,
            tr("The server does not speak SMTP"),
            tr(
                "Something answers at {where}, but not as a mail server does (it may be a "
                "web server or another service on that port)."
            ).format(where=where),
            tr("Check the server name and port: Microsoft 365 takes mail on port 587 or 25."),
            WizardStep.SHEETS,
            retryable=True,
        ),
        ConnectionFailure.ENDLESS_REPLY: _v(
            kind.value,
            tr("The server's answer never ended"),
            tr(
                "{where} kept sending one answer far beyond what a mail server sends, so "
                "the test stopped listening."
            ).format(where=where),
            tr(
                "Check the server name and port; the last lines of the transcript show what "
                "it sent."
            ),
            WizardStep.SHEETS,
            retryable=True,
        ),
        ConnectionFailure.TOO_SLOW: _v(
            kind.value,
            tr("The server is too slow"),
            tr(
                "{where} answered, but the whole conversation took longer than its time limit."
            ).format(where=where),
            tr("Try again later, or give a longer time limit."),
            WizardStep.TEST,
            retryable=True,
        ),
    }
    return table[kind]


def explain_endless_challenge() -> Verdict:
    """The server asked for more sign-in data round after round (AUTH answered 334 forever)."""
    return _v(
        "auth-endless-challenge",
        tr("The server kept asking for the sign-in"),
        tr(
            "After five rounds the server still asked for more sign-in data; Microsoft 365 "
            "finishes a sign-in in at most two."
        ),
        tr("Check the server name and port, and that the device signs in with the right method."),
        WizardStep.METHOD,
    )
