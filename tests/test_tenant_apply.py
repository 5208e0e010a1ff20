"""Tenant check, plan and apply against the sandbox tenant, end to end through HTTP."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date

import pytest

from tests.m365_helpers import (
    ADMIN,
    SCANNER,
    RecordingWait,
    changing_calls,
    clients,
    profile,
    sign_in,
)
from wizard.core.advisor import Variant
from wizard.core.methods import Method, Tri
from wizard.core.plan import ChangeStatus, Plan, Resolution, build_plan, connector_name
from wizard.core.profile import SiteProfile
from wizard.core.secret_names import password_purpose
from wizard.core.tenant import MxSource, TenantSnapshot
from wizard.core.tenant_findings import Severity, analyse
from wizard.sandbox.server import Sandbox
from wizard.sandbox.tenant import DEMO_DOMAIN, DEMO_SITE_IP, HttpFault, InboundConnector
from wizard.services.apply import (
    Outcome,
    apply_plan,
    keyring_secrets,
    new_password,
)
from wizard.services.cancel import CancelFlag, Cancelled
from wizard.services.exchange_admin import ExchangeAdmin
from wizard.services.graph import Graph
from wizard.services.http import RetryPolicy
from wizard.services.secrets import SecretStore
from wizard.services.tenant_check import check_site, read_identity

TODAY = date(2026, 11, 27)
NAME = connector_name("Main office")


class Session:
    """A signed-in admin with clients, as the wizard's pages hold them."""

    def __init__(self, sandbox: Sandbox, *, via_msal: bool = False) -> None:
        self.sandbox = sandbox
        # The sandbox serves no legacy-TLS endpoint of its own; worldwide has one
        # (M365-FACTS), so the plan is built for a cloud that offers it.
        self.cloud = replace(sandbox.cloud, legacy_tls_smtp=sandbox.cloud.smtp)
        if via_msal:
            signin, account = sign_in(sandbox)
            self.admin, self.graph = clients(sandbox, signin, account)
            return
        # Tokens as the identity provider issues them, without a browser round trip;
        # the sign-in itself is covered by test_signin and the MSAL-based tests here.
        cloud = sandbox.cloud
        exchange = sandbox.issue_token(ADMIN, [cloud.exchange_scope])
        graph = sandbox.issue_token(ADMIN, [cloud.graph_scope])
        retry = RetryPolicy(server_error_backoff=0.01)
        self.admin = ExchangeAdmin(
            cloud,
            sandbox.state.tenant_id,
            ADMIN,
            lambda force_refresh=False: exchange,
            retry=retry,
        )
        self.graph = Graph(cloud, lambda force_refresh=False: graph, retry=retry)

    def check(self, site: SiteProfile, method: Method) -> TenantSnapshot:
        return check_site(self.admin, self.graph, self.cloud, site, method)

    def plan(
        self,
        site: SiteProfile,
        method: Method,
        variant: Variant = Variant.STANDARD,
        resolutions: dict[str, Resolution] | None = None,
    ) -> Plan:
        snapshot = self.check(site, method)
        return build_plan(site, method, variant, snapshot, self.cloud, resolutions)

    def recheck(
        self,
        site: SiteProfile,
        method: Method,
        variant: Variant = Variant.STANDARD,
        resolutions: dict[str, Resolution] | None = None,
    ) -> Callable[[], Plan]:
        return lambda: self.plan(site, method, variant, resolutions)


@pytest.fixture
def session(sandbox: Sandbox) -> Session:
    return Session(sandbox)


@pytest.fixture
def msal_session(sandbox: Sandbox) -> Session:
    return Session(sandbox, via_msal=True)


def test_identity_for_the_sign_in_page(msal_session: Session) -> None:
    session = msal_session
    identity = read_identity(session.admin, session.graph)
    assert identity.display_name == "Contoso (demo)"
    assert identity.default_domain == DEMO_DOMAIN
    assert identity.owns("Contoso.Example")
    assert not identity.owns("fabrikam.example")


def test_check_reads_the_demo_tenant(session: Session) -> None:
    snap = session.check(profile(Method.SMTP_AUTH_OAUTH), Method.SMTP_AUTH_OAUTH)
    assert snap.display_name == "Contoso (demo)"
    assert snap.default_domain == DEMO_DOMAIN and snap.is_accepted(DEMO_DOMAIN)
    assert snap.smtp_auth_disabled is True
    assert snap.allow_legacy_tls_clients is False and snap.reject_direct_send is False
    assert snap.mx is not None and snap.mx.source is MxSource.GRAPH
    assert snap.mx.host == "contoso-example01b.mail.protection.outlook.com"
    box = snap.mailbox(SCANNER)
    assert box is not None and box.exists and box.smtp_auth_disabled is None
    assert snap.effective_smtp_auth_disabled(SCANNER) is True
    assert snap.dkim_for(DEMO_DOMAIN) is not None
    assert snap.connectors == ()
    assert snap.unreadable == ()


