"""The project's whole check, as the README and CI run it: lint, types, tests.

python -m tests.check [pytest arguments]
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The suite takes under ten minutes; a run past this is stuck (pytest's
# faulthandler_timeout has printed every thread's stack by then), and it is stopped
# so the check fails in plain words instead of waiting forever.
PYTEST_LIMIT_SECONDS = 40 * 60

STEPS = [
    ("ruff check", [sys.executable, "-m", "ruff", "check", "."]),
    ("ruff format", [sys.executable, "-m", "ruff", "format", "--check", "."]),
    ("mypy", [sys.executable, "-m", "mypy"]),
]


def main(argv: list[str]) -> int:
    for name, command in STEPS:
        print(f"== {name}", flush=True)
        if subprocess.call(command, cwd=ROOT) != 0:
            print(f"== {name} failed", flush=True)
            return 1
    print("== pytest", flush=True)
    try:
        return subprocess.call(
            [sys.executable, "-m", "pytest", *argv], cwd=ROOT, timeout=PYTEST_LIMIT_SECONDS
        )
    except subprocess.TimeoutExpired:
        print(f"== pytest stopped: still running after {PYTEST_LIMIT_SECONDS} s", flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
