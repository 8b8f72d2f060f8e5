"""Per-packet flow keys: canonical orientation, ICMP errors folded into the flow they quote.

Both directions of a conversation get the same key (the lower endpoint first) and a direction
bit; ICMP replies get their request's type, so they join its flow. A 64-bit hash of the key
lets the flow table group and look up packets. Keys and hashes are computed in one compiled
pass each (``sensors/_flowkeys.pyx``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sensors import _flowkeys
from sensors.decode import Decoded
from sensors.view import I64, U64, Mask

KEY_COLUMNS = ("a_hi", "a_lo", "b_hi", "b_lo", "a_port", "b_port", "proto", "vlan", "tunnel")


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
    """Key every usable packet of a decoded batch (one compiled pass, ``_flowkeys.pyx``)."""
    usable = usable_rows(d)
    keys, outer, ints, ts, masks = _flowkeys.keys(usable, d)
    return PacketKeys(
        keys=keys.T,  # column-major: hashing and the collision check read whole columns
        hash=hash_rows(keys.T),
        dir_b=masks[0],
        ts=ts,
        wirelen=ints[2],
        proto=ints[0],
        tcp_flags=ints[1],
        refusal=masks[1],
        outer=outer,
        payload=masks[2],
    )


def usable_rows(d: Decoded) -> I64:
    """Positions of the packets that make flows (``packet_keys`` keys these, in order)."""
    return np.flatnonzero((d.ip & ~d.later_fragment & d.l4_ok) | d.arp)


def hash_rows(keys: U64) -> U64:
    """A 64-bit mix of each key row (splitmix64 steps); collisions are checked by callers."""
    return _flowkeys.hash_rows(keys)


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
