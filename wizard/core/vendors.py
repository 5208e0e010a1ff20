"""The printer vendor catalog's model: where each vendor keeps its SMTP settings.

The data lives in resources/vendors.json (loaded by services.vendors); this module
validates it, so a broken catalog fails the schema test rather than a user's sheet.

Schema (version 2), one object per vendor:
- id, name: the id a site profile stores ("canon") and the name people know.
- families: the model families the entry was written for.
- menu_path: where the SMTP settings live, "A > B > C" (M365-FACTS.md); a guide only,
  menus move with firmware.
- fields: the settings the vendor's page asks for, in the vendor's order, each with
  the vendor's own label, optional `choices` (what to pick for a device value, e.g.
  security "starttls" -> "TLS" on Brother) and an optional `note`.
- security_options: what the device offers: starttls, ssl-tls (implicit TLS, port
  465), none.
- oauth: {availability: yes|some-models|no, sign_in: device-code|web-page|
  control-panel|null (not known), where: the sign-in's menu path or "", note}.
- labels_checked: true only where the labels were compared with the vendor's own
  manual, listed in `sources`; a sheet says so, or asks for the nearest match.
- pitfalls: known traps, one sentence each: text, or {text, auth: [...]} for a trap
  that only matters when the device signs in that way (none|password|oauth).
- capabilities (optional): what a model family can do, by family name: {tls12,
  smtp_auth, oauth: yes|no|null (not known for the whole family), note}. The device
  dialog fills these in when the family is picked, marked as from the catalog; a
  value that depends on model or firmware stays null.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from wizard.core.methods import Tri

CATALOG_SCHEMA_VERSION = 2
GENERIC_VENDOR = "generic"
MENU_SEPARATOR = " > "


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
    SSL_TLS = "ssl-tls"  # implicit TLS, usually port 465
    NONE = "none"


class AuthChoice(StrEnum):
    """Values of the `auth` field's choices; the same words as device_settings.AuthKind."""

    NONE = "none"
    PASSWORD = "password"
    OAUTH = "oauth"


class OAuthAvailability(StrEnum):
    YES = "yes"  # every current model of the listed families
    SOME_MODELS = "some-models"  # depends on model and firmware
    NO = "no"


class OAuthSignIn(StrEnum):
    """How the device obtains its Microsoft token, where that is known."""

    DEVICE_CODE = "device-code"  # the device shows a code; sign in on any browser
    WEB_PAGE = "web-page"  # started from the device's own web page (Remote UI)
    CONTROL_PANEL = "control-panel"  # only on the device's touch panel


# Which choice keys a field may carry: only the settings that are picked, not typed.
_CHOICE_KEYS: dict[FieldKey, frozenset[str]] = {
    FieldKey.SECURITY: frozenset(s.value for s in SecurityOption),
    FieldKey.AUTH: frozenset(a.value for a in AuthChoice),
}


@dataclass(frozen=True)
class VendorField:
    key: FieldKey
    label: str
    # What to pick for a value the device shows as a choice, e.g. the security
    # option's label on this vendor ("STARTTLS" vs "TLS").
    choices: Mapping[str, str]
    note: str = ""


@dataclass(frozen=True)
class Pitfall:
    text: str
    # The sign-in kinds it matters for (AuthChoice values); empty means always.
    auth: frozenset[str] = frozenset()

    def applies(self, auth: str) -> bool:
        return not self.auth or auth in self.auth


@dataclass(frozen=True)
class OAuthInfo:
    availability: OAuthAvailability
    sign_in: OAuthSignIn | None
    where: str
    note: str

    @property
    def offered(self) -> bool:
        return self.availability is not OAuthAvailability.NO


@dataclass(frozen=True)
class FamilyCapabilities:
    """What every device of one model family can do; UNKNOWN where it varies."""

    family: str
    tls12: Tri = Tri.UNKNOWN
    smtp_auth: Tri = Tri.UNKNOWN
    oauth: Tri = Tri.UNKNOWN
    note: str = ""

    @property
    def known(self) -> bool:
        return any(v is not Tri.UNKNOWN for v in (self.tls12, self.smtp_auth, self.oauth))


