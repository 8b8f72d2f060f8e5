"""A batch's packets split into flow groups and summed per group, in one compiled pass.

The flow table sorts a batch's packets by key hash (stable, so each key's packets keep their
order). A group is a run of one key's packets that nothing splits: a silence longer than the
protocol's idle timeout, or, with ``tcp_closed`` set, a TCP packet more than the linger after
the previous one when the flow it would join had closed (``sensors.closing``). Whether a
flow had closed depends on the splits before it, so the walk is sequential by nature; numpy
needed a dozen passes and a repeat-until-stable loop for it, the compiled core
(``sensors/_flowtable.pyx``) needs one pass that splits and sums together: per side the
packets, wire bytes and ICMP refusals, the flag bits, and the first, last, per-side first
and per-side first-SYN times.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sensors import _flowtable
from sensors.closing import FIN_A, FIN_B, RST
from sensors.decode import PROTO_TCP
from sensors.flowkeys import PacketKeys
from sensors.flowrecords import COUNTERS, SIDE_B_SHIFT, TIMES
from sensors.flowrows import Rows

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
Mask = npt.NDArray[np.bool_]
WIDTH = len(COUNTERS)
"""Sums per side; side b's columns follow side a's."""
# The compiled pass writes these columns by number and compares with TCP's number.
if COUNTERS != ("pkts", "bytes", "refusal") or PROTO_TCP != 6:
    raise ImportError("sensors._flowtable sums other counters than sensors.flowrecords")
if TIMES != ("first", "last", "a_first", "b_first", "a_syn", "b_syn"):
    raise ImportError("sensors._flowtable keeps other times than sensors.flowrecords")


def _flag_table() -> I64:
    """The flag bits (``FLAG_BITS``) of a TCP packet, indexed by the low six bits of its
    flags, plus 64 when it came from side b (then shifted to side b's place)."""
    f = np.arange(64)
    syn, ack, rst = f & 0x02 > 0, f & 0x10 > 0, f & 0x04 > 0
    used = [syn & ~ack, syn & ack, ack & ~syn & ~rst]
    used += [f & bit > 0 for bit in (0x01, 0x02, 0x04, 0x08, 0x10, 0x20)]
    bits = np.zeros(64, dtype=np.int64)
    for n, flag in enumerate(used):
        bits |= flag.astype(np.int64) << n
    return np.concatenate([bits, bits << SIDE_B_SHIFT])


FLAG_TABLE = _flag_table()
"""Flag bits by ``(tcp_flags & 0x3F) | 64 * from_side_b`` (one lookup, not nine tests)."""


@dataclass(frozen=True)
class Groups:
    """A batch's flow groups, in hash order (a key's groups in time order)."""

    starts: I64
    """Each group's first packet, as a position in hash order."""
    seg: I64
    """Each group's number among its key's groups (0 for the first)."""
    last_of_key: Mask
    """Whether the group is its key's last in the batch."""
    counts: I64
    """(groups, 2 * len(COUNTERS)) per-side sums: side a's, then side b's."""
    bits: I64
    """Flag bits of both sides."""
    times: F64
    """(groups, len(TIMES)) first, last, per-side first and first-SYN times (inf: none)."""


@dataclass(frozen=True)
class Splits:
    """When a batch's packets of one key part into separate groups (seconds)."""

    tcp_idle: float
    other_idle: float
    linger: float
    """Silence after which a closed TCP flow ends (inf: never ends early)."""


def sum_groups(
    p: PacketKeys, order: npt.NDArray[np.intp], h: U64, ts: F64, seed: I64, splits: Splits
) -> Groups:
    """Split the batch ``p``, sorted by ``order`` (``h`` and ``ts``: its hashes and times in
    that order), into groups and sum each; ``seed`` holds, per key in order, the flag bits
    of the open flow its first packets continue (zero when none)."""
    n = order.shape[0]
    columns = (p.proto, p.tcp_flags, p.dir_b, p.wirelen, p.refusal, h, ts)
    if any(column.shape[0] != n for column in columns) or order.dtype != np.intp:
        raise ValueError("sum_groups: columns of different lengths")
    if n and (order.min() < 0 or order.max() >= n):
        raise ValueError("sum_groups: order is not a permutation")
    found = _flowtable.sum_groups(
        _positions(order),
        h,
        ts,
        p.proto.astype(np.int64, copy=False),
        p.tcp_flags.astype(np.int64, copy=False),
        _bytes(p.dir_b),
        p.wirelen.astype(np.int64, copy=False),
        _bytes(p.refusal),
        seed,
        splits.tcp_idle,
        splits.other_idle,
        splits.linger,
        FLAG_TABLE,
        WIDTH,
        len(TIMES),
        FIN_A,
        FIN_B,
        RST,
    )
    count, starts, seg, last, counts, bits, times = found
    return Groups(
        starts=starts[:count],
        seg=seg[:count],
        last_of_key=last[:count],
        counts=counts[:count],
        bits=bits[:count],
        times=times[:count],
    )


def fold_groups(table: Rows, rows: I64, groups: Rows, members: I64) -> None:
    """Add the sums, flag bits and times of the groups ``members`` into the table rows
    ``rows`` (one each, all different), in place; payload times and beats are not touched."""
    n = rows.shape[0]
    if members.shape[0] != n or (n and (rows.min() < 0 or rows.max() >= len(table))):
        raise ValueError("fold_groups: rows outside the table")
    if n and (members.min() < 0 or members.max() >= len(groups)):
        raise ValueError("fold_groups: groups outside the batch")
    if (
        table.counts.shape[1:] != groups.counts.shape[1:]
        or table.times.shape[1:] != (groups.times.shape[1:])
    ):
        raise ValueError("fold_groups: columns of different widths")
    _flowtable.fold(
        table.counts,
        table.bits,
        table.times,
        rows.astype(np.int64, copy=False),
        groups.counts,
        groups.bits,
        groups.times,
        members.astype(np.int64, copy=False),
    )


def hash_clash(order: npt.NDArray[np.intp], h: U64, keys: U64) -> bool:
    """Whether two different keys share a hash: ``order`` sorts the batch by hash, ``h``
    holds the hashes in that order and ``keys`` the batch's key rows."""
    n = order.shape[0]
    if h.shape[0] != n or keys.shape[0] != n or (n and (order.min() < 0 or order.max() >= n)):
        raise ValueError("hash_clash: columns of different lengths")
    return bool(_flowtable.hash_clash(_positions(order), h, keys))


def _bytes(mask: Mask) -> npt.NDArray[np.uint8]:
    """A mask as the compiled core takes it (one byte per row; no copy when boolean)."""
    return np.asarray(mask, dtype=bool).view(np.uint8)


def _positions(order: npt.NDArray[np.intp]) -> I64:
    """Row positions as the compiled core takes them (64-bit, contiguous; no copy here)."""
    return np.ascontiguousarray(order, dtype=np.int64)
