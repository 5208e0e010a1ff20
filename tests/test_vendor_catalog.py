"""The vendor catalog keeps its schema (resources/vendors.json)."""

from __future__ import annotations

import json

import pytest

from wizard.core.vendors import CatalogError, FieldKey, catalog_from_dict
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


def test_catalog_has_every_vendor() -> None:
    catalog = load_catalog()
    assert REQUIRED <= {v.id for v in catalog}
    for vendor in catalog:
        assert vendor.families and vendor.menu_path and vendor.security_options
        assert vendor.label(FieldKey.SERVER) and vendor.label(FieldKey.SENDER)


def test_unknown_vendor_falls_back_to_generic() -> None:
    assert vendor_by_id("acme").id == "generic"


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda d: d.update(schema_version=2), "schema_version"),
        (lambda d: d["vendors"][0].pop("menu_path"), "menu_path"),
        (lambda d: d["vendors"][0]["fields"].append({"key": "colour", "label": "x"}), "key"),
        (lambda d: d["vendors"][0].update(oauth="carrier-pigeon"), "vendors[0]"),
        (lambda d: d["vendors"].pop(), "generic"),
        (lambda d: d["vendors"][0]["fields"].pop(0), "lacks server"),
    ],
)
def test_schema_errors_say_where(mutate: object, message: str) -> None:
    data = json.loads(resource("vendors.json").read_text())
    mutate(data)  # type: ignore[operator]
    with pytest.raises(CatalogError, match=message.replace("[", r"\[").replace("]", r"\]")):
        catalog_from_dict(data)
