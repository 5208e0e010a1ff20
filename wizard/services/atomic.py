"""Atomic file writes: a reader never sees half a file, a crash never leaves one.

`write_atomic` replaces only a regular file (a device, a pipe or a folder at the path is
left alone: as root, a rename over /dev/full would replace the device node itself).
`check_output_path` is what a command asks before any work: that its output is not
one of its own inputs, not something other than a file, and in a folder that exists.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from wizard.core.errors import InvalidInput
from wizard.core.i18n import tr


def write_atomic(path: Path, data: bytes) -> None:
    if (path.exists() or path.is_symlink()) and not path.is_file():
        raise FileExistsError(errno.EEXIST, "not a regular file", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_output_path(path: Path, *, inputs: Sequence[Path] = (), folder: bool = False) -> None:
    """Raise InvalidInput unless `path` may be written (folder: a folder of new files).

    The output's own folder must exist (a typo must not create a tree of folders); a
    folder output may itself be created, one level, inside an existing one.
    """
    shown = str(path)
    exists = path.exists() or path.is_symlink()
    for source in inputs:
        if exists and _same_file(path, source):
            raise InvalidInput(
                tr("The output {path} is the input file itself.").format(path=shown),
                why=tr("Writing there would replace it, and it would be lost."),
                next_step=tr("Give another file name with -o."),
            )
    if folder:
        if exists and not path.is_dir():
            raise InvalidInput(
                tr("{path} is not a folder.").format(path=shown),
                next_step=tr("Give a folder (new or existing) with -o."),
            )
    elif exists and not path.is_file():
        raise InvalidInput(
            tr("{path} is not a regular file, so the sheets cannot replace it.").format(path=shown),
            why=tr("It is a folder, a device or another special file."),
            next_step=tr("Give the name of a new or existing PDF file with -o."),
        )
    parent = path.absolute().parent
    if not parent.is_dir():
        raise InvalidInput(
            tr("The folder {folder} does not exist.").format(folder=str(parent)),
            next_step=tr("Create it first, or give a file in an existing folder with -o."),
        )
