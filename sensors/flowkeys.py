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
    # Usually every packet is usable: then the columns are used as they are, not gathered.
    rows: slice | I64 = usable if usable.shape[0] < d.ts.shape[0] else slice(None)
    q_proto = d.q_proto[rows]
    refusal = d.quoted[rows] & ((q_proto == PROTO_TCP) | (q_proto == PROTO_UDP))
    # An ICMP error travels back to the prober: file it under the quoted flow, reversed.
    src_hi = np.where(refusal, d.q_dst_hi[rows], d.src_hi[rows])
    src_lo = np.where(refusal, d.q_dst_lo[rows], d.src_lo[rows])
    dst_hi = np.where(refusal, d.q_src_hi[rows], d.dst_hi[rows])
    dst_lo = np.where(refusal, d.q_src_lo[rows], d.dst_lo[rows])
    sport = np.where(refusal, d.q_dport[rows], d.sport[rows])
    dport = np.where(refusal, d.q_sport[rows], d.dport[rows])
    proto = np.where(refusal, q_proto, d.proto[rows])
    icmp = (proto == PROTO_ICMP) | (proto == PROTO_ICMPV6)
    sport = np.where(icmp, ICMP_REQUEST_OF[np.clip(sport, 0, 255)], sport)
    arp = d.arp[rows]  # requests and replies are one exchange: no opcode in the key
    sport, dport = np.where(arp, 0, sport), np.where(arp, 0, dport)
    gt = (src_hi > dst_hi) | ((src_hi == dst_hi) & (src_lo > dst_lo))
    same = (src_hi == dst_hi) & (src_lo == dst_lo)
    # ICMP and ARP "ports" are type/code and opcode: ordered by address only, never swapped.
    ported = ~icmp & d.ip[rows] | refusal
    swap = gt | (same & ported & (sport > dport))
    tunnel = (d.tunnel[rows] << 32) | (d.tunnel_id[rows] & 0xFFFFFFFF)
    keys = np.stack(
        [
            np.where(swap, dst_hi, src_hi),
            np.where(swap, dst_lo, src_lo),
            np.where(swap, src_hi, dst_hi),
            np.where(swap, src_lo, dst_lo),
            np.where(swap & ported, dport, sport).astype(np.uint64),
            np.where(swap & ported, sport, dport).astype(np.uint64),
            proto.astype(np.uint64),
            d.vlan[rows].astype(np.uint64),
            tunnel.astype(np.uint64),
        ],
        axis=0,
    ).T  # column-major: hashing and the collision check read whole columns
    outer = np.stack(
        [
            d.outer_src_hi[rows],
            d.outer_src_lo[rows],
            d.outer_dst_hi[rows],
            d.outer_dst_lo[rows],
        ],
        axis=1,
    )
    return PacketKeys(
        keys=keys,
        hash=hash_rows(keys),
        dir_b=swap,
        ts=d.ts[rows],
        wirelen=d.wirelen[rows],
        proto=proto,
        tcp_flags=np.where(refusal, 0, d.tcp_flags[rows]),
        refusal=refusal,
        outer=outer,
        # A keep-alive probe may carry one garbage byte (RFC 1122 4.2.3.6): the operating
        # system's rhythm, not the application's, so it never starts a beat.
        payload=~refusal & (d.payload_len[rows] > 1),
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


def hash_order(hashes: U64) -> npt.NDArray[np.intp]:
    """``np.argsort(hashes, kind="stable")``, from two unstable sorts: numpy's stable sort of
    64-bit values is a merge sort, its default one vectorised and several times faster."""
    n = hashes.shape[0]
    if n >= 1 << 32:  # positions no longer fit beside the run number
        return np.argsort(hashes, kind="stable")
    first = np.argsort(hashes)  # equal hashes in any order
    ranked = hashes[first]
    run = np.cumsum(np.r_[False, ranked[1:] != ranked[:-1]], dtype=np.uint64)
    both = (run << np.uint64(32)) | first.astype(np.uint64)  # unique: run, then position
    both.sort()
    return (both & np.uint64(0xFFFFFFFF)).astype(np.intp)