def test_check_on_other_tenant_states(session: Session) -> None:
    state = session.sandbox.state
    with state.lock:
        state.smtp_client_auth_disabled = False
        state.reject_direct_send = True
        state.allow_legacy_tls_clients = True
        state.connectors.append(
            InboundConnector(
                "Old copier relay",
                sender_domains=["smtp:*;1"],
                sender_ip_addresses=["203.0.113.0/24"],
                restrict_domains_to_ip_addresses=False,
            )
        )
        scanner = state.mailbox(SCANNER)
        assert scanner is not None
        scanner.smtp_client_auth_disabled = True
    site = profile(Method.DIRECT_SEND)
    snap = session.check(site, Method.SMTP_AUTH)
    assert snap.smtp_auth_disabled is False
    assert snap.reject_direct_send is True and snap.allow_legacy_tls_clients is True
    assert snap.mailbox(SCANNER).smtp_auth_disabled is True  # type: ignore[union-attr]
    assert snap.effective_smtp_auth_disabled(SCANNER) is True
    (connector,) = snap.connectors
    assert connector.covers(DEMO_SITE_IP) and connector.address_count() == 256
    findings = {
        f.id: f
        for f in analyse(
            snap, site, Method.DIRECT_SEND, Variant.STANDARD, session.sandbox.cloud, TODAY
        )
    }
    assert findings["reject-direct-send"].severity is Severity.WARNING
    assert findings["connector:Old copier relay"].severity is Severity.WARNING
    assert "256 addresses" in findings["connector:Old copier relay"].detail


def test_missing_mailbox_and_graph_failure_stay_explained(session: Session) -> None:
    session.sandbox.state.http_faults.append(HttpFault(403, match="serviceConfigurationRecords"))
    site = profile(Method.SMTP_AUTH, sender=f"nobody@{DEMO_DOMAIN}")
    snap = session.check(site, Method.SMTP_AUTH)
    assert snap.mailbox(f"nobody@{DEMO_DOMAIN}") is not None
    assert snap.mailbox(f"nobody@{DEMO_DOMAIN}").exists is False  # type: ignore[union-attr]
    # Without Graph no MX host is made up from the domain name (the live MX is used
    # for the device instead, see core.relay_host).
    assert snap.mx is None


def test_check_can_be_cancelled(session: Session) -> None:
    flag = CancelFlag()
    flag.cancel()
    with pytest.raises(Cancelled):
        check_site(
            session.admin,
            session.graph,
            session.sandbox.cloud,
            profile(Method.CONNECTOR),
            Method.CONNECTOR,
            cancel=flag,
        )


# --- apply, per method, then again -------------------------------------------------------


def _apply_twice(session: Session, site: SiteProfile, method: Method, **kw: object) -> None:
    plan = session.plan(site, method)
    assert plan.can_apply, (plan.blockers, plan.changes)
    before = len(changing_calls(session.sandbox))
    result = apply_plan(plan, session.admin, recheck=session.recheck(site, method), **kw)  # type: ignore[arg-type]
    assert result.complete, result.summary()
    assert result.verified is not None and result.verified.nothing_to_change
    assert len(changing_calls(session.sandbox)) - before == len(plan.to_apply)
    # The second run finds everything done and changes nothing.
    again = session.plan(site, method)
    assert again.nothing_to_change
    second = apply_plan(again, session.admin, recheck=session.recheck(site, method))
    assert second.nothing_to_change
    assert "Nothing to change" in second.summary()
    assert len(changing_calls(session.sandbox)) - before == len(plan.to_apply)


def test_apply_connector_relay(msal_session: Session) -> None:
    session = msal_session
    site = profile(Method.CONNECTOR)
    _apply_twice(session, site, Method.CONNECTOR)
    state = session.sandbox.state
    (connector,) = state.connectors
    assert connector.name == NAME
    assert connector.sender_ip_addresses == [DEMO_SITE_IP]
    # Partner-only switches are not sent to an OnPremises connector.
    assert connector.restrict_domains_to_ip_addresses is False
    assert connector.require_tls is False and connector.enabled
    assert connector.connector_type == "OnPremises"
    # Nothing else in the tenant changed.
    assert state.smtp_client_auth_disabled is True
    assert all(m.smtp_client_auth_disabled is None for m in state.mailboxes)
    assert [c for c, _ in changing_calls(session.sandbox)] == ["New-InboundConnector"]


