"""The DNS health check against the sandbox's DNS server (real dnspython, real pyspf)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.dns_helpers import SITE_IP, DnsSandbox, dns_sandbox, microsoft_zone
from wizard.core.dns.model import (
    CheckId,
    CheckStatus,
    DnsReport,
    ExpectedRecords,
    SiteIpSource,
    report_to_json,
)
from wizard.core.dns.spf_walk import walk_spf
from wizard.core.errors import InvalidInput
from wizard.core.methods import Method
from wizard.sandbox.tenant import DEMO_DOMAIN, DnsFault, TenantState, demo_tenant
from wizard.services.dns.checks import dns_settings_for, walk_spf_fully
from wizard.services.dns.client import DnsClient
from wizard.services.dns.spf_eval import evaluate_spf

GREEN = {CheckStatus.PASS, CheckStatus.INFO}
DOMAIN = "fabrikam.example"


@pytest.fixture
def box() -> Iterator[DnsSandbox]:
    """The sandbox's DNS server alone, serving the demo tenant's zone."""
    with dns_sandbox(demo_tenant()) as dns_box:
        yield dns_box


@pytest.fixture
def clean(box: DnsSandbox) -> DnsSandbox:
    """The DNS sandbox plus fabrikam.example, a domain that passes every check."""
    microsoft_zone(box.state, DOMAIN)
    return box


def status(report: DnsReport, check: CheckId) -> CheckStatus:
    result = report.check(check)
    assert result is not None, f"{check} missing from the report"
    return result.status


def not_green(report: DnsReport) -> dict[str, str]:
    return {c.id.value: f"{c.status}: {c.summary}" for c in report.checks if c.status not in GREEN}


def publish_all(box: DnsSandbox, report: DnsReport) -> None:
    for fix in report.fixes():
        box.publish(fix)


def spf_pass(box: DnsSandbox, domain: str, ip: str, record: str | None = None) -> str:
    with DnsClient(dns_settings_for(box.cloud)) as client:
        return evaluate_spf(client, domain, ip, record).result


# --- the demo tenant: planted problems, their fixes, and green after publishing ---------


def test_demo_zone_reports_planted_problems_with_fixes(box: DnsSandbox) -> None:
    report = box.check(DEMO_DOMAIN, method=Method.CONNECTOR)
    assert report.site_ip == SITE_IP and report.site_ip_source is SiteIpSource.DETECTED
    assert set(not_green(report)) == {"spf-site-ip", "dkim-selector2", "dmarc"}
    site = report.check(CheckId.SPF_SITE_IP)
    assert site is not None and site.status is CheckStatus.FAIL and site.fix is not None
    assert site.fix.value == (f"v=spf1 include:spf.protection.outlook.com ip4:{SITE_IP} -all")
    assert site.fix.host == "@" and site.fix.rtype == "TXT" and site.fix.action == "replace"
    dkim = report.check(CheckId.DKIM_SELECTOR2)
    assert dkim is not None and dkim.fix is not None
    assert dkim.fix.value == (
        "selector2-contoso-example03i._domainkey.contosodemo.r-v1.dkim.mail.microsoft"
    )
    assert dkim.fix.host == "selector2._domainkey" and dkim.fix.rtype == "CNAME"
    dmarc = report.check(CheckId.DMARC)
    assert dmarc is not None and dmarc.status is CheckStatus.WARNING and dmarc.fix is not None
    assert (
        "p=quarantine" in dmarc.fix.value and "rua=mailto:dmarc@contoso.example" in dmarc.fix.value
    )

    # The merged SPF fix, evaluated by pyspf before it is published.
    assert spf_pass(box, DEMO_DOMAIN, SITE_IP) == "fail"
    assert spf_pass(box, DEMO_DOMAIN, SITE_IP, site.fix.value) == "pass"

    publish_all(box, report)
    again = box.check(DEMO_DOMAIN, method=Method.CONNECTOR)
    assert not_green(again) == {}
    assert spf_pass(box, DEMO_DOMAIN, SITE_IP) == "pass"


def test_every_check_is_reported_once_and_in_json(clean: DnsSandbox) -> None:
    report = clean.check(DOMAIN, method=Method.DIRECT_SEND)
    assert sorted(c.id.value for c in report.checks) == sorted(c.value for c in CheckId)
    assert not_green(report) == {}
    data = report_to_json(report)
    assert data["schema_version"] == 1 and data["overall"] in ("pass", "info")
    assert [c["id"] for c in data["checks"]][:2] == ["mx", "spf"]
    for check in data["checks"]:
        assert set(check) >= {"id", "status", "summary", "details", "fix"}


def test_results_arrive_one_by_one(clean: DnsSandbox) -> None:
    from wizard.services.dns.checks import DnsCheckRequest, run_dns_checks

    seen: list[CheckId] = []
    with DnsClient(dns_settings_for(clean.cloud)) as client:
        report = run_dns_checks(
            DnsCheckRequest(DOMAIN), clean.cloud, client, on_result=lambda r: seen.append(r.id)
        )
    assert sorted(seen) == sorted(c.id for c in report.checks)
    assert len(seen) == len(set(seen)) == len(CheckId)


# --- MX ---------------------------------------------------------------------------------


def test_mx_missing_offers_only_the_tenants_value_as_a_fix(clean: DnsSandbox) -> None:
    clean.state.set_record(DOMAIN, "MX")
    result = clean.check(DOMAIN).check(CheckId.MX)
    # Without the tenant's value no host is offered as fact: only where to find it.
    assert result is not None and result.status is CheckStatus.FAIL and result.fix is None
    assert any("Settings > Domains > fabrikam.example" in d for d in result.details)
    assert "fabrikam-example.mail.protection" not in " ".join(result.details)
    expected = ExpectedRecords(mx_host="fabrikam-example01b.mail.protection.outlook.com")
    told = clean.check(DOMAIN, expected=expected).check(CheckId.MX)
    assert told is not None and told.fix is not None
    assert told.fix.value == "0 fabrikam-example01b.mail.protection.outlook.com"
    clean.publish(told.fix)
    assert status(clean.check(DOMAIN, expected=expected), CheckId.MX) is CheckStatus.PASS


def test_mx_dnssec_form_passes(clean: DnsSandbox) -> None:
    clean.state.set_record(DOMAIN, "MX", "0 fabrikam-example.b-v1.mx.microsoft.")
    assert status(clean.check(DOMAIN), CheckId.MX) is CheckStatus.PASS


def test_mx_other_than_the_tenant_says_fails(clean: DnsSandbox) -> None:
    expected = ExpectedRecords(mx_host="fabrikam-example.c-v1.mx.microsoft")
    result = clean.check(DOMAIN, expected=expected).check(CheckId.MX)
    assert result is not None and result.status is CheckStatus.FAIL and result.fix is not None
    assert result.fix.value == "0 fabrikam-example.c-v1.mx.microsoft"
    clean.publish(result.fix)
    assert status(clean.check(DOMAIN, expected=expected), CheckId.MX) is CheckStatus.PASS


def test_mx_third_party_filter_is_explained_for_direct_send(clean: DnsSandbox) -> None:
    clean.state.set_record(DOMAIN, "MX", "10 eu-smtp-inbound-1.mimecast.example.")
    result = clean.check(DOMAIN, method=Method.DIRECT_SEND).check(CheckId.MX)
    assert result is not None and result.status is CheckStatus.INFO and result.fix is None
    text = " ".join(result.details)
    # The Microsoft host behind the filter is not in DNS: the admin center has it.
    assert "fabrikam-example.mail.protection" not in text and "not to the MX" in text
    assert "admin center" in text


# --- SPF --------------------------------------------------------------------------------


def test_spf_missing_gets_a_new_record(clean: DnsSandbox) -> None:
    clean.state.set_record(DOMAIN, "TXT", "google-site-verification=abc")
    report = clean.check(DOMAIN, method=Method.CONNECTOR, site_ip=SITE_IP)
    spf = report.check(CheckId.SPF)
    assert spf is not None and spf.status is CheckStatus.FAIL and spf.fix is not None
    assert spf.fix.action == "add"
    assert spf.fix.value == f"v=spf1 include:spf.protection.outlook.com ip4:{SITE_IP} -all"
    assert status(report, CheckId.SPF_SITE_IP) is CheckStatus.FAIL
    clean.publish(spf.fix)
    assert not_green(clean.check(DOMAIN, method=Method.CONNECTOR, site_ip=SITE_IP)) == {}


def test_two_spf_records_are_merged_into_one(clean: DnsSandbox) -> None:
    clean.state.set_record(
        DOMAIN,
        "TXT",
        "v=spf1 include:spf.protection.outlook.com -all",
        "v=spf1 ip4:198.51.100.0/24 include:_spf.partner.example ~all",
    )
    clean.state.set_record("_spf.partner.example", "TXT", "v=spf1 ip4:192.0.2.0/24 -all")
    report = clean.check(DOMAIN, method=Method.DIRECT_SEND, site_ip=SITE_IP)
    spf = report.check(CheckId.SPF)
    assert spf is not None and spf.status is CheckStatus.FAIL and spf.fix is not None
    assert "2 SPF records" in spf.summary
    # DNS gives the records in no set order; every term is kept once, the strictest
    # ending wins, and the office's address comes last before it.
    terms = spf.fix.value.split()
    assert terms[0] == "v=spf1" and terms[-2:] == [f"ip4:{SITE_IP}", "-all"]
    assert sorted(terms[1:-2]) == [
        "include:_spf.partner.example",
        "include:spf.protection.outlook.com",
        "ip4:198.51.100.0/24",
    ]
    assert len(spf.fix.replaces) == 2
    # pyspf on the site IP and on the partner's network, through the real include.
    assert spf_pass(clean, DOMAIN, SITE_IP, spf.fix.value) == "pass"
    assert spf_pass(clean, DOMAIN, "192.0.2.9", spf.fix.value) == "pass"
    clean.publish(spf.fix)
    assert not_green(clean.check(DOMAIN, method=Method.DIRECT_SEND, site_ip=SITE_IP)) == {}


def test_plus_all_is_flagged_and_the_fix_keeps_every_mechanism(clean: DnsSandbox) -> None:
    clean.state.set_record(DOMAIN, "TXT", "v=spf1 mx a:relay.fabrikam.example +all")
    clean.state.set_record(f"relay.{DOMAIN}", "A", "198.51.100.7")
    clean.state.set_record(f"mx1.{DOMAIN}", "A", "198.51.100.8")
    report = clean.check(DOMAIN, method=Method.CONNECTOR, site_ip=SITE_IP)
    spf = report.check(CheckId.SPF)
    assert spf is not None and spf.status is CheckStatus.FAIL and spf.fix is not None
    assert "+all" in spf.summary and "include" in " ".join(spf.details)
    assert spf.fix.value == (
        f"v=spf1 mx a:relay.fabrikam.example include:spf.protection.outlook.com ip4:{SITE_IP} ~all"
    )
    assert spf_pass(clean, DOMAIN, SITE_IP, spf.fix.value) == "pass"
    assert spf_pass(clean, DOMAIN, "198.51.100.7", spf.fix.value) == "pass"
    assert spf_pass(clean, DOMAIN, "192.0.2.200", spf.fix.value) == "softfail"


def test_question_all_is_dangerous(clean: DnsSandbox) -> None:
    clean.state.set_record(
        DOMAIN, "TXT", f"v=spf1 include:spf.protection.outlook.com ip4:{SITE_IP} ?all"
    )
    spf = clean.check(DOMAIN).check(CheckId.SPF)
    assert spf is not None and spf.status is CheckStatus.FAIL and spf.fix is not None
    assert spf.fix.value.endswith(" ~all")


def test_more_than_ten_lookups_fails(clean: DnsSandbox) -> None:
    state = clean.state
    includes = [f"include:s{i}.vendor.example" for i in range(9)]
    state.set_record(
        DOMAIN,
        "TXT",
        "v=spf1 a mx include:spf.protection.outlook.com " + " ".join(includes) + " -all",
    )
    for i in range(9):
        state.set_record(f"s{i}.vendor.example", "TXT", f"v=spf1 ip4:192.0.2.{i} -all")
    report = clean.check(DOMAIN, method=Method.SMTP_AUTH)
    lookups = report.check(CheckId.SPF_LOOKUPS)
    assert lookups is not None and lookups.status is CheckStatus.FAIL
    assert "13 DNS lookups" in lookups.summary
    assert "subdomain" in " ".join(lookups.details)  # a/mx flattening is not enough


def test_a_fix_over_ten_lookups_says_so_and_offers_an_alternative(clean: DnsSandbox) -> None:
    state = clean.state
    includes = [f"include:s{i}.vendor.example" for i in range(6)]
    state.set_record(
        DOMAIN,
        "TXT",
        "v=spf1 a mx a:relay.fabrikam.example mx:backup.example " + " ".join(includes) + " -all",
    )
    for i in range(6):
        state.set_record(f"s{i}.vendor.example", "TXT", f"v=spf1 ip4:192.0.2.{i} -all")
    state.set_record(DOMAIN, "A", "198.51.100.20")
    state.set_record(f"relay.{DOMAIN}", "A", "198.51.100.21")
    state.set_record("backup.example", "MX", "10 mx.backup.example.")
    state.set_record("mx.backup.example", "A", "198.51.100.22")
    state.set_record("fabrikam-example.mail.protection.outlook.com", "A", "52.101.0.10")
    report = clean.check(DOMAIN, method=Method.CONNECTOR, site_ip=SITE_IP)
    assert status(report, CheckId.SPF_LOOKUPS) is CheckStatus.PASS  # 10: at the limit
    spf = report.check(CheckId.SPF)
    assert spf is not None and spf.status is CheckStatus.FAIL and spf.fix is not None
    # Adding Microsoft's include takes it to 12: the fix says so and offers an
    # alternative that replaces a and mx terms by the addresses they name today.
    assert "12 DNS lookups" in spf.fix.warning
    alternative = spf.fix.alternative
    assert alternative is not None and "8 lookups" in alternative.note
    assert alternative.value.startswith(
        "v=spf1 ip4:198.51.100.20 ip4:52.101.0.10 ip4:198.51.100.21 ip4:198.51.100.22 "
    )
    with DnsClient(dns_settings_for(clean.cloud)) as client:
        assert walk_spf_fully(client, DOMAIN, record_text=alternative.value).lookups == 8
    for ip in (SITE_IP, "198.51.100.21", "198.51.100.22", "192.0.2.5"):
        assert spf_pass(clean, DOMAIN, ip, alternative.value) == "pass", ip
    clean.publish(alternative)
    assert not_green(clean.check(DOMAIN, method=Method.CONNECTOR, site_ip=SITE_IP)) == {}


def test_redirect_is_followed_and_counted(clean: DnsSandbox) -> None:
    clean.state.set_record(DOMAIN, "TXT", "v=spf1 redirect=_spf.fabrikam.example")
    clean.state.set_record(
        f"_spf.{DOMAIN}", "TXT", f"v=spf1 include:spf.protection.outlook.com ip4:{SITE_IP} -all"
    )
    report = clean.check(DOMAIN, method=Method.DIRECT_SEND, site_ip=SITE_IP)
    assert not_green(report) == {}
    lookups = report.check(CheckId.SPF_LOOKUPS)
    assert lookups is not None and lookups.summary.startswith("3 of 10")


def test_redirect_to_a_name_without_spf_fails(clean: DnsSandbox) -> None:
    clean.state.set_record(DOMAIN, "TXT", "v=spf1 redirect=_spf.fabrikam.example")
    report = clean.check(DOMAIN, method=Method.DIRECT_SEND, site_ip=SITE_IP)
    assert status(report, CheckId.SPF_LOOKUPS) is CheckStatus.FAIL
    assert status(report, CheckId.SPF_SITE_IP) is CheckStatus.FAIL  # pyspf: permerror


def test_include_loop_fails(clean: DnsSandbox) -> None:
    clean.state.set_record(
        DOMAIN, "TXT", "v=spf1 include:spf.protection.outlook.com include:a.loop.example -all"
    )
    clean.state.set_record("a.loop.example", "TXT", "v=spf1 include:b.loop.example -all")
    clean.state.set_record("b.loop.example", "TXT", "v=spf1 include:a.loop.example -all")
    lookups = clean.check(DOMAIN).check(CheckId.SPF_LOOKUPS)
    assert lookups is not None and lookups.status is CheckStatus.FAIL
    assert "loop" in lookups.summary


def test_macros_count_one_lookup_and_pyspf_expands_them(clean: DnsSandbox) -> None:
    clean.state.set_record(
        DOMAIN,
        "TXT",
        "v=spf1 include:spf.protection.outlook.com exists:%{i}._spf.fabrikam.example -all",
    )
    clean.state.set_record(f"{SITE_IP}._spf.{DOMAIN}", "A", "127.0.0.2")
    report = clean.check(DOMAIN, method=Method.CONNECTOR, site_ip=SITE_IP)
    lookups = report.check(CheckId.SPF_LOOKUPS)
    assert lookups is not None and lookups.status is CheckStatus.PASS
    assert lookups.summary.startswith("3 of 10")
    assert any("macro" in d for d in lookups.details)
    # The exists: term with the office's address expanded allows it: no ip4 needed.
    assert status(report, CheckId.SPF_SITE_IP) is CheckStatus.PASS


def test_spf_syntax_error_is_reported(clean: DnsSandbox) -> None:
    clean.state.set_record(
        DOMAIN, "TXT", "v=spf1 include:spf.protection.outlook.com ipv4:1.2.3.4 -all"
    )
    spf = clean.check(DOMAIN).check(CheckId.SPF)
    assert spf is not None and spf.status is CheckStatus.FAIL
    assert "ipv4:1.2.3.4" in " ".join(spf.details)


def test_smtp_auth_does_not_need_the_site_ip(box: DnsSandbox) -> None:
    report = box.check(DEMO_DOMAIN, method=Method.SMTP_AUTH_OAUTH)
    site = report.check(CheckId.SPF_SITE_IP)
    assert site is not None and site.status is CheckStatus.INFO and site.fix is None


# --- DKIM -------------------------------------------------------------------------------


def test_dkim_pointing_elsewhere_fails(clean: DnsSandbox) -> None:
    clean.state.set_record(
        f"selector1._domainkey.{DOMAIN}", "CNAME", "selector1._domainkey.mailer.example."
    )
    report = clean.check(DOMAIN)
    dkim = report.check(CheckId.DKIM_SELECTOR1)
    assert dkim is not None and dkim.status is CheckStatus.FAIL and dkim.fix is not None
    # Without the tenant, the value comes from selector2, which is right.
    assert dkim.fix.value == "selector1-fabrikam-example._domainkey.contosodemo.onmicrosoft.com"
    assert status(report, CheckId.DKIM_SELECTOR2) is CheckStatus.PASS
    clean.publish(dkim.fix)
    assert status(clean.check(DOMAIN), CheckId.DKIM_SELECTOR1) is CheckStatus.PASS


def test_dkim_uses_the_tenant_values_when_signed_in(clean: DnsSandbox) -> None:
    tenant = ExpectedRecords(
        dkim_selector1="selector1-fabrikam-example._domainkey.fabrikam.n-v1.dkim.mail.microsoft",
        dkim_selector2="selector2-fabrikam-example._domainkey.fabrikam.n-v1.dkim.mail.microsoft",
    )
    report = clean.check(DOMAIN, expected=tenant)
    for check in (CheckId.DKIM_SELECTOR1, CheckId.DKIM_SELECTOR2):
        result = report.check(check)
        assert result is not None and result.status is CheckStatus.FAIL and result.fix is not None
        assert result.fix.value.endswith(".n-v1.dkim.mail.microsoft")


def test_dkim_targets_with_microsofts_suffixed_token_pass(clean: DnsSandbox) -> None:
    # As in a public zone: selector1-exclusive-jasonshadow-com03i._domainkey.jasonshadow.
    # r-v1.dkim.mail.microsoft. Without the tenant's config any target under the
    # tenant's onmicrosoft.com or dkim.mail.microsoft is accepted.
    for selector in ("selector1", "selector2"):
        target = f"{selector}-fabrikam-example03i._domainkey.fabrikam.r-v1.dkim.mail.microsoft"
        clean.state.set_record(f"{selector}._domainkey.{DOMAIN}", "CNAME", target + ".")
        clean.state.set_record(target, "TXT", "v=DKIM1; k=rsa; p=MIIBIjANBgkq")
    report = clean.check(DOMAIN)
    assert status(report, CheckId.DKIM_SELECTOR1) is CheckStatus.PASS
    assert status(report, CheckId.DKIM_SELECTOR2) is CheckStatus.PASS
    # Signed in, the tenant's exact value decides.
    tenant = ExpectedRecords(
        dkim_selector1="selector1-fabrikam-example03i._domainkey.fabrikam.r-v1.dkim.mail.microsoft",
        dkim_selector2="selector2-other._domainkey.fabrikam.r-v1.dkim.mail.microsoft",
    )
    told = clean.check(DOMAIN, expected=tenant)
    assert status(told, CheckId.DKIM_SELECTOR1) is CheckStatus.PASS
    assert status(told, CheckId.DKIM_SELECTOR2) is CheckStatus.FAIL


def test_dkim_through_a_cname_chain_passes(clean: DnsSandbox) -> None:
    target = "selector1-fabrikam-example._domainkey.contosodemo.onmicrosoft.com"
    clean.state.set_record(f"selector1._domainkey.{DOMAIN}", "CNAME", "dkim1.dnsprovider.example.")
    clean.state.set_record("dkim1.dnsprovider.example", "CNAME", target + ".")
    dkim = clean.check(DOMAIN).check(CheckId.DKIM_SELECTOR1)
    assert dkim is not None and dkim.status is CheckStatus.PASS
    assert dkim.found == ("dkim1.dnsprovider.example", target)
    assert "chain" in " ".join(dkim.details)


def test_dkim_without_a_published_key_warns(clean: DnsSandbox) -> None:
    clean.state.set_record(
        "selector2-fabrikam-example._domainkey.contosodemo.onmicrosoft.com", "TXT"
    )
    assert status(clean.check(DOMAIN), CheckId.DKIM_SELECTOR2) is CheckStatus.WARNING


# --- DMARC, Autodiscover, PTR, blocklists -----------------------------------------------


def test_missing_dmarc_gets_a_safe_starting_record(clean: DnsSandbox) -> None:
    clean.state.set_record(f"_dmarc.{DOMAIN}", "TXT")
    dmarc = clean.check(DOMAIN).check(CheckId.DMARC)
    assert dmarc is not None and dmarc.status is CheckStatus.FAIL and dmarc.fix is not None
    assert dmarc.fix.value == "v=DMARC1; p=none; rua=mailto:dmarc-reports@fabrikam.example"
    assert dmarc.fix.host == "_dmarc"
    clean.publish(dmarc.fix)
    # Published: now it monitors, and the next step is offered.
    after = clean.check(DOMAIN).check(CheckId.DMARC)
    assert after is not None and after.status is CheckStatus.WARNING and after.fix is not None
    assert "p=quarantine" in after.fix.value


def test_subdomain_is_covered_by_the_parent_dmarc(clean: DnsSandbox) -> None:
    sub = f"scan.{DOMAIN}"
    microsoft_zone(clean.state, sub)
    clean.state.set_record(f"_dmarc.{sub}", "TXT")
    dmarc = clean.check(sub).check(CheckId.DMARC)
    assert dmarc is not None and dmarc.status is CheckStatus.PASS
    assert DOMAIN in dmarc.summary


def test_autodiscover_missing_is_information_with_a_fix(clean: DnsSandbox) -> None:
    clean.state.set_record(f"autodiscover.{DOMAIN}", "CNAME")
    result = clean.check(DOMAIN).check(CheckId.AUTODISCOVER)
    assert result is not None and result.status is CheckStatus.INFO and result.fix is not None
    assert result.fix.value == "autodiscover.outlook.com"


def test_ptr_and_blocklists(clean: DnsSandbox) -> None:
    ip = "198.51.100.77"
    clean.state.set_record("77.100.51.198.zen.spamhaus.org", "A", "127.0.0.2")
    report = clean.check(DOMAIN, site_ip=ip)
    assert status(report, CheckId.PTR) is CheckStatus.INFO  # no reverse name
    blocklists = report.check(CheckId.BLOCKLISTS)
    assert blocklists is not None and blocklists.status is CheckStatus.WARNING
    assert "zen.spamhaus.org" in blocklists.summary
    # A list that refuses public resolvers is "could not ask", not "listed".
    clean.state.set_record("77.100.51.198.zen.spamhaus.org", "A", "127.255.255.254")
    again = clean.check(DOMAIN, site_ip=ip).check(CheckId.BLOCKLISTS)
    assert again is not None and again.status is CheckStatus.PASS
    assert "refused" in " ".join(again.details)


# --- robustness -------------------------------------------------------------------------


def test_idn_domain(box: DnsSandbox) -> None:
    ascii_name = "xn--bcher-kva.example"
    microsoft_zone(box.state, ascii_name)
    report = box.check("Bücher.example", method=Method.CONNECTOR)
    assert report.domain == "bücher.example" and report.domain_ascii == ascii_name
    assert not_green(report) == {}
    box.state.set_record(f"_dmarc.{ascii_name}", "TXT")
    dmarc = box.check("bücher.example").check(CheckId.DMARC)
    assert dmarc is not None and dmarc.fix is not None
    assert dmarc.fix.name == f"_dmarc.{ascii_name}" and dmarc.fix.host == "_dmarc"


def test_a_name_that_times_out_is_an_error_not_missing(clean: DnsSandbox) -> None:
    clean.state.dns_faults[f"_dmarc.{DOMAIN}"] = DnsFault.TIMEOUT
    started = time.monotonic()
    report = clean.check(DOMAIN, query_timeout=0.3, budget=3.0)
    elapsed = time.monotonic() - started
    dmarc = report.check(CheckId.DMARC)
    assert dmarc is not None and dmarc.status is CheckStatus.ERROR and dmarc.fix is None
    assert "did not answer in time" in dmarc.summary
    assert "missing" not in dmarc.summary.lower()
    # Everything else is unaffected, and the whole check waited for one timeout only.
    assert {c.id for c in report.checks if c.status not in GREEN} == {CheckId.DMARC}
    assert elapsed < 1.5


def test_servfail_and_refused_are_errors(clean: DnsSandbox) -> None:
    clean.state.dns_faults[DOMAIN] = DnsFault.SERVFAIL
    clean.state.dns_faults[f"selector1._domainkey.{DOMAIN}"] = DnsFault.REFUSED
    report = clean.check(DOMAIN, site_ip=SITE_IP)
    for check in (CheckId.MX, CheckId.SPF, CheckId.SPF_SITE_IP, CheckId.SPF_LOOKUPS):
        result = report.check(check)
        assert result is not None and result.status is CheckStatus.ERROR, check
        assert result.fix is None
    mx = report.check(CheckId.MX)
    assert mx is not None and "SERVFAIL" in mx.summary
    dkim = report.check(CheckId.DKIM_SELECTOR1)
    assert dkim is not None and dkim.status is CheckStatus.ERROR and "refused" in dkim.summary


def test_a_timeout_inside_the_spf_tree_is_an_error(clean: DnsSandbox) -> None:
    clean.state.set_record(
        DOMAIN,
        "TXT",
        f"v=spf1 include:spf.protection.outlook.com include:slow.vendor.example ip4:{SITE_IP} -all",
    )
    clean.state.dns_faults["slow.vendor.example"] = DnsFault.TIMEOUT
    report = clean.check(DOMAIN, query_timeout=0.3)
    lookups = report.check(CheckId.SPF_LOOKUPS)
    assert lookups is not None and lookups.status is CheckStatus.ERROR
    assert "slow.vendor.example" in lookups.summary
    assert status(report, CheckId.SPF) is CheckStatus.PASS


def test_unreachable_resolver_is_an_error_everywhere() -> None:
    with dns_sandbox(TenantState("t", "T", "t.onmicrosoft.com")) as box:
        cloud = box.cloud
    # The server has stopped: nothing answers on its port any more.
    from wizard.services.dns.checks import DnsCheckRequest, run_dns_checks

    settings = dns_settings_for(cloud, query_timeout=0.2, budget=1.0)
    started = time.monotonic()
    with DnsClient(settings) as client:
        report = run_dns_checks(DnsCheckRequest(DOMAIN, site_ip=SITE_IP), cloud, client)
    assert time.monotonic() - started < 1.5
    statuses = {c.id: c.status for c in report.checks}
    assert statuses.pop(CheckId.SITE_IP) is CheckStatus.INFO  # entered by hand
    assert set(statuses.values()) == {CheckStatus.ERROR}, not_green(report)
    assert all(c.fix is None for c in report.checks)


def test_bad_input_raises_invalid_input(box: DnsSandbox) -> None:
    with pytest.raises(InvalidInput):
        box.check("not a domain")
    with pytest.raises(InvalidInput):
        box.check(DEMO_DOMAIN, site_ip="2001:db8::1")


def test_lookup_count_agrees_with_checkdmarc(clean: DnsSandbox) -> None:
    """Our RFC 7208 count and checkdmarc's, on the same zone through the same server."""
    checkdmarc_spf = pytest.importorskip("checkdmarc.spf")
    import dns.nameserver

    state = clean.state
    state.set_record(
        DOMAIN,
        "TXT",
        "v=spf1 a mx include:spf.protection.outlook.com include:_spf.vendor.example "
        "exists:%{i}.x.fabrikam.example redirect=_r.fabrikam.example",
    )
    state.set_record(
        "_spf.vendor.example",
        "TXT",
        "v=spf1 a:nothing.vendor.example include:_b.vendor.example -all",
    )
    state.set_record("_b.vendor.example", "TXT", "v=spf1 ip4:192.0.2.0/24 mx:vendor.example -all")
    state.set_record(f"_r.{DOMAIN}", "TXT", "v=spf1 -all")
    state.set_record(DOMAIN, "A", "198.51.100.20")
    endpoint = clean.server.endpoint
    theirs = checkdmarc_spf.check_spf(
        DOMAIN, nameservers=[dns.nameserver.Do53Nameserver(endpoint.host, endpoint.port)], timeout=2
    )
    with DnsClient(dns_settings_for(clean.cloud)) as client:
        ours = walk_spf_fully(client, DOMAIN)
    assert ours.complete and theirs["valid"], theirs
    assert ours.lookups == theirs["dns_lookups"] == 10
    assert ours.void_lookups == theirs["void_dns_lookups"]


def test_walk_is_pure_and_asks_for_what_it_lacks() -> None:
    walk = walk_spf("fabrikam.example", lambda key: None)
    assert walk.needed == {("fabrikam.example", "TXT")} and not walk.complete
