"""Site profiles: round trip, validation, damaged files left untouched, no secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wizard.core.clouds import CloudId
from wizard.core.errors import ProfileError
from wizard.core.methods import Method, Tri
from wizard.core.profile import SCHEMA_VERSION, Printer, Site, SiteProfile, profile_from_dict
from wizard.services.profile_store import default_profile_name, load_profile, save_profile

PROFILE = SiteProfile(
    Site(
        name="Contoso HQ",
        domain="contoso.com",
        cloud=CloudId.WORLDWIDE,
        public_ip="203.0.113.7",
        external_recipients=Tri.YES,
        static_ip=Tri.YES,
        port25_open=Tri.UNKNOWN,
        daily_volume=120,
    ),
    Method.CONNECTOR,
    (
        Printer(
            "Front desk",
            "canon",
            "imageRUNNER ADVANCE C5535i",
            "Reception",
            "scanner@contoso.com",
            None,
            Tri.YES,
            Tri.YES,
            Tri.NO,
        ),
        Printer(
            "Warehouse",
            "hp",
            "LaserJet M507",
            "Dock 2",
            "warehouse@contoso.com",
            "warehouse@contoso.com",
            Tri.UNKNOWN,
            Tri.YES,
            Tri.UNKNOWN,
            True,
        ),
    ),
)


def test_round_trip(tmp_path: Path) -> None:
    path = save_profile(PROFILE, tmp_path / "contoso")
    assert path.name == "contoso.json"
    assert load_profile(path) == PROFILE
    data = json.loads(path.read_text())
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["site"]["public_ip"] == "203.0.113.7"
    assert data["method"] == "connector"
    assert data["printers"][0]["vendor"] == "canon"


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path: Path) -> None:
    save_profile(PROFILE, tmp_path / "a.json")
    save_profile(PROFILE, tmp_path / "a.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


def test_valid_profile_has_no_problems() -> None:
    assert PROFILE.problems() == []


def test_problems_in_plain_words() -> None:
    bad = SiteProfile(
        Site(name="", domain="contoso", public_ip="192.168.1.4"),
        None,
        (Printer("P1", sender="scan@fabrikam.com"), Printer("p1", sender="x@contoso")),
    )
    text = "\n".join(bad.problems())
    assert "site's name cannot be empty" in text
    assert "no dot" in text
    assert "private (LAN)" in text
    assert "Two printers are called" in text


BROKEN = [
    (b"", "is empty"),
    (b'{"schema_version": 1, "site": {"name": "Contoso', "damaged or incomplete"),
    (b"\xff\xfe\x00garbage", "not a text file"),
    (b'{"schema_version": 99, "site": {}}', "newer version of Relay Wizard"),
    (b'{"site": {}}', "no schema_version"),
    (b"[1, 2, 3]", "not a site profile"),
    (b'{"schema_version": 1, "site": {"name": 5}}', "values of the wrong kind"),
    (b'{"schema_version": 1, "site": {}, "printers": {"a": 1}}', "values of the wrong kind"),
    (b'{"schema_version": 1, "site": {"cloud": "mars"}}', "values of the wrong kind"),
    (b'{"schema_version": 1, "site": {}, "method": "carrier-pigeon"}', "values of the wrong kind"),
]


@pytest.mark.parametrize("content,message", BROKEN)
def test_damaged_file_gives_message_and_stays_unchanged(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "site.json"
    path.write_bytes(content)
    before = path.stat()
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert message in info.value.plain()
    assert path.read_bytes() == content
    assert path.stat().st_mtime_ns == before.st_mtime_ns


def test_wrong_kind_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "site.json"
    path.write_text('{"schema_version": 1, "site": {"name": 5, "daily_volume": "lots"}}')
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert "site.name" in info.value.detail
    assert "site.daily_volume" in info.value.detail


def test_missing_file() -> None:
    with pytest.raises(ProfileError, match="does not exist"):
        load_profile(Path("/nonexistent/x.json"))


def test_no_field_can_hold_a_secret(tmp_path: Path) -> None:
    data = PROFILE.to_dict()
    data["printers"][0]["password"] = "CANARY-hunter2"
    data["site"]["client_secret"] = "CANARY-hunter2"
    data["token"] = "CANARY-hunter2"
    loaded = profile_from_dict(data)
    path = save_profile(loaded, tmp_path / "s.json")
    assert "CANARY" not in path.read_text()
    # Nothing in the model has a slot where a secret could go.
    fields = set(Printer.__dataclass_fields__) | set(Site.__dataclass_fields__)
    assert not {f for f in fields if any(w in f for w in ("password", "secret", "token"))}


def test_profile_editing_helpers() -> None:
    replaced = PROFILE.with_printer(
        Printer("Lobby", sender="lobby@contoso.com"), replacing="Front desk"
    )
    assert [p.name for p in replaced.printers] == ["Lobby", "Warehouse"]
    added = PROFILE.with_printer(Printer("Lobby", sender="lobby@contoso.com"))
    assert [p.name for p in added.printers] == ["Front desk", "Warehouse", "Lobby"]
    assert [p.name for p in PROFILE.without_printer("Warehouse").printers] == ["Front desk"]


def test_capabilities_combine_printers() -> None:
    caps = PROFILE.capabilities
    assert caps.tls12 is Tri.UNKNOWN and caps.oauth is Tri.NO and caps.port_465_only


def test_default_name() -> None:
    assert default_profile_name(PROFILE) == "contoso-hq.json"
    assert default_profile_name(SiteProfile()) == "site.json"


def test_one_keyring_name_per_login_whatever_the_case() -> None:
    from wizard.core.secret_names import password_purpose
    from wizard.core.sheet import printer_password_purpose

    printer = Printer("Front desk", sender="Scanner@Contoso.com")
    assert printer_password_purpose(printer) == password_purpose("scanner@contoso.com ")
    with_login = Printer("Front desk", sender="a@contoso.com", username="Svc@Contoso.com")
    assert printer_password_purpose(with_login) == "smtp-password:svc@contoso.com"


@pytest.mark.parametrize("method", list(Method), ids=str)
def test_every_method_name_is_read_back(method: Method, tmp_path: Path) -> None:
    """The profile accepts every method the CLI and the advisor know (local-relay too)."""
    saved = save_profile(
        SiteProfile(Site(name="S", domain="contoso.com"), method), tmp_path / "p.json"
    )
    assert json.loads(saved.read_text(encoding="utf-8"))["method"] == method.value
    assert load_profile(saved).method is method
    assert Method("local-relay") is Method.LOCAL_RELAY