@dataclass(frozen=True)
class Vendor:
    id: str
    name: str
    families: tuple[str, ...]
    menu_path: str
    fields: tuple[VendorField, ...]
    security_options: tuple[SecurityOption, ...]
    oauth: OAuthInfo
    pitfalls: tuple[Pitfall, ...]
    labels_checked: bool = False
    sources: tuple[str, ...] = ()
    capabilities: tuple[FamilyCapabilities, ...] = ()

    def capabilities_for(self, model: str) -> FamilyCapabilities | None:
        """The family entry for a picked family or a typed model that starts with a
        family's name ("imageRUNNER ADVANCE DX C5840i"); the longest name wins."""
        wanted = " ".join(model.split()).casefold()
        if not wanted:
            return None
        best: FamilyCapabilities | None = None
        for entry in self.capabilities:
            name = entry.family.casefold()
            if wanted == name or wanted.startswith(name + " "):
                if best is None or len(entry.family) > len(best.family):
                    best = entry
        return best

    def field(self, key: FieldKey) -> VendorField | None:
        return next((f for f in self.fields if f.key is key), None)

    def label(self, key: FieldKey) -> str | None:
        found = self.field(key)
        return found.label if found else None

    def choice(self, key: FieldKey, value: str) -> str | None:
        """The vendor's word for a picked value, e.g. (SECURITY, "starttls") -> "TLS"."""
        found = self.field(key)
        return found.choices.get(value) if found else None

    def pitfalls_for(self, auth: str) -> tuple[str, ...]:
        """The pitfalls that matter for a device signing in with `auth`."""
        return tuple(p.text for p in self.pitfalls if p.applies(auth))

    @property
    def menu_steps(self) -> tuple[str, ...]:
        return tuple(step.strip() for step in self.menu_path.split(MENU_SEPARATOR.strip()))


class CatalogError(ValueError):
    """The catalog file breaks its schema; the message says where."""


