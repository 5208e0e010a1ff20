"""The project's whole check, as the README and CI run it: lint, types, tests.

python -m tests.check [pytest arguments]
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

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
    return subprocess.call([sys.executable, "-m", "pytest", *argv], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
