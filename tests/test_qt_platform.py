"""A clear one-line hint, with the packages, when Qt's X11 plugin cannot load."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from wizard.ui.qt_platform import (
    XCB_LIBRARIES,
    check_platform_libraries,
    missing_packages,
    uses_xcb,
)

ROOT = Path(__file__).resolve().parent.parent
X11 = {"DISPLAY": ":0"}


def test_only_an_x11_start_on_linux_is_checked() -> None:
    assert uses_xcb(X11, "linux")
    assert uses_xcb({"QT_QPA_PLATFORM": "xcb"}, "linux")
    assert uses_xcb({"QT_QPA_PLATFORM": "xcb:nograb"}, "linux")
    assert not uses_xcb({**X11, "QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not uses_xcb({**X11, "WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert not uses_xcb({}, "linux")
    assert not uses_xcb(X11, "win32")
    assert not uses_xcb(X11, "darwin")


def test_the_hint_names_the_missing_packages_in_one_line() -> None:
    gone = {"libxcb-icccm.so.4", "libxcb-keysyms.so.1"}
    hint = check_platform_libraries(X11, lambda name: name not in gone, "linux")
    assert hint is not None and "\n" not in hint
    assert hint.endswith("sudo apt install libxcb-icccm4 libxcb-keysyms1")
    assert "Debian or Ubuntu" in hint
    assert check_platform_libraries(X11, lambda name: True, "linux") is None
    assert check_platform_libraries({"QT_QPA_PLATFORM": "offscreen"}, lambda n: False) is None


def test_the_packages_are_the_ones_the_readme_and_ci_install() -> None:
    listed = (ROOT / "README.md").read_text(encoding="utf-8") + (ROOT / ".ci" / "run").read_text(
        encoding="utf-8"
    )
    named = {"libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1", "libx11-xcb1"}
    assert named <= set(XCB_LIBRARIES.values())
    for package in named:
        assert package in listed
    # On this machine every library is there (the tests' own Xvfb runs need them).
    assert missing_packages() == [] or sys.platform != "linux"


def test_the_app_says_so_instead_of_aborting(tmp_path: Path) -> None:
    # An X11 start without libxcb-icccm4. An installed system library cannot be hidden
    # from the loader, so the child's check is told that one is not found.
    code = (
        "import sys, wizard.ui.qt_platform as q\n"
        "q._loads = lambda name: name != 'libxcb-icccm.so.4'\n"
        "from wizard import app\n"
        "sys.exit(app.main([]))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "DISPLAY": ":0", "RELAY_WIZARD_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().endswith("sudo apt install libxcb-icccm4"), result.stderr
    assert "Could not load the Qt platform plugin" not in result.stderr
