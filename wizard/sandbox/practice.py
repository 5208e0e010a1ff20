"""Faults a technician can plant in the demo tenant to practise troubleshooting.

Each fault is one of the usual reasons a setup that worked stops working (the
office's IP changed, the ISP blocked port 25, a rule redirects the scans, Basic
authentication was retired...). Switching one on changes the sandbox's state the
way the real event would; switching it off puts back what was there before.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from wizard.core.i18n import tr
from wizard.sandbox.tenant import TenantState, TransportRule

CHANGED_IP = "203.0.113.99"
RULE_NAME = "Practice: send the scanner's mail to the archive"


class Fault(StrEnum):
    PORT25_BLOCKED = "port25-blocked"
    IP_CHANGED = "ip-changed"
    REDIRECT_RULE = "redirect-rule"
    BASIC_RETIRED = "basic-retired"
    SECURITY_DEFAULTS = "security-defaults"
    REJECT_DIRECT_SEND = "reject-direct-send"
    MAILBOX_SMTP_AUTH_OFF = "mailbox-smtp-auth-off"


@dataclass(frozen=True)
class FaultInfo:
    fault: Fault
    title: str
    detail: str


FAULTS: tuple[FaultInfo, ...] = (
    FaultInfo(
        Fault.PORT25_BLOCKED,
        tr("The internet provider blocks port 25"),
        tr("Connections to the MX host on port 25 time out."),
    ),
    FaultInfo(
        Fault.IP_CHANGED,
        tr("The office's public IP address changed"),
        tr(
            "The office now comes from {ip}; a connector for the old address no longer matches."
        ).format(ip=CHANGED_IP),
    ),
    FaultInfo(
        Fault.REDIRECT_RULE,
        tr("A mail flow rule redirects the scanner's mail"),
        tr("A transport rule sends everything from the scanner to an archive mailbox."),
    ),
    FaultInfo(
        Fault.BASIC_RETIRED,
        tr("Microsoft has retired Basic authentication"),
        tr("Password sign-in on the submission endpoint gets 550 5.7.30."),
    ),
    FaultInfo(
        Fault.SECURITY_DEFAULTS,
        tr("Security Defaults are switched on"),
        tr("Password sign-in for SMTP is refused with 535 5.7.139."),
    ),
    FaultInfo(
        Fault.REJECT_DIRECT_SEND,
        tr("The tenant rejects direct send"),
        tr("RejectDirectSend is on: anonymous mail without a connector gets 550 5.7.68."),
    ),
    FaultInfo(
        Fault.MAILBOX_SMTP_AUTH_OFF,
        tr("SMTP AUTH is switched off for the scanner's mailbox"),
        tr("The scanner's own setting refuses sign-in (535 5.7.139)."),
    ),
)


class Practice:
    """Plants and removes faults in one sandbox tenant, remembering what was there."""

    def __init__(self, state: TenantState) -> None:
        self.state = state
        self.scanner = f"scanner@{state.default_domain}"
        self._ip = state.site_public_ip
        mailbox = state.mailbox(self.scanner)
        self._scanner_switch = mailbox.smtp_client_auth_disabled if mailbox else None

    @property
    def faults(self) -> tuple[FaultInfo, ...]:
        """Every fault one can plant, in the order the practice dialog lists them."""
        return FAULTS

    def is_on(self, fault: Fault) -> bool:
        s = self.state
        with s.lock:
            if fault is Fault.PORT25_BLOCKED:
                return s.mx_port_blocked
            if fault is Fault.IP_CHANGED:
                return s.site_public_ip != self._ip
            if fault is Fault.REDIRECT_RULE:
                return any(r.name == RULE_NAME for r in s.transport_rules)
            if fault is Fault.BASIC_RETIRED:
                return s.basic_auth_retired
            if fault is Fault.SECURITY_DEFAULTS:
                return s.security_defaults
            if fault is Fault.REJECT_DIRECT_SEND:
                return s.reject_direct_send
            mailbox = s.mailbox(self.scanner)
            return mailbox is not None and mailbox.smtp_client_auth_disabled is True

    def set(self, fault: Fault, on: bool) -> None:
        s = self.state
        with s.lock:
            if fault is Fault.PORT25_BLOCKED:
                s.mx_port_blocked = on
            elif fault is Fault.IP_CHANGED:
                s.site_public_ip = CHANGED_IP if on else self._ip
            elif fault is Fault.REDIRECT_RULE:
                s.transport_rules = [r for r in s.transport_rules if r.name != RULE_NAME]
                if on:
                    s.transport_rules.append(
                        TransportRule(
                            RULE_NAME,
                            from_addresses=[self.scanner],
                            actions={"RedirectMessageTo": [f"archive@{s.default_domain}"]},
                        )
                    )
            elif fault is Fault.BASIC_RETIRED:
                s.basic_auth_retired = on
            elif fault is Fault.SECURITY_DEFAULTS:
                s.security_defaults = on
            elif fault is Fault.REJECT_DIRECT_SEND:
                s.reject_direct_send = on
            else:
                mailbox = s.mailbox(self.scanner)
                if mailbox is not None:
                    mailbox.smtp_client_auth_disabled = True if on else self._scanner_switch

    def planted(self) -> list[Fault]:
        return [info.fault for info in FAULTS if self.is_on(info.fault)]
