"""What the pages share: the cloud, the site profile, what is known of the tenant.

One `WizardSession` per wizard window. Pages read it and change it only through its
methods, which emit the matching signal, so every page that shows a value stays in
step. The profile is immutable: a change replaces it and emits `profileChanged`.

Later pages keep their results here too (sign-in, tenant check, DNS, test message):
add a typed optional attribute, a setter and a `...Changed` signal next to
`tenant_facts`, and clear it in `start_new()`.

Every result that arrives through a setter is also written once into the session
journal (wizard/core/journal.py), with its time: the Summary, the setup report, the
sheets and the profile's saved history read it from there (`journal`, `history`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from wizard.core.advisor import Advice, TenantFacts, Variant, advise
from wizard.core.clouds import Cloud, device_facing
from wizard.core.device_settings import LocalRelayAccess
from wizard.core.dns.model import DnsReport
from wizard.core.i18n import tr
from wizard.core.journal import (
    ChangeOutcome,
    EntryKind,
    EntryOutcome,
    Journal,
    JournalEntry,
    change_made,
    dns_checked,
    exported,
    tenant_read,
    test_sent,
    trace_followed,
)
from wizard.core.journal import (
    signed_in as signed_in_entry,
)
from wizard.core.methods import Method, Tri
from wizard.core.profile import Printer, Site, SiteProfile
from wizard.core.relay import RelayConfig
from wizard.core.relay_access import relay_access_map
from wizard.core.relay_host import RelayHost, RelayHostSource, decide_relay_host
from wizard.core.steps import WizardStep
from wizard.core.tenant import MxSource, TenantSnapshot
from wizard.core.transcript import SmtpTestResult
from wizard.ui.tasks import TaskRunner

if TYPE_CHECKING:
    # Only named in annotations: importing them pulls in msal and requests, which the
    # first page does not need before the window is on screen.
    from wizard.services.apply import ApplyResult
    from wizard.services.exchange_admin import ExchangeAdmin
    from wizard.services.graph import Graph
    from wizard.services.message_trace import TraceResult
    from wizard.services.secrets import SecretStore
    from wizard.services.signin import SignedIn, SignIn
    from wizard.services.tenant_check import TenantIdentity
    from wizard.ui.practice_dialog import PracticeControls

log = logging.getLogger(__name__)


class WizardSession(QObject):
    profileChanged = Signal(object)  # SiteProfile
    cloudChanged = Signal(object)  # Cloud
    profilePathChanged = Signal(object)  # Path | None
    tenantFactsChanged = Signal(object)  # TenantFacts
    dnsReportChanged = Signal(object)  # DnsReport | None
    unsavedChanged = Signal(bool)
    signedInChanged = Signal(object)  # SignedIn | None
    tenantSnapshotChanged = Signal(object)  # TenantSnapshot | None
    applyResultChanged = Signal(object)  # ApplyResult | None
    testResultChanged = Signal(object)  # SmtpTestResult | None
    traceResultChanged = Signal(object)  # TraceResult | None
    relayHostChanged = Signal(object)  # RelayHost | None, for the site's domain
    journalChanged = Signal(object)  # Journal
    # A test or a probe contradicts what was read from the tenant (the reason, in words).
    tenantStale = Signal(str)
    localRelayChanged = Signal(object)  # RelayConfig | None (method local-relay)

    def __init__(
        self,
        cloud: Cloud,
        profile: SiteProfile | None = None,
        *,
        profile_path: Path | None = None,
        clock: Callable[[], date] = date.today,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        secrets: SecretStore | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._cloud = cloud
        # The one way to the OS keyring for every page (made when first used: the
        # keyring's import is not needed before the window shows).
        self._secrets = secrets
        start = profile or SiteProfile()
        self._profile = replace(start, site=replace(start.site, cloud=cloud.id))
        # What the profile looked like when it was last loaded, saved or started:
        # "unsaved changes" means the profile differs from it.
        self._baseline = self._profile
        self._profile_path = profile_path
        self._clock = clock
        self._now = now
        # This window's record of what was read, changed, checked and sent.
        self._journal = Journal()
        # Which device the test page is testing (the journal names it with its test).
        self._test_device = ""
        # Set by the launcher in --demo: lets the user plant faults in the sandbox.
        self.practice: PracticeControls | None = None
        self._tenant_facts = TenantFacts()
        self._advice: Advice | None = None
        self._test_result: SmtpTestResult | None = None
        self._trace_result: TraceResult | None = None
        self._sign_in: SignIn | None = None
        self._tenant_identity: TenantIdentity | None = None
        self._tenant_snapshot: TenantSnapshot | None = None
        self._tenant_stale = ""
        self._apply_result: ApplyResult | None = None
        self._tenant_skipped = False
        self._dns_report: DnsReport | None = None
        # The device-facing relay host per domain (casefolded), and the lookups under way.
        self._relay_hosts: dict[str, RelayHost] = {}
        self._relay_lookups: set[str] = set()
        # The local relay set up on the Relay step: its config, file and certificate.
        self._local_relay: RelayConfig | None = None
        self._local_relay_path: Path | None = None
        self._local_relay_fingerprint: str | None = None
        # The one runner for every page's blocking work; shut down with the window.
        self.tasks = TaskRunner(self)

    # The cloud ----------------------------------------------------------------

    @property
    def cloud(self) -> Cloud:
        return self._cloud

    def set_cloud(self, cloud: Cloud) -> None:
        if cloud == self._cloud:
            return
        self._cloud = cloud
        self._advice = None
        # Tokens of one cloud are worthless in another.
        if self._sign_in is not None:
            self._sign_in.sign_out()
            self._sign_in = None
            self.signed_in_changed()
        self._relay_hosts.clear()
        self.cloudChanged.emit(cloud)
        self.relayHostChanged.emit(None)
        self.update_site(cloud=cloud.id)

    # The site profile -----------------------------------------------------------

    @property
    def profile(self) -> SiteProfile:
        return self._profile

    @property
    def profile_path(self) -> Path | None:
        """The file the profile was loaded from or last saved to."""
        return self._profile_path

    @property
    def has_unsaved_changes(self) -> bool:
        return self._profile != self._baseline

    def set_profile(self, profile: SiteProfile) -> None:
        if profile == self._profile:
            return
        was_unsaved = self.has_unsaved_changes
        self._profile = profile
        self._advice = None
        self.profileChanged.emit(profile)
        if was_unsaved != self.has_unsaved_changes:
            self.unsavedChanged.emit(self.has_unsaved_changes)

    def update_site(self, **changes: Any) -> None:
        site: Site = replace(self._profile.site, **changes)
        self.set_profile(replace(self._profile, site=site))

    def set_method(self, method: Method | None) -> None:
        self.set_profile(replace(self._profile, method=method))

    def put_printer(self, printer: Printer, replacing: str | None = None) -> None:
        self.set_profile(self._profile.with_printer(printer, replacing))

    def remove_printer(self, name: str) -> None:
        self.set_profile(self._profile.without_printer(name))

    def adopt(self, profile: SiteProfile, path: Path | None) -> None:
        """Take over a profile that was just opened; nothing in it is unsaved."""
        profile = replace(profile, site=replace(profile.site, cloud=self._cloud.id))
        self._baseline = profile
        self.set_profile(profile)
        self._set_path(path)
        self.unsavedChanged.emit(False)

    def mark_saved(self, path: Path, saved: SiteProfile | None = None) -> None:
        """`saved` is the profile as written (it may have changed since)."""
        self._baseline = saved if saved is not None else self._profile
        if saved is not None and saved.history != self._profile.history:
            # The history went into the file: it is part of the profile from now on.
            self._profile = replace(self._profile, history=saved.history)
        self._set_path(path)
        self.unsavedChanged.emit(self.has_unsaved_changes)

    def start_new(self) -> None:
        """Forget the opened profile and everything learned about its tenant."""
        blank = SiteProfile(site=Site(cloud=self._cloud.id))
        self._baseline = blank
        self.set_profile(blank)
        self._set_path(None)
        self.set_tenant_facts(TenantFacts())
        self.set_tenant_snapshot(None)
        self.set_test_result(None)
        self.set_dns_report(None)
        self._journal = Journal()
        self.journalChanged.emit(self._journal)
        self._relay_hosts.clear()
        self.relayHostChanged.emit(None)
        self.unsavedChanged.emit(False)

    def _set_path(self, path: Path | None) -> None:
        if path != self._profile_path:
            self._profile_path = path
            self.profilePathChanged.emit(path)

    # The tenant (filled in by the tenant check) --------------------------------

    @property
    def tenant_facts(self) -> TenantFacts:
        return self._tenant_facts

    def set_tenant_facts(self, facts: TenantFacts) -> None:
        if facts == self._tenant_facts:
            return
        self._tenant_facts = facts
        self._advice = None
        self.tenantFactsChanged.emit(facts)

    # The DNS check (filled in by the DNS page) -------------------------------------

    @property
    def dns_report(self) -> DnsReport | None:
        """The last complete DNS check of the site's domain, for the report and sheets."""
        return self._dns_report

    def set_dns_report(self, report: DnsReport | None) -> None:
        if report is self._dns_report:
            return
        self._dns_report = report
        if report is not None and not report.cancelled and report.checks:
            self.record(dns_checked(report, self._now()))
        self.dnsReportChanged.emit(report)

    # Signing in (the Sign-in page; the Test message page signs in a mailbox) --

    @property
    def sign_in(self) -> SignIn:
        """The one sign-in of this window for the current cloud (tokens in memory)."""
        if self._sign_in is None:
            from wizard.services.signin import SignIn

            self._sign_in = SignIn(self._cloud)
        return self._sign_in

    def set_sign_in(self, sign_in: SignIn) -> None:
        """Use this sign-in (e.g. one with its own app settings or browser opener)."""
        if self._sign_in is not None and self._sign_in is not sign_in:
            self._sign_in.sign_out()
        self._sign_in = sign_in

    @property
    def signed_in(self) -> SignedIn | None:
        """The signed-in admin, if any (without creating a sign-in)."""
        return self._sign_in.account if self._sign_in is not None else None

    def signed_in_changed(self) -> None:
        """Call after signing in or out: what was read with another account is dropped."""
        account = self.signed_in
        self._tenant_identity = None
        self.set_tenant_snapshot(None)
        if account is not None:
            self._tenant_skipped = False
            self.record(signed_in_entry(account.upn, account.tenant_id, self._now()))
        self.signedInChanged.emit(account)

    def tenant_clients(self) -> tuple[ExchangeAdmin, Graph]:
        """The Exchange admin API and Graph clients of the signed-in admin (raises
        NeedsSignIn when nobody is signed in)."""
        from wizard.services.exchange_admin import ExchangeAdmin
        from wizard.services.graph import Graph
        from wizard.services.signin import NeedsSignIn

        account = self.signed_in
        if account is None:
            raise NeedsSignIn(tr("You are not signed in."), "", tr("Sign in on the Sign in step."))
        sign_in = self.sign_in
        admin = ExchangeAdmin.for_sign_in(self._cloud, sign_in, account)
        return admin, Graph(self._cloud, sign_in.graph_token)

    # The tenant check and its changes (Sign in, Tenant check, Plan and apply) -----

    def chosen_variant(self) -> Variant:
        """The variant of the chosen method the advisor picked (e.g. IP or certificate
        connector), which the tenant check and the plan are built for."""
        method = self._profile.method
        if method is None:
            return Variant.STANDARD
        return self.advice.for_method(method).variant

    @property
    def tenant_identity(self) -> TenantIdentity | None:
        """The signed-in tenant's name and domains, read right after signing in."""
        return self._tenant_identity

    def set_tenant_identity(self, identity: TenantIdentity | None) -> None:
        self._tenant_identity = identity
        self.signedInChanged.emit(self.signed_in)

    @property
    def tenant_snapshot(self) -> TenantSnapshot | None:
        """What the tenant check read; the DNS page takes the MX and DKIM targets from it."""
        return self._tenant_snapshot

    def set_tenant_snapshot(self, snapshot: TenantSnapshot | None) -> None:
        if snapshot is self._tenant_snapshot:
            return
        self._tenant_snapshot = snapshot
        self._tenant_stale = ""
        self._apply_result = None
        if snapshot is not None and snapshot.mx is not None and snapshot.mx.host:
            if snapshot.mx.source is MxSource.GRAPH:
                # The tenant's own value (serviceConfigurationRecords) beats DNS.
                facing = device_facing(self._cloud)
                self.set_relay_host(
                    decide_relay_host(facing, snapshot.mx.domain, tenant_mx=snapshot.mx.host)
                )
        if snapshot is not None:
            self.record(tenant_read(snapshot, self._profile.site.domain.strip(), self._now()))
            # What the tenant check learned changes the advice (Security Defaults,
            # RejectDirectSend).
            self.set_tenant_facts(
                TenantFacts(
                    security_defaults=snapshot.security_defaults,
                    reject_direct_send=Tri.of(snapshot.reject_direct_send),
                )
            )
        self.tenantSnapshotChanged.emit(snapshot)
        self.applyResultChanged.emit(None)

    @property
    def tenant_stale(self) -> str:
        """Why what was read from the tenant no longer holds ("" while it does)."""
        return self._tenant_stale

    def contradicts_tenant(self, what: str) -> None:
        """A test or probe found the tenant other than the snapshot says (`what`, in
        plain words): pages that show tenant state say so and read it again."""
        snapshot = self._tenant_snapshot
        if snapshot is None:
            return
        read = snapshot.read_at.astimezone().strftime("%H:%M:%S") if snapshot.read_at else ""
        self._tenant_stale = (
            tr("{what} That does not match what was read from the tenant at {read}.").format(
                what=what, read=read
            )
            if read
            else what
        )
        log.info("Tenant state contradicted: %s", what)
        self.tenantStale.emit(self._tenant_stale)

    @property
    def apply_result(self) -> ApplyResult | None:
        """The last run of the change plan (what was made, what failed), for the report."""
        return self._apply_result

    def set_apply_result(self, result: ApplyResult | None) -> None:
        self._apply_result = result
        if result is not None:
            self._record_changes(result)
        self.applyResultChanged.emit(result)

    def _record_changes(self, result: ApplyResult) -> None:
        from wizard.services.apply import Outcome

        outcomes = {
            Outcome.APPLIED: ChangeOutcome.APPLIED,
            Outcome.ALREADY_DONE: ChangeOutcome.ALREADY_DONE,
            Outcome.FAILED: ChangeOutcome.FAILED,
            Outcome.SKIPPED: ChangeOutcome.SKIPPED,
        }
        at = self._now()
        for one in result.results:
            outcome = outcomes.get(one.outcome)
            if outcome is None:
                continue  # not run or blocked: nothing happened to record
            detail = one.error.what if one.error is not None else "; ".join(one.warnings)
            self.record(change_made(one.change, outcome, at, detail))

    @property
    def tenant_skipped(self) -> bool:
        """The user chose to go on without signing in: no tenant check, no changes."""
        return self._tenant_skipped and self.signed_in is None

    def set_tenant_skipped(self, skipped: bool) -> None:
        self._tenant_skipped = skipped

    # The test message (filled in by the Test message page) ------------------------

    @property
    def test_result(self) -> SmtpTestResult | None:
        """The last test message, with its date (`started`), for the sheets and report."""
        return self._test_result

    @property
    def trace_result(self) -> TraceResult | None:
        """What the message trace said about `test_result`, when it was checked."""
        return self._trace_result

    def set_test_result(self, result: SmtpTestResult | None, *, device: str = "") -> None:
        """`device`: the printer the test was sent for (its sheet names the test)."""
        self._test_result = result
        self._trace_result = None
        self._test_device = device
        if result is not None:
            self.record(test_sent(result, device))
            if not result.sent and result.verdict.step in (WizardStep.PLAN, WizardStep.TENANT):
                # Refused for a tenant setting: what was read (or applied) does not hold.
                self.contradicts_tenant(
                    tr("The test message {token} was refused: {title}.").format(
                        token=result.token, title=result.verdict.title
                    )
                )
        self.testResultChanged.emit(result)
        self.traceResultChanged.emit(None)

    def set_trace_result(self, trace: TraceResult | None) -> None:
        self._trace_result = trace
        test = self._test_result
        if trace is not None and test is not None:
            self.record(self._trace_entry(trace, test))
        self.traceResultChanged.emit(trace)

    def _trace_entry(self, trace: TraceResult, test: SmtpTestResult) -> JournalEntry:
        from wizard.services.message_trace import TraceState

        word, outcome = {
            TraceState.DELIVERED: (tr("delivered"), EntryOutcome.OK),
            TraceState.PENDING: (tr("accepted, delivery pending"), EntryOutcome.INFO),
            TraceState.FAILED: (tr("failed"), EntryOutcome.FAILED),
            TraceState.QUARANTINED: (tr("quarantined"), EntryOutcome.ATTENTION),
            TraceState.NOT_FOUND: (tr("accepted, not in the trace yet"), EntryOutcome.INFO),
            TraceState.UNAVAILABLE: (tr("accepted, trace not checked"), EntryOutcome.INFO),
            TraceState.CANCELLED: (tr("accepted, trace stopped"), EntryOutcome.INFO),
        }[trace.state]
        return trace_followed(
            test.token, word, outcome, trace.detail, self._now(), self._test_device
        )

    @property
    def secrets(self) -> SecretStore:
        """Where the session's passwords and tokens are kept: the OS keyring."""
        if self._secrets is None:
            from wizard.services.secrets import SecretStore

            self._secrets = SecretStore()
        return self._secrets

    # The journal ------------------------------------------------------------------

    @property
    def journal(self) -> Journal:
        """What this window read, changed, checked and sent, in order."""
        return self._journal

    def record(self, entry: JournalEntry) -> None:
        self._journal = self._journal.add(entry)
        log.info("Journal: %s (%s)", entry.title, entry.outcome)
        self.journalChanged.emit(self._journal)

    def record_export(self, kind: EntryKind, names: list[str], detail: str = "") -> None:
        self.record(exported(kind, names, self._now(), detail))

    @property
    def history(self) -> Journal:
        """The profile's history from earlier runs, then this window's journal."""
        return Journal(self._journal.merged_into(self._profile.history))

    def profile_for_saving(self) -> SiteProfile:
        """The profile as a file keeps it: with this window's journal in its history."""
        return replace(self._profile, history=self._journal.merged_into(self._profile.history))

    # The local relay (method local-relay; filled in by the Relay step) ----------------

    @property
    def local_relay(self) -> RelayConfig | None:
        return self._local_relay

    @property
    def local_relay_path(self) -> Path | None:
        """The relay's config file (what the service runs with)."""
        return self._local_relay_path

    @property
    def local_relay_fingerprint(self) -> str | None:
        """SHA-256 of the relay's own certificate, for the sheets."""
        return self._local_relay_fingerprint

    def set_local_relay(
        self,
        config: RelayConfig | None,
        path: Path | None = None,
        fingerprint: str | None = None,
    ) -> None:
        self._local_relay = config
        self._local_relay_path = path if config is not None else None
        self._local_relay_fingerprint = fingerprint if config is not None else None
        self.localRelayChanged.emit(config)

    def local_relay_access(self) -> dict[str, LocalRelayAccess]:
        """Printer name -> how it reaches the relay (the printers the relay knows)."""
        return relay_access_map(
            self._local_relay, self._profile.printers, self._local_relay_fingerprint
        )

    # The relay host (direct send and connector relay) ----------------------------

    def relay_host(self) -> RelayHost | None:
        """The decided relay host of the site's domain; None until looked up."""
        domain = self._profile.site.domain.strip()
        return self._relay_hosts.get(domain.casefold()) if domain else None

    @property
    def relay_host_pending(self) -> bool:
        """Whether the site domain's relay host is being looked up right now."""
        return self._profile.site.domain.strip().casefold() in self._relay_lookups

    def set_relay_host(self, host: RelayHost) -> None:
        if self._keep_relay_host(host):
            self.relayHostChanged.emit(self.relay_host())

    def _keep_relay_host(self, host: RelayHost) -> bool:
        """Store `host` unless it is known already; True if it changed."""
        key = host.domain.strip().casefold()
        old = self._relay_hosts.get(key)
        if old == host:
            return False
        if (
            old is not None
            and old.source is RelayHostSource.TENANT
            and host.source is not RelayHostSource.TENANT
        ):
            return False  # a DNS answer never overrides what the tenant said
        self._relay_hosts[key] = host
        return True

    def look_up_relay_host(self, *, again: bool = False) -> None:
        """Find the site domain's relay host (live MX, else a checked guess) off the UI
        thread, unless it is known already; `relayHostChanged` tells when it is."""
        domain = self._profile.site.domain.strip()
        key = domain.casefold()
        if not domain or key in self._relay_lookups:
            return
        known = self._relay_hosts.get(key)
        if known is not None and (not again or known.source is RelayHostSource.TENANT):
            return
        cloud = self._cloud
        self._relay_lookups.add(key)

        def work(_token: Any) -> RelayHost:
            from wizard.services.relay_host import find_relay_host

            return find_relay_host(cloud, domain)

        def done(result: RelayHost | None, error: BaseException | None) -> None:
            self._relay_lookups.discard(key)
            if cloud != self._cloud:
                return
            if result is None:
                # find_relay_host reports DNS trouble as "not found"; anything else
                # raised is the same for a device: no host to print.
                log.warning("Relay host lookup for %s failed: %s", domain, error)
                result = RelayHost(domain, "", RelayHostSource.GUESS, False)
            self._keep_relay_host(result)
            # Even when nothing changed: the lookup is over, so "looking up" ends.
            self.relayHostChanged.emit(self.relay_host())

        self.tasks.run(work, done, name="relay host")

    # Derived ---------------------------------------------------------------------

    def today(self) -> date:
        return self._clock()

    def now(self) -> datetime:
        """The time journal entries carry (timezone-aware)."""
        return self._now()

    @property
    def advice(self) -> Advice:
        """The advisor's ranking for the current profile, cloud, tenant and date."""
        today = self.today()
        if self._advice is None or self._advice.today != today:
            self._advice = advise(
                self._profile.capabilities,
                self._profile.site.needs,
                self._tenant_facts,
                self._cloud,
                today,
            )
        return self._advice
