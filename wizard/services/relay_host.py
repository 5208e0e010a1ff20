"""Gather what `decide_relay_host` needs: the tenant's MX (Graph), the live MX, a guess check.

Each input is bounded in time: Graph by its HTTP timeouts, DNS by the DnsClient's
per-query timeout and overall budget. A Graph failure (no token, no Domain.Read.All,
a network fault) only means the next source is used; it never raises.
"""

from __future__ import annotations

import logging

from wizard.core.clouds import Cloud, device_facing
from wizard.core.dns.model import AnswerStatus
from wizard.core.errors import WizardError
from wizard.core.relay_host import RelayHost, decide_relay_host, guess_mx_host
from wizard.services.dns.checks import dns_settings_for
from wizard.services.dns.client import DnsClient, DnsSettings
from wizard.services.graph import Graph

log = logging.getLogger(__name__)

# Bounded: a relay host decision never waits longer than this on DNS.
RELAY_HOST_DNS_BUDGET = 6.0


def host_resolves(dns: DnsClient, host: str) -> bool:
    """Whether `host` has an address (A, else AAAA)."""
    answer = dns.query(host, "A")
    if answer.ok:
        return True
    if answer.status in (AnswerStatus.NODATA, AnswerStatus.OK):
        return dns.query(host, "AAAA").ok
    return False


def find_relay_host(
    cloud: Cloud,
    domain: str,
    *,
    graph: Graph | None = None,
    dns: DnsClient | None = None,
    dns_settings: DnsSettings | None = None,
) -> RelayHost:
    """The device-facing relay host for `domain`, from the best source reachable.

    cloud: the cloud the wizard talks to (its DNS server is asked: in the sandbox, the
    sandbox's zones). The host is judged against the device-facing cloud's MX forms.
    """
    facing = device_facing(cloud)
    tenant_mx: str | None = None
    if graph is not None and domain.strip():
        try:
            tenant_mx = graph.mx_host(domain)
        except WizardError as error:
            log.info("Graph MX for %s unavailable: %s", domain, error)
    if tenant_mx:
        return decide_relay_host(facing, domain, tenant_mx=tenant_mx)
    own = dns is None
    client = dns or DnsClient(
        dns_settings
        or DnsSettings(
            dns_settings_for(cloud).nameservers,
            budget=RELAY_HOST_DNS_BUDGET,
        )
    )
    try:
        live = client.query(domain, "MX") if domain.strip() else None
        values = live.values if live is not None and live.ok else ()
        decided = decide_relay_host(facing, domain, live_mx=values)
        if decided.found:
            return decided
        resolves = bool(domain.strip()) and host_resolves(client, guess_mx_host(facing, domain))
        return decide_relay_host(facing, domain, live_mx=values, guess_resolves=resolves)
    finally:
        if own:
            client.close()
