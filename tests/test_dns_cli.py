"""`python main.py check-dns` against the running sandbox tenant (its DNS server)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.dns_helpers import publish
from wizard.app import main
from wizard.core.dns.model import RecordFix
from wizard.sandbox.tenant import DEMO_DOMAIN, DEMO_SITE_IP


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["check-dns", *args])
    return code, capsys.readouterr().out


def fix_from_json(data: dict[str, Any]) -> RecordFix:
    return RecordFix(
        name=data["name"],
        host=data["host"],
        rtype=data["type"],
        value=data["value"],
        ttl=data["ttl"],
        action=data["action"],
        replaces=tuple(data["replaces"]),
    )


def test_demo_domain_problems_then_green_after_publishing(
    sandbox: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    ns = f"{sandbox.dns.host}:{sandbox.dns.port}"
    code, out = run(capsys, DEMO_DOMAIN, "--nameserver", ns, "--json")
    assert code == 1
    report = json.loads(out)
    assert report["schema_version"] == 1 and report["domain"] == DEMO_DOMAIN
    assert report["site_ip"] == DEMO_SITE_IP and report["site_ip_source"] == "detected"
    problems = {c["id"]: c for c in report["checks"] if c["status"] not in ("pass", "info")}
    assert set(problems) == {"spf-site-ip", "dkim-selector2", "dmarc"}
    assert problems["spf-site-ip"]["fix"]["value"] == (
        f"v=spf1 include:spf.protection.outlook.com ip4:{DEMO_SITE_IP} -all"
    )
    for check in problems.values():
        publish(sandbox.state, fix_from_json(check["fix"]))

    code, out = run(capsys, DEMO_DOMAIN, "--nameserver", ns, "--json")
    after = json.loads(out)
    assert code == 0, [c for c in after["checks"] if c["status"] not in ("pass", "info")]
    assert after["overall"] in ("pass", "info")


def test_human_output_and_method(sandbox: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ns = f"{sandbox.dns.host}:{sandbox.dns.port}"
    code, out = run(
        capsys, DEMO_DOMAIN, "--nameserver", ns, "--method", "connector", "--site-ip", DEMO_SITE_IP
    )
    assert code == 1
    assert "[FAIL] The office's IP is an allowed sender (SPF)" in out
    assert "Publish: selector2._domainkey  CNAME  selector2-contoso-example03i." in out
    assert "3 record(s) to publish" in out
    assert "203.0.113.25 (entered by hand)" in out


def test_bad_input_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-dns", "not a domain", "--nameserver", "127.0.0.1:9"]) == 2
    assert main(["check-dns", "contoso.example", "--nameserver", "127.0.0.1:99999"]) == 2
    assert "error:" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["check-dns", "contoso.example", "--method", "carrier-pigeon"])
    assert exit_info.value.code == 2


def test_unreachable_dns_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    from wizard.sandbox.dns_server import DnsServer
    from wizard.sandbox.tenant import demo_tenant

    with DnsServer(demo_tenant()) as server:
        dead = f"127.0.0.1:{server.endpoint.port}"
    code, out = run(capsys, DEMO_DOMAIN, "--nameserver", dead, "--timeout", "0.2", "--json")
    assert code == 3
    statuses = {c["id"]: c["status"] for c in json.loads(out)["checks"]}
    assert statuses["mx"] == statuses["spf"] == statuses["dmarc"] == "error"
