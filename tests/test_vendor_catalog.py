"""The vendor catalog keeps its schema (resources/vendors.json) and its facts."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from wizard.core.device_settings import AuthKind, Security
from wizard.core.methods import Tri
from wizard.core.vendors import (
    CatalogError,
    FieldKey,
    OAuthAvailability,
    OAuthSignIn,
    SecurityOption,
    catalog_from_dict,
)
from wizard.services.paths import resource
from wizard.services.vendors import load_catalog, vendor_by_id

REQUIRED = {
    "hp",
    "canon",
    "ricoh",
    "xerox",
    "konica-minolta",
    "kyocera",
    "brother",
    "sharp",
    "lexmark",
    "epson",
    "generic",
}

# The menu paths of M365-FACTS.md ("Printer vendors"): the catalog must start where
# the facts page says the settings live.
FACTS_MENU_START = {
    "canon": "Remote UI > Settings/Registration > Function Settings > Send",
    "sharp": "Settings (Administrator) > System Settings > Network Settings > Service Settings",
    "epson": "Web Config > Network > Email Server > Basic",
    "lexmark": "Settings > E-mail > E-mail Setup",
    "xerox": "Properties > Connectivity > Protocols > SMTP Server",
    "ricoh": "Web Image Monitor > Device Management > Configuration > Email",
    "konica-minolta": "Web Connection > Network > E-mail Setting > E-mail TX (SMTP)",
    "kyocera": "Command Center RX > Function Settings > E-mail",
    "brother": "Web Based Management > Network > Protocol > SMTP Client",
    "hp": "Embedded Web Server > Scan/Digital Send > Email Setup",
}


def _raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(resource("vendors.json").read_text(encoding="utf-8"))
    return data


def test_catalog_has_every_vendor_with_every_setting() -> None:
    catalog = load_catalog()
    assert REQUIRED <= {v.id for v in catalog}
    for vendor in catalog:
        assert vendor.families and vendor.menu_path and vendor.security_options
        # Every vendor can be handed every value device_settings produces.
        assert {f.key for f in vendor.fields} == set(FieldKey), vendor.id
        assert len(vendor.menu_steps) >= 2, vendor.id
        assert vendor.pitfalls, vendor.id
        assert vendor.oauth.note, vendor.id


def test_every_device_value_has_the_vendors_word() -> None:
    """device_settings' Security and AuthKind map onto each vendor's own choices."""
    for vendor in load_catalog():
        for security in Security:
            if security.value in {s.value for s in vendor.security_options}:
                assert vendor.choice(FieldKey.SECURITY, security.value), (vendor.id, security)
        for auth in AuthKind:
            if auth is AuthKind.OAUTH and not vendor.oauth.offered:
                continue
            assert vendor.choice(FieldKey.AUTH, auth.value), (vendor.id, auth)


def test_menu_paths_follow_the_facts_page() -> None:
    for vendor_id, start in FACTS_MENU_START.items():
        assert vendor_by_id(vendor_id).menu_path.startswith(start), vendor_id


def test_vendor_facts_we_rely_on() -> None:
    # Brother says TLS for STARTTLS and SSL for implicit TLS; a sheet that said
    # "STARTTLS" would send the technician looking for a word that is not there.
    brother = vendor_by_id("brother")
    assert brother.choice(FieldKey.SECURITY, "starttls") == "TLS"
    assert brother.choice(FieldKey.SECURITY, "ssl-tls") == "SSL"
    # Epson's labels and order as in its manual.
    epson = vendor_by_id("epson")
    assert epson.labels_checked and epson.sources
    assert [f.label for f in epson.fields][:2] == ["Authentication Method", "Authenticated Account"]
    assert epson.choice(FieldKey.AUTH, "password") == "SMTP AUTH"
    # How OAuth is obtained, where the vendors say so.
    assert vendor_by_id("canon").oauth.sign_in is OAuthSignIn.WEB_PAGE
    assert vendor_by_id("lexmark").oauth.sign_in is OAuthSignIn.DEVICE_CODE
    assert vendor_by_id("konica-minolta").oauth.sign_in is OAuthSignIn.CONTROL_PANEL
    assert vendor_by_id("xerox").oauth.sign_in is OAuthSignIn.DEVICE_CODE
    # Implicit TLS (465) is named where a vendor offers it, so pitfalls can warn.
    assert SecurityOption.SSL_TLS in vendor_by_id("generic").security_options


def test_unchecked_labels_are_not_claimed_as_checked() -> None:
    for vendor in load_catalog():
        if vendor.labels_checked:
            assert vendor.sources, vendor.id


def test_unknown_vendor_falls_back_to_generic() -> None:
    assert vendor_by_id("acme").id == "generic"
    assert vendor_by_id("").id == "generic"


def _vendor(data: dict[str, Any], vendor_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(v for v in data["vendors"] if v["id"] == vendor_id)
    return found


def _field(data: dict[str, Any], vendor_id: str, key: str) -> dict[str, Any]:
    found: dict[str, Any] = next(f for f in _vendor(data, vendor_id)["fields"] if f["key"] == key)
    return found


Mutation = Callable[[dict[str, Any]], object]


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda d: d.update(schema_version=1), "schema_version"),
        (lambda d: d["vendors"][0].pop("menu_path"), "menu_path"),
        (lambda d: d["vendors"][0].update(menu_path="Settings >  > Email"), "empty step"),
        (lambda d: d["vendors"][0]["fields"].append({"key": "colour", "label": "x"}), "key"),
        (lambda d: d["vendors"][0]["fields"].append({"key": "server", "label": "x"}), "twice"),
        (lambda d: d["vendors"][0]["fields"].pop(0), "lacks server"),
        (lambda d: d["vendors"][0].update(security_options=[]), "security_options"),
        (lambda d: d["vendors"][0].update(security_options=["tls-1.0"]), "security_options"),
        (lambda d: d["vendors"][0]["oauth"].update(availability="maybe"), "availability"),
        (lambda d: d["vendors"][0]["oauth"].update(sign_in="carrier-pigeon"), "sign_in"),
        (lambda d: d["vendors"][0].update(oauth="device-code"), "oauth must be an object"),
        (lambda d: d["vendors"][0].update(families=[]), "families"),
        (lambda d: d["vendors"].pop(), "generic"),
        (lambda d: d["vendors"].append(copy.deepcopy(d["vendors"][0])), "share an id"),
        (
            lambda d: _field(d, "hp", "security")["choices"].update(ssl="On"),
            "choices names",
        ),
        (
            lambda d: _field(d, "hp", "server").update(choices={"starttls": "x"}),
            "server allows",
        ),
        (
            # A choice for implicit TLS on a vendor that does not offer it.
            lambda d: _field(d, "hp", "security")["choices"].update({"ssl-tls": "On"}),
            "missing from security_options",
        ),
        (
            lambda d: _vendor(d, "canon")["oauth"].update(availability="no"),
            "cannot have a sign_in",
        ),
        (
            lambda d: _vendor(d, "hp")["oauth"].update(availability="no"),
            "offers OAuth",
        ),
        (lambda d: _vendor(d, "hp").update(labels_checked=True), "labels_checked needs"),
        (lambda d: _vendor(d, "hp").update(sources=["a manual"]), "web addresses"),
        (lambda d: _vendor(d, "hp").update(pitfalls=["same", "same"]), "repeats"),
        (
            lambda d: _vendor(d, "hp").update(pitfalls=[{"text": "x", "auth": ["kerberos"]}]),
            "kerberos",
        ),
        (lambda d: _vendor(d, "hp").update(pitfalls=[{"auth": ["oauth"]}]), "text"),
        (lambda d: _vendor(d, "hp").update(pitfalls=[42]), "pitfalls[0]"),
        (
            lambda d: _vendor(d, "hp")["capabilities"].update({"DeskJet": {"tls12": "yes"}}),
            "not one of the vendor's families",
        ),
        (
            lambda d: _vendor(d, "hp")["capabilities"].update({"OfficeJet Pro": {"tls12": "1.2"}}),
            "tls12 must be yes, no or null",
        ),
        (
            lambda d: _vendor(d, "hp")["capabilities"].update({"OfficeJet Pro": {}}),
            "knows nothing",
        ),
        (
            lambda d: _vendor(d, "hp")["capabilities"].update({"OfficeJet Pro": {"fax": "yes"}}),
            "names ['fax']",
        ),
        (
            lambda d: (
                _vendor(d, "sharp")["oauth"].update(availability="no", sign_in=None),
                _field(d, "sharp", "auth")["choices"].pop("oauth", None),
            ),
            "oauth is yes but",
        ),
    ],
)
def test_schema_errors_say_where(mutate: Mutation, message: str) -> None:
    data = _raw()
    mutate(data)
    with pytest.raises(CatalogError, match=message.replace("[", r"\[").replace("]", r"\]")):
        catalog_from_dict(data)


def test_a_vendor_without_oauth_is_valid() -> None:
    data = _raw()
    hp = _vendor(data, "hp")
    hp["oauth"] = {"availability": "no", "sign_in": None, "note": "No OAuth."}
    del _field(data, "hp", "auth")["choices"]["oauth"]
    catalog = catalog_from_dict(data)
    assert next(v for v in catalog if v.id == "hp").oauth.availability is OAuthAvailability.NO


def test_pitfalls_follow_how_the_device_signs_in() -> None:
    lexmark = vendor_by_id("lexmark")
    oauth = lexmark.pitfalls_for("oauth")
    relay = lexmark.pitfalls_for("none")
    # The OAuth registration code only matters when signing in with OAuth...
    assert any("15 minutes" in p for p in oauth)
    assert not any("15 minutes" in p for p in relay)
    # ...while a pitfall without a tag always applies.
    assert any("Negotiate" in p for p in relay) and any("Negotiate" in p for p in oauth)


def test_the_catalog_knows_what_a_family_can_do() -> None:
    hp = vendor_by_id("hp")
    pro = hp.capabilities_for("LaserJet Pro MFP")
    assert pro is not None
    assert (pro.smtp_auth, pro.oauth, pro.tls12) == (Tri.YES, Tri.NO, Tri.UNKNOWN)
    # A typed model that starts with the family's name; the longest family wins.
    canon = vendor_by_id("canon")
    dx = canon.capabilities_for("imageRUNNER  ADVANCE DX C5840i")
    assert dx is not None and dx.family == "imageRUNNER ADVANCE DX"
    assert canon.capabilities_for("imageRUNNER ADVANCE C5535i") is not None
    assert canon.capabilities_for("imageRUNNER ADVANCED") is None
    assert canon.capabilities_for("") is None
    # Only what holds for the whole family: OAuth that depends on firmware stays open.
    assert all(
        c.oauth is not Tri.YES or v.oauth.offered for v in load_catalog() for c in v.capabilities
    )
    assert vendor_by_id("sharp").capabilities_for("BP series") is not None
    assert not vendor_by_id("generic").capabilities
