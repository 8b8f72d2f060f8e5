"""Writers of small capture files for tests, in every variant the readers must accept."""

from __future__ import annotations

import dataclasses
import gzip
import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Dot1Q, Ether

from sensors.capture import PacketBatch
from sensors.decode import Decoded, decode, decode_general

Packet = tuple[float, bytes]


def write_pcap(
    path: Path,
    packets: Sequence[Packet],
    *,
    endian: str = "<",
    nano: bool = False,
    linktype: int = 1,
    snaplen: int = 65535,
    compress: bool = False,
) -> Path:
    """Write a classic pcap; records longer than ``snaplen`` are cut as tcpdump -s would."""
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = [struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)]
    scale = 1_000_000_000 if nano else 1_000_000
    for ts, data in packets:
        sec = int(ts)
        frac = round((ts - sec) * scale)
        kept = data[:snaplen]
        out.append(struct.pack(endian + "IIII", sec, frac, len(kept), len(data)) + kept)
    blob = b"".join(out)
    path.write_bytes(gzip.compress(blob, mtime=0) if compress else blob)
    return path


def _block(kind: int, body: bytes, endian: str) -> bytes:
    body += b"\0" * (-len(body) % 4)
    length = len(body) + 12
    return struct.pack(endian + "II", kind, length) + body + struct.pack(endian + "I", length)


def write_pcapng(
    path: Path,
    packets: Sequence[tuple[int, float, bytes]],
    interfaces: Sequence[tuple[int, int | None]],
    *,
    endian: str = "<",
) -> Path:
    """Write a pcapng: ``interfaces`` are (linktype, if_tsresol byte or None); packets name one."""
    shb = struct.pack(endian + "IHHq", 0x1A2B3C4D, 1, 0, -1)
    blocks = [_block(0x0A0D0D0A, shb, endian)]
    units = []
    for linktype, resol in interfaces:
        options = b""
        if resol is not None:
            options = struct.pack(endian + "HH", 9, 1) + bytes([resol]) + b"\0\0\0"
            options += struct.pack(endian + "HH", 0, 0)
        blocks.append(_block(1, struct.pack(endian + "HHI", linktype, 0, 0) + options, endian))
        units.append(10.0**-resol if resol is not None else 1e-6)
    blocks.append(_block(0x0BAD, b"unknown block kind", endian))
    for iface, ts, data in packets:
        stamp = round(ts / units[iface])
        head = struct.pack(
            endian + "IIIII", iface, stamp >> 32, stamp & 0xFFFFFFFF, len(data), len(data)
        )
        blocks.append(_block(6, head + data, endian))
    path.write_bytes(b"".join(blocks))
    return path


def tcp(src: str, dst: str, sport: int, dport: int, flags: str, payload: bytes = b"") -> bytes:
    """An Ethernet/IPv4/TCP frame."""
    return bytes(
        Ether() / IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags=flags) / payload
    )


def tcp6(src: str, dst: str, sport: int, dport: int, flags: str) -> bytes:
    """An Ethernet/IPv6/TCP frame."""
    return bytes(Ether() / IPv6(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags=flags))


def udp(src: str, dst: str, sport: int, dport: int, payload: bytes = b"x") -> bytes:
    """An Ethernet/IPv4/UDP frame."""
    return bytes(Ether() / IP(src=src, dst=dst) / UDP(sport=sport, dport=dport) / payload)


def icmp(src: str, dst: str, kind: int) -> bytes:
    """An Ethernet/IPv4/ICMP frame of type ``kind``."""
    return bytes(Ether() / IP(src=src, dst=dst) / ICMP(type=kind))


def vlan_tcp(vlan: int, src: str, dst: str, sport: int, dport: int, flags: str) -> bytes:
    """An 802.1Q-tagged Ethernet/IPv4/TCP frame."""
    return bytes(
        Ether()
        / Dot1Q(vlan=vlan)
        / IP(src=src, dst=dst)
        / TCP(sport=sport, dport=dport, flags=flags)
    )


def handshake(t: float, client: str, server: str, sport: int, dport: int) -> list[Packet]:
    """A complete TCP session: handshake, one data segment each way, FIN teardown."""
    frames = [
        tcp(client, server, sport, dport, "S"),
        tcp(server, client, dport, sport, "SA"),
        tcp(client, server, sport, dport, "A"),
        tcp(client, server, sport, dport, "PA", b"hello"),
        tcp(server, client, dport, sport, "PA", b"world!"),
        tcp(client, server, sport, dport, "FA"),
        tcp(server, client, dport, sport, "FA"),
        tcp(client, server, sport, dport, "A"),
    ]
    return [(t + n * 0.01, f) for n, f in enumerate(frames)]


def decoded_both_ways(batch: PacketBatch) -> Decoded:
    """Decode ``batch`` with the fast path and with the general decoder alone, assert every
    field is equal (values and dtype), and return the fast path's result."""
    fast, general = decode(batch), decode_general(batch)
    for field in dataclasses.fields(Decoded):
        ours, reference = getattr(fast, field.name), getattr(general, field.name)
        assert ours.dtype == reference.dtype, field.name
        assert np.array_equal(ours, reference), field.name
    return fast
