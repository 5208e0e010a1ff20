"""Organisation cmdlets: accepted domains, organisation config, DKIM signing config."""

from __future__ import annotations

from typing import Any

from wizard.sandbox.exchange.cmdlets import (
    Cmdlet,
    Context,
    Kind,
    Param,
    Result,
    no_change_warning,
    not_found,
)
from wizard.sandbox.tenant import TenantState

# ---- accepted domains, organisation config, DKIM -------------------------------------


def _domain_view(state: TenantState, name: str) -> dict[str, Any]:
    domain = next(d for d in state.accepted_domains if d.name == name)
    return {
        "Identity": domain.name,
        "Name": domain.name,
        "DomainName": domain.name,
        "DomainType": domain.domain_type,
        "Default": domain.default,
        "InitialDomain": domain.initial,
        "MatchSubDomains": False,
        "AuthenticationType": "Managed",
        "IsValid": True,
    }


def get_accepted_domain(ctx: Context, bound: dict[str, Any]) -> Result:
    state = ctx.state
    with state.lock:
        names = [d.name for d in state.accepted_domains]
        if "Identity" in bound:
            names = [n for n in names if n.lower() == bound["Identity"].lower()]
            if not names:
                raise not_found(bound["Identity"])
        return Result([_domain_view(state, n) for n in names])


def _org_view(state: TenantState) -> dict[str, Any]:
    return {
        "Identity": state.initial_domain,
        "Name": state.initial_domain,
        "DisplayName": state.display_name,
        "RejectDirectSend": state.reject_direct_send,
        "OAuth2ClientProfileEnabled": True,
        "IsDehydrated": False,
        "SmtpActionableMessagesEnabled": True,
        "ExternalDirectoryOrganizationId": state.tenant_id,
        "IsValid": True,
    }


def get_organization_config(ctx: Context, bound: dict[str, Any]) -> Result:
    with ctx.state.lock:
        return Result([_org_view(ctx.state)])


def set_organization_config(ctx: Context, bound: dict[str, Any]) -> Result:
    state = ctx.state
    with state.lock:
        if "RejectDirectSend" not in bound or bound["RejectDirectSend"] == state.reject_direct_send:
            return Result([], [no_change_warning(state.initial_domain)])
        state.reject_direct_send = bound["RejectDirectSend"]
    return Result([])


def get_dkim_signing_config(ctx: Context, bound: dict[str, Any]) -> Result:
    with ctx.state.lock:
        configs = list(ctx.state.dkim)
    if "Identity" in bound:
        configs = [c for c in configs if c.domain.lower() == bound["Identity"].lower()]
        if not configs:
            raise not_found(bound["Identity"])
    return Result(
        [
            {
                "Identity": c.domain,
                "Name": c.domain,
                "Domain": c.domain,
                "Enabled": c.enabled,
                "Status": "Valid" if c.enabled else "Disabled",
                "Selector1CNAME": c.selector1_cname,
                "Selector2CNAME": c.selector2_cname,
                "Selector1KeySize": 2048,
                "Selector2KeySize": 2048,
                "Algorithm": "RSA",
            }
            for c in configs
        ]
    )


_IDENTITY = {"Identity": Param(Kind.STR)}

CMDLETS = [
    Cmdlet("Get-AcceptedDomain", dict(_IDENTITY), get_accepted_domain),
    Cmdlet("Get-OrganizationConfig", {}, get_organization_config),
    Cmdlet(
        "Set-OrganizationConfig", {"RejectDirectSend": Param(Kind.BOOL)}, set_organization_config
    ),
    Cmdlet("Get-DkimSigningConfig", dict(_IDENTITY), get_dkim_signing_config),
]
