"""`python main.py sheet PROFILE.json -o OUT.pdf`: offscreen, exit codes, passwords."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QImage

from tests.memory_keyring import MemoryKeyring
from tests.pdf_helpers import (
    decode_qr,
    ink_ratio,
    page_sizes,
    pages_text,
    poppler_pages,
    render_pages,
    squash,
)
from wizard.app import main as app_main
from wizard.services.secrets import SecretStore

ROOT = Path(__file__).resolve().parent.parent
CANARY = "Canary-Pw-42e0c1"

PROFILE: dict[str, Any] = {
    "schema_version": 1,
    "site": {
        "name": "Contoso HQ",
        "domain": "contoso.com",
        "cloud": "worldwide",
        "public_ip": "203.0.113.7",
    },
    "method": "smtp-auth",
    "printers": [
        {
            "name": "Reception Scanner",
            "vendor": "canon",
            "model": "imageRUNNER ADVANCE DX C5840i",
            "location": "Ground floor, reception",
            "sender": "scanner@contoso.com",
            "username": None,
        },
        {
            "name": "Accounts MFP",
            "vendor": "sharp",
            "model": "BP-70C45",
            "location": "Accounts office",
            "sender": "accounts@contoso.com",
        },
        {
            "name": "Warehouse",
            "vendor": "lexmark",
            "model": "CX735adse",
            "location": "Dock 3",
            "sender": "warehouse@contoso.com",
        },
    ],
}


def _write(tmp_path: Path, data: dict[str, Any] | str, name: str = "site.json") -> Path:
    path = tmp_path / name
    text = data if isinstance(data, str) else json.dumps(data)
    path.write_text(text, encoding="utf-8")
    return path


def _run(
    tmp_path: Path, *args: str, platform: str = "offscreen"
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["RELAY_WIZARD_HOME"] = str(tmp_path / "home")
    env["QT_QPA_PLATFORM"] = platform
    # An empty keyring of our own: never the machine's.
    env["PYTHON_KEYRING_BACKEND"] = "tests.memory_keyring.MemoryKeyring"
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "sheet", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_three_vendors_make_a_three_page_handout(tmp_path: Path, output_dir: Path) -> None:
    profile = _write(tmp_path, PROFILE)
    out = tmp_path / "sheets.pdf"
    # An empty QT_QPA_PLATFORM is not "unset": the command must still go offscreen.
    done = _run(tmp_path, str(profile), "-o", str(out), platform="")
    assert done.returncode == 0, done.stderr
    assert "3 sheet" in done.stdout
    pdf = output_dir / "cli-sheets-three-vendors.pdf"
    pdf.write_bytes(out.read_bytes())
    pages = pages_text(out.read_bytes())
    assert len(pages) == 3
    for printer, text in zip(PROFILE["printers"], pages, strict=True):
        flat = squash(text)
        for key in ("name", "model", "location", "sender"):
            assert squash(printer[key]) in flat
        assert "smtp.office365.com" in flat and "Keptinthekeyring" in flat
    pngs = render_pages(pdf, output_dir / "cli-sheets-three-vendors", 80)
    assert len(pngs) == 3
    for png in pngs:
        assert ink_ratio(QImage(str(png))) > 0.02
    assert decode_qr(QImage(str(render_pages(pdf, tmp_path / "qr", 150)[0])))


def test_one_printer_letter_paper(tmp_path: Path) -> None:
    profile = _write(tmp_path, PROFILE)
    out = tmp_path / "one.pdf"
    done = _run(
        tmp_path, str(profile), "-o", str(out), "--printer", "accounts mfp", "--paper", "letter"
    )
    assert done.returncode == 0, done.stderr
    assert page_sizes(out.read_bytes()) == [(612.0, 792.0)]
    (text,) = poppler_pages(out)
    assert "Accounts MFP" in text and "Reception Scanner" not in text


def test_one_file_per_printer(tmp_path: Path) -> None:
    profile = _write(tmp_path, PROFILE)
    done = _run(tmp_path, str(profile), "-o", str(tmp_path / "out"), "--one-file-per-printer")
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["Accounts-MFP.pdf", "Reception-Scanner.pdf", "Warehouse.pdf"]


@pytest.mark.parametrize(
    "content,args,message",
    [
        (None, [], "does not exist"),
        ('{"schema_version": 1, "site": {', [], "damaged"),
        ({**PROFILE, "method": None}, [], "no sending method"),
        (PROFILE, ["--printer", "Basement Fax"], "No printer is called 'Basement Fax'"),
        ({**PROFILE, "printers": []}, [], "no printers"),
        ({**PROFILE, "site": {**PROFILE["site"], "cloud": "sandbox"}}, [], "sandbox"),
        (PROFILE, ["--include-password"], "holds no password for Reception Scanner"),
    ],
)
def test_bad_input_exits_2_with_a_plain_message(
    tmp_path: Path, content: dict[str, Any] | str | None, args: list[str], message: str
) -> None:
    profile = tmp_path / "missing.json" if content is None else _write(tmp_path, content)
    out = tmp_path / "out.pdf"
    done = _run(tmp_path, str(profile), "-o", str(out), *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()


def test_include_password_reads_the_keyring(
    qapp: object, tmp_path: Path, memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str]
) -> None:
    """In process, so the test's in-memory keyring is the one the command reads."""
    SecretStore().set("Contoso HQ", "smtp-password:scanner@contoso.com", CANARY)
    SecretStore().set("Contoso HQ", "smtp-password:accounts@contoso.com", CANARY + "-2")
    SecretStore().set("Contoso HQ", "smtp-password:warehouse@contoso.com", CANARY + "-3")
    profile = _write(tmp_path, PROFILE)
    plain, secret = tmp_path / "plain.pdf", tmp_path / "secret.pdf"
    assert app_main(["sheet", str(profile), "-o", str(plain)]) == 0
    assert app_main(["sheet", str(profile), "-o", str(secret), "--include-password"]) == 0
    assert "contain passwords" in capsys.readouterr().err
    assert all(CANARY not in squash(t) for t in poppler_pages(plain))
    texts = [squash(t) for t in poppler_pages(secret)]
    assert CANARY in texts[0] and CANARY + "-2" in texts[1] and CANARY + "-3" in texts[2]
    # Never in the QR code, even on a sheet that prints the password.
    (code,) = decode_qr(render_pages_image(secret, tmp_path))
    assert CANARY not in code and "User name: scanner@contoso.com" in code.splitlines()


