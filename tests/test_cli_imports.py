"""Each command imports only what it uses (issue 14: start-up is most of a command's time).

Checked in a fresh interpreter by the modules loaded once the command has run: a
check of behaviour, not of time. The time itself is measured by tests/bench.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.dns_helpers import dns_sandbox
from wizard.sandbox.tenant import DEMO_DOMAIN, DEMO_SITE_IP, demo_tenant

ROOT = Path(__file__).resolve().parents[1]

# Runs the real entry point, then reports the loaded modules on stderr's last line
# (argparse's --version ends with SystemExit, so the report is made in `finally`).
_PROBE = """
import json, sys
from wizard.app import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
finally:
    print(json.dumps(sorted(sys.modules)), file=sys.stderr)
sys.exit(code)
"""

# Heavy packages no command below needs; each would cost start-up time.
NEVER = (
    "PySide6",
    "email_validator",
    "httpx",
    "httpx2",
    "httpcore",
    "httpcore2",
    "requests",
    "msal",
    "keyring",
    "segno",
    "aiosmtpd",
    "cryptography",
    "wizard.ui",
    "wizard.export",
    "wizard.sandbox",
)


def loaded_modules(*args: str, home: Path) -> tuple[int, str, set[str]]:
    env = dict(os.environ, RELAY_WIZARD_HOME=str(home))
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    modules = set(json.loads(done.stderr.strip().splitlines()[-1]))
    return done.returncode, done.stdout, modules


def heavy(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


def test_version_imports_no_command_and_no_service(tmp_path: Path) -> None:
    code, out, modules = loaded_modules("--version", home=tmp_path)
    assert code == 0 and out.startswith("relay-wizard ")
    ours = sorted(m for m in modules if m.startswith("wizard"))
    # The excepthook (services.crash_hook, the standard library only) is installed
    # before anything else, for every command.
    assert ours == [
        "wizard",
        "wizard.app",
        "wizard.cli",
        "wizard.core",
        "wizard.core.errors",
        "wizard.services",
        "wizard.services.crash_hook",
    ]
    assert heavy(modules, ("dns", "logging.handlers", "platformdirs", *NEVER)) == []


def test_check_dns_imports_only_the_dns_check(tmp_path: Path) -> None:
    with dns_sandbox(demo_tenant()) as sandbox:
        ns = f"{sandbox.server.endpoint.host}:{sandbox.server.endpoint.port}"
        code, out, modules = loaded_modules(
            "check-dns",
            DEMO_DOMAIN,
            "--nameserver",
            ns,
            "--site-ip",
            DEMO_SITE_IP,
            "--json",
            home=tmp_path,
        )
    assert code == 1 and json.loads(out)["domain"] == DEMO_DOMAIN  # the demo zone has problems
    assert "wizard.services.dns.checks" in modules
    other_commands = (
        *("wizard.cli.send_test", "wizard.cli.sheet", "wizard.cli.audit"),
        *("wizard.cli.tenant_probe", "wizard.core.sheet", "wizard.core.advisor"),
        # Nothing was logged: the log file is opened with the first record.
        *("wizard.core.tenant", "logging.handlers", "platformdirs"),
    )
    assert heavy(modules, (*NEVER, *other_commands)) == []


def test_help_still_lists_every_command(tmp_path: Path) -> None:
    code, out, modules = loaded_modules("--help", home=tmp_path)
    assert code == 0
    for name in ("self-test", "sandbox", "send-test", "check-dns", "audit", "tenant-probe"):
        assert f"    {name} " in out
    assert "sheet" in out and "wizard.cli.send_test" in modules


def test_a_command_s_own_help_and_errors_are_its_own(tmp_path: Path) -> None:
    code, out, modules = loaded_modules("sheet", "--help", home=tmp_path)
    assert code == 0 and "usage: relay-wizard sheet" in out and "--include-password" in out
    assert "wizard.cli.check_dns" not in modules
    code, out, modules = loaded_modules("-v", "check-dns", home=tmp_path)
    assert code == 2 and "wizard.cli.sheet" not in modules


def test_the_gui_s_arguments_need_no_subcommand_module(tmp_path: Path) -> None:
    script = (
        "import json, sys\n"
        "from wizard.app import build_parser, chosen_command\n"
        "argv = ['--demo', '--profile', 'site.json']\n"
        "args = build_parser(only=chosen_command(argv)).parse_args(argv)\n"
        "assert args.demo and args.profile == 'site.json' and args.command is None\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=dict(os.environ, RELAY_WIZARD_HOME=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    modules = set(json.loads(done.stdout))
    assert heavy(modules, ("wizard.cli.sheet", "wizard.cli.check_dns", *NEVER)) == []


def test_the_log_file_opens_with_the_first_record(tmp_path: Path) -> None:
    script = (
        "import logging\n"
        "from wizard.app import setup_logging\n"
        "from wizard.services.paths import log_file\n"
        "setup_logging()\n"
        "assert not log_file().exists()\n"
        "logging.getLogger('wizard.test').info('first line, password=hunter2')\n"
        "logging.shutdown()\n"
        "print(log_file().read_text(encoding='utf-8'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=dict(os.environ, RELAY_WIZARD_HOME=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "INFO wizard.test: first line" in done.stdout
    assert "hunter2" not in done.stdout  # still redacted
