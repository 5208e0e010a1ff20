"""Helpers for the DNS check tests: a sandbox DNS server, zones, publishing a fix."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from wizard.core.clouds import CLOUDS, Cloud, CloudId
from wizard.core.dns.model import DnsReport, ExpectedRecords, RecordFix
from wizard.core.methods import Method
from wizard.sandbox.dns_server import DnsServer
from wizard.sandbox.tenant import DnsRecord, TenantState
from wizard.services.dns.checks import DnsCheckRequest, dns_settings_for, run_dns_checks
from wizard.services.dns.client import DnsClient

SITE_IP = "203.0.113.25"


@dataclass
class DnsSandbox:
    state: TenantState
    server: DnsServer

    @property
    def cloud(self) -> Cloud:
        # Worldwide behaviour; every question goes to the sandbox's DNS server.
        return replace(CLOUDS[CloudId.WORLDWIDE], dns_server=self.server.endpoint)

    def check(
        self,
        domain: str,
        *,
        method: Method | None = None,
        site_ip: str | None = None,
        expected: ExpectedRecords | None = None,
        query_timeout: float = 1.0,
        budget: float = 5.0,
        blocklists: tuple[str, ...] | None = None,
    ) -> DnsReport:
        request = DnsCheckRequest(
            domain,
            method=method,
            site_ip=site_ip,
            expected=expected or ExpectedRecords(),
        )
        if blocklists is not None:
            request = replace(request, blocklists=blocklists)
        settings = dns_settings_for(self.cloud, query_timeout=query_timeout, budget=budget)
        with DnsClient(settings) as client:
            return run_dns_checks(request, self.cloud, client)

    def publish(self, fix: RecordFix) -> None:
        publish(self.state, fix)


def publish(state: TenantState, fix: RecordFix) -> None:
    """Do what a person does at the DNS host with the fix."""
    name = fix.name
    with state.lock:
        if fix.rtype == "TXT":
            replaced = set(fix.replaces)
            state.dns_records = [
                r
                for r in state.dns_records
                if not (r.name == name and r.rtype == "TXT" and r.value in replaced)
            ]
            state.dns_records.append(DnsRecord(name, "TXT", fix.value, fix.ttl))
        elif fix.rtype in ("CNAME", "MX"):
            value = fix.value if fix.value.endswith(".") else fix.value + "."
            state.set_record(name, fix.rtype, value, ttl=fix.ttl)
            if fix.rtype == "CNAME":
                state.set_record(name, "TXT")  # a CNAME stands alone at its name
        else:
            raise AssertionError(f"no publish rule for {fix.rtype}")


@contextmanager
def dns_sandbox(state: TenantState) -> Iterator[DnsSandbox]:
    with DnsServer(state) as server:
        yield DnsSandbox(state, server)


def microsoft_zone(state: TenantState, domain: str, tenant: str = "contosodemo") -> None:
    """A domain set up the way Microsoft 365 asks (every check passes)."""
    dashed = domain.replace(".", "-")
    mx = f"{dashed}.mail.protection.outlook.com"
    state.set_record(domain, "MX", f"0 {mx}.")
    state.set_record(domain, "TXT", f"v=spf1 include:spf.protection.outlook.com ip4:{SITE_IP} -all")
    state.set_record(f"_dmarc.{domain}", "TXT", f"v=DMARC1; p=reject; rua=mailto:d@{domain}")
    for selector in ("selector1", "selector2"):
        target = f"{selector}-{dashed}._domainkey.{tenant}.onmicrosoft.com"
        state.set_record(f"{selector}._domainkey.{domain}", "CNAME", target + ".")
        state.set_record(target, "TXT", "v=DKIM1; k=rsa; p=MIIBIjANBgkq")
    state.set_record(f"autodiscover.{domain}", "CNAME", "autodiscover.outlook.com.")
