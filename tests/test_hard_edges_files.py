"""Hostile files and outputs (issue 14, items 3, 5 and 7): `sheet -o` never replaces its
own input or a special file and creates no folders silently; a damaged, deep, huge or
endless profile is a plain message and exit 2, never a traceback; text is bounded."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import CliRun, run_cli
from tests.test_cli_sheet import PROFILE
from wizard.core.profile import MAX_LABEL, MAX_PRINTERS


def _profile(tmp_path: Path, data: dict[str, Any] | str, name: str = "P.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def _sheet(*args: str) -> CliRun:
    return run_cli(["sheet", *args])


def _plain_exit_2(done: CliRun) -> None:
    assert done.code == 2, (done.code, done.err)
    assert done.err.startswith("error: ")
    assert "Traceback" not in done.err


# Item 3: outputs -------------------------------------------------------------------


def test_output_onto_its_own_profile_is_refused_and_the_profile_kept(tmp_path: Path) -> None:
    profile = _profile(tmp_path, PROFILE)
    before = profile.read_bytes()
    done = _sheet(str(profile), "-o", str(profile))
    _plain_exit_2(done)
    assert "is the input file itself" in done.err
    assert profile.read_bytes() == before


def test_output_through_a_link_to_the_profile_is_refused(tmp_path: Path) -> None:
    profile = _profile(tmp_path, PROFILE)
    link = tmp_path / "out.pdf"
    link.symlink_to(profile)
    before = profile.read_bytes()
    _plain_exit_2(_sheet(str(profile), "-o", str(link)))
    assert profile.read_bytes() == before and link.is_symlink()


def test_output_onto_a_special_file_leaves_the_node_alone(tmp_path: Path) -> None:
    # A named pipe stands for /dev/full and friends (a rename over a device node as
    # root replaced the node itself).
    profile = _profile(tmp_path, PROFILE)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    done = _sheet(str(profile), "-o", str(fifo))
    _plain_exit_2(done)
    assert "not a regular file" in done.err
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_output_onto_a_folder_is_refused(tmp_path: Path) -> None:
    profile = _profile(tmp_path, PROFILE)
    (tmp_path / "folder").mkdir()
    _plain_exit_2(_sheet(str(profile), "-o", str(tmp_path / "folder")))


def test_output_into_missing_folders_creates_nothing(tmp_path: Path) -> None:
    profile = _profile(tmp_path, PROFILE)
    done = _sheet(str(profile), "-o", str(tmp_path / "no" / "such" / "out.pdf"))
    _plain_exit_2(done)
    assert "does not exist" in done.err
    assert not (tmp_path / "no").exists()
    done = _sheet(str(profile), "-o", str(tmp_path / "no" / "such"), "--one-file-per-printer")
    _plain_exit_2(done)
    assert not (tmp_path / "no").exists()


# Item 5: profiles that used to raise -------------------------------------------------


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("[" * 990 + "]" * 990, "damaged"),
        ('{"a":' * 990 + "1" + "}" * 990, "damaged"),
        ('{"schema_version": ' + "9" * 4400 + "}", "damaged"),
    ],
    ids=["deep-array", "deep-object", "huge-integer"],
)
def test_profiles_the_parser_cannot_hold_are_damaged(
    tmp_path: Path, content: str, words: str
) -> None:
    profile = _profile(tmp_path, content)
    done = _sheet(str(profile), "-o", str(tmp_path / "out.pdf"))
    _plain_exit_2(done)
    assert words in done.err


def test_a_device_as_the_profile_is_not_read(tmp_path: Path) -> None:
    # /dev/zero reports size 0 and never ends: it used to fill memory.
    done = _sheet("/dev/zero", "-o", str(tmp_path / "out.pdf"))
    _plain_exit_2(done)
    assert "is not a file" in done.err


@pytest.mark.parametrize("cloud", ["gcc-high", "dod", "china"])
def test_hve_where_the_cloud_has_none_is_a_plain_message(tmp_path: Path, cloud: str) -> None:
    data = {**PROFILE, "method": "hve", "site": {**PROFILE["site"], "cloud": cloud}}
    done = _sheet(str(_profile(tmp_path, data)), "-o", str(tmp_path / "out.pdf"))
    _plain_exit_2(done)
    assert "High Volume Email is not offered" in done.err


def test_a_profile_saved_by_notepad_with_a_bom_opens(qapp: object, tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(PROFILE).encode("utf-8"))
    done = _sheet(str(path), "-o", str(tmp_path / "out.pdf"), "--printer", "Warehouse")
    assert done.code == 0, done.err
    assert (tmp_path / "out.pdf").read_bytes().startswith(b"%PDF")


# Item 7: text and device count bounded -------------------------------------------------


def test_a_printer_name_over_the_wizards_rule_is_refused(tmp_path: Path) -> None:
    printers = [{**PROFILE["printers"][0], "name": "P" * 900_000}]
    done = _sheet(
        str(_profile(tmp_path, {**PROFILE, "printers": printers})), "-o", str(tmp_path / "o.pdf")
    )
    _plain_exit_2(done)
    assert f"at most {MAX_LABEL}" in done.err
    assert len(done.err) < 2_000


def test_too_many_printers_are_refused(tmp_path: Path) -> None:
    printers = [{**PROFILE["printers"][0], "name": f"P{i}"} for i in range(MAX_PRINTERS + 1)]
    done = _sheet(
        str(_profile(tmp_path, {**PROFILE, "printers": printers})), "-o", str(tmp_path / "o.pdf")
    )
    _plain_exit_2(done)
    assert f"at most {MAX_PRINTERS}" in done.err


def test_an_unknown_printer_name_of_any_length_is_one_short_line(tmp_path: Path) -> None:
    profile = _profile(tmp_path, PROFILE)
    done = _sheet(str(profile), "-o", str(tmp_path / "o.pdf"), "--printer", "p" * 900_000)
    _plain_exit_2(done)
    assert "No printer is called" in done.err
    assert len(done.err) < 2_000
