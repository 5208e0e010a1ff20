"""The sandbox's DNS server: the whole "internet" the demo and the tests resolve against.

It answers like a recursive resolver would (RA set, CNAME chains followed within the
data, negative answers with the zone's SOA) from `TenantState.dns_records`, read under
the state's lock at query time, so a test that changes a record sees the change on
its next query. Names that are not in the data do not exist (NXDOMAIN).

One loopback port serves UDP and TCP. UDP answers larger than 512 bytes (or the
client's EDNS size) are truncated with TC set, so clients retry over TCP as they do
against real servers. Per-name faults (`dns_faults`: time out, SERVFAIL, REFUSED)
and an extra delay per answer (`dns_delay`) are planted by tests; each query is
handled on its own thread so a slow answer never holds up another.

`myip.opendns.com` A is answered live with `site_public_ip`: the resolver-based
"what is my public IP" trick (OpenDNS answers with the asking address).
"""

from __future__ import annotations

import errno
import logging
import select
import socket
import socketserver
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.rrset
import idna

from wizard.core.clouds import Endpoint
from wizard.sandbox.tenant import DnsFault, DnsRecord, TenantState

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
MYIP_NAME = "myip.opendns.com"
# Without EDNS a UDP answer may not exceed 512 bytes (RFC 1035); with EDNS we accept
# the client's size up to the 1232 bytes the DNS flag day 2020 settled on.
UDP_PLAIN_LIMIT = 512
OUR_EDNS_PAYLOAD = 1232
TCP_LIMIT = 65535
# How often blocking waits look at the stop flag: keeps stop() fast.
POLL_INTERVAL = 0.05
# A TCP client that sends nothing for this long is disconnected.
TCP_IDLE_TIMEOUT = 30.0
MAX_CNAME_CHAIN = 16
# The root zone's SOA, used for negative answers under names the data has no zone for.
ROOT_SOA = "a.root-servers.net. nstld.verisign-grs.com. 2026112700 1800 900 604800 86400"


def normalize_name(name: str) -> str:
    """Lower-case A-label form without the final dot ("Bücher.Example." -> "xn--...")."""
    name = name.strip().rstrip(".").lower()
    if not name or name.isascii():
        return name
    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError:
        return name


class _BadRecord(Exception):
    """A record in the state cannot be turned into DNS data (a test planted nonsense)."""


@dataclass
class _Zone:
    """A snapshot of the records, indexed for one query."""

    by_name: dict[str, list[DnsRecord]] = field(default_factory=dict)
    # Names that have records below them (empty non-terminals exist: NODATA, not
    # NXDOMAIN, as RFC 8020 asks).
    ancestors: set[str] = field(default_factory=set)

    @classmethod
    def build(cls, records: Iterable[DnsRecord]) -> _Zone:
        zone = cls()
        for record in records:
            name = normalize_name(record.name)
            zone.by_name.setdefault(name, []).append(record)
            labels = name.split(".")
            for i in range(1, len(labels)):
                zone.ancestors.add(".".join(labels[i:]))
        return zone

    def exists(self, name: str) -> bool:
        return name in self.by_name or name in self.ancestors

    def closest_soa(self, name: str) -> tuple[str, DnsRecord] | None:
        labels = name.split(".") if name else []
        for i in range(len(labels)):
            candidate = ".".join(labels[i:])
            soa = [r for r in self.by_name.get(candidate, []) if r.rtype.upper() == "SOA"]
            if soa:
                return candidate, soa[0]
        return None


def _rdata(rtype: str, value: str) -> dns.rdata.Rdata:
    rdtype = dns.rdatatype.from_text(rtype.upper())
    if rdtype in (dns.rdatatype.TXT, dns.rdatatype.SPF):
        # The state holds the whole text; DNS carries it as strings of at most 255
        # bytes (RFC 7208 3.3: SPF records longer than that are split this way).
        raw = value.encode("utf-8")
        chunks = [raw[i : i + 255] for i in range(0, len(raw), 255)] or [b""]
        return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, rdtype, chunks)
    return dns.rdata.from_text(
        dns.rdataclass.IN, rdtype, value, origin=dns.name.root, relativize=False
    )


def _rrset(owner: dns.name.Name, records: list[DnsRecord]) -> dns.rrset.RRset:
    rdtype = dns.rdatatype.from_text(records[0].rtype.upper())
    rrset = dns.rrset.RRset(owner, dns.rdataclass.IN, rdtype)
    ttl = min(r.ttl for r in records)
    for record in records:
        try:
            rrset.add(_rdata(record.rtype, record.value), ttl)
        except (dns.exception.DNSException, ValueError) as error:
            raise _BadRecord(f"{record.name} {record.rtype} {record.value!r}: {error}") from error
    return rrset


