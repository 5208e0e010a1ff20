"""The advisor's rules, one row each (M365-FACTS.md), and the date boundaries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pytest

from wizard.core.advisor import (
    Advice,
    DeviceCapabilities,
    SiteNeeds,
    TenantFacts,
    Variant,
    advise,
)
from wizard.core.clouds import CLOUDS, CloudId
from wizard.core.methods import Method, Tri
from wizard.core.retirement import BasicAuthPhase, basic_auth_outlook

Y, N, U = Tri.YES, Tri.NO, Tri.UNKNOWN
TODAY = date(2026, 11, 27)
WW = CLOUDS[CloudId.WORLDWIDE]

CAPABLE = DeviceCapabilities(tls12=Y, smtp_auth=Y, oauth=N)
OAUTH = DeviceCapabilities(tls12=Y, smtp_auth=Y, oauth=Y)
OPEN_SITE = SiteNeeds(external_recipients=N, static_ip=Y, port25_open=Y)
CLEAN_TENANT = TenantFacts(security_defaults=N, reject_direct_send=N)


@dataclass
class Case:
    name: str
    device: DeviceCapabilities = CAPABLE
    site: SiteNeeds = OPEN_SITE
    tenant: TenantFacts = CLEAN_TENANT
    cloud: CloudId = CloudId.WORLDWIDE
    today: date = TODAY
    blocked: set[Method] = field(default_factory=set)
    usable: set[Method] = field(default_factory=set)
    first: Method | None = None
    warning_has: dict[Method, str] = field(default_factory=dict)
    blocker_has: dict[Method, str] = field(default_factory=dict)
    variant: dict[Method, Variant] = field(default_factory=dict)


CASES = [
    Case(
        "oauth device gets oauth first",
        device=OAUTH,
        site=SiteNeeds(external_recipients=Y, static_ip=Y, port25_open=Y),
        first=Method.SMTP_AUTH_OAUTH,
        usable={Method.SMTP_AUTH_OAUTH, Method.CONNECTOR},
    ),
    Case("oauth first even when everything else works", device=OAUTH, first=Method.SMTP_AUTH_OAUTH),
    Case(
        "no oauth on the device blocks oauth",
        device=CAPABLE,
        blocked={Method.SMTP_AUTH_OAUTH},
        blocker_has={Method.SMTP_AUTH_OAUTH: "OAuth"},
    ),
    Case(
        "password smtp auth carries the retirement warning with today's dates",
        usable={Method.SMTP_AUTH},
        warning_has={Method.SMTP_AUTH: "end of December 2026 (34 days from today)"},
    ),
    Case(
        "security defaults block password smtp auth",
        tenant=TenantFacts(security_defaults=Y, reject_direct_send=N),
        blocked={Method.SMTP_AUTH},
        usable={Method.CONNECTOR},
        blocker_has={Method.SMTP_AUTH: "Security Defaults"},
    ),
    Case(
        "security defaults do not block oauth",
        device=OAUTH,
        tenant=TenantFacts(security_defaults=Y, reject_direct_send=N),
        usable={Method.SMTP_AUTH_OAUTH},
        blocked={Method.SMTP_AUTH},
    ),
    Case(
        "unknown security defaults is a warning",
        tenant=TenantFacts(security_defaults=U, reject_direct_send=N),
        usable={Method.SMTP_AUTH},
        warning_has={Method.SMTP_AUTH: "Security Defaults"},
    ),
    Case(
        "no TLS 1.2 steers to the legacy endpoint worldwide",
        device=DeviceCapabilities(tls12=N, smtp_auth=Y, oauth=N),
        usable={Method.SMTP_AUTH, Method.DIRECT_SEND, Method.CONNECTOR},
        blocked={Method.HVE},
        variant={Method.SMTP_AUTH: Variant.LEGACY_TLS},
        warning_has={Method.SMTP_AUTH: "smtp-legacy.office365.com"},
    ),
    Case(
        "no TLS 1.2 in GCC High: no legacy endpoint",
        device=DeviceCapabilities(tls12=N, smtp_auth=Y, oauth=N),
        cloud=CloudId.GCC_HIGH,
        blocked={Method.SMTP_AUTH, Method.HVE},
        usable={Method.DIRECT_SEND, Method.CONNECTOR},
        blocker_has={Method.SMTP_AUTH: "no legacy TLS endpoint"},
    ),
    Case(
        "no TLS 1.2 in DoD: no legacy endpoint",
        device=DeviceCapabilities(tls12=N, smtp_auth=Y, oauth=N),
        cloud=CloudId.DOD,
        blocked={Method.SMTP_AUTH},
    ),
    Case(
        "no TLS 1.2 in GCC: no legacy endpoint",
        device=DeviceCapabilities(tls12=N, smtp_auth=Y, oauth=N),
        cloud=CloudId.GCC,
        blocked={Method.SMTP_AUTH},
    ),
    Case(
        "no TLS 1.2 ranks direct send or connector first",
        device=DeviceCapabilities(tls12=N, smtp_auth=Y, oauth=N),
        first=Method.CONNECTOR,
    ),
    Case(
        "outside recipients rule out direct send and HVE",
        site=SiteNeeds(external_recipients=Y, static_ip=Y, port25_open=Y),
        blocked={Method.DIRECT_SEND, Method.HVE},
        usable={Method.CONNECTOR, Method.SMTP_AUTH},
        blocker_has={Method.DIRECT_SEND: "5.7.54"},
    ),
    Case(
        "unknown recipients warn on direct send",
        site=SiteNeeds(external_recipients=U, static_ip=Y, port25_open=Y),
        usable={Method.DIRECT_SEND},
        warning_has={Method.DIRECT_SEND: "5.7.54"},
    ),
    Case(
        "no static IP rules out an IP connector, certificate connector stays",
        site=SiteNeeds(external_recipients=Y, static_ip=N, port25_open=Y),
        usable={Method.CONNECTOR},
        variant={Method.CONNECTOR: Variant.CERTIFICATE_CONNECTOR},
        warning_has={Method.CONNECTOR: "certificate connector"},
    ),
    Case(
        "no static IP and no TLS 1.2: no connector at all",
        device=DeviceCapabilities(tls12=N, smtp_auth=N, oauth=N),
        site=SiteNeeds(external_recipients=Y, static_ip=N, port25_open=Y),
        blocked={Method.CONNECTOR},
    ),
    Case(
        "static IP gives an IP connector",
        variant={Method.CONNECTOR: Variant.IP_CONNECTOR},
        usable={Method.CONNECTOR},
    ),
    Case(
        "blocked port 25 rules out direct send and connectors",
        site=SiteNeeds(external_recipients=N, static_ip=Y, port25_open=N),
        blocked={Method.DIRECT_SEND, Method.CONNECTOR},
        usable={Method.SMTP_AUTH, Method.HVE},
        blocker_has={Method.CONNECTOR: "port 25", Method.DIRECT_SEND: "port 25"},
    ),
    Case(
        "reject direct send rules out direct send",
        tenant=TenantFacts(security_defaults=N, reject_direct_send=Y),
        blocked={Method.DIRECT_SEND},
        usable={Method.CONNECTOR},
        blocker_has={Method.DIRECT_SEND: "5.7.68"},
    ),
    Case(
        "unknown reject direct send warns",
        tenant=TenantFacts(security_defaults=N, reject_direct_send=U),
        usable={Method.DIRECT_SEND},
        warning_has={Method.DIRECT_SEND: "RejectDirectSend"},
    ),
    Case(
        "device without SMTP AUTH cannot use password auth or HVE",
        device=DeviceCapabilities(tls12=Y, smtp_auth=N, oauth=N),
        blocked={Method.SMTP_AUTH, Method.SMTP_AUTH_OAUTH, Method.HVE},
        usable={Method.CONNECTOR, Method.DIRECT_SEND},
    ),
    Case(
        "port 465 only rules out submission and HVE",
        device=DeviceCapabilities(tls12=Y, smtp_auth=Y, oauth=Y, port_465_only=True),
        blocked={Method.SMTP_AUTH, Method.SMTP_AUTH_OAUTH, Method.HVE},
        blocker_has={Method.SMTP_AUTH: "465"},
    ),
    Case(
        "HVE absent from GCC High",
        cloud=CloudId.GCC_HIGH,
        blocked={Method.HVE},
        blocker_has={Method.HVE: "not offered"},
    ),
    Case(
        "high internal volume favours HVE",
        site=SiteNeeds(external_recipients=N, static_ip=N, port25_open=N, daily_volume=20_000),
        first=Method.HVE,
        blocked={Method.SMTP_AUTH, Method.SMTP_AUTH_OAUTH},
        blocker_has={Method.SMTP_AUTH: "more than one mailbox may send"},
    ),
    Case(
        "basic auth off by default after December 2026",
        today=date(2026, 12, 31),
        usable={Method.SMTP_AUTH},
        warning_has={Method.SMTP_AUTH: "switched off by default since"},
    ),
    Case(
        "basic auth removal window in the second half of 2027",
        today=date(2027, 7, 1),
        usable={Method.SMTP_AUTH},
        warning_has={Method.SMTP_AUTH: "5.7.30"},
    ),
    Case(
        "basic auth gone after 2027",
        today=date(2028, 1, 1),
        blocked={Method.SMTP_AUTH},
        blocker_has={Method.SMTP_AUTH: "removed"},
    ),
    Case(
        "HVE password still fine until September 2028", today=date(2028, 9, 30), usable={Method.HVE}
    ),
    Case(
        "HVE password gone after September 2028",
        today=date(2028, 10, 1),
        blocked={Method.HVE},
        blocker_has={Method.HVE: "September 2028"},
    ),
    Case(
        "HVE with OAuth survives September 2028",
        today=date(2028, 10, 1),
        device=OAUTH,
        usable={Method.HVE},
    ),
    Case(
        "older MFP, dynamic IP, mail to customers: the local relay, not a certificate connector",
        device=CAPABLE,
        site=SiteNeeds(external_recipients=Y, static_ip=N, port25_open=U),
        first=Method.LOCAL_RELAY,
        usable={Method.LOCAL_RELAY, Method.SMTP_AUTH, Method.CONNECTOR},
        blocked={Method.SMTP_AUTH_OAUTH, Method.DIRECT_SEND, Method.HVE},
        variant={Method.CONNECTOR: Variant.CERTIFICATE_CONNECTOR},
    ),
    Case(
        "blocked port 25 and outside mail without OAuth: the local relay",
        site=SiteNeeds(external_recipients=Y, static_ip=Y, port25_open=N),
        first=Method.LOCAL_RELAY,
        blocked={Method.CONNECTOR, Method.DIRECT_SEND},
    ),
    Case(
        "after the switch-off the local relay still leads for password-only devices",
        today=date(2027, 2, 1),
        site=SiteNeeds(external_recipients=Y, static_ip=N, port25_open=Y),
        first=Method.LOCAL_RELAY,
    ),
    Case(
        "a static IP connector fits: the local relay is only an option",
        site=SiteNeeds(external_recipients=Y, static_ip=Y, port25_open=Y),
        first=Method.CONNECTOR,
        usable={Method.LOCAL_RELAY},
        warning_has={Method.LOCAL_RELAY: "One more thing to keep running"},
    ),
    Case(
        "an OAuth device needs no relay",
        device=OAUTH,
        site=SiteNeeds(external_recipients=Y, static_ip=N, port25_open=N),
        first=Method.SMTP_AUTH_OAUTH,
        usable={Method.LOCAL_RELAY},
    ),
    Case(
        "the relay needs the device to sign in",
        device=DeviceCapabilities(tls12=Y, smtp_auth=N, oauth=N),
        site=SiteNeeds(external_recipients=Y, static_ip=N, port25_open=Y),
        blocked={Method.LOCAL_RELAY},
        blocker_has={Method.LOCAL_RELAY: "user name and password"},
    ),
    Case(
        "the relay cannot serve a port 465 only device",
        device=DeviceCapabilities(tls12=Y, smtp_auth=Y, oauth=N, port_465_only=True),
        blocked={Method.LOCAL_RELAY},
        blocker_has={Method.LOCAL_RELAY: "465"},
    ),
    Case(
        "no TLS 1.2: the relay's plain LAN port, with a warning",
        device=DeviceCapabilities(tls12=N, smtp_auth=Y, oauth=N),
        site=SiteNeeds(external_recipients=Y, static_ip=N, port25_open=N),
        cloud=CloudId.GCC_HIGH,
        first=Method.LOCAL_RELAY,
        variant={Method.LOCAL_RELAY: Variant.PLAIN_LAN},
        warning_has={Method.LOCAL_RELAY: "plain port 25"},
    ),
    Case(
        "the relay sends as a mailbox: its daily limit applies",
        site=SiteNeeds(external_recipients=Y, static_ip=N, port25_open=N, daily_volume=20_000),
        blocked={Method.LOCAL_RELAY},
        blocker_has={Method.LOCAL_RELAY: "more than one mailbox may send"},
    ),
]


def _run(case: Case) -> Advice:
    return advise(case.device, case.site, case.tenant, CLOUDS[case.cloud], case.today)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rule(case: Case) -> None:
    advice = _run(case)
    for method in case.blocked:
        assert not advice.for_method(method).usable, f"{method} should be blocked"
    for method in case.usable:
        assessment = advice.for_method(method)
        assert assessment.usable, f"{method} should be usable: {assessment.blockers}"
    if case.first is not None:
        assert advice.ranked[0].method is case.first
        assert advice.recommended is not None and advice.recommended.method is case.first
    for method, text in case.warning_has.items():
        warnings = " ".join(advice.for_method(method).warnings)
        assert text in warnings, warnings
    for method, text in case.blocker_has.items():
        blockers = " ".join(advice.for_method(method).blockers)
        assert text in blockers, blockers
    for method, variant in case.variant.items():
        assert advice.for_method(method).variant is variant


def test_every_method_is_ranked_once_with_reasons() -> None:
    advice = advise(DeviceCapabilities(), SiteNeeds(), TenantFacts(), WW, TODAY)
    assert sorted(a.method for a in advice.ranked) == sorted(Method)
    for a in advice.ranked:
        assert a.reasons, a.method
        assert a.needs, a.method
        # What a method takes to set up is not a reason it fits.
        assert not any(r.startswith("Needs a licensed") for r in a.reasons), a.method
    usable = [a.usable for a in advice.ranked]
    assert usable == sorted(usable, reverse=True), "blocked methods must rank last"


def test_nothing_usable_recommends_nothing() -> None:
    device = DeviceCapabilities(tls12=N, smtp_auth=N, oauth=N)
    site = SiteNeeds(external_recipients=Y, static_ip=N, port25_open=N)
    advice = advise(device, site, CLEAN_TENANT, CLOUDS[CloudId.GCC_HIGH], TODAY)
    assert advice.recommended is None
    assert all(not a.usable for a in advice.ranked)


def test_weakest_combines_devices() -> None:
    combined = DeviceCapabilities.weakest(
        [
            DeviceCapabilities(tls12=Y, smtp_auth=Y, oauth=Y),
            DeviceCapabilities(tls12=U, smtp_auth=Y, oauth=N),
        ]
    )
    assert combined == DeviceCapabilities(tls12=U, smtp_auth=Y, oauth=N)
    assert DeviceCapabilities.weakest([]) == DeviceCapabilities()


@pytest.mark.parametrize(
    "day,phase,days_left",
    [
        (date(2026, 11, 27), BasicAuthPhase.SUPPORTED, 34),
        (date(2026, 12, 30), BasicAuthPhase.SUPPORTED, 1),
        (date(2026, 12, 31), BasicAuthPhase.OFF_BY_DEFAULT, None),
        (date(2027, 6, 30), BasicAuthPhase.OFF_BY_DEFAULT, None),
        (date(2027, 7, 1), BasicAuthPhase.REMOVAL_WINDOW, None),
        (date(2027, 12, 31), BasicAuthPhase.REMOVAL_WINDOW, None),
        (date(2028, 1, 1), BasicAuthPhase.REMOVED, None),
    ],
)
def test_retirement_boundaries(day: date, phase: BasicAuthPhase, days_left: int | None) -> None:
    outlook = basic_auth_outlook(day)
    assert outlook.phase is phase
    assert outlook.days_until_off == days_left
    assert outlook.headline and outlook.detail and outlook.dates


@pytest.mark.parametrize(
    "today,text",
    [
        (TODAY, "end of December 2026 (34 days from today)"),
        (date(2027, 2, 1), "off by default since the end of December 2026"),
    ],
)
def test_local_relay_explains_itself_with_the_dates(today: date, text: str) -> None:
    site = SiteNeeds(external_recipients=Y, static_ip=N, port25_open=U)
    relay = advise(CAPABLE, site, CLEAN_TENANT, WW, today).for_method(Method.LOCAL_RELAY)
    assert relay.recommended
    reasons = " ".join(relay.reasons)
    assert text in reasons and "second half of 2027" in reasons
    assert "No way of sending straight to Microsoft 365 fits" in reasons
    needs = " ".join(relay.needs)
    assert "always-on Windows, macOS or Linux computer" in needs
    assert "SMTP AUTH switched on for that mailbox" in needs
    assert relay.warnings, "the cost of one more thing to run is stated"


def test_local_relay_as_an_option_does_not_claim_nothing_else_fits() -> None:
    relay = advise(OAUTH, OPEN_SITE, CLEAN_TENANT, WW, TODAY).for_method(Method.LOCAL_RELAY)
    assert relay.usable and not relay.recommended
    assert not any("No way of sending straight" in r for r in relay.reasons)
