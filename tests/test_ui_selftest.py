"""`python main.py self-test`: one readable screenshot per page, exit 0; also at 200%.

The screenshots land in test-output/ for a person to look at.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QGuiApplication, QImage
from pytestqt.qtbot import QtBot

from wizard import app
from wizard.services import crash_hook
from wizard.ui import selftest
from wizard.ui.pages.base import PageId
from wizard.ui.pages.registry import PAGES
from wizard.ui.selftest import Step, run_self_test
from wizard.ui.settings import DEFAULT_SIZE, fit_to_screen

ROOT = Path(__file__).resolve().parent.parent


def _expected_names() -> list[str]:
    ids = sorted(p.page_id for p in PAGES)
    return [f"{n:02d}-{i.name.lower().replace('_', '-')}.png" for n, i in enumerate(ids, 1)]


def _check_screenshots(folder: Path, scale: int, size: tuple[int, int]) -> None:
    names = sorted(p.name for p in folder.glob("*.png"))
    assert names == _expected_names()
    for name in names:
        image = QImage(str(folder / name))
        assert not image.isNull(), name
        assert (image.width(), image.height()) == (size[0] * scale, size[1] * scale), name


def _screen_size() -> QSize:
    screen = QGuiApplication.primaryScreen()
    assert screen is not None
    return screen.availableGeometry().size()


def _screen(tmp_path: Path, width: int, height: int) -> str:
    """A QT_QPA_PLATFORM value: offscreen, with one screen of this size."""
    config = tmp_path / "screen.json"
    screen = {"name": "screen", "x": 0, "y": 0, "width": width, "height": height}
    config.write_text(json.dumps({"screens": [{**screen, "logicalDpi": 96, "dpr": 1}]}))
    return f"offscreen:configfile={config}"


def _self_test(tmp_path: Path, folder: Path, **env: str) -> str:
    result = subprocess.run(  # the screens a person has, which this process cannot change
        [sys.executable, "main.py", "self-test", "--out", str(folder)],
        cwd=ROOT,
        env=dict(os.environ, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _keep_for_review(folder: Path, output_dir: Path, name: str) -> None:
    """Copy the screenshots to test-output/ (checked in the private folder first, as
    another test run may be writing test-output/ at the same time)."""
    shutil.copytree(folder, output_dir / name, dirs_exist_ok=True)


def test_self_test_saves_one_readable_screenshot_per_page(
    qtbot: QtBot, tmp_path: Path, output_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "shots"
    assert run_self_test(str(folder), app.start_sandbox) == 0
    out = capsys.readouterr().out
    assert "Self-test passed" in out
    assert "Keyring: tests.memory_keyring.MemoryKeyring" in out
    # A first start is cut to the (virtual) screen.
    screen = _screen_size()
    wanted = fit_to_screen(QSize(*DEFAULT_SIZE), screen)
    _check_screenshots(folder, 1, (wanted.width(), wanted.height()))
    # The self-test never registers the crash dialog.
    assert crash_hook._crash_reporter is None


def test_a_failing_step_makes_the_self_test_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(_ctx: selftest.SelfTest) -> str:
        raise OSError("disk full")

    monkeypatch.setattr(selftest, "STEPS", [*selftest.STEPS[:1], Step("Broken step", broken)])
    assert run_self_test(str(tmp_path), app.start_sandbox) == 1
    out = capsys.readouterr().out
    assert "FAILED  Broken step: OSError: disk full" in out
    assert "Self-test FAILED: 1 of 2 steps." in out


def test_self_test_on_a_1366x768_laptop(tmp_path: Path, output_dir: Path) -> None:
    folder = tmp_path / "shots"
    out = _self_test(tmp_path, folder, QT_QPA_PLATFORM=_screen(tmp_path, 1366, 768))
    # The first start fills the laptop's screen (less the frame), and every page's
    # main content shows without scrolling.
    _keep_for_review(folder, output_dir, "ui-1366x768")
    assert "pages at 1180x728:" in out, out
    # Lists as long as what they found (DNS checks, the summary of every device, the
    # troubleshooting checks) scroll, and so does the local relay's step (this computer,
    # its devices, the service and a test in one place); no other form or table does.
    scrolling = out.split("; scrolling: ")[1].split(" (")[0].split(", ")
    assert set(scrolling) <= {"dns", "summary", "troubleshoot", "relay"}, out
    _check_screenshots(folder, 1, (1180, 728))


def test_self_test_from_the_command_line_at_200_percent(tmp_path: Path, output_dir: Path) -> None:
    folder = tmp_path / "shots"
    # A 1920x1080 screen at 200%: 960x540 to lay out in.
    out = _self_test(
        tmp_path, folder, QT_SCALE_FACTOR="2", QT_QPA_PLATFORM=_screen(tmp_path, 1920, 1080)
    )
    _keep_for_review(folder, output_dir, "ui-200")
    assert "offscreen, scale 2" in out
    assert "pages at 944x500:" in out, out
    _check_screenshots(folder, 2, (944, 500))
    assert PageId.SUMMARY.name.lower() in out
    assert "Sandbox stop: stopped" in out
