"""Before Qt starts on Linux: are the X11 libraries of Qt's xcb platform plugin there?

Without one of them Qt aborts the whole process with "Could not load the Qt platform
plugin "xcb"", often naming a library that is installed (the plugin's own file) rather
than the one that is missing. This looks for each library the plugin links against the
way the dynamic loader will, and names the Debian/Ubuntu packages to install, in one
line, before Qt gets the chance to abort. No Qt import here: it runs first.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Mapping

# The shared libraries Qt 6's libqxcb.so and libQt6XcbQpa.so.6 link against (their
# NEEDED entries), with the Debian/Ubuntu package of each, in the order apt lists them.
XCB_LIBRARIES: dict[str, str] = {
    "libxcb.so.1": "libxcb1",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
}


def uses_xcb(environ: Mapping[str, str] | None = None, platform: str | None = None) -> bool:
    """Whether Qt will pick its xcb (X11) plugin: asked for, or an X display with no
    Wayland one and no other plugin named."""
    env = os.environ if environ is None else environ
    if not (platform or sys.platform).startswith("linux"):
        return False
    chosen = env.get("QT_QPA_PLATFORM", "").split(":")[0].split(";")[0].strip()
    if chosen:
        return chosen == "xcb"
    return bool(env.get("DISPLAY")) and not env.get("WAYLAND_DISPLAY")


def _loads(name: str) -> bool:
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True


def missing_packages(loads: Callable[[str], bool] | None = None) -> list[str]:
    """The packages whose library the dynamic loader cannot find."""
    found = loads or _loads
    return [package for library, package in XCB_LIBRARIES.items() if not found(library)]


def platform_hint(missing: list[str]) -> str:
    """One line: what is wrong and the command that fixes it."""
    return (
        "Relay Wizard cannot open its window: Qt's X11 support needs libraries that are "
        f"not installed. On Debian or Ubuntu run: sudo apt install {' '.join(missing)}"
    )


def check_platform_libraries(
    environ: Mapping[str, str] | None = None,
    loads: Callable[[str], bool] | None = None,
    platform: str | None = None,
) -> str | None:
    """The hint to show before starting Qt, or None when Qt can go ahead."""
    if not uses_xcb(environ, platform):
        return None
    missing = missing_packages(loads)
    return platform_hint(missing) if missing else None
