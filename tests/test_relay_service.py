"""Installing the relay as a service: the real Linux path (systemd's own checker on
the unit, systemctl run for real), launchd's and sc.exe's files and commands as text."""

from __future__ import annotations

import plistlib
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from wizard.core.errors import InvalidInput, ServiceError
from wizard.services.relay import install_service, remove_service
from wizard.services.relay.service import (
    LAUNCHD_LABEL,
    WINDOWS_NAME,
    CommandResult,
    LaunchdManager,
    SystemdManager,
    WindowsServiceManager,
    relay_command,
    run_command,
    service_manager,
)


class Recorder:
    """Runs nothing: records what the manager asked for and answers as told."""

    def __init__(self, answers: dict[str, CommandResult] | None = None) -> None:
        self.calls: list[list[str]] = []
        self.answers = answers or {}

    def __call__(self, argv: Sequence[str]) -> CommandResult:
        self.calls.append(list(argv))
        for key, answer in self.answers.items():
            if key in " ".join(argv):
                return answer
        return CommandResult(tuple(argv), 0, "", "")


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "cfg dir" / "relay.json"
    path.parent.mkdir()
    path.write_text("{}")
    return path


def test_the_systemd_unit_passes_systemds_own_check(tmp_path: Path, config_file: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    manager = SystemdManager(Recorder(), unit_dir=tmp_path / "units", user="tech")
    unit = manager.install(relay_command(config_file))
    text = unit.read_text()
    assert f'"{config_file}"' in text and "Restart=on-failure" in text
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # systemd-analyze complains about the machine (no bus, no /run/systemd) on stderr;
    # a unit error names the file.
    assert unit.name not in done.stderr, done.stderr
    assert manager.runner.calls == [  # type: ignore[attr-defined]
        ["systemctl", "--user", "daemon-reload"],
        ["systemctl", "--user", "enable", "--now", "relay-wizard-relay.service"],
        ["loginctl", "enable-linger", "tech"],
    ]


def test_systemctl_for_real_without_a_user_session_is_explained(
    tmp_path: Path, config_file: Path
) -> None:
    if shutil.which("systemctl") is None:
        pytest.skip("no systemctl here")
    manager = SystemdManager(run_command, unit_dir=tmp_path / "units", user="")
    probe = run_command(["systemctl", "--user", "is-system-running"])
    if probe.ok:
        pytest.skip("a systemd user session runs here; not installing into it")
    with pytest.raises(ServiceError) as failed:
        install_service(config_file, manager=manager)
    assert "could not be installed" in failed.value.what
    assert "systemctl --user daemon-reload" in failed.value.why
    assert "user session" in failed.value.next_step
    assert not manager.is_running()
    remove_service(manager=manager)  # nothing running: removal still tidies up
    assert not manager.service_file().exists()


def test_launchd_agent(tmp_path: Path, config_file: Path) -> None:
    recorder = Recorder()
    manager = LaunchdManager(recorder, agent_dir=tmp_path, uid=501)
    plist = plistlib.loads(manager.install(relay_command(config_file)).read_bytes())
    assert plist["Label"] == LAUNCHD_LABEL and plist["RunAtLoad"] is True
    assert plist["ProgramArguments"][-2:] == ["--config", str(config_file)]
    assert plist["KeepAlive"] == {"SuccessfulExit": False}
    assert recorder.calls == [["launchctl", "bootstrap", "gui/501", str(manager.service_file())]]
    manager.restart()
    assert recorder.calls[-1] == ["launchctl", "kickstart", "-k", f"gui/501/{LAUNCHD_LABEL}"]
    manager.remove()
    assert recorder.calls[-1] == ["launchctl", "bootout", f"gui/501/{LAUNCHD_LABEL}"]
    assert not manager.service_file().exists()


def test_windows_service_with_sc_exe(tmp_path: Path, config_file: Path) -> None:
    recorder = Recorder({"query": CommandResult((), 0, "STATE : 4  RUNNING", "")})
    manager = WindowsServiceManager(recorder, config_dir=tmp_path)
    manager.install(["C:\\Program Files\\Relay Wizard\\relay-wizard.exe", "relay", "run"])
    create = recorder.calls[0]
    assert create[:3] == ["sc.exe", "create", WINDOWS_NAME]
    bin_path = create[create.index("binPath=") + 1]
    assert (
        bin_path
        == '"C:\\Program Files\\Relay Wizard\\relay-wizard.exe" relay run --windows-service'
    )
    assert create[create.index("start=") + 1] == "delayed-auto"
    assert ["sc.exe", "start", WINDOWS_NAME] in recorder.calls
    assert any(c[:2] == ["sc.exe", "failure"] for c in recorder.calls)
    assert manager.is_running()


def test_the_system_unit_may_use_port_587_and_runs_as_the_technician(
    tmp_path: Path, config_file: Path
) -> None:
    manager = SystemdManager(Recorder(), unit_dir=tmp_path, system=True, user="tech")
    text = manager.install(relay_command(config_file)).read_text()
    assert "AmbientCapabilities=CAP_NET_BIND_SERVICE" in text and "User=tech" in text
    assert "WantedBy=multi-user.target" in text
    assert manager.runner.calls[0] == ["systemctl", "daemon-reload"]  # type: ignore[attr-defined]
    user_unit = SystemdManager(Recorder(), unit_dir=tmp_path / "u", user="tech")
    assert "User=" not in user_unit.render(["relay"])


def test_a_failed_command_stops_the_install_with_its_answer(
    tmp_path: Path, config_file: Path
) -> None:
    recorder = Recorder({"enable": CommandResult((), 1, "", "Access denied")})
    manager = SystemdManager(recorder, unit_dir=tmp_path, system=True)
    with pytest.raises(ServiceError) as failed:
        install_service(config_file, manager=manager)
    assert "Access denied" in failed.value.why and "root" in failed.value.next_step


def test_install_needs_a_config_and_a_known_platform(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        install_service(tmp_path / "missing.json", manager=SystemdManager(Recorder()))
    with pytest.raises(InvalidInput):
        service_manager(platform="plan9")
    assert isinstance(service_manager(platform="darwin"), LaunchdManager)
    assert isinstance(service_manager(platform="win32"), WindowsServiceManager)
