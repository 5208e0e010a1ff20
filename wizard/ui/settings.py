"""The windows' own settings (the wizard's size, each dialog's size): a small JSON
file in the config folder.

Written atomically; a missing or damaged file means the defaults, never an error
the user has to deal with. Every size is kept within the screen it opens on, so a
window saved on a large monitor still fits a laptop at 200%.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialog

from wizard.services.atomic import write_atomic
from wizard.services.paths import config_dir

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
FILE_NAME = "ui.json"
# Room for each page's main content (the devices table, a transcript of some
# length) without scrolling; on a 1366x768 laptop the window is cut to the screen.
DEFAULT_SIZE = (1180, 740)
# What the window's frame and title bar take beyond its size, roughly, so that a
# window cut to the screen keeps its title bar on it.
FRAME_ALLOWANCE = (16, 40)


def settings_path() -> Path:
    return config_dir() / FILE_NAME


@dataclass(frozen=True)
class UiSettings:
    width: int = DEFAULT_SIZE[0]
    height: int = DEFAULT_SIZE[1]
    maximized: bool = False
    # Where the window was (its frame's top left); None: where the system puts it.
    position: tuple[int, int] | None = None


def _position(entry: object) -> tuple[int, int] | None:
    if not isinstance(entry, dict):
        return None
    x, y = entry.get("x"), entry.get("y")
    if not all(
        isinstance(v, int) and not isinstance(v, bool) and abs(v) <= 100_000 for v in (x, y)
    ):
        return None
    assert isinstance(x, int) and isinstance(y, int)
    return x, y


def on_a_screen(position: tuple[int, int] | None) -> QPoint | None:
    """`position` if a screen shows the window's title bar there (a monitor that was
    unplugged since must not leave the window out of sight), else None."""
    if position is None:
        return None
    point = QPoint(*position)
    # A point a little inside the title bar: what the user grabs to move it back.
    if QGuiApplication.screenAt(point + QPoint(40, 12)) is None:
        return None
    return point


def fit_to_screen(size: QSize, available: QSize) -> QSize:
    """`size`, made smaller where the screen's free area (less the frame) is smaller."""
    room = QSize(
        max(available.width() - FRAME_ALLOWANCE[0], 200),
        max(available.height() - FRAME_ALLOWANCE[1], 200),
    )
    return size.boundedTo(room)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        log.info("Window settings %s unreadable (%s); using the defaults", path, exc)
        return {}
    return data if isinstance(data, dict) else {}


def _size(entry: object) -> tuple[int, int] | None:
    if not isinstance(entry, dict):
        return None
    width, height = entry.get("width"), entry.get("height")
    if not all(
        isinstance(v, int) and not isinstance(v, bool) and 200 <= v <= 20000
        for v in (width, height)
    ):
        return None
    assert isinstance(width, int) and isinstance(height, int)
    return width, height


def _write(path: Path, data: dict[str, Any]) -> None:
    data["schema_version"] = SCHEMA_VERSION
    try:
        write_atomic(path, (json.dumps(data, indent=2) + "\n").encode("utf-8"))
    except OSError as exc:
        # Not worth bothering the user: the window opens at the default size next time.
        log.info("Could not save the window settings to %s: %s", path, exc)


def load_ui_settings(path: Path | None = None) -> UiSettings:
    window = _read(path or settings_path()).get("window")
    size = _size(window)
    if size is None or not isinstance(window, dict):
        return UiSettings()
    return UiSettings(size[0], size[1], window.get("maximized") is True, _position(window))


def save_ui_settings(settings: UiSettings, path: Path | None = None) -> None:
    path = path or settings_path()
    data = _read(path)
    data["window"] = {
        "width": settings.width,
        "height": settings.height,
        "maximized": settings.maximized,
    }
    if settings.position is not None:
        data["window"]["x"], data["window"]["y"] = settings.position
    _write(path, data)


def load_dialog_size(name: str, path: Path | None = None) -> tuple[int, int] | None:
    dialogs = _read(path or settings_path()).get("dialogs")
    return _size(dialogs.get(name)) if isinstance(dialogs, dict) else None


def load_dialog_position(name: str, path: Path | None = None) -> tuple[int, int] | None:
    dialogs = _read(path or settings_path()).get("dialogs")
    return _position(dialogs.get(name)) if isinstance(dialogs, dict) else None


def save_dialog_size(
    name: str,
    width: int,
    height: int,
    path: Path | None = None,
    *,
    position: tuple[int, int] | None = None,
) -> None:
    path = path or settings_path()
    data = _read(path)
    dialogs = data.get("dialogs")
    if not isinstance(dialogs, dict):
        dialogs = {}
    entry: dict[str, int] = {"width": width, "height": height}
    if position is not None:
        entry["x"], entry["y"] = position
    dialogs[name] = entry
    data["dialogs"] = dialogs
    _write(path, data)


def remember_dialog_size(dialog: QDialog, name: str, default: QSize) -> None:
    """Open `dialog` at the size and place it had last time (else `default`, centred
    by the system), within the screen; keep both when it closes."""
    saved = load_dialog_size(name)
    size = QSize(*saved) if saved else default
    screen = dialog.screen()
    if screen is not None:
        size = fit_to_screen(size, screen.availableGeometry().size())
    dialog.resize(size.expandedTo(dialog.minimumSize()))
    where = on_a_screen(load_dialog_position(name))
    if where is not None:
        dialog.move(where)

    def keep(_result: int) -> None:
        place = dialog.pos()
        save_dialog_size(name, dialog.width(), dialog.height(), position=(place.x(), place.y()))

    dialog.finished.connect(keep)


# Recent site profiles, newest first, for the Welcome page.
RECENT_LIMIT = 5


@dataclass(frozen=True)
class RecentSite:
    path: Path
    name: str


def recent_sites(path: Path | None = None) -> list[RecentSite]:
    """The profiles opened or saved lately that still exist, newest first."""
    raw = _read(path or settings_path()).get("recent_profiles")
    found: list[RecentSite] = []
    for entry in raw if isinstance(raw, list) else []:
        if not isinstance(entry, dict):
            continue
        where, name = entry.get("path"), entry.get("name")
        if isinstance(where, str) and where and isinstance(name, str):
            site = RecentSite(Path(where), name)
            if site.path.is_file() and site not in found:
                found.append(site)
    return found[:RECENT_LIMIT]


def remember_site(profile_path: Path, name: str, path: Path | None = None) -> None:
    """Put `profile_path` first in the recent sites (names only: no secrets here)."""
    path = path or settings_path()
    data = _read(path)
    where = str(profile_path.resolve())
    raw = data.get("recent_profiles")
    kept = [
        e
        for e in (raw if isinstance(raw, list) else [])
        if isinstance(e, dict) and e.get("path") != where
    ]
    data["recent_profiles"] = [{"path": where, "name": name}, *kept][: RECENT_LIMIT * 2]
    _write(path, data)
