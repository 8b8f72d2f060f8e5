"""Vectorised packet decoding: link layer, tunnels, IPv4/IPv6, TCP/UDP/ICMP and ARP headers.

Every step works on numpy arrays of offsets into the batch buffer (no per-packet Python). A
read past a packet's captured length yields zero and clears that packet's validity mask, so
truncated and malformed packets are counted downstream, never fatal. Encapsulated mirror
traffic (GRE, ERSPAN, VXLAN) is decoded again from the inner packet, keeping the tunnel as the
observation point; ICMP errors expose the 5-tuple they quote.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from sensors.capture import PacketBatch
from sensors.decoded import (
    ICMP_ERRORS,
    IPV4_MAPPED,
    PROTO_ARP,
    PROTO_ICMP,
    PROTO_ICMPV6,
    PROTO_TCP,
    PROTO_UDP,
    Decoded,
    Network,
)
from sensors.fastpath import decode_plain, merge, subset
from sensors.linklayer import ETH_ARP, ETH_IPV4, ETH_IPV6, by_version, ethernet, link_layer
from sensors.tunnels import Tunnel, find_inner
from sensors.view import I64, U64, ByteView, Mask

__all__ = [
    "PROTO_ARP",
    "PROTO_ICMP",
    "PROTO_ICMPV6",
    "PROTO_TCP",
    "PROTO_UDP",
    "Decoded",
    "Network",
    "decode",
    "decode_general",
    "network",
]
IPV6_EXTENSIONS = (0, 43, 60)  # hop-by-hop, routing, destination options: skipped over
IPV6_FRAGMENT = 44
IPV6_AUTH = 51  # IPsec AH: skipped over to reach the protected transport header
ICMPV6_ERRORS = (1, 2, 3, 4)  # unreachable, packet too big, time exceeded, parameter problem
MAX_NESTING = 2  # tunnels inside tunnels peeled; deeper nesting is analysed as the outer packet


def decode(batch: PacketBatch) -> Decoded:
    """Decode every packet of ``batch``, through tunnels, down to its transport header.

    The common shapes (Ethernet with at most one VLAN tag; IPv4 without options carrying TCP,
    UDP or ICMP; IPv6 without extension headers carrying TCP or UDP) are decoded in one
    compiled pass (``sensors.fastpath``); every other packet goes through the general layered
    decoder.
    """
    plain = decode_plain(batch)
    if plain is None:
        return decode_general(batch)
    rows, fast = plain
    if rows.all():
        return fast
    rest = np.flatnonzero(~rows)
    general = decode_general(subset(batch, rest))
    return merge(fast, general, rest)


def decode_general(batch: PacketBatch) -> Decoded:
    """The layered decoder: link layers, tunnels, IPv4/IPv6 with options and extensions."""
    view = ByteView(batch.data, batch.offset + batch.caplen)
    l3, etype, vlan = link_layer(view, batch.offset, batch.linktype)
    if batch.vlan is not None:  # live capture: the kernel moved the outer tag to metadata
        vlan = np.where(batch.vlan >= 0, batch.vlan, vlan)
    net = network(view, l3, etype)
    n = l3.shape[0]
    tunnel, tunnel_id = np.zeros(n, dtype=np.int64), np.full(n, -1, dtype=np.int64)
    outer = [np.zeros(n, dtype=np.uint64) for _ in range(4)]
    for _ in range(MAX_NESTING):
        inner = find_inner(view, net.l4, net.proto, net.dport, net.ip & ~net.later_fragment)
        if not inner.found.any():
            break
        first = inner.found & (tunnel == Tunnel.NONE)
        for k, name in enumerate(("src_hi", "src_lo", "dst_hi", "dst_lo")):
            outer[k] = np.where(first, getattr(net, name), outer[k])
        tunnel = np.where(first, inner.kind, tunnel)
        tunnel_id = np.where(first, inner.ident, tunnel_id)
        i_l3, i_etype, i_vlan = ethernet(view, inner.offset, inner.found & inner.ethernet)
        as_ip = inner.found & ~inner.ethernet
        i_l3 = np.where(as_ip, inner.offset, i_l3)
        i_etype = np.where(as_ip, by_version(view, inner.offset, as_ip), i_etype)
        net = _choose(inner.found, network(view, i_l3, i_etype), net)
        etype = np.where(inner.found, i_etype, etype)
        vlan = np.where(inner.found & (vlan < 0), i_vlan, vlan)
    payload, payload_len = _payload(view, net)
    quoted = _quoted(view, net)
    return Decoded(
        **{f.name: getattr(net, f.name) for f in dataclasses.fields(Network)},
        ts=batch.ts,
        wirelen=batch.wirelen,
        ethertype=etype,
        vlan=vlan,
        payload=payload,
        payload_len=payload_len,
        tunnel=tunnel,
        tunnel_id=tunnel_id,
        outer_src_hi=outer[0],
        outer_src_lo=outer[1],
        outer_dst_hi=outer[2],
        outer_dst_lo=outer[3],
        **quoted,
    )


def network(view: ByteView, l3: I64, etype: I64) -> Network:
    """Decode the IPv4, IPv6 or ARP header at ``l3`` and the transport header after it."""
    want4 = (etype == ETH_IPV4) & view.fits(l3, 20)
    want6 = (etype == ETH_IPV6) & view.fits(l3, 40)
    f4 = _ipv4(view, l3, want4)
    is4 = f4["ok"].astype(bool)
    if want6.any():  # most extranet links carry little IPv6: skip the work when there is none
        f6 = _ipv6(view, l3, want6)
        pick = {k: np.where(is4, f4[k], f6[k]) for k in f4}
        ok = is4 | f6["ok"].astype(bool)
    else:
        pick, ok = f4, is4
    later = pick["later"].astype(bool) & ok
    proto, l4 = pick["proto"], pick["l4"]
    sport, dport, flags, l4_ok = _transport(view, l4, proto, ok & ~later)
    net = Network(
        ip=ok,
        arp=np.zeros(l3.shape[0], dtype=bool),
        version=np.where(is4, 4, np.where(ok, 6, 0)),
        src_hi=pick["src_hi"].astype(np.uint64),
        src_lo=pick["src_lo"].astype(np.uint64),
        dst_hi=pick["dst_hi"].astype(np.uint64),
        dst_lo=pick["dst_lo"].astype(np.uint64),
        proto=proto,
        later_fragment=later,
        l3=l3,
        l4=l4,
        ip_end=pick["ip_end"],
        sport=sport,
        dport=dport,
        tcp_flags=flags,
        l4_ok=l4_ok,
    )
    return _with_arp(view, net, (etype == ETH_ARP) & view.fits(l3, 28))


def _choose(mask: Mask, inner: Network, outer: Network) -> Network:
    """Per packet, the inner decode where ``mask`` holds, else the outer one."""
    return Network(
        **{
            f.name: np.where(mask, getattr(inner, f.name), getattr(outer, f.name))
            for f in dataclasses.fields(Network)
        }
    )


def _with_arp(view: ByteView, net: Network, arp: Mask) -> Network:
    """Fill in ARP packets: sender and target addresses, and the opcode as ``dport``."""
    if not arp.any():
        return net
    sender = view.u64(net.l3 + 14, arp, 4) | IPV4_MAPPED
    target = view.u64(net.l3 + 24, arp, 4) | IPV4_MAPPED
    return dataclasses.replace(
        net,
        arp=arp,
        src_lo=np.where(arp, sender, net.src_lo),
        dst_lo=np.where(arp, target, net.dst_lo),
        proto=np.where(arp, PROTO_ARP, net.proto),
        dport=np.where(arp, view.u16(net.l3 + 6, arp), net.dport),
        l4_ok=net.l4_ok | arp,
    )


def _ipv4(view: ByteView, l3: I64, ok: Mask) -> dict[str, I64 | U64]:
    """Read IPv4 headers: addresses (IPv4-mapped), protocol, fragments, transport offset."""
    ihl = (view.u8(l3, ok) & 0x0F) * 4
    ok = ok & (view.u8(l3, ok) >> 4 == 4) & (ihl >= 20)
    frag = view.u16(l3 + 6, ok) & 0x1FFF
    zero = np.zeros(l3.shape[0], dtype=np.uint64)
    return {
        "ok": ok.astype(np.int64),
        "proto": view.u8(l3 + 9, ok),
        "later": (frag > 0).astype(np.int64),
        "l4": l3 + ihl,
        "ip_end": l3 + view.u16(l3 + 2, ok),
        "src_hi": zero,
        "src_lo": view.u64(l3 + 12, ok, 4) | IPV4_MAPPED,
        "dst_hi": zero,
        "dst_lo": view.u64(l3 + 16, ok, 4) | IPV4_MAPPED,
    }


def _ipv6(view: ByteView, l3: I64, ok: Mask) -> dict[str, I64 | U64]:
    """Read IPv6 headers, walking the extension chain to the transport header."""
    ok = ok & (view.u8(l3, ok) >> 4 == 6)
    nxt = view.u8(l3 + 6, ok)
    l4 = l3 + 40
    later = np.zeros(l3.shape[0], dtype=np.int64)
    for _ in range(4):  # a few extension headers are normal; more is exotic
        ext = ok & np.isin(nxt, IPV6_EXTENSIONS) & view.fits(l4, 8)
        frag = ok & (nxt == IPV6_FRAGMENT) & view.fits(l4, 8)
        auth = ok & (nxt == IPV6_AUTH) & view.fits(l4, 8)  # AH counts 4-byte words, minus 2
        if not (ext | frag | auth).any():
            break
        later = np.where(frag, (view.u16(l4 + 2, frag) >> 3) > 0, later)
        step = np.select(
            [ext, frag, auth],
            [(view.u8(l4 + 1, ext) + 1) * 8, 8, (view.u8(l4 + 1, auth) + 2) * 4],
            default=0,
        )
        nxt = np.where(ext | frag | auth, view.u8(l4, ext | frag | auth), nxt)
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


def _transport(view: ByteView, l4: I64, proto: I64, ok: Mask) -> tuple[I64, I64, I64, Mask]:
    """Read ports (TCP/UDP), flags (TCP) or type/code (ICMP) as sport/dport."""
    ported = ok & ((proto == PROTO_TCP) | (proto == PROTO_UDP)) & view.fits(l4, 4)
    icmp = ok & ((proto == PROTO_ICMP) | (proto == PROTO_ICMPV6)) & view.fits(l4, 2)
    tcp = ok & (proto == PROTO_TCP) & view.fits(l4, 14)
    sport = np.where(ported, view.u16(l4, ported), view.u8(l4, icmp))
    dport = np.where(ported, view.u16(l4 + 2, ported), view.u8(l4 + 1, icmp))
    flags = view.u8(l4 + 13, tcp)
    # Other IP protocols (GRE, ESP, OSPF, ...) have no ports but still make flows.
    other = ~np.isin(proto, (PROTO_TCP, PROTO_UDP, PROTO_ICMP, PROTO_ICMPV6))
    l4_ok = np.where(proto == PROTO_TCP, tcp, ported | icmp | other)
    return sport, dport, flags, l4_ok & ok


def _payload(view: ByteView, net: Network) -> tuple[I64, I64]:
    """Offset and captured length of each TCP or UDP payload (-1 and 0 when there is none)."""
    tcp = net.l4_ok & (net.proto == PROTO_TCP)
    udp = net.l4_ok & (net.proto == PROTO_UDP)
    start = np.where(tcp, net.l4 + (view.u8(net.l4 + 12, tcp) >> 4) * 4, net.l4 + 8)
    # Ethernet pads short frames: the IP length, not the frame, says where data ends.
    end = np.minimum(view.end, np.where(net.ip_end > net.l4, net.ip_end, view.end))
    size = np.where(tcp | udp, np.clip(end - start, 0, None), 0)
    return np.where(size > 0, start, -1), size


def _quoted(view: ByteView, net: Network) -> dict[str, Any]:
    """The packet an ICMP error quotes: its addresses, protocol and (first 8 bytes) ports."""
    v4 = net.l4_ok & (net.proto == PROTO_ICMP) & np.isin(net.sport, ICMP_ERRORS)
    v6 = net.l4_ok & (net.proto == PROTO_ICMPV6) & np.isin(net.sport, ICMPV6_ERRORS)
    errors = v4 | v6
    if not errors.any():  # decoding quoted headers costs a second pass: only when needed
        zeros, none = np.zeros(errors.shape[0], dtype=np.uint64), np.zeros_like(net.proto)
        return {
            "quoted": errors,
            "q_src_hi": zeros,
            "q_src_lo": zeros,
            "q_dst_hi": zeros,
            "q_dst_lo": zeros,
            "q_proto": none,
            "q_sport": none,
            "q_dport": none,
        }
    at = net.l4 + 8
    inner = network(view, at, by_version(view, at, errors))
    ported = errors & inner.ip & np.isin(inner.proto, (PROTO_TCP, PROTO_UDP))
    ported &= view.fits(inner.l4, 4)
    read = errors & inner.ip
    return {
        "quoted": read,
        "q_src_hi": np.where(read, inner.src_hi, 0).astype(np.uint64),
        "q_src_lo": np.where(read, inner.src_lo, 0).astype(np.uint64),
        "q_dst_hi": np.where(read, inner.dst_hi, 0).astype(np.uint64),
        "q_dst_lo": np.where(read, inner.dst_lo, 0).astype(np.uint64),
        "q_proto": np.where(errors & inner.ip, inner.proto, 0),
        "q_sport": view.u16(inner.l4, ported),
        "q_dport": view.u16(inner.l4 + 2, ported),
    }
