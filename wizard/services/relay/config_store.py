"""The relay's config file (JSON, atomic, no secrets) and its data folder."""

from __future__ import annotations

import json
from pathlib import Path

from wizard.core.errors import InvalidInput, ProfileError
from wizard.core.i18n import tr
from wizard.core.relay import SCHEMA_VERSION, RelayConfig, validate
from wizard.services.atomic import write_atomic
from wizard.services.paths import config_dir

CONFIG_FILE = "relay.json"
# A config file is a few kilobytes; anything far bigger is not ours.
MAX_CONFIG_BYTES = 1024 * 1024


def default_config_path() -> Path:
    return config_dir() / CONFIG_FILE


def data_dir(config: RelayConfig, config_path: Path | None = None) -> Path:
    """Where the queue, the failed folder, the certificate, the status and the log live."""
    if config.data_dir:
        return Path(config.data_dir)
    base = config_path.parent if config_path is not None else config_dir()
    return base / "relay-data"


def load_config(path: Path | None = None, *, check: bool = True) -> RelayConfig:
    path = path or default_config_path()
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ProfileError(
                tr("The relay's settings file is too big to be one of ours: {path}").format(
                    path=path
                )
            )
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(
            tr("The relay is not set up on this computer yet ({path} is missing).").format(
                path=path
            ),
            next_step=tr("Set it up in the wizard's Relay step, or pass --config."),
        ) from None
    except (OSError, ValueError) as exc:
        raise ProfileError(
            tr("The relay's settings file cannot be read: {path}").format(path=path),
            next_step=tr("Set the relay up again in the wizard's Relay step."),
            detail=type(exc).__name__,
        ) from None
    if not isinstance(data, dict):
        raise ProfileError(tr("The relay's settings file is not a settings object."))
    version = data.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise ProfileError(
            tr("The relay's settings were written by a newer Relay Wizard."),
            next_step=tr("Update Relay Wizard on this computer."),
        )
    config = RelayConfig.from_dict(data)
    if check:
        problems = validate(config)
        if problems:
            raise InvalidInput(
                tr("The relay's settings cannot be used: {problem}").format(
                    problem=problems[0].message
                ),
                detail="; ".join(f"{p.field}: {p.message}" for p in problems),
            )
    return config


def save_config(config: RelayConfig, path: Path | None = None) -> Path:
    path = path or default_config_path()
    text = json.dumps(config.to_dict(), indent=2, ensure_ascii=False) + "\n"
    write_atomic(path, text.encode("utf-8"))
    return path
