"""Installing the relay as a service: systemd unit, launchd agent or Windows service.

One small collaborator, `ServiceManager`, writes the platform's file and runs the
platform's commands through a `Runner` (subprocess with a timeout by default), so the
Linux path runs for real in the tests and the other platforms' files are checked as
text. Each manager starts the relay at boot (or login for per-user installs) and
restarts it when it stops unexpectedly.

    manager = service_manager()                      # this platform's, per-user
    install_service(config_path, manager=manager)    # writes the file, enables, starts
    manager.is_running()
    remove_service(manager=manager)                  # stops, disables, removes the file

- systemd: `~/.config/systemd/user/relay-wizard-relay.service` (`--system`:
  /etc/systemd/system), `systemctl [--user] daemon-reload` and `enable --now`. A user
  unit runs at boot only with lingering on (`loginctl enable-linger`), which the
  install asks for too.
- launchd: `~/Library/LaunchAgents/com.relaywizard.relay.plist` (`--system`:
  /Library/LaunchDaemons), `launchctl bootstrap gui/<uid>|system <plist>`.
- Windows: `sc.exe create RelayWizardRelay binPath= "<app> relay run --windows-service
  --config <file>" start= delayed-auto`, restart on failure (`sc.exe failure`). The
  app answers the Service Control Manager itself in that mode (wizard/cli/relay.py).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from wizard.core.errors import InvalidInput, ServiceError
from wizard.core.i18n import tr
from wizard.services.atomic import write_atomic

SERVICE_NAME = "relay-wizard-relay"
LAUNCHD_LABEL = "com.relaywizard.relay"
WINDOWS_NAME = "RelayWizardRelay"
COMMAND_TIMEOUT = 60.0


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


Runner = Callable[[Sequence[str]], CommandResult]


def run_command(argv: Sequence[str]) -> CommandResult:
    """The platform's command, bounded in time; a missing program is a failed result."""
    try:
        done = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        return CommandResult(tuple(argv), 127, "", f"{argv[0]}: not found")
    except subprocess.TimeoutExpired:
        return CommandResult(tuple(argv), 124, "", f"{argv[0]}: no answer in time")
    except OSError as exc:
        return CommandResult(tuple(argv), 126, "", f"{argv[0]}: {exc}")
    return CommandResult(tuple(argv), done.returncode, done.stdout, done.stderr)


