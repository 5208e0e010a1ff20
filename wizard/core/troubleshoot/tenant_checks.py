"""Troubleshoot checks 6-8: what the tenant says (connector, mail flow rules, trace).

They need an admin's sign-in; without it each says "Sign in to check this". Pure.
"""

from __future__ import annotations

from collections.abc import Sequence

from wizard.core.findings import SEVERITY_ORDER, Finding, Severity, join_words
from wizard.core.i18n import tr
from wizard.core.mail_rules import RuleInfo, rule_effects
from wizard.core.methods import SUBMISSION_METHODS, Method
from wizard.core.steps import WizardStep
from wizard.core.tenant import InboundConnector
from wizard.core.troubleshoot.model import (
    CheckId,
    DeviceUnderTest,
    PublicIp,
    RecentMessage,
    TenantView,
    cert_matches,
    connector_matches,
    make_finding,
    sign_in_needed,
)

# --- 6. the connector --------------------------------------------------------------------------


def _matches(c: InboundConnector, domain: str, ip: str | None, cert: str | None) -> str | None:
    """How the connector recognises the office ("certificate", "ip"), or None.

    An OnPremises connector is matched by its TlsSenderCertificateName or
    SenderIPAddresses alone: SenderDomains scopes only Partner connectors
    (New-InboundConnector reference, learn.microsoft.com).
    """
    if not c.is_on_premises:
        return connector_matches(c, domain, ip, cert)
    if not c.enabled:
        return None
    name = c.tls_sender_certificate_name
    if cert and name and cert_matches(cert, name):
        return "certificate"
    if ip and c.is_ip_connector and c.covers(ip):
        return "ip"
    return None


def _serves(c: InboundConnector, domain: str) -> bool:
    return c.enabled and (c.is_on_premises or c.accepts_domain(domain))


def _connector_line(c: InboundConnector) -> str:
    return tr("'{name}' ({state}): sender domains {domains}; IPs {ips}; certificate {cert}").format(
        name=c.name,
        state=tr("on") if c.enabled else tr("off"),
        domains=", ".join(sorted(c.domains)) or "-",
        ips=", ".join(c.sender_ip_addresses) or "-",
        cert=c.tls_sender_certificate_name or "-",
    )


