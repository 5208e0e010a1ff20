"""Troubleshoot checks 1-5: what the wire says (name, ports, TLS, certificate, sign-in).

Each `check_*` turns one probe's result (core.troubleshoot.model) into a `Finding` in plain
words with the wizard step that fixes it. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from wizard.core.clouds import Cloud, Endpoint
from wizard.core.device_settings import Security
from wizard.core.findings import Finding, Severity, join_words
from wizard.core.i18n import tr
from wizard.core.methods import METHOD_INFO, Method, Tri
from wizard.core.smtp_codes import (
    ConnectionFailure,
    explain_connection_failure,
    explain_reply,
)
from wizard.core.steps import WizardStep
from wizard.core.transcript import Outcome, SmtpTestResult
from wizard.core.troubleshoot.model import (
    CERTIFICATE_WARN_DAYS,
    MODERN_TLS,
    TLS_NAMES,
    CheckId,
    DeviceUnderTest,
    LookupStatus,
    NameLookup,
    PortProbe,
    PortRole,
    Reach,
    TlsOutcome,
    TlsProbe,
    cloud_addresses,
    from_verdict,
    is_address,
    make_finding,
    ms,
    not_checked,
)

# --- 1. name resolution ---------------------------------------------------------------------


def check_resolution(
    device: DeviceUnderTest,
    lookups: Sequence[NameLookup],
    cloud: Cloud,
    expected: Endpoint | None,
) -> Finding:
    """The device's server name: does it resolve, and is it the right one?"""
    check = CheckId.RESOLVE
    technical = [lookup.describe() for lookup in lookups]
    own = next((lookup for lookup in lookups if lookup.role == "device"), None)
    if own is None:
        return not_checked(check, tr("The server's name was not looked up"))
    host = own.host
    right = expected.host if expected is not None else ""
    use_right = (
        tr("Enter {host} as the server on the device.").format(host=right)
        if right and right != host
        else tr("Correct the server's name on the device.")
    )
    if own.status in (LookupStatus.NOT_FOUND, LookupStatus.NO_ADDRESS):
        return make_finding(
            check,
            Severity.PROBLEM,
            tr("The server name {host} does not exist").format(host=host)
            if own.status is LookupStatus.NOT_FOUND
            else tr("The server name {host} has no address").format(host=host),
            tr(
                "DNS knows no address for this name, so the device cannot connect. A typo "
                "in the server's name is the usual cause."
            ),
            use_right,
            WizardStep.SHEETS,
            technical,
        )
    if own.status is LookupStatus.FAILED:
        return make_finding(
            check,
            Severity.WARNING,
            tr("The server's name could not be looked up from this computer"),
            tr("The DNS server did not answer ({detail}).").format(detail=own.detail or "-"),
            tr("Check this computer's network connection and DNS, then run the checks again."),
            WizardStep.OUTSIDE,
            technical,
        )
    port_note = _port_note(device, expected)
    if own.status is LookupStatus.ADDRESS:
        if host in cloud_addresses(cloud):
            return make_finding(
                check,
                Severity.OK,
                tr("The device uses the address {host}").format(host=host),
                tr("That is where {cloud} listens; there is no name to look up.").format(
                    cloud=cloud.name
                )
                + port_note,
                "",
                None,
                technical,
            )
        return make_finding(
            check,
            Severity.PROBLEM if device.signs_in else Severity.WARNING,
            tr("The device uses an IP address instead of the server's name"),
            tr(
                "Microsoft 365's addresses change without notice, and its certificate "
                "carries the name, not the address: a device that checks certificates "
                "refuses the connection."
            )
            + port_note,
            use_right,
            WizardStep.SHEETS,
            technical,
        )
    if right and right.lower() != host.lower() and not is_address(right):
        return make_finding(
            check,
            Severity.WARNING,
            tr("The device uses {host}, not {right}").format(host=host, right=right),
            tr("The name resolves, but for {method} the server is {right}.").format(
                method=METHOD_INFO[device.method].title, right=right
            )
            + port_note,
            use_right,
            WizardStep.SHEETS,
            technical,
        )
    if device.port == 465:
        return make_finding(
            check,
            Severity.PROBLEM,
            tr("Microsoft 365 does not offer port 465"),
            tr(
                "Port 465 (TLS from the first byte, 'SSL/TLS') is not served; devices use "
                "port 587 with STARTTLS, or 25 for relay."
            ),
            tr("Set the port to {port} with STARTTLS on the device.").format(
                port=expected.port if expected else 587
            ),
            WizardStep.SHEETS,
            technical,
        )
    return make_finding(
        check,
        Severity.OK,
        tr("{host} resolves").format(host=host),
        tr("It has the addresses {addresses}.").format(addresses=", ".join(own.addresses))
        + port_note,
        "",
        None,
        technical,
    )


