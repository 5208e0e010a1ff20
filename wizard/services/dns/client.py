"""DNS queries for the checks: dnspython, in parallel, each with a timeout, within a budget.

One `DnsClient` serves one run of the checks. It asks the given nameservers (the
sandbox's, `--nameserver`, or the system's), remembers every answer for the run (the
SPF walk, pyspf and the MX check share them), and turns every failure into a
`DnsAnswer` whose status says what happened: a timeout, SERVFAIL, REFUSED or an
unreachable server is never reported as "no such record".

The overall budget bounds the whole run: once it is used up, questions are not sent
any more and come back as `AnswerStatus.BUDGET`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.nameserver
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver

from wizard.core.clouds import Endpoint
from wizard.core.dns.model import DEFAULT_BUDGET, DEFAULT_QUERY_TIMEOUT, AnswerStatus, DnsAnswer
from wizard.core.errors import InvalidInput, NetworkError
from wizard.core.i18n import tr

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 16

Key = tuple[str, str]  # (name, rtype)


@dataclass(frozen=True)
class DnsSettings:
    """Where and how long to ask. No nameservers means the system's resolvers."""

    nameservers: tuple[Endpoint, ...] = ()
    query_timeout: float = DEFAULT_QUERY_TIMEOUT
    budget: float = DEFAULT_BUDGET
    workers: int = DEFAULT_WORKERS

    def __post_init__(self) -> None:
        # NaN compares false with everything: a NaN budget or timeout would never end.
        for value in (self.query_timeout, self.budget):
            if not math.isfinite(value) or value <= 0:
                raise InvalidInput(
                    tr("DNS time limits must be a number of seconds above 0."),
                    detail=f"query_timeout={self.query_timeout}, budget={self.budget}",
                )

    @property
    def label(self) -> str:
        return ", ".join(str(ns) for ns in self.nameservers) or "system"


def system_nameservers() -> list[str | dns.nameserver.Nameserver]:
    """The operating system's resolvers, as dnspython reads them."""
    try:
        resolver = dns.resolver.Resolver(configure=True)
    except dns.resolver.NoResolverConfiguration as error:
        raise NetworkError(
            tr("This computer has no DNS server configured."),
            tr("Without one the wizard cannot look up your domain's records."),
            tr("Check the network connection, or give a DNS server to ask."),
            detail=str(error),
        ) from error
    return list(resolver.nameservers)