def relay_command(config_path: Path) -> list[str]:
    """How the service starts the relay: this app (frozen) or this Python with main.py."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "relay", "run", "--config", str(config_path)]
    main = Path(__file__).resolve().parents[3] / "main.py"
    return [sys.executable, str(main), "relay", "run", "--config", str(config_path)]


class ServiceManager:
    """install / remove / is_running for one platform; files first, then commands."""

    platform = "generic"

    def __init__(self, runner: Runner = run_command, *, system: bool = False) -> None:
        self.runner = runner
        self.system = system

    # What subclasses give.
    def service_file(self) -> Path:
        raise NotImplementedError

    def render(self, command: Sequence[str]) -> str:
        raise NotImplementedError

    def install_commands(self) -> list[list[str]]:
        raise NotImplementedError

    def remove_commands(self) -> list[list[str]]:
        raise NotImplementedError

    def status_command(self) -> list[str]:
        raise NotImplementedError

    # The common steps.
    def _run(self, argv: Sequence[str], *, what: str, tolerate: bool = False) -> CommandResult:
        result = self.runner(argv)
        if not result.ok and not tolerate:
            raise ServiceError(
                what,
                tr("The command `{command}` answered: {answer}").format(
                    command=shlex.join(argv),
                    answer=(result.stderr or result.stdout).strip()[:300] or result.returncode,
                ),
                self.hint(),
                detail=f"exit {result.returncode}",
            )
        return result

    def hint(self) -> str:
        return tr("Run the same command yourself to see more, or install as an administrator.")

    def install(self, command: Sequence[str]) -> Path:
        path = self.service_file()
        text = self.render(command)
        try:
            write_atomic(path, text.encode("utf-8"))
        except OSError as exc:
            raise ServiceError(
                tr("The service file {path} could not be written.").format(path=path),
                next_step=tr("Install the service as an administrator (--system needs it)."),
                detail=f"{type(exc).__name__}: {exc}",
            ) from None
        for argv in self.install_commands():
            self._run(argv, what=tr("The relay service could not be installed."))
        return path

    def remove(self) -> None:
        for argv in self.remove_commands():
            # Stopping what is not running is fine; the file goes anyway.
            self._run(argv, what=tr("The relay service could not be removed."), tolerate=True)
        path = self.service_file()
        if path.exists():
            try:
                path.unlink()
            except OSError as exc:
                raise ServiceError(
                    tr("The service file {path} could not be removed.").format(path=path),
                    detail=f"{type(exc).__name__}: {exc}",
                ) from None
        self.after_remove()

    def after_remove(self) -> None:
        pass

    def is_running(self) -> bool:
        return self.runner(self.status_command()).ok

    def restart_commands(self) -> list[list[str]]:
        raise NotImplementedError

    def restart(self) -> None:
        """After a change of the settings (a device added): the relay reads them at start."""
        for argv in self.restart_commands():
            self._run(argv, what=tr("The relay service could not be restarted."))


class SystemdManager(ServiceManager):
    platform = "systemd"

    def __init__(
        self,
        runner: Runner = run_command,
        *,
        system: bool = False,
        unit_dir: Path | None = None,
        user: str | None = None,
    ) -> None:
        super().__init__(runner, system=system)
        if unit_dir is None:
            if system:
                unit_dir = Path("/etc/systemd/system")
            else:
                base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
                unit_dir = Path(base) / "systemd" / "user"
        self.unit_dir = unit_dir
        # Under sudo, the technician who set the relay up (their keyring holds its
        # secrets), not root.
        self.user = user or os.environ.get("SUDO_USER") or os.environ.get("USER") or ""

    def _systemctl(self, *args: str) -> list[str]:
        return ["systemctl", *([] if self.system else ["--user"]), *args]

    def service_file(self) -> Path:
        return self.unit_dir / f"{SERVICE_NAME}.service"

    def render(self, command: Sequence[str]) -> str:
        # systemd's own quoting: each argument in double quotes, \ and " escaped,
        # % doubled (specifiers).
        def quote(arg: str) -> str:
            return '"' + arg.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%") + '"'

        wanted = "multi-user.target" if self.system else "default.target"
        system_lines = ""
        if self.system:
            # Ports 587 and 25 are below 1024: the system service gets just that right,
            # and runs as the technician's account, whose keyring holds the secrets.
            system_lines = "AmbientCapabilities=CAP_NET_BIND_SERVICE\n"
            if self.user and self.user != "root":
                system_lines += f"User={self.user}\n"
        return (
            "[Unit]\n"
            "Description=Relay Wizard local relay (devices to Microsoft 365)\n"
            "Wants=network-online.target\n"
            "After=network-online.target\n\n"
            "[Service]\n"
            "Type=simple\n"
            f"ExecStart={' '.join(quote(a) for a in command)}\n"
            f"{system_lines}"
            "Restart=on-failure\n"
            "RestartSec=10\n"
            # The relay stops in a few seconds; give it time to finish the message in hand.
            "TimeoutStopSec=90\n"
            "KillSignal=SIGTERM\n"
            "NoNewPrivileges=yes\n"
            "PrivateTmp=yes\n\n"
            "[Install]\n"
            f"WantedBy={wanted}\n"
        )

    def install_commands(self) -> list[list[str]]:
        commands = [
            self._systemctl("daemon-reload"),
            self._systemctl("enable", "--now", f"{SERVICE_NAME}.service"),
        ]
        if not self.system and self.user:
            # A user's unit runs at boot (not only while they are logged in) with lingering.
            commands.append(["loginctl", "enable-linger", self.user])
        return commands

    def remove_commands(self) -> list[list[str]]:
        return [self._systemctl("disable", "--now", f"{SERVICE_NAME}.service")]

    def after_remove(self) -> None:
        self._run(self._systemctl("daemon-reload"), what="", tolerate=True)

    def status_command(self) -> list[str]:
        return self._systemctl("is-active", "--quiet", f"{SERVICE_NAME}.service")

    def restart_commands(self) -> list[list[str]]:
        return [self._systemctl("restart", f"{SERVICE_NAME}.service")]

    def hint(self) -> str:
        if self.system:
            return tr("Install the system service as root (sudo).")
        return tr(
            "A user service needs a running systemd user session (log in on this computer "
            "once, or use --system as root)."
        )


class LaunchdManager(ServiceManager):
    platform = "launchd"

    def __init__(
        self,
        runner: Runner = run_command,
        *,
        system: bool = False,
        agent_dir: Path | None = None,
        uid: int | None = None,
        log_dir: Path | None = None,
    ) -> None:
        super().__init__(runner, system=system)
        if agent_dir is None:
            agent_dir = (
                Path("/Library/LaunchDaemons")
                if system
                else Path.home() / "Library" / "LaunchAgents"
            )
        self.agent_dir = agent_dir
        getuid = getattr(os, "getuid", None)
        self.uid = uid if uid is not None else (getuid() if getuid else 0)
        self.log_dir = log_dir or Path.home() / "Library" / "Logs" / "Relay Wizard"

    @property
    def domain(self) -> str:
        return "system" if self.system else f"gui/{self.uid}"

    def service_file(self) -> Path:
        return self.agent_dir / f"{LAUNCHD_LABEL}.plist"

    def render(self, command: Sequence[str]) -> str:
        args = "\n".join(f"        <string>{escape(a)}</string>" for a in command)
        out = escape(str(self.log_dir / "relay-service.log"))
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" '
            '"http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n'
            '<plist version="1.0">\n'
            "<dict>\n"
            f"    <key>Label</key>\n    <string>{LAUNCHD_LABEL}</string>\n"
            f"    <key>ProgramArguments</key>\n    <array>\n{args}\n    </array>\n"
            "    <key>RunAtLoad</key>\n    <true/>\n"
            # Restarted when it exits with an error, not after a clean stop.
            "    <key>KeepAlive</key>\n    <dict>\n"
            "        <key>SuccessfulExit</key>\n        <false/>\n    </dict>\n"
            "    <key>ThrottleInterval</key>\n    <integer>10</integer>\n"
            f"    <key>StandardOutPath</key>\n    <string>{out}</string>\n"
            f"    <key>StandardErrorPath</key>\n    <string>{out}</string>\n"
            "</dict>\n"
            "</plist>\n"
        )

    def install_commands(self) -> list[list[str]]:
        return [["launchctl", "bootstrap", self.domain, str(self.service_file())]]

    def remove_commands(self) -> list[list[str]]:
        return [["launchctl", "bootout", f"{self.domain}/{LAUNCHD_LABEL}"]]

    def status_command(self) -> list[str]:
        return ["launchctl", "print", f"{self.domain}/{LAUNCHD_LABEL}"]

    def restart_commands(self) -> list[list[str]]:
        return [["launchctl", "kickstart", "-k", f"{self.domain}/{LAUNCHD_LABEL}"]]


class WindowsServiceManager(ServiceManager):
    """A Windows service through sc.exe; the app itself answers the Service Control
    Manager in `relay run --windows-service` mode. Needs an administrator."""

    platform = "windows"

    def __init__(self, runner: Runner = run_command, *, config_dir: Path | None = None) -> None:
        super().__init__(runner, system=True)
        self.config_dir = config_dir or Path(os.environ.get("PROGRAMDATA", "C:/ProgramData"))
        self._command: list[str] = []

    def service_file(self) -> Path:
        # sc.exe keeps the service in the registry; the file records what was installed
        # so remove and the Relay step know the command line.
        return self.config_dir / "Relay Wizard" / "relay-service.txt"

    def render(self, command: Sequence[str]) -> str:
        self._command = [*command, "--windows-service"]
        return subprocess.list2cmdline(self._command) + "\n"

    def install_commands(self) -> list[list[str]]:
        # sc.exe's odd syntax: "name= value" is two arguments, the space is required.
        return [
            [
                "sc.exe",
                "create",
                WINDOWS_NAME,
                "binPath=",
                subprocess.list2cmdline(self._command),
                "start=",
                "delayed-auto",
                "DisplayName=",
                "Relay Wizard relay",
            ],
            [
                "sc.exe",
                "description",
                WINDOWS_NAME,
                "Sends the office devices' mail on to Microsoft 365 (Relay Wizard).",
            ],
            [
                "sc.exe",
                "failure",
                WINDOWS_NAME,
                "reset=",
                "86400",
                "actions=",
                "restart/10000/restart/60000/restart/300000",
            ],
            ["sc.exe", "start", WINDOWS_NAME],
        ]

    def remove_commands(self) -> list[list[str]]:
        return [["sc.exe", "stop", WINDOWS_NAME], ["sc.exe", "delete", WINDOWS_NAME]]

    def status_command(self) -> list[str]:
        return ["sc.exe", "query", WINDOWS_NAME]

    def restart_commands(self) -> list[list[str]]:
        # sc.exe has no restart; stop returns before the service has stopped, and a
        # start meanwhile fails with 1056, so the Relay step retries the start.
        return [["sc.exe", "stop", WINDOWS_NAME], ["sc.exe", "start", WINDOWS_NAME]]

    def is_running(self) -> bool:
        result = self.runner(self.status_command())
        return result.ok and "RUNNING" in result.stdout

    def hint(self) -> str:
        return tr("Run Relay Wizard as an administrator to install a Windows service.")


def service_manager(
    *, system: bool = False, runner: Runner = run_command, platform: str | None = None
) -> ServiceManager:
    """This platform's manager (or `platform`: "linux", "darwin", "win32")."""
    name = platform or sys.platform
    if name.startswith("win"):
        return WindowsServiceManager(runner)
    if name == "darwin":
        return LaunchdManager(runner, system=system)
    if name.startswith("linux"):
        return SystemdManager(runner, system=system)
    raise InvalidInput(
        tr("Relay Wizard cannot install a service on this system ({name}).").format(name=name),
        next_step=tr("Start `relay-wizard relay run` with the system's own service tools."),
    )


def install_service(
    config_path: Path,
    *,
    manager: ServiceManager | None = None,
    command: Sequence[str] | None = None,
) -> Path:
    """Install, enable and start the relay service; returns the service file written."""
    if not config_path.exists():
        raise InvalidInput(
            tr("The relay's settings file {path} does not exist.").format(path=config_path),
            next_step=tr("Set the relay up first (the wizard's Relay step or `relay init`)."),
        )
    manager = manager or service_manager()
    return manager.install(list(command or relay_command(config_path.resolve())))


def remove_service(*, manager: ServiceManager | None = None) -> None:
    (manager or service_manager()).remove()
