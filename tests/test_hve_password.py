"""An HVE account's password over InvokeCommand: encrypted with Exchange's published key.

End to end against the sandbox: the wizard reads the key from the admin API's module
file, encrypts `New-MailUser -Password` with it, the sandbox decrypts it and the new
account signs in on the HVE endpoint; a key that cannot be had is an explained,
retryable error and nothing is sent; the password shows up in no log and no PowerShell
line.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest

from tests.m365_helpers import ADMIN, changing_calls, hve_login, profile
from tests.test_tenant_apply import Session
from wizard.core.methods import Method
from wizard.core.plan import ChangeKind
from wizard.core.secret_names import password_purpose
from wizard.sandbox.server import Sandbox
from wizard.sandbox.tenant import DEMO_DOMAIN, HttpFault
from wizard.services.admin_host import redirect_target
from wizard.services.apply import ApplyResult, Outcome, apply_plan, keyring_secrets
from wizard.services.exchange_admin import ExchangeCommandError
from wizard.services.exo_module_key import (
    KEY_MAX_AGE,
    ModuleKey,
    ModuleKeyUnavailable,
)
from wizard.services.http import RetryPolicy, make_session
from wizard.services.secrets import SecretStore

SITE = "Main office"
HVE = f"hve-scanner@{DEMO_DOMAIN}"
# A base64 run as long as a 2048-bit RSA ciphertext (344 characters).
CIPHERTEXT = re.compile(r"[A-Za-z0-9+/]{300,}={0,2}")


@pytest.fixture
def session(sandbox: Sandbox) -> Session:
    return Session(sandbox)


def _module_file_gets(sandbox: Sandbox) -> int:
    return sum(
        1
        for r in sandbox.admin_routing.requests
        if r.method == "GET" and r.path.lower().endswith("/exomodulefile")
    )


def _apply_hve(session: Session, store: SecretStore, address: str = HVE) -> ApplyResult:
    site = profile(Method.HVE, sender=address)
    plan = session.plan(site, Method.HVE)
    assert plan.can_apply, (plan.blockers, plan.changes)
    return apply_plan(
        plan,
        session.admin,
        recheck=session.recheck(site, Method.HVE),
        secrets=keyring_secrets(store, SITE),
    )


# --- end to end ---------------------------------------------------------------------


def test_hve_account_gets_its_password_encrypted_and_signs_in(
    session: Session, memory_keyring: object, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store = SecretStore()
    site = profile(Method.HVE, sender=HVE)
    plan = session.plan(site, Method.HVE)
    (change,) = [c for c in plan.to_apply if c.kind is ChangeKind.HVE_ACCOUNT]
    result = apply_plan(
        plan,
        session.admin,
        recheck=session.recheck(site, Method.HVE),
        secrets=keyring_secrets(store, SITE),
    )
    assert result.complete, result.summary()
    password = store.get(SITE, password_purpose(HVE))
    assert password
    # The sandbox refuses a plain password, so the account exists only because the
    # value was encrypted with the module file's key; it kept the decrypted password.
    account = session.sandbox.state.account(HVE)
    assert account is not None and account.password == password
    assert hve_login(session.sandbox, HVE, password) == 235
    assert hve_login(session.sandbox, HVE, password + "x") == 535
    # Nothing shown or logged carries the password or its ciphertext.
    shown = change.powershell
    assert "-Password (Read-Host -AsSecureString -Prompt 'Password')" in shown
    assert password not in shown
    logged = caplog.text
    assert password not in logged and not CIPHERTEXT.search(logged)
    assert "public key for sensitive parameters" in logged
    (call,) = [p for c, p in changing_calls(session.sandbox) if c == "New-MailUser"]
    assert call["Password"] == "***"
    assert password not in repr(session.sandbox.state.admin_calls)


def test_the_key_is_read_once_for_the_sign_in(session: Session, memory_keyring: object) -> None:
    store = SecretStore()
    # The first call asks the front door which host serves the tenant (admin_host.py).
    session.admin.invoke("Get-AcceptedDomain")
    before = _module_file_gets(session.sandbox)
    assert _apply_hve(session, store).complete
    after_first = _module_file_gets(session.sandbox)
    assert after_first == before + 1
    assert _apply_hve(session, store, f"hve-second@{DEMO_DOMAIN}").complete
    assert _module_file_gets(session.sandbox) == after_first


def test_a_tenant_served_from_its_own_host_gets_the_key_from_there(
    memory_keyring: object,
) -> None:
    with Sandbox(served_from_tenant_host=True) as sandbox:
        session = Session(sandbox)
        store = SecretStore()
        assert _apply_hve(session, store).complete
        password = store.get(SITE, password_purpose(HVE))
        assert password and hve_login(sandbox, HVE, password) == 235
        gets = [
            r.host
            for r in sandbox.admin_routing.requests
            if r.method == "GET" and r.path.lower().endswith("/exomodulefile")
        ]
        # The front door is asked once (which host?), the tenant's host for the key.
        assert gets[-1] == sandbox.admin_api_tenant_host


def test_a_plain_password_sent_raw_is_refused_in_exchanges_words(session: Session) -> None:
    with pytest.raises(ExchangeCommandError) as caught:
        session.admin.invoke(
            "New-MailUser",
            {
                "Name": "raw",
                "PrimarySmtpAddress": f"raw@{DEMO_DOMAIN}",
                "Password": "Plain-Text-Pa55word!",
                "HVEAccount": True,
            },
        )
    error = caught.value
    assert error.status == 400 and error.error_type.endswith("ParameterTransformationException")
    assert error.server_text.startswith(
        "Cannot process argument transformation on parameter 'Password'."
    )
    assert "Plain-Text-Pa55word!" not in error.plain() + error.detail
    assert session.sandbox.state.account(f"raw@{DEMO_DOMAIN}") is None


# --- the key cannot be had ----------------------------------------------------------------


def test_a_module_file_that_fails_is_explained_and_nothing_is_sent(
    session: Session, memory_keyring: object
) -> None:
    store = SecretStore()
    site = profile(Method.HVE, sender=HVE)
    plan = session.plan(site, Method.HVE)
    # Every attempt fails: the first answer and both retries (RetryPolicy default).
    for _ in range(3):
        session.sandbox.state.http_faults.append(HttpFault(503, match="EXOModuleFile"))
    result = apply_plan(plan, session.admin, secrets=keyring_secrets(store, SITE))
    failed = result.failed
    assert failed is not None and failed.outcome is Outcome.FAILED
    error = failed.error
    assert isinstance(error, ModuleKeyUnavailable) and error.retryable
    assert "key for protecting the password" in error.what
    assert "nothing was changed" in error.why and "HTTP 503" in error.detail
    assert error.next_step.startswith(
        "Try again in a minute, or create the account in the Exchange"
    )
    # The password was never sent: no New-MailUser reached Exchange at all.
    assert not [c for c in session.sandbox.state.admin_calls if c.cmdlet == "New-MailUser"]
    assert session.sandbox.state.mailbox(HVE) is None
    password = store.get(SITE, password_purpose(HVE))
    assert password and password not in error.plain() + error.detail
    # Trying again works, with the password kept for the account.
    assert _apply_hve(session, store).complete
    assert session.sandbox.state.account(HVE).password == password  # type: ignore[union-attr]


def test_a_module_file_without_a_key_is_explained(session: Session, memory_keyring: object) -> None:
    session.sandbox.module_keys.published = False
    result = _apply_hve(session, SecretStore())
    assert result.failed is not None
    error = result.failed.error
    assert isinstance(error, ModuleKeyUnavailable) and error.retryable
    assert "holds no key the wizard can use" in error.why
    assert "no <RSAKeyValue>" in error.detail
    assert session.sandbox.state.mailbox(HVE) is None


# --- ModuleKey against the sandbox, with its collaborators --------------------------------


class Clock:
    def __init__(self, step: float = 0.0) -> None:
        self.now = 1000.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[object]:
    with make_session(sandbox.cloud) as session:
        yield session


def _module_key(sandbox: Sandbox, http: object, base: str | None = None, **kw: object) -> ModuleKey:
    token = sandbox.issue_token(ADMIN, [sandbox.cloud.exchange_scope])
    return ModuleKey(
        http,  # type: ignore[arg-type]
        sandbox.state.tenant_id,
        lambda: base or sandbox.admin_api,
        lambda t: {"Authorization": f"Bearer {t}", "X-AnchorMailbox": f"UPN:{ADMIN}"},
        lambda refresh: token,
        retry=RetryPolicy(server_error_backoff=0.01),
        **kw,  # type: ignore[arg-type]
    )


def test_the_key_is_read_again_after_its_time(sandbox: Sandbox, http: object) -> None:
    clock = Clock()
    source = _module_key(sandbox, http, clock=clock)
    first = source.get()
    assert first.public_numbers() == sandbox.module_keys.public_key.public_numbers()
    sandbox.module_keys.rotate()
    assert source.get() is first
    clock.now += KEY_MAX_AGE + 1
    fresh = source.get()
    assert (
        fresh.public_numbers()
        == sandbox.module_keys.public_key.public_numbers()
        != (first.public_numbers())
    )


def test_the_download_is_bounded_in_size_and_time(sandbox: Sandbox, http: object) -> None:
    with pytest.raises(ModuleKeyUnavailable) as too_big:
        _module_key(sandbox, http, max_bytes=500).get()
    assert "far larger than expected" in too_big.value.why
    with pytest.raises(ModuleKeyUnavailable) as too_slow:
        _module_key(sandbox, http, clock=Clock(step=100.0)).get()
    assert "did not arrive in time" in too_slow.value.why


def test_a_redirect_is_followed_only_through_the_admin_clients_check() -> None:
    with Sandbox(served_from_tenant_host=True) as sandbox, make_session(sandbox.cloud) as http:
        with pytest.raises(ModuleKeyUnavailable) as caught:
            _module_key(sandbox, http).get()
        assert "on to another server" in caught.value.why
        follow = _module_key(
            sandbox, http, follow=lambda url, loc: redirect_target(sandbox.cloud, url, loc)
        )
        assert follow.get().public_numbers() == sandbox.module_keys.public_key.public_numbers()


def test_a_key_rotated_since_it_was_read_is_read_again(
    session: Session, memory_keyring: object
) -> None:
    # The wizard read the key, then Microsoft rotated it twice: Exchange refuses what
    # the old key encrypted (only one version back still works), the wizard reads the
    # key again and sends the cmdlet once more; the account is made once.
    session.admin.secure_string_key_bits()
    session.sandbox.module_keys.rotate()
    session.sandbox.module_keys.rotate()
    store = SecretStore()
    result = _apply_hve(session, store)
    assert result.complete, result.summary()
    password = store.get(SITE, password_purpose(HVE))
    assert password and hve_login(session.sandbox, HVE, password) == 235
    calls = [c for c in session.sandbox.state.admin_calls if c.cmdlet == "New-MailUser"]
    # The refused one (a binding error: nothing made), then the one that worked.
    assert [c.status for c in calls] == [400, 200], calls
    assert "transformation" in calls[0].error
    assert _module_file_gets(session.sandbox) >= 2