def _port_note(device: DeviceUnderTest, expected: Endpoint | None) -> str:
    if expected is None or expected.port == device.port:
        return ""
    return " " + tr("The device uses port {port}; the method's port is {expected}.").format(
        port=device.port, expected=expected.port
    )


# --- 2. ports 25 and 587 -------------------------------------------------------------------


def check_ports(device: DeviceUnderTest, probes: Sequence[PortProbe], target: Endpoint) -> Finding:
    """Port 25 and 587 side by side; a timeout on 25 with 587 open is a port-25 block."""
    check = CheckId.PORTS
    technical = [p.describe() for p in probes]
    technical.append(
        tr("Checked from this computer: run the checks on the device's network to see its path.")
    )
    by_role = {p.role: p for p in probes}
    relay = by_role.get(PortRole.RELAY)
    submission = by_role.get(PortRole.SUBMISSION)
    own = next((p for p in probes if p.endpoint == target), None)
    if own is None:
        return not_checked(check, tr("The device's port was not tried"))
    if own.reach is Reach.CANCELLED:
        return not_checked(check, tr("Stopped before the connection check finished"))
    on_relay = own.role is PortRole.RELAY
    where = f"{own.host}:{own.port}"
    if own.reach is Reach.OPEN:
        note = ""
        severity = Severity.OK
        if relay is not None and relay.reach is Reach.TIMEOUT and not on_relay:
            severity = Severity.INFO
            note = " " + tr(
                "Port 25 seems blocked on this network; that does not matter for this "
                "device, which uses port {port}."
            ).format(port=own.nominal_port)
        return make_finding(
            check,
            severity,
            tr("The device's server answers on port {port}").format(port=own.nominal_port),
            tr("Connected to {where} in {ms} ms.").format(where=where, ms=ms(own.seconds)) + note,
            "",
            None,
            technical,
        )
    if own.reach is Reach.TIMEOUT:
        other = submission if on_relay else relay
        if other is not None and other.reach is Reach.OPEN:
            if on_relay:
                return make_finding(
                    check,
                    Severity.PROBLEM,
                    tr("Outbound port 25 is blocked on this network"),
                    tr(
                        "Connecting to port 25 timed out after {s:.1f} s while port 587 "
                        "answered in {ms} ms: the internet provider or a firewall blocks "
                        "port 25, so the device's mail never reaches Microsoft 365."
                    ).format(s=own.seconds, ms=ms(other.seconds)),
                    tr(
                        "Ask the provider to open outbound port 25 to Microsoft 365, or "
                        "switch the device to a method on port 587 (SMTP AUTH with OAuth, "
                        "or High Volume Email)."
                    ),
                    WizardStep.METHOD,
                    technical,
                )
            return make_finding(
                check,
                Severity.PROBLEM,
                tr("Outbound port {port} is blocked on this network").format(port=own.nominal_port),
                tr(
                    "Connecting to {where} timed out while port 25 answered: a firewall "
                    "blocks the submission port."
                ).format(where=where),
                tr(
                    "Open outbound port {port} to Microsoft 365 in the firewall, or use a "
                    "connector on port 25."
                ).format(port=own.nominal_port),
                WizardStep.OUTSIDE,
                technical,
            )
        return make_finding(
            check,
            Severity.PROBLEM,
            tr("Microsoft 365 does not answer from this network"),
            tr(
                "Neither port 25 nor port 587 answered: the internet connection is down, or "
                "a firewall drops mail connections."
            ),
            tr("Check the internet connection and the firewall's outbound rules."),
            WizardStep.OUTSIDE,
            technical,
        )
    failure = {
        Reach.REFUSED: ConnectionFailure.REFUSED,
        Reach.UNREACHABLE: ConnectionFailure.UNREACHABLE,
        Reach.NOT_RESOLVED: ConnectionFailure.NAME_NOT_RESOLVED,
    }[own.reach]
    verdict = explain_connection_failure(failure, own.host, own.port)
    return from_verdict(check, verdict, technical=technical)


