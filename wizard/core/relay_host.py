"""Which host a device doing direct send or connector relay is given (pure).

Microsoft's MX token cannot be computed: public zones show `rent-path.com` ->
`rentpath-com01b.mail.protection.outlook.com` and `maxxexpress.com` ->
`maxxexpress-com01b...`, where the dashed guess returns NXDOMAIN, and accepted domains
added from July 2026 get `<token>.<letter>-v1.mx.microsoft` (message centre MC1048624;
Microsoft Learn "Add DNS records to connect your domain" and the Graph
`domain: list serviceConfigurationRecords` reference, which names the mailExchange
record as the value to publish). So the host comes from the best source known:

1. the tenant (Graph `serviceConfigurationRecords`, record type MX);
2. the domain's live MX, when it points to Microsoft (any of the cloud's MX forms);
3. a guess (the dashed domain under the cloud's classic suffix), which is only ever
   shown marked as a guess, and only when a DNS lookup found it; a guess that does not
   resolve is never printed as a host to set.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from wizard.core.clouds import Cloud
from wizard.core.i18n import tr


class RelayHostSource(StrEnum):
    TENANT = "tenant"  # Graph serviceConfigurationRecords
    LIVE_MX = "live-mx"  # the domain's MX in DNS, pointing to Microsoft
    GUESS = "guess"  # the dashed domain; never proof


@dataclass(frozen=True)
class RelayHost:
    """The device-facing relay host for one domain and where it came from.

    host is "" when nothing usable was found (a guess that does not resolve is not
    kept as a host). verified is True only for the tenant's or the live MX's value.
    """

    domain: str
    host: str
    source: RelayHostSource
    verified: bool

    @property
    def found(self) -> bool:
        return bool(self.host)

    @property
    def is_guess(self) -> bool:
        return self.source is RelayHostSource.GUESS

    @property
    def source_label(self) -> str:
        if self.source is RelayHostSource.TENANT:
            return tr("from the tenant (Microsoft 365 admin center records)")
        if self.source is RelayHostSource.LIVE_MX:
            return tr("from the domain's MX record in DNS")
        if self.host:
            return tr("a guess, not confirmed by the tenant: check it in the admin center")
        return tr("not found")

    @property
    def display(self) -> str:
        """The host as shown to a person: a guess is marked, a missing host says so."""
        if not self.host:
            return tr("Relay host not found")
        if self.is_guess:
            return tr("{host} (unverified guess)").format(host=self.host)
        return self.host

    @property
    def not_found_advice(self) -> str:
        return not_found_advice(self.domain)


def not_found_advice(domain: str) -> str:
    return tr(
        "The wizard could not find the mail server (MX) host Microsoft 365 gave "
        "{domain}. Sign in so the wizard can read it from the tenant, or copy it from "
        "the Microsoft 365 admin center: Settings > Domains > {domain} > DNS records "
        "(the MX record's value)."
    ).format(domain=domain or tr("the domain"))


def normal_host(host: str) -> str:
    return host.strip().rstrip(".").lower()


def guess_mx_host(cloud: Cloud, domain: str) -> str:
    """The dashed guess (`contoso-com.mail.protection.outlook.com`). Only a guess."""
    ascii_domain = domain.strip().rstrip(".").encode("idna").decode("ascii").lower()
    return f"{ascii_domain.replace('.', '-')}.{cloud.mx_suffixes[0]}"


def microsoft_mx(cloud: Cloud, mx_values: Iterable[str]) -> str | None:
    """The most preferred Microsoft host among MX values ("10 host." or "host")."""
    best: tuple[int, str] | None = None
    for value in mx_values:
        parts = value.split()
        if len(parts) == 2 and parts[0].isdigit():
            preference, host = int(parts[0]), normal_host(parts[1])
        elif len(parts) == 1:
            preference, host = 0, normal_host(parts[0])
        else:
            continue
        if host and cloud.is_microsoft_mx(host) and (best is None or (preference, host) < best):
            best = (preference, host)
    return best[1] if best else None


def decide_relay_host(
    cloud: Cloud,
    domain: str,
    *,
    tenant_mx: str | None = None,
    live_mx: Iterable[str] = (),
    guess_resolves: bool | None = None,
) -> RelayHost:
    """The host from the best source: tenant, else live Microsoft MX, else a checked guess.

    tenant_mx: the mailExchange value of serviceConfigurationRecords, when read.
    live_mx: the domain's MX values from DNS. guess_resolves: whether an A lookup of the
    guess found it (None: not checked, which counts as not found).
    """
    if tenant_mx and normal_host(tenant_mx):
        return RelayHost(domain, normal_host(tenant_mx), RelayHostSource.TENANT, True)
    live = microsoft_mx(cloud, live_mx)
    if live:
        return RelayHost(domain, live, RelayHostSource.LIVE_MX, True)
    guess = guess_mx_host(cloud, domain) if domain.strip() else ""
    return RelayHost(domain, guess if guess_resolves else "", RelayHostSource.GUESS, False)
