"""Per-packet flow keys: canonical orientation, ICMP errors folded into the flow they quote.

Both directions of a conversation get the same key (the lower endpoint first) and a direction
bit; a 64-bit hash of the key lets the flow table group and look up packets with numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sensors.decode import PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, Decoded
from sensors.view import I64, U64, Mask

KEY_COLUMNS = ("a_hi", "a_lo", "b_hi", "b_lo", "a_port", "b_port", "proto", "vlan", "tunnel")
ICMP_REQUEST_OF = np.arange(256)
ICMP_REQUEST_OF[[0, 14, 16, 18, 129]] = [8, 13, 15, 17, 128]  # replies join their request


@dataclass(frozen=True)
class PacketKeys:
    """Flow-relevant fields of the usable packets of a batch, keyed canonically."""

    keys: U64  # (n, len(KEY_COLUMNS)) canonical key columns
    hash: U64  # 64-bit hash of each key row
    dir_b: Mask  # the packet travels from endpoint b to endpoint a
    ts: npt.NDArray[np.float64]
    wirelen: I64
    proto: I64
    tcp_flags: I64
    refusal: Mask  # an ICMP error about this flow (port or host unreachable, ...)
    outer: U64  # (n, 4) tunnel endpoints, zero when not tunnelled
    payload: Mask  # over one byte of TCP or UDP payload (one byte: a TCP keep-alive probe)


def packet_keys(d: Decoded) -> PacketKeys:
    """Key every usable packet of a decoded batch."""
    usable = usable_rows(d)
    refusal = d.quoted[usable] & np.isin(d.q_proto[usable], (PROTO_TCP, PROTO_UDP))
    # An ICMP error travels back to the prober: file it under the quoted flow, reversed.
    src_hi = np.where(refusal, d.q_dst_hi[usable], d.src_hi[usable])
    src_lo = np.where(refusal, d.q_dst_lo[usable], d.src_lo[usable])
    dst_hi = np.where(refusal, d.q_src_hi[usable], d.dst_hi[usable])
    dst_lo = np.where(refusal, d.q_src_lo[usable], d.dst_lo[usable])
    sport = np.where(refusal, d.q_dport[usable], d.sport[usable])
    dport = np.where(refusal, d.q_sport[usable], d.dport[usable])
    proto = np.where(refusal, d.q_proto[usable], d.proto[usable])
    icmp = (proto == PROTO_ICMP) | (proto == PROTO_ICMPV6)
    sport = np.where(icmp, ICMP_REQUEST_OF[np.clip(sport, 0, 255)], sport)
    arp = d.arp[usable]  # requests and replies are one exchange: no opcode in the key
    sport, dport = np.where(arp, 0, sport), np.where(arp, 0, dport)
    gt = (src_hi > dst_hi) | ((src_hi == dst_hi) & (src_lo > dst_lo))
    same = (src_hi == dst_hi) & (src_lo == dst_lo)
    # ICMP and ARP "ports" are type/code and opcode: ordered by address only, never swapped.
    ported = ~icmp & d.ip[usable] | refusal
    swap = gt | (same & ported & (sport > dport))
    tunnel = (d.tunnel[usable] << 32) | (d.tunnel_id[usable] & 0xFFFFFFFF)
    keys = np.stack(
        [
            np.where(swap, dst_hi, src_hi),
            np.where(swap, dst_lo, src_lo),
            np.where(swap, src_hi, dst_hi),
            np.where(swap, src_lo, dst_lo),
            np.where(swap & ported, dport, sport).astype(np.uint64),
            np.where(swap & ported, sport, dport).astype(np.uint64),
            proto.astype(np.uint64),
            d.vlan[usable].astype(np.uint64),
            tunnel.astype(np.uint64),
        ],
        axis=1,
    )
    outer = np.stack(
        [
            d.outer_src_hi[usable],
            d.outer_src_lo[usable],
            d.outer_dst_hi[usable],
            d.outer_dst_lo[usable],
        ],
        axis=1,
    )
    return PacketKeys(
        keys=keys,
        hash=hash_rows(keys),
        dir_b=swap,
        ts=d.ts[usable],
        wirelen=d.wirelen[usable],
        proto=proto,
        tcp_flags=np.where(refusal, 0, d.tcp_flags[usable]),
        refusal=refusal,
        outer=outer,
        # A keep-alive probe may carry one garbage byte (RFC 1122 4.2.3.6): the operating
        # system's rhythm, not the application's, so it never starts a beat.
        payload=~refusal & (d.payload_len[usable] > 1),
    )


def usable_rows(d: Decoded) -> I64:
    """Positions of the packets that make flows (``packet_keys`` keys these, in order)."""
    return np.flatnonzero((d.ip & ~d.later_fragment & d.l4_ok) | d.arp)


def hash_rows(keys: U64) -> U64:
    """A 64-bit mix of each key row (splitmix64 steps); collisions are checked by callers."""
    h = np.full(keys.shape[0], 0x9E3779B97F4A7C15, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for column in keys.T:
            h = (h ^ column) * np.uint64(0xBF58476D1CE4E5B9)
            h ^= h >> np.uint64(31)
            h = h * np.uint64(0x94D049BB133111EB)
            h ^= h >> np.uint64(29)
    return h
