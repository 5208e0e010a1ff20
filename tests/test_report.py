"""The setup report: every section with data, and honest "not run" without it."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from tests.pdf_helpers import (
    ink_ratio,
    page_sizes,
    pages_text,
    poppler_pages,
    render_pages,
    squash,
    unembedded_fonts,
)
from wizard.core.advisor import TenantFacts, advise
from wizard.core.clouds import CLOUDS, CloudId
from wizard.core.methods import Method, Tri
from wizard.core.profile import Printer, Site, SiteProfile
from wizard.core.report_model import (
    AppliedChange,
    ChangeResult,
    CheckStatus,
    DnsResult,
    SetupReport,
    SmtpTestOutcome,
    TenantInfo,
    date_status,
)
from wizard.core.retirement import TIMELINE
from wizard.export.layout import Paper
from wizard.export.report import render_report_images, report_pdf_bytes, write_report_pdf

TODAY = date(2026, 11, 20)
CONNECTOR_PS = (
    'New-InboundConnector -Name "Relay Wizard - Contoso HQ" -ConnectorType OnPremises '
    "-SenderDomains contoso.com -SenderIPAddresses 203.0.113.7 "
    "-RestrictDomainsToIPAddresses $true -RequireTls $true"
)
SPF_FIX = 'contoso.com. TXT "v=spf1 ip4:203.0.113.7 include:spf.protection.outlook.com -all"'


@pytest.fixture(autouse=True)
def _gui(qapp: object) -> None:
    """The export paints with QtGui: a (Q)GuiApplication must exist."""


def _profile() -> SiteProfile:
    return SiteProfile(
        Site(
            name="Contoso HQ",
            domain="contoso.com",
            public_ip="203.0.113.7",
            external_recipients=Tri.YES,
            static_ip=Tri.YES,
            port25_open=Tri.YES,
        ),
        Method.CONNECTOR,
        (
            Printer("Reception Scanner", "canon", "imageRUNNER ADVANCE DX C5840i", "Lobby"),
            Printer("Accounts MFP", "brother", "MFC-L8900CDW", "Accounts"),
        ),
    )


def _full() -> SetupReport:
    profile = _profile()
    advice = advise(
        profile.capabilities,
        profile.site.needs,
        TenantFacts(),
        CLOUDS[CloudId.WORLDWIDE],
        TODAY,
    )
    return SetupReport.for_profile(
        profile,
        TODAY,
        tenant=TenantInfo("Contoso Ltd", "9f1c2d3e-1111-2222-3333-444455556666", "contoso.com"),
        assessment=advice.for_method(Method.CONNECTOR),
        changes=(
            AppliedChange(
                "Create an inbound connector for Contoso HQ", CONNECTOR_PS, ChangeResult.APPLIED
            ),
            AppliedChange(
                "Reject anonymous direct send",
                "Set-OrganizationConfig -RejectDirectSend $true",
                ChangeResult.UNCHANGED,
                "It was already on.",
            ),
        ),
        dns=(
            DnsResult("MX", CheckStatus.OK, "contoso-com.mail.protection.outlook.com"),
            DnsResult("SPF", CheckStatus.FAILED, "The office IP 203.0.113.7 is missing.", SPF_FIX),
            DnsResult("DKIM", CheckStatus.NOT_RUN, "Needs the tenant's selector values."),
        ),
        test=SmtpTestOutcome(
            True,
            "Microsoft 365 accepted the message for delivery.",
            datetime(2026, 11, 20, 14, 5),
            ("EHLO scanner", "250 2.6.0 Queued mail for delivery"),
        ),
    )


def test_full_report_has_every_section(output_dir: Path) -> None:
    report = _full()
    assert report.method is not None and report.method.reasons
    pdf = output_dir / "report-full.pdf"
    write_report_pdf(report, pdf)
    text = squash(" ".join(pages_text(pdf.read_bytes())))
    expected = [
        "Contoso Ltd",
        "9f1c2d3e-1111-2222-3333-444455556666",
        report.method.title,
        *report.method.reasons,
        "Reception Scanner",
        "Canon imageRUNNER ADVANCE DX C5840i",  # vendor name from the catalog
        "Brother MFC-L8900CDW",
        CONNECTOR_PS,
        "Set-OrganizationConfig -RejectDirectSend $true",
        "Already set",
        SPF_FIX,
        "Fixes still open",
        "Not run",  # the DKIM check the wizard could not run
        "Microsoft 365 accepted the message for delivery.",
        "250 2.6.0 Queued mail for delivery",
        *(item.what for item in TIMELINE),
    ]
    for item in expected:
        assert squash(item) in text, item
    assert unembedded_fonts(pdf.read_bytes()) == []
    for png in render_pages(pdf, output_dir / "report-full", 60):
        assert ink_ratio(QImage(str(png))) > 0.01, png.name


def test_empty_report_says_not_run_and_invents_nothing(output_dir: Path) -> None:
    report = SetupReport(site_name="Fabrikam", domain="fabrikam.com", generated=TODAY)
    pdf = output_dir / "report-empty.pdf"
    write_report_pdf(report, pdf, paper=Paper.LETTER)
    (text,) = poppler_pages(pdf)
    flat = " ".join(text.split())
    for section in ("Tenant", "Sending method", "Changes in the tenant", "DNS records"):
        assert section in flat
    assert flat.count("Not run:") == 5
    for invented in ("Tenant ID", "Applied", "Passed", "Failed", "PS>", "Fixes still open"):
        assert invented not in flat, invented
    # The dates to remember need no tenant: they are always there.
    assert all(item.when in flat for item in TIMELINE)
    assert page_sizes(pdf.read_bytes()) == [(612.0, 792.0)]


def test_nothing_to_change_is_not_the_same_as_not_run() -> None:
    report = SetupReport(
        site_name="Fabrikam", domain="fabrikam.com", generated=TODAY, changes=(), dns=()
    )
    (text,) = [" ".join(t.split()) for t in pages_text(report_pdf_bytes(report))]
    assert "No change was needed." in text
    assert "Not run: no tenant changes" not in text


def test_a_long_report_flows_over_pages_with_numbers() -> None:
    many = tuple(
        AppliedChange(f"Change number {i}", f"Set-Thing -Identity item{i} -Value $true", r)
        for i, r in enumerate(list(ChangeResult) * 12)
    )
    report = SetupReport(site_name="Big", domain="big.example", generated=TODAY, changes=many)
    images = render_report_images(report, dpi=30)
    assert len(images) >= 2
    data = report_pdf_bytes(report)
    pages = [" ".join(t.split()) for t in pages_text(data)]
    assert len(pages) == len(images)
    assert f"Page {len(pages)} of {len(pages)}" in pages[-1]
    assert "Change number 47" in " ".join(pages)


def test_dates_to_remember_count_down() -> None:
    first = TIMELINE[0]
    assert date_status(first, date(2026, 12, 1)) == "in 30 days"
    assert date_status(first, first.day) == "today"
    assert date_status(first, date(2027, 1, 1)) == "passed"


def test_report_from_a_profile_without_the_advisor() -> None:
    report = SetupReport.for_profile(_profile(), TODAY)
    assert report.method is not None and report.method.reasons == ()
    assert [p.name for p in report.printers] == ["Reception Scanner", "Accounts MFP"]
    assert report.tenant is None and report.dns is None and report.test is None
    text = " ".join(" ".join(t.split()) for t in pages_text(report_pdf_bytes(report)))
    assert "reasons are not listed" in text


def test_the_relay_host_and_its_source_are_in_the_report() -> None:
    from dataclasses import replace

    from wizard.core.relay_host import decide_relay_host

    ww = CLOUDS[CloudId.WORLDWIDE]
    relay = replace(_profile(), method=Method.CONNECTOR)
    domain = relay.site.domain
    tenant = decide_relay_host(ww, domain, tenant_mx="contoso-com01b.mail.protection.outlook.com")
    text = " ".join(
        pages_text(report_pdf_bytes(SetupReport.for_profile(relay, TODAY, relay_host=tenant)))
    )
    assert "contoso-com01b.mail.protection.outlook.com on port 25" in text
    assert "from the tenant" in text
    missing = decide_relay_host(ww, domain)
    text = " ".join(
        pages_text(report_pdf_bytes(SetupReport.for_profile(relay, TODAY, relay_host=missing)))
    )
    assert "Relay host not found yet" in text and "Settings > Domains" in text
    # SMTP AUTH devices never connect to the MX: nothing about it in their report.
    auth = replace(_profile(), method=Method.SMTP_AUTH)
    assert SetupReport.for_profile(auth, TODAY, relay_host=tenant).relay_host is None
