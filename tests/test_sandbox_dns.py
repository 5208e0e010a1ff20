"""The sandbox DNS server, driven with dnspython exactly as the DNS checks use it."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver
import pytest

from tests.sandbox_fixtures import new_sockets, new_threads, open_sockets, thread_names
from wizard.sandbox.dns_server import DnsServer
from wizard.sandbox.tenant import (
    DEMO_DOMAIN,
    DEMO_IDN_DOMAIN,
    DEMO_SITE_IP,
    DNSBL_ZONES,
    DnsFault,
    TenantState,
    demo_tenant,
    dnsbl_query_name,
)


@pytest.fixture
def state() -> TenantState:
    return demo_tenant()


@pytest.fixture
def server(state: TenantState) -> Iterator[DnsServer]:
    with DnsServer(state) as running:
        yield running


@pytest.fixture
def resolver(server: DnsServer) -> dns.resolver.Resolver:
    res = dns.resolver.Resolver(configure=False)
    res.nameservers = [server.endpoint.host]
    res.port = server.endpoint.port
    res.lifetime = 3.0
    return res


def texts(answer: dns.resolver.Answer) -> list[str]:
    return [b"".join(r.strings).decode() for r in answer]


def raw_query(
    server: DnsServer, name: str, rdtype: str, *, tcp: bool = False
) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    send = dns.query.tcp if tcp else dns.query.udp
    return send(query, server.endpoint.host, port=server.endpoint.port, timeout=3)


def test_endpoint_is_loopback_and_both_transports_answer(server: DnsServer) -> None:
    assert server.endpoint.host == "127.0.0.1"
    for tcp in (False, True):
        reply = raw_query(server, DEMO_DOMAIN, "MX", tcp=tcp)
        assert reply.rcode() == dns.rcode.NOERROR
        assert reply.flags & dns.flags.RA  # answers like a recursive resolver
        assert [r.to_text() for r in reply.answer[0]] == [
            # Microsoft's token carries a suffix: the dashed domain alone does not exist.
            "0 contoso-example01b.mail.protection.outlook.com."
        ]


def test_demo_zone_starting_state(resolver: dns.resolver.Resolver) -> None:
    mx = resolver.resolve(DEMO_DOMAIN, "MX")
    assert [r.exchange.to_text() for r in mx] == ["contoso-example01b.mail.protection.outlook.com."]
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver.resolve("contoso-example.mail.protection.outlook.com", "A")
    spf = [t for t in texts(resolver.resolve(DEMO_DOMAIN, "TXT")) if t.startswith("v=spf1")]
    # SPF present, but without the office's address: the wizard has to add it.
    assert spf == ["v=spf1 include:spf.protection.outlook.com -all"]
    assert DEMO_SITE_IP not in spf[0]
    dmarc = texts(resolver.resolve(f"_dmarc.{DEMO_DOMAIN}", "TXT"))
    assert dmarc[0].startswith("v=DMARC1; p=none")
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver.resolve(f"selector2._domainkey.{DEMO_DOMAIN}", "CNAME")
    soa = resolver.resolve(DEMO_DOMAIN, "SOA")
    assert soa[0].mname.to_text() == f"ns1.{DEMO_DOMAIN}."
    assert resolver.resolve(f"www.{DEMO_DOMAIN}", "A")[0].address == "203.0.113.80"


def test_cname_chain_is_followed_within_the_data(resolver: dns.resolver.Resolver) -> None:
    answer = resolver.resolve(f"selector1._domainkey.{DEMO_DOMAIN}", "TXT")
    assert texts(answer)[0].startswith("v=DKIM1;")
    chain = answer.response.answer
    assert chain[0].rdtype == dns.rdatatype.CNAME
    # Microsoft's suffixed token, under dkim.mail.microsoft.
    assert chain[0][0].target.to_text() == (
        "selector1-contoso-example03i._domainkey.contosodemo.r-v1.dkim.mail.microsoft."
    )
    # Asking for the CNAME itself returns it, not what it points to.
    cname = resolver.resolve(f"autodiscover.{DEMO_DOMAIN}", "CNAME")
    assert cname[0].target.to_text() == "autodiscover.outlook.com."
    assert resolver.resolve(f"autodiscover.{DEMO_DOMAIN}", "A")[0].address == "52.97.0.1"


def test_cname_to_a_missing_name_is_nxdomain_with_the_chain(
    state: TenantState, server: DnsServer
) -> None:
    state.set_record(f"broken.{DEMO_DOMAIN}", "CNAME", "gone.example.net.")
    reply = raw_query(server, f"broken.{DEMO_DOMAIN}", "A")
    assert reply.rcode() == dns.rcode.NXDOMAIN
    assert reply.answer[0].rdtype == dns.rdatatype.CNAME


def test_ptr_of_the_office_ip(resolver: dns.resolver.Resolver) -> None:
    answer = resolver.resolve_address(DEMO_SITE_IP)
    assert answer[0].target.to_text() == "203-0-113-25.static.example-isp.example."


def test_nxdomain_versus_nodata_carry_the_zone_soa(server: DnsServer) -> None:
    missing = raw_query(server, f"nothing-here.{DEMO_DOMAIN}", "A")
    assert missing.rcode() == dns.rcode.NXDOMAIN
    assert missing.authority[0].rdtype == dns.rdatatype.SOA
    assert missing.authority[0].name == dns.name.from_text(DEMO_DOMAIN)
    # A name that exists with other types: NOERROR and no answer (NODATA).
    nodata = raw_query(server, DEMO_DOMAIN, "AAAA")
    assert nodata.rcode() == dns.rcode.NOERROR
    assert not nodata.answer
    assert nodata.authority[0].rdtype == dns.rdatatype.SOA
    # An empty non-terminal (_domainkey has only names below it) exists too.
    ent = raw_query(server, f"_domainkey.{DEMO_DOMAIN}", "TXT")
    assert ent.rcode() == dns.rcode.NOERROR
    assert not ent.answer
    # Names outside every zone of the data: NXDOMAIN with the root's SOA.
    outside = raw_query(server, "www.example.com", "A")
    assert outside.rcode() == dns.rcode.NXDOMAIN
    assert outside.authority[0].name == dns.name.root


def test_nxdomain_and_nodata_through_the_resolver(resolver: dns.resolver.Resolver) -> None:
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver.resolve(f"nothing-here.{DEMO_DOMAIN}", "A")
    with pytest.raises(dns.resolver.NoAnswer):
        resolver.resolve(DEMO_DOMAIN, "AAAA")


def test_long_txt_is_split_into_255_byte_strings(
    state: TenantState, resolver: dns.resolver.Resolver
) -> None:
    long_spf = "v=spf1 " + " ".join(f"ip4:198.51.100.{i}" for i in range(1, 30)) + " -all"
    assert len(long_spf) > 255
    state.set_record(DEMO_DOMAIN, "TXT", long_spf)
    rdata = resolver.resolve(DEMO_DOMAIN, "TXT")[0]
    assert len(rdata.strings) == 3
    assert [len(s) for s in rdata.strings[:2]] == [255, 255]
    assert b"".join(rdata.strings).decode() == long_spf


def test_large_answers_are_truncated_over_udp_and_complete_over_tcp(
    state: TenantState, server: DnsServer, resolver: dns.resolver.Resolver
) -> None:
    values = [f"site-verification-{i:02d}=" + "a" * 40 for i in range(40)]
    state.set_record(f"big.{DEMO_DOMAIN}", "TXT", *values)
    udp = raw_query(server, f"big.{DEMO_DOMAIN}", "TXT")
    assert udp.flags & dns.flags.TC
    # The resolver sees TC and asks again over TCP on the same port.
    assert sorted(texts(resolver.resolve(f"big.{DEMO_DOMAIN}", "TXT"))) == sorted(values)
    tcp = raw_query(server, f"big.{DEMO_DOMAIN}", "TXT", tcp=True)
    assert not tcp.flags & dns.flags.TC
    assert len(tcp.answer[0]) == 40


def test_edns_raises_the_udp_limit(state: TenantState, server: DnsServer) -> None:
    values = [f"v{i:02d}=" + "b" * 40 for i in range(15)]  # about 750 bytes
    state.set_record(f"mid.{DEMO_DOMAIN}", "TXT", *values)
    plain = raw_query(server, f"mid.{DEMO_DOMAIN}", "TXT")
    assert plain.flags & dns.flags.TC
    query = dns.message.make_query(f"mid.{DEMO_DOMAIN}", "TXT", use_edns=0, payload=1232)
    reply = dns.query.udp(query, server.endpoint.host, port=server.endpoint.port, timeout=3)
    assert not reply.flags & dns.flags.TC
    assert len(reply.answer[0]) == 15
    # A client offering more than 1232 bytes still gets at most 1232 over UDP.
    state.set_record(f"mid.{DEMO_DOMAIN}", "TXT", *[f"w{i:02d}=" + "c" * 60 for i in range(30)])
    query = dns.message.make_query(f"mid.{DEMO_DOMAIN}", "TXT", use_edns=0, payload=4096)
    reply = dns.query.udp(query, server.endpoint.host, port=server.endpoint.port, timeout=3)
    assert reply.flags & dns.flags.TC


def test_records_change_live(state: TenantState, resolver: dns.resolver.Resolver) -> None:
    new_spf = f"v=spf1 ip4:{DEMO_SITE_IP} include:spf.protection.outlook.com -all"
    state.set_record(DEMO_DOMAIN, "TXT", new_spf, "MS=ms41873220")
    assert new_spf in texts(resolver.resolve(DEMO_DOMAIN, "TXT"))
    state.set_record(f"selector2._domainkey.{DEMO_DOMAIN}", "CNAME", "target.example.net.")
    answer = resolver.resolve(f"selector2._domainkey.{DEMO_DOMAIN}", "CNAME")
    assert answer[0].target.to_text() == "target.example.net."
    state.set_record(f"www.{DEMO_DOMAIN}", "A")
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver.resolve(f"www.{DEMO_DOMAIN}", "A")


def test_planted_timeout(state: TenantState, resolver: dns.resolver.Resolver) -> None:
    state.dns_faults[DEMO_DOMAIN] = DnsFault.TIMEOUT
    resolver.lifetime = 0.3
    started = time.monotonic()
    with pytest.raises(dns.resolver.LifetimeTimeout):
        resolver.resolve(DEMO_DOMAIN, "MX")
    assert time.monotonic() - started >= 0.3
    # Other names still answer.
    assert resolver.resolve(f"www.{DEMO_DOMAIN}", "A")


def test_planted_timeout_over_tcp(state: TenantState, server: DnsServer) -> None:
    state.dns_faults[DEMO_DOMAIN] = DnsFault.TIMEOUT
    with pytest.raises(dns.exception.Timeout):
        dns.query.tcp(
            dns.message.make_query(DEMO_DOMAIN, "MX"),
            server.endpoint.host,
            port=server.endpoint.port,
            timeout=0.3,
        )


@pytest.mark.parametrize(
    ("fault", "rcode"),
    [(DnsFault.SERVFAIL, dns.rcode.SERVFAIL), (DnsFault.REFUSED, dns.rcode.REFUSED)],
)
def test_planted_servfail_and_refused(
    state: TenantState,
    server: DnsServer,
    resolver: dns.resolver.Resolver,
    fault: DnsFault,
    rcode: dns.rcode.Rcode,
) -> None:
    state.dns_faults[f"_dmarc.{DEMO_DOMAIN}"] = fault
    assert raw_query(server, f"_dmarc.{DEMO_DOMAIN}", "TXT").rcode() == rcode
    with pytest.raises(dns.resolver.NoNameservers):
        resolver.resolve(f"_dmarc.{DEMO_DOMAIN}", "TXT")
    del state.dns_faults[f"_dmarc.{DEMO_DOMAIN}"]
    assert resolver.resolve(f"_dmarc.{DEMO_DOMAIN}", "TXT")


def test_delay_applies_per_answer_without_serialising_queries(
    state: TenantState, resolver: dns.resolver.Resolver
) -> None:
    state.dns_delay = 0.3
    durations: list[float] = []

    def ask() -> None:
        started = time.monotonic()
        resolver.resolve(DEMO_DOMAIN, "MX")
        durations.append(time.monotonic() - started)

    started = time.monotonic()
    workers = [threading.Thread(target=ask) for _ in range(5)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    total = time.monotonic() - started
    assert len(durations) == 5
    assert min(durations) >= 0.3
    assert total < 1.2  # five delayed answers in parallel, not one after another


def test_blocklist_miss_hit_and_test_entries(
    state: TenantState, resolver: dns.resolver.Resolver
) -> None:
    for zone in DNSBL_ZONES:
        # The demo office IP is clean everywhere to start with.
        with pytest.raises(dns.resolver.NXDOMAIN):
            resolver.resolve(dnsbl_query_name(DEMO_SITE_IP, zone), "A")
        # RFC 5782 test entries: 127.0.0.2 is listed, 127.0.0.1 is not.
        assert resolver.resolve(dnsbl_query_name("127.0.0.2", zone), "A")[0].address == "127.0.0.2"
        with pytest.raises(dns.resolver.NXDOMAIN):
            resolver.resolve(dnsbl_query_name("127.0.0.1", zone), "A")
    state.list_on_blocklist(DEMO_SITE_IP, "zen.spamhaus.org", "Listed in the SBL")
    name = dnsbl_query_name(DEMO_SITE_IP, "zen.spamhaus.org")
    assert name == "25.113.0.203.zen.spamhaus.org"
    assert resolver.resolve(name, "A")[0].address == "127.0.0.2"
    assert texts(resolver.resolve(name, "TXT")) == ["Listed in the SBL"]
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver.resolve(dnsbl_query_name(DEMO_SITE_IP, "bl.spamcop.net"), "A")
    state.delist_from_blocklist(DEMO_SITE_IP, "zen.spamhaus.org")
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver.resolve(name, "A")


def test_public_ip_discovery_follows_the_site_ip(
    state: TenantState, resolver: dns.resolver.Resolver
) -> None:
    assert resolver.resolve("myip.opendns.com", "A")[0].address == DEMO_SITE_IP
    state.site_public_ip = "203.0.113.77"
    assert resolver.resolve("myip.opendns.com", "A")[0].address == "203.0.113.77"
    with pytest.raises(dns.resolver.NoAnswer):
        resolver.resolve("myip.opendns.com", "AAAA")


def test_internationalised_domain(resolver: dns.resolver.Resolver) -> None:
    name = dns.name.from_unicode(DEMO_IDN_DOMAIN)
    assert name.to_text() == "xn--bcher-kva.example."
    mx = resolver.resolve(name, "MX")
    # Set up after July 2026: the DNSSEC mx.microsoft form (MC1048624).
    assert mx[0].exchange.to_text() == "xn--bcher-kva-example02c.c-v1.mx.microsoft."


def test_records_stored_with_a_unicode_name_are_found(
    state: TenantState, resolver: dns.resolver.Resolver
) -> None:
    state.set_record(f"autodiscover.{DEMO_IDN_DOMAIN}", "CNAME", "autodiscover.outlook.com.")
    answer = resolver.resolve(dns.name.from_unicode(f"autodiscover.{DEMO_IDN_DOMAIN}"), "A")
    assert answer[0].address == "52.97.0.1"


def test_malformed_query_gets_formerr(server: DnsServer) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(3)
        sock.sendto(
            b"\x12\x34" + b"\x01\x00" + b"\x00\x01" + b"\xff" * 20,
            (server.endpoint.host, server.endpoint.port),
        )
        reply = dns.message.from_wire(sock.recv(512), question_only=True)
    assert reply.id == 0x1234
    assert reply.rcode() == dns.rcode.FORMERR


def test_bad_record_data_is_servfail_and_logged(
    state: TenantState, server: DnsServer, expected_warnings: list[logging.LogRecord]
) -> None:
    state.set_record(f"bad.{DEMO_DOMAIN}", "MX", "not a number host.example.")
    assert raw_query(server, f"bad.{DEMO_DOMAIN}", "MX").rcode() == dns.rcode.SERVFAIL
    assert any("cannot be served" in r.getMessage() for r in expected_warnings)


def test_stop_leaves_no_thread_or_socket_behind() -> None:
    threads_before = thread_names()
    sockets_before = open_sockets()
    state = demo_tenant()
    server = DnsServer(state)
    server.start()
    endpoint = server.endpoint
    # Leave work in flight: a delayed answer and a TCP client that never asks.
    state.dns_delay = 5.0
    hanging = socket.create_connection((endpoint.host, endpoint.port))
    query = dns.message.make_query(DEMO_DOMAIN, "MX")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.sendto(query.to_wire(), (endpoint.host, endpoint.port))
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 1.5
    hanging.close()
    assert not new_threads(threads_before)
    assert not new_sockets(sockets_before)
    # A stopped server starts again cleanly.
    state.dns_delay = 0.0
    server.start()
    assert raw_query(server, DEMO_DOMAIN, "SOA").rcode() == dns.rcode.NOERROR
    server.stop()
    assert not new_threads(threads_before)
    assert not new_sockets(sockets_before)
