"""Installing the relay as a service: systemd unit, launchd agent or Windows service.

One small collaborator, `ServiceManager`, writes the platform's file and runs the
platform's commands through a `Runner`, so tests run the real Linux path with a
runner of their choice and the other platforms' files are checked as text.
"""

from __future__ import annotations

from pathlib import Path


class ServiceManager:
    """install / remove / start / stop / is_running for one platform."""


def service_manager() -> ServiceManager:
    raise NotImplementedError


def install_service(config_path: Path, *, manager: ServiceManager | None = None) -> str:
    """Install and start the relay service; returns its name."""
    raise NotImplementedError


def remove_service(*, manager: ServiceManager | None = None) -> None:
    raise NotImplementedError