class DnsClient:
    """Ask DNS questions for one run of the checks; safe to use from many threads."""

    def __init__(
        self,
        settings: DnsSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings or DnsSettings()
        self._clock = clock
        self._deadline = clock() + self.settings.budget
        self._servers: list[str | dns.nameserver.Nameserver]
        if self.settings.nameservers:
            self._servers = [
                dns.nameserver.Do53Nameserver(ns.host, ns.port) for ns in self.settings.nameservers
            ]
        else:
            self._servers = system_nameservers()
        self._pool = ThreadPoolExecutor(self.settings.workers, thread_name_prefix="dns-query")
        self._lock = threading.Lock()
        self._answers: dict[tuple[str, str, str, str], DnsAnswer] = {}
        self._inflight: dict[tuple[str, str, str, str], threading.Event] = {}
        self.questions = 0  # how many questions went to the wire (for the benchmark)

    def __enter__(self) -> DnsClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    @property
    def remaining(self) -> float:
        return self._deadline - self._clock()

    def cached(self, key: Key) -> DnsAnswer | None:
        """The answer already fetched for (name, rtype), or None (never asks)."""
        name, rtype = key
        with self._lock:
            return self._answers.get((_normal(name), rtype.upper(), "IN", ""))

    def query(
        self,
        name: str,
        rtype: str,
        *,
        rdclass: str = "IN",
        server: tuple[str, int] | None = None,
    ) -> DnsAnswer:
        """One question; answered from this run's memory when it was asked before."""
        key = (
            _normal(name),
            rtype.upper(),
            rdclass.upper(),
            f"{server[0]}:{server[1]}" if server else "",
        )
        while True:
            with self._lock:
                if key in self._answers:
                    return self._answers[key]
                waiting = self._inflight.get(key)
                if waiting is None:
                    event = threading.Event()
                    self._inflight[key] = event
                    break
            waiting.wait()
        try:
            answer = self._ask(key[0], key[1], key[2], server)
        except BaseException:
            answer = DnsAnswer(key[0], key[1], AnswerStatus.UNREACHABLE, detail="internal error")
            raise
        finally:
            with self._lock:
                self._answers[key] = answer
                self._inflight.pop(key, None)
            event.set()
        return answer

    def submit(
        self, name: str, rtype: str, *, rdclass: str = "IN", server: tuple[str, int] | None = None
    ) -> Future[DnsAnswer]:
        return self._pool.submit(self.query, name, rtype, rdclass=rdclass, server=server)

    def query_many(self, keys: Iterable[Key]) -> dict[Key, DnsAnswer]:
        """Ask all at once; returns when every answer is in (or timed out)."""
        futures = {key: self.submit(*key) for key in dict.fromkeys(keys)}
        return {key: future.result() for key, future in futures.items()}

    # --- the wire -------------------------------------------------------------------

    def _resolver(self, server: tuple[str, int] | None, lifetime: float) -> dns.resolver.Resolver:
        resolver = dns.resolver.Resolver(configure=False)
        if server is not None:
            resolver.nameservers = [dns.nameserver.Do53Nameserver(server[0], server[1])]
        else:
            resolver.nameservers = list(self._servers)
        # Retransmit a lost UDP datagram within the query's lifetime.
        resolver.timeout = max(0.2, lifetime / 3)
        resolver.lifetime = lifetime
        resolver.cache = None
        return resolver

    def _ask(
        self, name: str, rtype: str, rdclass: str, server: tuple[str, int] | None
    ) -> DnsAnswer:
        started = self._clock()
        remaining = self._deadline - started
        if remaining <= 0:
            return DnsAnswer(name, rtype, AnswerStatus.BUDGET)
        lifetime = min(self.settings.query_timeout, remaining)
        where = f"{server[0]}:{server[1]}" if server else self.settings.label

        def done(
            status: AnswerStatus,
            values: Sequence[str] = (),
            cnames: Sequence[str] = (),
            detail: str = "",
        ) -> DnsAnswer:
            return DnsAnswer(
                name,
                rtype,
                status,
                tuple(values),
                tuple(cnames),
                where,
                self._clock() - started,
                detail,
            )

        try:
            qname = dns.name.from_text(name)
        except dns.exception.DNSException as error:
            return done(AnswerStatus.INVALID, detail=str(error))
        with self._lock:
            self.questions += 1
        try:
            answer = self._resolver(server, lifetime).resolve(
                qname,
                rtype,
                rdclass,
                search=False,
                raise_on_no_answer=False,
                lifetime=lifetime,
            )
        except dns.resolver.NXDOMAIN as error:
            cnames = _nx_chain(error, qname)
            return done(AnswerStatus.NXDOMAIN, cnames=cnames)
        except dns.resolver.LifetimeTimeout as error:
            return done(AnswerStatus.TIMEOUT, detail=str(error))
        except dns.resolver.NoNameservers as error:
            status, detail = _classify_failure(error)
            return done(status, detail=detail)
        except dns.exception.Timeout as error:
            return done(AnswerStatus.TIMEOUT, detail=str(error))
        except (dns.name.EmptyLabel, dns.name.LabelTooLong, dns.name.NameTooLong) as error:
            return done(AnswerStatus.INVALID, detail=str(error))
        except dns.exception.DNSException as error:
            return done(AnswerStatus.UNREACHABLE, detail=f"{type(error).__name__}: {error}")
        except OSError as error:
            return done(AnswerStatus.UNREACHABLE, detail=str(error))
        cnames = [
            rrset[0].target.to_text(omit_final_dot=True)
            for rrset in answer.chaining_result.cnames
            if len(rrset)
        ]
        if answer.response.flags & dns.flags.TC:
            # Cut short even over TCP (dnspython retries a truncated UDP answer over TCP
            # and then takes what it gets): an empty remainder is not "no record".
            return done(AnswerStatus.INVALID, detail="the answer was truncated, also over TCP")
        if answer.rrset is None:
            return done(AnswerStatus.NODATA, cnames=cnames)
        return done(AnswerStatus.OK, [_present(rd) for rd in answer.rrset], cnames)


def _normal(name: str) -> str:
    return name.strip().rstrip(".").lower()


def _present(rdata: object) -> str:
    """TXT as its joined text; everything else in presentation form without the final dot."""
    strings = getattr(rdata, "strings", None)
    if strings is not None:
        return b"".join(strings).decode("utf-8", errors="replace")
    text: str = rdata.to_text()  # type: ignore[attr-defined]
    return text[:-1] if text.endswith(".") and not text.endswith("\\.") else text


def _nx_chain(error: dns.resolver.NXDOMAIN, qname: dns.name.Name) -> list[str]:
    try:
        canonical = error.canonical_name
    except Exception:  # dnspython raises when the answer carries no chain
        return []
    if canonical == qname:
        return []
    return [canonical.to_text(omit_final_dot=True)]


def _classify_failure(error: dns.resolver.NoNameservers) -> tuple[AnswerStatus, str]:
    """What every nameserver said, as the most telling status."""
    errors = error.kwargs.get("errors") or []
    statuses: list[AnswerStatus] = []
    details: list[str] = []
    for entry in errors:
        server, _tcp, _port, problem, response = entry
        details.append(f"{server}: {problem}")
        if isinstance(response, dns.message.Message):
            rcode = response.rcode()
            if rcode == dns.rcode.SERVFAIL:
                statuses.append(AnswerStatus.SERVFAIL)
            elif rcode == dns.rcode.REFUSED:
                statuses.append(AnswerStatus.REFUSED)
            else:
                statuses.append(AnswerStatus.SERVFAIL)
        elif isinstance(problem, dns.exception.Timeout):
            statuses.append(AnswerStatus.TIMEOUT)
        elif isinstance(problem, OSError):
            statuses.append(AnswerStatus.UNREACHABLE)
        elif "SERVFAIL" in str(problem):
            statuses.append(AnswerStatus.SERVFAIL)
        elif "REFUSED" in str(problem):
            statuses.append(AnswerStatus.REFUSED)
        else:
            statuses.append(AnswerStatus.UNREACHABLE)
    for wanted in (AnswerStatus.SERVFAIL, AnswerStatus.REFUSED, AnswerStatus.TIMEOUT):
        if wanted in statuses:
            return wanted, "; ".join(details)
    return AnswerStatus.UNREACHABLE, "; ".join(details) or str(error)
