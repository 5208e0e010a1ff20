"""The probe's token checks: which app may ask for which token on this tenant.

A first-party client asking for a first-party resource it is not pre-authorised for
gets AADSTS65002 (Microsoft identity platform error reference; M365-FACTS.md,
corrections). The wizard rests on that: the Exchange Online PowerShell app is used for
the admin API only, Graph goes through the Graph Command Line Tools app (or the MSP's),
SMTP.Send through an app registration of the MSP's. The probe asks silently, with the
admin's own sign-in, and reports what Entra answered; it never prints a token.
"""

from __future__ import annotations

from collections.abc import Sequence

from wizard.core.errors import NetworkError, WizardError
from wizard.core.i18n import tr
from wizard.core.tenant_probe import ProbeArea, ProbeCheck
from wizard.services.signin import SignedIn, SignIn, jwt_claims


def _code_in(exc: WizardError, code: str) -> bool:
    return code in exc.detail or code in exc.plain()


def _admin_token(sign_in: SignIn, account: SignedIn) -> ProbeCheck:
    assumption = tr("The admin app gets a token for the Exchange admin API.")
    try:
        token = sign_in.exchange_token()
    except NetworkError as exc:
        return ProbeCheck("token-admin", ProbeArea.TOKENS, assumption, None, exc.plain())
    except WizardError as exc:
        return ProbeCheck(
            "token-admin", ProbeArea.TOKENS, assumption, False, exc.plain(), (exc.detail[:300],)
        )
    claims = jwt_claims(token)
    wids = claims.get("wids")
    roles = (
        tr("the token carries Entra role ids")
        if isinstance(wids, list) and wids
        else tr("the token carries no Entra role ids (Exchange decides the rights)")
    )
    return ProbeCheck(
        "token-admin",
        ProbeArea.TOKENS,
        assumption,
        True,
        tr("Issued to {client}; {roles}.").format(client=sign_in.settings.client_id, roles=roles),
        (f"aud: {claims.get('aud', '?')}", f"scp: {claims.get('scp', '?')}"),
    )


def _first_party_refused(
    sign_in: SignIn, check_id: str, what: str, scopes: Sequence[str]
) -> ProbeCheck:
    assumption = tr(
        "The admin app (a Microsoft first-party client) is refused a token for {what} "
        "(AADSTS65002), so the wizard uses another app for it."
    ).format(what=what)
    try:
        sign_in.token_for(scopes)
    except NetworkError as exc:
        return ProbeCheck(check_id, ProbeArea.TOKENS, assumption, None, exc.plain())
    except WizardError as exc:
        if _code_in(exc, "AADSTS65002"):
            return ProbeCheck(
                check_id,
                ProbeArea.TOKENS,
                assumption,
                True,
                tr("Refused with AADSTS65002, as expected."),
            )
        return ProbeCheck(
            check_id,
            ProbeArea.TOKENS,
            assumption,
            False,
            tr("Refused, but not with AADSTS65002: {text}").format(text=exc.plain()),
            (exc.detail[:300],),
        )
    return ProbeCheck(
        check_id,
        ProbeArea.TOKENS,
        assumption,
        False,
        tr("A token was issued: this app is pre-authorised for {what} here.").format(what=what),
        tuple(f"scope: {s}" for s in scopes),
    )


def token_checks(sign_in: SignIn, account: SignedIn) -> list[ProbeCheck]:
    cloud = sign_in.cloud
    return [
        _admin_token(sign_in, account),
        _first_party_refused(
            sign_in, "token-admin-app-smtp", "SMTP.Send", [cloud.smtp_oauth_scope]
        ),
    ]
