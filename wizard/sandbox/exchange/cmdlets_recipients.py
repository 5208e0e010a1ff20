"""Recipient cmdlets: mailboxes, CAS settings, HVE mail users, service principals, permissions."""

from __future__ import annotations

import uuid
from typing import Any

from wizard.sandbox.exchange.cmdlets import (
    Cmdlet,
    Context,
    Kind,
    Param,
    Result,
    invalid,
    missing_parameters,
    no_change_warning,
    not_found,
)
from wizard.sandbox.tenant import Account, Mailbox, ServicePrincipal, TenantState

_IDENTITY = {"Identity": Param(Kind.STR)}
_LIST = {"Identity": Param(Kind.STR), "ResultSize": Param(Kind.STR)}


def _alias(mailbox: Mailbox) -> str:
    return mailbox.address.split("@")[0]


def find_recipient(state: TenantState, identity: str, *, hve: bool | None = None) -> Mailbox | None:
    """Look a mailbox or mail user up by address, alias, name, GUID or Entra object id."""
    key = identity.strip().lower()
    for mailbox in state.mailboxes:
        if hve is not None and mailbox.hve_account != hve:
            continue
        account = state.account(mailbox.address)
        keys = {
            mailbox.address.lower(),
            _alias(mailbox).lower(),
            mailbox.display_name.lower(),
            mailbox.identity.lower(),
        }
        if account is not None:
            keys.add(account.object_id.lower())
        if key in keys:
            return mailbox
    return None


def _recipient_base(state: TenantState, mailbox: Mailbox) -> dict[str, Any]:
    account = state.account(mailbox.address)
    return {
        "Identity": _alias(mailbox),
        "Name": _alias(mailbox),
        "Alias": _alias(mailbox),
        "DisplayName": mailbox.display_name,
        "PrimarySmtpAddress": mailbox.address,
        "UserPrincipalName": mailbox.address,
        "EmailAddresses": [f"SMTP:{mailbox.address}"],
        "Guid": mailbox.identity,
        "ExternalDirectoryObjectId": account.object_id if account else None,
    }


def _mailbox_view(state: TenantState, mailbox: Mailbox) -> dict[str, Any]:
    view = _recipient_base(state, mailbox)
    view.update(
        {
            "RecipientType": "UserMailbox",
            "RecipientTypeDetails": "UserMailbox" if mailbox.licensed else "SharedMailbox",
            "SKUAssigned": mailbox.licensed,
            "GrantSendOnBehalfTo": [],
        }
    )
    return view


def _cas_view(state: TenantState, mailbox: Mailbox) -> dict[str, Any]:
    view = _recipient_base(state, mailbox)
    view.update(
        {
            "SmtpClientAuthenticationDisabled": mailbox.smtp_client_auth_disabled,
            "ActiveSyncEnabled": True,
            "OWAEnabled": True,
            "PopEnabled": True,
            "ImapEnabled": True,
            "MAPIEnabled": True,
            "EwsEnabled": True,
        }
    )
    return view


def _mail_user_view(state: TenantState, mailbox: Mailbox) -> dict[str, Any]:
    view = _recipient_base(state, mailbox)
    view.update(
        {
            "RecipientType": "MailUser",
            "RecipientTypeDetails": "HVEAccount" if mailbox.hve_account else "MailUser",
            "HVEAccount": mailbox.hve_account,
        }
    )
    return view


def _select(state: TenantState, bound: dict[str, Any], *, hve: bool) -> list[Mailbox]:
    if "Identity" in bound:
        found = find_recipient(state, bound["Identity"], hve=hve)
        if found is None:
            raise not_found(bound["Identity"])
        return [found]
    chosen = [m for m in state.mailboxes if m.hve_account == hve]
    size = bound.get("ResultSize")
    if isinstance(size, str) and size.lower() != "unlimited":
        try:
            chosen = chosen[: int(size)]
        except ValueError:
            raise invalid(
                f'Cannot convert value "{size}" to type Unlimited: use a number or Unlimited.'
            ) from None
    return chosen


def get_mailbox(ctx: Context, bound: dict[str, Any]) -> Result:
    with ctx.state.lock:
        return Result([_mailbox_view(ctx.state, m) for m in _select(ctx.state, bound, hve=False)])


def get_cas_mailbox(ctx: Context, bound: dict[str, Any]) -> Result:
    with ctx.state.lock:
        return Result([_cas_view(ctx.state, m) for m in _select(ctx.state, bound, hve=False)])


