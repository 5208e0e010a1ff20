"""OnPremises relay connectors: created, compared and matched by their IP or certificate.

The current New-InboundConnector reference says RequireTls, RestrictDomainsToIPAddresses,
RestrictDomainsToCertificate and the scoping by SenderDomains apply only to Partner
connectors. A connector made in the Exchange admin center for the office's IP (another
name, SenderDomains "*", none of those switches) does the job and must count as done.
"""

from __future__ import annotations

import smtplib
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from tests.test_sandbox_smtp import (  # noqa: F401  (fixtures)
    OUTSIDE,
    SCANNER,
    USER,
    connect,
    endpoints,
    issuer,
    message,
    refused_rcpt,
    state,
    tls,
)
from wizard.core.advisor import Variant
from wizard.core.clouds import CLOUDS, CloudId
from wizard.core.methods import Method, Tri
from wizard.core.plan import ChangeStatus, build_plan, connector_name
from wizard.core.profile import Printer, Site, SiteProfile
from wizard.core.tenant import AcceptedDomain, InboundConnector, TenantSnapshot
from wizard.core.tenant_findings import Severity, analyse
from wizard.sandbox.smtp.server import SmtpEndpoints
from wizard.sandbox.tenant import DEMO_DOMAIN, DEMO_SITE_IP, TenantState, TraceStatus
from wizard.sandbox.tenant import InboundConnector as SandboxConnector
from wizard.services.exchange_admin import ExchangeCommandError

WW = CLOUDS[CloudId.WORLDWIDE]
IP = "203.0.113.25"
DOMAIN = "contoso.example"
PARTNER_ONLY = ("RequireTls", "RestrictDomainsToIPAddresses", "RestrictDomainsToCertificate")
TODAY = date(2026, 12, 2)

PROFILE = SiteProfile(
    site=Site(
        name="Main office", domain=DOMAIN, public_ip=IP, static_ip=Tri.YES, port25_open=Tri.YES
    ),
    printers=(Printer("Scanner", sender=f"scanner@{DOMAIN}", tls12=Tri.YES),),
)
SNAPSHOT = TenantSnapshot(
    tenant_id="t1",
    display_name="Contoso",
    accepted_domains=(AcceptedDomain(DOMAIN, default=True),),
    smtp_auth_disabled=True,
    allow_legacy_tls_clients=False,
    reject_direct_send=False,
)


def admin_center_connector(**kw: Any) -> InboundConnector:
    """As Get-InboundConnector returns one made in the admin center for the office's IP."""
    base = InboundConnector(
        name="From the office printers",
        identity="From the office printers",
        connector_type="OnPremises",
        sender_domains=("smtp:*;1",),
        sender_ip_addresses=(IP,),
        restrict_domains_to_ip_addresses=False,
        require_tls=False,
    )
    return replace(base, **kw)


def plan_with(*connectors: InboundConnector, variant: Variant = Variant.IP_CONNECTOR) -> Any:
    snapshot = replace(SNAPSHOT, connectors=connectors)
    return build_plan(PROFILE, Method.CONNECTOR, variant, snapshot, WW, today=TODAY)


def test_admin_center_connector_for_the_site_ip_counts_as_done() -> None:
    plan = plan_with(admin_center_connector())
    change = plan.change("connector")
    assert change is not None and change.status is ChangeStatus.DONE, change
    assert plan.nothing_to_change and not plan.unresolved
    assert "From the office printers" in change.title


def test_our_own_connector_without_partner_switches_is_done_too() -> None:
    ours = admin_center_connector(name=connector_name("Main office"), sender_domains=("x.example",))
    plan = plan_with(ours)
    assert plan.change("connector").status is ChangeStatus.DONE


def test_certificate_connector_from_the_admin_center_counts_as_done() -> None:
    cert = admin_center_connector(sender_ip_addresses=(), tls_sender_certificate_name=DOMAIN)
    plan = plan_with(cert, variant=Variant.CERTIFICATE_CONNECTOR)
    assert plan.change("connector").status is ChangeStatus.DONE


def test_a_created_onpremises_connector_carries_no_partner_only_parameters() -> None:
    for variant in (Variant.IP_CONNECTOR, Variant.CERTIFICATE_CONNECTOR):
        plan = plan_with(variant=variant)
        change = plan.change("connector")
        assert change is not None and change.cmdlet is not None
        params = change.cmdlet.invoke_parameters()
        assert params["ConnectorType"] == "OnPremises"
        assert not set(PARTNER_ONLY) & set(params), params
        assert not any(name in change.powershell for name in PARTNER_ONLY)
        # It is always restricted to what recognises the office.
        assert params.get("SenderIPAddresses") == [IP] or params.get("TlsSenderCertificateName")


def test_a_connector_wider_than_the_site_is_still_reported() -> None:
    wide = admin_center_connector(sender_ip_addresses=("203.0.113.0/24",))
    plan = plan_with(wide)
    change = plan.change("connector")
    assert change is not None and change.status is ChangeStatus.CONFLICT
    assert "256 addresses" in change.detail
    findings = {
        f.id: f
        for f in analyse(
            replace(SNAPSHOT, connectors=(wide,)),
            PROFILE,
            Method.CONNECTOR,
            Variant.IP_CONNECTOR,
            WW,
            TODAY,
        )
    }
    finding = findings["connector:From the office printers"]
    assert finding.severity is Severity.WARNING and "256 addresses" in finding.detail


