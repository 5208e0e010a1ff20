"""Command-line subcommands: the same services as the GUI, for scripts.

Exit codes (DESIGN.md): 0 all good, 1 checks found problems, 2 bad usage or input,
3 could not reach a service.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

from wizard.core.errors import InvalidInput, NetworkError, WizardError

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3

Handler = Callable[[argparse.Namespace], int]


def add_cloud_option(
    p: argparse.ArgumentParser, help: str = "the Microsoft 365 cloud (default: worldwide)"
) -> None:
    """--cloud, as every subcommand that talks to Microsoft 365 takes it."""
    from wizard.core.clouds import SELECTABLE_CLOUDS, CloudId

    p.add_argument(
        "--cloud",
        choices=[c.value for c in SELECTABLE_CLOUDS],
        default=CloudId.WORLDWIDE.value,
        help=help,
    )


# Every subcommand and the module that declares its options (None: declared here).
# Only the module of the command being run is imported, so a command pays for no
# other command's imports (send-test's address checks, the sheet's layout...).
COMMANDS: dict[str, str | None] = {
    "self-test": None,
    "sandbox": None,
    "send-test": "wizard.cli.send_test",
    "check-dns": "wizard.cli.check_dns",
    "audit": "wizard.cli.audit",
    "tenant-probe": "wizard.cli.tenant_probe",
    "sheet": None,
    "relay": "wizard.cli.relay",
}


def add_subcommands(
    parser: argparse.ArgumentParser,
    only: str | None = None,
    handlers: Mapping[str, Handler] | None = None,
) -> None:
    """Every subcommand; with `only`, the others are bare names that take no options.

    The bare names keep the parser's shape (the same usage line and errors) while
    their modules stay unimported; `wizard.app` passes `only` once it knows which
    command runs, and never when the top-level help may list them all. `handlers`
    carries the commands whose work lives above the command line (`self-test` builds
    the UI), which the launcher wires in: the CLI never imports the UI.
    """
    import importlib

    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        if only is not None and name != only:
            sub.add_parser(name, add_help=False)
        elif module_name is None:
            _add_builtin(sub, name, handlers or {})
        else:
            # Each module declares its options with light imports only; what a command
            # needs to run is imported when it runs, so `--help` stays fast too.
            importlib.import_module(module_name).add_parser(sub)


def _add_builtin(
    sub: argparse._SubParsersAction,  # type: ignore[type-arg]
    name: str,
    handlers: Mapping[str, Handler],
) -> None:
    if name == "self-test":
        p = sub.add_parser(
            "self-test", help="offscreen: build every page, save screenshots, exit 0/1"
        )
        p.add_argument(
            "--out", metavar="DIR", help="folder for the screenshots (default: a temp dir)"
        )
        p.set_defaults(handler=handlers.get("self-test", _not_wired))
    elif name == "sandbox":
        p = sub.add_parser(
            "sandbox",
            help="run the sandbox tenant's servers in the foreground; print endpoints as JSON",
            description="Start the simulated Microsoft 365 tenant on 127.0.0.1. The first line "
            "of output is one JSON object with its endpoints and CA file; Ctrl-C stops it.",
        )
        p.set_defaults(handler=_sandbox)
    elif name == "sheet":
        from wizard.cli import sheet

        p = sub.add_parser("sheet", help="write the printers' settings sheets as PDF (offscreen)")
        sheet.add_arguments(p)
        p.set_defaults(handler=_sheet)


# Subcommands that reach a service but take their endpoints from options, not from
# --demo: with --demo they would silently talk to the real internet.
_NOT_DEMO = frozenset({"send-test", "check-dns"})


def run(args: argparse.Namespace) -> int:
    handler: Handler = args.handler
    if getattr(args, "demo", False) and getattr(args, "command", None) in _NOT_DEMO:
        print(
            f"error: --demo does not apply to {args.command}: start `sandbox` and pass its "
            "endpoints (see the README).",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        return handler(args)
    except InvalidInput as exc:
        _error(exc)
        return EXIT_USAGE
    except NetworkError as exc:
        _error(exc)
        return EXIT_UNREACHABLE
    except WizardError as exc:
        _error(exc)
        return EXIT_PROBLEMS


def _error(exc: WizardError) -> None:
    print(f"error: {exc.plain()}", file=sys.stderr)
    if exc.detail:
        print(f"       ({exc.detail})", file=sys.stderr)


def print_json(data: dict[str, Any]) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def _not_wired(args: argparse.Namespace) -> int:
    print(f"error: {args.command} runs only from relay-wizard itself.", file=sys.stderr)
    return EXIT_USAGE


def _sheet(args: argparse.Namespace) -> int:
    from wizard.cli.sheet import run_sheet

    return run_sheet(args)


def _sandbox(args: argparse.Namespace) -> int:
    from wizard.sandbox.server import run_foreground

    return run_foreground()