def render_pages_image(pdf: Path, folder: Path) -> QImage:
    return QImage(str(render_pages(pdf, folder / "page", 150)[0]))


TENANT_MX = "contoso-com01b.mail.protection.outlook.com"


def test_include_password_is_a_no_op_without_passwords(tmp_path: Path) -> None:
    profile = _write(tmp_path, {**PROFILE, "method": "connector"})
    out = tmp_path / "relay.pdf"
    done = _run(
        tmp_path, str(profile), "-o", str(out), "--include-password", "--mx-host", TENANT_MX
    )
    assert done.returncode == 0, done.stderr
    assert "signs in without a password" in done.stderr
    assert f"Relay host {TENANT_MX} (from the tenant" in done.stderr
    assert TENANT_MX in poppler_pages(out)[0]


def test_relay_host_from_the_live_mx_or_explained_when_not_found(tmp_path: Path) -> None:
    from wizard.sandbox.dns_server import DnsServer
    from wizard.sandbox.tenant import TenantState

    state = TenantState(tenant_id="t", display_name="Contoso", initial_domain="c.example")
    state.set_record("contoso.com", "MX", f"0 {TENANT_MX}.")
    profile = _write(tmp_path, {**PROFILE, "method": "direct-send"})
    out = tmp_path / "direct.pdf"
    with DnsServer(state) as dns:
        nameserver = f"{dns.endpoint.host}:{dns.endpoint.port}"
        done = _run(tmp_path, str(profile), "-o", str(out), "--nameserver", nameserver)
        assert done.returncode == 0, done.stderr
        assert "from the domain's MX record in DNS" in done.stderr
        assert TENANT_MX in poppler_pages(out)[0]

        # The MX goes to a filter and the dashed guess does not exist: nothing computed.
        state.set_record("contoso.com", "MX", "10 mx1.mimecast.com.")
        done = _run(tmp_path, str(profile), "-o", str(out), "--nameserver", nameserver)
        assert done.returncode == 0, done.stderr
        assert "Relay host not found" in done.stderr and "--mx-host" in done.stderr
        text = poppler_pages(out)[0]
        assert "Not known yet" in text and "contoso-com.mail.protection" not in text

    bad = _run(tmp_path, str(profile), "-o", str(out), "--mx-host", "mx1.mimecast.com")
    assert bad.returncode == 2 and "not a Microsoft 365 MX host" in bad.stderr


def test_local_relay_sheets_come_from_the_relay_settings(
    qapp: object, tmp_path: Path, memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str]
) -> None:
    """In process: the relay's settings file and the keyring the Relay step wrote."""
    from wizard.core.relay import OnwardTarget, RelayConfig, RelayDevice
    from wizard.services.relay import save_config

    config = RelayConfig(
        site="Contoso HQ",
        listen_address="192.168.1.20",
        hostname="relay.contoso.lan",
        onward=OnwardTarget("worldwide", "t", "c", "https://login", "smtp", 587, "s"),
        devices=(
            RelayDevice("Reception Scanner", "192.168.1.50", "scanner", "scanner@contoso.com"),
        ),
    )
    relay_file = save_config(config, tmp_path / "relay.json")
    SecretStore().set("Contoso HQ", "relay-device-password:scanner", CANARY)
    profile = _write(tmp_path, {**PROFILE, "method": "local-relay"})
    out = tmp_path / "relay-sheets.pdf"
    args = ["sheet", str(profile), "-o", str(out), "--relay-config", str(relay_file)]
    assert app_main([*args, "--printer", "Reception Scanner"]) == 0
    text = squash(poppler_pages(out)[0])
    assert "192.168.1.20" in text and "scanner" in text and CANARY not in text
    assert "smtp.office365.com" in text  # where the relay sends on, in the notes
    assert app_main([*args, "--printer", "Reception Scanner", "--include-password"]) == 0
    assert CANARY in squash(poppler_pages(out)[0])
    # A printer the relay does not know yet is said, not silently given Microsoft's host.
    assert app_main(args) == 0
    assert "the relay does not know Accounts MFP, Warehouse yet" in capsys.readouterr().err
