"""Generated hostile inputs (issue 14, "the probes become part of the suite"): site
profiles and each subcommand's arguments, from hypothesis with a fixed seed, a fixed
number of examples and a per-example deadline.

Properties: a profile is read or refused with a ProfileError and never changed; every
command ends with an exit code of 0-3 and a plain message, never a traceback. Every
value that could reach a network is a loopback one (the network guard of conftest
fails the test otherwise), and time limits are tiny or bad, so each run is quick.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from tests.cli_helpers import CliRun, run_cli
from tests.hostile_servers import HostileDns, endless_greeting, hostile_server, truncated_everywhere
from tests.test_cli_sheet import PROFILE
from wizard.core.errors import ProfileError
from wizard.core.profile import SiteProfile
from wizard.services.profile_store import load_profile

SEED = 14
# Generous per example (a sheet renders a PDF), but bounded: a hang fails, not waits.
DEADLINE_MS = 3000


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=DEADLINE_MS,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


def _mostly(good: list[str], bad: list[str]) -> st.SearchStrategy[str]:
    """Good values (each) five times as often as bad ones, so runs get past the checks."""
    return st.sampled_from(good * 5 + bad)


def _assert_plain(done: CliRun, argv: list[str]) -> None:
    assert done.code in (0, 1, 2, 3), (argv, done.code, done.err)
    assert "Traceback" not in done.err + done.out, (argv, done.err)
    if done.code == 2 and "usage:" not in done.err:
        assert "error:" in done.err, (argv, done.err)


# Profiles ---------------------------------------------------------------------------

_odd_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "\r\n", "\x00", "\ufeff", "x" * 200, "p" * 5000, "nan"]),
)
_json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    _odd_text,
)
_json = st.recursive(
    _json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
_KEYS = {
    "": ["schema_version", "site", "method", "printers", "extra"],
    "site": ["name", "domain", "cloud", "public_ip", "static_ip", "daily_volume"],
    "printer": ["name", "vendor", "model", "location", "sender", "username", "tls12"],
}


@st.composite
def _mutated_profile(draw: st.DrawFn) -> str:
    """A real profile with a few values replaced by anything JSON can hold."""
    data: dict[str, Any] = json.loads(json.dumps(PROFILE))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        where = draw(st.sampled_from(["", "site", "printer"]))
        key = draw(st.sampled_from(_KEYS[where]))
        value = draw(
            st.one_of(
                _json,
                st.sampled_from(["hve", "connector", "gcc-high", "china", "sandbox", 2, 0]),
            )
        )
        if where == "":
            data[key] = value
        elif where == "site" and isinstance(data.get("site"), dict):
            data["site"][key] = value
        elif isinstance(data.get("printers"), list) and data["printers"]:
            printer = data["printers"][0]
            if isinstance(printer, dict):
                printer[key] = value
    text = json.dumps(data)
    return draw(
        st.sampled_from(
            [text, "\ufeff" + text, text[: len(text) // 2], "[" * 2000 + "]" * 2000, text + "x"]
        )
    )


_profile_bytes = st.one_of(
    _mutated_profile().map(lambda t: t.encode("utf-8")),
    st.binary(max_size=200),
    _json.map(lambda v: json.dumps(v).encode()),
)


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="hard-edges-") as folder:
        yield Path(folder)


@seed(SEED)
@_settings(200)
@given(raw=_profile_bytes)
def test_any_profile_is_read_or_refused_and_never_changed(scratch: Path, raw: bytes) -> None:
    path = scratch / "generated.json"
    path.write_bytes(raw)
    try:
        profile = load_profile(path)
    except ProfileError as exc:
        assert exc.what  # a plain sentence, whatever the file held
    else:
        assert isinstance(profile, SiteProfile)
        profile.site.problems()
        for printer in profile.printers:
            printer.problems(profile.site.domain)
    assert path.read_bytes() == raw


# Subcommand arguments -----------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def endpoints(scratch: Path) -> Iterator[dict[str, Any]]:
    """Loopback targets for the generated runs: a hostile SMTP and DNS server, a closed
    port, and files of every awkward kind."""
    good = scratch / "good.json"
    good.write_text(json.dumps(PROFILE), encoding="utf-8")
    relay = scratch / "relay.json"
    relay.write_text(json.dumps({**PROFILE, "method": "direct-send"}), encoding="utf-8")
    damaged = scratch / "damaged.json"
    damaged.write_text('{"schema_version": 1, "site": ', encoding="utf-8")
    fifo = scratch / "fifo"
    os.mkfifo(fifo)
    (scratch / "folder").mkdir()
    with hostile_server(endless_greeting) as smtp, HostileDns(truncated_everywhere) as dns:
        yield {
            "smtp": str(smtp.port),
            "dns": f"127.0.0.1:{dns.port}",
            "closed": str(_closed_port()),
            "profiles": [str(good), str(relay), str(damaged), str(fifo), "/dev/zero", "missing"],
            "outputs": [
                str(scratch / "out.pdf"),
                str(good),
                str(fifo),
                str(scratch / "folder"),
                str(scratch / "no" / "such" / "x.pdf"),
                "/dev/null",
            ],
        }


_BAD_NUMBERS = ["nan", "inf", "-inf", "1e309", "-1", "0", "abc", "", "1e-9"]
_times = _mostly(["0.2", "0.3", "0.5"], _BAD_NUMBERS)
_addresses = st.one_of(
    _mostly(
        ["scanner@contoso.example", "it@contoso.example", "jürgen@contoso.example"],
        ["no-at-sign", "a@b", "x@contoso.example\r\nRCPT TO:<evil@x>", ""],
    ),
    st.emails().map(str),
)


@seed(SEED)
@_settings(60)
@given(data=st.data())
def test_check_dns_arguments(endpoints: dict[str, Any], data: st.DataObject) -> None:
    argv = ["check-dns", data.draw(_mostly(["contoso.example"], ["", "a..b", "x" * 300]))]
    argv += ["--nameserver", data.draw(_mostly([endpoints["dns"]], ["127.0.0.1:99999"]))]
    options = data.draw(
        st.lists(
            st.sampled_from(
                ["--timeout", "--budget", "--method", "--site-ip", "--json", "--blocklist"]
            ),
            max_size=4,
        )
    )
    for option in options:
        argv.append(option)
        if option in ("--timeout", "--budget"):
            argv.append(data.draw(_times))
        elif option == "--method":
            argv.append(data.draw(st.sampled_from(["connector", "direct-send", "hve", "x"])))
        elif option == "--blocklist":
            argv.append(data.draw(_mostly(["zen.spamhaus.org"], ["", "..", "x" * 300, "a b"])))
        elif option == "--site-ip":
            argv.append(data.draw(_mostly(["203.0.113.7"], ["10.0.0.1", "::1", "999.1.1.1", ""])))
    # Always short: a generated valid limit is tiny, and the last one given wins.
    argv += ["--timeout", "0.2", "--budget", "0.5"] if "--timeout" not in options else []
    _assert_plain(run_cli(argv), argv)


@seed(SEED)
@_settings(50)
@given(data=st.data())
def test_send_test_arguments(endpoints: dict[str, Any], data: st.DataObject) -> None:
    method = data.draw(st.sampled_from(["smtp-auth", "smtp-auth-oauth", "direct-send", "hve"]))
    argv = ["send-test", "--method", method]
    argv += ["--from", data.draw(_addresses), "--to", data.draw(_addresses)]
    argv += ["--host", data.draw(_mostly(["127.0.0.1", "localhost"], [" ", "127.0.0.1 x"]))]
    port = data.draw(_mostly([endpoints["smtp"], endpoints["closed"]], ["0", "65536", "-1", "x"]))
    argv += ["--port", port]
    argv += ["--timeout", data.draw(_times)]
    extra = data.draw(
        st.lists(
            st.sampled_from(["--username", "--cafile", "--keyring-entry", "--json", "--cloud"]),
            max_size=3,
            unique=True,
        )
    )
    for option in extra:
        argv.append(option)
        if option == "--username":
            argv.append(data.draw(st.one_of(_addresses, st.text(max_size=20))))
        elif option == "--cafile":
            argv.append(data.draw(st.sampled_from(["/dev/zero", "missing.pem", "/"])))
        elif option == "--keyring-entry":
            argv.append(data.draw(st.text(max_size=20)))
        elif option == "--cloud":
            argv.append(data.draw(_mostly(["worldwide", "gcc"], ["gcc-high", "dod", "mars"])))
    stdin = b""
    if "--keyring-entry" not in extra and data.draw(st.sampled_from([True] * 5 + [False])):
        argv.append("--password-stdin")
        stdin = data.draw(
            st.one_of(st.sampled_from([b"pw\n"] * 5 + [b"", b"\xff\xfe\n"]), st.binary(max_size=40))
        )
    _assert_plain(run_cli(argv, stdin=stdin), argv)


@seed(SEED)
@_settings(40)
@given(data=st.data())
def test_sheet_arguments(qapp: object, endpoints: dict[str, Any], data: st.DataObject) -> None:
    profiles, outputs = endpoints["profiles"], endpoints["outputs"]
    argv = ["sheet", data.draw(_mostly(profiles[:2], profiles[2:]))]
    argv += ["-o", data.draw(_mostly(outputs[:1], outputs[1:]))]
    options = data.draw(
        st.lists(
            st.sampled_from(
                [
                    "--printer",
                    "--paper",
                    "--mx-host",
                    "--one-file-per-printer",
                    "--include-password",
                ]
            ),
            max_size=3,
            unique=True,
        )
    )
    for option in options:
        argv.append(option)
        if option == "--printer":
            argv.append(data.draw(_mostly(["Warehouse"], ["nobody", "", "p" * 500])))
        elif option == "--paper":
            argv.append(data.draw(_mostly(["a4", "letter"], ["a5"])))
        elif option == "--mx-host":
            argv.append(
                data.draw(
                    _mostly(
                        ["contoso-com.mail.protection.outlook.com"], ["mx.evil.example", "*", ""]
                    )
                )
            )
    # Relay profiles look the MX up: only ever through the hostile loopback DNS server.
    argv += ["--nameserver", endpoints["dns"]]
    _assert_plain(run_cli(argv), argv)


@seed(SEED)
@_settings(60)
@given(
    command=st.sampled_from(["audit", "tenant-probe", "self-test", "sandbox"]),
    words=st.lists(
        st.sampled_from(["--json", "--cloud", "mars", "gcc-high", "--tenant", "", "-x", "--out"]),
        max_size=4,
    ),
)
def test_other_subcommands_parse_or_refuse_plainly(command: str, words: list[str]) -> None:
    # These sign in, open windows or serve: only their argument parsing is generated.
    from wizard.app import build_parser

    argv = [command, *words]
    try:
        build_parser().parse_args(argv)
    except SystemExit as exc:
        assert exc.code == 2, (argv, exc.code)
