"""Seeded, deterministic scapy generator for the NSSA scenario captures.

Builds six classic pcap files (Ethernet link type, microsecond timestamps) of an invented
working day, Monday 2026-11-02 (Asia/Shanghai), on the Sanmenxia government cloud and
extranet (address plan in ``examples/sanmenxia.toml``): one capture of normal traffic and
five attack scenarios. All randomness comes from seeded :class:`random.Random` instances and
every timestamp is computed, so every run writes byte-identical files.

Frames are built with scapy (IP/TCP/UDP/ICMP/DNS layers; checksums and lengths are computed
by scapy). TLS ClientHello/ServerHello and SSH key-exchange messages are assembled with
:mod:`struct` because scapy's TLS layer needs the ``cryptography`` package. Frames shorter
than 60 bytes are zero-padded, as they appear on a switch mirror port.

Usage: ``python pcaps/generate.py [--out DIR]`` (default: the folder holding this script).
The ground truth of every capture is documented in ``pcaps/README.md``.
"""

from __future__ import annotations

import argparse
import base64
import random
import struct
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import formatdate
from pathlib import Path

from scapy.layers.dns import DNS, DNSQR, DNSRR, DNSRRSOA
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw
from scapy.utils import RawPcapWriter

# ----------------------------------------------------------------------------- time

CST = timezone(timedelta(hours=8), "Asia/Shanghai")
DAY = datetime(2026, 11, 2, tzinfo=CST)
US = 1_000_000
MS = 1_000
DELAYED_ACK_US = 40 * MS


def at(hour: int, minute: int, second: float = 0.0) -> int:
    """Return the UTC epoch, in microseconds, of a local Asia/Shanghai time on 2026-11-02."""
    base = int((DAY + timedelta(hours=hour, minutes=minute)).timestamp())
    return base * US + round(second * US)


