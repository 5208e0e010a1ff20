"""HTTP sessions that trust exactly what the Cloud says, and plain-words network errors.

Every HTTPS client of the wizard (MSAL, the Exchange admin API, Graph, the DNS and
audit helpers) gets its session from `make_session()`:

- `verify` is the Cloud's CA bundle (the sandbox's own CA) or the system store that
  requests ships (certifi); `trust_env` is off, so REQUESTS_CA_BUNDLE and friends can
  never change what is trusted. Proxies from the environment are still honoured,
  except for loopback addresses.
- Every request has a timeout (connect, read) unless the caller gives one.
- `translate()` turns a requests exception into the wizard's typed errors
  (`ServiceTimeout`, `TlsFailure`, `NetworkError`) with what/why/next step.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.utils
import urllib3.exceptions

from wizard import APP_NAME, __version__
from wizard.core.clouds import Cloud
from wizard.core.errors import NetworkError, ServiceTimeout, Throttled, TlsFailure, WizardError
from wizard.core.i18n import tr
from wizard.services.cancel import Cancellation, NeverCancelled, check

log = logging.getLogger(__name__)

# Seconds to open a connection and to wait between bytes of the answer.
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0
DEFAULT_TIMEOUT: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT)
USER_AGENT = f"{APP_NAME.replace(' ', '')}/{__version__}"
# Bounds for one answer as a whole: the read timeout is per byte, so a server that
# trickles (or never stops) would otherwise hold a request and fill memory for ever.
# An admin API page of 1,000 mailboxes is a few megabytes.
MAX_ANSWER_BYTES = 32 * 1024 * 1024
ANSWER_DEADLINE = 120.0
_CHUNK = 64 * 1024


class AnswerTooLarge(requests.RequestException):
    """The answer ran over MAX_ANSWER_BYTES (after decompression)."""


class AnswerTooSlow(requests.exceptions.ReadTimeout):
    """The answer kept coming, but not within ANSWER_DEADLINE as a whole."""


def _is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class WizardSession(requests.Session):
    """A requests.Session with a default timeout and environment proxies but no env CA."""

    def __init__(
        self,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        *,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        answer_deadline: float = ANSWER_DEADLINE,
    ) -> None:
        super().__init__()
        self.default_timeout = timeout
        self.max_answer_bytes = max_answer_bytes
        self.answer_deadline = answer_deadline
        # Off so that REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE / .netrc cannot change what
        # this session trusts or sends; proxies are resolved per request below.
        self.trust_env = False
        self.headers["User-Agent"] = USER_AGENT

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        text_url = url.decode() if isinstance(url, bytes) else url
        if kwargs.get("proxies") is None:
            host = urlsplit(text_url).hostname or ""
            if not _is_loopback(host):
                proxies = requests.utils.get_environ_proxies(text_url)
                if proxies:
                    kwargs["proxies"] = proxies
        streamed = bool(kwargs.get("stream"))
        kwargs["stream"] = True
        if streamed:
            return super().request(method, url, *args, **kwargs)
        # Read the body ourselves (as requests would for stream=False), within bounds.
        started = time.monotonic()
        response = super().request(method, url, *args, **kwargs)
        try:
            chunks: list[bytes] = []
            size = 0
            for chunk in _chunks_as_they_come(response):
                size += len(chunk)
                if size > self.max_answer_bytes:
                    raise AnswerTooLarge(
                        f"answer over {self.max_answer_bytes} bytes", response=response
                    )
                if time.monotonic() - started > self.answer_deadline:
                    raise AnswerTooSlow(
                        f"answer not complete after {self.answer_deadline:g} s", response=response
                    )
                chunks.append(chunk)
        except BaseException:
            response.close()
            raise
        release = getattr(response.raw, "release_conn", None)
        if release is not None:
            release()  # read to the end: the connection may serve the next request
        response._content = b"".join(chunks)
        response._content_consumed = True  # type: ignore[attr-defined]
        return response


def _chunks_as_they_come(response: requests.Response) -> Iterator[bytes]:
    """The decoded body in pieces as soon as each arrives (urllib3's read1), so the
    caller sees time pass even when a server trickles; exceptions as requests names
    them (its own iter_content blocks until a whole chunk is in)."""
    raw = response.raw
    if not hasattr(raw, "read1"):
        yield from response.iter_content(_CHUNK)
        return
    try:
        while chunk := raw.read1(_CHUNK, decode_content=True):
            yield chunk
    except urllib3.exceptions.ProtocolError as exc:
        raise requests.exceptions.ChunkedEncodingError(exc) from None
    except urllib3.exceptions.DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(exc) from None
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise requests.exceptions.ConnectionError(exc) from None
    except urllib3.exceptions.SSLError as exc:
        raise requests.exceptions.SSLError(exc) from None


def make_session(
    cloud: Cloud | None = None,
    *,
    ca_bundle: str | None = None,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
) -> WizardSession:
    """A session that trusts `ca_bundle`, else the cloud's bundle, else the system store."""
    session = WizardSession(timeout)
    bundle = ca_bundle or (cloud.ca_bundle if cloud is not None else None)
    # True means requests' own store (certifi); never False.
    session.verify = bundle if bundle else True
    return session


def _host(url: str | None) -> str:
    if not url:
        return ""
    parts = urlsplit(url)
    return parts.hostname or ""


def translate(exc: requests.RequestException, service: str) -> WizardError:
    """A requests exception as a typed, explained error. `service` is in plain words."""
    host = _host(getattr(exc.request, "url", None) if exc.request is not None else None)
    where = f"{service} ({host})" if host else service
    detail = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, requests.exceptions.SSLError):
        return TlsFailure(
            tr("The secure connection to {where} could not be verified.").format(where=where),
            tr(
                "The server's certificate is not trusted by this computer, or something "
                "between you and Microsoft (a proxy or security software) replaced it."
            ),
            tr(
                "Check the computer's date and time, and whether a proxy or antivirus "
                "inspects HTTPS; then try again."
            ),
            detail=detail,
        )
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return ServiceTimeout(
            tr("{where} could not be reached in time.").format(where=where),
            tr("The connection was not answered; the network or a firewall may block it."),
            tr("Check the internet connection and try again."),
            detail=detail,
        )
    if isinstance(exc, requests.exceptions.Timeout):
        return ServiceTimeout(
            tr("{where} did not answer in time.").format(where=where),
            tr("The service is slow or busy right now."),
            tr("Try again in a minute."),
            detail=detail,
        )
    if isinstance(exc, AnswerTooLarge):
        return NetworkError(
            tr("{where} sent an answer far larger than expected.").format(where=where),
            tr("The wizard stopped reading it; no Microsoft 365 answer is that large."),
            tr("Check for a proxy or security appliance in between, then try again."),
            detail=detail,
        )
    if isinstance(exc, requests.exceptions.ProxyError):
        return NetworkError(
            tr("The proxy server refused the connection to {where}.").format(where=where),
            tr("This computer sends web traffic through a proxy, which did not pass it on."),
            tr("Check the proxy settings, or ask whoever manages the network."),
            detail=detail,
        )
    if isinstance(exc, requests.exceptions.ConnectionError):
        return NetworkError(
            tr("{where} could not be reached.").format(where=where),
            tr("The connection was refused or dropped, or the name could not be resolved."),
            tr("Check the internet connection and try again."),
            detail=detail,
        )
    return NetworkError(
        tr("The request to {where} failed.").format(where=where),
        "",
        tr("Try again."),
        detail=detail,
    )


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    service: str,
    headers: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> requests.Response:
    """session.request() with requests' exceptions turned into the wizard's errors."""
    try:
        return session.request(method, url, headers=dict(headers or {}), **kwargs)
    except requests.RequestException as exc:
        error = translate(exc, service)
        log.info("%s %s failed: %s", method, _host(url), error.detail)
        raise error from None


