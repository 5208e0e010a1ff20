"""Where the wizard keeps its files, and where its bundled resources are."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

from wizard import APP_ID, ORG_NAME

# Tests and the self-test point this at a temporary folder so they never touch the
# user's real settings and profiles.
HOME_OVERRIDE_ENV = "RELAY_WIZARD_HOME"


def _dirs() -> platformdirs.PlatformDirs:
    return platformdirs.PlatformDirs(APP_ID, ORG_NAME)


def _override() -> Path | None:
    value = os.environ.get(HOME_OVERRIDE_ENV)
    return Path(value) if value else None


def config_dir() -> Path:
    base = _override()
    return base / "config" if base else Path(_dirs().user_config_dir)


def profiles_dir() -> Path:
    base = _override()
    return base / "profiles" if base else Path(_dirs().user_documents_dir) / "Relay Wizard"


def log_dir() -> Path:
    base = _override()
    return base / "logs" if base else Path(_dirs().user_log_dir)


# The rotating log in the log folder (wizard.app sets it up); the crash dialog and
# error messages point users at it.
LOG_FILE_NAME = "relay-wizard.log"


def log_file() -> Path:
    return log_dir() / LOG_FILE_NAME


def resources_dir() -> Path:
    """`resources/` beside the package from source, inside the bundle when frozen."""
    frozen_base = getattr(sys, "_MEIPASS", None)
    if frozen_base:
        return Path(frozen_base) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def resource(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)
