"""Each benchmark under tests/bench runs in its quick mode and prints its figures.

Not a check of speed (that is for people comparing changes, on demand): only that the
scripts still work against the current code and say what they measure.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_bench(name: str, *args: str) -> str:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("RELAY_WIZARD_HOME", None)  # each script makes its own private home
    done = subprocess.run(
        [sys.executable, "-m", f"tests.bench.{name}", "--quick", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def test_dns_benchmark_prints_the_ratio_against_checkdmarc() -> None:
    out = run_bench("bench_dns", "--delay", "0")
    goal = r"ratio ours/checkdmarc: \d+\.\d\d \(goal: 0\.40 or less: (within|OVER)\)"
    assert re.search(goal, out)
    assert re.search(r"command line  checkdmarc .* \d+\.\d\d s", out)


def test_startup_benchmark_prints_version_and_window_against_peers() -> None:
    out = run_bench("bench_startup")
    assert re.search(r"--version +median +\d+ ms .* goal 150 ms", out)
    assert re.search(r"python -c pass +median +\d+ ms; ratio ours/peer \d+\.\d\d", out)
    assert re.search(r"window \(worldwide\) +median +\d+ ms .* goal 500 ms", out)
    assert re.search(r"bare PySide6 window +median +\d+ ms; ratio ours/peer", out)


def test_sheets_benchmark_prints_its_figure_against_the_goal() -> None:
    out = run_bench("bench_sheets")
    assert re.search(r"5 sheets \(a4\): median \d+\.\d\d s", out)
    assert "goal: 200 sheets under 2 s" in out


def test_stall_benchmark_prints_the_longest_stall_per_operation() -> None:
    out = run_bench("bench_ui_stalls")  # quick: DNS and the sheet export
    for operation in ("DNS", "sheet export"):
        figure = rf"  {operation} +longest stall +\d+ ms \(\d+\.\d\d of the goal"
        assert re.search(figure, out), out
    assert "DID NOT FINISH" not in out