def test_a_partner_connector_for_the_ip_is_not_adopted() -> None:
    partner = admin_center_connector(connector_type="Partner")
    change = plan_with(partner).change("connector")
    assert change is not None and change.status is ChangeStatus.CONFLICT
    assert "OnPremises" in change.detail


def test_a_certificate_that_is_not_an_accepted_domain_is_never_planned() -> None:
    plan = build_plan(
        PROFILE,
        Method.CONNECTOR,
        Variant.CERTIFICATE_CONNECTOR,
        SNAPSHOT,
        WW,
        certificate_name="relay.fabrikam.example",
        today=TODAY,
    )
    assert plan.blockers and not plan.can_apply
    assert "not one of the tenant's accepted domains" in plan.blockers[-1]


def test_findings_promise_no_partner_only_enforcement() -> None:
    findings = analyse(
        replace(SNAPSHOT, connectors=(admin_center_connector(),)),
        PROFILE,
        Method.CONNECTOR,
        Variant.IP_CONNECTOR,
        WW,
        TODAY,
    )
    finding = next(f for f in findings if f.id.startswith("connector:"))
    assert finding.severity is Severity.OK
    text = " ".join((finding.title, finding.detail, finding.technical))
    assert "RestrictDomainsToIPAddresses" not in text and "RequireTls" not in text


# -- the sandbox's MX: OnPremises connectors match by IP or certificate only -----------


def test_mx_relays_by_ip_whatever_the_partner_switches_say(
    state: TenantState,  # noqa: F811
    endpoints: SmtpEndpoints,  # noqa: F811
) -> None:
    # Scoped to another domain, requiring TLS and restricting domains: all Partner-only,
    # so Exchange ignores them on this OnPremises connector and matches by the IP.
    state.connectors.append(
        SandboxConnector(
            "Printers",
            sender_domains=["fabrikam.example"],
            sender_ip_addresses=[DEMO_SITE_IP],
            restrict_domains_to_ip_addresses=True,
            require_tls=True,
        )
    )
    with connect(endpoints.mx) as client:  # no STARTTLS
        client.sendmail(SCANNER, [OUTSIDE], message(SCANNER, OUTSIDE))
    assert state.trace[-1].status is TraceStatus.DELIVERED
    assert "inbound connector 'Printers'" in state.trace[-1].detail


def test_restrict_switch_on_onpremises_refuses_nothing(
    state: TenantState,  # noqa: F811
    endpoints: SmtpEndpoints,  # noqa: F811
) -> None:
    state.connectors.append(
        SandboxConnector(
            "Printers",
            sender_domains=[DEMO_DOMAIN],
            sender_ip_addresses=["198.51.100.7"],
            restrict_domains_to_ip_addresses=True,
        )
    )
    # From another address: internal mail is still taken (direct send) ...
    with connect(endpoints.mx) as client:
        client.sendmail(SCANNER, [USER], message(SCANNER, USER))
    assert state.trace[-1].status is TraceStatus.DELIVERED
    # ... and relay outside is refused because no connector recognises the office.
    with connect(endpoints.mx) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.sendmail(SCANNER, [OUTSIDE], message(SCANNER, OUTSIDE))
    assert refused_rcpt(refused.value, OUTSIDE).startswith("550 5.7.64 TenantAttribution")


def test_a_partner_connector_keeps_its_switches_and_does_not_relay(
    state: TenantState,  # noqa: F811
    endpoints: SmtpEndpoints,  # noqa: F811
) -> None:
    state.connectors.append(
        SandboxConnector(
            "Partner gateway",
            connector_type="Partner",
            sender_domains=[DEMO_DOMAIN],
            sender_ip_addresses=["198.51.100.7"],
            restrict_domains_to_ip_addresses=True,
        )
    )
    with connect(endpoints.mx) as client:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail(SCANNER, [USER], message(SCANNER, USER))
    assert refused.value.smtp_code == 550
    state.relay_source_ip = "198.51.100.7"
    with connect(endpoints.mx) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            client.sendmail(SCANNER, [OUTSIDE], message(SCANNER, OUTSIDE))


def test_new_inbound_connector_accepts_partner_switches_on_onpremises(sandbox: Any) -> None:
    """Exchange takes them on create; the MX then ignores them (see above)."""
    from tests.test_message_trace import _admin

    admin = _admin(sandbox)
    admin.invoke(
        "New-InboundConnector",
        {
            "Name": "Scripted relay",
            "ConnectorType": "OnPremises",
            "SenderDomains": ["*"],
            "SenderIPAddresses": [DEMO_SITE_IP],
            "RequireTls": True,
            "RestrictDomainsToIPAddresses": True,
        },
    )
    (made,) = sandbox.state.connectors
    assert made.require_tls and made.restrict_domains_to_ip_addresses
    # An OnPremises connector that recognises nobody stays impossible (no open relay).
    with pytest.raises(ExchangeCommandError) as refused:
        admin.invoke(
            "New-InboundConnector",
            {"Name": "Open", "ConnectorType": "OnPremises", "SenderDomains": ["*"]},
        )
    assert "must identify the sender" in refused.value.server_text
