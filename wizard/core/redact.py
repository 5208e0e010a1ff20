"""Remove secrets from text before it reaches a log, a transcript or a report.

A safety net only: code must not hand secrets to loggers in the first place. The
patterns cover what the wizard's protocols carry: SMTP AUTH arguments, bearer tokens,
JWTs, and `password=`/`secret=`-style pairs.
"""

from __future__ import annotations

import re

MASK = "[redacted]"
# SASL mechanism names, as an EHLO answer lists them.
_MECHANISMS = r"PLAIN|LOGIN|XOAUTH2|OAUTHBEARER|CRAM-MD5|DIGEST-MD5|GSSAPI|NTLM|SCRAM-[A-Z0-9-]+"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # "AUTH PLAIN <b64>", "AUTH XOAUTH2 <b64>", "AUTH LOGIN <b64>"; not a capability
    # line ("250-AUTH LOGIN PLAIN XOAUTH2"), where what follows is another mechanism.
    (
        re.compile(
            r"(?i)\b(AUTH\s+(?:PLAIN|LOGIN|XOAUTH2|OAUTHBEARER))\s+"
            r"(?!(?:" + _MECHANISMS + r")(?:\s|$))\S+"
        ),
        r"\1 " + MASK,
    ),
    (re.compile(r"(?i)\b(Bearer)\s+[A-Za-z0-9._~+/=-]+"), r"\1 " + MASK),
    # JSON Web Tokens wherever they appear.
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), MASK),
    (
        re.compile(
            r"(?i)(\"?(?:password|passwd|secret|client_secret|access_token|refresh_token|"
            r"id_token|code_verifier|token)\"?\s*[:=]\s*)"
            # Not a bare closing bracket: "(the server asks: Password:)" keeps its ")".
            r"(\"[^\"]*\"|'[^']*'|(?![)\]}]+(?:\s|$))[^\s,;&]+)"
        ),
        r"\1" + MASK,
    ),
)


def redact(text: str, *secrets: str | None) -> str:
    """Mask known secret shapes, and every literal secret given."""
    for secret in secrets:
        if secret and len(secret) >= 3:
            text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
