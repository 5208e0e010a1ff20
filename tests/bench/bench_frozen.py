"""Benchmark the packaged app: bundle size and start-up, frozen next to from source.

    python -m tests.bench.bench_frozen [--dist DIR] [--onefile] [--rebuild] [--runs N]

Builds with build/build.py when there is no build yet (or with --rebuild), then prints
the bundle's size against the budget (Linux one-folder: at most 150 MB) and the
median wall-clock time of `--version` and `self-test`, frozen and from source, each
after one warm-up run. Budgets are reported here, not asserted; the exit code is 1
only when a run fails (a broken build is not a budget question).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
BUDGET_MB = {"linux": 150.0}  # issue 8: one-folder on Linux


def _rules() -> ModuleType:
    name = "relay_wizard_build"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "build" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class RunFailed(Exception):
    pass


def _timed(command: Sequence[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()[-2000:]
        raise RunFailed(f"{' '.join(command)} exited {done.returncode}:\n{output}")
    return elapsed


def _median_time(command: Sequence[str], runs: int, home: Path) -> tuple[float, float]:
    """(median, fastest) seconds over `runs` runs after one warm-up (disk cache)."""
    env = dict(os.environ, RELAY_WIZARD_HOME=str(home))
    # The self-test chooses the offscreen platform itself, frozen or not.
    env.pop("QT_QPA_PLATFORM", None)
    _timed(command, env)
    times = [_timed(command, env) for _ in range(runs)]
    return statistics.median(times), min(times)


def _largest(folder: Path, count: int = 6) -> list[tuple[int, str]]:
    sizes = []
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            sizes.append((path.stat().st_size, str(path.relative_to(folder))))
    return sorted(sizes, reverse=True)[:count]


def main(argv: Sequence[str] | None = None) -> int:
    rules = _rules()
    parser = argparse.ArgumentParser(prog="bench_frozen", description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, help="where the build is (default: dist/)")
    parser.add_argument("--onefile", action="store_true", help="benchmark the one-file build")
    parser.add_argument("--rebuild", action="store_true", help="build even if a build exists")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of --version (default 5)")
    parser.add_argument(
        "--self-test-runs", type=int, default=3, help="timed runs of self-test (default 3)"
    )
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))

    key = rules.platform_key()
    dist = (args.dist or rules.default_dist(args.onefile)).resolve()
    built = rules.executables(dist, args.onefile)
    build_note = "existing build"
    if args.rebuild or not built.cli.exists():
        build_args = ["--dist", str(dist)] + (["--onefile"] if args.onefile else [])
        started = time.perf_counter()
        status = subprocess.call([sys.executable, str(rules.BUILD_DIR / "build.py"), *build_args])
        if status != 0:
            print(f"bench: the build failed (exit code {status})", file=sys.stderr)
            return 1
        build_note = f"built in {time.perf_counter() - started:.1f} s"

    import PyInstaller

    layout = "one-file" if args.onefile else "one-folder"
    print(
        f"\nRelay Wizard packaging benchmark: {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}, PyInstaller {PyInstaller.__version__}, {layout}"
    )
    size_mb = rules.folder_size(built.bundle) / 1e6
    budget = BUDGET_MB.get(key) if not args.onefile else None
    verdict = ""
    if budget is not None:
        verdict = f"   budget {budget:.0f} MB: " + ("within" if size_mb <= budget else "OVER")
    print(f"size      {size_mb:7.1f} MB  {built.bundle.relative_to(ROOT)}{verdict}  ({build_note})")
    if built.bundle.is_dir():
        for size, name in _largest(built.bundle):
            print(f"          {size / 1e6:7.1f} MB  {name}")

    frozen = [str(built.cli)]
    source = [sys.executable, str(ROOT / "main.py")]
    heading = "start-up in seconds: median (fastest)"
    print(f"\n{heading:<49}{'frozen':>15}  {'from source':>15}")
    with tempfile.TemporaryDirectory(prefix="relay-wizard-bench-") as tmp:
        home = Path(tmp) / "home"
        shots = Path(tmp) / "shots"
        cases = [
            ("--version", ["--version"], args.runs),
            ("self-test (offscreen)", ["self-test", "--out", str(shots)], args.self_test_runs),
        ]
        for label, arguments, runs in cases:
            cells = []
            for program in (frozen, source):
                try:
                    median, fastest = _median_time([*program, *arguments], runs, home)
                except RunFailed as exc:
                    print(f"bench: {exc}", file=sys.stderr)
                    return 1
                cells.append(f"{median:6.2f} ({fastest:5.2f})")
            print(f"  {label:<47}{cells[0]:>15}  {cells[1]:>15}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