# --- 3. STARTTLS and TLS versions ---------------------------------------------------------


def check_tls(device: DeviceUnderTest, probe: TlsProbe, *, legacy_endpoint: bool) -> Finding:
    """Whether encryption can be set up the way the device does it.

    legacy_endpoint: the cloud offers an endpoint for devices stuck on TLS 1.0/1.1.
    """
    check = CheckId.TLS
    where = f"{probe.host}:{probe.port}"
    technical = [a.describe() for a in probe.attempts]
    if probe.error:
        technical.append(probe.error)
    if probe.starttls is None:
        return make_finding(
            check,
            Severity.PROBLEM,
            tr("The server did not start the conversation"),
            tr("{where} accepted the connection but sent no greeting ({error}).").format(
                where=where, error=probe.error or "-"
            ),
            tr("Check the server and port; something in between may hold the connection."),
            WizardStep.SHEETS,
            technical,
        )
    if not probe.starttls:
        if device.security is Security.STARTTLS and device.tls_required:
            verdict = explain_connection_failure(
                ConnectionFailure.STARTTLS_UNAVAILABLE, probe.host, probe.port
            )
            return from_verdict(check, verdict, technical=technical)
        return make_finding(
            check,
            Severity.INFO,
            tr("The server does not offer encryption"),
            tr("The device does not ask for it either, so its mail travels unencrypted."),
            "",
            None,
            technical,
        )
    agreed = probe.agreed
    names = join_words([TLS_NAMES[v] for v in agreed])
    if not any(v in MODERN_TLS for v in agreed):
        verdict = explain_connection_failure(
            ConnectionFailure.TLS12_UNAVAILABLE, probe.host, probe.port
        )
        return from_verdict(
            check,
            verdict,
            more=tr(
                "Microsoft 365 always offers TLS 1.2: something between this computer and "
                "Microsoft (a proxy or a firewall inspecting mail) is in the way."
            ),
            technical=technical,
        )
    if device.security is Security.NONE:
        if device.signs_in:
            return make_finding(
                check,
                Severity.PROBLEM,
                tr("The device signs in without encryption"),
                tr(
                    "Microsoft 365 offers sign-in only after STARTTLS, so the device is "
                    "refused (530 5.7.57 or 504 5.7.4)."
                ),
                tr("Switch STARTTLS on in the device's settings."),
                WizardStep.SHEETS,
                technical,
            )
        return make_finding(
            check,
            Severity.INFO,
            tr("The device sends without encryption"),
            tr(
                "The server offers STARTTLS with {names}, but the device does not use it. "
                "This path allows it, unless a connector requires TLS."
            ).format(names=names),
            tr("Switch STARTTLS on in the device's settings if it can."),
            WizardStep.SHEETS,
            technical,
        )
    legacy = [a for a in probe.attempts if a.version not in MODERN_TLS]
    if device.tls12 is Tri.NO:
        if any(a.usable for a in legacy):
            return make_finding(
                check,
                Severity.OK,
                tr("The device's older TLS is accepted here"),
                tr("The server takes mail over TLS 1.0/1.1, which this device needs."),
                "",
                None,
                technical,
            )
        refused = next((a.mail_refused for a in legacy if a.mail_refused), "")
        fix = (
            tr(
                "Update the device's firmware for TLS 1.2, or use the legacy TLS endpoint "
                "(the plan lets the tenant allow legacy TLS clients)."
            )
            if legacy_endpoint
            else tr(
                "Update the device's firmware for TLS 1.2; this cloud has no endpoint for "
                "older TLS, so a connector on port 25 is the other way."
            )
        )
        return make_finding(
            check,
            Severity.PROBLEM,
            tr("The device's TLS 1.0/1.1 is refused"),
            (
                tr("The server agreed to {names}, but refuses mail over TLS 1.0/1.1 ({reply}).")
                if refused
                else tr("The server accepts {names} only, and this device has no TLS 1.2.")
            ).format(names=names, reply=refused),
            fix,
            WizardStep.PLAN if legacy_endpoint else WizardStep.METHOD,
            technical,
        )
    usable = join_words([a.name for a in probe.attempts if a.usable])
    old_refused = [a.name for a in legacy if a.outcome is not TlsOutcome.NOT_HERE and not a.usable]
    return make_finding(
        check,
        Severity.OK,
        tr("STARTTLS works with {names}").format(names=usable),
        tr("The server offers STARTTLS and takes mail over {names}.").format(names=usable)
        + (
            " "
            + tr("It refuses mail over {old}, as Microsoft 365 does.").format(
                old=join_words(old_refused)
            )
            if old_refused
            else ""
        ),
        "",
        None,
        technical,
    )


