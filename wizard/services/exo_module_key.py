"""Exchange's public key for SecureString parameters, and encrypting values with it.

A cmdlet parameter of type SecureString (`New-MailUser -HVEAccount -Password`) cannot be
sent to InvokeCommand as plain text. What the public sources show:

- GreyCorbel/ExoHelper (Commands/Internal/EncryptValue.ps1, Invoke-ExoCommand.ps1):
  every SecureString parameter value is replaced, before the body is serialised, by
  `base64(RSA.Encrypt(UTF8(value), fOAEP=$false))`, i.e. RSA PKCS#1 v1.5 with the key
  given as .NET `<RSAKeyValue><Modulus>..</Modulus><Exponent>..</Exponent></RSAKeyValue>`
  XML; the encrypted value goes in `CmdletInput.Parameters` under the parameter's own
  name, as a plain JSON string. With no key it refuses to send ("Public key not loaded.
  Cannot encrypt sensitive data.", and in its first version, taken from Microsoft's
  module, "Public key not found in the module definition").
- ExoHelper's README: the key is "embedded into temporary module that dynamically
  downloads when running `Connect-ExchangeOnline`"; Microsoft rotates it ("at least one
  version back is supported"); without it "commands that work with sensitive data will
  fail". ExoHelper itself ships a copy (PublicKey.xml, refreshed by hand: three different
  2048-bit keys between August 2024 and April 2025) because Microsoft offers no REST call
  for the key alone.
- The temporary module comes from `GET {admin API host}/AdminApi/v1.0/{tenant}/EXOModuleFile`
  (ScubaGear and Monkey365 call it with the admin API token; CIPP-API's `New-ExoRequest
  -AvailableCmdlets` sends `?Version=<module version>` and the header `CommandName: *` and
  reads `value.exportedCmdlets` from the JSON answer).

No public source shows which field of that answer carries the module's text, nor whether
it is base64. So the wizard does not depend on a field name: it looks for the
`<RSAKeyValue>` XML in the answer's text, in every JSON string of it (JSON escapes
undone), and in every string that decodes as base64 (a psm1 file in JSON is often
sent that way). The answer is read with a deadline and a size cap; the key is kept for
the sign-in (one `ExchangeAdmin`), and fetched again after `KEY_MAX_AGE` since Microsoft
rotates it. Unlike ExoHelper, the wizard does not fall back to a copy of the key from a
third party's repository: a key that cannot be read from Exchange stops the change with
an explained, retryable error, and nothing is sent.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from wizard.core.errors import InvalidInput, ServiceError, WizardError
from wizard.core.i18n import tr
from wizard.services.cancel import Cancellation, check
from wizard.services.http import DEFAULT_RETRY, RetryPolicy, send, with_retries

log = logging.getLogger(__name__)

SERVICE = tr("the Exchange Online admin API")
# The version Connect-ExchangeOnline names in `?Version=` (CIPP-API sends 3.9.2 and
# Monkey365 3.5.0; ExchangeOnlineManagement 3.9.0 is the one installed most widely).
MODULE_VERSION = "3.9.0"
# The module file holds a function for every cmdlet the caller may run; its real size is
# not published. 32 MiB is far beyond a module's text and still bounded in memory.
MAX_MODULE_FILE_BYTES = 32 * 1024 * 1024
# ScubaGear gives the EXOModuleFile request 15 s, Monkey365 50 s; the whole download
# (connection, then every chunk) must end within MODULE_FILE_DEADLINE.
MODULE_FILE_TIMEOUT: tuple[float, float] = (10.0, 30.0)
MODULE_FILE_DEADLINE = 60.0
# Microsoft rotates the key (ExoHelper re-reads its copy after 7 days); a long session
# reads it again after an hour.
KEY_MAX_AGE = 3600.0
# Redirects one download may take (to the tenant's own admin API host).
MAX_REDIRECTS = 2
# Strings shorter than this are not a module file; longer ones are decoded as base64.
_MIN_ENCODED = 64
_CHUNK = 64 * 1024
# Smaller keys are not what Microsoft publishes (2048 bits) and protect nothing.
MIN_KEY_BITS = 2048

_KEY_XML = re.compile(r"<RSAKeyValue>(.*?)</RSAKeyValue>", re.DOTALL | re.IGNORECASE)
_MODULUS = re.compile(r"<Modulus>\s*([A-Za-z0-9+/=\s]+?)\s*</Modulus>", re.IGNORECASE)
_EXPONENT = re.compile(r"<Exponent>\s*([A-Za-z0-9+/=\s]+?)\s*</Exponent>", re.IGNORECASE)
_BASE64 = re.compile(r"^[A-Za-z0-9+/\s]+={0,2}\s*$")
# Exchange's answer when the tenant is too busy (exchange_admin.BUSY_TEXT, ExoHelper).
_BUSY = "maximum number of concurrent requests"


class ModuleKeyUnavailable(ServiceError):
    """Exchange's public key for passwords could not be fetched or read; nothing was sent."""

    default_retryable = True

    def __init__(self, reason: str, *, detail: str = "", retryable: bool = True) -> None:
        super().__init__(
            tr("The wizard could not get Exchange Online's key for protecting the password."),
            tr(
                "Exchange accepts a new account's password only when it is encrypted with "
                "a public key that Microsoft publishes in the PowerShell module file the "
                "admin API serves, and changes from time to time. {reason} The password "
                "was not sent and nothing was changed."
            ).format(reason=reason),
            tr(
                "Try again in a minute, or create the account in the Exchange admin "
                "center (Mail flow > High volume email) and give its password to the wizard."
            ),
            detail=detail,
            retryable=retryable,
        )


