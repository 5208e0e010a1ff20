"""Benchmark: how long the sandbox takes from start() to answering, and to stop.

    python -m tests.bench.bench_sandbox [--runs N]

Prints the median and 90th percentile (target: start-to-ready well under 1 s). It
asserts nothing: machines differ; the numbers are for people comparing changes.
"""

from __future__ import annotations

import argparse
import os
import smtplib
import statistics
import time

import dns.resolver

# The machine's CA bundle variable must not decide what the benchmark's client trusts.
os.environ.pop("REQUESTS_CA_BUNDLE", None)

from wizard.sandbox.server import Sandbox  # noqa: E402


def _ready(sandbox: Sandbox) -> None:
    """One answer from each kind of server: HTTPS discovery, DNS, SMTP banner."""
    with sandbox.http_session() as http:
        http.get(f"{sandbox.authority}/v2.0/.well-known/openid-configuration").raise_for_status()
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [sandbox.dns.host]
    resolver.port = sandbox.dns.port
    resolver.resolve(sandbox.state.default_domain, "MX")
    endpoint = sandbox.smtp.submission
    with smtplib.SMTP(endpoint.host, endpoint.port, timeout=5) as client:
        client.ehlo("bench.example")


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    started: list[float] = []
    ready: list[float] = []
    stopped: list[float] = []
    for _ in range(args.runs):
        began = time.perf_counter()
        sandbox = Sandbox().start()
        started.append(time.perf_counter() - began)
        _ready(sandbox)
        ready.append(time.perf_counter() - began)
        began = time.perf_counter()
        sandbox.stop()
        stopped.append(time.perf_counter() - began)
    print(f"sandbox benchmark, {args.runs} runs (milliseconds)")
    for name, values in (
        ("start() returned", started),
        ("start to first answers", ready),
        ("stop()", stopped),
    ):
        median = statistics.median(values) * 1000
        p90 = _percentile(values, 0.9) * 1000
        print(f"  {name:<24} median {median:7.1f}   p90 {p90:7.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
