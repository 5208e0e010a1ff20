"""Mail-flow cmdlets: inbound connectors, transport config, transport rules, message trace."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from wizard.sandbox.exchange.cmdlets import (
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
from wizard.sandbox.smtp.replies import BACKEND_HOST as BACKEND_SERVER
from wizard.sandbox.tenant import (
    InboundConnector,
    TenantState,
    TraceEntry,
    TraceStatus,
    TransportRule,
)

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
REPORTING_ERROR = "Microsoft.Exchange.Management.FfoReporting.InvalidExpressionException"
# Get-MessageTraceV2 / Get-MessageTraceDetailV2 reference (learn.microsoft.com/powershell/
# module/exchangepowershell/get-messagetracev2): "A maximum of 100 query requests are
# accepted within a 5 minute running window". Microsoft publishes no text for the refusal;
# the sandbox answers as InvokeCommand answers any throttled call, HTTP 429 with
# Retry-After (M365-FACTS, "Running Exchange cmdlets without PowerShell").
TRACE_QUERY_LIMIT = 100
TRACE_QUERY_WINDOW = timedelta(minutes=5)
# "You can only return 10 days worth of data per query", "up to 1000 results, with a
# maximum of 5000", "search message data for the last 90 days" (same reference).
TRACE_MAX_RANGE = timedelta(days=10)
TRACE_MAX_AGE = timedelta(days=90)
TRACE_DEFAULT_RANGE = timedelta(hours=48)


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


def _count_trace_query(ctx: Context) -> None:
    """Refuse the 101st trace query of a 5-minute running window (429, Retry-After)."""
    state = ctx.state
    with state.lock:
        since = ctx.now - TRACE_QUERY_WINDOW
        state.trace_queries = [t for t in state.trace_queries if t > since]
        if len(state.trace_queries) >= TRACE_QUERY_LIMIT:
            raise CmdletError(
                "Too many requests were sent in a short time. Retry after the time given in "
                "the Retry-After header.",
                "",
                status=429,
                code="TooManyRequests",
                with_details=False,
            )
        state.trace_queries.append(ctx.now)


def _date_range(ctx: Context, bound: dict[str, Any]) -> tuple[datetime, datetime]:
    end = bound.get("EndDate", ctx.now)
    start = bound.get("StartDate", end - TRACE_DEFAULT_RANGE)
    if start < ctx.now - TRACE_MAX_AGE:
        raise invalid(
            "Invalid StartDate value. The StartDate can't be older than 90 days from today.",
            REPORTING_ERROR,
        )
    if end < start:
        raise invalid(
            "Invalid EndDate value. The EndDate must be later than the StartDate.",
            REPORTING_ERROR,
        )
    if end - start > TRACE_MAX_RANGE:
        raise invalid(
            "The time range between StartDate and EndDate can't be more than 10 days.",
            REPORTING_ERROR,
        )
    return start, end


def _ms(moment: datetime) -> datetime:
    """The moment as the trace prints it (milliseconds), so a printed time compares equal."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _visible(ctx: Context) -> list[TraceEntry]:
    """The messages Microsoft's trace lists by now: each appears `trace_delay` after it came."""
    with ctx.state.lock:
        lag = timedelta(seconds=max(0.0, ctx.state.trace_delay))
        return [e for e in ctx.state.trace if e.received + lag <= ctx.now]


def get_message_trace_v2(ctx: Context, bound: dict[str, Any]) -> Result:
    start, end = _date_range(ctx, bound)
    size = bound.get("ResultSize", 1000)
    if not 1 <= size <= 5000:
        raise CmdletError(
            f"Cannot validate argument on parameter 'ResultSize'. The {size} argument is outside "
            "the range 1-5000. Supply an argument that is in the range and then try again.",
            "System.Management.Automation.ParameterBindingValidationException",
            binding=True,
        )
    _count_trace_query(ctx)
    senders = {s.lower() for s in bound.get("SenderAddress", [])}
    recipients = {r.lower() for r in bound.get("RecipientAddress", [])}
    ids = {_bare_id(m) for m in bound.get("MessageId", [])}
    statuses = {s.lower() for s in bound.get("Status", [])}
    subject = bound.get("Subject")
    how = bound.get("SubjectFilterType", "Contains")
    # "query subsequent data by taking the Recipient address and Received Time values of
    # the last record ... as the values for the StartingRecipientAddress and EndDate"
    starting_after = (bound.get("StartingRecipientAddress") or "").lower()
    rows: list[tuple[datetime, dict[str, Any]]] = []
    with ctx.state.lock:
        organization = ctx.state.initial_domain
    for entry in _visible(ctx):
        if not start <= _ms(entry.received) <= end:
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
            rows.append((entry.received, row))
    # Newest first; rows of one moment by recipient, so a continuation is well defined.
    rows.sort(key=lambda r: r[1]["RecipientAddress"].lower())
    rows.sort(key=lambda r: r[0], reverse=True)
    if starting_after:
        ordered = rows
        rows = [
            (when, row)
            for when, row in ordered
            if _ms(when) < end or row["RecipientAddress"].lower() > starting_after
        ]
    return Result([row for _, row in rows[:size]])