def _b64_int(text: str) -> int:
    raw = base64.b64decode("".join(text.split()), validate=True)
    if not raw:
        raise ValueError("empty number")
    return int.from_bytes(raw, "big")


def key_from_xml(xml: str) -> rsa.RSAPublicKey:
    """A .NET `<RSAKeyValue>` (RSACryptoServiceProvider.ToXmlString(false)) as a key.

    Raises ValueError when it is not a usable RSA public key of at least 2048 bits.
    """
    modulus = _MODULUS.search(xml)
    exponent = _EXPONENT.search(xml)
    if modulus is None or exponent is None:
        raise ValueError("no Modulus or Exponent")
    try:
        n, e = _b64_int(modulus.group(1)), _b64_int(exponent.group(1))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not base64: {exc}") from None
    if n.bit_length() < MIN_KEY_BITS:
        raise ValueError(f"a {n.bit_length()}-bit key")
    if e < 3 or e % 2 == 0:
        raise ValueError(f"exponent {e}")
    return rsa.RSAPublicNumbers(e, n).public_key()


def _strings(value: object, depth: int = 0) -> Iterator[str]:
    if depth > 32:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, depth + 1)


def _texts(body: str) -> Iterator[str]:
    """The answer itself, each JSON string in it, and each string that decodes as base64."""
    yield body
    try:
        data = json.loads(body)
    except ValueError:
        return
    for text in _strings(data):
        yield text
        if len(text) >= _MIN_ENCODED and "<" not in text and _BASE64.match(text):
            try:
                decoded = base64.b64decode("".join(text.split()), validate=True)
            except (binascii.Error, ValueError):
                continue
            # A module file is text; UTF-16 is what Windows PowerShell writes by default.
            for encoding in ("utf-8-sig", "utf-16"):
                try:
                    yield decoded.decode(encoding)
                    break
                except UnicodeDecodeError:
                    continue


def find_public_key(body: str) -> rsa.RSAPublicKey:
    """The first usable `<RSAKeyValue>` key in a module file answer; ValueError if none."""
    problems: list[str] = []
    for text in _texts(body):
        for match in _KEY_XML.finditer(text):
            try:
                return key_from_xml(match.group(0))
            except ValueError as exc:
                problems.append(str(exc))
    if problems:
        raise ValueError("no usable key: " + "; ".join(problems[:3]))
    raise ValueError("no <RSAKeyValue> in the module file")


