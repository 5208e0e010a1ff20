"""check-dns against bad values and a hostile DNS server (issue 14, items 6 and 8)."""

from __future__ import annotations

import json

import pytest

from tests.cli_helpers import run_cli
from tests.hostile_servers import (
    HostileDns,
    private_address_for_everything,
    truncated_everywhere,
)
from wizard.core.errors import InvalidInput
from wizard.services.dns.client import DnsSettings


@pytest.mark.parametrize(
    "option",
    [
        ["--timeout", "nan"],
        ["--timeout", "inf"],
        ["--timeout", "1e309"],
        ["--budget", "nan"],
        ["--budget", "-1"],
        ["--timeout", "0"],
    ],
)
def test_time_limits_that_never_end_are_bad_input(option: list[str]) -> None:
    # Before any question is sent: no nameserver is given and none is asked.
    done = run_cli(["check-dns", "contoso.example", *option])
    assert done.code == 2, done.err
    assert "must be a number of seconds above 0" in done.err


def test_the_dns_settings_refuse_nan_themselves() -> None:
    with pytest.raises(InvalidInput):
        DnsSettings(query_timeout=float("nan"))
    with pytest.raises(InvalidInput):
        DnsSettings(budget=float("nan"))


def test_an_answer_truncated_also_over_tcp_is_not_a_missing_record() -> None:
    # The README promises a record is called missing only when DNS says it is missing.
    with HostileDns(truncated_everywhere) as server:
        done = run_cli(
            [
                "check-dns",
                "contoso.example",
                "--nameserver",
                f"127.0.0.1:{server.port}",
                "--timeout",
                "1",
                "--json",
            ]
        )
    assert done.code == 3, done.err
    checks = {c["id"]: c for c in json.loads(done.out)["checks"]}
    for key in ("mx", "spf", "dmarc", "dkim-selector1"):
        assert checks[key]["status"] == "error", checks[key]
        assert checks[key].get("fix") is None


@pytest.mark.parametrize("ip", ["10.0.0.1", "192.168.1.20", "127.0.0.1", "240.0.0.1"])
def test_a_private_or_reserved_site_ip_gets_no_spf_fix(ip: str) -> None:
    done = run_cli(["check-dns", "contoso.example", "--method", "connector", "--site-ip", ip])
    assert done.code == 2, done.err
    assert ip in done.err
    assert "ip4:" not in done.out


def test_a_private_address_detected_as_the_site_ip_gets_no_spf_fix() -> None:
    with HostileDns(private_address_for_everything) as server:
        done = run_cli(
            [
                "check-dns",
                "contoso.example",
                "--method",
                "connector",
                "--nameserver",
                f"127.0.0.1:{server.port}",
                "--timeout",
                "1",
                "--json",
            ]
        )
    report = json.loads(done.out)
    assert report["site_ip"] is None, report["site_ip"]
    assert "ip4:10.0.0.1" not in done.out
