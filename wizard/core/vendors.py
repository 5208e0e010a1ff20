"""The printer vendor catalog's model: where each vendor keeps its SMTP settings.

The data lives in resources/vendors.json (loaded by services.vendors); this module
validates it, so a broken catalog fails the schema test rather than a user's sheet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

CATALOG_SCHEMA_VERSION = 1
GENERIC_VENDOR = "generic"


class FieldKey(StrEnum):
    """The device settings a vendor's page asks for, in whatever order it asks."""

    SERVER = "server"
    PORT = "port"
    SECURITY = "security"
    AUTH = "auth"
    USERNAME = "username"
    PASSWORD = "password"
    SENDER = "sender"


class SecurityOption(StrEnum):
    STARTTLS = "starttls"
    SSL_TLS = "ssl-tls"
    NONE = "none"


class OAuthSupport(StrEnum):
    NONE = "none"
    DEVICE_CODE = "device-code"
    REMOTE_UI = "remote-ui"  # a browser sign-in from the device's own web page
    MODEL_DEPENDENT = "model-dependent"


@dataclass(frozen=True)
class VendorField:
    key: FieldKey
    label: str
    # What to pick or type for a value the device shows as a choice, e.g. the
    # security option's label on this vendor ("STARTTLS" vs "TLS").
    choices: Mapping[str, str]


@dataclass(frozen=True)
class Vendor:
    id: str
    name: str
    families: tuple[str, ...]
    menu_path: str
    fields: tuple[VendorField, ...]
    security_options: tuple[SecurityOption, ...]
    oauth: OAuthSupport
    oauth_note: str
    pitfalls: tuple[str, ...]

    def label(self, key: FieldKey) -> str | None:
        return next((f.label for f in self.fields if f.key is key), None)


class CatalogError(ValueError):
    """The catalog file breaks its schema; the message says where."""


def _text(item: Mapping[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{where}.{key} must be non-empty text")
    return value


def _texts(item: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = item.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise CatalogError(f"{where}.{key} must be a list of text")
    return tuple(value)


def catalog_from_dict(data: Any) -> tuple[Vendor, ...]:
    if not isinstance(data, Mapping) or data.get("schema_version") != CATALOG_SCHEMA_VERSION:
        raise CatalogError(
            f"the catalog must be an object with schema_version {CATALOG_SCHEMA_VERSION}"
        )
    items = data.get("vendors")
    if not isinstance(items, list) or not items:
        raise CatalogError("vendors must be a non-empty list")
    vendors: list[Vendor] = []
    for i, item in enumerate(items):
        where = f"vendors[{i}]"
        if not isinstance(item, Mapping):
            raise CatalogError(f"{where} must be an object")
        fields = []
        raw_fields = item.get("fields")
        if not isinstance(raw_fields, list) or not raw_fields:
            raise CatalogError(f"{where}.fields must be a non-empty list")
        for j, f in enumerate(raw_fields):
            fwhere = f"{where}.fields[{j}]"
            if not isinstance(f, Mapping):
                raise CatalogError(f"{fwhere} must be an object")
            try:
                key = FieldKey(_text(f, "key", fwhere))
            except ValueError:
                raise CatalogError(
                    f"{fwhere}.key is not one of {[k.value for k in FieldKey]}"
                ) from None
            choices = f.get("choices", {})
            if not isinstance(choices, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in choices.items()
            ):
                raise CatalogError(f"{fwhere}.choices must map text to text")
            fields.append(VendorField(key, _text(f, "label", fwhere), dict(choices)))
        keys = [f.key for f in fields]
        if len(set(keys)) != len(keys):
            raise CatalogError(f"{where}.fields names a setting twice")
        for needed in (FieldKey.SERVER, FieldKey.PORT, FieldKey.SENDER):
            if needed not in keys:
                raise CatalogError(f"{where}.fields lacks {needed.value}")
        try:
            security = tuple(SecurityOption(s) for s in _texts(item, "security_options", where))
            oauth = OAuthSupport(_text(item, "oauth", where))
        except ValueError as exc:
            raise CatalogError(f"{where}: {exc}") from None
        vendors.append(
            Vendor(
                id=_text(item, "id", where),
                name=_text(item, "name", where),
                families=_texts(item, "families", where),
                menu_path=_text(item, "menu_path", where),
                fields=tuple(fields),
                security_options=security,
                oauth=oauth,
                oauth_note=str(item.get("oauth_note", "")),
                pitfalls=_texts(item, "pitfalls", where),
            )
        )
    ids = [v.id for v in vendors]
    if len(set(ids)) != len(ids):
        raise CatalogError("two vendors share an id")
    if GENERIC_VENDOR not in ids:
        raise CatalogError("the catalog needs a 'generic' entry")
    return tuple(vendors)