def set_cas_mailbox(ctx: Context, bound: dict[str, Any]) -> Result:
    state = ctx.state
    with state.lock:
        mailbox = find_recipient(state, bound["Identity"], hve=False)
        if mailbox is None:
            raise not_found(bound["Identity"])
        if (
            "SmtpClientAuthenticationDisabled" not in bound
            or bound["SmtpClientAuthenticationDisabled"] == mailbox.smtp_client_auth_disabled
        ):
            return Result([], [no_change_warning(_alias(mailbox))])
        mailbox.smtp_client_auth_disabled = bound["SmtpClientAuthenticationDisabled"]
    return Result([])


def get_mail_user(ctx: Context, bound: dict[str, Any]) -> Result:
    with ctx.state.lock:
        chosen = _select(ctx.state, bound, hve=True)
        if bound.get("HVEAccount"):
            # Get-MailUser -HVEAccount lists only the High Volume Email accounts.
            chosen = [m for m in chosen if m.hve_account]
        return Result([_mail_user_view(ctx.state, m) for m in chosen])


def new_mail_user(ctx: Context, bound: dict[str, Any]) -> Result:
    if not bound.get("HVEAccount"):
        # A plain mail user forwards to an outside address; the sandbox only keeps HVE ones.
        raise missing_parameters(["ExternalEmailAddress"])
    address = bound["PrimarySmtpAddress"].strip()
    domain = address.rpartition("@")[2]
    state = ctx.state
    with state.lock:
        if "@" not in address or not state.is_accepted(domain):
            raise invalid(
                f"The address '{address}' is invalid: \"{domain}\" isn't an accepted domain for "
                "your organization.",
                "Microsoft.Exchange.Data.DataValidationException",
            )
        if state.mailbox(address) is not None or state.account(address) is not None:
            raise invalid(
                f'The proxy address "SMTP:{address}" is already being used by the proxy '
                "addresses or LegacyExchangeDN. Please choose another proxy address.",
                "Microsoft.Exchange.Data.Directory.ProxyAddressExistsException",
            )
        if any(_alias(m).lower() == bound["Name"].lower() for m in state.mailboxes):
            raise invalid(
                f'The name "{bound["Name"]}" is already being used. Please try another name.',
                "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException",
            )
        display = bound.get("DisplayName") or bound["Name"]
        mailbox = Mailbox(address, display, licensed=False, hve_account=True)
        state.mailboxes.append(mailbox)
        state.accounts.append(Account(address, display, password=bound["Password"]))
        return Result([_mail_user_view(state, mailbox)])


# ---- service principals and mailbox permissions --------------------------------------


def _sp_view(sp: ServicePrincipal) -> dict[str, Any]:
    return {
        "Identity": sp.object_id,
        "Name": sp.object_id,
        "DisplayName": sp.display_name,
        "AppId": sp.app_id,
        "ObjectId": sp.object_id,
        "ServiceId": sp.object_id,
    }


def new_service_principal(ctx: Context, bound: dict[str, Any]) -> Result:
    object_id = bound.get("ObjectId") or bound.get("ServiceId")
    if not object_id:
        raise missing_parameters(["ObjectId"])
    for value, name in ((bound["AppId"], "AppId"), (object_id, "ObjectId")):
        try:
            uuid.UUID(value)
        except ValueError:
            raise invalid(
                f'Cannot convert value "{value}" of {name} to type "System.Guid".',
                "System.Management.Automation.ParameterBindingException",
            ) from None
    with ctx.state.lock:
        if any(sp.app_id.lower() == bound["AppId"].lower() for sp in ctx.state.service_principals):
            raise invalid(
                f"A service principal with AppId '{bound['AppId']}' already exists.",
                "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException",
            )
        sp = ServicePrincipal(bound["AppId"], object_id, bound.get("DisplayName") or "")
        ctx.state.service_principals.append(sp)
    return Result([_sp_view(sp)])


def get_service_principal(ctx: Context, bound: dict[str, Any]) -> Result:
    with ctx.state.lock:
        sps = list(ctx.state.service_principals)
    if "Identity" in bound:
        sps = [sp for sp in sps if _sp_matches(sp, bound["Identity"])]
        if not sps:
            raise not_found(bound["Identity"])
    return Result([_sp_view(sp) for sp in sps])


def _sp_matches(sp: ServicePrincipal, key: str) -> bool:
    key = key.lower()
    return key in (
        sp.app_id.lower(),
        sp.object_id.lower(),
        sp.identity.lower(),
        sp.display_name.lower(),
    )


ACCESS_RIGHTS = ("FullAccess", "ChangeOwner", "ChangePermission", "DeleteItem", "ReadPermission")