def test_apply_smtp_auth_enables_the_one_mailbox_only(msal_session: Session) -> None:
    session = msal_session
    site = profile(Method.SMTP_AUTH_OAUTH)
    _apply_twice(session, site, Method.SMTP_AUTH_OAUTH)
    state = session.sandbox.state
    assert state.mailbox(SCANNER).smtp_client_auth_disabled is False  # type: ignore[union-attr]
    others = [m for m in state.mailboxes if m.address != SCANNER]
    assert all(m.smtp_client_auth_disabled is None for m in others)
    assert state.smtp_client_auth_disabled is True  # the tenant stays off
    assert state.connectors == []
    assert changing_calls(session.sandbox) == [
        ("Set-CASMailbox", {"Identity": SCANNER, "SmtpClientAuthenticationDisabled": False})
    ]


def test_apply_legacy_tls_for_smtp_auth(session: Session) -> None:
    site = profile(Method.SMTP_AUTH, tls12=Tri.NO)
    plan = session.plan(site, Method.SMTP_AUTH, Variant.LEGACY_TLS)
    result = apply_plan(
        plan, session.admin, recheck=session.recheck(site, Method.SMTP_AUTH, Variant.LEGACY_TLS)
    )
    assert result.complete, result.summary()
    assert session.sandbox.state.allow_legacy_tls_clients is True


def test_direct_send_with_reject_direct_send_creates_the_connector(session: Session) -> None:
    session.sandbox.state.reject_direct_send = True
    site = profile(Method.DIRECT_SEND)
    _apply_twice(session, site, Method.DIRECT_SEND)
    (connector,) = session.sandbox.state.connectors
    assert connector.sender_ip_addresses == [DEMO_SITE_IP]


def test_direct_send_needs_nothing(session: Session) -> None:
    site = profile(Method.DIRECT_SEND)
    plan = session.plan(site, Method.DIRECT_SEND)
    assert plan.nothing_to_change and not plan.changes
    result = apply_plan(plan, session.admin)
    assert result.nothing_to_change and changing_calls(session.sandbox) == []


def test_apply_hve_creates_the_account_with_a_kept_password(
    session: Session, memory_keyring: object
) -> None:
    site = profile(Method.HVE, sender=f"hve-scanner@{DEMO_DOMAIN}")
    store = SecretStore()
    _apply_twice(session, site, Method.HVE, secrets=keyring_secrets(store, "Main office"))
    address = f"hve-scanner@{DEMO_DOMAIN}"
    account = session.sandbox.state.mailbox(address)
    assert account is not None and account.hve_account and not account.licensed
    password = store.get("Main office", password_purpose(address))
    assert password and session.sandbox.state.account(address).password == password  # type: ignore[union-attr]
    (call,) = [p for c, p in changing_calls(session.sandbox) if c == "New-MailUser"]
    assert call["HVEAccount"] is True and call["PrimarySmtpAddress"] == address


# --- conflicts and failures -------------------------------------------------------------


def test_connector_with_our_name_and_a_wider_range_is_reported_not_overwritten(
    session: Session,
) -> None:
    with session.sandbox.state.lock:
        session.sandbox.state.connectors.append(
            InboundConnector(
                NAME,
                sender_domains=[DEMO_DOMAIN],
                sender_ip_addresses=["203.0.113.0/24"],
                restrict_domains_to_ip_addresses=True,
                require_tls=True,
            )
        )
    site = profile(Method.CONNECTOR)
    plan = session.plan(site, Method.CONNECTOR)
    change = plan.change("connector")
    assert change is not None and change.status is ChangeStatus.CONFLICT
    assert "256 addresses" in change.detail
    assert not plan.can_apply
    with pytest.raises(Exception) as caught:
        apply_plan(plan, session.admin)
    assert "Choose what to do" in str(caught.value)
    assert changing_calls(session.sandbox) == []
    assert session.sandbox.state.connectors[0].sender_ip_addresses == ["203.0.113.0/24"]
    # With the explicit choice, the connector is narrowed to the site's address.
    choice = {"connector": Resolution.UPDATE_EXISTING}
    plan = session.plan(site, Method.CONNECTOR, resolutions=choice)
    result = apply_plan(
        plan, session.admin, recheck=session.recheck(site, Method.CONNECTOR, resolutions=choice)
    )
    assert result.complete, result.summary()
    assert session.sandbox.state.connectors[0].sender_ip_addresses == [DEMO_SITE_IP]
    assert [c for c, _ in changing_calls(session.sandbox)] == ["Set-InboundConnector"]


