"""The change plan: desired state per method against tenant snapshots, one row each."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest

from wizard.core.advisor import Variant
from wizard.core.clouds import CLOUDS, CloudId
from wizard.core.methods import Method, Tri
from wizard.core.plan import (
    SWITCH,
    ChangeKind,
    ChangeStatus,
    Cmdlet,
    Plan,
    Resolution,
    build_plan,
    connector_name,
    ps_literal,
)
from wizard.core.profile import Printer, Site, SiteProfile
from wizard.core.tenant import (
    AcceptedDomain,
    HveAccount,
    InboundConnector,
    MailboxState,
    TenantSnapshot,
    address_space_domain,
    parse_ip_entry,
)

WW = CLOUDS[CloudId.WORLDWIDE]
GCC = CLOUDS[CloudId.GCC]
GCC_HIGH = CLOUDS[CloudId.GCC_HIGH]
IP = "203.0.113.25"
DOMAIN = "contoso.example"
NAME = connector_name("Main office")

PROFILE = SiteProfile(
    site=Site(
        name="Main office", domain=DOMAIN, public_ip=IP, static_ip=Tri.YES, port25_open=Tri.YES
    ),
    printers=(Printer("Scanner", sender=f"scanner@{DOMAIN}", tls12=Tri.YES),),
)

SNAPSHOT = TenantSnapshot(
    tenant_id="t1",
    display_name="Contoso",
    accepted_domains=(
        AcceptedDomain(DOMAIN, default=True),
        AcceptedDomain("contosodemo.onmicrosoft.com", initial=True),
    ),
    smtp_auth_disabled=True,
    allow_legacy_tls_clients=False,
    reject_direct_send=False,
    mailboxes=(MailboxState(f"scanner@{DOMAIN}", exists=True, smtp_auth_disabled=None),),
)


def ours(**kw: object) -> InboundConnector:
    base = InboundConnector(
        name=NAME,
        identity=NAME,
        sender_domains=(f"smtp:{DOMAIN};1",),
        sender_ip_addresses=(IP,),
        restrict_domains_to_ip_addresses=True,
        require_tls=True,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


@dataclass
class Case:
    name: str
    method: Method
    variant: Variant = Variant.STANDARD
    snapshot: TenantSnapshot = SNAPSHOT
    profile: SiteProfile = PROFILE
    cloud: CloudId = CloudId.WORLDWIDE
    resolutions: dict[str, Resolution] = field(default_factory=dict)
    statuses: dict[str, ChangeStatus] = field(default_factory=dict)
    powershell: dict[str, str] = field(default_factory=dict)
    nothing_to_change: bool | None = None
    can_apply: bool | None = None
    blocker_has: str = ""
    note_has: str = ""


MAILBOX_ID = f"mailbox-smtp-auth:scanner@{DOMAIN}"

CASES = [
    Case(
        "smtp auth: mailbox inherits tenant off -> switch on the mailbox only",
        Method.SMTP_AUTH,
        statuses={MAILBOX_ID: ChangeStatus.NEEDED},
        powershell={
            MAILBOX_ID: f"Set-CASMailbox -Identity 'scanner@{DOMAIN}' "
            "-SmtpClientAuthenticationDisabled $false"
        },
        can_apply=True,
    ),
    Case(
        "smtp auth: mailbox already on -> nothing to change",
        Method.SMTP_AUTH_OAUTH,
        snapshot=replace(
            SNAPSHOT,
            mailboxes=(MailboxState(f"scanner@{DOMAIN}", True, smtp_auth_disabled=False),),
        ),
        statuses={MAILBOX_ID: ChangeStatus.DONE},
        nothing_to_change=True,
        can_apply=False,
    ),
    Case(
        "local relay: it submits as the mailbox with OAuth -> switch on the mailbox only",
        Method.LOCAL_RELAY,
        statuses={MAILBOX_ID: ChangeStatus.NEEDED},
        powershell={
            MAILBOX_ID: f"Set-CASMailbox -Identity 'scanner@{DOMAIN}' "
            "-SmtpClientAuthenticationDisabled $false"
        },
        can_apply=True,
    ),
    Case(
        "smtp auth: mailbox explicitly off",
        Method.SMTP_AUTH_OAUTH,
        snapshot=replace(
            SNAPSHOT,
            mailboxes=(MailboxState(f"scanner@{DOMAIN}", True, smtp_auth_disabled=True),),
        ),
        statuses={MAILBOX_ID: ChangeStatus.NEEDED},
    ),
    Case(
        "smtp auth: tenant on and mailbox inherits -> pin the mailbox, tenant untouched",
        Method.SMTP_AUTH_OAUTH,
        snapshot=replace(SNAPSHOT, smtp_auth_disabled=False),
        statuses={MAILBOX_ID: ChangeStatus.NEEDED},
        note_has="on for the whole tenant",
    ),
    Case(
        "smtp auth: the mailbox does not exist",
        Method.SMTP_AUTH_OAUTH,
        snapshot=replace(SNAPSHOT, mailboxes=(MailboxState(f"scanner@{DOMAIN}", False),)),
        statuses={MAILBOX_ID: ChangeStatus.BLOCKED},
        can_apply=False,
        blocker_has="no mailbox",
    ),
    Case(
        "smtp auth: the username, not the sender, is the mailbox",
        Method.SMTP_AUTH,
        profile=replace(
            PROFILE,
            printers=(Printer("Scanner", sender=f"scanner@{DOMAIN}", username=f"relay@{DOMAIN}"),),
        ),
        snapshot=replace(SNAPSHOT, mailboxes=(MailboxState(f"relay@{DOMAIN}", True, True),)),
        statuses={f"mailbox-smtp-auth:relay@{DOMAIN}": ChangeStatus.NEEDED},
    ),
    Case(
        "smtp auth basic with security defaults on is blocked",
        Method.SMTP_AUTH,
        snapshot=replace(SNAPSHOT, security_defaults=Tri.YES),
        can_apply=False,
        blocker_has="Security Defaults",
    ),
    Case(
        "oauth is not blocked by security defaults",
        Method.SMTP_AUTH_OAUTH,
        snapshot=replace(SNAPSHOT, security_defaults=Tri.YES),
        can_apply=True,
    ),
    Case(
        "legacy tls: allow legacy clients",
        Method.SMTP_AUTH,
        Variant.LEGACY_TLS,
        statuses={"legacy-tls": ChangeStatus.NEEDED},
        powershell={"legacy-tls": "Set-TransportConfig -AllowLegacyTLSClients $true"},
    ),
    Case(
        "legacy tls already allowed",
        Method.SMTP_AUTH,
        Variant.LEGACY_TLS,
        snapshot=replace(SNAPSHOT, allow_legacy_tls_clients=True),
        statuses={"legacy-tls": ChangeStatus.DONE},
    ),
    Case(
        "legacy tls in GCC is blocked",
        Method.SMTP_AUTH,
        Variant.LEGACY_TLS,
        cloud=CloudId.GCC,
        statuses={"legacy-tls": ChangeStatus.BLOCKED},
        can_apply=False,
        blocker_has="no endpoint",
    ),
    Case(
        "connector: none yet -> create, restricted to the site IP",
        Method.CONNECTOR,
        Variant.IP_CONNECTOR,
        statuses={"connector": ChangeStatus.NEEDED},
        powershell={
            "connector": f"New-InboundConnector -Name '{NAME}' -ConnectorType OnPremises "
            f"-SenderDomains '{DOMAIN}' -SenderIPAddresses '{IP}' -Enabled $true -Comment "
        },
        can_apply=True,
    ),
    Case(
        "connector: ours exists as desired -> already done",
        Method.CONNECTOR,
        Variant.IP_CONNECTOR,
        snapshot=replace(SNAPSHOT, connectors=(ours(),)),
        statuses={"connector": ChangeStatus.DONE},
        nothing_to_change=True,
    ),
    Case(
        "connector: ours with a wider range is a conflict, not overwritten",
        Method.CONNECTOR,
        Variant.IP_CONNECTOR,
        snapshot=replace(SNAPSHOT, connectors=(ours(sender_ip_addresses=("203.0.113.0/24",)),)),
        statuses={"connector": ChangeStatus.CONFLICT},
        nothing_to_change=False,
        can_apply=False,
    ),
    Case(
        "connector: wider conflict resolved by narrowing it",
        Method.CONNECTOR,
        Variant.IP_CONNECTOR,
        snapshot=replace(SNAPSHOT, connectors=(ours(sender_ip_addresses=("203.0.113.0/24",)),)),
        resolutions={"connector": Resolution.UPDATE_EXISTING},
        statuses={"connector": ChangeStatus.NEEDED},
        powershell={
            "connector": f"Set-InboundConnector -Identity '{NAME}' -SenderIPAddresses '{IP}'"
        },
        can_apply=True,
    ),
    Case(
        "connector: wider conflict left as it is",
        Method.CONNECTOR,
        Variant.IP_CONNECTOR,
        snapshot=replace(SNAPSHOT, connectors=(ours(sender_ip_addresses=("203.0.113.0/24",)),)),
        resolutions={"connector": Resolution.KEEP_EXISTING},
        statuses={"connector": ChangeStatus.SKIPPED},
        nothing_to_change=True,
    ),
    Case(
        "connector: ours with an old IP is a conflict",
        Method.CONNECTOR,
        Variant.IP_CONNECTOR,
        snapshot=replace(SNAPSHOT, connectors=(ours(sender_ip_addresses=("198.51.100.7",)),)),
        statuses={"connector": ChangeStatus.CONFLICT},
    ),
    Case(
        "connector: ours switched off -> conflict; update switches it on, no Partner switches",
        Method.CONNECTOR,
        Variant.IP_CONNECTOR,
        snapshot=replace(SNAPSHOT, connectors=(ours(enabled=False, require_tls=False),)),
        resolutions={"connector": Resolution.UPDATE_EXISTING},
        statuses={"connector": ChangeStatus.NEEDED},
        powershell={"connector": f"Set-InboundConnector -Identity '{NAME}' -Enabled $true"},
    ),
    Case(
        "connector: another connector with a wider range covers the site -> conflict",
        Method.CONNECTOR,
        Variant.IP_CONNECTOR,
        snapshot=replace(
            SNAPSHOT,
            connectors=(ours(name="Old relay", sender_ip_addresses=("203.0.113.0/24",)),),
        ),
        statuses={"connector": ChangeStatus.CONFLICT},
    ),
    Case(
        "connector: wider foreign one, create our own beside it",
        Method.CONNECTOR,
        Variant.IP_CONNECTOR,
        snapshot=replace(
            SNAPSHOT,
            connectors=(ours(name="Old relay", sender_ip_addresses=("203.0.113.0/24",)),),
        ),
        resolutions={"connector": Resolution.CREATE_SEPARATE},
        statuses={"connector": ChangeStatus.NEEDED},
        powershell={"connector": f"New-InboundConnector -Name '{NAME}'"},
    ),
    Case(
        "connector: another connector already does exactly the job -> adopted",
        Method.CONNECTOR,
        Variant.IP_CONNECTOR,
        snapshot=replace(SNAPSHOT, connectors=(ours(name="Printers", sender_domains=("*",)),)),
        statuses={"connector": ChangeStatus.DONE},
        nothing_to_change=True,
    ),
    Case(
        "connector: a device without TLS 1.2 gets the same OnPremises connector",
        Method.CONNECTOR,
        Variant.IP_CONNECTOR,
        profile=replace(PROFILE, printers=(Printer("Old", sender=f"old@{DOMAIN}", tls12=Tri.NO),)),
        powershell={"connector": f"-SenderIPAddresses '{IP}' -Enabled $true"},
    ),
    Case(
        "connector: no public IP entered -> blocked",
        Method.CONNECTOR,
        Variant.IP_CONNECTOR,
        profile=replace(PROFILE, site=replace(PROFILE.site, public_ip=None)),
        can_apply=False,
        blocker_has="static public IP",
    ),
    Case(
        "connector: certificate variant",
        Method.CONNECTOR,
        Variant.CERTIFICATE_CONNECTOR,
        statuses={"connector": ChangeStatus.NEEDED},
        powershell={"connector": f"-TlsSenderCertificateName '{DOMAIN}' -Enabled $true"},
    ),
    Case(
        "connector: the site's domain is not accepted -> blocked",
        Method.CONNECTOR,
        Variant.IP_CONNECTOR,
        snapshot=replace(SNAPSHOT, accepted_domains=(AcceptedDomain("fabrikam.example", True),)),
        can_apply=False,
        blocker_has="not an accepted domain",
    ),
    Case(
        "direct send: nothing to change",
        Method.DIRECT_SEND,
        nothing_to_change=True,
        can_apply=False,
        note_has="nothing to change",
    ),
    Case(
        "direct send with RejectDirectSend on -> the connector instead",
        Method.DIRECT_SEND,
        snapshot=replace(SNAPSHOT, reject_direct_send=True),
        statuses={"connector": ChangeStatus.NEEDED},
        powershell={"connector": f"-SenderIPAddresses '{IP}' -Enabled $true"},
        note_has="RejectDirectSend",
    ),
    Case(
        "hve: create the account",
        Method.HVE,
        profile=replace(PROFILE, printers=(Printer("Scanner", sender=f"hve@{DOMAIN}"),)),
        statuses={f"hve-account:hve@{DOMAIN}": ChangeStatus.NEEDED},
        powershell={
            f"hve-account:hve@{DOMAIN}": f"New-MailUser -HVEAccount -Name 'hve@{DOMAIN}' "
            f"-PrimarySmtpAddress 'hve@{DOMAIN}' -Password (Read-Host -AsSecureString"
        },
        can_apply=True,
    ),
    Case(
        "hve: the account exists",
        Method.HVE,
        profile=replace(PROFILE, printers=(Printer("Scanner", sender=f"hve@{DOMAIN}"),)),
        snapshot=replace(SNAPSHOT, hve_accounts=(HveAccount(f"HVE@{DOMAIN}"),)),
        statuses={f"hve-account:hve@{DOMAIN}": ChangeStatus.DONE},
        nothing_to_change=True,
    ),
    Case(
        "hve: the address is a mailbox",
        Method.HVE,
        statuses={f"hve-account:scanner@{DOMAIN}": ChangeStatus.BLOCKED},
        blocker_has="already a mailbox",
    ),
    Case(
        "hve: not in GCC High",
        Method.HVE,
        cloud=CloudId.GCC_HIGH,
        can_apply=False,
        blocker_has="not offered",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_plan(case: Case) -> None:
    plan = build_plan(
        case.profile, case.method, case.variant, case.snapshot, CLOUDS[case.cloud], case.resolutions
    )
    for change_id, status in case.statuses.items():
        change = plan.change(change_id)
        assert change is not None, [c.id for c in plan.changes]
        assert change.status is status, change
    for change_id, text in case.powershell.items():
        change = plan.change(change_id)
        assert change is not None
        assert text in change.powershell, change.powershell
    if case.nothing_to_change is not None:
        assert plan.nothing_to_change is case.nothing_to_change
    if case.can_apply is not None:
        assert plan.can_apply is case.can_apply, plan.blockers
    if case.blocker_has:
        assert any(case.blocker_has in b for b in plan.blockers), plan.blockers
    if case.note_has:
        assert any(case.note_has in n for n in plan.notes), plan.notes


def _connectors_never_widen(plan: Plan) -> None:
    for change in plan.changes:
        if change.kind is not ChangeKind.CONNECTOR:
            continue
        commands = [change.cmdlet] + [o.cmdlet for o in change.options]
        for cmd in commands:
            if cmd is None:
                continue
            ips = cmd.parameter("SenderIPAddresses")
            if ips is not None:
                assert ips == (IP,)
            if cmd.name == "New-InboundConnector":
                # Restricted by what matches an OnPremises connector: the IP or certificate.
                assert cmd.parameter("ConnectorType") == "OnPremises"
                assert ips == (IP,) or cmd.parameter("TlsSenderCertificateName")


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.method is Method.CONNECTOR], ids=lambda c: c.name
)
def test_connector_commands_never_widen_access(case: Case) -> None:
    choices: list[dict[str, Resolution]] = [{}, *({"connector": r} for r in Resolution)]
    for resolutions in choices:
        plan = build_plan(
            case.profile,
            case.method,
            case.variant,
            case.snapshot,
            CLOUDS[case.cloud],
            resolutions,
        )
        _connectors_never_widen(plan)


def test_tenant_switch_is_never_touched() -> None:
    for method in Method:
        for snapshot in (SNAPSHOT, replace(SNAPSHOT, smtp_auth_disabled=False)):
            plan = build_plan(PROFILE, method, Variant.STANDARD, snapshot, WW)
            for change in plan.changes:
                assert (
                    change.cmdlet is None
                    or "SmtpClientAuthenticationDisabled" not in dict(change.cmdlet.parameters)
                    or change.cmdlet.name == "Set-CASMailbox"
                )


def test_invoke_parameters_and_secrets() -> None:
    cmd = Cmdlet(
        "New-MailUser",
        (("HVEAccount", SWITCH), ("Name", "a"), ("Tags", ("x", "y")), ("Off", None)),
        secret_parameters=("Password",),
    )
    assert cmd.invoke_parameters({"Password": "pw"}) == {
        "HVEAccount": True,
        "Name": "a",
        "Tags": ["x", "y"],
        "Off": None,
        "Password": "pw",
    }
    with pytest.raises(KeyError):
        cmd.invoke_parameters({})
    assert "pw" not in cmd.powershell()
    assert cmd.powershell().startswith("New-MailUser -HVEAccount -Name a -Tags x,y -Off $null")


@pytest.mark.parametrize(
    "value,expected",
    [
        (True, "$true"),
        (False, "$false"),
        (None, "$null"),
        ("OnPremises", "OnPremises"),
        ("Bob's printer", "'Bob''s printer'"),
        ("203.0.113.25", "'203.0.113.25'"),
        (("a.example", "b.example"), "'a.example','b.example'"),
        ((), "@()"),
    ],
)
def test_ps_literal(value: object, expected: str) -> None:
    assert ps_literal(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "entry,count",
    [("203.0.113.25", 1), ("203.0.113.0/24", 256), ("203.0.113.1-203.0.113.4", 4)],
)
def test_ip_entries(entry: str, count: int) -> None:
    assert sum(n.num_addresses for n in parse_ip_entry(entry)) == count


def test_unreadable_ip_entry_is_never_narrow() -> None:
    connector = ours(sender_ip_addresses=(IP, "bogus"))
    assert connector.networks() is None
    assert not connector.accepts_only(IP)


@pytest.mark.parametrize(
    "value,domain",
    [("smtp:Contoso.Example;1", "contoso.example"), ("*", "*"), ("smtp:*;1", "*")],
)
def test_address_space_domain(value: str, domain: str) -> None:
    assert address_space_domain(value) == domain


def test_connector_name_is_stable_and_bounded() -> None:
    assert connector_name("Main office") == "Relay Wizard - Main office"
    assert connector_name("  a/b\\c  ") == "Relay Wizard - a b c"
    assert len(connector_name("x" * 200)) <= 64


def test_rebuilding_after_applying_lists_nothing() -> None:
    """The same plan against the state it produces: nothing to change."""
    plan = build_plan(PROFILE, Method.CONNECTOR, Variant.IP_CONNECTOR, SNAPSHOT, WW)
    cmd = plan.to_apply[0].cmdlet
    assert cmd is not None
    params = cmd.invoke_parameters()
    created = InboundConnector(
        name=str(params["Name"]),
        sender_domains=tuple(params["SenderDomains"]),  # type: ignore[arg-type]
        sender_ip_addresses=tuple(params["SenderIPAddresses"]),  # type: ignore[arg-type]
        enabled=bool(params["Enabled"]),
    )
    again = build_plan(
        PROFILE,
        Method.CONNECTOR,
        Variant.IP_CONNECTOR,
        replace(SNAPSHOT, connectors=(created,)),
        WW,
    )
    assert again.nothing_to_change
    assert again.change("connector").status is ChangeStatus.DONE  # type: ignore[union-attr]
    assert GCC.legacy_tls_smtp is None and GCC_HIGH.hve_smtp is None


def test_the_local_relay_plan_says_who_signs_in() -> None:
    plan = build_plan(PROFILE, Method.LOCAL_RELAY, Variant.STANDARD, SNAPSHOT, WW)
    change = plan.change(MAILBOX_ID)
    assert change is not None and "office relay signs in" in change.why