def check_connector(
    device: DeviceUnderTest, tenant: TenantView | None, public_ip: PublicIp | None
) -> Finding:
    check = CheckId.CONNECTOR
    ip = public_ip.address if public_ip is not None else None
    technical: list[str] = []
    if public_ip is not None:
        technical.append(
            tr("The office's public IP now: {ip} ({source})").format(ip=ip, source=public_ip.source)
            if ip
            else tr("The office's public IP could not be detected: {error}").format(
                error=public_ip.error or "-"
            )
        )
    changed = bool(ip and device.known_site_ip and device.known_site_ip != ip)
    if changed:
        technical.append(
            tr("The site profile has {old}: the address changed.").format(old=device.known_site_ip)
        )
    if tenant is None:
        finding = sign_in_needed(check, tr("the tenant's connectors"))
        return Finding(
            finding.id,
            finding.severity,
            finding.title,
            finding.details,
            finding.fix,
            finding.step,
            tuple(technical),
            checked=False,
        )
    technical += [_connector_line(c) for c in tenant.connectors] or [
        tr("Get-InboundConnector: (none)")
    ]
    domain = device.sender_domain
    cert = device.certificate_name
    matches = [(c, how) for c in tenant.connectors if (how := _matches(c, domain, ip, cert))]
    # Certificate first: Microsoft attributes a connection by certificate before IP.
    matches.sort(key=lambda m: 0 if m[1] == "certificate" else 1)
    matched = matches[0][0] if matches else None
    for_domain = [c for c in tenant.connectors if _serves(c, domain)]
    if device.method in SUBMISSION_METHODS or device.method is Method.HVE:
        return make_finding(
            check,
            Severity.INFO,
            tr("Not needed: the device signs in"),
            tr("Connectors only decide about devices that send without signing in."),
            "",
            None,
            technical,
        )
    # RestrictDomainsToIPAddresses / ...ToCertificate refuse mail only on Partner
    # connectors; on an OnPremises connector Exchange ignores them.
    restricted = [
        c
        for c in for_domain
        if c is not matched
        and not c.is_on_premises
        and (
            (c.restrict_domains_to_ip_addresses and not (ip and c.covers(ip)))
            or (
                c.restrict_domains_to_certificate
                and not (
                    cert
                    and c.tls_sender_certificate_name
                    and cert_matches(cert, c.tls_sender_certificate_name)
                )
            )
        )
    ]
    if matched is not None:
        how = matches[0][1]
        risk = ""
        cert_domain = matched.certificate_domain
        severity = Severity.OK
        if cert_domain and not tenant.is_accepted_or_subdomain(cert_domain):
            severity = Severity.WARNING
            risk = " " + tr(
                "Its certificate name {name} is not one of the tenant's domains; Microsoft "
                "warns such connectors may stop working without notice (MC1226222)."
            ).format(name=matched.tls_sender_certificate_name)
        note = (
            " "
            + tr("The site profile still has {old}; save the new address {ip} in the site.").format(
                old=device.known_site_ip, ip=ip
            )
            if changed
            else ""
        )
        return make_finding(
            check,
            severity,
            tr("Connector '{name}' recognises the office").format(name=matched.name),
            (
                tr("It accepts the device's certificate {cert}.").format(cert=cert)
                if how == "certificate"
                else tr("It accepts the office's public IP {ip}.").format(ip=ip)
            )
            + risk
            + note,
            tr("Use a certificate for one of your own domains.") if risk else "",
            WizardStep.OUTSIDE if risk else None,
            technical,
        )
    ip_connectors = [c for c in for_domain if c.is_ip_connector]
    if device.method is Method.DIRECT_SEND:
        if restricted:
            return _ip_changed(check, restricted[0], device, ip, technical)
        if tenant.reject_direct_send is True:
            return make_finding(
                check,
                Severity.PROBLEM,
                tr("The tenant refuses direct send, and no connector recognises the office"),
                tr(
                    "RejectDirectSend is on: anonymous mail from your domains is refused "
                    "(550 5.7.68) unless a connector recognises the sender."
                ),
                tr("Send through a connector for the office instead (connector relay)."),
                WizardStep.METHOD,
                technical,
            )
        return make_finding(
            check,
            Severity.OK,
            tr("Direct send needs no connector"),
            tr("RejectDirectSend is off, so mail to your own mailboxes is taken without one."),
            "",
            None,
            technical,
        )
    # Connector relay.
    if ip is None and not cert:
        return make_finding(
            check,
            Severity.WARNING,
            tr("The office's public IP could not be detected"),
            tr("Without it the wizard cannot tell which connector recognises the office."),
            tr("Enter the office's public IP in Site and devices, then run the checks again."),
            WizardStep.SITE,
            technical,
        )
    if ip_connectors:
        return _ip_changed(check, ip_connectors[0], device, ip, technical)
    cert_connectors = [c for c in for_domain if c.is_certificate_connector]
    if cert_connectors:
        expected = cert_connectors[0].tls_sender_certificate_name
        return make_finding(
            check,
            Severity.PROBLEM,
            tr("Connector '{name}' does not recognise the device's certificate").format(
                name=cert_connectors[0].name
            ),
            tr("It expects a certificate issued to {expected}; the device presents {have}.").format(
                expected=expected, have=cert or tr("none that was entered")
            ),
            tr(
                "Install a certificate for {expected} on the device, or enter the name it "
                "presents above."
            ).format(expected=expected),
            WizardStep.OUTSIDE,
            technical,
        )
    switched_off = [
        c
        for c in tenant.connectors
        if not c.enabled and (c.is_on_premises or c.accepts_domain(domain))
    ]
    if switched_off:
        return make_finding(
            check,
            Severity.PROBLEM,
            tr("Connector '{name}' is switched off").format(name=switched_off[0].name),
            tr("While it is off, Microsoft 365 does not recognise the office."),
            tr("Switch it on in the Exchange admin center (Mail flow > Connectors)."),
            WizardStep.OUTSIDE,
            technical,
        )
    return make_finding(
        check,
        Severity.PROBLEM,
        tr("The tenant has no connector for {domain}").format(domain=domain),
        tr(
            "Connector relay needs an inbound connector that recognises the office by its "
            "public IP or certificate; without one, mail to outside recipients is refused."
        ),
        tr("Let the plan create a connector for the office."),
        WizardStep.PLAN,
        technical,
    )


def _ip_changed(
    check: CheckId,
    connector: InboundConnector,
    device: DeviceUnderTest,
    ip: str | None,
    technical: list[str],
) -> Finding:
    accepted = ", ".join(connector.sender_ip_addresses) or tr("(no address)")
    return make_finding(
        check,
        Severity.PROBLEM,
        tr("The office's public IP is now {ip}; connector '{name}' expects {accepted}").format(
            ip=ip or "?", name=connector.name, accepted=accepted
        ),
        tr(
            "Microsoft 365 no longer recognises the office, so the device's mail is refused "
            "(550 5.7.64). The office's address changed, for example after a new router or "
            "internet contract."
        ),
        tr(
            "Update the connector to {ip}: the wizard puts the new address into the site "
            "and the plan changes the connector."
        ).format(ip=ip or "?"),
        WizardStep.PLAN,
        technical,
    )


# --- 7. mail flow rules --------------------------------------------------------------------------


