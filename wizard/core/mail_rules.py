"""Mail flow rules (Get-TransportRule): which touch a sender's mail, and what they do.

A rule touches the device's mail when its sender conditions (From, SenderDomainIs,
SenderIpRanges, FromAddressContainsWords, FromScope) match and no exception does;
conditions on something else (recipients, subject, attachments) make it "may touch",
named in plain words. Pure.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wizard.core.findings import SEVERITY_ORDER, Severity, join_words
from wizard.core.i18n import tr
from wizard.core.tenant import normalise_domain, parse_ip_entry


@dataclass(frozen=True)
class RuleInfo:
    """A mail flow rule (Get-TransportRule), reduced to what decides whether it touches
    a device's mail and what it then does."""

    name: str
    priority: int = 0
    enabled: bool = True
    mode: str = "Enforce"  # "Audit" / "AuditAndNotify" only report (test mode)
    from_addresses: tuple[str, ...] = ()
    sender_domains: tuple[str, ...] = ()
    sender_ip_ranges: tuple[str, ...] = ()
    from_words: tuple[str, ...] = ()
    from_scope: str = ""
    except_from: tuple[str, ...] = ()
    except_sender_domains: tuple[str, ...] = ()
    except_sender_ip_ranges: tuple[str, ...] = ()
    except_from_words: tuple[str, ...] = ()
    # Conditions the wizard cannot judge for the device (recipient, subject...).
    other_conditions: tuple[str, ...] = ()
    # (Exchange parameter, value as text), e.g. ("RedirectMessageTo", "it@contoso.com").
    actions: tuple[tuple[str, str], ...] = ()

    @property
    def test_mode(self) -> bool:
        return self.mode.strip().lower() not in ("", "enforce")


@dataclass(frozen=True)
class RuleEffect:
    """What one rule does to the device's mail."""

    rule: str
    priority: int
    severity: Severity
    effects: tuple[str, ...]
    # "" when it certainly applies; otherwise the conditions it also needs.
    condition: str = ""
    test_mode: bool = False

    def what(self) -> str:
        """What it does, and when (without the rule's name)."""
        text = join_words(self.effects)
        if self.condition:
            text += " " + tr("when {condition}").format(condition=self.condition)
        if self.test_mode:
            text += " " + tr("(test mode: it only reports, changes nothing)")
        return text

    def describe(self) -> str:
        return tr("'{rule}' {what}").format(rule=self.rule, what=self.what())

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "priority": self.priority,
            "severity": str(self.severity),
            "effects": list(self.effects),
            "condition": self.condition or None,
            "test_mode": self.test_mode,
        }


# --- 7. mail flow rules --------------------------------------------------------------------------


def _in_ranges(ip: str, ranges: Sequence[str]) -> bool:
    try:
        address = ipaddress.IPv4Address(ip)
    except ValueError:
        return False
    for entry in ranges:
        try:
            if any(address in net for net in parse_ip_entry(entry)):
                return True
        except ValueError:
            continue
    return False


def _domain_in(domain: str, domains: Sequence[str]) -> bool:
    """SenderDomainIs matches the domain and its subdomains."""
    wanted = normalise_domain(domain)
    for entry in domains:
        name = normalise_domain(entry)
        if wanted == name or wanted.endswith("." + name):
            return True
    return False


def _words_in(address: str, words: Sequence[str]) -> bool:
    text = address.lower()
    return any(w.strip().lower() and w.strip().lower() in text for w in words)


_ACTION_WORDS: dict[str, tuple[Severity, str]] = {
    "RedirectMessageTo": (Severity.PROBLEM, tr("redirects it to {value}")),
    "Quarantine": (Severity.PROBLEM, tr("sends it to quarantine")),
    "DeleteMessage": (Severity.PROBLEM, tr("deletes it without notice")),
    "RejectMessageReasonText": (Severity.PROBLEM, tr("rejects it ('{value}')")),
    "RejectMessageEnhancedStatusCode": (Severity.PROBLEM, tr("rejects it with {value}")),
    "ModerateMessageByUser": (Severity.WARNING, tr("holds it until {value} approves it")),
    "ModerateMessageByManager": (
        Severity.WARNING,
        tr("holds it until the sender's manager approves it"),
    ),
    "RouteMessageOutboundConnector": (
        Severity.WARNING,
        tr("routes it through the outbound connector {value}"),
    ),
    "BlindCopyTo": (Severity.INFO, tr("sends a hidden copy to {value}")),
    "CopyTo": (Severity.INFO, tr("sends a copy to {value}")),
    "AddToRecipients": (Severity.INFO, tr("adds {value} as a recipient")),
    "PrependSubject": (Severity.INFO, tr("puts '{value}' before the subject")),
    "ApplyHtmlDisclaimerText": (Severity.INFO, tr("adds a disclaimer")),
    "ApplyOME": (Severity.INFO, tr("encrypts it")),
    "ApplyRightsProtectionTemplate": (Severity.INFO, tr("protects it with {value}")),
    "SetHeaderName": (Severity.INFO, tr("sets the header {value}")),
    "GenerateIncidentReport": (Severity.INFO, tr("sends an incident report to {value}")),
    "NotifySender": (Severity.INFO, tr("notifies the sender")),
}
# Actions that change nothing about the message itself.
_SILENT_ACTIONS = frozenset({"StopRuleProcessing", "SenderNotificationType", "Mode"})