def local_hour(t_us: int) -> float:
    """Return the local (UTC+8) hour of day of an epoch timestamp in microseconds."""
    return ((t_us // US + 8 * 3600) % 86400) / 3600


def office_time(rng: random.Random, start_us: int, end_us: int) -> int:
    """Draw a time in [start, end] following office activity (quieter over lunch)."""
    while True:
        t_us = rng.randint(start_us, end_us)
        quiet = 12.0 <= local_hour(t_us) < 14.0
        if rng.random() < (0.3 if quiet else 1.0):
            return t_us


# ----------------------------------------------------------------------------- addresses

RESOLVER = "10.10.0.53"
JUMP_HOST = "10.10.1.5"
BASTION = "10.10.1.22"
YJJ_PORTAL = "10.10.3.10"
YJJ_HOST = "yjj.smx.gov.example"
SCANNER = "203.0.113.45"
SWEEP_PREFIX = "10.21.3."
LIVE_HOSTS = ("10.21.3.10", "10.21.3.11", "10.21.3.25")
SCAN_TARGET = "10.21.3.25"
BRUTE_FORCER = "198.51.100.23"
OPS_DESK = "10.20.1.15"
WEB_ATTACKER = "192.0.2.66"
TUNNEL_HOST = "10.24.1.50"
TUNNEL_DOMAIN = "t.cdn-sync.example.net"
BEACON_HOST = "10.25.2.30"
C2_SERVER = "198.51.100.77"
C2_NAME = "update.cloudsvc.example.com"
ADMIN_TARGETS = ("10.10.2.20", "10.10.4.20", "10.10.7.20", "10.10.8.20", "10.10.10.20")

EXTRANET_GW_MAC = "00:00:5e:00:01:14"  # VRRP group 20: extranet core router
BORDER_FW_MAC = "00:00:5e:00:01:01"  # VRRP group 1: Internet border firewall
EXTERNAL_TTL = {SCANNER: 52, BRUTE_FORCER: 49, WEB_ATTACKER: 51, C2_SERVER: 47}
SCANNER_RAW_TTL = 41


def mac_of(ip: str) -> str:
    """Return the MAC seen at the mirror port for frames to or from ``ip``."""
    octets = [int(part) for part in ip.split(".")]
    if octets[:2] == [10, 10]:  # cloud VMs (KVM) are on the mirrored segment
        return f"52:54:00:{octets[1]:02x}:{octets[2]:02x}:{octets[3]:02x}"
    return EXTRANET_GW_MAC if octets[0] == 10 else BORDER_FW_MAC


def ttl_of(ip: str) -> int:
    """Return the IP TTL observed at the sensor for packets sent by ``ip``."""
    if ip in EXTERNAL_TTL:
        return EXTERNAL_TTL[ip]
    if ip.startswith("10.10."):
        return 64  # Linux servers in the cloud, one L2 hop away
    return 126 if ip.startswith("10.") else 50  # Windows desktops behind two routers


# ----------------------------------------------------------------------------- capture


@dataclass
class _Pending:
    t_us: int
    src: str
    dst: str
    l4: Packet
    ttl: int | None
    ip_id: int | None
    df: bool


class Capture:
    """Packets of one scenario, built into Ethernet frames in time order on demand."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self._pending: list[_Pending] = []

    def emit(
        self,
        t_us: int,
        src: str,
        dst: str,
        l4: Packet,
        *,
        ttl: int | None = None,
        ip_id: int | None = None,
        df: bool = True,
    ) -> None:
        """Queue one IPv4 packet carrying ``l4`` from ``src`` to ``dst`` at ``t_us``."""
        self._pending.append(_Pending(t_us, src, dst, l4, ttl, ip_id, df))

    def frames(self) -> list[tuple[int, bytes]]:
        """Return ``(timestamp_us, frame)`` pairs sorted by time (stable for ties)."""
        ip_ids: dict[str, int] = {}
        ordered = sorted(self._pending, key=lambda pending: pending.t_us)
        return [(p.t_us, _build_frame(p, ip_ids)) for p in ordered]


def _next_ip_id(ip_ids: dict[str, int], ip: str) -> int:
    if ip not in ip_ids:
        ip_ids[ip] = random.Random(f"ip-id/{ip}").getrandbits(16)
    ip_ids[ip] = (ip_ids[ip] + 1) & 0xFFFF
    return ip_ids[ip]


def _build_frame(p: _Pending, ip_ids: dict[str, int]) -> bytes:
    ip_id = _next_ip_id(ip_ids, p.src) if p.ip_id is None else p.ip_id
    ttl = ttl_of(p.src) if p.ttl is None else p.ttl
    ip = IP(src=p.src, dst=p.dst, ttl=ttl, id=ip_id, flags="DF" if p.df else 0)
    ip.add_payload(p.l4)
    frame = Ether(src=mac_of(p.src), dst=mac_of(p.dst))
    frame.add_payload(ip)
    layer: Packet = frame
    while layer:  # explicit layers skip scapy's clone-per-build; same bytes, faster
        layer.explicit = 1
        layer = layer.payload
    return bytes(frame).ljust(60, b"\x00")


def write_pcap(path: Path, frames: Sequence[tuple[int, bytes]]) -> None:
    """Write frames to a little-endian classic pcap (Ethernet, microsecond) file."""
    writer = RawPcapWriter(str(path), linktype=1, endianness="<", snaplen=262144)
    try:
        writer.write_header(None)
        for t_us, frame in frames:
            writer.write_packet(frame, sec=t_us // US, usec=t_us % US)
    finally:
        writer.close()


# ----------------------------------------------------------------------------- TCP

TcpOptions = list[tuple[str, object]]
MSS = 1460
WINDOWS_SYN: TcpOptions = [
    ("MSS", 1460),
    ("NOP", None),
    ("WScale", 8),
    ("NOP", None),
    ("NOP", None),
    ("SAckOK", b""),
]
LINUX_SYN: TcpOptions = [
    ("MSS", 1460),
    ("NOP", None),
    ("NOP", None),
    ("SAckOK", b""),
    ("NOP", None),
    ("WScale", 7),
]


@dataclass(frozen=True)
class Stack:
    """TCP behaviour of a client operating system."""

    syn_options: TcpOptions
    window: int


WINDOWS = Stack(WINDOWS_SYN, 1026)
LINUX = Stack(LINUX_SYN, 502)


@dataclass
class _Side:
    ip: str
    port: int
    seq: int
    window: int


class TcpSession:
    """One TCP connection: tracks sequence numbers, delayed ACKs and the session clock."""

    def __init__(
        self,
        cap: Capture,
        client: tuple[str, int],
        server: tuple[str, int],
        start_us: int,
        gap_us: int,
        stack: Stack = WINDOWS,
    ) -> None:
        self.cap = cap
        self.rng = cap.rng
        self.client = _Side(client[0], client[1], self.rng.getrandbits(32), stack.window)
        self.server = _Side(server[0], server[1], self.rng.getrandbits(32), 502)
        self.now = start_us
        self.gap = gap_us
        self.stack = stack
        self._owes_ack: bool | None = None

    def wait(self, delay_us: int) -> None:
        """Advance the session clock."""
        self.now += delay_us

    def segment(
        self, from_client: bool, flags: str, data: bytes = b"", options: TcpOptions | None = None
    ) -> None:
        """Emit one segment with the current sequence/acknowledgement numbers."""
        src, dst = (self.client, self.server) if from_client else (self.server, self.client)
        window = {"S": 64240, "SA": 65160}.get(flags, src.window)
        ack = dst.seq if "A" in flags else 0
        tcp = TCP(sport=src.port, dport=dst.port, seq=src.seq, ack=ack, flags=flags)
        tcp.window, tcp.options = window, options or []
        if data:
            tcp.add_payload(Raw(data))
        self.cap.emit(self.now, src.ip, dst.ip, tcp)
        src.seq = (src.seq + len(data) + ("S" in flags) + ("F" in flags)) & 0xFFFFFFFF

    def open(self) -> None:
        """Three-way handshake."""
        self.segment(True, "S", options=self.stack.syn_options)
        self.wait(self.rng.randint(40, 200))
        self.segment(False, "SA", options=LINUX_SYN)
        self.wait(self.gap)
        self.segment(True, "A")

    def _flush_ack(self, delay_us: int) -> int:
        """Emit a pending delayed ACK if the next segment is late; return the delay left."""
        if self._owes_ack is None or delay_us <= DELAYED_ACK_US:
            return delay_us
        self.wait(DELAYED_ACK_US)
        self.segment(self._owes_ack, "A")
        self._owes_ack = None
        return delay_us - DELAYED_ACK_US

    def send(self, from_client: bool, data: bytes, delay_us: int = 0) -> None:
        """Send ``data`` after ``delay_us`` (a pending delayed ACK goes out first)."""
        self.wait(self._flush_ack(delay_us))
        self._segments(from_client, data)
        self._owes_ack = not from_client

    def _segments(self, from_client: bool, data: bytes) -> None:
        chunks = [data[i : i + MSS] for i in range(0, len(data), MSS)]
        for number, chunk in enumerate(chunks, 1):
            self.segment(from_client, "PA" if number == len(chunks) else "A", chunk)
            if number % 2 == 0 and number < len(chunks):
                self.wait(self.rng.randint(60, 400))
                self.segment(not from_client, "A")
            self.wait(self.rng.randint(15, 120))

    def close(self, from_client: bool = True, delay_us: int = 0) -> None:
        """FIN/ACK teardown started by one side."""
        self.wait(self._flush_ack(delay_us))
        self.segment(from_client, "FA")
        self.wait(self.gap)
        self.segment(not from_client, "FA")
        self.wait(self.gap)
        self.segment(from_client, "A")


def ephemeral_port(rng: random.Random) -> int:
    """Return a client source port from the IANA dynamic range."""
    return rng.randint(49152, 65535)


# ----------------------------------------------------------------------------- DNS

RECORDS: dict[str, tuple[str, str | None]] = {
    "www.smx.gov.example": ("10.10.0.10", "2001:db8:10::10"),
    "zwfw.smx.gov.example": ("10.10.1.10", "2001:db8:10:1::10"),
    "ga.smx.gov.example": ("10.10.2.10", None),
    YJJ_HOST: (YJJ_PORTAL, "2001:db8:10:3::10"),
    "jtj.smx.gov.example": ("10.10.4.10", None),
    "cgj.smx.gov.example": ("10.10.5.10", None),
    "mzj.smx.gov.example": ("10.10.6.10", None),
    "rsj.smx.gov.example": ("10.10.7.10", "2001:db8:10:7::10"),
    "wjw.smx.gov.example": ("10.10.8.10", None),
    "jyj.smx.gov.example": ("10.10.9.10", None),
    "czj.smx.gov.example": ("10.10.10.10", None),
    "zrzyj.smx.gov.example": ("10.10.11.10", None),
    "scjgj.smx.gov.example": ("10.10.12.10", None),
    "sthjj.smx.gov.example": ("10.10.13.10", None),
    "mail.smx.gov.example": ("10.10.0.25", None),
    "oa.smx.gov.example": ("10.10.1.30", None),
    "time.smx.gov.example": ("10.10.0.123", None),
    "www.henan.gov.example": ("203.0.113.80", "2001:db8:feed::80"),
    "mirrors.osrepo.example.org": ("203.0.113.81", "2001:db8:feed::81"),
}
PORTALS = tuple(
    name for name, (v4, _) in RECORDS.items() if v4.startswith("10.10.") and v4.endswith(".10")
)
TYPOS = (
    "www.smx.gvo.example",
    "yjj.smx.gov.exmaple",
    "wwww.smx.gov.example",
    "zwfw.smx.gov.exampel",
    "rsj.smxgov.example",
    "mial.smx.gov.example",
)


def soa_for(qname: str) -> Packet:
    """Return the SOA record a resolver puts in the authority section for ``qname``."""
    if qname.endswith("smx.gov.example"):
        return DNSRRSOA(
            rrname="smx.gov.example", ttl=300, mname="ns1.smx.gov.example",
            rname="hostmaster.smx.gov.example", serial=2026110201, refresh=3600,
            retry=900, expire=604800, minimum=300,
        )  # fmt: skip
    return DNSRRSOA(
        rrname=".", ttl=86400, mname="a.root-servers.net", rname="nstld.verisign-grs.com",
        serial=2026110200, refresh=1800, retry=900, expire=604800, minimum=86400,
    )  # fmt: skip


def benign_answers(rng: random.Random, qname: str, qtype: str) -> tuple[list[Packet], int]:
    """Return ``(answers, rcode)`` for an ordinary lookup against :data:`RECORDS`."""
    if qname not in RECORDS:
        return [], 3
    v4, v6 = RECORDS[qname]
    address = v4 if qtype == "A" else v6
    if address is None:
        return [], 0
    return [DNSRR(rrname=qname, type=qtype, ttl=rng.randint(30, 600), rdata=address)], 0


def dns_exchange(
    cap: Capture,
    t_us: int,
    client: str,
    qname: str,
    qtype: str | int,
    answers: list[Packet],
    rcode: int = 0,
    latency_us: int | None = None,
) -> int:
    """Emit a UDP query to the city resolver and its matching response; return reply time."""
    rng = cap.rng
    qid, port = rng.getrandbits(16), ephemeral_port(rng)
    query = DNS(id=qid, rd=1, qd=DNSQR(qname=qname, qtype=qtype))
    cap.emit(t_us, client, RESOLVER, UDP(sport=port, dport=53) / query, df=False)
    reply = DNS(id=qid, qr=1, rd=1, ra=1, rcode=rcode, qd=DNSQR(qname=qname, qtype=qtype))
    reply.an = answers
    reply.ns = [] if answers else [soa_for(qname)]
    t_reply = t_us + (rng.randint(150, 25_000) if latency_us is None else latency_us)
    cap.emit(t_reply, RESOLVER, client, UDP(sport=53, dport=port) / reply, df=False)
    return t_reply


def lookup(cap: Capture, t_us: int, client: str, qname: str, both: bool = False) -> int:
    """Resolve ``qname`` (A, and AAAA when ``both``); return the time of the last answer."""
    t_end = dns_exchange(cap, t_us, client, qname, "A", *benign_answers(cap.rng, qname, "A"))
    if both:
        t_aaaa = t_us + cap.rng.randint(100, 900)
        answers, rcode = benign_answers(cap.rng, qname, "AAAA")
        t_end = max(t_end, dns_exchange(cap, t_aaaa, client, qname, "AAAA", answers, rcode))
    return t_end


# ----------------------------------------------------------------------------- TLS bytes


def u16(value: int) -> bytes:
    """Big-endian unsigned 16-bit integer."""
    return struct.pack("!H", value)


def u16s(values: Sequence[int]) -> bytes:
    """Concatenated big-endian unsigned 16-bit integers."""
    return b"".join(u16(value) for value in values)


def vec8(data: bytes) -> bytes:
    """Opaque vector with a one-byte length prefix."""
    return bytes([len(data)]) + data


def vec16(data: bytes) -> bytes:
    """Opaque vector with a two-byte length prefix."""
    return u16(len(data)) + data


def tls_record(content_type: int, body: bytes, version: int = 0x0303) -> bytes:
    """TLS record: type, legacy version, length, body."""
    return bytes([content_type]) + u16(version) + vec16(body)


def tls_handshake(msg_type: int, body: bytes) -> bytes:
    """TLS handshake message with its 24-bit length."""
    return bytes([msg_type]) + struct.pack("!I", len(body))[1:] + body


def tls_ext(ext_type: int, body: bytes) -> bytes:
    """TLS extension: type and length-prefixed body."""
    return u16(ext_type) + vec16(body)


@dataclass(frozen=True)
class HelloProfile:
    """Fingerprint-relevant parts of a TLS client (cipher suites, groups, ALPN...)."""

    ciphers: tuple[int, ...]
    groups: tuple[int, ...]
    alpn: tuple[bytes, ...]
    sig_algs: tuple[int, ...]
    versions: tuple[int, ...] = (0x0304, 0x0303)


BROWSER_HELLO = HelloProfile(
    ciphers=(0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC013,
             0xC014, 0x009C, 0x009D, 0x002F, 0x0035),
    groups=(0x001D, 0x0017, 0x0018),
    alpn=(b"h2", b"http/1.1"),
    sig_algs=(0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601),
)  # fmt: skip
IMPLANT_HELLO = HelloProfile(
    ciphers=(0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC009, 0xC013, 0xC00A, 0xC014,
             0x009C, 0x009D, 0x002F, 0x0035, 0x1301, 0x1302, 0x1303),
    groups=(0x001D, 0x0017, 0x0018, 0x0019),
    alpn=(b"http/1.1",),
    sig_algs=(0x0804, 0x0403, 0x0807, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0503, 0x0603),
)  # fmt: skip
CHANGE_CIPHER_SPEC = tls_record(20, b"\x01")


def hello_extensions(rng: random.Random, sni: str, profile: HelloProfile) -> bytes:
    """ClientHello extensions: SNI, groups, ALPN, key_share, supported_versions and more."""
    return b"".join(
        (
            tls_ext(0x0000, vec16(b"\x00" + vec16(sni.encode("ascii")))),
            tls_ext(0x0017, b""),
            tls_ext(0xFF01, b"\x00"),
            tls_ext(0x000A, vec16(u16s(profile.groups))),
            tls_ext(0x000B, vec8(b"\x00")),
            tls_ext(0x0023, b""),
            tls_ext(0x0010, vec16(b"".join(vec8(proto) for proto in profile.alpn))),
            tls_ext(0x0005, b"\x01\x00\x00\x00\x00"),
            tls_ext(0x000D, vec16(u16s(profile.sig_algs))),
            tls_ext(0x0033, vec16(u16(0x001D) + vec16(rng.randbytes(32)))),
            tls_ext(0x002D, vec8(b"\x01")),
            tls_ext(0x002B, vec8(u16s(profile.versions))),
        )
    )


def client_hello(rng: random.Random, sni: str, profile: HelloProfile, session_id: bytes) -> bytes:
    """A complete TLS 1.3 ClientHello record carrying ``sni``."""
    body = u16(0x0303) + rng.randbytes(32) + vec8(session_id)
    body += vec16(u16s(profile.ciphers)) + vec8(b"\x00")
    body += vec16(hello_extensions(rng, sni, profile))
    return tls_record(22, tls_handshake(1, body), version=0x0301)


def server_flight(rng: random.Random, session_id: bytes, cert_len: int) -> bytes:
    """ServerHello, ChangeCipherSpec and the encrypted certificate flight (TLS 1.3)."""
    key_share = tls_ext(0x0033, u16(0x001D) + vec16(rng.randbytes(32)))
    exts = tls_ext(0x002B, u16(0x0304)) + key_share
    body = u16(0x0303) + rng.randbytes(32) + vec8(session_id) + u16(0x1301) + b"\x00"
    hello = tls_record(22, tls_handshake(2, body + vec16(exts)))
    return hello + CHANGE_CIPHER_SPEC + app_data(rng, cert_len)


def app_data(rng: random.Random, length: int) -> bytes:
    """One opaque TLS application-data record of ``length`` ciphertext bytes."""
    return tls_record(23, rng.randbytes(length))


@dataclass
class TlsPlan:
    """Shape of one TLS session: client profile, sizes and timing."""

    hello: HelloProfile
    cert_len: int
    exchanges: list[tuple[int, int]]
    gap_us: int
    idle_us: int
    server_closes: bool = False
    stack: Stack = WINDOWS
    think_us: tuple[int, int] = (5 * MS, 3 * US)


def tls_session(cap: Capture, t_us: int, client: str, server: str, sni: str, plan: TlsPlan) -> int:
    """A full HTTPS connection: handshake, TLS 1.3 handshake, exchanges, close."""
    rng = cap.rng
    s = TcpSession(cap, (client, ephemeral_port(rng)), (server, 443), t_us, plan.gap_us, plan.stack)
    s.open()
    session_id = rng.randbytes(32)
    s.send(True, client_hello(rng, sni, plan.hello, session_id), rng.randint(100, 900))
    s.send(False, server_flight(rng, session_id, plan.cert_len), rng.randint(400, 2500))
    prefix = CHANGE_CIPHER_SPEC + app_data(rng, 53)
    for request, response in plan.exchanges:
        s.send(True, prefix + app_data(rng, request), rng.randint(*plan.think_us))
        s.send(False, app_data(rng, response), rng.randint(1 * MS, 60 * MS))
        prefix = b""
    s.send(not plan.server_closes, app_data(rng, 19), plan.idle_us)
    s.close(from_client=not plan.server_closes)
    return s.now


def cert_len_of(server: str) -> int:
    """Size of a server's encrypted certificate flight (fixed per server)."""
    return random.Random(f"cert/{server}").randint(1300, 2100)


def browse_plan(rng: random.Random) -> TlsPlan:
    """TlsPlan of a person browsing a portal page or two."""
    count = rng.choice((1, 1, 2, 2, 3))
    exchanges = [(rng.randint(320, 900), rng.randint(400, 4000)) for _ in range(count)]
    server_closes = rng.random() < 0.5
    idle = 75 * US if server_closes else rng.randint(2 * US, 40 * US)
    return TlsPlan(BROWSER_HELLO, 0, exchanges, rng.randint(300, 3 * MS), idle, server_closes)


def portal_visit(cap: Capture, t_us: int, client: str) -> int:
    """A desktop resolves a city portal (sometimes) and opens an HTTPS session to it."""
    rng = cap.rng
    name = rng.choice(PORTALS)
    if rng.random() < 0.5:
        t_us = lookup(cap, t_us, client, name, both=rng.random() < 0.4) + rng.randint(200, 900)
    plan = browse_plan(rng)
    plan.cert_len = cert_len_of(RECORDS[name][0])
    return tls_session(cap, t_us, client, RECORDS[name][0], name, plan)


# ----------------------------------------------------------------------------- HTTP

BROWSER_UAS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/86.0.4240.198 Safari/537.36",
)
LINUX_FIREFOX_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SQLMAP_UA = "sqlmap/1.8.4#stable (https://sqlmap.org)"
CURL_UA = "curl/8.5.0"
REASONS = {200: "OK", 403: "Forbidden", 500: "Internal Server Error"}
CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "css": "text/css",
    "js": "application/javascript",
    "text": "text/plain; charset=utf-8",
    "doc": "application/octet-stream",
}
ACCEPT_HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


