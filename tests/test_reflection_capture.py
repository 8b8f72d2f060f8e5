"""Reflection on crafted captures through the real sensor and every detector.

The attack captures mirror real reflection: DNS ANY, NTP monlist (mode 7, request 42),
memcached ``stats``, SSDP M-SEARCH and CLDAP rootDSE answers from many reflectors to one
victim that sent none of the requests; the large answers are IP-fragmented as on the wire
(only first fragments carry UDP ports). The controls are ordinary request/answer traffic
of the same services, some of it large (DNSSEC), which must stay silent.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import IP, UDP, fragment
from scapy.layers.l2 import Ether
from scapy.packet import Packet as ScapyPacket
from scapy.packet import Raw

from detectors.alert import Alert
from nssa.evaluate import events_of
from nssa.pipeline import build_detectors
from nssa.settings import Settings
from tests.captures import Packet, write_pcap

VICTIM, RESOLVER, CLIENT = "10.20.0.5", "10.20.0.53", "10.20.0.7"
WATCHED = {"amplification", "flood", "scan", "portscan"}


def frames(t: float, layer: ScapyPacket) -> list[Packet]:
    """One datagram as it crosses an Ethernet link: fragmented beyond 1500 bytes."""
    pieces = fragment(layer, 1480) if len(layer) > 1500 else [layer]  # type: ignore[no-untyped-call]
    return [(t + n * 1e-5, bytes(Ether() / p)) for n, p in enumerate(pieces)]


def dns_any(name: str, answers: int) -> ScapyPacket:
    """A DNS ANY answer padded with TXT and DNSKEY-sized records, as open resolvers send."""
    rrs = [DNSRR(rrname=name, type="TXT", rdata="v=spf1 " + "x" * 200) for _ in range(answers)]
    return DNS(id=7, qr=1, ra=1, qd=DNSQR(qname=name, qtype=255), an=rrs)


def ntp_monlist() -> bytes:
    """An NTP mode-7 MON_GETLIST_1 answer: header and six 72-byte peer entries."""
    return bytes([0x97, 0x00, 0x03, 0x2A, 0x00, 0x06, 0x00, 0x48]) + bytes(range(72)) * 6


def memcached_stats() -> bytes:
    """A memcached UDP frame header and a ``stats`` answer as large as one frame."""
    body = b"".join(b"STAT item_%d %d\r\n" % (n, n * 977) for n in range(70)) + b"END\r\n"
    return b"\x00\x01\x00\x00\x00\x01\x00\x00" + body


def ssdp_answer(n: int) -> bytes:
    """An SSDP M-SEARCH answer (HTTP over UDP) from a home router."""
    return (
        b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: upnp:rootdevice\r\n"
        b"USN: uuid:%08d-0000-1000-8000-001122334455::upnp:rootdevice\r\nEXT:\r\n"
        b"SERVER: Linux/2.6 UPnP/1.0 miniupnpd/1.9\r\n"
        b"LOCATION: http://192.168.1.1:5431/rootDesc.xml\r\n\r\n" % n
    )


def cldap_rootdse() -> bytes:
    """A CLDAP searchResEntry for the rootDSE: a long list of naming contexts."""
    attrs = b"".join(b"\x04\x20" + (b"DC=corp,DC=example,DC=%04d" % n).ljust(32) for n in range(90))
    return b"\x30\x84" + len(attrs).to_bytes(4, "big") + b"\x02\x01\x01\x64" + attrs


def reflectors(count: int, seed: int) -> Iterator[str]:
    rng = random.Random(seed)
    for _ in range(count):
        yield ".".join(str(rng.randint(low, 254)) for low in (11, 0, 0, 1))


def reflection(
    service_port: int, payload: ScapyPacket, *, victim_port: int | None, answers: int = 3
) -> list[Packet]:
    """Answers from 80 reflectors to the victim within 20 s (``answers`` forged requests
    each, or one request an SSDP device answers once per service); no requests seen."""
    rng, out = random.Random(service_port), []
    for n, reflector in enumerate(reflectors(80, service_port)):
        for k in range(answers):
            dport = victim_port or rng.randint(1024, 65535)
            ip = IP(src=reflector, dst=VICTIM, id=n * answers + k)
            out += frames(n * 0.25 + k * 0.02, ip / UDP(sport=service_port, dport=dport) / payload)
    return sorted(out)


def lookups() -> list[Packet]:
    """A client's lookups at our resolver and the resolver's at authorities, all answered;
    a fifth are DNSSEC answers over 1,500 bytes."""
    out: list[Packet] = []
    for n, authority in enumerate(reflectors(150, 1)):
        t, name = n * 0.3, f"host{n}.example.org"
        large = n % 5 == 0
        answer = dns_any(name, 7 if large else 1)
        query = DNS(id=n, rd=1, qd=DNSQR(qname=name, qtype=255 if large else 1))
        out += frames(t, IP(src=CLIENT, dst=RESOLVER) / UDP(sport=40000 + n, dport=53) / query)
        out += frames(
            t + 0.001, IP(src=RESOLVER, dst=authority) / UDP(sport=30000 + n, dport=53) / query
        )
        out += frames(
            t + 0.02, IP(src=authority, dst=RESOLVER) / UDP(sport=53, dport=30000 + n) / answer
        )
        out += frames(
            t + 0.021, IP(src=RESOLVER, dst=CLIENT) / UDP(sport=53, dport=40000 + n) / answer
        )
    return out


def time_sync() -> list[Packet]:
    """Forty hosts polling our NTP server (mode 3 / mode 4, 48 bytes each way)."""
    out: list[Packet] = []
    for n in range(40):
        host, t = f"10.20.1.{n + 10}", n * 0.5
        out += frames(
            t,
            IP(src=host, dst="10.20.0.123") / UDP(sport=123, dport=123) / Raw(b"\x23" + b"\0" * 47),
        )
        out += frames(
            t + 0.001,
            IP(src="10.20.0.123", dst=host) / UDP(sport=123, dport=123) / Raw(b"\x24" + b"\0" * 47),
        )
    return out


def alerts_of(tmp_path: Path, packets: list[Packet]) -> list[Alert]:
    path = write_pcap(tmp_path / "traffic.pcap", sorted(packets))
    settings = Settings()
    detectors = build_detectors(settings)
    alerts = [a for e in events_of(path, settings) for d in detectors for a in d.observe(e)]
    alerts += [a for d in detectors for a in d.flush(float("inf"))]
    return [a for a in alerts if a.rule.split(".")[0] in WATCHED]


def victims(alerts: list[Alert]) -> set[tuple[str, str | None]]:
    return {(a.rule, a.destination_ip) for a in alerts}


def test_dns_any_reflection_names_the_victim(tmp_path: Path) -> None:
    alerts = alerts_of(tmp_path, reflection(53, dns_any("example.gov", 14), victim_port=None))
    assert victims(alerts) == {("amplification.victim", VICTIM)}
    assert alerts[0].facts["service"] == "dns" and alerts[0].technique == "T1498.002"


def test_ntp_monlist_reflection_to_the_ntp_port_names_the_victim(tmp_path: Path) -> None:
    # a request forged from the victim's port 123 brings the answers to a service port
    alerts = alerts_of(tmp_path, reflection(123, Raw(ntp_monlist()), victim_port=123))
    assert victims(alerts) == {("amplification.victim", VICTIM)}


def test_ntp_monlist_reflection_to_random_ports_names_the_victim(tmp_path: Path) -> None:
    alerts = alerts_of(tmp_path, reflection(123, Raw(ntp_monlist()), victim_port=None))
    assert victims(alerts) == {("amplification.victim", VICTIM)}


def test_memcached_ssdp_and_cldap_reflection_name_the_victim(tmp_path: Path) -> None:
    cases = ((11211, memcached_stats(), 3), (1900, ssdp_answer(1), 6), (389, cldap_rootdse(), 3))
    for port, payload, answers in cases:
        alerts = alerts_of(
            tmp_path, reflection(port, Raw(payload), victim_port=None, answers=answers)
        )
        assert victims(alerts) == {("amplification.victim", VICTIM)}, port


def test_answered_lookups_and_time_sync_raise_nothing(tmp_path: Path) -> None:
    assert alerts_of(tmp_path, lookups() + time_sync()) == []


def test_reflection_inside_ordinary_traffic_names_only_the_victim(tmp_path: Path) -> None:
    attack = reflection(53, dns_any("example.gov", 14), victim_port=None)
    alerts = alerts_of(tmp_path, lookups() + time_sync() + attack)
    assert victims(alerts) == {("amplification.victim", VICTIM)}
