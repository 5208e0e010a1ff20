"""DMARC records (RFC 7489): parsing and plain-words meaning."""

from __future__ import annotations

import re
from dataclasses import dataclass

from wizard.core.i18n import tr

POLICIES = ("none", "quarantine", "reject")
_VERSION = re.compile(r"^\s*v\s*=\s*DMARC1\s*(;|$)", re.IGNORECASE)
_KNOWN_TAGS = {"v", "p", "sp", "np", "pct", "rua", "ruf", "adkim", "aspf", "fo", "rf", "ri", "t"}


def is_dmarc(text: str) -> bool:
    return bool(_VERSION.match(text))


@dataclass(frozen=True)
class DmarcRecord:
    raw: str
    tags: dict[str, str]
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def policy(self) -> str | None:
        value = self.tags.get("p", "").lower()
        return value if value in POLICIES else None

    @property
    def subdomain_policy(self) -> str | None:
        value = self.tags.get("sp", "").lower()
        return value if value in POLICIES else self.policy

    @property
    def pct(self) -> int:
        try:
            return int(self.tags.get("pct", "100"))
        except ValueError:
            return 100

    @property
    def rua(self) -> tuple[str, ...]:
        return _uris(self.tags.get("rua", ""))

    @property
    def ruf(self) -> tuple[str, ...]:
        return _uris(self.tags.get("ruf", ""))

    def with_policy(self, policy: str) -> str:
        """The same record with another p= (every other tag kept, in order)."""
        parts: list[str] = []
        replaced = False
        for chunk in (c.strip() for c in self.raw.split(";")):
            if not chunk:
                continue
            key = chunk.split("=", 1)[0].strip().lower()
            if key == "p":
                parts.append(f"p={policy}")
                replaced = True
            elif key == "pct" and policy != "none":
                continue  # a partial rollout is what the fix finishes
            else:
                parts.append(chunk)
        if not replaced:
            parts.insert(1, f"p={policy}")
        return "; ".join(parts)


def _uris(value: str) -> tuple[str, ...]:
    return tuple(u.strip() for u in value.split(",") if u.strip())


def parse_dmarc(text: str) -> DmarcRecord:
    raw = text.strip()
    errors: list[str] = []
    warnings: list[str] = []
    tags: dict[str, str] = {}
    if not is_dmarc(raw):
        return DmarcRecord(raw, {}, (tr("it does not start with 'v=DMARC1'"),))
    for chunk in raw.split(";"):
        chunk = chunk.strip()
        if not chunk:
            continue
        if "=" not in chunk:
            errors.append(tr("'{0}' is not a tag=value pair").format(chunk))
            continue
        key, value = (p.strip() for p in chunk.split("=", 1))
        key = key.lower()
        if key in tags:
            errors.append(tr("the tag '{0}' appears twice").format(key))
            continue
        if key not in _KNOWN_TAGS:
            warnings.append(tr("'{0}' is not a DMARC tag and is ignored").format(key))
        tags[key] = value
    policy = tags.get("p")
    if policy is None:
        errors.append(tr("the policy tag p= is missing"))
    elif policy.lower() not in POLICIES:
        errors.append(tr("p={0} is not a policy (none, quarantine or reject)").format(policy))
    sp = tags.get("sp")
    if sp is not None and sp.lower() not in POLICIES:
        errors.append(tr("sp={0} is not a policy (none, quarantine or reject)").format(sp))
    pct = tags.get("pct")
    if pct is not None and (not pct.isdigit() or int(pct) > 100):
        errors.append(tr("pct={0} is not a number from 0 to 100").format(pct))
    for key in ("adkim", "aspf"):
        if key in tags and tags[key].lower() not in ("r", "s"):
            errors.append(tr("{0}={1} must be r (relaxed) or s (strict)").format(key, tags[key]))
    for key in ("rua", "ruf"):
        for uri in _uris(tags.get(key, "")):
            if not uri.lower().startswith(("mailto:", "https:")):
                errors.append(tr("{0} address '{1}' must start with mailto:").format(key, uri))
    return DmarcRecord(raw, tags, tuple(errors), tuple(warnings))


def policy_meaning(policy: str | None) -> str:
    return {
        "none": tr(
            "p=none: receivers only report; forged mail that claims to come from your "
            "domain is still delivered."
        ),
        "quarantine": tr(
            "p=quarantine: mail that fails the checks goes to the junk folder or quarantine."
        ),
        "reject": tr("p=reject: mail that fails the checks is refused."),
    }.get(policy or "", tr("No valid policy: receivers ignore the record."))


def starting_record(domain: str) -> str:
    """A safe first DMARC record: report only, with aggregate reports to the domain."""
    return f"v=DMARC1; p=none; rua=mailto:dmarc-reports@{domain}"
