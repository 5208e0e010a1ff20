"""The admin's sign-in for the commands that read a tenant (`audit`, `tenant-probe`).

The browser by default, a code on any device with `--device-code` (printed to standard
error). Graph gets its own round for the same account (a second code with
`--device-code`): a Microsoft
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
        from wizard.core.clouds import AppJob

        code = sign_in.start_device_code()
        print(
            f"To sign in, open {code.verification_uri} and enter the code {code.user_code}",
            file=sys.stderr,
            flush=True,
        )
        if target.finish_device_code is not None:
            target.finish_device_code(code.verification_uri, code.user_code)
        account = sign_in.finish_device_code(code)
        if sign_in.client_for(AppJob.GRAPH_READ) == sign_in.client_for(AppJob.ADMIN_API):
            return account
        # The same second round as with the browser: one more code, for Graph.
        try:
            graph = sign_in.start_device_code(job=AppJob.GRAPH_READ)
            print(
                f"One more, for Microsoft Graph: open {graph.verification_uri} and enter the "
                f"code {graph.user_code} (same account)",
                file=sys.stderr,
                flush=True,
            )
            if target.finish_device_code is not None:
                target.finish_device_code(graph.verification_uri, graph.user_code)
            sign_in.finish_device_code(graph)
        except WizardError as exc:
            print(f"note: Microsoft Graph sign-in failed: {exc.plain()}", file=sys.stderr)
        return account
    print("Opening the browser to sign in…", file=sys.stderr, flush=True)
    account = sign_in.sign_in_browser()
    try:
        sign_in.sign_in_graph()
    except WizardError as exc:
        print(f"note: Microsoft Graph sign-in failed: {exc.plain()}", file=sys.stderr)
    return account
