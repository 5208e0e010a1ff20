"""The site profile: a site, its devices, the chosen method and what was done. Never
any secret.

Schema versions: 1 had site, method and printers; 2 adds `history`, the session
journal's entries of earlier runs (wizard/core/journal.py). A version 1 file opens
with an empty history and is written back as version 2.

`to_dict()` writes only the fields below, so nothing secret can reach a profile file;
`profile_from_dict()` reads a parsed JSON document, ignoring keys it does not know and
explaining in plain words what is wrong with the ones it does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from wizard.core.advisor import DeviceCapabilities, SiteNeeds
from wizard.core.clouds import CloudId
from wizard.core.errors import ProfileError
from wizard.core.i18n import tr
from wizard.core.journal import JournalEntry, entry_from_json
from wizard.core.methods import Method, Tri
from wizard.core.validation import (
    check_domain,
    check_email,
    check_label,
    check_public_ipv4,
)

SCHEMA_VERSION = 2
DEFAULT_DAILY_VOLUME = 50
# What a file may hold, so that a hostile one cannot make a sheet or a page take
# minutes: the wizard's own rule for names (check_label: 80 characters), the longest
# address or domain there is (320, RFC 3696), and more devices than one site has.
MAX_LABEL = 80
MAX_TEXT = 320
MAX_PRINTERS = 500


@dataclass(frozen=True)
class Printer:
    name: str
    vendor: str = "generic"
    model: str = ""
    location: str = ""
    sender: str = ""
    username: str | None = None
    tls12: Tri = Tri.UNKNOWN
    smtp_auth: Tri = Tri.UNKNOWN
    oauth: Tri = Tri.UNKNOWN
    port_465_only: bool = False

    @property
    def capabilities(self) -> DeviceCapabilities:
        return DeviceCapabilities(self.tls12, self.smtp_auth, self.oauth, self.port_465_only)

    def problems(self, domain: str | None = None) -> list[str]:
        found = []
        for check in (
            check_label(self.name, tr("The printer's name")),
            check_label(self.model, tr("The model"), required=False),
            check_label(self.location, tr("The location"), required=False),
            check_label(self.vendor, tr("The vendor")),
        ):
            if not check.ok:
                found.append(check.error)
        sender = check_email(self.sender, domain=domain)
        if not sender.ok:
            found.append(sender.error)
        if self.username:
            user = check_email(self.username)
            if not user.ok:
                found.append(tr("User name: ") + user.error)
        return found


@dataclass(frozen=True)
class Site:
    name: str = ""
    domain: str = ""
    cloud: CloudId = CloudId.WORLDWIDE
    public_ip: str | None = None
    external_recipients: Tri = Tri.UNKNOWN
    static_ip: Tri = Tri.UNKNOWN
    port25_open: Tri = Tri.UNKNOWN
    daily_volume: int = DEFAULT_DAILY_VOLUME

    @property
    def needs(self) -> SiteNeeds:
        return SiteNeeds(
            self.external_recipients, self.static_ip, self.port25_open, self.daily_volume
        )

    def problems(self) -> list[str]:
        found = []
        name = check_label(self.name, tr("The site's name"))
        if not name.ok:
            found.append(name.error)
        domain = check_domain(self.domain)
        if not domain.ok:
            found.append(domain.error)
        if self.public_ip:
            ip = check_public_ipv4(self.public_ip)
            if not ip.ok:
                found.append(ip.error)
        if not 0 <= self.daily_volume <= 10_000_000:
            found.append(tr("The number of messages a day must be between 0 and 10,000,000."))
        return found


@dataclass(frozen=True)
class SiteProfile:
    site: Site = field(default_factory=Site)
    method: Method | None = None
    printers: tuple[Printer, ...] = ()
    # What earlier runs did with this site, oldest first (no secrets in it).
    history: tuple[JournalEntry, ...] = ()

    @property
    def capabilities(self) -> DeviceCapabilities:
        return DeviceCapabilities.weakest(p.capabilities for p in self.printers)

    def problems(self) -> list[str]:
        found = self.site.problems()
        domain = self.site.domain if check_domain(self.site.domain).ok else None
        names: set[str] = set()
        for printer in self.printers:
            key = printer.name.casefold()
            if key in names:
                found.append(
                    tr("Two printers are called '{name}'; give each its own name.").format(
                        name=printer.name
                    )
                )
            names.add(key)
            found.extend(f"{printer.name or '?'}: {p}" for p in printer.problems(domain))
        return found

    def with_printer(self, printer: Printer, replacing: str | None = None) -> SiteProfile:
        printers = (
            [p for p in self.printers if p.name != replacing] if replacing else list(self.printers)
        )
        if replacing:
            index = next(
                (i for i, p in enumerate(self.printers) if p.name == replacing), len(printers)
            )
            printers.insert(index, printer)
        else:
            printers.append(printer)
        return replace(self, printers=tuple(printers))

    def without_printer(self, name: str) -> SiteProfile:
        return replace(self, printers=tuple(p for p in self.printers if p.name != name))

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "site": {
                "name": self.site.name,
                "domain": self.site.domain,
                "cloud": str(self.site.cloud),
                "public_ip": self.site.public_ip,
                "external_recipients": str(self.site.external_recipients),
                "static_ip": str(self.site.static_ip),
                "port25_open": str(self.site.port25_open),
                "daily_volume": self.site.daily_volume,
            },
            "method": str(self.method) if self.method else None,
            "printers": [
                {
                    "name": p.name,
                    "vendor": p.vendor,
                    "model": p.model,
                    "location": p.location,
                    "sender": p.sender,
                    "username": p.username,
                    "tls12": str(p.tls12),
                    "smtp_auth": str(p.smtp_auth),
                    "oauth": str(p.oauth),
                    "port_465_only": p.port_465_only,
                }
                for p in self.printers
            ],
            "history": [entry.to_json() for entry in self.history],
        }


class _Reader:
    """Reads typed fields from untrusted JSON, collecting plain-words problems."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def obj(self, data: Any, where: str) -> Mapping[str, Any]:
        if isinstance(data, Mapping):
            return data
        self.problems.append(tr("'{where}' should be an object.").format(where=where))
        return {}

    def _too_long(self, value: str, key: str, where: str, limit: int) -> bool:
        # Counted as check_label counts: runs of spaces are one.
        n = len(" ".join(value.split())) if limit == MAX_LABEL else len(value)
        if n <= limit:
            return False
        self.problems.append(
            tr("'{where}.{key}' is too long ({n} characters; at most {max}).").format(
                where=where, key=key, n=n, max=limit
            )
        )
        return True

    def text(
        self,
        data: Mapping[str, Any],
        key: str,
        where: str,
        default: str = "",
        limit: int = MAX_TEXT,
    ) -> str:
        value = data.get(key, default)
        if value is None:
            return default
        if not isinstance(value, str):
            self.problems.append(tr("'{where}.{key}' should be text.").format(where=where, key=key))
            return default
        if self._too_long(value, key, where, limit):
            return default
        return value

    def optional_text(self, data: Mapping[str, Any], key: str, where: str) -> str | None:
        value = data.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            self.problems.append(tr("'{where}.{key}' should be text.").format(where=where, key=key))
            return None
        if self._too_long(value, key, where, MAX_TEXT):
            return None
        return value

    def tri(self, data: Mapping[str, Any], key: str, where: str) -> Tri:
        value = data.get(key, "unknown")
        if isinstance(value, bool) or value is None:
            return Tri.of(value)
        try:
            return Tri(value)
        except ValueError:
            self.problems.append(
                tr("'{where}.{key}' should be yes, no or unknown.").format(where=where, key=key)
            )
            return Tri.UNKNOWN

    def flag(self, data: Mapping[str, Any], key: str, where: str) -> bool:
        value = data.get(key, False)
        if not isinstance(value, bool):
            self.problems.append(
                tr("'{where}.{key}' should be true or false.").format(where=where, key=key)
            )
            return False
        return value

    def integer(self, data: Mapping[str, Any], key: str, where: str, default: int) -> int:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.problems.append(
                tr("'{where}.{key}' should be a whole number.").format(where=where, key=key)
            )
            return default
        return value


