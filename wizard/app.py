"""Entry point: excepthook, argument parsing, logging, then the GUI or the CLI."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from wizard import APP_NAME, __version__

if TYPE_CHECKING:
    from wizard.sandbox.server import Sandbox
    from wizard.ui.launch import DemoTenant

log = logging.getLogger("wizard")


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        from wizard.core.redact import redact

        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class _LogFileHandler(logging.Handler):
    """The rotating log file, opened when the first record comes.

    A command that logs nothing (check-dns, --help) then never imports the handlers
    module and the platform folders or touches the disk: a twentieth of its start.
    """

    def __init__(self) -> None:
        super().__init__()
        self._file: logging.Handler | None = None

    def _open(self) -> logging.Handler:
        import logging.handlers

        from wizard.services.paths import LOG_FILE_NAME, log_dir

        try:
            folder = log_dir()
            folder.mkdir(parents=True, exist_ok=True)
            handler: logging.Handler = logging.handlers.RotatingFileHandler(
                folder / LOG_FILE_NAME, maxBytes=1_000_000, backupCount=3, encoding="utf-8"
            )
        except OSError:
            # A read-only or missing home folder must not stop the app.
            handler = logging.NullHandler()
        handler.setFormatter(self.formatter)
        return handler

    def emit(self, record: logging.LogRecord) -> None:
        if self._file is None:
            self._file = self._open()
        self._file.handle(record)

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        super().close()


def setup_logging(verbose: bool = False) -> None:
    root = logging.getLogger()
    if any(getattr(h, "_relay_wizard", False) for h in root.handlers):
        return
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler = _LogFileHandler()
    handler.setFormatter(formatter)
    handler.addFilter(_RedactingFilter())
    handler._relay_wizard = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    if verbose and sys.stderr is not None:
        console = logging.StreamHandler()
        console.setFormatter(formatter)
        console.addFilter(_RedactingFilter())
        console._relay_wizard = True  # type: ignore[attr-defined]
        root.addHandler(console)


def _add_global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--demo", action="store_true", help="open the wizard against the built-in sandbox tenant"
    )
    parser.add_argument("--profile", metavar="FILE", help="open this site profile")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug output")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with `only`, just that subcommand's options are built."""
    from wizard import cli

    parser = argparse.ArgumentParser(
        prog="relay-wizard",
        description=f"{APP_NAME}: set up devices to send email through Microsoft 365.",
    )
    _add_global_options(parser)
    cli.add_subcommands(parser, only=only, handlers={"self-test": self_test})
    return parser


# chosen_command's answer when no subcommand runs (the GUI): build none of them.
NO_COMMAND = ""


def chosen_command(argv: Sequence[str]) -> str | None:
    """The subcommand `argv` runs, found with the global options alone (NO_COMMAND for
    the GUI); None when the whole parser is needed.

    `--version` is answered here, before any subcommand's module is imported. None
    also when the top-level help is asked for or the command is unknown: then the
    whole parser is built, so the help lists every command and errors read as before.
    """
    from wizard.cli import COMMANDS

    parser = argparse.ArgumentParser(prog="relay-wizard", add_help=False)
    _add_global_options(parser)
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    known, extra = parser.parse_known_args(argv)
    if {"-h", "--help"} & set(extra):
        return None
    if not known.rest and not extra:
        return NO_COMMAND  # the GUI: no subcommand's options are needed
    if not known.rest or known.rest[0] not in COMMANDS:
        return None
    command: str = known.rest[0]
    return command


def ensure_std_streams() -> None:
    """Give a windowed build somewhere to write: it starts with sys.stdout/stderr None.

    A Windows GUI executable has no console. print() copes with None, but
    sys.stdout.write(), json.dump(..., sys.stdout) and logging's StreamHandler do not;
    the console twin (relay-wizard-cli.exe) is the one to use for output.
    """
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))


def main(argv: Sequence[str] | None = None) -> int:
    ensure_std_streams()
    from wizard.services.crash_hook import install_excepthook

    install_excepthook()
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(only=chosen_command(arguments))
    args = parser.parse_args(arguments)
    setup_logging(args.verbose)
    command = getattr(args, "command", None)
    if command:
        from wizard import cli

        code: int = cli.run(args)
        return code
    from wizard.ui.launch import launch_gui

    status: int = launch_gui(args, start_demo=start_demo)
    return status


# The sandbox is wired in here, the composition root, and nowhere in the UI: the
# window takes a DemoTenant, the self-test a function that starts one.


def start_demo() -> DemoTenant:
    """The sandbox tenant for `--demo`: its servers, the office it starts with, practice."""
    from wizard.sandbox.practice import Practice
    from wizard.sandbox.server import Sandbox
    from wizard.ui.launch import DemoTenant, demo_profile

    sandbox = Sandbox().start()
    state = sandbox.state
    return DemoTenant(
        cloud=sandbox.cloud,
        profile=demo_profile(state.display_name, state.default_domain, state.site_public_ip),
        practice=Practice(state),
        stop=sandbox.stop,
    )


def start_sandbox() -> Sandbox:
    """A running sandbox tenant, for the self-test."""
    from wizard.sandbox.server import Sandbox

    return Sandbox().start()


def self_test(args: argparse.Namespace) -> int:
    from wizard.ui.selftest import run_self_test

    result: int = run_self_test(args.out, start_sandbox)
    return result
