"""`python main.py self-test`: one readable screenshot per page, exit 0; also at 200%.

The screenshots land in test-output/ for a person to look at.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from wizard import app
from wizard.ui import selftest
from wizard.ui.pages.base import PageId
from wizard.ui.pages.registry import PAGES
from wizard.ui.selftest import Step, run_self_test

ROOT = Path(__file__).resolve().parent.parent


def _expected_names() -> list[str]:
    ids = sorted(p.page_id for p in PAGES)
    return [f"{n:02d}-{i.name.lower().replace('_', '-')}.png" for n, i in enumerate(ids, 1)]


def _check_screenshots(folder: Path, scale: int) -> None:
    names = sorted(p.name for p in folder.glob("*.png"))
    assert names == _expected_names()
    for name in names:
        image = QImage(str(folder / name))
        assert not image.isNull(), name
        assert (image.width(), image.height()) == (960 * scale, 680 * scale), name


def _keep_for_review(folder: Path, output_dir: Path, name: str) -> None:
    """Copy the screenshots to test-output/ (checked in the private folder first, as
    another test run may be writing test-output/ at the same time)."""
    shutil.copytree(folder, output_dir / name, dirs_exist_ok=True)


def test_self_test_saves_one_readable_screenshot_per_page(
    qtbot: QtBot, tmp_path: Path, output_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "shots"
    assert run_self_test(str(folder)) == 0
    out = capsys.readouterr().out
    assert "Self-test passed" in out
    assert "Keyring: tests.memory_keyring.MemoryKeyring" in out
    _check_screenshots(folder, 1)
    _keep_for_review(folder, output_dir, "ui-100")
    # The self-test never registers the crash dialog.
    assert app._crash_reporter is None


def test_a_failing_step_makes_the_self_test_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(_ctx: selftest.SelfTest) -> str:
        raise OSError("disk full")

    monkeypatch.setattr(selftest, "STEPS", [*selftest.STEPS[:1], Step("Broken step", broken)])
    assert run_self_test(str(tmp_path)) == 1
    out = capsys.readouterr().out
    assert "FAILED  Broken step: OSError: disk full" in out
    assert "Self-test FAILED: 1 of 2 steps." in out


def test_self_test_from_the_command_line_at_200_percent(tmp_path: Path, output_dir: Path) -> None:
    folder = tmp_path / "shots"
    env = dict(os.environ, QT_SCALE_FACTOR="2", QT_QPA_PLATFORM="")
    result = subprocess.run(
        [sys.executable, "main.py", "self-test", "--out", str(folder)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "offscreen, scale 2" in result.stdout  # set by the self-test itself
    _check_screenshots(folder, 2)
    _keep_for_review(folder, output_dir, "ui-200")
    assert PageId.SUMMARY.name.lower() in result.stdout
    assert "Sandbox stop: stopped" in result.stdout
