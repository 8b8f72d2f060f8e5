"""A capture an attacker wrote: HTTP requests and DNS names that carry markup and script.

Crafted with scapy so the dashboard's XSS tests replay real packets through the whole
pipeline (sensors, detectors, correlator, store) instead of writing strings into the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from scapy.layers.dns import DNS, DNSQR
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether

from tests.captures import Packet, write_pcap

WEB_ATTACKER = "198.51.100.77"
"""The outside client sending the hostile requests."""

WEB_SERVER = "10.10.2.80"
"""The police bureau's web server (``tests.dashboard_scene.ORGANISATION``)."""

DNS_CLIENT = "10.30.5.20"
"""A Lushi education bureau host whose queries tunnel out through the resolver."""

RESOLVER = "10.30.5.53"
"""The county's resolver."""

URI_PAYLOADS = (
    "<script>alert(1)</script>",
    '"><img/src=x/onerror=alert(1)>',
    "javascript:alert(document.domain)",
    "<svg/onload=alert(1)>",
)
"""Query-string values as they cross the wire: raw, unencoded, no spaces (a request line
splits on them; browsers accept ``/`` between attributes)."""

URIS = (
    f"/search?q={URI_PAYLOADS[0]}",
    f"/login?next={URI_PAYLOADS[1]}",
    f"/go?url={URI_PAYLOADS[2]}",
    f"/view?page={URI_PAYLOADS[3]}",
)
"""The request targets of the hostile requests, one per payload."""

AGENTS = (
    "Mozilla/5.0 <script>alert(2)</script>",
    'Mozilla/5.0 "><img src=x onerror=alert(2)>',
    "<a href=javascript:alert(2)>x</a>",
    "Mozilla/5.0 <svg onload=alert(2)>",
)
"""User-Agent headers of the same requests (headers may hold spaces)."""

DNS_ZONE = "<svg/onload=alert(3)>.example"
"""The tunnel's registered domain: a wire-valid label (any octets but dots) holding markup."""

DNS_NAMES = tuple(
    f"{chunk}.x-onerror-alert.{DNS_ZONE}"
    for chunk in (
        "4d5a90000300000004000000ffff0000",
        "b800000000000000400000000000a1f3",
        "0e1fba0e00b409cd21b8014ccd215468",
        "69732070726f6772616d2063616e6e6f",
        "742062652072756e20696e20444f5320",
        "6d6f64652e0d0d0a2400000000000000",
        "504500004c0103006a4b9e5c00000000",
        "00000000e0000f010b01023800100000",
        "0010000000000000a012000000100000",
        "00200000000040000010000000020000",
        "c7a2e91f04b3d85a6e0f2b9c17d4e830",
        "5f3a8c2d71e94b06a8d3f21c9e4b7a05",
    )
)
"""Tunnelled chunks under the hostile zone: enough distinct, dense names for ``dnstunnel``."""

_CLIENT_ISN = 1_000
_SERVER_ISN = 50_000


def _tcp(
    src: str, dst: str, ports: tuple[int, int], flags: str, seq: int, ack: int, data: bytes = b""
) -> bytes:
    sport, dport = ports
    segment = TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=64240)
    return bytes(Ether() / IP(src=src, dst=dst) / segment / data)


def http_session(t: float, sport: int, uri: str, agent: str) -> list[Packet]:
    """One GET from the attacker to the web server and its 404, handshake to teardown."""
    request = (
        f"GET {uri} HTTP/1.1\r\nHost: www.police.smx.gov.example\r\n"
        f"User-Agent: {agent}\r\nAccept: */*\r\n\r\n"
    ).encode()
    response = b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found"
    up, down = (sport, 80), (80, sport)
    c, s = _CLIENT_ISN, _SERVER_ISN
    c_end, s_end = c + 1 + len(request), s + 1 + len(response)
    frames = [
        _tcp(WEB_ATTACKER, WEB_SERVER, up, "S", c, 0),
        _tcp(WEB_SERVER, WEB_ATTACKER, down, "SA", s, c + 1),
        _tcp(WEB_ATTACKER, WEB_SERVER, up, "A", c + 1, s + 1),
        _tcp(WEB_ATTACKER, WEB_SERVER, up, "PA", c + 1, s + 1, request),
        _tcp(WEB_SERVER, WEB_ATTACKER, down, "PA", s + 1, c_end, response),
        _tcp(WEB_ATTACKER, WEB_SERVER, up, "FA", c_end, s_end),
        _tcp(WEB_SERVER, WEB_ATTACKER, down, "FA", s_end, c_end + 1),
        _tcp(WEB_ATTACKER, WEB_SERVER, up, "A", c_end + 1, s_end + 1),
    ]
    return [(t + n * 0.01, frame) for n, frame in enumerate(frames)]


def dns_exchange(t: float, txid: int, name: str) -> list[Packet]:
    """A TXT query for ``name`` from the client and the resolver's NXDOMAIN answer."""
    question = DNSQR(qname=name.encode("ascii"), qtype="TXT")
    query = DNS(id=txid, rd=1, qd=question)
    answer = DNS(id=txid, qr=1, rd=1, ra=1, rcode=3, qd=question)
    sport = 40_000 + txid
    frames = [
        Ether() / IP(src=DNS_CLIENT, dst=RESOLVER) / UDP(sport=sport, dport=53) / query,
        Ether() / IP(src=RESOLVER, dst=DNS_CLIENT) / UDP(sport=53, dport=sport) / answer,
    ]
    return [(t + n * 0.005, bytes(frame)) for n, frame in enumerate(frames)]


def write_hostile_capture(path: Path, start: float) -> Path:
    """The hostile requests, then the tunnelled DNS names, as a classic pcap at ``path``."""
    packets: list[Packet] = []
    for n, (uri, agent) in enumerate(zip(URIS, AGENTS, strict=True)):
        packets += http_session(start + n, 51_000 + n, uri, agent)
    for n, name in enumerate(DNS_NAMES):
        packets += dns_exchange(start + 30 + n, n + 1, name)
    return write_pcap(path, _in_time_order(packets))


def _in_time_order(packets: Sequence[Packet]) -> list[Packet]:
    return sorted(packets, key=lambda packet: packet[0])