def retry_after_seconds(value: str | None, default: float, limit: float = 300.0) -> float:
    """The Retry-After header (seconds or an HTTP date) as seconds, within [0, limit]."""
    if not value:
        return default
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return default
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if seconds != seconds:  # NaN
        return default
    return max(0.0, min(seconds, limit))


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying a throttled or failing service."""

    # Answers 429 we wait out (honouring Retry-After) before giving up.
    throttle_retries: int = 4
    # Used when a 429 carries no Retry-After.
    default_retry_after: float = 5.0
    # Never wait longer than this for one Retry-After.
    max_retry_after: float = 60.0
    # 5xx answers retried for requests that change nothing (reads).
    server_error_retries: int = 2
    server_error_backoff: float = 1.0


DEFAULT_RETRY = RetryPolicy()
_A_DAY = 86_400.0


def _wait_words(seconds: float) -> str:
    if seconds > 120:
        return tr("Wait {n} minutes, then try again.").format(n=max(1, round(seconds / 60)))
    return tr("Wait {n} seconds, then try again.").format(n=max(1, round(seconds)))


_SERVER_ERRORS = frozenset({500, 502, 503, 504})


def with_retries(
    attempt: Callable[[], requests.Response],
    *,
    service: str,
    idempotent: bool,
    policy: RetryPolicy = DEFAULT_RETRY,
    cancel: Cancellation | None = None,
) -> requests.Response:
    """Run `attempt()` until it is neither throttled nor (for reads) a 5xx.

    Waits go through `cancel.wait()`, so a cancel interrupts them and tests can hand
    in a clock that does not really sleep. Returns the last response, which may
    still be a 5xx for the caller to explain; raises `Throttled` when 429 persists.
    """
    waiter: Cancellation = cancel if cancel is not None else NeverCancelled()
    throttled = 0
    failed = 0
    while True:
        check(cancel)
        response = attempt()
        if response.status_code == 429:
            wait = retry_after_seconds(
                response.headers.get("Retry-After"), policy.default_retry_after, _A_DAY
            )
            # A wait longer than we would ever sit through (Retry-After: 3600) is given
            # back to the user at once, with the time Microsoft asked for, instead of
            # waiting our longest wait several times over and failing anyway.
            if throttled >= policy.throttle_retries or wait > policy.max_retry_after:
                raise Throttled(
                    tr("{service} is throttling this computer's requests.").format(service=service),
                    tr("Microsoft limits how many requests a tenant may make in a short time."),
                    _wait_words(wait),
                    retry_after=wait,
                    detail=f"HTTP 429 after {throttled + 1} attempts; Retry-After {wait:.0f}s",
                )
            throttled += 1
            log.info("%s throttled (HTTP 429); waiting %.1f s", service, wait)
            if waiter.wait(wait):
                check(cancel)
            continue
        if idempotent and response.status_code in _SERVER_ERRORS:
            if failed < policy.server_error_retries:
                failed += 1
                wait = policy.server_error_backoff * (2 ** (failed - 1))
                log.info(
                    "%s answered HTTP %s; trying again in %.1f s",
                    service,
                    response.status_code,
                    wait,
                )
                if waiter.wait(wait):
                    check(cancel)
                continue
        return response
