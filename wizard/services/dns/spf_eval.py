"""Ask pyspf whether an address may send for a domain, through our DNS client.

pyspf does its DNS through the module-level function `spf.DNSLookup`. We point it,
once, at a dispatcher that uses the `DnsClient` of the evaluation running in this
thread (a context variable), so pyspf asks the same nameserver with the same
timeouts as every other check, and reuses the answers the SPF walk already has.
Outside our evaluations pyspf behaves as shipped.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

import spf

from wizard.core.dns.model import AnswerStatus
from wizard.core.dns.spf_checks import SpfEvaluation
from wizard.services.dns.client import DnsClient

_Lookup = Callable[[str, str], list[tuple[tuple[str, str], Any]]]
_current: contextvars.ContextVar[_Lookup | None] = contextvars.ContextVar(
    "relay_wizard_spf_lookup", default=None
)
_original_lookup = spf.DNSLookup


def _dispatch(name: str, qtype: str, strict: Any = True, timeout: Any = 20) -> Any:
    lookup = _current.get()
    if lookup is None:
        return _original_lookup(name, qtype, strict, timeout)
    return lookup(name, qtype)


if getattr(spf.DNSLookup, "__name__", "") != _dispatch.__name__:
    spf.DNSLookup = _dispatch


def _client_lookup(client: DnsClient) -> _Lookup:
    def lookup(name: str, qtype: str) -> list[tuple[tuple[str, str], Any]]:
        answer = client.query(name, qtype)
        if answer.is_error:
            # pyspf turns TempError into "temperror", never into "no record".
            raise spf.TempError(f"DNS {answer.status.value} for {name} {qtype}")
        if answer.status is not AnswerStatus.OK:
            return []
        key = (name.rstrip(".").lower(), qtype)
        out: list[tuple[tuple[str, str], Any]] = []
        for value in answer.values:
            if qtype in ("TXT", "SPF"):
                out.append((key, (value.encode("utf-8"),)))
            elif qtype == "MX":
                preference, _, host = value.partition(" ")
                out.append((key, (int(preference), host.strip().rstrip("."))))
            else:
                out.append((key, value.rstrip(".")))
        return out

    return lookup


def evaluate_spf(
    client: DnsClient, domain_ascii: str, ip: str, record: str | None = None
) -> SpfEvaluation:
    """pyspf's result for mail from `ip` claiming to be from postmaster@domain.

    record: evaluate this text instead of the published record (to verify a fix
    before the user publishes it); its includes are still looked up.
    """
    token = _current.set(_client_lookup(client))
    try:
        query = spf.query(
            i=ip,
            s=f"postmaster@{domain_ascii}",
            h=domain_ascii,
            timeout=max(client.settings.query_timeout, 1.0),
        )
        result, _code, explanation = query.check(spf=record)
    finally:
        _current.reset(token)
    return SpfEvaluation(str(result), str(explanation))
