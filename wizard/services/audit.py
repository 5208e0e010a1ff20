"""Read a whole tenant for the relay audit (read-only), then let `core.audit` judge it.

    report = run_audit(admin, graph, cloud, cancel=token, signed_in_as=account.upn)

The tenant check's reads (`tenant_check.read_tenant`: transport and organisation
config, connectors, accepted domains, HVE accounts, Security Defaults) run beside
one more: every mailbox's SMTP AUTH switch (`Get-CASMailbox -ResultSize Unlimited`),
which the audit needs and the tenant check does not. Only Get- cmdlets are run.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime

from wizard.core.audit import AuditReport, audit_tenant, mailbox_states
from wizard.core.clouds import Cloud
from wizard.core.tenant import MailboxState
from wizard.services.cancel import Cancellation, check
from wizard.services.exchange_admin import ExchangeAdmin
from wizard.services.graph import Graph
from wizard.services.tenant_check import as_bool, as_text, read_tenant


def read_all_mailboxes(
    admin: ExchangeAdmin, cancel: Cancellation | None = None
) -> tuple[MailboxState, ...]:
    """Every mailbox with its own SMTP AUTH value (None: it inherits the tenant's)."""
    values = admin.invoke("Get-CASMailbox", {"ResultSize": "Unlimited"}, cancel=cancel).values
    found = [
        MailboxState(
            address=as_text(item.get("PrimarySmtpAddress") or item.get("UserPrincipalName")),
            exists=True,
            smtp_auth_disabled=as_bool(item.get("SmtpClientAuthenticationDisabled")),
            display_name=as_text(item.get("DisplayName") or item.get("Name")),
        )
        for item in values
    ]
    return mailbox_states([m for m in found if m.address])


def run_audit(
    admin: ExchangeAdmin,
    graph: Graph | None,
    cloud: Cloud,
    *,
    cancel: Cancellation | None = None,
    signed_in_as: str | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> AuditReport:
    """The audit of the signed-in tenant; raises the admin client's typed errors."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-mailboxes") as pool:
        mailboxes = pool.submit(read_all_mailboxes, admin, cancel)
        snapshot = read_tenant(admin, graph, cloud, site_domain="", cancel=cancel, now=now)
        while True:
            check(cancel)
            try:
                boxes = mailboxes.result(timeout=0.05)
                break
            except TimeoutError:
                continue
    moment = now()
    return audit_tenant(
        replace(snapshot, mailboxes=boxes),
        today=moment.astimezone().date(),
        generated=moment,
        signed_in_as=signed_in_as,
    )
