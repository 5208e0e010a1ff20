"""Site profiles as JSON files: saved atomically, loaded without ever changing them."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from wizard.core.errors import ProfileError
from wizard.core.i18n import tr
from wizard.core.profile import SiteProfile, profile_from_dict
from wizard.services.atomic import write_atomic

# A profile is a few kilobytes; anything much larger is not one of ours.
MAX_PROFILE_BYTES = 1_000_000
SUFFIX = ".json"
_RESTORE = tr(
    "Open another profile, or restore this one from a backup. The file was left unchanged."
)


def load_profile(path: Path) -> SiteProfile:
    """Read a profile. The file is opened read-only and never modified.

    Only a regular file is read, and at most MAX_PROFILE_BYTES of it: a device such as
    /dev/zero reports size 0 and never ends. Any JSON the parser cannot hold (nesting
    beyond its recursion limit, an integer over Python's 4,300 digits) is "damaged".
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ProfileError(tr("The file {name} does not exist.").format(name=path.name)) from None
    except OSError as exc:
        raise ProfileError(
            tr("The file {name} cannot be opened.").format(name=path.name),
            detail=exc.strerror or str(exc),
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise ProfileError(
            tr("{name} is not a file, so it cannot be a site profile.").format(name=path.name),
            next_step=tr("Open a profile saved by Relay Wizard (a .json file)."),
        )
    if info.st_size > MAX_PROFILE_BYTES:
        raise ProfileError(tr("{name} is too large to be a site profile.").format(name=path.name))
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_PROFILE_BYTES + 1)
    except OSError as exc:
        raise ProfileError(
            tr("The file {name} cannot be read.").format(name=path.name),
            detail=exc.strerror or str(exc),
        ) from None
    if len(raw) > MAX_PROFILE_BYTES:  # it grew while we looked
        raise ProfileError(tr("{name} is too large to be a site profile.").format(name=path.name))
    if not raw.strip():
        raise ProfileError(
            tr("{name} is empty.").format(name=path.name),
            next_step=tr("Open another profile or start a new setup."),
        )
    try:
        # utf-8-sig: Windows Notepad saves UTF-8 with a byte order mark.
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ProfileError(
            tr("{name} is not a text file, so it cannot be a site profile.").format(name=path.name)
        ) from None
    except json.JSONDecodeError as exc:
        raise ProfileError(
            tr(
                "{name} is damaged or incomplete (the JSON breaks off at line {line}, column "
                "{col})."
            ).format(name=path.name, line=exc.lineno, col=exc.colno),
            next_step=_RESTORE,
            detail=exc.msg,
        ) from None
    except (RecursionError, ValueError) as exc:
        raise ProfileError(
            tr("{name} is damaged: it holds values no site profile has.").format(name=path.name),
            next_step=_RESTORE,
            detail=type(exc).__name__,
        ) from None
    return profile_from_dict(data)


def save_profile(profile: SiteProfile, path: Path) -> Path:
    if path.suffix.lower() != SUFFIX:
        path = path.with_name(path.name + SUFFIX)
    text = json.dumps(profile.to_dict(), indent=2, ensure_ascii=False) + "\n"
    try:
        write_atomic(path, text.encode("utf-8"))
    except OSError as exc:
        raise ProfileError(
            tr("The profile could not be saved to {path}.").format(path=path),
            next_step=tr("Choose another folder."),
            detail=exc.strerror or str(exc),
        ) from None
    return path


def default_profile_name(profile: SiteProfile) -> str:
    """A file name from the site's name: letters, digits, dashes."""
    base = "".join(c if c.isalnum() else "-" for c in profile.site.name.strip().lower())
    base = "-".join(part for part in base.split("-") if part)
    return (base or "site") + SUFFIX
