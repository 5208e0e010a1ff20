"""Benchmark: the local relay against email-oauth2-proxy (PyPI `emailproxy`), same sandbox.

    python -m tests.bench.bench_relay [--messages 1000] [--latency-samples 50]

Both run as their own process, as they would on the office computer, and send onward
to the same sandbox submission endpoint with XOAUTH2 as the same mailbox. The device
side is what a printer does: one connection per message (EHLO, STARTTLS where the
relay offers it, AUTH, MAIL, RCPT, DATA, QUIT).

Measured for each:
- throughput: messages sent by the device per second, and delivered (in the tenant)
  per second, for --messages messages;
- latency from the device's 250 to the message being in the tenant (median, p90),
  one message at a time;
- resident memory of the relay process before and after the messages.

Our relay's pacing (Exchange's 30 messages a minute per mailbox) is lifted for the
throughput run: with it on, the onward rate is 0.5 messages a second by design. It
asserts nothing: machines differ; the numbers are for people comparing changes.
"""

from __future__ import annotations

import argparse
import configparser
import json
import os
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path
from typing import Any

# The machine's CA bundle variable must not decide what the benchmark's clients trust.
os.environ.pop("REQUESTS_CA_BUNDLE", None)

import keyring  # noqa: E402

from tests.file_keyring import PATH_ENV, FileKeyring  # noqa: E402
from tests.m365_helpers import SCANNER  # noqa: E402
from tests.relay_helpers import (  # noqa: E402
    OUTSIDE,
    allow_smtp_auth,
    device_client,
    free_port,
    relay_config,
    sign_in_mailbox,
    signed_in_mailbox,
)
from wizard.core.relay import RelayLimits  # noqa: E402
from wizard.sandbox.identity.tokens import ACCESS_TOKEN_LIFETIME  # noqa: E402
from wizard.sandbox.server import Sandbox  # noqa: E402
from wizard.services.relay import add_device, enroll_mailbox, save_config  # noqa: E402
from wizard.services.secrets import SecretStore  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PROXY_PASSWORD = "bench-device-password"
EMAILPROXY_FLAGS: list[str] = os.environ.get("BENCH_EMAILPROXY_FLAGS", "").split()


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def _message(subject: str) -> bytes:
    message = EmailMessage()
    message["From"] = SCANNER
    message["To"] = OUTSIDE
    message["Subject"] = subject
    message.set_content("Scanned document attached.\n")
    message.add_attachment(
        b"%PDF-1.4 " + b"x" * 20_000, maintype="application", subtype="pdf", filename="scan.pdf"
    )
    return message.as_bytes(policy=SMTP_POLICY)


