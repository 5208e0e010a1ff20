"""Certificate names in the change plan (issue 14, item 4): only names of the tenant's
accepted domains, a wildcard only directly under an accepted domain, and a wildcard
connector that exists is recognised as done (idempotent)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from tests.test_plan import PROFILE, SNAPSHOT, WW, ours
from wizard.core.advisor import Variant
from wizard.core.methods import Method
from wizard.core.plan import ChangeKind, ChangeStatus, build_plan
from wizard.core.tenant import InboundConnector
from wizard.core.tenant_findings import Severity, analyse

TODAY = date(2026, 12, 2)


def _plan(name: str, connectors: tuple[InboundConnector, ...] = ()) -> object:
    return build_plan(
        PROFILE,
        Method.CONNECTOR,
        Variant.CERTIFICATE_CONNECTOR,
        replace(SNAPSHOT, connectors=connectors),
        WW,
        certificate_name=name,
        today=TODAY,
    )


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("*", "is not a domain name"),
        ("*.*.contoso.example", "is not a domain name"),
        ("relay .contoso.example", "is not a domain name"),
        ("evil.example", "not one of the tenant's accepted domains"),
        ("*.onmicrosoft.com", "wildcard over more than"),
        ("*.example", "is not a domain name"),
        # Under an accepted domain, but a wildcard reaches every sibling as well.
        ("*.printers.contoso.example", "wildcard over more than"),
    ],
)
def test_names_outside_the_accepted_domains_are_refused(name: str, words: str) -> None:
    plan = _plan(name)
    assert not plan.changes, plan.changes  # type: ignore[attr-defined]
    assert any(words in b for b in plan.blockers), plan.blockers  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "name", ["contoso.example", "relay.contoso.example", "*.contoso.example", "*.Contoso.Example."]
)
def test_names_of_accepted_domains_make_a_connector_the_audit_accepts(name: str) -> None:
    plan = _plan(name)
    (change,) = [c for c in plan.changes if c.kind is ChangeKind.CONNECTOR]  # type: ignore[attr-defined]
    assert change.cmdlet is not None
    created = change.cmdlet.parameter("TlsSenderCertificateName")
    assert created == name.strip(".").lower()
    connector = ours(sender_ip_addresses=(), tls_sender_certificate_name=created)
    findings = analyse(
        replace(SNAPSHOT, connectors=(connector,)),
        PROFILE,
        Method.CONNECTOR,
        Variant.CERTIFICATE_CONNECTOR,
        WW,
        TODAY,
    )
    flagged = [
        f
        for f in findings
        if f.severity is not Severity.OK and "certificate name" in (f.title + f.detail)
    ]
    assert not flagged, flagged


@pytest.mark.parametrize("have", ["*.contoso.example", "*.CONTOSO.example."])
def test_an_existing_wildcard_connector_is_already_done(have: str) -> None:
    existing = ours(sender_ip_addresses=(), tls_sender_certificate_name=have)
    plan = _plan("*.contoso.example", (existing,))
    (change,) = [c for c in plan.changes if c.kind is ChangeKind.CONNECTOR]  # type: ignore[attr-defined]
    assert change.status is ChangeStatus.DONE, change


def test_a_wildcard_is_not_the_bare_domain() -> None:
    existing = ours(sender_ip_addresses=(), tls_sender_certificate_name="contoso.example")
    plan = _plan("*.contoso.example", (existing,))
    (change,) = [c for c in plan.changes if c.kind is ChangeKind.CONNECTOR]  # type: ignore[attr-defined]
    assert change.status is not ChangeStatus.DONE
    assert "instead of *.contoso.example" in change.detail
