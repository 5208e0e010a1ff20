"""Who may run the cmdlets: Exchange's own RBAC, not only the token's Entra roles.

Exchange Online decides with its role groups. Global and Exchange Administrators are
members of "Organization Management" through their Entra role, but an account can be a
member of the role group without any Entra admin role (added in the Exchange admin
center, or with `Add-RoleGroupMember`); such an account runs the cmdlets and its token
carries no admin role id in `wids` (MicrosoftDocs/office-docs-powershell#6271, chrisda:
"Organization Management is the big one ... it can literally be any admin role group").
GDAP technicians' tokens may lack `wids` altogether (M365-FACTS.md, corrections).

An account that is in neither gets Exchange's own refusal; the admin API answers it in
`adminapi.AdminApi._forbidden`.

In the sandbox an account's `roles` names its Entra roles and its Exchange role groups
alike; only the Entra roles reach the token (`tokens.ROLE_TEMPLATE_IDS`).
"""

from __future__ import annotations

from wizard.sandbox.tenant import ADMIN_ROLES, Account, TenantState

ORGANIZATION_MANAGEMENT = "Organization Management"
# Role groups whose members may run every cmdlet the wizard uses.
EXCHANGE_ROLE_GROUPS = frozenset({ORGANIZATION_MANAGEMENT})

# The demo tenant's member of Organization Management without an Entra admin role.
ROLE_GROUP_ADMIN_LOCAL = "orgmgmt"
ROLE_GROUP_ADMIN_NAME = "Otto Org Management"


def may_run_cmdlets(account: Account | None) -> bool:
    """Whether Exchange lets this account run the admin cmdlets."""
    if account is None:
        return False
    return bool(account.roles & (ADMIN_ROLES | EXCHANGE_ROLE_GROUPS))


def role_group_admin(state: TenantState) -> str:
    """The UPN of the demo's Organization Management member in `state`."""
    return f"{ROLE_GROUP_ADMIN_LOCAL}@{state.default_domain}"


def add_role_group_admin(state: TenantState) -> TenantState:
    """Add the Organization Management member (no Entra role, no mailbox) unless present."""
    upn = role_group_admin(state)
    with state.lock:
        if state.account(upn) is None:
            state.accounts.append(Account(upn, ROLE_GROUP_ADMIN_NAME, {ORGANIZATION_MANAGEMENT}))
    return state
