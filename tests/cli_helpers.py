"""Run a subcommand in this process, as `python main.py ...` would, and capture it.

In-process (not a subprocess) so that hundreds of generated argument lists stay fast;
the parser and the handlers are the real ones. Logging is left as the tests set it up.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass


@dataclass(frozen=True)
class CliRun:
    code: int
    out: str
    err: str


def run_cli(argv: Sequence[str], stdin: bytes = b"") -> CliRun:
    from wizard import cli
    from wizard.app import build_parser

    out, err = io.StringIO(), io.StringIO()
    saved_stdin = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                args = build_parser().parse_args(list(argv))
                code = cli.run(args)
            except SystemExit as exc:  # argparse's own usage errors exit 2
                code = exc.code if isinstance(exc.code, int) else 2
    finally:
        sys.stdin = saved_stdin
    return CliRun(code, out.getvalue(), err.getvalue())
