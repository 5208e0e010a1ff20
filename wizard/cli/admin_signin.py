"""The admin's sign-in for the commands that read a tenant (`audit`, `tenant-probe`).

The browser by default, a code on any device with `--device-code` (printed to standard
error). With the browser, Graph gets its own round for the same account: a Microsoft
first-party client may not ask for another first-party resource (AADSTS65002), so the
Exchange Online PowerShell app serves the admin API and the Graph Command Line Tools
app the Graph reads. Without that round the Graph reads are reported as unknown.
"""

from __future__ import annotations

import sys
from typing import Any


def sign_in_admin(sign_in: Any, target: Any, *, device_code: bool) -> Any:
    """Sign the admin in on `target` (its opener, or the demo's code completion)."""
    from wizard.core.errors import WizardError

    if device_code:
        code = sign_in.start_device_code()
        print(
            f"To sign in, open {code.verification_uri} and enter the code {code.user_code}",
            file=sys.stderr,
            flush=True,
        )
        if target.finish_device_code is not None:
            target.finish_device_code(code.verification_uri, code.user_code)
        return sign_in.finish_device_code(code)
    print("Opening the browser to sign in…", file=sys.stderr, flush=True)
    account = sign_in.sign_in_browser()
    try:
        sign_in.sign_in_graph()
    except WizardError as exc:
        print(f"note: Microsoft Graph sign-in failed: {exc.plain()}", file=sys.stderr)
    return account
