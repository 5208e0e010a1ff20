"""What a printer's settings sheet says: pure content, painted by wizard/export/sheets.py.

`build_printer_sheet` turns a site profile's printer, its vendor's catalog entry and the
method's device settings into rows under the vendor's own labels, in the vendor's own
order, plus everything a technician needs beside the printer: what the method can and
cannot do, where the settings live, how OAuth signs in on this vendor, pitfalls, the
last test and the Basic-auth retirement note.

The password is never read here. By default its row says it is kept in the keyring;
only a caller that was asked to include it for one export passes it in.

QR payload (`qr_payload`), version 2: plain text a phone's camera shows as it is,
one "Label: value" line per non-secret setting, never a password or token (version 1
was JSON, which phones showed as gibberish)::

    Relay Wizard device settings
    Device: Reception scanner
    Method: Sign in as the device's mailbox with a password (smtp-auth)
    Server: smtp.office365.com
    Port: 587
    Encryption: STARTTLS
    Sign-in: user name and password
    User name: scan@contoso.com
    Sender (From): scan@contoso.com

The method's CLI name is in brackets; "User name" is left out where the device signs
in with nothing, "Server" says "see the sheet" where the host is not verified.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from wizard.core.advisor import SMTP_AUTH_MESSAGES_PER_MINUTE, SMTP_AUTH_RECIPIENTS_PER_DAY
from wizard.core.clouds import Cloud
from wizard.core.device_settings import (
    AuthKind,
    DeviceSettings,
    LocalRelayAccess,
    Security,
    device_settings,
)
from wizard.core.i18n import tr
from wizard.core.journal import Journal
from wizard.core.methods import METHOD_INFO, Method, Tri
from wizard.core.profile import Printer, SiteProfile
from wizard.core.relay import device_password_purpose as relay_device_password_purpose
from wizard.core.relay_host import RelayHost
from wizard.core.retirement import (
    HVE_BASIC_UNTIL,
    BasicAuthPhase,
    basic_auth_outlook,
    hve_basic_supported,
)
from wizard.core.secret_names import password_purpose
from wizard.core.vendors import FieldKey, OAuthAvailability, OAuthSignIn, Vendor

QR_PAYLOAD_VERSION = 2

# Methods whose device signs in with a password (kept in the keyring). The local
# relay's is the one the relay made for the device, not the mailbox's.
PASSWORD_METHODS = (Method.SMTP_AUTH, Method.HVE, Method.LOCAL_RELAY)

PASSWORD_IN_KEYRING = tr("Kept in the keyring \N{EM DASH} ask your administrator")

# Labels for settings a vendor's entry does not list (and the words for a choice it
# does not name), so a sheet never leaves a value without a name.
_GENERIC_LABELS: dict[FieldKey, str] = {
    FieldKey.SERVER: tr("SMTP server"),
    FieldKey.PORT: tr("Port"),
    FieldKey.SECURITY: tr("Encryption"),
    FieldKey.AUTH: tr("Authentication"),
    FieldKey.USERNAME: tr("User name"),
    FieldKey.PASSWORD: tr("Password"),
    FieldKey.SENDER: tr("From address"),
}
_GENERIC_SECURITY = {Security.STARTTLS: "STARTTLS", Security.NONE: tr("None")}
_GENERIC_AUTH = {
    AuthKind.PASSWORD: tr("User name and password"),
    AuthKind.OAUTH: tr("OAuth 2.0 (Microsoft 365)"),
    AuthKind.NONE: tr("Off"),
}


class RowState(StrEnum):
    VALUE = "value"  # type or pick exactly this
    SECRET_HIDDEN = "secret-hidden"  # the password, not printed
    SECRET_SHOWN = "secret-shown"  # the password, printed because the user asked
    NOT_USED = "not-used"  # leave empty / off


@dataclass(frozen=True)
class SheetRow:
    key: FieldKey
    label: str  # the vendor's own label
    value: str
    note: str = ""
    state: RowState = RowState.VALUE


@dataclass(frozen=True)
class LastTest:
    """The last test message sent with these settings."""

    when: datetime
    passed: bool
    summary: str  # one line: the verdict in plain words


@dataclass(frozen=True)
class PrinterSheet:
    site_name: str
    domain: str
    printer_name: str
    model: str
    location: str
    vendor_id: str
    vendor_name: str
    families: tuple[str, ...]
    method: Method
    method_title: str
    method_sentence: str
    can: tuple[str, ...]
    cannot: tuple[str, ...]
    rows: tuple[SheetRow, ...]
    menu_steps: tuple[str, ...]
    labels_checked: bool
    oauth_how: str | None  # only when the method signs in with OAuth
    notes: tuple[str, ...]
    warnings: tuple[str, ...]
    pitfalls: tuple[str, ...]
    last_test: LastTest | None
    retirement_note: str | None
    qr_payload: str
    generated: date

    @property
    def includes_password(self) -> bool:
        return any(r.state is RowState.SECRET_SHOWN for r in self.rows)

    def row(self, key: FieldKey) -> SheetRow:
        return next(r for r in self.rows if r.key is key)


def printer_password_purpose(printer: Printer, relay_access: LocalRelayAccess | None = None) -> str:
    """The keyring purpose of a printer's SMTP password (site = the profile's site name).

    With `relay_access` (the local relay), the password the relay made for the device.
    """
    if relay_access is not None:
        return relay_device_password_purpose(relay_access.username)
    return password_purpose(printer.username or printer.sender)


def relay_note(settings: DeviceSettings) -> str:
    """The SMTP server row's note when the relay host is a guess or was not found.

    The full advice (where to find the tenant's value) is in the sheet's notes, from
    the device settings.
    """
    relay = settings.relay_host
    if relay is None or relay.verified:
        return ""
    if not settings.server:
        return tr("Copy the MX value from the Microsoft 365 admin center: see the notes.")
    return tr("Unverified guess, not the tenant's value: see the notes.")


def qr_payload(settings: DeviceSettings, device: str = "") -> str:
    """The QR code's text: the non-secret settings (format in the module docstring).

    A relay host that is only a guess is left out: a phone shows no "unverified".
    """
    relay = settings.relay_host
    server = settings.server
    if not server or (relay is not None and not relay.verified):
        server = tr("see the sheet")
    security = {Security.STARTTLS: "STARTTLS", Security.NONE: tr("none")}[settings.security]
    sign_in = {
        AuthKind.NONE: tr("none"),
        AuthKind.PASSWORD: tr("user name and password"),
        AuthKind.OAUTH: tr("OAuth 2.0 (sign in with Microsoft)"),
    }[settings.auth]
    lines = [tr("Relay Wizard device settings")]
    if device:
        lines.append(tr("Device: {0}").format(device))
    lines += [
        tr("Method: {0} ({1})").format(METHOD_INFO[settings.method].title, settings.method),
        tr("Server: {0}").format(server),
        tr("Port: {0}").format(settings.port),
        tr("Encryption: {0}").format(security),
        tr("Sign-in: {0}").format(sign_in),
    ]
    if settings.username:
        lines.append(tr("User name: {0}").format(settings.username))
    lines.append(tr("Sender (From): {0}").format(settings.sender))
    return "\n".join(lines)


def _limits() -> tuple[str, ...]:
    return (
        tr("Send more than {n} messages a minute from this mailbox.").format(
            n=SMTP_AUTH_MESSAGES_PER_MINUTE
        ),
        tr("Reach more than {n:,} recipients a day from this mailbox.").format(
            n=SMTP_AUTH_RECIPIENTS_PER_DAY
        ),
    )


def _can_cannot(method: Method) -> tuple[tuple[str, ...], tuple[str, ...]]:
    anyone = tr("Send to anyone, inside or outside the organisation.")
    internal = tr("Deliver to mailboxes in your own organisation.")
    no_outside = tr("Reach anyone outside your organisation.")
    send_as = tr("Send from another address unless the mailbox may send as it.")
    port25 = tr("Send where the internet provider blocks outgoing port 25.")
    if method is Method.SMTP_AUTH_OAUTH:
        return (
            (
                anyone,
                tr("Keep working after Microsoft retires Basic authentication."),
                tr("Sign in without a password stored on the device."),
            ),
            (*_limits(), send_as),
        )
    if method is Method.SMTP_AUTH:
        return (
            (anyone, tr("Sign in with the mailbox's user name and password.")),
            (
                *_limits(),
                send_as,
                tr("Sign in once Basic authentication is switched off (see the note below)."),
            ),
        )
    if method is Method.DIRECT_SEND:
        return (
            (internal, tr("Send without a mailbox, licence or password.")),
            (
                no_outside,
                tr("Send when the tenant rejects direct send (RejectDirectSend)."),
                port25,
            ),
        )
    if method is Method.LOCAL_RELAY:
        return (
            (
                anyone,
                tr("Keep working after Microsoft retires Basic authentication."),
                tr("Send while the internet is down: the relay keeps the mail until it is back."),
            ),
            (
                *_limits(),
                tr("Send while the relay's computer is off or asleep."),
                tr("Send from another address than its own sender address."),
                tr("Send from another network: the relay accepts only this device's address."),
            ),
        )
    if method is Method.CONNECTOR:
        return (
            (anyone, tr("Send without a mailbox or password on the device.")),
            (
                tr(
                    "Send from any other network: only from the office address or "
                    "certificate the connector recognises."
                ),
                port25,
            ),
        )
    return (
        (
            tr("Send many messages to mailboxes in your own organisation."),
            tr("Use an account that needs no licence."),
        ),
        (no_outside, tr("Send for free: High Volume Email is billed per recipient.")),
    )


def _retirement_note(method: Method, today: date) -> str | None:
    if method is Method.LOCAL_RELAY:
        # The device keeps its password, so say why that is fine after the dates.
        if basic_auth_outlook(today).phase is BasicAuthPhase.SUPPORTED:
            when = tr(
                "Microsoft switches Basic SMTP AUTH off by default at the end of December 2026 "
                "and removes it in the second half of 2027."
            )
        else:
            when = tr(
                "Basic SMTP AUTH has been off by default since the end of December 2026 and "
                "is removed in the second half of 2027."
            )
        return (
            when
            + " "
            + tr(
                "This device is not affected: its password only opens the relay, and the "
                "relay signs in to Microsoft 365 with OAuth."
            )
        )
    if method is Method.SMTP_AUTH:
        outlook = basic_auth_outlook(today)
        return f"{outlook.headline} {outlook.detail}"
    if method is Method.HVE:
        until = HVE_BASIC_UNTIL.strftime("%B %Y")
        if hve_basic_supported(today):
            return tr(
                "High Volume Email accepts a password (Basic authentication) until {until}; "
                "move this device to OAuth before then."
            ).format(until=until)
        return tr(
            "High Volume Email stopped accepting a password (Basic authentication) in "
            "{until}: this device must sign in with OAuth."
        ).format(until=until)
    return None


_SIGN_IN_WORDS = {
    OAuthSignIn.DEVICE_CODE: tr(
        "The device shows a code; open microsoft.com/devicelogin on any computer, enter the "
        "code and sign in as the mailbox."
    ),
    OAuthSignIn.WEB_PAGE: tr(
        "Start the sign-in from the device's web page and sign in as the mailbox."
    ),
    OAuthSignIn.CONTROL_PANEL: tr(
        "The sign-in is done on the device's own control panel, not on its web page."
    ),
}


def _oauth_how(vendor: Vendor) -> str:
    oauth = vendor.oauth
    parts: list[str] = []
    if oauth.sign_in is not None:
        parts.append(_SIGN_IN_WORDS[oauth.sign_in])
    else:
        parts.append(tr("Where and how to sign in differs by model."))
    if oauth.where:
        parts.append(tr("Where: {where}.").format(where=oauth.where))
    parts.append(oauth.note)
    return " ".join(p.strip() for p in parts if p.strip())


def _warnings(
    printer: Printer, vendor: Vendor, method: Method, settings: DeviceSettings
) -> list[str]:
    found: list[str] = []
    if method is Method.SMTP_AUTH_OAUTH:
        if vendor.oauth.availability is OAuthAvailability.NO or printer.oauth is Tri.NO:
            found.append(
                tr(
                    "This device cannot sign in with OAuth: choose another method for it "
                    "(the values below will not work)."
                )
            )
    if method in (Method.SMTP_AUTH, Method.SMTP_AUTH_OAUTH, Method.HVE) and (printer.port_465_only):
        found.append(
            tr(
                "This device offers only port 465 (implicit TLS), which Microsoft 365 does "
                "not accept for signed-in sending: choose a connector or direct send."
            )
        )
    if method is Method.LOCAL_RELAY:
        if printer.port_465_only:
            found.append(
                tr(
                    "This device offers only port 465 (implicit TLS); the relay listens on "
                    "port 587 with STARTTLS: choose a connector or direct send."
                )
            )
        if not settings.server:
            found.append(
                tr(
                    "The relay is not set up for this device yet: the values below are "
                    "incomplete until it is added on the Relay step."
                )
            )
    offered = {s.value for s in vendor.security_options}
    if settings.tls_required and settings.security.value not in offered:
        found.append(
            tr("{vendor}'s devices are not listed with {security}; check the device first.").format(
                vendor=vendor.name, security=_GENERIC_SECURITY[settings.security]
            )
        )
    if not settings.sender:
        found.append(tr("No sender address is set for this printer yet."))
    return found


def _row(
    key: FieldKey,
    label: str,
    settings: DeviceSettings,
    vendor: Vendor,
    password: str | None,
    note: str,
) -> SheetRow:
    row = _value_row(key, label, settings, vendor, password, note)
    if row.state is RowState.NOT_USED and row.note:
        # A hint about a setting the device leaves empty only confuses.
        return SheetRow(row.key, row.label, row.value, "", row.state)
    return row


def _value_row(
    key: FieldKey,
    label: str,
    settings: DeviceSettings,
    vendor: Vendor,
    password: str | None,
    note: str,
) -> SheetRow:
    auth = settings.auth
    if key is FieldKey.SERVER:
        relay = settings.relay_host
        if not settings.server:
            # Never a computed host: where to find the real one instead.
            return SheetRow(
                key, label, tr("Not known yet"), relay_note(settings), RowState.NOT_USED
            )
        if relay is not None and relay.is_guess:
            note = " ".join(p for p in (relay_note(settings), note) if p)
        return SheetRow(key, label, settings.server, note)
    if key is FieldKey.PORT:
        return SheetRow(key, label, str(settings.port), note)
    if key is FieldKey.SECURITY:
        word = vendor.choice(key, settings.security.value) or _GENERIC_SECURITY[settings.security]
        if settings.security is Security.STARTTLS and not settings.tls_required:
            note = " ".join(
                p for p in (tr("Optional here, but use it when the device offers it."), note) if p
            )
        return SheetRow(key, label, word, note)
    if key is FieldKey.AUTH:
        word = vendor.choice(key, auth.value) or _GENERIC_AUTH[auth]
        return SheetRow(
            key, label, word, note, RowState.NOT_USED if auth is AuthKind.NONE else RowState.VALUE
        )
    if key is FieldKey.USERNAME:
        if auth is AuthKind.NONE or not settings.username:
            return SheetRow(key, label, tr("Leave empty"), note, RowState.NOT_USED)
        return SheetRow(key, label, settings.username, note)
    if key is FieldKey.PASSWORD:
        if auth is AuthKind.NONE:
            return SheetRow(key, label, tr("Leave empty"), note, RowState.NOT_USED)
        if auth is AuthKind.OAUTH:
            return SheetRow(
                key,
                label,
                tr("Not used: the device signs in with Microsoft (see below)"),
                note,
                RowState.NOT_USED,
            )
        if password:
            return SheetRow(key, label, password, note, RowState.SECRET_SHOWN)
        return SheetRow(key, label, PASSWORD_IN_KEYRING, note, RowState.SECRET_HIDDEN)
    return SheetRow(key, label, settings.sender or tr("Not set yet"), note)


def build_printer_sheet(
    profile: SiteProfile,
    printer: Printer,
    vendor: Vendor,
    cloud: Cloud,
    *,
    method: Method,
    today: date,
    password: str | None = None,
    last_test: LastTest | None = None,
    mx_host: RelayHost | str | None = None,
    relay_access: LocalRelayAccess | None = None,
) -> PrinterSheet:
    """The sheet for one printer. `password` only when the user asked to print it.

    `relay_access`: for the local relay, how this printer reaches the relay.
    """
    settings = device_settings(
        method,
        cloud,
        domain=profile.site.domain,
        sender=printer.sender,
        username=printer.username,
        mx_host=mx_host,
        tls12=printer.tls12,
        local_relay=relay_access,
    )
    rows = [_row(f.key, f.label, settings, vendor, password, f.note) for f in vendor.fields]
    # A vendor entry that lacks a setting still gets it, under the generic name.
    listed = {f.key for f in vendor.fields}
    rows.extend(
        _row(key, _GENERIC_LABELS[key], settings, vendor, password, "")
        for key in FieldKey
        if key not in listed
    )
    info = METHOD_INFO[method]
    can, cannot = _can_cannot(method)
    return PrinterSheet(
        site_name=profile.site.name,
        domain=profile.site.domain,
        printer_name=printer.name,
        model=printer.model,
        location=printer.location,
        vendor_id=vendor.id,
        vendor_name=vendor.name,
        families=vendor.families,
        method=method,
        method_title=info.title,
        method_sentence=info.short,
        can=can,
        cannot=cannot,
        rows=tuple(rows),
        menu_steps=vendor.menu_steps,
        labels_checked=vendor.labels_checked,
        oauth_how=_oauth_how(vendor) if settings.auth is AuthKind.OAUTH else None,
        notes=settings.notes,
        warnings=tuple(_warnings(printer, vendor, method, settings)),
        pitfalls=vendor.pitfalls_for(settings.auth.value),
        last_test=last_test,
        retirement_note=_retirement_note(method, today),
        qr_payload=qr_payload(settings, printer.name),
        generated=today,
    )


def last_tests_from(journal: Journal, printers: tuple[Printer, ...]) -> dict[str, LastTest]:
    """Each printer's last test message as the journal has it ("RW-… delivered"), in
    local time, as a sheet prints it."""
    found: dict[str, LastTest] = {}
    for printer in printers:
        record = journal.last_test(printer.name)
        if record is not None:
            found[printer.name] = LastTest(record.when.astimezone(), record.passed, record.summary)
    return found


def build_site_sheets(
    profile: SiteProfile,
    cloud: Cloud,
    vendor_for: Callable[[str], Vendor],
    *,
    today: date,
    printers: tuple[str, ...] | None = None,
    passwords: Mapping[str, str] | None = None,
    last_tests: Mapping[str, LastTest] | None = None,
    mx_host: RelayHost | str | None = None,
    relay_access: Mapping[str, LocalRelayAccess] | None = None,
) -> tuple[PrinterSheet, ...]:
    """One sheet per printer of the profile (or of `printers`, by name), in profile order.

    `passwords`, `last_tests` and `relay_access` (the local relay) are keyed by printer
    name; without `last_tests` each printer's last test comes from the profile's history
    (the saved journal). Raises ValueError when the profile has no method yet.
    """
    if profile.method is None:
        raise ValueError("the profile has no sending method yet")
    if last_tests is None:
        last_tests = last_tests_from(Journal(profile.history), profile.printers)
    chosen = profile.printers
    if printers is not None:
        wanted = {name.casefold() for name in printers}
        chosen = tuple(p for p in profile.printers if p.name.casefold() in wanted)
    return tuple(
        build_printer_sheet(
            profile,
            printer,
            vendor_for(printer.vendor),
            cloud,
            method=profile.method,
            today=today,
            password=(passwords or {}).get(printer.name),
            last_test=(last_tests or {}).get(printer.name),
            mx_host=mx_host,
            relay_access=(relay_access or {}).get(printer.name),
        )
        for printer in chosen
    )