def _soa_rrset(zone_name: str, record: DnsRecord | None) -> dns.rrset.RRset:
    owner = dns.name.from_text(zone_name) if zone_name else dns.name.root
    rdata = _rdata("SOA", record.value if record else ROOT_SOA)
    # RFC 2308: a negative answer is cached for min(SOA TTL, SOA MINIMUM).
    ttl = min(record.ttl if record else 86400, rdata.minimum)  # type: ignore[attr-defined]
    rrset = dns.rrset.RRset(owner, dns.rdataclass.IN, dns.rdatatype.SOA)
    rrset.add(rdata, ttl)
    return rrset


def _by_type(records: list[DnsRecord]) -> dict[str, list[DnsRecord]]:
    grouped: dict[str, list[DnsRecord]] = {}
    for record in records:
        grouped.setdefault(record.rtype.upper(), []).append(record)
    return grouped


def resolve(
    zone: _Zone, qname: dns.name.Name, qtype: dns.rdatatype.RdataType
) -> tuple[dns.rcode.Rcode, list[dns.rrset.RRset], list[dns.rrset.RRset]]:
    """(rcode, answer, authority) for one question, as a recursive resolver answers."""
    answer: list[dns.rrset.RRset] = []
    owner = qname
    name = normalize_name(qname.to_text())
    seen: set[str] = set()
    want = dns.rdatatype.to_text(qtype)
    for _ in range(MAX_CNAME_CHAIN):
        records = zone.by_name.get(name)
        if not records:
            rcode = dns.rcode.NOERROR if zone.exists(name) else dns.rcode.NXDOMAIN
            return rcode, answer, [_negative_soa(zone, name)]
        grouped = _by_type(records)
        if qtype == dns.rdatatype.ANY:
            answer.extend(_rrset(owner, group) for group in grouped.values())
            return dns.rcode.NOERROR, answer, []
        if want in grouped:
            answer.append(_rrset(owner, grouped[want]))
            return dns.rcode.NOERROR, answer, []
        if "CNAME" in grouped:
            cname = _rrset(owner, grouped["CNAME"][:1])
            answer.append(cname)
            seen.add(name)
            owner = cname[0].target
            name = normalize_name(owner.to_text())
            if name in seen:
                return dns.rcode.SERVFAIL, [], []  # a CNAME loop
            continue
        return dns.rcode.NOERROR, answer, [_negative_soa(zone, name)]
    return dns.rcode.SERVFAIL, [], []


def _negative_soa(zone: _Zone, name: str) -> dns.rrset.RRset:
    found = zone.closest_soa(name)
    if found is None:
        return _soa_rrset("", None)
    return _soa_rrset(found[0], found[1])


def _formerr_for(wire: bytes) -> bytes | None:
    """A FORMERR answer to a query that could not be parsed, when it has a header."""
    if len(wire) < 12:
        return None
    reply = dns.message.Message(id=int.from_bytes(wire[:2], "big"))
    reply.flags = dns.flags.QR | dns.flags.RA
    reply.set_rcode(dns.rcode.FORMERR)
    return reply.to_wire()


