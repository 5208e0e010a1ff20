"""A stand-in browser for the sandbox's sign-in pages: what a person's browser would do.

`complete_sign_in(auth_url, upn)` opens the authorize page, presses the account's
button (or Cancel when `upn` is None) and, like a browser running the page's
auto-submit script, posts `code` and `state` to the app's loopback redirect URI.
`StandInBrowser` wraps it as a `webbrowser.open`-like callable that works in a
thread, because MSAL serves its redirect listener only after `open` returns.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import requests

DEFAULT_TIMEOUT = 10.0


class SignInPageError(Exception):
    """The page did not offer what the stand-in browser was asked to do."""

    def __init__(self, message: str, page: str = "") -> None:
        super().__init__(message)
        self.page = page


@dataclass
class BrowserResult:
    status: int
    url: str
    text: str


@dataclass
class _Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str]] = field(default_factory=list)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[_Form] = []
        self.alerts: list[str] = []
        self._in_alert = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(_Form(a.get("action", ""), a.get("method", "get").lower()))
        elif tag == "input" and self.forms and a.get("name"):
            if a.get("type", "text") == "hidden":
                self.forms[-1].fields[a["name"]] = a.get("value", "")
        elif tag == "button" and self.forms and a.get("name"):
            self.forms[-1].buttons.append((a["name"], a.get("value", "")))
        elif a.get("role") == "alert":
            self._in_alert = True

    def handle_endtag(self, tag: str) -> None:
        self._in_alert = False

    def handle_data(self, data: str) -> None:
        if self._in_alert and data.strip():
            self.alerts.append(data.strip())


def _parse(html: str) -> _FormParser:
    parser = _FormParser()
    parser.feed(html)
    parser.close()
    return parser


def _session(ca_pem: str | Path | None) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE and proxies must not decide
    if ca_pem is not None:
        session.verify = str(ca_pem)
    return session


def _page_problem(response: requests.Response) -> SignInPageError:
    parsed = _parse(response.text)
    reason = "; ".join(parsed.alerts) or f"HTTP {response.status_code}"
    return SignInPageError(f"the sign-in page refused: {reason}", response.text)


def _press(
    session: requests.Session, response: requests.Response, button: tuple[str, str], timeout: float
) -> requests.Response:
    forms = [f for f in _parse(response.text).forms if button in f.buttons]
    if not forms:
        raise SignInPageError(f"no button {button[0]}={button[1]!r} on the page", response.text)
    form = forms[0]
    data = dict(form.fields)
    data[button[0]] = button[1]
    target = urljoin(response.url, form.action)
    return session.post(target, data=data, timeout=timeout, allow_redirects=False)


def _follow(
    session: requests.Session, response: requests.Response, timeout: float
) -> BrowserResult:
    """Follow redirects and auto-submitting forms until a page that stays."""
    for _ in range(10):
        if response.is_redirect:
            target = urljoin(response.url, response.headers["Location"])
            response = session.get(target, timeout=timeout, allow_redirects=False)
            continue
        parsed = (
            _parse(response.text) if "html" in response.headers.get("Content-Type", "") else None
        )
        if parsed and 'onload="document.forms[0].submit()"' in response.text and parsed.forms:
            form = parsed.forms[0]
            target = urljoin(response.url, form.action)
            response = session.post(
                target, data=form.fields, timeout=timeout, allow_redirects=False
            )
            continue
        break
    return BrowserResult(response.status_code, response.url, response.text)


def complete_sign_in(
    auth_url: str,
    upn: str | None,
    *,
    ca_pem: str | Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> BrowserResult:
    """Sign in as `upn` on the authorize page (None presses Cancel); returns the last page."""
    with _session(ca_pem) as session:
        response = session.get(auth_url, timeout=timeout, allow_redirects=True)
        if response.status_code != 200:
            raise _page_problem(response)
        if 'onload="document.forms[0].submit()"' in response.text:
            # Entra sent an error straight back to the app (e.g. AADSTS65002) without
            # showing a sign-in page: a browser follows the auto-submitting form.
            return _follow(session, response, timeout)
        button = ("cancel", "1") if upn is None else ("upn", upn)
        response = _press(session, response, button, timeout)
        return _follow(session, response, timeout)


def complete_device_sign_in(
    verification_uri: str,
    user_code: str,
    upn: str | None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> BrowserResult:
    """Enter a device code and pick `upn` (None declines); returns the last page."""
    with _session(None) as session:
        response = session.get(verification_uri, timeout=timeout)
        forms = _parse(response.text).forms
        if response.status_code != 200 or not forms:
            raise _page_problem(response)
        target = urljoin(response.url, forms[0].action)
        response = session.post(target, data={"otc": user_code}, timeout=timeout)
        if response.status_code != 200:
            raise _page_problem(response)
        button = ("cancel", "1") if upn is None else ("upn", upn)
        response = _press(session, response, button, timeout)
        if response.status_code != 200:
            raise _page_problem(response)
        return BrowserResult(response.status_code, response.url, response.text)


class StandInBrowser:
    """A `webbrowser.open`-like callable that signs in as `upn` in a background thread.

    Use as `monkeypatch.setattr(webbrowser, "open", StandInBrowser(upn).open)` or pass
    `open` wherever a browser opener is expected; then `join()` and check `result`.
    """

    def __init__(
        self, upn: str | None, *, ca_pem: str | Path | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.upn = upn
        self.ca_pem = ca_pem
        self.timeout = timeout
        self.opened: list[str] = []
        self.result: BrowserResult | None = None
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        self.opened.append(url)
        self._thread = threading.Thread(target=self._run, args=(url,), name="stand-in-browser")
        self._thread.start()
        return True

    def _run(self, url: str) -> None:
        try:
            self.result = complete_sign_in(url, self.upn, ca_pem=self.ca_pem, timeout=self.timeout)
        except BaseException as exc:  # handed to the test through join()
            self.error = exc

    def join(self, timeout: float | None = None) -> BrowserResult | None:
        """Wait for the sign-in to end; re-raise what went wrong in the thread."""
        if self._thread is not None:
            self._thread.join(timeout)
        if self.error is not None:
            raise self.error
        return self.result