def encrypt_secure_string(key: rsa.RSAPublicKey, value: str) -> str:
    """What ExoHelper's EncryptValue sends: base64(RSA PKCS#1 v1.5(UTF-8 value))."""
    data = value.encode("utf-8")
    # PKCS#1 v1.5 carries at most the key size less 11 bytes (245 for 2048 bits).
    if len(data) > key.key_size // 8 - 11:
        raise InvalidInput(
            tr("The password is too long to be sent to Exchange Online."),
            tr("Exchange's key can protect at most {n} bytes; use a shorter password.").format(
                n=key.key_size // 8 - 11
            ),
        )
    return base64.b64encode(key.encrypt(data, padding.PKCS1v15())).decode("ascii")


def _snippet(response: requests.Response) -> str:
    """The first 500 bytes of a streamed answer, for an error's detail (best effort)."""
    try:
        return response.raw.read(500, decode_content=True).decode("utf-8", "replace").strip()
    except Exception:  # noqa: BLE001 - a detail must not hide the real error
        return ""


@dataclass(frozen=True)
class _Cached:
    key: rsa.RSAPublicKey
    fetched: float


class ModuleKey:
    """Exchange's public key for one signed-in admin and tenant, fetched once and kept.

    `base_url()` names the admin API host that serves the tenant (the front door, or the
    tenant's own host once it is known); the module file is asked for there, with the
    same token as InvokeCommand. Redirects are not followed by requests; `follow(url,
    location)` (the admin API client's check that the target is Microsoft's) names where
    a redirect may go, or raises; without it a redirect is an explained error.
    """

    def __init__(
        self,
        session: requests.Session,
        tenant_id: str,
        base_url: Callable[[], str],
        headers: Callable[[str], dict[str, str]],
        token: Callable[[bool], str],
        *,
        retry: RetryPolicy = DEFAULT_RETRY,
        clock: Callable[[], float] = time.monotonic,
        max_bytes: int = MAX_MODULE_FILE_BYTES,
        deadline: float = MODULE_FILE_DEADLINE,
        follow: Callable[[str, str], str] | None = None,
    ) -> None:
        self._session = session
        self._tenant_id = tenant_id
        self._base_url = base_url
        self._headers = headers
        self._token = token
        self._retry = retry
        self._clock = clock
        self._max_bytes = max_bytes
        self._deadline = deadline
        self._follow = follow
        self._lock = threading.Lock()
        self._cached: _Cached | None = None
        # The start of an error answer that was closed early (for the error's detail).
        self._snippets: dict[int, str] = {}

    def url(self) -> str:
        return f"{self._base_url().rstrip('/')}/AdminApi/v1.0/{self._tenant_id}/EXOModuleFile"

    def forget(self) -> None:
        with self._lock:
            self._cached = None

    def get(
        self, cmdlets: tuple[str, ...] = (), *, cancel: Cancellation | None = None
    ) -> rsa.RSAPublicKey:
        """The key, from the cache while it is fresh, else from Exchange's module file."""
        with self._lock:
            cached = self._cached
            if cached is not None and self._clock() - cached.fetched < KEY_MAX_AGE:
                return cached.key
            key = self._fetch(cmdlets, cancel)
            self._cached = _Cached(key, self._clock())
            return key

    def encrypt(
        self, value: str, cmdlets: tuple[str, ...] = (), *, cancel: Cancellation | None = None
    ) -> str:
        return encrypt_secure_string(self.get(cmdlets, cancel=cancel), value)

    # -- fetching

    def _fetch(self, cmdlets: tuple[str, ...], cancel: Cancellation | None) -> rsa.RSAPublicKey:
        try:
            return self._fetch_once(cmdlets, cancel)
        finally:
            self._snippets.clear()

    def _fetch_once(
        self, cmdlets: tuple[str, ...], cancel: Cancellation | None
    ) -> rsa.RSAPublicKey:
        url = self.url()
        # Connect-ExchangeOnline -CommandName limits the module to those cmdlets; CIPP-API
        # and other clients send "*" for all of them. Asking for only the cmdlets that need
        # the key keeps the file small where Exchange honours it.
        params: dict[str, str] = {"Version": MODULE_VERSION}
        refreshed = False
        hops = 0
        while True:
            check(cancel)
            headers = self._headers(self._token(refreshed))
            headers["CommandName"] = ",".join(cmdlets) if cmdlets else "*"
            headers["Accept"] = "application/json"
            headers.pop("Content-Type", None)
            started = self._clock()
            try:

                def attempt(
                    headers: dict[str, str] = headers,
                    url: str = url,
                    params: dict[str, str] = params,
                ) -> requests.Response:
                    response = send(
                        self._session,
                        "GET",
                        url,
                        service=SERVICE,
                        headers=headers,
                        params=params or None,
                        allow_redirects=False,
                        stream=True,
                        timeout=MODULE_FILE_TIMEOUT,
                    )
                    if response.status_code == 429 or response.status_code >= 500:
                        # with_retries may drop this answer to ask again: free the
                        # connection now (only the status and headers are used).
                        self._snippets[id(response)] = _snippet(response)
                        response.close()
                    return response

                response = with_retries(
                    attempt, service=SERVICE, idempotent=True, policy=self._retry, cancel=cancel
                )
            except WizardError as exc:
                if not exc.retryable:
                    raise
                raise ModuleKeyUnavailable(
                    tr("The module file could not be downloaded: {what}").format(what=exc.what),
                    detail=f"GET {url}: {exc.detail or exc.what}",
                ) from exc
            try:
                if response.status_code == 401 and not refreshed:
                    log.info("EXOModuleFile: token refused (401); refreshing it once")
                    refreshed = True
                    continue
                location = response.headers.get("Location") or ""
                if (
                    300 <= response.status_code < 400
                    and location
                    and self._follow is not None
                    and hops < MAX_REDIRECTS
                ):
                    # The tenant's own host (admin_host.py): only to Microsoft's hosts,
                    # which `follow` checks before the token goes anywhere.
                    url = self._follow(url, location)
                    hops += 1
                    if urlsplit(url).query:
                        params = {}
                    continue
                if response.status_code >= 300:
                    raise self._refused(response, url)
                body = self._read(response, url, started)
            finally:
                response.close()
            break
        try:
            key = find_public_key(body)
        except ValueError as exc:
            reason = (
                tr("Exchange was too busy to send the module file.")
                if _BUSY in body[:2000].lower()
                else tr("The module file Exchange sent holds no key the wizard can use.")
            )
            raise ModuleKeyUnavailable(
                reason, detail=f"GET {url}: {exc} ({len(body)} characters)"
            ) from None
        log.info(
            "Exchange's public key for sensitive parameters read from the module file (%d bits)",
            key.key_size,
        )
        return key

    def _refused(self, response: requests.Response, url: str) -> ModuleKeyUnavailable:
        status = response.status_code
        if 300 <= status < 400:
            reason = tr("Exchange sent the request for the module file on to another server.")
        elif status in (401, 403):
            reason = tr("Exchange did not let this sign-in download the module file.")
        elif status == 429:
            reason = tr("Exchange is throttling this tenant right now.")
        else:
            reason = tr("Exchange answered the request for the module file with an error.")
        snippet = self._snippets.pop(id(response), None)
        if snippet is None:
            snippet = _snippet(response)
        location = response.headers.get("Location", "")
        return ModuleKeyUnavailable(
            reason,
            detail=f"GET {url}: HTTP {status} {location[:200]} {snippet}"[:1000],
            retryable=status not in (401, 403),
        )

    def _read(self, response: requests.Response, url: str, started: float) -> str:
        """The body within the size cap and the deadline."""
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self._max_bytes:
            raise self._too_big(url, int(declared))
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(_CHUNK):
                size += len(chunk)
                if size > self._max_bytes:
                    raise self._too_big(url, size)
                if self._clock() - started > self._deadline:
                    raise ModuleKeyUnavailable(
                        tr("The module file did not arrive in time."),
                        detail=f"GET {url}: over {self._deadline:.0f} s, {size} bytes read",
                    )
                chunks.append(chunk)
        except requests.RequestException as exc:
            raise ModuleKeyUnavailable(
                tr("The download of the module file broke off."),
                detail=f"GET {url}: {type(exc).__name__}: {exc}",
            ) from None
        # JSON is UTF-8 (RFC 8259); the key itself is ASCII.
        return b"".join(chunks).decode("utf-8-sig", "replace")

    def _too_big(self, url: str, size: int) -> ModuleKeyUnavailable:
        return ModuleKeyUnavailable(
            tr("The module file Exchange sent is far larger than expected."),
            detail=f"GET {url}: {size} bytes, more than {self._max_bytes}",
        )
