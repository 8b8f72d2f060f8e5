"""The decoder's fast path: plain Ethernet/IPv4 TCP/UDP/ICMP packets in one compiled pass.

Most extranet packets have exactly this shape; one compiled pass (``sensors/_fastpath.pyx``,
Cython) tests and reads their fixed headers several times cheaper than the general layered
decoder, which handles the rest. Tests prove both give identical results.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import numpy.typing as npt

from sensors import _fastpath
from sensors.capture import PacketBatch
from sensors.decoded import (
    Decoded,
)
from sensors.view import I64, U64, Mask


def subset(batch: PacketBatch, rows: npt.NDArray[np.intp]) -> PacketBatch:
    """The packets at ``rows`` of a batch (same buffer)."""
    return PacketBatch(
        data=batch.data,
        offset=batch.offset[rows],
        caplen=batch.caplen[rows],
        wirelen=batch.wirelen[rows],
        linktype=batch.linktype[rows],
        ts=batch.ts[rows],
        vlan=None if batch.vlan is None else batch.vlan[rows],
    )


def merge(fast: Decoded, general: Decoded, rows: npt.NDArray[np.intp]) -> Decoded:
    """``fast`` with the general decoder's results written over ``rows``, in place: every
    column of ``fast`` is its own fresh array, except the batch's ``ts`` and ``wirelen``,
    which both decoders pass through unchanged and so are left alone."""
    for f in dataclasses.fields(Decoded):
        if f.name not in {"ts", "wirelen"}:
            getattr(fast, f.name)[rows] = getattr(general, f.name)
    return fast


def decode_plain(batch: PacketBatch) -> tuple[Mask, Decoded] | None:
    """Decode plain Ethernet frames (at most one 802.1Q tag) of IPv4 without options, not a
    later fragment, or IPv6 without extension headers, carrying TCP, UDP or (IPv4) ICMP, in
    one compiled pass; return which rows that covers, or None when it covers none."""
    n = len(batch)
    if n == 0:
        return None
    taken = batch.vlan if batch.vlan is not None else np.zeros(0, dtype=np.int64)
    rows, ints, addresses = _fastpath.plain(
        batch.data, batch.offset, batch.caplen, batch.linktype, taken.astype(np.int64, copy=False)
    )
    if not rows.any():
        return None
    return rows, _decoded(batch, ints, addresses)


def _decoded(batch: PacketBatch, ints: I64, addresses: U64) -> Decoded:
    """The fast path's columns as a :class:`Decoded`; every column a distinct array (``merge``
    writes the general decoder's rows into them), the batch's times and lengths excepted."""
    n = len(batch)
    columns: dict[str, npt.NDArray[Any]] = dict(zip(_fastpath.INT_COLUMNS, ints, strict=True))
    columns.update(zip(_fastpath.ADDRESS_COLUMNS, addresses, strict=True))
    for name in ("ip", "l4_ok"):
        columns[name] = np.ones(n, dtype=bool)
    for name in ("arp", "later_fragment", "quoted"):
        columns[name] = np.zeros(n, dtype=bool)
    for name in ("outer_src_hi", "outer_src_lo", "outer_dst_hi", "outer_dst_lo"):
        columns[name] = np.zeros(n, dtype=np.uint64)
    for name in ("q_src_hi", "q_src_lo", "q_dst_hi", "q_dst_lo"):
        columns[name] = np.zeros(n, dtype=np.uint64)
    for name in ("tunnel", "q_proto", "q_sport", "q_dport"):
        columns[name] = np.zeros(n, dtype=np.int64)
    columns["tunnel_id"] = np.full(n, -1, dtype=np.int64)
    return Decoded(ts=batch.ts, wirelen=batch.wirelen, **columns)