# --- 4. the certificate -----------------------------------------------------------------------


def check_certificate(probe: TlsProbe, now: datetime) -> Finding:
    check = CheckId.CERTIFICATE
    if probe.certificate_failure is not None:
        verdict = explain_connection_failure(probe.certificate_failure, probe.host, probe.port)
        return from_verdict(
            check,
            verdict,
            technical=[probe.certificate_detail] if probe.certificate_detail else (),
        )
    cert = probe.certificate
    if cert is None:
        return not_checked(
            check,
            tr("No certificate to check"),
            tr("No encrypted connection was set up (see the encryption check)."),
        )
    technical = [
        tr("Subject: {value}").format(value=cert.subject or "-"),
        tr("Issuer: {value}").format(value=cert.issuer or "-"),
        tr("Names: {value}").format(value=", ".join(cert.names) or "-"),
        tr("Trusted by: {value}").format(value=cert.trusted_by),
    ]
    if cert.not_after is not None:
        technical.insert(
            2, tr("Valid until: {date}").format(date=cert.not_after.date().isoformat())
        )
        days = (cert.not_after - now).days
        if days <= CERTIFICATE_WARN_DAYS:
            return make_finding(
                check,
                Severity.WARNING,
                tr("The server's certificate expires in {days} days").format(days=max(days, 0)),
                tr(
                    "Microsoft renews its certificates well ahead; one this close to its end "
                    "may come from a device in between that inspects TLS."
                ),
                tr("Check for a proxy or security appliance that inspects mail connections."),
                WizardStep.OUTSIDE,
                technical,
            )
    return make_finding(
        check,
        Severity.OK,
        tr("The certificate is valid for {host}").format(host=probe.host),
        tr("Issued by {issuer}{until}; checked against {trusted}.").format(
            issuer=cert.issuer or "-",
            until=(
                tr(", valid until {date}").format(date=cert.not_after.date().isoformat())
                if cert.not_after
                else ""
            ),
            trusted=cert.trusted_by,
        ),
        "",
        None,
        technical,
    )


# --- 5. sign-in and sending permission ---------------------------------------------------------


def check_auth(device: DeviceUnderTest, result: SmtpTestResult) -> Finding:
    """The server's answer to sign-in (if any), the sender and the recipient."""
    check = CheckId.AUTH
    technical = []
    if result.auth_mechanism:
        technical.append(
            tr("Signed in with {mechanism} as {user}").format(
                mechanism=result.auth_mechanism, user=device.login
            )
        )
    if result.reply is not None:
        technical.append(
            tr("Server at {stage}: {code} {text}").format(
                stage=result.reply.stage.value, code=result.reply.code, text=result.reply.text
            )
        )
    if result.detail:
        technical.append(result.detail)
    if result.outcome is Outcome.CANCELLED:
        return not_checked(check, tr("Stopped before the sign-in check finished"))
    if result.outcome is Outcome.CHECKED:
        recipient = device.test_recipient
        if device.signs_in:
            title = tr("{user} signs in and may send as {sender}").format(
                user=device.login, sender=device.sender
            )
        else:
            title = tr("The server takes mail from {sender} without sign-in").format(
                sender=device.sender
            )
        return make_finding(
            check,
            Severity.OK,
            title,
            tr(
                "The server accepted the sender and the recipient {recipient}. Nothing was "
                "sent: the check stopped before the message."
            ).format(recipient=recipient),
            "",
            None,
            technical,
        )
    verdict = result.verdict
    if device.method is Method.CONNECTOR and verdict.key == "5.7.54":
        # For a device that relies on a connector, "relay not allowed" means that no
        # connector recognised the office.
        verdict = explain_reply(550, "5.7.64 TenantAttribution; Relay Access Denied")
    more = ""
    if result.reply is not None:
        more = tr("The server answered: {code} {text}").format(
            code=result.reply.code, text=result.reply.text
        )
    return from_verdict(check, verdict, more=more, technical=technical)
