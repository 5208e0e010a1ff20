"""Test setup: offscreen Qt, a private home folder, an in-memory keyring, no internet.

The network guard lets a test talk to loopback only. Code under test may catch the
OSError the guard raises (our services turn network errors into messages), so every
attempt is also recorded and fails the test at teardown.
"""

from __future__ import annotations

import gc
import ipaddress
import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Before anything imports Qt. An empty value is not the same as unset (STACK-NOTES).
if not os.environ.get("QT_QPA_PLATFORM"):
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
# The machine's REQUESTS_CA_BUNDLE must not decide what our sessions trust.
os.environ.pop("REQUESTS_CA_BUNDLE", None)
os.environ.pop("CURL_CA_BUNDLE", None)

import keyring  # noqa: E402

from tests.memory_keyring import MemoryKeyring  # noqa: E402

OUTPUT_DIR = Path(__file__).resolve().parent.parent / "test-output"

_violations: list[str] = []


def _is_loopback(address: Any) -> bool:
    if isinstance(address, (str, bytes)):
        return True  # AF_UNIX
    if not isinstance(address, tuple) or not address:
        return True
    host = address[0]
    if isinstance(host, bytes):
        host = host.decode()
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_sendto = socket.socket.sendto


def _guard(address: Any) -> None:
    if not _is_loopback(address):
        _violations.append(repr(address))
        raise OSError(f"test network guard: connection to {address!r} refused (not loopback)")


def _connect(self: socket.socket, address: Any) -> None:
    _guard(address)
    _real_connect(self, address)


def _connect_ex(self: socket.socket, address: Any) -> int:
    _guard(address)
    return _real_connect_ex(self, address)


def _sendto(self: socket.socket, data: Any, *args: Any) -> int:
    _guard(args[-1])
    return _real_sendto(self, data, *args)


socket.socket.connect = _connect  # type: ignore[method-assign, assignment]
socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign, assignment]
socket.socket.sendto = _sendto  # type: ignore[method-assign, assignment]


# As the app does (wizard/ui/gc_guard.py): the cycle collector must never run on a
# sandbox or worker thread, where it could destroy a finished test's widgets. It runs
# between tests instead, on this (the UI) thread.
gc.disable()


@pytest.fixture(autouse=True)
def _collect_garbage_on_the_ui_thread() -> Iterator[None]:
    yield
    gc.collect()


@pytest.fixture(autouse=True)
def _no_internet() -> Iterator[None]:
    _violations.clear()
    yield
    if _violations:
        found = ", ".join(_violations)
        _violations.clear()
        pytest.fail(f"the test tried to reach a non-loopback address: {found}")


@pytest.fixture(autouse=True)
def _private_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("RELAY_WIZARD_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    backend = MemoryKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


class _WarningCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def _fail_on_logged_warnings(request: pytest.FixtureRequest) -> Iterator[_WarningCollector]:
    """A test that logs an unexpected warning fails; expect them with `expected_warnings`."""
    collector = _WarningCollector()
    root = logging.getLogger()
    root.addHandler(collector)
    yield collector
    root.removeHandler(collector)
    if "expected_warnings" in request.fixturenames:
        return
    if collector.records:
        lines = "; ".join(f"{r.name}: {r.getMessage()}" for r in collector.records[:5])
        pytest.fail(f"unexpected warnings were logged: {lines}")


@pytest.fixture
def expected_warnings(_fail_on_logged_warnings: _WarningCollector) -> list[logging.LogRecord]:
    """Request this fixture in a test that logs warnings on purpose, then check them."""
    return _fail_on_logged_warnings.records


@pytest.fixture(scope="session")
def output_dir() -> Path:
    """Screenshots and PDFs a person may want to look at after the run."""
    OUTPUT_DIR.mkdir(exist_ok=True)
    return OUTPUT_DIR


@pytest.fixture
def sandbox() -> Iterator[Any]:
    """A running sandbox tenant (demo_tenant()) on loopback; stopped after the test."""
    from wizard.sandbox.server import Sandbox

    with Sandbox() as running:
        # The demo's message-trace lag is for people; a test that needs it sets it.
        running.state.trace_delay = 0.0
        yield running
