"""Microsoft 365 clouds and their endpoint sets.

Every service takes its hosts from a `Cloud`; nothing else in the wizard names a
Microsoft host. The sandbox is one more cloud (built by `sandbox_cloud()`), so the
same code path serves the real tenants, the demo and the tests.

Sovereign hosts follow M365-FACTS.md and Microsoft's "Connect-ExchangeOnline
-ExchangeEnvironmentName" table; each still has to be confirmed against a live
tenant of that cloud before it is advertised as supported.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from wizard.core.i18n import tr

SUBMISSION_PORT = 587
RELAY_PORT = 25

# The Exchange Online PowerShell public client; see M365-FACTS.md. Pre-authorised for
# the Exchange admin API only (loopback redirect and device code, as ScubaGear uses it).
EXCHANGE_POWERSHELL_CLIENT_ID = "fb78d390-0c51-40cd-8e17-fdbfab77341b"
# The Microsoft Graph Command Line Tools public client (Connect-MgGraph's default app,
# used by ScubaGear and CIPP for delegated Graph): Graph with dynamic consent.
GRAPH_CLI_CLIENT_ID = "14d82eec-204b-4c2f-b7e8-296a70dab67e"
# Delegated Graph permissions the wizard reads with (M365-FACTS.md "Graph permissions"):
# /organization and /domains need Organization.Read.All / Domain.Read.All,
# serviceConfigurationRecords Domain.Read.All, the Security Defaults policy
# Policy.Read.All (Microsoft Learn, "Get identitySecurityDefaultsEnforcementPolicy").
GRAPH_READ_PERMISSIONS: tuple[str, ...] = (
    "User.Read",
    "Organization.Read.All",
    "Domain.Read.All",
    "Policy.Read.All",
)
# What creating the mailbox-test app registration through Graph needs (Microsoft Learn,
# "Create application" and "Create oAuth2PermissionGrant").
GRAPH_APP_ADMIN_PERMISSIONS: tuple[str, ...] = (
    "Application.ReadWrite.All",
    "DelegatedPermissionGrant.ReadWrite.All",
)


class CloudId(StrEnum):
    WORLDWIDE = "worldwide"
    GCC = "gcc"
    GCC_HIGH = "gcc-high"
    DOD = "dod"
    CHINA = "china"
    SANDBOX = "sandbox"


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


class AppJob(StrEnum):
    """What a sign-in is for; each job may need its own client id (M365-FACTS.md)."""

    ADMIN_API = "admin-api"  # Exchange admin API (InvokeCommand)
    GRAPH_READ = "graph-read"  # domains, service records, Security Defaults
    MAILBOX_TEST = "mailbox-test"  # SMTP.Send + offline_access for the XOAUTH2 test


@dataclass(frozen=True)
class CloudApps:
    """Which public client serves which job in one cloud.

    A first-party client is pre-authorised only for its own resource; any other
    resource answers AADSTS65002. So the admin API takes the Exchange Online PowerShell
    client, Graph the Graph Command Line Tools client, and SMTP.Send an app
    registration of the MSP's own (never a first-party client). An app registration
    lives in one national cloud: its client id is per cloud.
    """

    admin_api: str = EXCHANGE_POWERSHELL_CLIENT_ID
    graph: str = GRAPH_CLI_CLIENT_ID
    # The MSP's app for the mailbox test; None until one is made or pasted.
    mailbox_test: str | None = None
    # The MSP's own app, when set, serves every job (one sign-in).
    msp_app: str | None = None

    def client_for(self, job: AppJob) -> str | None:
        if self.msp_app:
            return self.msp_app
        if job is AppJob.ADMIN_API:
            return self.admin_api
        if job is AppJob.GRAPH_READ:
            return self.graph
        return self.mailbox_test

    @staticmethod
    def purpose(job: AppJob) -> str:
        return {
            AppJob.ADMIN_API: tr("Exchange admin (connectors, mailbox settings)"),
            AppJob.GRAPH_READ: tr("Reading domains, DNS records and Security Defaults"),
            AppJob.MAILBOX_TEST: tr("The test message with the mailbox's OAuth sign-in"),
        }[job]


@dataclass(frozen=True)
class Cloud:
    """The endpoint set of one Microsoft 365 cloud."""

    id: CloudId
    name: str
    # https://login.microsoftonline.com (no tenant part)
    authority_host: str
    # Base of the Exchange admin API; also the token resource for it.
    exchange_api: str
    graph: str
    smtp: Endpoint
    # Submission endpoint for devices stuck on TLS 1.0/1.1; None where not offered.
    legacy_tls_smtp: Endpoint | None
    # High Volume Email; None where the cloud does not offer it.
    hve_smtp: Endpoint | None
    # Host suffixes of the tenant's MX; the first one is the classic form (used only
    # for a guess marked as such, see core.relay_host), all are accepted in DNS.
    mx_suffixes: tuple[str, ...]
    # Delegated scope for XOAUTH2 on the submission endpoint.
    smtp_oauth_scope: str
    # Sandbox only: where the stand-in for every "<domain>.mail.protection" host
    # listens (a loopback port, as nobody may bind port 25 in a test).
    relay_endpoint: Endpoint | None = None
    # Sandbox only: the DNS server that holds the demo zones.
    dns_server: Endpoint | None = None
    # PEM file of extra certificate authorities to trust for this cloud (the
    # sandbox's own CA). None means the system's trust store.
    ca_bundle: str | None = None
    # Tenant to sign in to; "organizations" lets the account choose its home tenant.
    default_tenant: str = "organizations"
    # Where the values printed for a device (sheets) come from, when they differ from
    # the endpoints the wizard itself talks to: the sandbox's loopback ports are no use
    # to a real printer, so its sheets show the worldwide values.
    device_values_from: CloudId | None = None
    # Which client id serves which job (see CloudApps).
    apps: CloudApps = field(default_factory=CloudApps)
    notes: tuple[str, ...] = field(default=())

    @property
    def is_sandbox(self) -> bool:
        return self.id is CloudId.SANDBOX

    def authority(self, tenant: str | None = None) -> str:
        return f"{self.authority_host}/{tenant or self.default_tenant}"

    @property
    def exchange_scope(self) -> str:
        return f"{self.exchange_api}/.default"

    @property
    def graph_scope(self) -> str:
        return f"{self.graph}/.default"

    @property
    def graph_read_scopes(self) -> tuple[str, ...]:
        """Named delegated Graph scopes (not `.default` on a first-party client)."""
        return tuple(f"{self.graph}/{p}" for p in GRAPH_READ_PERMISSIONS)

    @property
    def graph_app_admin_scopes(self) -> tuple[str, ...]:
        return tuple(f"{self.graph}/{p}" for p in GRAPH_APP_ADMIN_PERMISSIONS)

    def admin_api_url(self, tenant_id: str) -> str:
        return f"{self.exchange_api}/adminapi/beta/{tenant_id}/InvokeCommand"

    def is_microsoft_mx(self, host: str) -> bool:
        host = host.strip().rstrip(".").lower()
        return any(host.endswith("." + suffix) for suffix in self.mx_suffixes)

    def relay_target(self, mx_host: str) -> Endpoint:
        """Where a device doing direct send or connector relay must connect."""
        if self.relay_endpoint is not None:
            return self.relay_endpoint
        return Endpoint(mx_host, RELAY_PORT)


_WORLDWIDE = Cloud(
    id=CloudId.WORLDWIDE,
    name=tr("Microsoft 365 (worldwide)"),
    authority_host="https://login.microsoftonline.com",
    exchange_api="https://outlook.office365.com",
    graph="https://graph.microsoft.com",
    smtp=Endpoint("smtp.office365.com", SUBMISSION_PORT),
    legacy_tls_smtp=Endpoint("smtp-legacy.office365.com", SUBMISSION_PORT),
    hve_smtp=Endpoint("smtp.hve.mx.microsoft", SUBMISSION_PORT),
    mx_suffixes=("mail.protection.outlook.com", "mx.microsoft"),
    smtp_oauth_scope="https://outlook.office.com/SMTP.Send",
)

CLOUDS: dict[CloudId, Cloud] = {
    CloudId.WORLDWIDE: _WORLDWIDE,
    # GCC (moderate) shares the worldwide hosts but is not offered the legacy TLS
    # endpoint, which changes the advice for TLS 1.0/1.1 devices.
    CloudId.GCC: replace(
        _WORLDWIDE,
        id=CloudId.GCC,
        name=tr("Microsoft 365 GCC (US government, moderate)"),
        legacy_tls_smtp=None,
    ),
    CloudId.GCC_HIGH: Cloud(
        id=CloudId.GCC_HIGH,
        name=tr("Microsoft 365 GCC High (US government)"),
        authority_host="https://login.microsoftonline.us",
        exchange_api="https://outlook.office365.us",
        graph="https://graph.microsoft.us",
        smtp=Endpoint("smtp.office365.us", SUBMISSION_PORT),
        legacy_tls_smtp=None,
        hve_smtp=None,
        # US Government MX hosts may also be under usgovcloud-mx.microsoft (the
        # mx.microsoft rollout, MC1048624; public GCC High zones).
        mx_suffixes=("mail.protection.office365.us", "usgovcloud-mx.microsoft"),
        smtp_oauth_scope="https://outlook.office365.us/SMTP.Send",
    ),
    CloudId.DOD: Cloud(
        id=CloudId.DOD,
        name=tr("Microsoft 365 DoD (US Department of Defense)"),
        authority_host="https://login.microsoftonline.us",
        exchange_api="https://outlook-dod.office365.us",
        graph="https://dod-graph.microsoft.us",
        # DoD submission is its own host (Microsoft's "Office 365 U.S. Government DoD
        # endpoints" list; EmailEngine's DoD preset), not GCC High's smtp.office365.us.
        smtp=Endpoint("outlook-dod.office365.us", SUBMISSION_PORT),
        legacy_tls_smtp=None,
        hve_smtp=None,
        # DoD MX hosts: office365.us, usgovcloud-mx.microsoft or protection.apps.mil.
        mx_suffixes=(
            "mail.protection.office365.us",
            "usgovcloud-mx.microsoft",
            "protection.apps.mil",
        ),
        smtp_oauth_scope="https://outlook-dod.office365.us/SMTP.Send",
    ),
    CloudId.CHINA: Cloud(
        id=CloudId.CHINA,
        name=tr("Microsoft 365 operated by 21Vianet (China)"),
        # login.chinacloudapi.cn is deprecated in MSAL (AzureChina authority constant
        # now login.partner.microsoftonline.cn; Microsoft Learn "National clouds").
        authority_host="https://login.partner.microsoftonline.cn",
        exchange_api="https://partner.outlook.cn",
        graph="https://microsoftgraph.chinacloudapi.cn",
        smtp=Endpoint("smtp.partner.outlook.cn", SUBMISSION_PORT),
        legacy_tls_smtp=None,
        hve_smtp=None,
        mx_suffixes=("mail.protection.partner.outlook.cn",),
        smtp_oauth_scope="https://partner.outlook.cn/SMTP.Send",
    ),
}

# Clouds a user can pick on the Welcome page (the sandbox comes from --demo).
SELECTABLE_CLOUDS: tuple[CloudId, ...] = (
    CloudId.WORLDWIDE,
    CloudId.GCC,
    CloudId.GCC_HIGH,
    CloudId.DOD,
    CloudId.CHINA,
)


def sandbox_cloud(
    *,
    identity: str,
    admin_api: str,
    graph: str,
    smtp: Endpoint,
    relay: Endpoint,
    dns: Endpoint,
    ca_bundle: str,
    tenant_id: str,
    hve: Endpoint | None = None,
    legacy_tls: Endpoint | None = None,
    mailbox_test_client: str | None = None,
) -> Cloud:
    """The Sandbox cloud: worldwide behaviour, every endpoint on loopback.

    MX names and scopes stay the worldwide ones so DNS advice reads as it would for a
    real tenant; only the addresses the wizard connects to differ. `mailbox_test_client`
    is the app registration the sandbox tenant has for the mailbox test (as an MSP
    would have registered one), so the demo's OAuth test works out of the box.
    """
    return replace(
        _WORLDWIDE,
        apps=CloudApps(mailbox_test=mailbox_test_client),
        id=CloudId.SANDBOX,
        name=tr("Sandbox tenant (on this computer)"),
        authority_host=identity.rstrip("/"),
        exchange_api=admin_api.rstrip("/"),
        graph=graph.rstrip("/"),
        smtp=smtp,
        legacy_tls_smtp=legacy_tls,
        hve_smtp=hve or smtp,
        relay_endpoint=relay,
        dns_server=dns,
        ca_bundle=ca_bundle,
        default_tenant=tenant_id,
        device_values_from=CloudId.WORLDWIDE,
    )


def device_facing(cloud: Cloud) -> Cloud:
    """The cloud whose endpoints a device is told to use (see `device_values_from`)."""
    if cloud.device_values_from is None:
        return cloud
    return CLOUDS[cloud.device_values_from]


def cloud_by_id(value: str) -> Cloud | None:
    try:
        return CLOUDS.get(CloudId(value))
    except ValueError:
        return None
