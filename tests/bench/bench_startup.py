"""How long until the wizard's window is on screen, from the command line.

    python -m tests.bench.bench_startup [--runs 5] [--platform offscreen|xcb] [--quick]

Starts `python main.py` (and `python main.py --demo`) with a private home and waits
for the log line the launcher writes when the window is first painted; the figure
is the wall time from starting the process to that line. Its peer, measured in the
same run: a bare PySide6 window (QApplication, one QWidget, shown and painted), the
least any Qt app from source pays on this machine. Also `--version` (goal: under
0.15 s) against a bare `python -c pass`.

Goal (issue 14): the window on screen within 0.5 s of launch. `--platform xcb` runs
a private Xvfb server (when installed) so the window is really mapped and exposed,
as in an X session; the default is offscreen. Each figure is the median of the runs,
taken in turns (ours, the peer, ours...) so a busy machine weighs on both alike.
Printed, not asserted: speed is watched, not gated, in the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAINTED = "Window painted"
WINDOW_GOAL = 0.5
VERSION_GOAL = 0.15

_BARE_WINDOW = """
import sys
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QWidget

class Painted(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint:
            print("painted", flush=True)
            app.quit()
        return False

app = QApplication(sys.argv[:1])
window = QWidget()
window.resize(960, 680)
painted = Painted()
window.installEventFilter(painted)
window.show()
app.exec()
"""


def bench_env(**extra: str) -> dict[str, str]:
    """The environment of every measured process: bytecode cached as after a plain
    `pip install` (this machine may set PYTHONDONTWRITEBYTECODE, which would make every
    run compile every module again), in a cache outside the source tree."""
    env = dict(os.environ, **extra)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / "relay-wizard-pyc"))
    return env


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time a running process has used so far (Linux; else None)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# CPU time each window process had used when its first paint was logged (Linux).
window_cpu: list[float] = []


def _time_to_window(extra: list[str], env: dict[str, str], timeout: float = 30.0) -> float:
    with tempfile.TemporaryDirectory() as home:
        log = Path(home) / "logs" / "relay-wizard.log"
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "main.py", *extra],
            cwd=ROOT,
            env=dict(env, RELAY_WIZARD_HOME=home),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while time.perf_counter() - start < timeout:
                if log.exists() and PAINTED in log.read_text(encoding="utf-8", errors="replace"):
                    elapsed = time.perf_counter() - start
                    cpu = _cpu_seconds(proc.pid)
                    if cpu is not None and not extra:
                        window_cpu.append(cpu)
                    return elapsed
                time.sleep(0.002)
            raise RuntimeError(f"no window after {timeout:.0f} s: {' '.join(extra)}")
        finally:
            proc.terminate()
            proc.wait(10)


def _time_bare_window(env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _BARE_WINDOW], env=env, capture_output=True, text=True, timeout=30
    )
    if "painted" not in done.stdout:
        raise RuntimeError(f"the bare window did not paint: {done.stderr[-500:]}")
    return time.perf_counter() - start


# CPU time (user + system) of each `--version` run.
version_cpu: list[float] = []


def _time_command(command: list[str], env: dict[str, str], cpu: list[float] | None = None) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, timeout=30)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cpu is not None:
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return elapsed


@contextlib.contextmanager
def _display(platform: str) -> Iterator[dict[str, str]]:
    """QT_QPA_PLATFORM (and DISPLAY, for a private Xvfb) for the measured processes."""
    if platform != "xcb":
        yield {"QT_QPA_PLATFORM": platform}
        return
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise SystemExit("bench_startup: --platform xcb needs Xvfb")
    number = 90 + os.getpid() % 50
    server = subprocess.Popen(
        [xvfb, f":{number}", "-screen", "0", "1920x1080x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        socket = Path(f"/tmp/.X11-unix/X{number}")
        deadline = time.perf_counter() + 10
        while not socket.exists() and time.perf_counter() < deadline:
            time.sleep(0.01)
        yield {"QT_QPA_PLATFORM": "xcb", "DISPLAY": f":{number}"}
    finally:
        server.terminate()
        server.wait(10)


def _median_in_turns(
    runs: int, ours: Callable[[], float], peer: Callable[[], float]
) -> tuple[list[float], list[float]]:
    ours(), peer()  # warm-up: disk cache, bytecode cache
    mine: list[float] = []
    theirs: list[float] = []
    for _ in range(runs):
        mine.append(ours())
        theirs.append(peer())
    return mine, theirs


def _report(name: str, times: list[float], peer_name: str, peer: list[float], goal: float) -> None:
    median, peer_median = statistics.median(times), statistics.median(peer)
    verdict = "within" if median <= goal else "OVER"
    print(
        f"{name:<26} median {median * 1000:5.0f} ms  worst {max(times) * 1000:5.0f} ms  "
        f"goal {goal * 1000:.0f} ms: {verdict} ({median / goal:.2f} of it)"
    )
    print(
        f"{'  ' + peer_name:<26} median {peer_median * 1000:5.0f} ms; "
        f"ratio ours/peer {median / peer_median:.2f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--platform", choices=["offscreen", "xcb"], default="offscreen")
    parser.add_argument("--quick", action="store_true", help="one run, no --demo")
    args = parser.parse_args(argv)
    runs = 1 if args.quick else args.runs
    with _display(args.platform) as display:
        env = bench_env(**display)
        version, bare_python = _median_in_turns(
            runs,
            lambda: _time_command([sys.executable, "main.py", "--version"], env, version_cpu),
            lambda: _time_command([sys.executable, "-c", "pass"], env),
        )
        window, bare = _median_in_turns(
            runs, lambda: _time_to_window([], env), lambda: _time_bare_window(env)
        )
        demo: list[float] = []
        if not args.quick:
            demo = [_time_to_window(["--demo"], env) for _ in range(runs)]
    print(f"start-up from source, {args.platform}, {runs} run(s) each (first-paint log line)")
    _report("--version", version, "python -c pass", bare_python, VERSION_GOAL)
    print(f"{'  CPU of --version':<26} median {statistics.median(version_cpu) * 1000:5.0f} ms")
    _report("window (worldwide)", window, "bare PySide6 window", bare, WINDOW_GOAL)
    if window_cpu:
        # Less swayed by other processes than the wall clock (10 ms resolution).
        print(f"{'  CPU until painted':<26} median {statistics.median(window_cpu) * 1000:5.0f} ms")
    if demo:
        median = statistics.median(demo)
        print(
            f"{'window (--demo, sandbox)':<26} median {median * 1000:5.0f} ms  "
            f"worst {max(demo) * 1000:5.0f} ms  (starts the sandbox's servers first)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
