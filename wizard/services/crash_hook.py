"""The process's last word on an unhandled exception: log it, then show it.

`wizard.app` installs the hook first thing; the GUI registers a reporter that shows the
crash dialog (wizard/ui/crash.py). It lives below the UI so the UI can register
without importing the launcher (the layers point down only).
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from types import TracebackType

from wizard import APP_NAME

log = logging.getLogger("wizard")

# The GUI registers a function that shows the crash dialog; the CLI and the self-test
# never do, so a crash there prints a message and exits instead.
_crash_reporter: Callable[[str], None] | None = None


def set_crash_reporter(reporter: Callable[[str], None] | None) -> None:
    global _crash_reporter
    _crash_reporter = reporter


def excepthook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    import traceback

    text = "".join(traceback.format_exception(exc_type, exc, tb))
    log.critical("Unhandled exception\n%s", text)
    reporter = _crash_reporter
    if reporter is not None:
        try:
            reporter(text)
            return
        except Exception:  # the dialog itself failed: fall back to stderr
            log.exception("The crash dialog failed")
    if sys.stderr is not None:
        print(
            f"{APP_NAME} stopped because of an internal error. Details are in the log.",
            file=sys.stderr,
        )
        print(text, file=sys.stderr)


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is not None:
        excepthook(args.exc_type, args.exc_value, args.exc_traceback)


def install_excepthook() -> None:
    sys.excepthook = excepthook
    threading.excepthook = _thread_excepthook