def profile_from_dict(data: Any) -> SiteProfile:
    """Build a profile from parsed JSON; raises ProfileError saying what is wrong."""
    r = _Reader()
    root = r.obj(data, tr("the file"))
    if r.problems:
        raise ProfileError(tr("This is not a site profile."), detail="; ".join(r.problems))
    version = root.get("schema_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ProfileError(
            tr("This is not a site profile: it has no schema_version."),
            next_step=tr("Open a profile saved by Relay Wizard."),
        )
    if version > SCHEMA_VERSION:
        raise ProfileError(
            tr(
                "This profile was saved by a newer version of Relay Wizard (profile version "
                "{v}; this version reads up to {max})."
            ).format(v=version, max=SCHEMA_VERSION),
            next_step=tr("Update Relay Wizard to open it. The file was left unchanged."),
        )
    if version < 1:
        raise ProfileError(tr("Profile version {v} is not valid.").format(v=version))

    site_data = r.obj(root.get("site", {}), "site")
    cloud_text = r.text(site_data, "cloud", "site", CloudId.WORLDWIDE.value)
    try:
        cloud = CloudId(cloud_text)
    except ValueError:
        r.problems.append(tr("'site.cloud' names an unknown cloud: {c}.").format(c=cloud_text))
        cloud = CloudId.WORLDWIDE
    site = Site(
        name=r.text(site_data, "name", "site", limit=MAX_LABEL),
        domain=r.text(site_data, "domain", "site"),
        cloud=cloud,
        public_ip=r.optional_text(site_data, "public_ip", "site"),
        external_recipients=r.tri(site_data, "external_recipients", "site"),
        static_ip=r.tri(site_data, "static_ip", "site"),
        port25_open=r.tri(site_data, "port25_open", "site"),
        daily_volume=r.integer(site_data, "daily_volume", "site", DEFAULT_DAILY_VOLUME),
    )
    method: Method | None = None
    method_text = root.get("method")
    if method_text is not None:
        try:
            method = Method(method_text)
        except ValueError:
            r.problems.append(tr("'method' names an unknown method: {m}.").format(m=method_text))
    printers_data = root.get("printers", [])
    if not isinstance(printers_data, list):
        r.problems.append(tr("'printers' should be a list."))
        printers_data = []
    elif len(printers_data) > MAX_PRINTERS:
        raise ProfileError(
            tr("This profile lists {n} devices; a site profile holds at most {max}.").format(
                n=len(printers_data), max=MAX_PRINTERS
            ),
            next_step=tr("Split the devices into one profile per site."),
        )
    printers = []
    for i, item in enumerate(printers_data):
        where = f"printers[{i}]"
        p = r.obj(item, where)
        printers.append(
            Printer(
                name=r.text(p, "name", where, limit=MAX_LABEL),
                vendor=r.text(p, "vendor", where, "generic", limit=MAX_LABEL) or "generic",
                model=r.text(p, "model", where, limit=MAX_LABEL),
                location=r.text(p, "location", where, limit=MAX_LABEL),
                sender=r.text(p, "sender", where),
                username=r.optional_text(p, "username", where),
                tls12=r.tri(p, "tls12", where),
                smtp_auth=r.tri(p, "smtp_auth", where),
                oauth=r.tri(p, "oauth", where),
                port_465_only=r.flag(p, "port_465_only", where),
            )
        )
    # Version 1 had no history. An entry this version cannot read is left out rather
    # than refusing the profile: the history is a record, not a setting.
    history_data = root.get("history", []) if version >= 2 else []
    if not isinstance(history_data, list):
        r.problems.append(tr("'history' should be a list."))
        history_data = []
    history = tuple(e for e in (entry_from_json(item) for item in history_data) if e is not None)
    if r.problems:
        raise ProfileError(
            tr("This site profile has values of the wrong kind."),
            next_step=tr("Fix the file or open another; it was left unchanged."),
            detail="; ".join(r.problems),
        )
    return SiteProfile(site, method, tuple(printers), history)
