"""Find the office's public IPv4 address through DNS ("what is my IP" resolvers).

Each provider's own server answers a special name with the address the question
came from (OpenDNS: myip.opendns.com from resolver1.opendns.com). No web request,
no account: it works wherever DNS works. Providers are asked in parallel and the
first valid IPv4 answer wins.

For a cloud with its own DNS server (the sandbox), that server is asked instead:
it answers myip.opendns.com with the simulated office address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass

from wizard.core.clouds import Cloud, Endpoint
from wizard.core.dns.model import DEFAULT_IP_PROVIDERS, DnsAnswer, IpProvider
from wizard.core.errors import NetworkError, ServiceTimeout
from wizard.core.i18n import tr
from wizard.core.validation import check_public_ipv4
from wizard.services.dns.client import DnsClient

_MYIP = "myip.opendns.com"


@dataclass(frozen=True)
class PublicIp:
    address: str
    provider: str
    server: str

    def describe(self) -> str:
        return tr("Detected through DNS: {provider} ({server}) saw this address.").format(
            provider=self.provider, server=self.server
        )


def providers_for(
    cloud: Cloud | None = None,
    *,
    nameserver: Endpoint | None = None,
    defaults: Sequence[IpProvider] = DEFAULT_IP_PROVIDERS,
) -> tuple[IpProvider, ...]:
    """The providers to ask: the cloud's own DNS server if it has one, else `defaults`.

    nameserver: a DNS server that plays the provider itself (a test or sandbox
    server); ordinary resolvers cannot, as they would report their own address.
    """
    own = cloud.dns_server if cloud is not None and cloud.dns_server else nameserver
    if own is not None:
        return (IpProvider(tr("this DNS server"), _MYIP, "A", ((own.host, own.port),)),)
    return tuple(defaults)


def _address_from(answer: DnsAnswer) -> str | None:
    for value in answer.values:
        text = value.strip().strip('"')
        # Google's TXT may carry "edns0-client-subnet ..." lines beside the address.
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            continue
        # Only a public address: a private or reserved one (a resolver on the LAN
        # answering for the provider) would put `ip4:10.0.0.1` into the SPF advice.
        if address.version == 4 and check_public_ipv4(str(address)).ok:
            return str(address)
    return None


def detect_public_ip(client: DnsClient, providers: Sequence[IpProvider]) -> PublicIp:
    """The first valid IPv4 answer; raises a NetworkError when no provider gives one."""
    if not providers:
        raise NetworkError(tr("No way to detect the public IP address is configured."))
    futures: dict[Future[DnsAnswer], tuple[IpProvider, tuple[str, int]]] = {}
    for provider in providers:
        for server in provider.servers[:1]:
            future = client.submit(
                provider.qname, provider.rtype, rdclass=provider.rdclass, server=server
            )
            futures[future] = (provider, server)
    pending = set(futures)
    answers: list[DnsAnswer] = []
    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            provider, server = futures[future]
            answer = future.result()
            answers.append(answer)
            address = _address_from(answer)
            if address is not None:
                return PublicIp(address, provider.name, f"{server[0]}:{server[1]}")
    timed_out = all(a.status.value in ("timeout", "budget") for a in answers)
    what = tr("The office's public IP address could not be detected.")
    why = "; ".join(
        f"{a.name}: {a.explain_error() if a.is_error else tr('no usable address in the answer')}"
        for a in answers
    )
    next_step = tr("Enter the address by hand (ask the internet provider, or look at the router).")
    if timed_out:
        raise ServiceTimeout(what, why, next_step)
    raise NetworkError(what, why, next_step)