def add_mailbox_permission(ctx: Context, bound: dict[str, Any]) -> Result:
    rights = []
    for right in bound["AccessRights"]:
        canonical = next((r for r in ACCESS_RIGHTS if r.lower() == right.lower()), None)
        if canonical is None:
            raise invalid(
                f'Cannot convert value "{right}" to type '
                '"Microsoft.Exchange.Management.RecipientTasks.MailboxRights". Specify one of '
                f"the following enumerator names and try again: {', '.join(ACCESS_RIGHTS)}",
                "System.Management.Automation.ParameterBindingException",
            )
        rights.append(canonical)
    state = ctx.state
    with state.lock:
        mailbox = find_recipient(state, bound["Identity"], hve=False)
        if mailbox is None:
            raise not_found(bound["Identity"])
        user = bound["User"].strip()
        sp = next((s for s in state.service_principals if _sp_matches(s, user)), None)
        account = state.account(user)
        if sp is None and account is None:
            raise not_found(user)
        if sp is not None:
            principal, shown = sp.object_id, sp.display_name or sp.object_id
        else:
            assert account is not None
            principal = shown = account.upn
        warnings = []
        if "FullAccess" in rights:
            if principal.lower() in {p.lower() for p in mailbox.full_access}:
                warnings.append(f"An existing permission entry was found for user: {shown}.")
            else:
                mailbox.full_access.add(principal)
    return Result(
        [
            {
                "Identity": _alias(mailbox),
                "User": shown,
                "AccessRights": rights,
                "IsInherited": False,
                "Deny": False,
                "InheritanceType": bound.get("InheritanceType", "All"),
            }
        ],
        warnings,
    )


def get_mailbox_permission(ctx: Context, bound: dict[str, Any]) -> Result:
    with ctx.state.lock:
        mailbox = find_recipient(ctx.state, bound["Identity"], hve=False)
        if mailbox is None:
            raise not_found(bound["Identity"])
        rows = [
            {
                "Identity": _alias(mailbox),
                "User": principal,
                "AccessRights": ["FullAccess"],
                "IsInherited": False,
                "Deny": False,
            }
            for principal in sorted(mailbox.full_access)
        ]
    return Result(rows)


CMDLETS = [
    Cmdlet("Get-Mailbox", dict(_LIST), get_mailbox),
    Cmdlet("Get-CASMailbox", dict(_LIST), get_cas_mailbox),
    Cmdlet(
        "Set-CASMailbox",
        {
            "Identity": Param(Kind.STR, mandatory=True),
            "SmtpClientAuthenticationDisabled": Param(Kind.BOOL, nullable=True),
        },
        set_cas_mailbox,
    ),
    Cmdlet("Get-MailUser", {**_LIST, "HVEAccount": Param(Kind.SWITCH)}, get_mail_user),
    Cmdlet(
        "New-MailUser",
        {
            "Name": Param(Kind.STR, mandatory=True),
            "DisplayName": Param(Kind.STR),
            "PrimarySmtpAddress": Param(Kind.STR, mandatory=True),
            # Arrives encrypted (exo_module.py); bound as its text.
            "Password": Param(Kind.SECURE_STRING, mandatory=True),
            "HVEAccount": Param(Kind.SWITCH),
            "ExternalEmailAddress": Param(Kind.STR),
        },
        new_mail_user,
    ),
    Cmdlet(
        "New-ServicePrincipal",
        {
            "AppId": Param(Kind.STR, mandatory=True),
            "ObjectId": Param(Kind.STR),
            "ServiceId": Param(Kind.STR),
            "DisplayName": Param(Kind.STR),
        },
        new_service_principal,
    ),
    Cmdlet("Get-ServicePrincipal", dict(_IDENTITY), get_service_principal),
    Cmdlet(
        "Add-MailboxPermission",
        {
            "Identity": Param(Kind.STR, mandatory=True),
            "User": Param(Kind.STR, mandatory=True),
            "AccessRights": Param(Kind.STRLIST, mandatory=True),
            "InheritanceType": Param(
                Kind.ENUM,
                choices=("None", "All", "Descendents", "SelfAndChildren", "Children"),
                type_name="System.DirectoryServices.ActiveDirectorySecurityInheritance",
            ),
            "AutoMapping": Param(Kind.BOOL),
        },
        add_mailbox_permission,
    ),
    Cmdlet(
        "Get-MailboxPermission",
        {"Identity": Param(Kind.STR, mandatory=True)},
        get_mailbox_permission,
    ),
]
