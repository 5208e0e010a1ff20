"""The window's own settings (its size): a small JSON file in the config folder.

Written atomically; a missing or damaged file means the defaults, never an error
the user has to deal with.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from wizard.services.atomic import write_atomic
from wizard.services.paths import config_dir

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
FILE_NAME = "ui.json"
DEFAULT_SIZE = (960, 680)


def settings_path() -> Path:
    return config_dir() / FILE_NAME


@dataclass(frozen=True)
class UiSettings:
    width: int = DEFAULT_SIZE[0]
    height: int = DEFAULT_SIZE[1]
    maximized: bool = False


def load_ui_settings(path: Path | None = None) -> UiSettings:
    path = path or settings_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return UiSettings()
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        log.info("Window settings %s unreadable (%s); using the defaults", path, exc)
        return UiSettings()
    window = data.get("window") if isinstance(data, dict) else None
    if not isinstance(window, dict):
        return UiSettings()
    width, height = window.get("width"), window.get("height")
    if not all(
        isinstance(v, int) and not isinstance(v, bool) and 200 <= v <= 20000
        for v in (width, height)
    ):
        return UiSettings()
    assert isinstance(width, int) and isinstance(height, int)
    return UiSettings(width, height, window.get("maximized") is True)


def save_ui_settings(settings: UiSettings, path: Path | None = None) -> None:
    path = path or settings_path()
    data = {
        "schema_version": SCHEMA_VERSION,
        "window": {
            "width": settings.width,
            "height": settings.height,
            "maximized": settings.maximized,
        },
    }
    try:
        write_atomic(path, (json.dumps(data, indent=2) + "\n").encode("utf-8"))
    except OSError as exc:
        # Not worth bothering the user: the window opens at the default size next time.
        log.info("Could not save the window settings to %s: %s", path, exc)