BROWSER_HEADERS = (
    f"Accept: {ACCEPT_HTML}",
    "Accept-Language: zh-CN,zh;q=0.9,en;q=0.6",
    "Accept-Encoding: gzip, deflate",
)
TOOL_HEADERS = {
    SQLMAP_UA: ("Accept: */*", "Accept-Encoding: gzip,deflate", "Cache-Control: no-cache"),
    CURL_UA: ("Accept: */*",),
}


def http_request(path: str, ua: str, close: bool) -> bytes:
    """An HTTP/1.1 GET for the emergency bureau portal, headers as the client sends them."""
    lines = [f"GET {path} HTTP/1.1", f"Host: {YJJ_HOST}", f"User-Agent: {ua}"]
    lines += TOOL_HEADERS.get(ua, BROWSER_HEADERS)
    lines.append("Connection: close" if close else "Connection: keep-alive")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def http_response(status: int, kind: str, body: bytes, t_us: int, close: bool) -> bytes:
    """An nginx HTTP/1.1 response with a Date header taken from the simulated clock."""
    head = [f"HTTP/1.1 {status} {REASONS[status]}", "Server: nginx"]
    head += [f"Date: {formatdate(t_us // US, usegmt=True)}"]
    head += [f"Content-Type: {CONTENT_TYPES[kind]}", f"Content-Length: {len(body)}"]
    head += ["Connection: close" if close else "Connection: keep-alive"]
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + body