def _detail_events(entry: TraceEntry, recipient: str, organization: str) -> list[dict[str, Any]]:
    """Get-MessageTraceDetailV2 rows: Date, Event, Action, Detail (the reason for a failure)."""
    base = {
        "Organization": organization,
        "MessageId": entry.message_id,
        "MessageTraceId": entry.message_trace_id,
        "SenderAddress": entry.sender,
        "RecipientAddress": recipient,
        "Data": None,
    }
    received = {
        **base,
        "Date": iso(entry.received),
        "Event": "Receive",
        "Action": None,
        "Detail": f"Message received by: {BACKEND_SERVER}",
    }
    later = iso(entry.received + timedelta(seconds=2))
    status = entry.status
    if status is TraceStatus.DELIVERED:
        outcome = {**base, "Date": later, "Event": "Deliver", "Action": None}
        outcome["Detail"] = entry.detail or "The message was successfully delivered."
    elif status is TraceStatus.FAILED:
        outcome = {**base, "Date": later, "Event": "Fail", "Action": None}
        outcome["Detail"] = entry.detail or "The message couldn't be delivered."
    elif status is TraceStatus.QUARANTINED:
        outcome = {**base, "Date": later, "Event": "Quarantine", "Action": "Quarantine"}
        outcome["Detail"] = entry.detail or "The message was quarantined."
    else:
        outcome = {**base, "Date": later, "Event": "Defer", "Action": None}
        outcome["Detail"] = entry.detail or "The message delivery was postponed."
    return [received, outcome]


def get_message_trace_detail_v2(ctx: Context, bound: dict[str, Any]) -> Result:
    start, end = _date_range(ctx, bound)
    _count_trace_query(ctx)
    trace_id = bound["MessageTraceId"].strip().lower()
    recipient = bound["RecipientAddress"].strip().lower()
    events_wanted = {e.lower() for e in bound.get("Event", [])}
    actions_wanted = {a.lower() for a in bound.get("Action", [])}
    with ctx.state.lock:
        organization = ctx.state.initial_domain
    rows: list[dict[str, Any]] = []
    for entry in _visible(ctx):
        if entry.message_trace_id.lower() != trace_id:
            continue
        if recipient not in {r.lower() for r in entry.recipients}:
            continue
        if not start <= _ms(entry.received) <= end:
            continue
        if bound.get("SenderAddress") and entry.sender.lower() != bound["SenderAddress"].lower():
            continue
        for event in _detail_events(entry, recipient, organization):
            if events_wanted and str(event["Event"]).lower() not in events_wanted:
                continue
            if actions_wanted and str(event["Action"] or "").lower() not in actions_wanted:
                continue
            rows.append(event)
    return Result(rows)


def _lenient(names: str) -> dict[str, Param]:
    return {name: Param(Kind.STRLIST) for name in names.split()}


def _retired(old: str, new: str) -> Any:
    """The answer of a cmdlet Microsoft retired on 1 September 2025.

    The text is Exchange Online's own, as public tools quote it after that date
    (KelvinTegelaar/CIPP issue 4643, T0pCyber/hawk issues 296 and 302, for
    Get-MessageTrace; the detail cmdlet is assumed to answer the same way).
    """

    def run(ctx: Context, bound: dict[str, Any]) -> Result:
        raise invalid(
            f"{old} will start deprecating on September 1st, 2025. Please refer to: "
            f"https://learn.microsoft.com/en-us/powershell/module/exchange/{new.lower()}"
            f"?view=exchange-ps to switch to {new}."
        )

    return run


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
            "ToIP": Param(Kind.STR),
            "ResultSize": Param(Kind.INT),
            "StartingRecipientAddress": Param(Kind.STR),
        },
        get_message_trace_v2,
    ),
    Cmdlet(
        "Get-MessageTraceDetailV2",
        {
            "MessageTraceId": Param(Kind.STR, mandatory=True),
            "RecipientAddress": Param(Kind.STR, mandatory=True),
            "Action": Param(Kind.STRLIST),
            "EndDate": Param(Kind.DATETIME),
            "Event": Param(Kind.STRLIST),
            "MessageId": Param(Kind.STR),
            "SenderAddress": Param(Kind.STR),
            "StartDate": Param(Kind.DATETIME),
        },
        get_message_trace_detail_v2,
    ),
    # The retired cmdlets still bind their old parameters, then refuse.
    Cmdlet(
        "Get-MessageTrace",
        _lenient(
            "SenderAddress RecipientAddress StartDate EndDate MessageId MessageTraceId Status "
            "FromIP ToIP PageSize Page"
        ),
        _retired("Get-MessageTrace", "Get-MessageTraceV2"),
    ),
    Cmdlet(
        "Get-MessageTraceDetail",
        _lenient(
            "MessageTraceId RecipientAddress SenderAddress MessageId StartDate EndDate Event Action"
        ),
        _retired("Get-MessageTraceDetail", "Get-MessageTraceDetailV2"),
    ),
]
