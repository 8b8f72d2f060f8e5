"""A seeded mixed-traffic capture for benchmarks: sessions, DNS, TLS, ICMP, VLAN, IPv6, scans.

Frames are built once per kind with scapy and then copied with fresh addresses and ports, so a
million packets are written in seconds.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Dot1Q, Ether

Frames = list[tuple[bytes, bool]]  # frame bytes, sent by the server
CLIENT_HELLO = (
    bytes.fromhex("16030100400100003c0303")
    + bytes(32)
    + bytes.fromhex("000002130101000011000000090007000004746573740000000000")
)


def _session(ip: Callable[[bool], Any], payloads: int) -> Frames:
    """A TCP session between placeholders: handshake, data both ways, FIN teardown."""
    c, s = ip(True), ip(False)

    def up(flags: str, data: bytes = b"") -> tuple[bytes, bool]:
        return bytes(c / TCP(sport=1, dport=443, flags=flags) / data), False

    def down(flags: str, data: bytes = b"") -> tuple[bytes, bool]:
        return bytes(s / TCP(sport=443, dport=1, flags=flags) / data), True

    out = [up("S"), down("SA"), up("A"), up("PA", CLIENT_HELLO)]
    out += [(down if n % 2 else up)("PA", bytes(200 + 40 * (n % 5))) for n in range(payloads)]
    return [*out, up("FA"), down("FA"), up("A")]


def templates() -> dict[str, tuple[Frames, int]]:
    """Frame lists per traffic kind, with their share of packets (percent)."""
    a4, b4 = IP(src="10.0.0.1", dst="10.0.0.2"), IP(src="10.0.0.2", dst="10.0.0.1")
    a6 = IPv6(src="2001:db8::1", dst="2001:db8::2")
    b6 = IPv6(src="2001:db8::2", dst="2001:db8::1")

    def v4(client: bool) -> Any:
        return Ether() / (a4 if client else b4)

    def vlan(client: bool) -> Any:
        return Ether() / Dot1Q(vlan=120) / (a4 if client else b4)

    def v6(client: bool) -> Any:
        return Ether() / (a6 if client else b6)

    dns = [
        (
            bytes(
                Ether()
                / IP(src="10.0.0.1", dst="10.0.0.2")
                / UDP(sport=1, dport=53)
                / DNS(id=1, qd=DNSQR(qname="www.smx.gov.example"))
            ),
            False,
        ),
        (
            bytes(
                Ether()
                / IP(src="10.0.0.2", dst="10.0.0.1")
                / UDP(sport=53, dport=1)
                / DNS(
                    id=1,
                    qr=1,
                    qd=DNSQR(qname="www.smx.gov.example"),
                    an=DNSRR(rrname="www.smx.gov.example", rdata="10.10.1.10"),
                )
            ),
            True,
        ),
    ]
    icmp = [
        (bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / ICMP(type=8) / bytes(56)), False),
        (bytes(Ether() / IP(src="10.0.0.2", dst="10.0.0.1") / ICMP(type=0) / bytes(56)), True),
    ]
    scan = [
        (
            bytes(
                Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=1, dport=443, flags="S")
            ),
            False,
        ),
        (
            bytes(
                Ether() / IP(src="10.0.0.2", dst="10.0.0.1") / TCP(sport=443, dport=1, flags="RA")
            ),
            True,
        ),
    ]
    return {
        "tcp": (_session(v4, 12), 55),
        "vlan": (_session(vlan, 12), 10),
        "ipv6": (_session(v6, 12), 5),
        "dns": (dns, 15),
        "icmp": (icmp, 5),
        "scan": (scan, 10),
    }


def _patch(frame: bytes, kind: str, client: int, server: int, port: int, reverse: bool) -> bytes:
    """Give a template frame this instance's addresses and client port."""
    b = bytearray(frame)
    if kind == "ipv6":
        b[34:38] = struct.pack(">I", server if reverse else client)  # low 32 bits of source
        b[50:54] = struct.pack(">I", client if reverse else server)  # and of destination
        l4 = 54
    else:
        base = 18 if kind == "vlan" else 14
        b[base + 12 : base + 16] = struct.pack(">I", server if reverse else client)
        b[base + 16 : base + 20] = struct.pack(">I", client if reverse else server)
        l4 = base + 20
    if kind != "icmp":
        at = l4 + 2 if reverse else l4
        b[at : at + 2] = struct.pack(">H", port)
    return bytes(b)


def write_mixed(pcap: Path, pcapng: Path, packets: int, rng: random.Random) -> None:
    """Write ``packets`` packets of mixed traffic as classic pcap and as pcapng."""
    kinds = templates()
    records: list[tuple[float, bytes]] = []
    t = 1_780_000_000.0
    names = list(kinds)
    weights = [share / len(frames) for frames, share in kinds.values()]
    while len(records) < packets:
        kind = rng.choices(names, weights)[0]
        frames = kinds[kind][0]
        client = 0x0A150000 | rng.randrange(1 << 16)
        server = (
            0x0A0A0000 | rng.randrange(1 << 12)
            if kind != "scan"
            else 0x0A0A0300 | rng.randrange(256)
        )
        port = rng.randrange(1024, 65535) if kind != "scan" else rng.randrange(1, 1024)
        if kind == "scan":
            client = 0xCB00712D
        for n, (frame, reverse) in enumerate(frames):
            records.append((t + n * 1e-3, _patch(frame, kind, client, server, port, reverse)))
        t += rng.expovariate(2000.0)
    records = sorted(records[:packets])
    _write_pcap(pcap, records)
    _write_pcapng(pcapng, records)


def _write_pcap(path: Path, records: list[tuple[float, bytes]]) -> None:
    with path.open("wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, data in records:
            sec = int(ts)
            out.write(struct.pack("<IIII", sec, int((ts - sec) * 1e6), len(data), len(data)))
            out.write(data)


def _write_pcapng(path: Path, records: list[tuple[float, bytes]]) -> None:
    def block(kind: int, body: bytes) -> bytes:
        body += b"\0" * (-len(body) % 4)
        return struct.pack("<II", kind, len(body) + 12) + body + struct.pack("<I", len(body) + 12)

    with path.open("wb") as out:
        out.write(block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))
        out.write(block(1, struct.pack("<HHI", 1, 0, 65535)))
        for ts, data in records:
            stamp = int(ts * 1e6)
            head = struct.pack("<IIIII", 0, stamp >> 32, stamp & 0xFFFFFFFF, len(data), len(data))
            out.write(block(6, head + data))
