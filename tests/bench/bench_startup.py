"""How long until the wizard's window is on screen, from the command line.

    python -m tests.bench.bench_startup [--runs 5]

Starts `python main.py` (and `python main.py --demo`) offscreen with a private home,
waits for the log line the launcher writes right after the window is shown, and
reports the wall time from process start to that line (median and worst), plus
`--version`. Printed, not asserted: speed is watched, not gated, in the test suite.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHOWN = "Window shown"


def _time_to_window(extra: list[str], timeout: float = 30.0) -> float:
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", RELAY_WIZARD_HOME=home)
        log = Path(home) / "logs" / "relay-wizard.log"
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "main.py", *extra],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while time.perf_counter() - start < timeout:
                if log.exists() and SHOWN in log.read_text(encoding="utf-8", errors="replace"):
                    return time.perf_counter() - start
                time.sleep(0.005)
            raise RuntimeError(f"no window after {timeout:.0f} s: {' '.join(extra)}")
        finally:
            proc.terminate()
            proc.wait(10)


def _time_command(extra: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "main.py", *extra], cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def _report(name: str, times: list[float]) -> None:
    print(
        f"{name:<28} median {statistics.median(times) * 1000:6.0f} ms   "
        f"worst {max(times) * 1000:6.0f} ms   ({len(times)} runs)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    _report("--version", [_time_command(["--version"]) for _ in range(runs)])
    _report("window (worldwide)", [_time_to_window([]) for _ in range(runs)])
    _report("window (--demo, sandbox)", [_time_to_window(["--demo"]) for _ in range(runs)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