class DnsServer:
    """A recursive-resolver stand-in on 127.0.0.1, UDP and TCP on one free port."""

    def __init__(self, state: TenantState) -> None:
        self.state = state
        self._stopping = threading.Event()
        self._udp: _UdpServer | None = None
        self._tcp: _TcpServer | None = None
        self._threads: list[threading.Thread] = []

    @property
    def endpoint(self) -> Endpoint:
        if self._udp is None:
            raise RuntimeError("the DNS server is not running")
        return Endpoint(HOST, self._udp.server_address[1])

    def __enter__(self) -> DnsServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        if self._udp is not None:
            return
        self._stopping.clear()
        self._udp, self._tcp = self._bind_pair()
        for server, kind in ((self._udp, "udp"), (self._tcp, "tcp")):
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": POLL_INTERVAL},
                name=f"sandbox-dns-{kind}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        log.info("sandbox DNS server listening on %s (UDP and TCP)", self.endpoint)

    def stop(self) -> None:
        if self._udp is None or self._tcp is None:
            return
        self._stopping.set()
        for server in (self._udp, self._tcp):
            server.shutdown()
        # server_close() joins the per-query threads (block_on_close); they watch
        # the stop flag, so a delayed answer or a hung TCP client ends at once.
        for server in (self._udp, self._tcp):
            server.server_close()
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        self._udp = self._tcp = None

    def _bind_pair(self) -> tuple[_UdpServer, _TcpServer]:
        # Let the system pick a free UDP port, then take the same TCP port; another
        # program may hold that TCP port already, so try again a few times.
        for _ in range(20):
            udp = _UdpServer((HOST, 0), self)
            port = udp.server_address[1]
            try:
                tcp = _TcpServer((HOST, port), self)
            except OSError as error:
                udp.server_close()
                if error.errno != errno.EADDRINUSE:
                    raise
                continue
            return udp, tcp
        raise OSError(errno.EADDRINUSE, "no free port for both UDP and TCP on 127.0.0.1")

    def answer(self, wire: bytes, limit: int | None) -> bytes | None:
        """The wire answer to one query, or None when the query must go unanswered.

        limit: the largest answer the transport carries (None: UDP, from the query).
        """
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return _formerr_for(wire)
        try:
            return self._answer(query, limit)
        except Exception:
            # A bug here must not look like a network fault to the client.
            log.exception("sandbox DNS server failed to answer %s", query.question)
            reply = dns.message.make_response(query, recursion_available=True)
            reply.set_rcode(dns.rcode.SERVFAIL)
            return reply.to_wire()

    def _answer(self, query: dns.message.Message, limit: int | None) -> bytes | None:
        with self.state.lock:
            records = list(self.state.dns_records)
            faults = {normalize_name(k): v for k, v in self.state.dns_faults.items()}
            delay = self.state.dns_delay
            site_ip = self.state.site_public_ip
        reply = dns.message.make_response(
            query, recursion_available=True, our_payload=OUR_EDNS_PAYLOAD
        )
        question = query.question[0] if len(query.question) == 1 else None
        if query.opcode() != dns.opcode.QUERY:
            reply.set_rcode(dns.rcode.NOTIMP)
        elif question is None:
            reply.set_rcode(dns.rcode.FORMERR)
        elif question.rdclass != dns.rdataclass.IN:
            reply.set_rcode(dns.rcode.REFUSED)
        else:
            fault = faults.get(normalize_name(question.name.to_text()))
            if fault is DnsFault.TIMEOUT:
                log.debug("DNS %s: planted timeout, no answer", question.name)
                return None
            if fault is DnsFault.SERVFAIL:
                reply.set_rcode(dns.rcode.SERVFAIL)
            elif fault is DnsFault.REFUSED:
                reply.set_rcode(dns.rcode.REFUSED)
            else:
                records.append(DnsRecord(MYIP_NAME, "A", site_ip, ttl=0))
                self._fill(reply, _Zone.build(records), question.name, question.rdtype)
        if delay > 0 and self._stopping.wait(delay):
            return None  # stopping: the answer would never arrive anyway
        if limit is None:
            limit = UDP_PLAIN_LIMIT
            if query.edns >= 0:
                limit = min(max(UDP_PLAIN_LIMIT, query.payload), OUR_EDNS_PAYLOAD)
        return reply.to_wire(max_size=limit, prefer_truncation=True)

    @staticmethod
    def _fill(
        reply: dns.message.Message,
        zone: _Zone,
        qname: dns.name.Name,
        qtype: dns.rdatatype.RdataType,
    ) -> None:
        try:
            rcode, answer, authority = resolve(zone, qname, qtype)
        except _BadRecord as error:
            log.warning("sandbox DNS data cannot be served: %s", error)
            reply.set_rcode(dns.rcode.SERVFAIL)
            return
        reply.set_rcode(rcode)
        reply.answer.extend(answer)
        reply.authority.extend(authority)


class _UdpHandler(socketserver.BaseRequestHandler):
    server: _UdpServer

    def handle(self) -> None:
        wire, sock = self.request
        reply = self.server.dns.answer(wire, None)
        if reply is not None:
            sock.sendto(reply, self.client_address)


class _TcpHandler(socketserver.BaseRequestHandler):
    server: _TcpServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        while True:
            header = self._read(sock, 2)
            if header is None:
                return
            wire = self._read(sock, int.from_bytes(header, "big"))
            if wire is None:
                return
            reply = self.server.dns.answer(wire, TCP_LIMIT)
            if reply is not None:
                sock.sendall(len(reply).to_bytes(2, "big") + reply)

    def _read(self, sock: socket.socket, size: int) -> bytes | None:
        """Exactly `size` bytes, or None when the client left, idled or we stop."""
        data = b""
        idle = 0.0
        stopping = self.server.dns._stopping
        while len(data) < size:
            if stopping.is_set() or idle >= TCP_IDLE_TIMEOUT:
                return None
            readable, _, _ = select.select([sock], [], [], POLL_INTERVAL)
            if not readable:
                idle += POLL_INTERVAL
                continue
            try:
                chunk = sock.recv(size - len(data))
            except OSError:
                return None
            if not chunk:
                return None
            data += chunk
            idle = 0.0
        return data


class _UdpServer(socketserver.ThreadingUDPServer):
    daemon_threads = False
    block_on_close = True
    max_packet_size = 65535

    def __init__(self, address: tuple[str, int], dns_server: DnsServer) -> None:
        self.dns = dns_server
        super().__init__(address, _UdpHandler)


class _TcpServer(socketserver.ThreadingTCPServer):
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], dns_server: DnsServer) -> None:
        self.dns = dns_server
        super().__init__(address, _TcpHandler)