def _text(item: Mapping[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{where}.{key} must be non-empty text")
    return value


def _optional_text(item: Mapping[str, Any], key: str, where: str) -> str:
    value = item.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise CatalogError(f"{where}.{key} must be text")
    return value


def _texts(
    item: Mapping[str, Any], key: str, where: str, *, required: bool = False
) -> tuple[str, ...]:
    value = item.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise CatalogError(f"{where}.{key} must be a list of text")
    if required and not value:
        raise CatalogError(f"{where}.{key} must not be empty")
    if len(set(value)) != len(value):
        raise CatalogError(f"{where}.{key} repeats an entry")
    return tuple(value)


def _menu_path(item: Mapping[str, Any], where: str) -> str:
    path = _text(item, "menu_path", where)
    steps = path.split(MENU_SEPARATOR.strip())
    if any(not step.strip() for step in steps):
        raise CatalogError(f"{where}.menu_path has an empty step (steps are joined by ' > ')")
    return path


def _field(f: Any, where: str, offered: set[str]) -> VendorField:
    if not isinstance(f, Mapping):
        raise CatalogError(f"{where} must be an object")
    try:
        key = FieldKey(_text(f, "key", where))
    except ValueError:
        raise CatalogError(f"{where}.key is not one of {[k.value for k in FieldKey]}") from None
    choices = f.get("choices", {})
    if not isinstance(choices, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in choices.items()
    ):
        raise CatalogError(f"{where}.choices must map text to non-empty text")
    allowed = _CHOICE_KEYS.get(key, frozenset())
    unknown = set(choices) - allowed
    if unknown:
        raise CatalogError(
            f"{where}.choices names {sorted(unknown)}; {key.value} allows {sorted(allowed)}"
        )
    if key is FieldKey.SECURITY and not set(choices) <= offered:
        raise CatalogError(f"{where}.choices names a security option missing from security_options")
    return VendorField(
        key, _text(f, "label", where), dict(choices), _optional_text(f, "note", where)
    )


def _pitfalls(item: Mapping[str, Any], where: str) -> tuple[Pitfall, ...]:
    raw = item.get("pitfalls", [])
    if not isinstance(raw, list):
        raise CatalogError(f"{where}.pitfalls must be a list")
    found: list[Pitfall] = []
    for k, entry in enumerate(raw):
        pwhere = f"{where}.pitfalls[{k}]"
        if isinstance(entry, str) and entry.strip():
            found.append(Pitfall(entry))
            continue
        if not isinstance(entry, Mapping):
            raise CatalogError(f"{pwhere} must be text or an object with text and auth")
        auth = _texts(entry, "auth", pwhere, required=True)
        allowed = {a.value for a in AuthChoice}
        if not set(auth) <= allowed:
            raise CatalogError(f"{pwhere}.auth names {sorted(set(auth) - allowed)}")
        found.append(Pitfall(_text(entry, "text", pwhere), frozenset(auth)))
    texts = [p.text for p in found]
    if len(set(texts)) != len(texts):
        raise CatalogError(f"{where}.pitfalls repeats an entry")
    return tuple(found)


def _oauth(data: Any, where: str) -> OAuthInfo:
    if not isinstance(data, Mapping):
        raise CatalogError(f"{where} must be an object")
    try:
        availability = OAuthAvailability(_text(data, "availability", where))
    except ValueError:
        raise CatalogError(
            f"{where}.availability is not one of {[a.value for a in OAuthAvailability]}"
        ) from None
    raw_sign_in = data.get("sign_in")
    sign_in: OAuthSignIn | None = None
    if raw_sign_in is not None:
        try:
            sign_in = OAuthSignIn(raw_sign_in)
        except ValueError:
            raise CatalogError(
                f"{where}.sign_in is not one of {[s.value for s in OAuthSignIn]} or null"
            ) from None
    if availability is OAuthAvailability.NO and sign_in is not None:
        raise CatalogError(f"{where}: a vendor without OAuth cannot have a sign_in")
    return OAuthInfo(
        availability, sign_in, _optional_text(data, "where", where), _text(data, "note", where)
    )


_CAPABILITY_KEYS = ("tls12", "smtp_auth", "oauth")


def _capabilities(
    item: Mapping[str, Any], where: str, families: tuple[str, ...], oauth: OAuthInfo
) -> tuple[FamilyCapabilities, ...]:
    raw = item.get("capabilities", {})
    if not isinstance(raw, Mapping):
        raise CatalogError(f"{where}.capabilities must map a family to what it can do")
    found: list[FamilyCapabilities] = []
    for family, entry in raw.items():
        cwhere = f"{where}.capabilities[{family!r}]"
        if family not in families:
            raise CatalogError(f"{cwhere} is not one of the vendor's families")
        if not isinstance(entry, Mapping):
            raise CatalogError(f"{cwhere} must be an object")
        unknown = set(entry) - {*_CAPABILITY_KEYS, "note"}
        if unknown:
            raise CatalogError(f"{cwhere} names {sorted(unknown)}")
        values: dict[str, Tri] = {}
        for key in _CAPABILITY_KEYS:
            value = entry.get(key)
            if value not in (None, Tri.YES.value, Tri.NO.value):
                raise CatalogError(f"{cwhere}.{key} must be yes, no or null")
            values[key] = Tri(value) if value is not None else Tri.UNKNOWN
        if values["oauth"] is Tri.YES and not oauth.offered:
            raise CatalogError(f"{cwhere}.oauth is yes but the vendor's oauth.availability is no")
        capability = FamilyCapabilities(
            family,
            values["tls12"],
            values["smtp_auth"],
            values["oauth"],
            _optional_text(entry, "note", cwhere),
        )
        if not capability.known:
            raise CatalogError(f"{cwhere} knows nothing; leave the family out instead")
        found.append(capability)
    return tuple(found)


def _vendor(item: Any, where: str) -> Vendor:
    if not isinstance(item, Mapping):
        raise CatalogError(f"{where} must be an object")
    try:
        security = tuple(
            SecurityOption(s) for s in _texts(item, "security_options", where, required=True)
        )
    except ValueError as exc:
        raise CatalogError(f"{where}.security_options: {exc}") from None
    raw_fields = item.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        raise CatalogError(f"{where}.fields must be a non-empty list")
    offered = {s.value for s in security}
    fields = tuple(_field(f, f"{where}.fields[{j}]", offered) for j, f in enumerate(raw_fields))
    keys = [f.key for f in fields]
    if len(set(keys)) != len(keys):
        raise CatalogError(f"{where}.fields names a setting twice")
    for needed in (FieldKey.SERVER, FieldKey.PORT, FieldKey.SENDER):
        if needed not in keys:
            raise CatalogError(f"{where}.fields lacks {needed.value}")
    oauth = _oauth(item.get("oauth"), f"{where}.oauth")
    auth_field = next((f for f in fields if f.key is FieldKey.AUTH), None)
    if auth_field and AuthChoice.OAUTH.value in auth_field.choices and not oauth.offered:
        raise CatalogError(f"{where}: the auth field offers OAuth but oauth.availability is no")
    labels_checked = item.get("labels_checked", False)
    if not isinstance(labels_checked, bool):
        raise CatalogError(f"{where}.labels_checked must be true or false")
    sources = _texts(item, "sources", where)
    if labels_checked and not sources:
        raise CatalogError(f"{where}: labels_checked needs the manuals it was checked against")
    if not all(s.startswith("https://") or s.startswith("http://") for s in sources):
        raise CatalogError(f"{where}.sources must be web addresses")
    families = _texts(item, "families", where, required=True)
    return Vendor(
        id=_text(item, "id", where),
        name=_text(item, "name", where),
        families=families,
        menu_path=_menu_path(item, where),
        fields=fields,
        security_options=security,
        oauth=oauth,
        pitfalls=_pitfalls(item, where),
        labels_checked=labels_checked,
        sources=sources,
        capabilities=_capabilities(item, where, families, oauth),
    )


def catalog_from_dict(data: Any) -> tuple[Vendor, ...]:
    if not isinstance(data, Mapping) or data.get("schema_version") != CATALOG_SCHEMA_VERSION:
        raise CatalogError(
            f"the catalog must be an object with schema_version {CATALOG_SCHEMA_VERSION}"
        )
    items = data.get("vendors")
    if not isinstance(items, list) or not items:
        raise CatalogError("vendors must be a non-empty list")
    vendors = tuple(_vendor(item, f"vendors[{i}]") for i, item in enumerate(items))
    ids = [v.id for v in vendors]
    if len(set(ids)) != len(ids):
        raise CatalogError("two vendors share an id")
    if GENERIC_VENDOR not in ids:
        raise CatalogError("the catalog needs a 'generic' entry")
    return vendors
