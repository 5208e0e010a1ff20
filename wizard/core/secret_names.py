"""Names of the secrets the wizard keeps in the keyring (the values never leave it).

Every page, command and service that stores or reads a device password uses these,
so a password remembered on the Test message page is the one a sheet can print.
"""

from __future__ import annotations


def password_purpose(login: str) -> str:
    """The keyring purpose of an SMTP account's password (the site is the entry's site).

    Logins are email addresses, which Exchange compares without regard to case.
    """
    return f"smtp-password:{login.strip().lower()}"
