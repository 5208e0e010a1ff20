"""Mail-flow cmdlets: inbound connectors, transport config, transport rules, message trace."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from wizard.sandbox.cmdlets import (
    Cmdlet,
    CmdletError,
    Context,
    Kind,
    ListChange,
    Param,
    Result,
    check_sender_ip,
    invalid,
    iso,
    no_change_warning,
    not_found,
    valid_domain,
)
from wizard.sandbox.tenant import InboundConnector, TenantState, TraceEntry, TransportRule

CONNECTOR_TYPES = ("OnPremises", "Partner")

_CONNECTOR_FIELDS = {
    "Name": "name",
    "ConnectorType": "connector_type",
    "SenderDomains": "sender_domains",
    "SenderIPAddresses": "sender_ip_addresses",
    "RestrictDomainsToIPAddresses": "restrict_domains_to_ip_addresses",
    "TlsSenderCertificateName": "tls_sender_certificate_name",
    "RestrictDomainsToCertificate": "restrict_domains_to_certificate",
    "RequireTls": "require_tls",
    "Enabled": "enabled",
    "Comment": "comment",
}


def _connector_params(*, new: bool) -> dict[str, Param]:
    params = {
        "Name": Param(Kind.STR, mandatory=new),
        "ConnectorType": Param(
            Kind.ENUM,
            choices=CONNECTOR_TYPES,
            type_name="Microsoft.Exchange.Data.TenantConnectorType",
        ),
        "SenderDomains": Param(Kind.STRLIST, mandatory=new, hashtable=True),
        "SenderIPAddresses": Param(Kind.STRLIST, nullable=True, hashtable=True),
        "RestrictDomainsToIPAddresses": Param(Kind.BOOL),
        "TlsSenderCertificateName": Param(Kind.STR, nullable=True),
        "RestrictDomainsToCertificate": Param(Kind.BOOL),
        "RequireTls": Param(Kind.BOOL),
        "Enabled": Param(Kind.BOOL),
        "Comment": Param(Kind.STR, nullable=True),
    }
    if not new:
        params["Identity"] = Param(Kind.STR, mandatory=True)
    return params


def connector_view(c: InboundConnector) -> dict[str, Any]:
    return {
        "Identity": c.name,
        "Name": c.name,
        "Guid": c.identity,
        "Enabled": c.enabled,
        "ConnectorType": c.connector_type,
        "ConnectorSource": "Default",
        "Comment": c.comment or None,
        "SenderIPAddresses": list(c.sender_ip_addresses),
        # Exchange lists sender domains as SMTP address-space entries.
        "SenderDomains": [f"smtp:{d};1" for d in c.sender_domains],
        "AssociatedAcceptedDomains": [],
        "RequireTls": c.require_tls,
        "RestrictDomainsToIPAddresses": c.restrict_domains_to_ip_addresses,
        "RestrictDomainsToCertificate": c.restrict_domains_to_certificate,
        "CloudServicesMailEnabled": False,
        "TreatMessagesAsInternal": False,
        "TlsSenderCertificateName": c.tls_sender_certificate_name,
        "EFTestMode": False,
        "EFSkipLastIP": False,
        "EFSkipIPs": [],
        "EFUsers": [],
        "ScanAndDropRecipients": [],
        "IsValid": True,
        "WhenCreated": iso(c.when_created),
        "WhenCreatedUTC": iso(c.when_created),
    }


def find_connector(state: TenantState, identity: str) -> InboundConnector | None:
    key = identity.strip().lower()
    return next(
        (c for c in state.connectors if c.name.lower() == key or c.identity.lower() == key), None
    )


def _validate_connector(c: InboundConnector, state: TenantState) -> None:
    if any(o.name.lower() == c.name.lower() and o.identity != c.identity for o in state.connectors):
        raise invalid(
            f"The name '{c.name}' is already in use. Choose a different name and try again.",
            "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException",
        )
    if not c.sender_domains:
        raise invalid("SenderDomains can't be empty. Specify at least one domain, or '*'.")
    for domain in c.sender_domains:
        if not valid_domain(domain):
            raise invalid(f"The value '{domain}' of SenderDomains isn't a valid domain.")
    for ip in c.sender_ip_addresses:
        problem = check_sender_ip(ip)
        if problem:
            raise invalid(problem)
    if c.tls_sender_certificate_name is not None and not valid_domain(
        c.tls_sender_certificate_name
    ):
        raise invalid(
            f"The value '{c.tls_sender_certificate_name}' of TlsSenderCertificateName isn't a "
            "valid domain name."
        )
    if c.restrict_domains_to_ip_addresses and not c.sender_ip_addresses:
        raise invalid(
            "RestrictDomainsToIPAddresses is set to $true, so SenderIPAddresses must contain at "
            "least one IP address."
        )
    if c.restrict_domains_to_certificate and not c.tls_sender_certificate_name:
        raise invalid(
            "RestrictDomainsToCertificate is set to $true, so TlsSenderCertificateName must be "
            "specified."
        )
    if c.connector_type == "OnPremises" and not (
        c.sender_ip_addresses or c.tls_sender_certificate_name
    ):
        raise invalid(
            "An OnPremises inbound connector must identify the sender: specify SenderIPAddresses "
            "or TlsSenderCertificateName."
        )


def _apply(c: InboundConnector, bound: dict[str, Any]) -> InboundConnector:
    changes: dict[str, Any] = {}
    for param, attr in _CONNECTOR_FIELDS.items():
        if param not in bound:
            continue
        value = bound[param]
        if isinstance(value, ListChange):
            value = value.apply(getattr(c, attr))
        if attr in ("sender_domains", "sender_ip_addresses"):
            value = [v.strip().lower() for v in (value or [])]
        if attr == "comment":
            value = value or ""
        changes[attr] = value
    return replace(c, **changes)


def new_inbound_connector(ctx: Context, bound: dict[str, Any]) -> Result:
    with ctx.state.lock:
        connector = _apply(InboundConnector(name=bound["Name"]), bound)
        connector = replace(connector, when_created=ctx.now)
        _validate_connector(connector, ctx.state)
        ctx.state.connectors.append(connector)
    return Result([connector_view(connector)])


def set_inbound_connector(ctx: Context, bound: dict[str, Any]) -> Result:
    with ctx.state.lock:
        current = find_connector(ctx.state, bound["Identity"])
        if current is None:
            raise not_found(bound["Identity"])
        changed = _apply(current, bound)
        if changed == current:
            return Result([], [no_change_warning(current.name)])
        _validate_connector(changed, ctx.state)
        index = ctx.state.connectors.index(current)
        ctx.state.connectors[index] = changed
    return Result([])


def remove_inbound_connector(ctx: Context, bound: dict[str, Any]) -> Result:
    with ctx.state.lock:
        current = find_connector(ctx.state, bound["Identity"])
        if current is None:
            raise not_found(bound["Identity"])
        ctx.state.connectors.remove(current)
    return Result([])


def get_inbound_connector(ctx: Context, bound: dict[str, Any]) -> Result:
    with ctx.state.lock:
        if "Identity" in bound:
            found = find_connector(ctx.state, bound["Identity"])
            if found is None:
                raise not_found(bound["Identity"])
            return Result([connector_view(found)])
        return Result([connector_view(c) for c in ctx.state.connectors])


TRANSPORT_CONFIG_IDENTITY = "Transport Settings"


def _transport_view(state: TenantState) -> dict[str, Any]:
    return {
        "Identity": TRANSPORT_CONFIG_IDENTITY,
        "Name": TRANSPORT_CONFIG_IDENTITY,
        "SmtpClientAuthenticationDisabled": state.smtp_client_auth_disabled,
        "AllowLegacyTLSClients": state.allow_legacy_tls_clients,
        "MaxSendSize": "35 MB (36,700,160 bytes)",
        "MaxReceiveSize": "36 MB (37,748,736 bytes)",
        "InternalSMTPServers": [],
        "ReplyAllStormProtectionEnabled": True,
        "IsValid": True,
    }


def get_transport_config(ctx: Context, bound: dict[str, Any]) -> Result:
    with ctx.state.lock:
        return Result([_transport_view(ctx.state)])


def set_transport_config(ctx: Context, bound: dict[str, Any]) -> Result:
    state = ctx.state
    with state.lock:
        before = (state.smtp_client_auth_disabled, state.allow_legacy_tls_clients)
        if "SmtpClientAuthenticationDisabled" in bound:
            state.smtp_client_auth_disabled = bound["SmtpClientAuthenticationDisabled"]
        if "AllowLegacyTLSClients" in bound:
            state.allow_legacy_tls_clients = bound["AllowLegacyTLSClients"]
        if before == (state.smtp_client_auth_disabled, state.allow_legacy_tls_clients):
            return Result([], [no_change_warning(TRANSPORT_CONFIG_IDENTITY)])
    return Result([])


_RULE_ACTIONS = ("RedirectMessageTo", "Quarantine", "DeleteMessage", "SetSCL")


def rule_view(rule: TransportRule) -> dict[str, Any]:
    view: dict[str, Any] = {
        "Identity": rule.name,
        "Name": rule.name,
        "Guid": rule.identity,
        "Priority": rule.priority,
        "State": rule.state,
        "Mode": rule.mode,
        "From": list(rule.from_addresses) or None,
        "SenderDomainIs": list(rule.sender_domain_is) or None,
        "SenderIpRanges": list(rule.sender_ip_ranges) or None,
        "RedirectMessageTo": None,
        "Quarantine": False,
        "DeleteMessage": False,
        "SetSCL": None,
    }
    view.update(rule.actions)
    return view


def get_transport_rule(ctx: Context, bound: dict[str, Any]) -> Result:
    with ctx.state.lock:
        rules = sorted(ctx.state.transport_rules, key=lambda r: r.priority)
        if "Identity" in bound:
            key = bound["Identity"].lower()
            rules = [r for r in rules if key in (r.name.lower(), r.identity.lower())]
            if not rules:
                raise not_found(bound["Identity"])
        return Result([rule_view(r) for r in rules])


SUBJECT_FILTERS = ("Contains", "EndsWith", "StartsWith")
TRACE_STATUSES = ("Delivered", "Failed", "Pending", "Expanded", "Quarantined", "FilteredAsSpam")


def _trace_rows(entry: TraceEntry, organization: str) -> list[dict[str, Any]]:
    return [
        {
            "Organization": organization,
            "MessageId": entry.message_id,
            "Received": iso(entry.received),
            "SenderAddress": entry.sender,
            "RecipientAddress": recipient,
            "Subject": entry.subject,
            "Status": str(entry.status),
            "ToIP": None,
            "FromIP": entry.from_ip,
            "Size": entry.size,
            "MessageTraceId": entry.message_trace_id,
        }
        for recipient in entry.recipients
    ]


def _bare_id(message_id: str) -> str:
    return message_id.strip().strip("<>").lower()


def get_message_trace_v2(ctx: Context, bound: dict[str, Any]) -> Result:
    end = bound.get("EndDate", ctx.now)
    start = bound.get("StartDate", end - timedelta(hours=48))
    if start < ctx.now - timedelta(days=90):
        raise invalid(
            "Invalid StartDate value. The StartDate can't be older than 90 days from today.",
            "Microsoft.Exchange.Management.FfoReporting.InvalidExpressionException",
        )
    if end < start:
        raise invalid(
            "Invalid EndDate value. The EndDate must be later than the StartDate.",
            "Microsoft.Exchange.Management.FfoReporting.InvalidExpressionException",
        )
    if end - start > timedelta(days=10):
        raise invalid(
            "The time range between StartDate and EndDate can't be more than 10 days.",
            "Microsoft.Exchange.Management.FfoReporting.InvalidExpressionException",
        )
    size = bound.get("ResultSize", 1000)
    if not 1 <= size <= 5000:
        raise CmdletError(
            f"Cannot validate argument on parameter 'ResultSize'. The {size} argument is outside "
            "the range 1-5000. Supply an argument that is in the range and then try again.",
            "System.Management.Automation.ParameterBindingValidationException",
            binding=True,
        )
    senders = {s.lower() for s in bound.get("SenderAddress", [])}
    recipients = {r.lower() for r in bound.get("RecipientAddress", [])}
    ids = {_bare_id(m) for m in bound.get("MessageId", [])}
    statuses = {s.lower() for s in bound.get("Status", [])}
    subject = bound.get("Subject")
    how = bound.get("SubjectFilterType", "Contains")
    rows: list[dict[str, Any]] = []
    with ctx.state.lock:
        entries = list(ctx.state.trace)
        organization = ctx.state.initial_domain
    for entry in sorted(entries, key=lambda e: e.received, reverse=True):
        if not start <= entry.received <= end:
            continue
        if senders and entry.sender.lower() not in senders:
            continue
        if ids and _bare_id(entry.message_id) not in ids:
            continue
        if statuses and str(entry.status).lower() not in statuses:
            continue
        if bound.get("FromIP") and entry.from_ip != bound["FromIP"]:
            continue
        if bound.get("MessageTraceId") and entry.message_trace_id != bound["MessageTraceId"]:
            continue
        if subject is not None and not _subject_matches(entry.subject, subject, how):
            continue
        for row in _trace_rows(entry, organization):
            if recipients and row["RecipientAddress"].lower() not in recipients:
                continue
            rows.append(row)
    return Result(rows[:size])


def _subject_matches(subject: str, wanted: str, how: str) -> bool:
    subject, wanted = subject.lower(), wanted.lower()
    if how == "StartsWith":
        return subject.startswith(wanted)
    if how == "EndsWith":
        return subject.endswith(wanted)
    return wanted in subject


CMDLETS = [
    Cmdlet("New-InboundConnector", _connector_params(new=True), new_inbound_connector),
    Cmdlet("Set-InboundConnector", _connector_params(new=False), set_inbound_connector),
    Cmdlet(
        "Remove-InboundConnector",
        {"Identity": Param(Kind.STR, mandatory=True)},
        remove_inbound_connector,
    ),
    Cmdlet("Get-InboundConnector", {"Identity": Param(Kind.STR)}, get_inbound_connector),
    Cmdlet("Get-TransportConfig", {}, get_transport_config),
    Cmdlet(
        "Set-TransportConfig",
        {
            "SmtpClientAuthenticationDisabled": Param(Kind.BOOL),
            "AllowLegacyTLSClients": Param(Kind.BOOL),
        },
        set_transport_config,
    ),
    Cmdlet("Get-TransportRule", {"Identity": Param(Kind.STR)}, get_transport_rule),
    Cmdlet(
        "Get-MessageTraceV2",
        {
            "SenderAddress": Param(Kind.STRLIST),
            "RecipientAddress": Param(Kind.STRLIST),
            "StartDate": Param(Kind.DATETIME),
            "EndDate": Param(Kind.DATETIME),
            "MessageId": Param(Kind.STRLIST),
            "MessageTraceId": Param(Kind.STR),
            "Subject": Param(Kind.STR),
            "SubjectFilterType": Param(
                Kind.ENUM,
                choices=SUBJECT_FILTERS,
                type_name="Microsoft.Exchange.Management.FfoReporting.SubjectFilterType",
            ),
            "Status": Param(Kind.STRLIST),
            "FromIP": Param(Kind.STR),
            "ResultSize": Param(Kind.INT),
        },
        get_message_trace_v2,
    ),
]
