"""HTML of the sandbox's sign-in pages: plain, accessible, no scripts beyond auto-submit.

Every value that reaches a page is escaped. Buttons carry `name`/`value` pairs a
stand-in browser (wizard.sandbox.identity.browser) can post without parsing the page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape

from wizard.sandbox.identity.aad_errors import AadError
from wizard.sandbox.tenant import Account

_STYLE = """
body{font-family:"Segoe UI",system-ui,sans-serif;background:#f2f2f2;margin:0;color:#1b1b1b}
main{max-width:440px;margin:48px auto;background:#fff;padding:32px 40px;
box-shadow:0 2px 6px rgba(0,0,0,.2)}
h1{font-size:1.5rem;font-weight:600;margin:0 0 12px}
.banner{font-size:.85rem;color:#605e5c;margin-bottom:16px}
.account{display:block;width:100%;text-align:left;padding:12px;margin:6px 0;
border:1px solid #c8c6c4;background:#fff;font-size:1rem;cursor:pointer}
.account:hover,.account:focus{background:#f3f2f1;outline:2px solid #0067b8}
.account small{display:block;color:#605e5c}
.hint{outline:2px solid #0067b8}
.secondary{margin-top:16px;padding:8px 16px;border:1px solid #8a8886;background:#fff;
cursor:pointer}
.primary{padding:8px 16px;border:0;background:#0067b8;color:#fff;cursor:pointer}
.error{color:#a4262c}
code{background:#f3f2f1;padding:2px 4px;word-break:break-all}
input[type=text]{font-size:1.2rem;padding:6px;width:100%;box-sizing:border-box;
letter-spacing:.1em;text-transform:uppercase}
"""


def page(title: str, body: str, *, onload: str = "") -> str:
    onload_attr = f' onload="{onload}"' if onload else ""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body{onload_attr}><main>"
        '<div class="banner">Sandbox tenant on this computer: no real Microsoft account '
        "is used.</div>"
        f"{body}</main></body></html>"
    )


def _role_text(account: Account) -> str:
    return ", ".join(sorted(account.roles)) or "No admin role"


def account_picker(
    *,
    action: str,
    hidden: Mapping[str, str],
    app_name: str,
    accounts: Iterable[Account],
    login_hint: str | None = None,
    heading: str = "Pick an account",
) -> str:
    fields = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in hidden.items()
    )
    buttons = []
    for account in accounts:
        hint = (
            ' class="account hint"'
            if login_hint and login_hint.lower() == account.upn.lower()
            else ' class="account"'
        )
        buttons.append(
            f'<button type="submit" name="upn" value="{escape(account.upn)}"{hint}>'
            f"{escape(account.display_name)}<small>{escape(account.upn)}"
            f" &middot; {escape(_role_text(account))}</small></button>"
        )
    body = (
        f"<h1>{escape(heading)}</h1>"
        f"<p>to continue to <b>{escape(app_name)}</b></p>"
        f'<form method="post" action="{escape(action)}">{fields}{"".join(buttons)}'
        '<button type="submit" name="cancel" value="1" class="secondary">Cancel</button>'
        "</form>"
    )
    return page("Sign in to your account", body)


def error_page(
    error: AadError, *, heading: str = "Sorry, but we're having trouble signing you in."
) -> str:
    body = (
        f"<h1>{escape(heading)}</h1>"
        f'<p class="error" role="alert">{escape(error.description)}</p>'
        "<p>Go back to the application and try again.</p>"
    )
    return page("Sign in to your account", body)


def form_post(redirect_uri: str, fields: Mapping[str, str]) -> str:
    """The page that hands the result to the app's loopback listener (response_mode=form_post)."""
    inputs = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items()
    )
    body = (
        "<h1>Returning to the application&hellip;</h1>"
        f'<form method="post" action="{escape(redirect_uri)}">{inputs}'
        "<noscript><p>Script is off: press Continue.</p></noscript>"
        '<button type="submit" class="primary">Continue</button></form>'
    )
    return page("Working...", body, onload="document.forms[0].submit()")


def device_code_entry(*, action: str, problem: str | None = None) -> str:
    error = f'<p class="error" role="alert">{escape(problem)}</p>' if problem else ""
    body = (
        "<h1>Enter code</h1>"
        "<p>Enter the code displayed on your app or device.</p>"
        f"{error}"
        f'<form method="post" action="{escape(action)}">'
        '<label for="otc">Code</label>'
        '<input type="text" id="otc" name="otc" autocomplete="off" autofocus required>'
        '<p><button type="submit" class="primary">Next</button></p></form>'
    )
    return page("Enter code", body)


def message_page(heading: str, text: str) -> str:
    return page(heading, f"<h1>{escape(heading)}</h1><p>{escape(text)}</p>")
