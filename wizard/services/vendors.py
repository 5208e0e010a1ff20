"""Load the vendor catalog from resources/ (once; it never changes at run time)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from wizard.core.vendors import GENERIC_VENDOR, Vendor, catalog_from_dict
from wizard.services.paths import resource


@cache
def load_catalog(path: Path | None = None) -> tuple[Vendor, ...]:
    source = path or resource("vendors.json")
    return catalog_from_dict(json.loads(source.read_text(encoding="utf-8")))


def vendor_by_id(vendor_id: str) -> Vendor:
    """The vendor, or the generic entry for an id the catalog does not know."""
    catalog = load_catalog()
    by_id = {v.id: v for v in catalog}
    return by_id.get(vendor_id) or by_id[GENERIC_VENDOR]