class Delivered:
    """When each subject reached the tenant (the sandbox's trace, polled)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def times(self, prefix: str) -> dict[str, float]:
        with self.sandbox.state.lock:
            return {
                e.subject: e.received.timestamp()
                for e in self.sandbox.state.trace
                if e.subject.startswith(prefix)
            }

    def wait(self, prefix: str, count: int, timeout: float) -> dict[str, float]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.times(prefix)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        return self.times(prefix)


SendOne = Callable[[bytes], float]  # returns the time the device got its 250


def _run_side(
    name: str,
    send_one: SendOne,
    delivered: Delivered,
    pid: int,
    messages: int,
    samples: int,
) -> dict[str, Any]:
    prefix = f"{name} latency "
    latencies: list[float] = []
    for n in range(samples):
        subject = f"{prefix}{n}"
        accepted = send_one(_message(subject))
        at = delivered.wait(subject, 1, 60).get(subject)
        if at is not None:
            latencies.append(max(0.0, at - accepted))
    rss_before = _rss_kib(pid)
    prefix = f"{name} bulk "
    began = time.time()
    for n in range(messages):
        send_one(_message(f"{prefix}{n}"))
    sent = time.time()
    found = delivered.wait(prefix, messages, 600)
    done = max(found.values()) if found else time.time()
    rss_after = _rss_kib(pid)
    return {
        "name": name,
        "messages": messages,
        "delivered": len(found),
        "accepted_per_s": messages / max(sent - began, 1e-9),
        "delivered_per_s": len(found) / max(done - began, 1e-9),
        "latency_median_ms": statistics.median(latencies) * 1000 if latencies else None,
        "latency_p90_ms": _percentile(latencies, 0.9) * 1000 if latencies else None,
        "rss_before_mib": rss_before / 1024,
        "rss_after_mib": rss_after / 1024,
    }


def _wait_port(port: int, proc: subprocess.Popen[bytes], log: Path, tls: bool) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the process ended early:\n{log.read_text(errors='replace')}")
        try:
            with device_client(port, starttls=tls):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"no answer on port {port}:\n{log.read_text(errors='replace')}")


def ours(sandbox: Sandbox, work: Path, messages: int, samples: int) -> dict[str, Any]:
    keyring_file = work / "keyring.json"
    store = SecretStore(FileKeyring(keyring_file))
    port = free_port()
    base = relay_config(sandbox, work / "data", limits=RelayLimits(messages_per_minute=10_000))
    config, device, password = add_device(
        replace(base, submission_port=port), store, name="Bench", ip="127.0.0.1", sender=SCANNER
    )
    enroll_mailbox(config, store, sign_in_mailbox(sandbox), SCANNER)
    path = save_config(config, work / "relay.json")
    log = work / "relay-out.txt"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PYTHON_KEYRING_BACKEND": "tests.file_keyring.FileKeyring",
        PATH_ENV: str(keyring_file),
    }
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "main.py"), "relay", "run", "--config", str(path)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    try:
        _wait_port(port, proc, log, tls=True)

        def send_one(raw: bytes) -> float:
            with device_client(port) as smtp:
                smtp.login(device.username, password)
                smtp.sendmail(SCANNER, [OUTSIDE], raw)
                return time.time()

        return _run_side("relay-wizard", send_one, Delivered(sandbox), proc.pid, messages, samples)
    finally:
        proc.terminate()
        proc.wait(60)


def emailproxy(sandbox: Sandbox, work: Path, messages: int, samples: int) -> dict[str, Any]:
    """email-oauth2-proxy with its documented Office 365 settings, pointed at the sandbox.

    Its first sign-in is interactive; here the tokens of a sign-in as the mailbox are
    stored the way the proxy stores them (encrypted with the account's password by the
    proxy's own Cryptographer), so it starts as after a first login, with an access
    token valid for the whole run. Its renewal sends no `scope` (Entra answers that
    with the original scopes or with AADSTS900144 depending on the setup; the sandbox
    then gives a token for the wrong resource), so the run never renews.
    """
    import emailproxy as proxy_module

    port = free_port()
    authority = sandbox.authority
    section = SCANNER
    parser = configparser.ConfigParser(interpolation=None)
    parser[f"SMTP-{port}"] = {
        "server_address": sandbox.smtp.submission.host,
        "server_port": str(sandbox.smtp.submission.port),
        "server_starttls": "True",
        "local_address": "127.0.0.1",
    }
    parser[section] = {
        "permission_url": f"{authority}/oauth2/v2.0/authorize",
        "token_url": f"{authority}/oauth2/v2.0/token",
        "oauth2_scope": "https://outlook.office.com/SMTP.Send offline_access",
        "redirect_uri": "http://localhost",
        "client_id": sandbox.cloud.apps.mailbox_test or "",
    }
    crypto = proxy_module.Cryptographer(parser, section, PROXY_PASSWORD)
    parser[section]["token_salt"] = crypto.salt
    parser[section]["token_iterations"] = str(crypto.iterations)
    signin = signed_in_mailbox(sandbox)
    parser[section]["refresh_token"] = crypto.encrypt(signin.mailbox_refresh_token(SCANNER) or "")
    parser[section]["access_token"] = crypto.encrypt(signin.smtp_send_token(SCANNER))
    parser[section]["access_token_expiry"] = str(int(time.time()) + ACCESS_TOKEN_LIFETIME - 60)
    config = work / "emailproxy.config"
    with open(config, "w", encoding="utf-8") as handle:
        parser.write(handle)
    log = work / "emailproxy-out.txt"
    env = {**os.environ, "SSL_CERT_FILE": str(sandbox.ca_pem)}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "emailproxy",
                "--no-gui",
                *EMAILPROXY_FLAGS,
                "--config-file",
                str(config),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=work,
        )
    try:
        _wait_port(port, proc, log, tls=False)

        def send_one(raw: bytes) -> float:
            # Plain to the proxy (its default local side), which does STARTTLS onward.
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
                smtp.ehlo()
                smtp.login(SCANNER, PROXY_PASSWORD)
                smtp.sendmail(SCANNER, [OUTSIDE], raw)
                return time.time()

        try:
            return _run_side(
                "emailproxy", send_one, Delivered(sandbox), proc.pid, messages, samples
            )
        except (OSError, smtplib.SMTPException):
            print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
            raise
    finally:
        proc.terminate()
        proc.wait(60)


def _table(results: list[dict[str, Any]]) -> str:
    def fmt(value: Any, digits: int = 1) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    lines = [
        "| | " + " | ".join(r["name"] for r in results) + " |",
        "|---|" + "---|" * len(results),
    ]
    rows: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("messages delivered", lambda r: f"{r['delivered']}/{r['messages']}"),
        ("device: accepted per second", lambda r: fmt(r["accepted_per_s"])),
        ("delivered to the tenant per second", lambda r: fmt(r["delivered_per_s"])),
        ("250 to delivered, median (ms)", lambda r: fmt(r["latency_median_ms"])),
        ("250 to delivered, p90 (ms)", lambda r: fmt(r["latency_p90_ms"])),
        ("memory before (MiB)", lambda r: fmt(r["rss_before_mib"])),
        ("memory after the messages (MiB)", lambda r: fmt(r["rss_after_mib"])),
    ]
    for label, cell in rows:
        lines.append(f"| {label} | " + " | ".join(cell(r) for r in results) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--latency-samples", type=int, default=50)
    parser.add_argument("--only", choices=["relay-wizard", "emailproxy"])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    keyring.set_keyring(FileKeyring(Path(tempfile.mkdtemp()) / "unused.json"))
    results: list[dict[str, Any]] = []
    with Sandbox() as sandbox, tempfile.TemporaryDirectory() as tmp:
        sandbox.state.trace_delay = 0.0
        allow_smtp_auth(sandbox)
        work = Path(tmp)
        for name, run in (("relay-wizard", ours), ("emailproxy", emailproxy)):
            if args.only and args.only != name:
                continue
            side = work / name
            side.mkdir()
            began = time.perf_counter()
            results.append(run(sandbox, side, args.messages, args.latency_samples))
            print(f"{name}: {time.perf_counter() - began:.1f} s", file=sys.stderr)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(_table(results))
    return 0


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    raise SystemExit(main())