def check_rules(
    device: DeviceUnderTest,
    rules: Sequence[RuleInfo] | None,
    ip: str | None,
    accepted_domains: Sequence[str] = (),
) -> Finding:
    check = CheckId.RULES
    if rules is None:
        return sign_in_needed(check, tr("the mail flow rules (Get-TransportRule)"))
    effects = rule_effects(device.sender, rules, ip, accepted_domains, signs_in=device.signs_in)
    technical = [e.describe() for e in effects]
    enabled = sum(1 for r in rules if r.enabled)
    technical.append(
        tr("{n} rules, {enabled} of them on (Get-TransportRule)").format(
            n=len(rules), enabled=enabled
        )
    )
    if not effects:
        return make_finding(
            check,
            Severity.OK,
            tr("No mail flow rule touches mail from {sender}").format(sender=device.sender),
            tr("None of the {n} rules matches the sender, its domain or the office's IP.").format(
                n=len(rules)
            ),
            "",
            None,
            technical,
        )
    worst = min(effects, key=lambda e: SEVERITY_ORDER[e.severity])
    fix = tr(
        "Change or switch off the rule in the Exchange admin center (Mail flow > Rules), or "
        "add an exception for {sender}."
    ).format(sender=device.sender)
    if worst.severity in (Severity.PROBLEM, Severity.WARNING):
        title = tr("Mail flow rule '{rule}' {effects}").format(
            rule=worst.rule, effects=join_words(worst.effects)
        )
        details = tr("Mail from {sender} is matched by: {rules}.").format(
            sender=device.sender, rules="; ".join(e.describe() for e in effects)
        )
        return make_finding(
            check, worst.severity, title, details, fix, WizardStep.OUTSIDE, technical
        )
    return make_finding(
        check,
        Severity.INFO,
        tr("{n} mail flow rule(s) touch the device's mail, harmlessly").format(n=len(effects)),
        "; ".join(e.describe() for e in effects) + ".",
        "",
        None,
        technical,
    )


# --- 8. the message trace ------------------------------------------------------------------------


def _status_of(status: str) -> str:
    value = status.strip().lower()
    if value in ("filteredasspam", "quarantined"):
        return "quarantined"
    if value in ("delivered", "failed"):
        return value
    return "pending"


def check_trace(
    device: DeviceUnderTest, messages: Sequence[RecentMessage] | None, hours: int
) -> Finding:
    check = CheckId.TRACE
    if messages is None:
        return sign_in_needed(check, tr("the message trace (Get-MessageTraceV2)"))
    technical = [
        f"{m.received}  {m.status:<11}  {m.recipient}  {m.subject}".rstrip() for m in messages[:20]
    ]
    if not messages:
        return make_finding(
            check,
            Severity.WARNING,
            tr("No message from {sender} in the last {hours} hours").format(
                sender=device.sender, hours=hours
            ),
            tr(
                "Nothing the device sent reached Microsoft 365 lately. Messages refused "
                "during the conversation (at sign-in, sender or recipient) never show in "
                "the trace: the checks above say why they were refused."
            ),
            "",
            None,
            technical,
        )
    latest = messages[0]
    counts: dict[str, int] = {}
    for message in messages:
        key = _status_of(message.status)
        counts[key] = counts.get(key, 0) + 1
    summary = ", ".join(
        f"{n} {word}"
        for key, word in (
            ("delivered", tr("delivered")),
            ("failed", tr("failed")),
            ("quarantined", tr("quarantined")),
            ("pending", tr("pending")),
        )
        if (n := counts.get(key, 0))
    )
    details = tr(
        "{n} message(s) in the last {hours} hours: {summary}. Latest: {when} to {to}, {status}."
    ).format(
        n=len(messages),
        hours=hours,
        summary=summary,
        when=latest.received,
        to=latest.recipient,
        status=latest.status,
    )
    state = _status_of(latest.status)
    if state == "failed":
        return make_finding(
            check,
            Severity.PROBLEM,
            tr("The device's latest message failed"),
            details,
            tr(
                "Open the message in the Exchange admin center (Mail flow > Message trace) "
                "to read why."
            ),
            WizardStep.OUTSIDE,
            technical,
        )
    if state == "quarantined":
        return make_finding(
            check,
            Severity.PROBLEM,
            tr("The device's latest message is held in quarantine"),
            details,
            tr(
                "Release it in the Microsoft Defender portal (Quarantine) and check the "
                "mail flow rules and spam policies that caught it."
            ),
            WizardStep.OUTSIDE,
            technical,
        )
    if state == "pending":
        return make_finding(
            check,
            Severity.INFO,
            tr("The device's latest message is still being delivered"),
            details,
            "",
            None,
            technical,
        )
    return make_finding(
        check,
        Severity.OK,
        tr("The device's latest message was delivered"),
        details,
        "",
        None,
        technical,
    )