@dataclass(frozen=True)
class WebHit:
    """One request/response pair against the portal, with its ground-truth outcome."""

    path: str
    status: int = 200
    body: str = "page"
    ua: str = LINUX_FIREFOX_UA
    serve_s: float = 0.0


FILLER = "三门峡市应急管理局发布防汛抗旱、安全生产和森林防火工作动态。"


def page_body(rng: random.Random, title: str, size: int) -> bytes:
    """A simple UTF-8 HTML page of roughly ``size`` bytes."""
    head = f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head>"
    paragraphs = [f"<p>{FILLER}（{rng.randint(1, 999)}）</p>" for _ in range(size // 120 + 1)]
    return (head + "<body>" + "".join(paragraphs) + "</body></html>\n").encode("utf-8")


def passwd_body() -> bytes:
    """Contents of a leaked /etc/passwd."""
    users = ["root:x:0:0:root:/root:/bin/bash", "bin:x:1:1:bin:/bin:/sbin/nologin"]
    users += [
        "daemon:x:2:2:daemon:/sbin:/sbin/nologin",
        "nginx:x:997:995::/var/lib/nginx:/sbin/nologin",
    ]
    users += ["mysql:x:27:27:MySQL Server:/var/lib/mysql:/sbin/nologin"]
    users += ["yjjadmin:x:1000:1000::/home/yjjadmin:/bin/bash"]
    return ("\n".join(users) + "\n").encode("ascii")


def dump_body(rng: random.Random) -> bytes:
    """A news page whose content leaks user names and password hashes."""
    rows = [f"<p>{name}</p><p>{rng.randbytes(16).hex()}</p>" for name in ("admin", "yjj", "editor")]
    return ("<html><body><h1>新闻</h1>" + "".join(rows) + "</body></html>\n").encode("utf-8")


def sql_error_body(rng: random.Random) -> bytes:
    """A PHP page leaking a MySQL syntax error."""
    near = rng.choice(("''12'''", "')('\".,(('", "'10-- -'"))
    return (
        "<b>Warning</b>: mysqli_query(): You have an error in your SQL syntax; check the manual "
        f"that corresponds to your MySQL server version for the right syntax to use near {near}"
        " at line 1\n"
    ).encode()


def css_body(rng: random.Random) -> tuple[str, bytes]:
    """The portal style sheet."""
    return "css", b"body{font-family:'Microsoft YaHei';margin:0}\n" * rng.randint(20, 60)


def js_body(rng: random.Random) -> tuple[str, bytes]:
    """The portal script."""
    return "js", b"$(function(){$('.nav li').hover(function(){});});\n" * rng.randint(20, 50)


BODY_MAKERS: dict[str, Callable[[random.Random], tuple[str, bytes]]] = {
    "page": lambda rng: ("html", page_body(rng, "三门峡市应急管理局", rng.randint(1200, 4000))),
    "css": css_body,
    "js": js_body,
    "doc": lambda rng: ("doc", rng.randbytes(rng.randint(3000, 5000))),
    "sqlerror": lambda rng: ("html", sql_error_body(rng)),
    "waf": lambda rng: ("html", page_body(rng, "403 访问被拦截", 300)),
    "error": lambda rng: ("html", b"<html><body><h1>500 Internal Server Error</h1></body></html>"),
    "passwd": lambda rng: ("text", passwd_body()),
    "b64": lambda rng: ("html", base64.b64encode(rng.randbytes(600)) + b"\n"),
    "empty": lambda rng: ("html", page_body(rng, "新闻中心", 200)),
    "all": lambda rng: ("html", page_body(rng, "新闻中心", 14000)),
    "dump": lambda rng: ("html", dump_body(rng)),
}


def http_session(
    cap: Capture, t_us: int, client: str, hits: Sequence[WebHit], stack: Stack = WINDOWS
) -> int:
    """One TCP connection to the portal carrying ``hits``; keep-alive unless a hit closes."""
    rng = cap.rng
    s = TcpSession(cap, (client, ephemeral_port(rng)), (YJJ_PORTAL, 80), t_us, 900, stack)
    s.open()
    tool = hits[0].ua in (SQLMAP_UA, CURL_UA)
    for number, hit in enumerate(hits, 1):
        close = tool and number == len(hits)
        s.send(True, http_request(hit.path, hit.ua, close=close), rng.randint(2 * MS, 1500 * MS))
        kind, body = BODY_MAKERS[hit.body](rng)
        serve = round(hit.serve_s * US) + rng.randint(2 * MS, 40 * MS)
        s.send(False, http_response(hit.status, kind, body, s.now + serve, close), serve)
    if tool:
        s.close(from_client=False)
    else:
        s.close(from_client=False, delay_us=75 * US)
    return s.now


BROWSE_PATHS = (
    "/",
    "/news.php?id=12",
    "/news.php?id=15",
    "/notice.php?id=3",
    "/list.php?cat=2&page=1",
    "/list.php?cat=5&page=2",
    "/news.php?id=9",
)


def yjj_browse(cap: Capture, t_us: int, client: str) -> int:
    """A desktop reads a few pages of the emergency bureau portal over plain HTTP."""
    rng = cap.rng
    if rng.random() < 0.5:
        t_us = lookup(cap, t_us, client, YJJ_HOST) + rng.randint(200, 900)
    ua = rng.choice(BROWSER_UAS)
    hits = [WebHit(path, ua=ua) for path in rng.sample(BROWSE_PATHS, rng.randint(1, 3))]
    return http_session(
        cap, t_us, client, [WebHit("/static/css/main.css", body="css", ua=ua), *hits]
    )


# ----------------------------------------------------------------------------- SSH bytes

SSH_CLIENT_ALGS = (
    "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
    "diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,ext-info-c",
    "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256",
    "chacha20-poly1305@openssh.com,aes128-ctr,aes256-ctr,aes128-gcm@openssh.com",
    "chacha20-poly1305@openssh.com,aes128-ctr,aes256-ctr,aes128-gcm@openssh.com",
    "umac-64-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-256,hmac-sha1",
    "umac-64-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-256,hmac-sha1",
    "none,zlib@openssh.com",
    "none,zlib@openssh.com",
    "",
    "",
)
SSH_SERVER_ALGS = (
    "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,"
    "diffie-hellman-group-exchange-sha256,diffie-hellman-group14-sha256",
    "rsa-sha2-512,rsa-sha2-256,ssh-rsa,ecdsa-sha2-nistp256,ssh-ed25519",
    "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com",
    "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com",
    "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha1",
    "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha1",
    "none,zlib@openssh.com",
    "none,zlib@openssh.com",
    "",
    "",
)


def ssh_string(data: bytes) -> bytes:
    """SSH ``string``: uint32 length and data."""
    return struct.pack("!I", len(data)) + data


def _ssh_padding(length: int) -> int:
    pad = 8 - length % 8
    return pad + 8 if pad < 4 else pad


def ssh_packet(rng: random.Random, payload: bytes) -> bytes:
    """Unencrypted SSH binary packet (RFC 4253 section 6) with random padding."""
    pad = _ssh_padding(len(payload) + 5)
    return struct.pack("!IB", len(payload) + pad + 1, pad) + payload + rng.randbytes(pad)


def ssh_sealed(rng: random.Random, payload_len: int) -> bytes:
    """Opaque chacha20-poly1305 SSH packet that carries ``payload_len`` plaintext bytes."""
    return rng.randbytes(4 + 1 + payload_len + _ssh_padding(payload_len + 1) + 16)


def kexinit(rng: random.Random, algorithms: Sequence[str]) -> bytes:
    """SSH_MSG_KEXINIT with a random cookie and the given name-lists."""
    lists = b"".join(ssh_string(names.encode("ascii")) for names in algorithms)
    return ssh_packet(rng, b"\x14" + rng.randbytes(16) + lists + b"\x00" + bytes(4))


def ecdh_reply(rng: random.Random, host_key: bytes) -> bytes:
    """SSH_MSG_KEX_ECDH_REPLY (ed25519 host key) followed by SSH_MSG_NEWKEYS."""
    blob = ssh_string(b"ssh-ed25519") + ssh_string(host_key)
    signature = ssh_string(b"ssh-ed25519") + ssh_string(rng.randbytes(64))
    body = b"\x1f" + ssh_string(blob) + ssh_string(rng.randbytes(32)) + ssh_string(signature)
    return ssh_packet(rng, body) + ssh_packet(rng, b"\x15")


@dataclass(frozen=True)
class SshPeers:
    """Banners of an SSH client and server plus the server's ed25519 host key."""

    client_banner: bytes
    server_banner: bytes
    host_key: bytes


def ssh_peers(client_banner: str, server_banner: str, server: str) -> SshPeers:
    """SshPeers with a host key that stays the same for every session to ``server``."""
    host_key = random.Random(f"hostkey/{server}").randbytes(32)
    return SshPeers((client_banner + "\r\n").encode(), (server_banner + "\r\n").encode(), host_key)


def ssh_kex(s: TcpSession, peers: SshPeers) -> None:
    """Banners, KEXINIT both ways, curve25519 exchange, NEWKEYS, ssh-userauth service."""
    rng = s.rng
    s.send(False, peers.server_banner, rng.randint(500, 3000))
    s.send(True, peers.client_banner, rng.randint(200, 1500))
    s.send(True, kexinit(rng, SSH_CLIENT_ALGS), rng.randint(50, 400))
    s.send(False, kexinit(rng, SSH_SERVER_ALGS), rng.randint(300, 1500))
    s.send(True, ssh_packet(rng, b"\x1e" + ssh_string(rng.randbytes(32))), rng.randint(300, 2000))
    s.send(False, ecdh_reply(rng, peers.host_key), rng.randint(2 * MS, 8 * MS))
    s.send(True, ssh_packet(rng, b"\x15") + ssh_sealed(rng, 17), rng.randint(500, 2500))
    s.send(False, ssh_sealed(rng, 17), rng.randint(300, 1200))


def ssh_password(s: TcpSession, user: str, password_len: int, accepted: bool) -> None:
    """One password USERAUTH_REQUEST and the server's SUCCESS or (PAM-delayed) FAILURE."""
    s.send(True, ssh_sealed(s.rng, 40 + len(user) + password_len), s.rng.randint(1 * MS, 20 * MS))
    if accepted:
        s.send(False, ssh_sealed(s.rng, 1), s.rng.randint(20 * MS, 90 * MS))
    else:
        s.send(False, ssh_sealed(s.rng, 53), s.rng.randint(1900 * MS, 2400 * MS))


def ssh_keystrokes(s: TcpSession, text: str, think_us: int) -> None:
    """Type ``text`` one key per packet; the server echoes each key."""
    for number, _ in enumerate(text):
        delay = think_us if number == 0 else s.rng.randint(70 * MS, 260 * MS)
        s.send(True, ssh_sealed(s.rng, 10), delay)
        s.send(False, ssh_sealed(s.rng, 10), s.rng.randint(300, 1500))


def ssh_shell(s: TcpSession, commands: Sequence[tuple[str, int]], think: tuple[int, int]) -> None:
    """Open a session channel with a pty and shell, run ``commands``, log out, close."""
    rng = s.rng
    for request, reply in ((40, 20), (120, 10), (60, 10)):
        s.send(True, ssh_sealed(rng, request), rng.randint(2 * MS, 20 * MS))
        s.send(False, ssh_sealed(rng, reply), rng.randint(500, 5 * MS))
    s.send(False, ssh_sealed(rng, rng.randint(300, 700)), rng.randint(20 * MS, 90 * MS))
    for command, output_len in [*commands, ("exit", 90)]:
        ssh_keystrokes(s, command, rng.randint(*think))
        s.send(True, ssh_sealed(rng, 10), rng.randint(80 * MS, 300 * MS))
        s.send(False, ssh_sealed(rng, output_len + 40), rng.randint(2 * MS, 300 * MS))
    s.send(True, ssh_sealed(rng, 60), rng.randint(300, 2 * MS))
    s.close(from_client=True, delay_us=rng.randint(300, 2 * MS))


ADMIN_COMMANDS = (
    ("uptime", 80),
    ("df -h", 700),
    ("free -m", 300),
    ("systemctl status nginx", 1400),
    ("tail -n 50 /var/log/messages", 5200),
    ("top -bn1 | head -20", 1800),
    ("ss -lntp", 900),
)


def admin_ssh(cap: Capture, t_us: int, client: str, server: str, peers: SshPeers) -> int:
    """An operator logs in with a password, runs a few checks and logs out."""
    rng = cap.rng
    s = TcpSession(cap, (client, ephemeral_port(rng)), (server, 22), t_us, 400, LINUX)
    s.open()
    ssh_kex(s, peers)
    ssh_password(s, "ops", rng.randint(10, 16), accepted=True)
    commands = rng.sample(ADMIN_COMMANDS, rng.randint(2, 4))
    ssh_shell(s, commands, (3 * US, 20 * US))
    return s.now


def jump_host_ssh(cap: Capture, t_us: int) -> int:
    """The ops jump host administers one of the cloud servers."""
    server = cap.rng.choice(ADMIN_TARGETS)
    peers = ssh_peers("SSH-2.0-OpenSSH_8.0", "SSH-2.0-OpenSSH_8.0", server)
    return admin_ssh(cap, t_us, JUMP_HOST, server, peers)


# ----------------------------------------------------------------------------- background


def client_pool(rng: random.Random, size: int) -> list[str]:
    """Desktop addresses spread over the extranet (10.20) and the districts and counties."""
    units = range(20, 29)
    return [
        f"10.{rng.choice(units)}.{rng.randint(1, 12)}.{rng.randint(20, 240)}" for _ in range(size)
    ]


def random_lookup(cap: Capture, t_us: int, client: str) -> int:
    """An everyday lookup; about one in thirty is a mistyped name (NXDOMAIN)."""
    rng = cap.rng
    name = rng.choice(TYPOS) if rng.random() < 0.035 else rng.choice(list(RECORDS))
    return lookup(cap, t_us, client, name, both=rng.random() < 0.4)


@dataclass
class Background:
    """How much normal traffic to add to a capture, and over which time range."""

    start_us: int
    end_us: int
    dns: int = 0
    https: int = 0
    http: int = 0
    ssh: int = 0
    pool: list[str] = field(default_factory=list)


def add_background(cap: Capture, bg: Background) -> None:
    """Add normal DNS, HTTPS, HTTP and admin SSH traffic from the city's desktops."""
    rng = cap.rng
    pool = bg.pool or client_pool(rng, 160)
    latest = bg.end_us - 3 * 60 * US
    for _ in range(bg.dns):
        random_lookup(cap, office_time(rng, bg.start_us, latest), rng.choice(pool))
    for _ in range(bg.https):
        portal_visit(cap, office_time(rng, bg.start_us, latest), rng.choice(pool))
    for _ in range(bg.http):
        yjj_browse(cap, office_time(rng, bg.start_us, latest), rng.choice(pool))
    for _ in range(bg.ssh):
        jump_host_ssh(cap, office_time(rng, bg.start_us, bg.end_us - 30 * 60 * US))


def build_background(cap: Capture) -> None:
    """background.pcap: a normal working day, 08:30-18:00 local, no attacks."""
    add_background(cap, Background(at(8, 30), at(18, 0), dns=300, https=100, http=35, ssh=5))


# ----------------------------------------------------------------------------- recon scan

TOP_PORTS = (
    80, 23, 443, 21, 22, 25, 3389, 110, 445, 139, 143, 53, 135, 3306, 8080, 1723, 111, 995,
    993, 5900, 1025, 587, 8888, 199, 1720, 465, 548, 113, 81, 6001, 10000, 514, 5060, 179,
    1026, 2000, 8443, 8000, 32768, 554, 26, 1433, 49152, 2001, 515, 8008, 49154, 1027, 5666,
    646, 5000, 5631, 631, 49153, 8081, 2049, 88, 79, 5800, 106, 2121, 1110, 49155, 6000, 513,
    990, 5357, 427, 49156, 543, 544, 5101, 144, 7, 389, 8009, 3128, 444, 9999, 5009, 7070,
    5190, 3000, 5432, 1900, 3986, 13, 1029, 9, 5051, 6646, 49157, 1028, 873, 1755, 2717, 4899,
    9100, 119, 37, 1000, 3001, 5001, 82, 10010, 1030, 9090, 2107, 1024, 2103, 6004, 1801,
    5050, 19, 8031, 1041, 255, 1048, 1049, 1053, 1054, 1056, 1064, 1065, 2967, 3703, 17, 808,
    3689, 1031, 1044, 1071, 5901, 100, 9102, 1039, 2869, 4001, 5120, 8010, 9000, 2105, 636,
    1038, 2601, 1, 7000, 1066, 1069, 625, 311, 280, 254, 4000, 1761, 5003, 2002, 1998, 2005,
    1032, 1050, 6112, 3690, 1521, 2161, 1080, 6002, 2401, 4045, 902, 7937, 787, 1058, 2383,
    32771, 1033, 1040, 1059, 50000, 5555, 10001, 1494, 3, 593, 2301, 3268, 7938, 1022, 1234,
    1035, 1036, 1037, 1074, 8002, 9001, 464, 497, 1935, 2003, 6666,
)  # fmt: skip
OPEN_PORTS = frozenset({22, 80, 443, 3389})
FILTERED_PORTS = frozenset({135, 139, 445, 1433})


def ping_sweep(cap: Capture, t_us: int) -> int:
    """ICMP echo to every address of 10.21.3.0/24; the live hosts answer."""
    rng = cap.rng
    icmp_id = rng.getrandbits(16)
    for host in range(1, 255):
        dst = f"{SWEEP_PREFIX}{host}"
        probe = ICMP(type=8, id=icmp_id, seq=0)
        cap.emit(
            t_us, SCANNER, dst, probe, ttl=SCANNER_RAW_TTL, ip_id=rng.getrandbits(16), df=False
        )
        if dst in LIVE_HOSTS:
            cap.emit(
                t_us + rng.randint(900, 4000), dst, SCANNER, ICMP(type=0, id=icmp_id), df=False
            )
        t_us += rng.randint(2 * MS, 6 * MS)
    return t_us


def syn_probe(cap: Capture, t_us: int, sport: int, port: int) -> None:
    """One half-open probe and whatever the target (or the scanner's kernel) answers."""
    rng = cap.rng
    seq = rng.getrandbits(32)
    tries = 2 if port in FILTERED_PORTS else 1
    for attempt in range(tries):
        syn = TCP(sport=sport, dport=port, seq=seq, flags="S", window=1024, options=[("MSS", 1460)])
        when = t_us + attempt * rng.randint(1000 * MS, 1200 * MS)
        cap.emit(
            when,
            SCANNER,
            SCAN_TARGET,
            syn,
            ttl=SCANNER_RAW_TTL,
            ip_id=rng.getrandbits(16),
            df=False,
        )
    if port not in FILTERED_PORTS:
        probe_answer(cap, t_us + rng.randint(700, 3000), sport, port, seq)


def probe_answer(cap: Capture, t_us: int, sport: int, port: int, seq: int) -> None:
    """SYN-ACK then the scanner's RST for an open port; RST-ACK for a closed one."""
    ack = (seq + 1) & 0xFFFFFFFF
    if port not in OPEN_PORTS:
        rst = TCP(sport=port, dport=sport, seq=0, ack=ack, flags="RA", window=0)
        cap.emit(t_us, SCAN_TARGET, SCANNER, rst)
        return
    isn = cap.rng.getrandbits(32)
    syn_ack = TCP(sport=port, dport=sport, seq=isn, ack=ack, flags="SA", window=65535)
    syn_ack.options = [("MSS", 1460)]
    cap.emit(t_us, SCAN_TARGET, SCANNER, syn_ack)
    reset = TCP(sport=sport, dport=port, seq=ack, flags="R", window=0)
    cap.emit(t_us + cap.rng.randint(20_000, 60_000), SCANNER, SCAN_TARGET, reset, ip_id=0, df=False)


def syn_scan(cap: Capture, t_us: int) -> int:
    """SYN scan of the target over :data:`TOP_PORTS` in a seeded random order."""
    rng = cap.rng
    ports = list(TOP_PORTS)
    rng.shuffle(ports)
    sport = ephemeral_port(rng)
    for port in ports:
        syn_probe(cap, t_us, sport, port)
        t_us += rng.randint(3 * MS, 12 * MS)
    return t_us


def build_recon_scan(cap: Capture) -> None:
    """recon_scan.pcap: ICMP sweep of 10.21.3.0/24 then a SYN scan of 10.21.3.25."""
    add_background(cap, Background(at(10, 10), at(10, 25), dns=40, https=8, http=2))
    t_us = ping_sweep(cap, at(10, 12, 3.0))
    syn_scan(cap, t_us + 6 * US)


# ----------------------------------------------------------------------------- SSH brute force

LIBSSH_BANNER = "SSH-2.0-libssh_0.9.6"
BASTION_BANNER = "SSH-2.0-OpenSSH_7.4"
BRUTE_USERS = ("root", "admin", "root", "ops", "root", "smxadmin")
ATTACKER_COMMANDS = (
    ("id", 60),
    ("uname -a", 120),
    ("w", 260),
    ("cat /etc/passwd", 2100),
    ("ls -la /opt/app", 900),
    ("cat /opt/app/conf/db.properties", 650),
    ("ps aux", 9000),
    ("netstat -antp", 4200),
    ("crontab -l", 120),
    ("history -c", 40),
)


def failed_ssh_session(cap: Capture, t_us: int, user: str) -> int:
    """A brute-force connection: key exchange, three rejected passwords, disconnect."""
    rng = cap.rng
    s = TcpSession(cap, (BRUTE_FORCER, ephemeral_port(rng)), (BASTION, 22), t_us, 38 * MS, LINUX)
    s.open()
    ssh_kex(s, ssh_peers(LIBSSH_BANNER, BASTION_BANNER, BASTION))
    for _ in range(3):
        ssh_password(s, user, rng.randint(6, 12), accepted=False)
    s.send(True, ssh_sealed(rng, 30), rng.randint(1 * MS, 5 * MS))
    s.close(from_client=True, delay_us=rng.randint(300, 900))
    return s.now


def attacker_shell(cap: Capture, t_us: int) -> int:
    """The attacker logs in with the guessed password and works in an interactive shell."""
    rng = cap.rng
    s = TcpSession(cap, (BRUTE_FORCER, ephemeral_port(rng)), (BASTION, 22), t_us, 38 * MS, LINUX)
    s.open()
    ssh_kex(s, ssh_peers("SSH-2.0-OpenSSH_9.6p1 Debian-4", BASTION_BANNER, BASTION))
    ssh_password(s, "root", 11, accepted=True)
    ssh_shell(s, ATTACKER_COMMANDS, (8 * US, 40 * US))
    return s.now


def build_ssh_bruteforce(cap: Capture) -> None:
    """ssh_bruteforce.pcap: 40 failed SSH sessions, then one long interactive session."""
    rng = cap.rng
    add_background(cap, Background(at(14, 0), at(14, 30), dns=30, https=6))
    t_us = at(14, 2, 10.0)
    for number in range(40):
        t_us = failed_ssh_session(cap, t_us, BRUTE_USERS[number % len(BRUTE_USERS)])
        t_us += rng.randint(500 * MS, 2500 * MS)
    attacker_shell(cap, t_us + 20 * US)
    desk = ssh_peers("SSH-2.0-OpenSSH_for_Windows_8.1", BASTION_BANNER, BASTION)
    admin_ssh(cap, at(14, 21, 5.0), OPS_DESK, BASTION, desk)


# ----------------------------------------------------------------------------- web attack

NORMAL_VISIT = (
    WebHit("/"),
    WebHit("/static/css/main.css", body="css"),
    WebHit("/static/js/app.js", body="js"),
    WebHit("/news.php?id=12"),
    WebHit("/news.php?id=15"),
    WebHit("/notice.php?id=3"),
    WebHit("/download.php?file=yjya-2026.doc", body="doc"),
)
MANUAL_SQLI = (
    WebHit("/news.php?id=12%27", 500, "sqlerror"),
    WebHit("/news.php?id=1%27%20OR%20%271%27%3D%271", 200, "all"),
)
SQLMAP_RUN = (
    WebHit("/news.php?id=12", ua=SQLMAP_UA),
    WebHit("/news.php?id=12%29%28%27%22.%2C%28%28", 500, "sqlerror", SQLMAP_UA),
    WebHit("/news.php?id=12%20AND%201%3D1", ua=SQLMAP_UA),
    WebHit("/news.php?id=12%20AND%201%3D2", 200, "empty", SQLMAP_UA),
    WebHit("/news.php?id=12%27%20AND%20SLEEP%285%29--%20-", ua=SQLMAP_UA, serve_s=5.0),
    WebHit("/news.php?id=12%20ORDER%20BY%2010--%20-", 500, "sqlerror", SQLMAP_UA),
    WebHit("/news.php?id=12%20ORDER%20BY%202--%20-", ua=SQLMAP_UA),
    WebHit(
        "/news.php?id=-1%20UNION%20SELECT%20username,password%20FROM%20users--",
        403,
        "waf",
        SQLMAP_UA,
    ),
    WebHit(
        "/news.php?id=-1%20UNION%20ALL%20SELECT%20NULL%2CCONCAT%28username%2C0x3a%2Cpassword"
        "%29%20FROM%20users--%20-",
        403,
        "waf",
        SQLMAP_UA,
    ),
    WebHit(
        "/news.php?id=-1%20uNiOn/**/sElEcT%20username,password%20FrOm%20users--%20-",
        200,
        "dump",
        SQLMAP_UA,
    ),
)
TRAVERSAL = (
    WebHit("/download.php?file=../../../../etc/passwd", 403, "waf", CURL_UA),
    WebHit("/download.php?file=..%2f..%2f..%2f..%2fetc%2fpasswd", 200, "passwd", CURL_UA),
    WebHit(
        "/download.php?file=%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        200,
        "passwd",
        CURL_UA,
    ),
    WebHit("/download.php?file=..%252f..%252f..%252f..%252fetc%252fshadow", 500, "error", CURL_UA),
    WebHit("/download.php?file=....//....//....//....//etc/hosts", 403, "waf", CURL_UA),
    WebHit("/download.php?file=/etc/passwd%00.pdf", 403, "waf", CURL_UA),
    WebHit("/download.php?file=..%5c..%5c..%5c..%5cwindows%5cwin.ini", 500, "error", CURL_UA),
    WebHit(
        "/index.php?page=php://filter/convert.base64-encode/resource=config", 200, "b64", CURL_UA
    ),
)


def one_per_connection(
    cap: Capture, t_us: int, hits: Sequence[WebHit], gap: tuple[int, int]
) -> int:
    """Send each hit on its own connection (``Connection: close``), ``gap`` apart."""
    for hit in hits:
        t_us = http_session(cap, t_us, WEB_ATTACKER, [hit], LINUX) + cap.rng.randint(*gap)
    return t_us


def build_web_attack(cap: Capture) -> None:
    """web_attack.pcap: normal browsing, then SQL injection and path traversal."""
    rng = cap.rng
    add_background(cap, Background(at(15, 28), at(15, 50), dns=30, https=6, http=4))
    t_us = lookup(cap, at(15, 30, 4.0), WEB_ATTACKER, YJJ_HOST)
    http_session(cap, t_us + 700, WEB_ATTACKER, NORMAL_VISIT[:3], LINUX)
    http_session(cap, at(15, 31, 20.0), WEB_ATTACKER, NORMAL_VISIT[3:], LINUX)
    http_session(cap, at(15, 34, 12.0), WEB_ATTACKER, MANUAL_SQLI, LINUX)
    t_us = one_per_connection(cap, at(15, 36, 2.0), SQLMAP_RUN, (150 * MS, 1200 * MS))
    one_per_connection(cap, t_us + rng.randint(240 * US, 300 * US), TRAVERSAL, (3 * US, 12 * US))


# ----------------------------------------------------------------------------- DNS tunnel


def tunnel_label(rng: random.Random) -> str:
    """40-60 lower-case base32 characters of (random) exfiltrated data."""
    return base64.b32encode(rng.randbytes(rng.randint(25, 37))).decode("ascii").rstrip("=").lower()


def tunnel_answer(rng: random.Random, qname: str, qtype: int) -> Packet:
    """The tunnel server's answer: base64 TXT, raw NULL data or a base32 CNAME."""
    if qtype == 16:
        text = base64.b64encode(rng.randbytes(rng.randint(60, 180)))
        return DNSRR(rrname=qname, type="TXT", ttl=0, rdata=[text])
    if qtype == 10:
        return DNSRR(rrname=qname, type=10, ttl=0, rdata=rng.randbytes(rng.randint(80, 160)))
    return DNSRR(rrname=qname, type="CNAME", ttl=0, rdata=f"{tunnel_label(rng)}.{TUNNEL_DOMAIN}")


def tunnel_query(cap: Capture, t_us: int, seq: int) -> None:
    """One tunnelled chunk: a mostly-TXT query answered through the resolver."""
    rng = cap.rng
    roll = rng.random()
    qtype = 16 if roll < 0.84 else (10 if roll < 0.94 else 5)
    qname = f"{tunnel_label(rng)}.{seq}.{TUNNEL_DOMAIN}"
    answer = tunnel_answer(rng, qname, qtype)
    dns_exchange(
        cap, t_us, TUNNEL_HOST, qname, qtype, [answer], latency_us=rng.randint(40 * MS, 180 * MS)
    )


def build_dns_tunnel(cap: Capture) -> None:
    """dns_tunnel.pcap: 300 tunnel queries over ~20 minutes from 10.24.1.50."""
    rng = cap.rng
    add_background(cap, Background(at(11, 0), at(11, 25), dns=40, https=6))
    own = Background(at(11, 0), at(11, 25), dns=12, https=2, pool=[TUNNEL_HOST])
    add_background(cap, own)
    t_us = at(11, 2, 0.0)
    for seq in range(300):
        tunnel_query(cap, t_us, seq)
        t_us += rng.randint(2500 * MS, 5500 * MS)


# ----------------------------------------------------------------------------- HTTPS beacon


def beacon_plan(rng: random.Random) -> TlsPlan:
    """The implant's check-in: same certificate, near-constant request/response sizes."""
    exchange = (rng.randint(228, 252), rng.randint(118, 142))
    plan = TlsPlan(IMPLANT_HELLO, 1530, [exchange], rng.randint(36 * MS, 44 * MS), 0)
    plan.idle_us = rng.randint(150 * MS, 400 * MS)
    plan.think_us = (1 * MS, 4 * MS)
    return plan


def c2_lookup(cap: Capture, t_us: int) -> int:
    """The beaconing host resolves the C2 name (TTL 300 s)."""
    answer = DNSRR(rrname=C2_NAME, type="A", ttl=300, rdata=C2_SERVER)
    return dns_exchange(cap, t_us, BEACON_HOST, C2_NAME, "A", [answer], latency_us=85 * MS)


def build_https_beacon(cap: Capture) -> None:
    """https_beacon.pcap: 120 TLS check-ins to 198.51.100.77 every 60 s +/- 10 %."""
    rng = cap.rng
    add_background(cap, Background(at(9, 0), at(11, 10), dns=40, https=8, http=2))
    add_background(cap, Background(at(9, 0), at(11, 10), dns=8, https=4, pool=[BEACON_HOST]))
    t_us, cache_until = at(9, 0, 17.0), 0
    for _ in range(120):
        start = t_us
        if start >= cache_until:
            start = c2_lookup(cap, t_us) + rng.randint(300, 900)
            cache_until = start + 300 * US
        tls_session(cap, start, BEACON_HOST, C2_SERVER, C2_NAME, beacon_plan(rng))
        t_us += rng.randint(54 * US, 66 * US)


# ----------------------------------------------------------------------------- driver


@dataclass(frozen=True)
class Scenario:
    """One capture file: its name, seed, builder and documented local time window."""

    filename: str
    seed: int
    build: Callable[[Capture], None]
    start_us: int
    end_us: int


SCENARIOS = (
    Scenario("background.pcap", 2026110201, build_background, at(8, 30), at(18, 0)),
    Scenario("recon_scan.pcap", 2026110202, build_recon_scan, at(10, 10), at(10, 25)),
    Scenario("ssh_bruteforce.pcap", 2026110203, build_ssh_bruteforce, at(14, 0), at(14, 30)),
    Scenario("web_attack.pcap", 2026110204, build_web_attack, at(15, 28), at(15, 50)),
    Scenario("dns_tunnel.pcap", 2026110205, build_dns_tunnel, at(11, 0), at(11, 25)),
    Scenario("https_beacon.pcap", 2026110206, build_https_beacon, at(9, 0), at(11, 10)),
)


def render(scenario: Scenario) -> list[tuple[int, bytes]]:
    """Build a scenario's frames and check they stay inside its documented window."""
    cap = Capture(scenario.seed)
    scenario.build(cap)
    frames = cap.frames()
    if frames[0][0] < scenario.start_us or frames[-1][0] > scenario.end_us:
        raise ValueError(f"{scenario.filename}: packets outside the documented window")
    return frames


def generate(out_dir: Path) -> list[tuple[str, int, int]]:
    """Write every capture into ``out_dir``; return ``(filename, packets, bytes)`` rows."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, int, int]] = []
    for scenario in SCENARIOS:
        frames = render(scenario)
        path = out_dir / scenario.filename
        write_pcap(path, frames)
        rows.append((scenario.filename, len(frames), path.stat().st_size))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Generate the NSSA scenario captures.")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args(argv)
    rows = generate(args.out)
    packets, size = sum(row[1] for row in rows), sum(row[2] for row in rows)
    sys.stdout.write(f"wrote {len(rows)} captures, {packets} packets, {size} bytes to {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
