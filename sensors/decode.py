"""Vectorised packet decoding: link layer, IPv4/IPv6, TCP/UDP/ICMP headers for a whole batch.

Every step works on numpy arrays of offsets into the batch buffer; a read past a packet's
captured length yields a zero and clears the packet's ``valid`` flag instead of raising, so
truncated and malformed packets are counted, never fatal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sensors.capture import PacketBatch

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
Mask = npt.NDArray[np.bool_]

# Link types (tcpdump.org LINKTYPE_*) the decoder understands.
LINK_NULL, LINK_ETHERNET, LINK_RAW, LINK_LOOP = 0, 1, 101, 108
LINK_SLL, LINK_SLL2, LINK_IPV4, LINK_IPV6 = 113, 276, 228, 229
ETH_IPV4, ETH_IPV6, ETH_ARP, ETH_VLAN, ETH_QINQ = 0x0800, 0x86DD, 0x0806, 0x8100, 0x88A8
PROTO_ICMP, PROTO_TCP, PROTO_UDP, PROTO_ICMPV6 = 1, 6, 17, 58
IPV6_EXTENSIONS = (0, 43, 60)  # hop-by-hop, routing, destination options: skipped over
IPV6_FRAGMENT = 44
IPV4_MAPPED = np.uint64(0xFFFF00000000)


@dataclass(frozen=True)
class Decoded:
    """Per-packet header fields of a batch; rows with ``ip`` False carry no IP fields."""

    ts: npt.NDArray[np.float64]
    wirelen: I64
    ethertype: I64
    vlan: I64
    ip: Mask  # an IPv4 or IPv6 header was read completely
    version: I64
    src_hi: U64
    src_lo: U64
    dst_hi: U64
    dst_lo: U64
    proto: I64
    later_fragment: Mask  # a fragment other than the first: it carries no ports
    sport: I64
    dport: I64
    tcp_flags: I64
    l4_ok: Mask  # the transport header was captured
    l3: I64  # offset of the IP header in the batch buffer
    l4: I64  # offset of the transport header
    payload: I64  # offset of the transport payload (TCP/UDP), -1 when there is none
    payload_len: I64  # captured payload bytes (never past the IP datagram's end)


class _View:
    """Bounds-checked big-endian reads from a batch buffer."""

    def __init__(self, batch: PacketBatch) -> None:
        self.buf = batch.data
        self.end = batch.offset + batch.caplen
        self.size = self.buf.shape[0]

    def fits(self, at: I64, width: int) -> Mask:
        """Whether ``width`` bytes at ``at`` lie inside each packet."""
        return (at >= 0) & (at + width <= self.end)

    def u8(self, at: I64, ok: Mask) -> I64:
        """Read one byte per packet where ``ok`` holds (zero elsewhere)."""
        safe = np.where(ok, at, 0).clip(0, max(self.size - 1, 0))
        out = self.buf[safe].astype(np.int64) if self.size else np.zeros_like(at)
        return np.where(ok, out, 0)

    def u16(self, at: I64, ok: Mask) -> I64:
        """Read a big-endian 16-bit value per packet."""
        return (self.u8(at, ok) << 8) | self.u8(at + 1, ok)

    def u64(self, at: I64, ok: Mask, width: int = 8) -> U64:
        """Read a big-endian integer of ``width`` (at most 8) bytes per packet."""
        out = np.zeros(at.shape[0], dtype=np.uint64)
        for k in range(width):
            out = (out << np.uint64(8)) | self.u8(at + k, ok).astype(np.uint64)
        return out


def decode(batch: PacketBatch) -> Decoded:
    """Decode link, network and transport headers of every packet in ``batch``."""
    view = _View(batch)
    l3, ethertype, vlan = _link_layer(view, batch)
    ip4 = ethertype == ETH_IPV4
    ip6 = ethertype == ETH_IPV6
    f4 = _ipv4(view, l3, ip4 & view.fits(l3, 20))
    f6 = _ipv6(view, l3, ip6 & view.fits(l3, 40))
    is4 = f4["ok"].astype(bool)
    pick = {k: np.where(is4, f4[k], f6[k]) for k in f4}
    ok = is4 | f6["ok"].astype(bool)
    l4 = pick["l4"]
    later = pick["later"].astype(bool)
    proto = pick["proto"]
    sport, dport, flags, l4_ok = _transport(view, l4, proto, ok & ~later)
    payload, payload_len = _payload(view, l4, proto, l4_ok, pick["ip_end"])
    return Decoded(
        ts=batch.ts,
        wirelen=batch.wirelen,
        ethertype=ethertype,
        vlan=vlan,
        ip=ok,
        version=np.where(is4, 4, np.where(ok, 6, 0)),
        src_hi=pick["src_hi"].astype(np.uint64),
        src_lo=pick["src_lo"].astype(np.uint64),
        dst_hi=pick["dst_hi"].astype(np.uint64),
        dst_lo=pick["dst_lo"].astype(np.uint64),
        proto=proto,
        later_fragment=later & ok,
        sport=sport,
        dport=dport,
        tcp_flags=flags,
        l4_ok=l4_ok,
        l3=l3,
        l4=l4,
        payload=payload,
        payload_len=payload_len,
    )


def _link_layer(view: _View, batch: PacketBatch) -> tuple[I64, I64, I64]:
    """Return the network-layer offset, ethertype and outer VLAN id of every packet."""
    off, link = batch.offset, batch.linktype
    ether = link == LINK_ETHERNET
    l3 = np.where(ether, off + 14, off)
    etype = np.where(ether, view.u16(off + 12, ether & view.fits(off, 14)), 0)
    vlan = np.full(off.shape[0], -1, dtype=np.int64)
    for _ in range(2):  # 802.1Q, and QinQ's second tag
        tagged = ether & ((etype == ETH_VLAN) | (etype == ETH_QINQ)) & view.fits(l3, 4)
        vlan = np.where(tagged & (vlan < 0), view.u16(l3, tagged) & 0x0FFF, vlan)
        etype = np.where(tagged, view.u16(l3 + 2, tagged), etype)
        l3 = np.where(tagged, l3 + 4, l3)
    sll = link == LINK_SLL
    etype = np.where(sll, view.u16(off + 14, sll & view.fits(off, 16)), etype)
    l3 = np.where(sll, off + 16, l3)
    sll2 = link == LINK_SLL2
    etype = np.where(sll2, view.u16(off, sll2 & view.fits(off, 20)), etype)
    l3 = np.where(sll2, off + 20, l3)
    etype = _raw_and_loopback(view, link, off, etype)
    l3 = np.where((link == LINK_NULL) | (link == LINK_LOOP), off + 4, l3)
    return l3, etype, vlan


def _raw_and_loopback(view: _View, link: I64, off: I64, etype: I64) -> I64:
    """Infer the ethertype of raw-IP and BSD-loopback packets from the IP version nibble."""
    raw = (link == LINK_RAW) | (link == LINK_IPV4) | (link == LINK_IPV6) | (link == 12)
    loop = (link == LINK_NULL) | (link == LINK_LOOP)
    start = np.where(loop, off + 4, off)
    nibble = view.u8(start, (raw | loop) & view.fits(start, 1)) >> 4
    by_version = np.where(nibble == 4, ETH_IPV4, np.where(nibble == 6, ETH_IPV6, 0))
    return np.where(raw | loop, by_version, etype)


def _ipv4(view: _View, l3: I64, ok: Mask) -> dict[str, I64 | U64]:
    """Read IPv4 headers: addresses (IPv4-mapped), protocol, fragments, transport offset."""
    ihl = (view.u8(l3, ok) & 0x0F) * 4
    ok = ok & (view.u8(l3, ok) >> 4 == 4) & (ihl >= 20)
    frag = view.u16(l3 + 6, ok) & 0x1FFF
    src = view.u64(l3 + 12, ok, 4) | IPV4_MAPPED
    dst = view.u64(l3 + 16, ok, 4) | IPV4_MAPPED
    zero = np.zeros(l3.shape[0], dtype=np.uint64)
    return {
        "ok": ok.astype(np.int64),
        "proto": view.u8(l3 + 9, ok),
        "later": (frag > 0).astype(np.int64),
        "l4": l3 + ihl,
        "ip_end": l3 + view.u16(l3 + 2, ok),
        "src_hi": zero,
        "src_lo": src,
        "dst_hi": zero,
        "dst_lo": dst,
    }


def _ipv6(view: _View, l3: I64, ok: Mask) -> dict[str, I64 | U64]:
    """Read IPv6 headers, walking the extension chain to the transport header."""
    ok = ok & (view.u8(l3, ok) >> 4 == 6)
    nxt = view.u8(l3 + 6, ok)
    l4 = l3 + 40
    later = np.zeros(l3.shape[0], dtype=np.int64)
    for _ in range(4):  # a few extension headers are normal; more is exotic
        ext = ok & np.isin(nxt, IPV6_EXTENSIONS) & view.fits(l4, 8)
        frag = ok & (nxt == IPV6_FRAGMENT) & view.fits(l4, 8)
        later = np.where(frag, (view.u16(l4 + 2, frag) >> 3) > 0, later)
        step = np.where(ext, (view.u8(l4 + 1, ext) + 1) * 8, np.where(frag, 8, 0))
        nxt = np.where(ext | frag, view.u8(l4, ext | frag), nxt)
        l4 = l4 + step
    return {
        "ok": ok.astype(np.int64),
        "proto": nxt,
        "later": later.astype(np.int64),
        "l4": l4,
        "ip_end": l3 + 40 + view.u16(l3 + 4, ok),
        "src_hi": view.u64(l3 + 8, ok),
        "src_lo": view.u64(l3 + 16, ok),
        "dst_hi": view.u64(l3 + 24, ok),
        "dst_lo": view.u64(l3 + 32, ok),
    }


def _transport(view: _View, l4: I64, proto: I64, ok: Mask) -> tuple[I64, I64, I64, Mask]:
    """Read ports (TCP/UDP), flags (TCP) or type/code (ICMP) as sport/dport."""
    ported = ok & ((proto == PROTO_TCP) | (proto == PROTO_UDP)) & view.fits(l4, 4)
    icmp = ok & ((proto == PROTO_ICMP) | (proto == PROTO_ICMPV6)) & view.fits(l4, 2)
    tcp = ok & (proto == PROTO_TCP) & view.fits(l4, 14)
    sport = np.where(ported, view.u16(l4, ported), np.where(icmp, view.u8(l4, icmp), 0))
    dport = np.where(ported, view.u16(l4 + 2, ported), np.where(icmp, view.u8(l4 + 1, icmp), 0))
    flags = view.u8(l4 + 13, tcp)
    l4_ok = np.where(proto == PROTO_TCP, tcp, ported | icmp)
    return sport, dport, flags, l4_ok & ok


def _payload(view: _View, l4: I64, proto: I64, ok: Mask, ip_end: I64) -> tuple[I64, I64]:
    """Offset and captured length of each TCP or UDP payload (-1 and 0 when there is none)."""
    tcp = ok & (proto == PROTO_TCP)
    udp = ok & (proto == PROTO_UDP)
    start = np.where(tcp, l4 + (view.u8(l4 + 12, tcp) >> 4) * 4, l4 + 8)
    # Ethernet pads short frames: the IP length, not the frame, says where data ends.
    end = np.minimum(view.end, np.where(ip_end > l4, ip_end, view.end))
    size = np.where(tcp | udp, np.clip(end - start, 0, None), 0)
    return np.where(size > 0, start, -1), size