def test_another_connector_covering_the_site_wider_is_reported(session: Session) -> None:
    with session.sandbox.state.lock:
        session.sandbox.state.connectors.append(
            InboundConnector(
                "Copier relay", sender_domains=["*"], sender_ip_addresses=["203.0.113.0/24"]
            )
        )
    site = profile(Method.CONNECTOR)
    plan = session.plan(site, Method.CONNECTOR)
    change = plan.change("connector")
    assert change is not None and change.status is ChangeStatus.CONFLICT
    assert "'Copier relay'" in change.detail
    keep = {"connector": Resolution.KEEP_EXISTING}
    plan = session.plan(site, Method.CONNECTOR, resolutions=keep)
    result = apply_plan(plan, session.admin)
    assert result.nothing_to_change
    assert changing_calls(session.sandbox) == []


def test_injected_429_during_apply_is_waited_out(session: Session) -> None:
    session.sandbox.state.http_faults.append(
        HttpFault(429, retry_after=3, match="New-InboundConnector")
    )
    site = profile(Method.CONNECTOR)
    waits = RecordingWait()
    plan = session.plan(site, Method.CONNECTOR)
    result = apply_plan(
        plan, session.admin, recheck=session.recheck(site, Method.CONNECTOR), cancel=waits
    )
    assert result.complete
    assert waits.waits == [3.0]
    assert len(session.sandbox.state.connectors) == 1


def test_failure_part_way_stops_reports_and_retry_does_the_rest(session: Session) -> None:
    state = session.sandbox.state
    site = profile(Method.SMTP_AUTH, tls12=Tri.NO)
    variant = Variant.LEGACY_TLS
    plan = session.plan(site, Method.SMTP_AUTH, variant)
    assert [c.id for c in plan.to_apply] == [f"mailbox-smtp-auth:{SCANNER}", "legacy-tls"]
    state.http_faults.append(HttpFault(500, match="Set-TransportConfig"))
    progress: list[tuple[str, Outcome]] = []
    result = apply_plan(
        plan,
        session.admin,
        recheck=session.recheck(site, Method.SMTP_AUTH, variant),
        progress=lambda r: progress.append((r.change_id, r.outcome)),
    )
    assert not result.complete
    assert [r.change_id for r in result.applied] == [f"mailbox-smtp-auth:{SCANNER}"]
    assert result.failed is not None and result.failed.change_id == "legacy-tls"
    assert result.failed.error is not None and result.failed.error.retryable
    assert "failed" in result.summary()
    assert progress == [
        (f"mailbox-smtp-auth:{SCANNER}", Outcome.RUNNING),
        (f"mailbox-smtp-auth:{SCANNER}", Outcome.APPLIED),
        ("legacy-tls", Outcome.RUNNING),
        ("legacy-tls", Outcome.FAILED),
    ]
    assert state.mailbox(SCANNER).smtp_client_auth_disabled is False  # type: ignore[union-attr]
    assert state.allow_legacy_tls_clients is False
    # Retry: the fresh plan has only the rest.
    assert result.verified is not None
    assert [c.id for c in result.verified.to_apply] == ["legacy-tls"]
    retry = apply_plan(
        result.verified, session.admin, recheck=session.recheck(site, Method.SMTP_AUTH, variant)
    )
    assert retry.complete and [r.change_id for r in retry.applied] == ["legacy-tls"]
    assert state.allow_legacy_tls_clients is True


def test_not_run_changes_after_a_failure(session: Session) -> None:
    state = session.sandbox.state
    site = profile(Method.SMTP_AUTH, tls12=Tri.NO)
    plan = session.plan(site, Method.SMTP_AUTH, Variant.LEGACY_TLS)
    state.http_faults.append(HttpFault(503, match="Set-CASMailbox"))
    result = apply_plan(plan, session.admin)
    assert result.failed is not None and result.failed.change_id.startswith("mailbox")
    assert [r.change_id for r in result.not_run] == ["legacy-tls"]
    assert state.allow_legacy_tls_clients is False


def test_admin_account_is_the_anchor(msal_session: Session) -> None:
    session = msal_session
    assert isinstance(session.admin, ExchangeAdmin) and session.admin.anchor_upn == ADMIN
    assert isinstance(session.graph, Graph)


def test_new_passwords_are_strong() -> None:
    for _ in range(20):
        password = new_password()
        assert len(password) == 24
        assert any(c.islower() for c in password) and any(c.isupper() for c in password)
        assert any(c.isdigit() for c in password)
        assert any(not c.isalnum() for c in password)
