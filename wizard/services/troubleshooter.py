"""The Troubleshoot path's probes: find why a device that used to send no longer does.

    troubleshooter = Troubleshooter(device, cloud, credentials=Credentials(password=pw),
                                    admin=admin, on_result=show, cancel=token)
    report = troubleshooter.run()      # on a worker thread; `show(finding)` per check

The checks run in the order a connection is made (core.troubleshoot.model.CHECK_ORDER) and
each one is reported as soon as it is known. What they rest on:

1. name lookup through the cloud's DNS server or this computer's resolvers;
2. TCP connections to port 25 (the domain's MX host) and 587 (submission) at once,
   with a short time limit; where the cloud serves them elsewhere (the sandbox), its
   own endpoints are used, so a filtered port shows as the same timeout;
3. STARTTLS, then one handshake per TLS version (1.3, 1.2, 1.1, 1.0), each verified
   against the cloud's CA or this computer's store; nothing is sent over them;
4. the certificate of the best handshake;
5. sign-in, sender and recipient through the test-message sender in `envelope_only`
   mode: the conversation stops before the message, so nothing is sent;
6-8. with an admin signed in: the inbound connectors against the office's public IP
   (detected through DNS now), the mail flow rules that touch the sender, and the
   sender's recent messages in the message trace. These reads start at once, beside
   the network checks.

Every failure becomes a finding in plain words; nothing here raises for a network
problem. `run()` raises only `Cancelled`.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
import time
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from wizard.core.clouds import Cloud, Endpoint, device_facing
from wizard.core.device_settings import AuthKind, device_settings
from wizard.core.dns.model import AnswerStatus
from wizard.core.errors import SignInError, WizardError
from wizard.core.findings import Finding
from wizard.core.i18n import tr
from wizard.core.mail_rules import RuleInfo, rule_effects
from wizard.core.smtp_codes import ConnectionFailure
from wizard.core.transcript import SmtpTestResult, Stage, Transcript
from wizard.core.troubleshoot.model import (
    MODERN_TLS,
    TLS_VERSIONS,
    CheckId,
    DeviceUnderTest,
    LookupStatus,
    NameLookup,
    PortProbe,
    PortRole,
    PublicIp,
    Reach,
    RecentMessage,
    TenantView,
    TlsAttempt,
    TlsOutcome,
    TlsProbe,
    TroubleshootReport,
    connect_target,
    is_address,
    not_checked,
    unreachable,
)
from wizard.core.troubleshoot.tenant_checks import check_connector, check_rules, check_trace
from wizard.core.troubleshoot.wire_checks import (
    check_auth,
    check_certificate,
    check_ports,
    check_resolution,
    check_tls,
)
from wizard.services.cancel import Cancellation, Cancelled
from wizard.services.dns.checks import dns_settings_for
from wizard.services.dns.client import DnsClient
from wizard.services.exchange_admin import ExchangeAdmin
from wizard.services.message_trace import recent_messages
from wizard.services.public_ip import detect_public_ip, providers_for
from wizard.services.relay_host import find_relay_host
from wizard.services.smtp_test import Credentials, SendTestRequest, SmtpTest
from wizard.services.smtp_wire import (
    Cancelled as WireCancelled,
)
from wizard.services.smtp_wire import (
    Recorder,
    RecordingSMTP,
    classify_failure,
    helo_name,
    open_connection,
    tls_context,
    tls_details,
)
from wizard.services.tenant_check import accepted_domain, as_bool, as_strings, as_text
from wizard.services.tenant_check import inbound_connector as parse_connector

log = logging.getLogger(__name__)

T = TypeVar("T")
ResultCallback = Callable[[Finding], None]

_VERSIONS: dict[str, ssl.TLSVersion] = {
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1": ssl.TLSVersion.TLSv1,
}
_CLIENT_HAS: dict[str, bool] = {
    "TLSv1.3": ssl.HAS_TLSv1_3,
    "TLSv1.2": ssl.HAS_TLSv1_2,
    "TLSv1.1": ssl.HAS_TLSv1_1,
    "TLSv1": ssl.HAS_TLSv1,
}
# OpenSSL's words for "I cannot offer that version at all" (a limit of this computer).
_CLIENT_LIMITS = frozenset({"NO_PROTOCOLS_AVAILABLE", "NO_CIPHERS_AVAILABLE"})


@dataclass(frozen=True)
class TroubleshootOptions:
    connect_timeout: float = 5.0  # each TCP connection; a filtered port costs this much
    smtp_timeout: float = 15.0  # each answer in an SMTP conversation
    dns_timeout: float = 3.0
    trace_hours: int = 48


# --- reading the tenant -----------------------------------------------------------------


_RULE_SENDER_KEYS = {
    "From": "from_addresses",
    "SenderDomainIs": "sender_domains",
    "SenderIpRanges": "sender_ip_ranges",
    "FromAddressContainsWords": "from_words",
    "ExceptIfFrom": "except_from",
    "ExceptIfSenderDomainIs": "except_sender_domains",
    "ExceptIfSenderIpRanges": "except_sender_ip_ranges",
    "ExceptIfFromAddressContainsWords": "except_from_words",
}
# Conditions that depend on something other than the sender (the wizard names them).
_RULE_OTHER_CONDITIONS = (
    "SentTo",
    "SentToMemberOf",
    "SentToScope",
    "RecipientDomainIs",
    "RecipientAddressContainsWords",
    "RecipientAddressMatchesPatterns",
    "AnyOfToHeader",
    "AnyOfCcHeader",
    "AnyOfToCcHeader",
    "SubjectContainsWords",
    "SubjectMatchesPatterns",
    "SubjectOrBodyContainsWords",
    "SubjectOrBodyMatchesPatterns",
    "AttachmentExtensionMatchesWords",
    "AttachmentNameMatchesPatterns",
    "AttachmentSizeOver",
    "AttachmentHasExecutableContent",
    "AttachmentIsUnsupported",
    "MessageSizeOver",
    "MessageTypeMatches",
    "HeaderContainsMessageHeader",
    "HeaderMatchesMessageHeader",
    "FromMemberOf",
    "FromAddressMatchesPatterns",
    "SenderADAttributeContainsWords",
    "SCLOver",
    "WithImportance",
    "HasClassification",
)
RULE_ACTIONS = (
    "RedirectMessageTo",
    "Quarantine",
    "DeleteMessage",
    "RejectMessageReasonText",
    "RejectMessageEnhancedStatusCode",
    "ModerateMessageByUser",
    "ModerateMessageByManager",
    "RouteMessageOutboundConnector",
    "SetSCL",
    "BlindCopyTo",
    "CopyTo",
    "AddToRecipients",
    "PrependSubject",
    "ApplyHtmlDisclaimerText",
    "ApplyOME",
    "ApplyRightsProtectionTemplate",
    "SetHeaderName",
    "GenerateIncidentReport",
    "NotifySender",
    "StopRuleProcessing",
)


def _present(value: Any) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, (str, list, tuple, dict)):
        return bool(value)
    return True


def _text(value: Any) -> str:
    if value is True:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value if v is not None)
    return as_text(value)


def parse_rule(item: Mapping[str, Any]) -> RuleInfo:
    """One Get-TransportRule object as the check reads it."""
    fields: dict[str, tuple[str, ...]] = {
        attr: as_strings(item.get(key)) for key, attr in _RULE_SENDER_KEYS.items()
    }
    try:
        priority = int(item.get("Priority") or 0)
    except (TypeError, ValueError):
        priority = 0
    state = as_text(item.get("State")) or "Enabled"
    return RuleInfo(
        name=as_text(item.get("Name") or item.get("Identity")),
        priority=priority,
        enabled=state.lower() == "enabled",
        mode=as_text(item.get("Mode")) or "Enforce",
        from_scope=as_text(item.get("FromScope")),
        other_conditions=tuple(k for k in _RULE_OTHER_CONDITIONS if _present(item.get(k))),
        actions=tuple((k, _text(item[k])) for k in RULE_ACTIONS if _present(item.get(k))),
        **fields,
    )


def read_tenant_view(admin: ExchangeAdmin, cancel: Cancellation | None = None) -> TenantView:
    connectors = admin.invoke("Get-InboundConnector", cancel=cancel).values
    domains = admin.invoke("Get-AcceptedDomain", cancel=cancel).values
    org = admin.invoke("Get-OrganizationConfig", cancel=cancel).first or {}
    return TenantView(
        connectors=tuple(parse_connector(c) for c in connectors),
        accepted_domains=tuple(accepted_domain(d).name for d in domains),
        reject_direct_send=as_bool(org.get("RejectDirectSend")),
    )


def read_rules(admin: ExchangeAdmin, cancel: Cancellation | None = None) -> tuple[RuleInfo, ...]:
    return tuple(parse_rule(r) for r in admin.invoke("Get-TransportRule", cancel=cancel).values)


# --- the probes -------------------------------------------------------------------------


class Troubleshooter:
    """One run of the Troubleshoot checks for one device; `run()` on a worker thread."""

    def __init__(
        self,
        device: DeviceUnderTest,
        cloud: Cloud,
        *,
        credentials: Credentials | None = None,
        admin: ExchangeAdmin | None = None,
        signed_in_as: str | None = None,
        options: TroubleshootOptions | None = None,
        cancel: Cancellation | None = None,
        on_result: ResultCallback | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.device = device
        self.cloud = cloud
        self.options = options or TroubleshootOptions()
        self._credentials = credentials
        self._admin = admin
        self._signed_in_as = signed_in_as
        self._cancel = cancel
        self._on_result = on_result
        self._now = now or (lambda: datetime.now(UTC))
        self._findings: list[Finding] = []

    # -- plumbing

    @property
    def cancelled(self) -> bool:
        return self._cancel is not None and self._cancel.cancelled

    def _check(self) -> None:
        if self.cancelled:
            raise Cancelled()

    def _emit(self, finding: Finding) -> None:
        self._findings.append(finding)
        log.info("troubleshoot %s: %s (%s)", finding.id, finding.word, finding.title)
        if self._on_result is not None:
            self._on_result(finding)

    def _wait(self, future: Future[T]) -> T:
        while True:
            self._check()
            try:
                return future.result(timeout=0.05)
            except TimeoutError:
                continue

    # -- the run

    def run(self) -> TroubleshootReport:
        started = time.monotonic()
        device, cloud = self.device, self.cloud
        pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="troubleshoot")
        settings = dns_settings_for(
            cloud, query_timeout=self.options.dns_timeout, budget=self.options.dns_timeout * 4
        )
        try:
            with DnsClient(settings) as dns:
                f_ip = pool.submit(self._public_ip, dns)
                f_tenant: Future[TenantView] | None = None
                f_rules: Future[tuple[RuleInfo, ...]] | None = None
                f_trace: Future[tuple[RecentMessage, ...]] | None = None
                admin = self._admin
                if admin is not None:
                    f_tenant = pool.submit(read_tenant_view, admin, self._cancel)
                    f_rules = pool.submit(read_rules, admin, self._cancel)
                    f_trace = pool.submit(self._trace, admin)

                lookups, relay_host = self._resolve(dns)
                facing = device_facing(cloud)
                expected = self._expected(relay_host)
                self._emit(check_resolution(device, lookups, cloud, expected))
                self._check()

                target = connect_target(device, cloud)
                ports = self._ports(pool, relay_host, target)
                self._emit(check_ports(device, ports, target))
                own = next((p for p in ports if p.endpoint == target), None)
                reachable = own is not None and own.reach is Reach.OPEN

                tls: TlsProbe | None = None
                auth: SmtpTestResult | None = None
                if reachable:
                    tls = self._tls(pool, target)
                    self._emit(
                        check_tls(device, tls, legacy_endpoint=facing.legacy_tls_smtp is not None)
                    )
                    self._emit(check_certificate(tls, self._now()))
                    auth_finding, auth = self._auth(target)
                    self._emit(auth_finding)
                else:
                    for check in (CheckId.TLS, CheckId.CERTIFICATE, CheckId.AUTH):
                        self._emit(unreachable(check))

                public_ip = self._wait(f_ip)
                ip = public_ip.address
                tenant = self._tenant_part(f_tenant, CheckId.CONNECTOR)
                if isinstance(tenant, Finding):
                    self._emit(tenant)
                    tenant = None
                else:
                    self._emit(check_connector(device, tenant, public_ip))
                rules = self._tenant_part(f_rules, CheckId.RULES)
                accepted = tenant.accepted_domains if tenant is not None else ()
                if isinstance(rules, Finding):
                    self._emit(rules)
                    rules = None
                else:
                    self._emit(check_rules(device, rules, ip, accepted))
                messages = self._tenant_part(f_trace, CheckId.TRACE)
                if isinstance(messages, Finding):
                    self._emit(messages)
                    messages = None
                else:
                    self._emit(check_trace(device, messages, self.options.trace_hours))
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        return TroubleshootReport(
            device=device,
            cloud=cloud.name,
            generated=self._now(),
            findings=tuple(self._findings),
            signed_in_as=self._signed_in_as,
            lookups=tuple(lookups),
            ports=tuple(ports),
            tls=tls,
            auth=auth,
            public_ip=public_ip,
            connectors=tenant.connectors if tenant is not None else None,
            rules=rule_effects(device.sender, rules, ip, accepted, signs_in=device.signs_in)
            if rules is not None
            else None,
            messages=messages,
            trace_hours=self.options.trace_hours,
            elapsed=time.monotonic() - started,
        )

    def _tenant_part(self, future: Future[T] | None, check: CheckId) -> T | None | Finding:
        """A tenant read's result; None when not signed in; a finding when it failed."""
        if future is None:
            return None
        try:
            return self._wait(future)
        except Cancelled:
            raise
        except WizardError as exc:
            log.info("troubleshoot %s: tenant read failed: %s", check, exc.detail or exc.what)
            return not_checked(
                check,
                tr("The tenant could not be read"),
                exc.plain(),
            )

    # -- 1. names

    def _lookup(self, dns: DnsClient, host: str, role: str) -> NameLookup:
        name = host.strip().rstrip(".")
        if is_address(name):
            return NameLookup(name, role, LookupStatus.ADDRESS, (name.strip("[]"),))
        began = time.monotonic()
        answer = dns.query(name, "A")
        addresses = answer.values
        status = answer.status
        if status is AnswerStatus.NODATA or (status is AnswerStatus.OK and not addresses):
            v6 = dns.query(name, "AAAA")
            if v6.ok:
                addresses, status = v6.values, AnswerStatus.OK
        seconds = time.monotonic() - began
        if status is AnswerStatus.OK and addresses:
            return NameLookup(name, role, LookupStatus.RESOLVED, tuple(addresses), "", seconds)
        if status is AnswerStatus.NXDOMAIN:
            return NameLookup(name, role, LookupStatus.NOT_FOUND, (), answer.detail, seconds)
        if status.is_missing or status is AnswerStatus.OK:
            return NameLookup(name, role, LookupStatus.NO_ADDRESS, (), answer.detail, seconds)
        detail = answer.detail or str(status)
        return NameLookup(name, role, LookupStatus.FAILED, (), detail, seconds)

    def _mx_host(self, dns: DnsClient) -> str:
        """The sender domain's relay host: the device's own when it is a Microsoft MX,
        else the live MX (never a computed guess that DNS does not know; "" if none)."""
        facing = device_facing(self.cloud)
        device = self.device
        if device.uses_relay and facing.is_microsoft_mx(device.host):
            return device.host.strip().rstrip(".")
        return find_relay_host(self.cloud, device.sender_domain, dns=dns).host

    def _resolve(self, dns: DnsClient) -> tuple[list[NameLookup], str]:
        device = self.device
        relay_host = self._mx_host(dns)
        facing = device_facing(self.cloud)
        wanted = [(device.host, "device"), (relay_host, "relay"), (facing.smtp.host, "submission")]
        lookups: list[NameLookup] = []
        seen: set[str] = set()
        for host, role in wanted:
            key = host.strip().rstrip(".").lower()
            if not key or key in seen:
                continue
            seen.add(key)
            self._check()
            lookups.append(self._lookup(dns, host, role))
        return lookups, relay_host

    def _expected(self, relay_host: str) -> Endpoint | None:
        """The server and port a device of this method should have."""
        device = self.device
        try:
            values = device_settings(
                device.method,
                device_facing(self.cloud),
                domain=device.sender_domain,
                sender=device.sender,
                mx_host=relay_host,
                tls12=device.tls12,
            )
        except ValueError:
            return None
        return values.endpoint

    # -- 2. ports

    def _connect(self, role: PortRole, endpoint: Endpoint) -> PortProbe:
        began = time.monotonic()
        reach, detail = Reach.OPEN, ""
        try:
            sock = open_connection(
                endpoint.host,
                endpoint.port,
                self.options.connect_timeout,
                lambda: self.cancelled,
            )
            sock.close()
        except WireCancelled:
            reach = Reach.CANCELLED
        except socket.gaierror as exc:
            reach, detail = Reach.NOT_RESOLVED, str(exc.strerror or exc)
        except TimeoutError:
            reach, detail = (
                Reach.TIMEOUT,
                tr("no answer within {s:g} s").format(s=self.options.connect_timeout),
            )
        except ConnectionRefusedError as exc:
            reach, detail = Reach.REFUSED, str(exc.strerror or exc)
        except OSError as exc:
            reach, detail = Reach.UNREACHABLE, str(exc.strerror or exc)
        seconds = time.monotonic() - began
        return PortProbe(role, endpoint.host, endpoint.port, reach, seconds, detail)

    def _ports(
        self, pool: ThreadPoolExecutor, relay_host: str, target: Endpoint
    ) -> list[PortProbe]:
        cloud = self.cloud
        wanted: dict[Endpoint, PortRole] = {
            cloud.relay_target(relay_host): PortRole.RELAY,
            cloud.smtp: PortRole.SUBMISSION,
        }
        wanted.setdefault(target, PortRole.DEVICE)
        futures = [pool.submit(self._connect, role, ep) for ep, role in wanted.items()]
        return [self._wait(f) for f in futures]

    # -- 3 and 4. STARTTLS, TLS versions, the certificate

    def _version_context(self, version: str) -> tuple[ssl.SSLContext, str]:
        context, trusted_by = tls_context(self.cloud.ca_bundle)
        with warnings.catch_warnings():
            # TLS 1.0/1.1 are deprecated on purpose: this probe only learns whether the
            # server still agrees to them.
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = _VERSIONS[version]
            context.maximum_version = _VERSIONS[version]
        if version not in MODERN_TLS:
            # Their handshakes sign with SHA-1, which OpenSSL's default level refuses.
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
        return context, trusted_by

    def _smtp(self) -> RecordingSMTP:
        recorder = Recorder(Transcript(), self._now)
        return RecordingSMTP(
            recorder, self.options.smtp_timeout, helo_name(), lambda: self.cancelled
        )

    def _greet(self, target: Endpoint) -> tuple[RecordingSMTP, bool]:
        """Connect and EHLO; (connection, STARTTLS offered)."""
        smtp = self._smtp()
        code, _banner = smtp.connect(target.host, target.port)
        if code != 220:
            smtp.close()
            raise smtplib.SMTPConnectError(code, _banner)
        smtp.ehlo()
        return smtp, smtp.has_extn("starttls")

    def _try_version(
        self, target: Endpoint, version: str
    ) -> tuple[TlsAttempt, Any, BaseException | None]:
        """One handshake at one version: (attempt, TlsDetails or None, certificate error)."""
        if not _CLIENT_HAS[version]:
            return TlsAttempt(version, TlsOutcome.NOT_HERE), None, None
        try:
            context, trusted_by = self._version_context(version)
        except (ValueError, ssl.SSLError) as exc:
            return TlsAttempt(version, TlsOutcome.NOT_HERE, str(exc)), None, None
        try:
            smtp, offered = self._greet(target)
        except (OSError, smtplib.SMTPException, WireCancelled) as exc:
            return (
                TlsAttempt(version, TlsOutcome.FAILED, f"{type(exc).__name__}: {exc}"),
                None,
                None,
            )
        try:
            if not offered:
                return TlsAttempt(version, TlsOutcome.FAILED, tr("no STARTTLS")), None, None
            code, text = smtp.docmd("STARTTLS")
            if code != 220:
                return (
                    TlsAttempt(
                        version, TlsOutcome.FAILED, f"{code} {text.decode(errors='replace')}"
                    ),
                    None,
                    None,
                )
            assert smtp.sock is not None
            try:
                smtp.sock = context.wrap_socket(smtp.sock, server_hostname=target.host)
            except ssl.SSLCertVerificationError as exc:
                return (
                    TlsAttempt(version, TlsOutcome.CERTIFICATE, exc.verify_message or str(exc)),
                    None,
                    exc,
                )
            except ssl.SSLError as exc:
                reason = getattr(exc, "reason", "") or type(exc).__name__
                limited = reason in _CLIENT_LIMITS
                outcome = TlsOutcome.NOT_HERE if limited else TlsOutcome.REFUSED
                return TlsAttempt(version, outcome, str(reason)), None, None
            except OSError as exc:
                # Many servers just hang up on a version they do not speak.
                return (
                    TlsAttempt(version, TlsOutcome.REFUSED, f"{type(exc).__name__}: {exc}"),
                    None,
                    None,
                )
            smtp.file = None
            smtp.helo_resp = smtp.ehlo_resp = None
            smtp.esmtp_features = {}
            smtp.does_esmtp = False
            details = tls_details(smtp.sock, trusted_by)
            refused = ""
            if version not in MODERN_TLS:
                refused = self._mail_over_legacy(smtp)
            return TlsAttempt(version, TlsOutcome.ACCEPTED, "", refused), details, None
        except (OSError, smtplib.SMTPException, WireCancelled) as exc:
            return (
                TlsAttempt(version, TlsOutcome.REFUSED, f"{type(exc).__name__}: {exc}"),
                None,
                None,
            )
        finally:
            try:
                smtp.close()
            except OSError:
                pass

    def _mail_over_legacy(self, smtp: RecordingSMTP) -> str:
        """Whether the server takes mail over TLS 1.0/1.1 (Exchange answers 421 4.7.66).

        Asks without sending anything: AUTH LOGIN answered with "*" (RFC 4954 cancel)
        where sign-in is offered, else MAIL FROM followed by RSET.
        """
        try:
            code, _ = smtp.ehlo()
            if code != 250:
                return ""
            if smtp.has_extn("auth"):
                code, text = smtp.docmd("AUTH", "LOGIN")
                if code == 334:
                    smtp.docmd("*")
                    return ""
            else:
                code, text = smtp.docmd("MAIL", f"FROM:<{self.device.sender}>")
                if code == 250:
                    smtp.docmd("RSET")
                    return ""
        except (OSError, smtplib.SMTPException, WireCancelled):
            return ""
        reply = f"{code} {text.decode('utf-8', 'replace').strip()}"
        return reply if code == 421 or "4.7.66" in reply else ""

    def _tls(self, pool: ThreadPoolExecutor, target: Endpoint) -> TlsProbe:
        try:
            smtp, offered = self._greet(target)
            smtp.close()
        except WireCancelled:
            raise Cancelled() from None
        except (OSError, smtplib.SMTPException) as exc:
            return TlsProbe(target.host, target.port, None, error=f"{type(exc).__name__}: {exc}")
        if not offered:
            return TlsProbe(target.host, target.port, False)
        futures = [pool.submit(self._try_version, target, v) for v in TLS_VERSIONS]
        results = [self._wait(f) for f in futures]
        attempts = tuple(r[0] for r in results)
        certificate = next((r[1] for r in results if r[1] is not None), None)
        cert_error = next((r[2] for r in results if r[2] is not None), None)
        failure: ConnectionFailure | None = None
        detail = ""
        if certificate is None and cert_error is not None:
            failure, detail = classify_failure(
                cert_error, stage=Stage.STARTTLS, port=target.port, relay=False
            )
        return TlsProbe(
            target.host,
            target.port,
            True,
            attempts,
            certificate,
            failure,
            detail,
        )

    # -- 5. sign-in, sender, recipient

    def _auth(self, target: Endpoint) -> tuple[Finding, SmtpTestResult | None]:
        device = self.device
        check = CheckId.AUTH
        credentials = self._credentials
        if device.signs_in and credentials is None:
            if device.auth is AuthKind.OAUTH:
                return (
                    not_checked(
                        check,
                        tr("Sign in as {mailbox} to check the sign-in").format(
                            mailbox=device.login
                        ),
                        tr("The check signs in with a Microsoft token, as the device does."),
                    ),
                    None,
                )
            return (
                not_checked(
                    check,
                    tr("Enter the password to check the sign-in"),
                    tr("The check signs in as {user}, as the device does.").format(
                        user=device.login
                    ),
                ),
                None,
            )
        request = SendTestRequest(
            method=device.method,
            host=target.host,
            port=target.port,
            security=device.security,
            tls_required=device.tls_required,
            auth=device.auth,
            username=device.login if device.signs_in else None,
            sender=device.sender,
            recipients=(device.test_recipient,),
            cafile=self.cloud.ca_bundle,
            timeout=self.options.smtp_timeout,
            envelope_only=True,
        )
        try:
            result = SmtpTest(request, credentials, cancel=self._cancel).run()
        except SignInError as exc:
            return (
                not_checked(
                    check,
                    tr("Sign in as {mailbox} to check the sign-in").format(mailbox=device.login),
                    exc.plain(),
                ),
                None,
            )
        except WizardError as exc:
            return not_checked(check, tr("The sign-in could not be checked"), exc.plain()), None
        if self.cancelled:
            raise Cancelled()
        return check_auth(device, result), result

    # -- 6 to 8. the tenant

    def _public_ip(self, dns: DnsClient) -> PublicIp:
        try:
            found = detect_public_ip(dns, providers_for(self.cloud))
        except WizardError as exc:
            return PublicIp(None, "", exc.plain())
        return PublicIp(found.address, found.describe())

    def _trace(self, admin: ExchangeAdmin) -> tuple[RecentMessage, ...]:
        until = self._now()
        since = until - timedelta(hours=self.options.trace_hours)
        rows = recent_messages(
            admin, self.device.sender, since=since, until=until, cancel=self._cancel
        )
        return tuple(
            RecentMessage(r.received, r.recipient, r.status, r.subject, r.from_ip) for r in rows
        )