def _effect(name: str, value: str) -> tuple[Severity, str]:
    if name == "SetSCL":
        try:
            scl = int(value)
        except ValueError:
            return Severity.INFO, tr("sets the spam level to {value}").format(value=value)
        if scl >= 5:
            return Severity.WARNING, tr(
                "marks it as spam (SCL {scl}), so it lands in Junk or quarantine"
            ).format(scl=scl)
        if scl < 0:
            return Severity.INFO, tr("lets it skip spam filtering")
        return Severity.INFO, tr("sets the spam level to {scl}").format(scl=scl)
    if name in _ACTION_WORDS:
        severity, words = _ACTION_WORDS[name]
        return severity, words.format(value=value or "?")
    return Severity.INFO, tr("applies the action {name}").format(name=name)


def rule_effects(
    sender: str,
    rules: Sequence[RuleInfo],
    ip: str | None,
    accepted_domains: Sequence[str] = (),
    *,
    signs_in: bool,
) -> tuple[RuleEffect, ...]:
    """The enabled rules whose sender conditions match mail from `sender`, sent from the
    office's public `ip` (signed in or not), and what they do."""
    sender = sender.strip().lower()
    domain = normalise_domain(sender.rpartition("@")[2])
    found: list[RuleEffect] = []
    for rule in sorted(rules, key=lambda r: r.priority):
        if not rule.enabled:
            continue
        unknown: list[str] = []
        if rule.from_addresses and sender not in {a.strip().lower() for a in rule.from_addresses}:
            continue
        if rule.sender_domains and not _domain_in(domain, rule.sender_domains):
            continue
        if rule.from_words and not _words_in(sender, rule.from_words):
            continue
        if rule.sender_ip_ranges:
            if ip is None:
                unknown.append(
                    tr("the office's IP is in {ranges}").format(
                        ranges=", ".join(rule.sender_ip_ranges)
                    )
                )
            elif not _in_ranges(ip, rule.sender_ip_ranges):
                continue
        if rule.from_scope:
            scope = rule.from_scope.strip().lower()
            inside = any(
                domain == normalise_domain(d) or domain.endswith("." + normalise_domain(d))
                for d in accepted_domains
            )
            if scope == "notinorganization" and inside and signs_in:
                continue
            if scope == "inorganization" and not inside:
                continue
            if not signs_in:
                # Anonymous mail from an accepted domain may count either way.
                unknown.append(tr("the sender counts as {scope}").format(scope=rule.from_scope))
        if sender in {a.strip().lower() for a in rule.except_from}:
            continue
        if rule.except_sender_domains and _domain_in(domain, rule.except_sender_domains):
            continue
        if ip and rule.except_sender_ip_ranges and _in_ranges(ip, rule.except_sender_ip_ranges):
            continue
        if rule.except_from_words and _words_in(sender, rule.except_from_words):
            continue
        unknown += [tr("{condition} is met").format(condition=c) for c in rule.other_conditions]
        effects = [
            _effect(name, value) for name, value in rule.actions if name not in _SILENT_ACTIONS
        ]
        if not effects:
            continue
        severity = min((e[0] for e in effects), key=SEVERITY_ORDER.__getitem__)
        if rule.test_mode:
            severity = Severity.INFO
        elif unknown and severity is Severity.PROBLEM:
            # It depends on something the wizard cannot judge for the device.
            severity = Severity.WARNING
        found.append(
            RuleEffect(
                rule=rule.name,
                priority=rule.priority,
                severity=severity,
                effects=tuple(e[1] for e in effects),
                condition=join_words(unknown),
                test_mode=rule.test_mode,
            )
        )
    return tuple(found)
