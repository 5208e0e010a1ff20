"""The sign-in pages a person (or a stand-in browser) sees, over plain http on loopback.

Routes:
  GET  /{tenant}/oauth2/v2.0/authorize   account picker (or Entra's error page)
  POST /{tenant}/oauth2/v2.0/authorize   flow=<id> and upn=<account> or cancel=1
  GET  /devicelogin                      "Enter code"
  POST /devicelogin                      otc=<user code> -> account picker
  POST /devicelogin/confirm              flow=<user code> and upn=<account> or cancel=1
"""

from __future__ import annotations

from wizard.sandbox.https import Request, Response
from wizard.sandbox.identity import signin_html
from wizard.sandbox.identity.devicecode import DEVICE_LOGIN_PATH
from wizard.sandbox.identity.provider import IdentityProvider

DEVICE_LOGIN = DEVICE_LOGIN_PATH
DEVICE_CONFIRM = "/devicelogin/confirm"


class SignInPages:
    def __init__(self, identity: IdentityProvider) -> None:
        self.identity = identity

    def app(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        if path == DEVICE_LOGIN:
            if request.method == "POST":
                return self._device_code_entered(request.form())
            return Response.of_html(200, signin_html.device_code_entry(action=DEVICE_LOGIN))
        if path == DEVICE_CONFIRM and request.method == "POST":
            return self._device_decided(request.form())
        parts = [p for p in path.split("/") if p]
        if len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "authorize"]:
            if request.method == "POST":
                return self._account_picked(request.form())
            params = {k: v[0] for k, v in request.query.items() if v}
            return self._authorize(parts[0], params, request.path)
        if path == "/":
            return Response.of_html(
                200,
                signin_html.message_page(
                    "Sandbox sign-in",
                    "This server shows the sandbox tenant's sign-in pages. Start a sign-in "
                    "from the wizard, or open /devicelogin to enter a device code.",
                ),
            )
        return Response.of_html(404, signin_html.message_page("Not found", "No such page."))

    def _authorize(self, tenant: str, params: dict[str, str], action: str) -> Response:
        outcome = self.identity.interactive.begin(tenant, params)
        if outcome.page_error is not None:
            return Response.of_html(400, signin_html.error_page(outcome.page_error))
        if outcome.redirect is not None:
            return outcome.redirect
        pending = outcome.pending
        assert pending is not None
        with self.identity.state.lock:
            accounts = list(self.identity.state.accounts)
        return Response.of_html(
            200,
            signin_html.account_picker(
                action=action,
                hidden={"flow": pending.flow_id},
                app_name=pending.app.display_name,
                accounts=accounts,
                login_hint=pending.login_hint,
            ),
        )

    def _account_picked(self, form: dict[str, str]) -> Response:
        pending = self.identity.interactive.pending(form.get("flow", ""))
        if pending is None:
            return Response.of_html(
                400,
                signin_html.message_page(
                    "This sign-in has expired",
                    "Go back to the application and start the sign-in again.",
                ),
            )
        upn = None if form.get("cancel") else form.get("upn")
        return self.identity.interactive.finish(pending, upn)

    def _device_code_entered(self, form: dict[str, str]) -> Response:
        grant = self.identity.devices.find(form.get("otc", ""))
        if grant is None:
            return Response.of_html(
                400,
                signin_html.device_code_entry(
                    action=DEVICE_LOGIN,
                    problem="That code didn't work. Check the code and try again.",
                ),
            )
        with self.identity.state.lock:
            accounts = list(self.identity.state.accounts)
        return Response.of_html(
            200,
            signin_html.account_picker(
                action=DEVICE_CONFIRM,
                hidden={"flow": grant.user_code},
                app_name=grant.app.display_name,
                accounts=accounts,
                heading="Pick an account to sign in on your device",
            ),
        )

    def _device_decided(self, form: dict[str, str]) -> Response:
        grant = self.identity.devices.find(form.get("flow", ""))
        if grant is None:
            return Response.of_html(
                400,
                signin_html.message_page(
                    "This code has expired", "Start the sign-in on your device again."
                ),
            )
        upn = None if form.get("cancel") else form.get("upn")
        problem = self.identity.devices.decide(grant, upn)
        if problem is not None:
            return Response.of_html(400, signin_html.error_page(problem))
        if upn is None:
            return Response.of_html(
                200,
                signin_html.message_page(
                    "Sign-in cancelled", "You declined to sign in. You can close this window."
                ),
            )
        return Response.of_html(
            200,
            signin_html.message_page(
                grant.app.display_name,
                f"You have signed in to the {grant.app.display_name} application on your "
                "device. You may now close this window.",
            ),
        )
