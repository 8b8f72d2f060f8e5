"""Bidirectional flow table, columnar: numpy group-bys over hashed keys, bounded state.

Each batch's packets are sorted by key hash, split where a key falls idle, summed per group
with ``reduceat`` and merged into the open-flow table by hash lookup. Flows are emitted on
idle or active timeout, on eviction when the state cap is reached (counted), and at the end of
input. Who initiated and how the handshake ended are decided only at emission, from counters.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from sensors.decode import PROTO_TCP, Decoded
from sensors.events import Flow
from sensors.flowkeys import KEY_COLUMNS, PacketKeys, hash_rows, packet_keys
from sensors.flowrecords import COUNTERS, TIMES, flow_records

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, kw_only=True)
class FlowTimeouts:
    """When the flow table lets go of a flow."""

    tcp_idle: float = 300.0
    """Seconds without packets before a TCP flow ends (Zeek's TCP inactivity default)."""
    other_idle: float = 60.0
    """The same for UDP, ICMP and ARP: short request/response exchanges."""
    active: float = 3600.0
    """Long flows are reported at least this often, so nothing waits forever."""
    max_flows: int = 500_000
    """State cap; beyond it the stalest flows are emitted early (and counted)."""

    def __post_init__(self) -> None:
        for name in ("tcp_idle", "other_idle", "active"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name}: must be positive")
        if self.max_flows < 1:
            raise ValueError("max_flows: must be at least 1")


@dataclass
class FlowStats:
    """Counters of the flow table's work."""

    packets: int = 0
    ip_packets: int = 0
    non_ip: int = 0
    later_fragments: int = 0
    no_transport: int = 0
    flows: int = 0
    evicted: int = 0
    hash_collisions: int = 0


@dataclass
class _Rows:
    """Flow rows as columns: hash, key, per-side counters, times and tunnel endpoints."""

    hash: npt.NDArray[np.uint64] = field(default_factory=lambda: np.zeros(0, np.uint64))
    keys: npt.NDArray[np.uint64] = field(
        default_factory=lambda: np.zeros((0, len(KEY_COLUMNS)), np.uint64)
    )
    counts: I64 = field(default_factory=lambda: np.zeros((0, 2 * len(COUNTERS)), np.int64))
    times: F64 = field(default_factory=lambda: np.zeros((0, len(TIMES)), np.float64))
    outer: npt.NDArray[np.uint64] = field(default_factory=lambda: np.zeros((0, 4), np.uint64))

    def __len__(self) -> int:
        return int(self.hash.shape[0])

    def take(self, index: npt.NDArray[np.intp] | npt.NDArray[np.bool_]) -> _Rows:
        """The rows at ``index`` (integer positions or a mask)."""
        return _Rows(
            self.hash[index],
            self.keys[index],
            self.counts[index],
            self.times[index],
            self.outer[index],
        )

    @staticmethod
    def concat(parts: list[_Rows]) -> _Rows:
        """All rows of ``parts``, in order."""
        return _Rows(
            np.concatenate([p.hash for p in parts]),
            np.concatenate([p.keys for p in parts]),
            np.concatenate([p.counts for p in parts]),
            np.concatenate([p.times for p in parts]),
            np.concatenate([p.outer for p in parts]),
        )


class FlowTable:
    """Aggregates decoded batches into :class:`Flow` records with bounded state."""

    def __init__(self, sensor: str, timeouts: FlowTimeouts | None = None) -> None:
        self.sensor = sensor
        self.timeouts = timeouts or FlowTimeouts()
        self.stats = FlowStats()
        self._open = _Rows()

    def add(self, packets: Decoded) -> list[Flow]:
        """Add a batch; return the flows that ended (timed out or evicted) because of it."""
        self._count(packets)
        keyed = packet_keys(packets)
        if keyed.ts.shape[0] == 0:
            return []
        groups, seg, last_of_key = self._groups(keyed)
        ended = self._merge(groups, seg, last_of_key)
        ended.append(self._expire(float(keyed.ts.max())))
        return self._emit(_Rows.concat(ended))

    def expire(self, now: float) -> list[Flow]:
        """Emit the flows idle or active too long at ``now`` (a live sensor's clock tick)."""
        return self._emit(self._expire(now))

    def flush(self) -> list[Flow]:
        """Emit every flow still open (end of input)."""
        return [flow for part in self.drain() for flow in part]

    def drain(self, chunk: int = 16_384) -> Iterator[list[Flow]]:
        """Emit every open flow in chunks, so memory stays bounded however many are open."""
        done, self._open = self._open, _Rows()
        for start in range(0, len(done), chunk):
            yield self._emit(done.take(np.arange(start, min(start + chunk, len(done)))))

    def __len__(self) -> int:
        return len(self._open)

    def _count(self, d: Decoded) -> None:
        n = d.ts.shape[0]
        ip = int(d.ip.sum())
        self.stats.packets += n
        self.stats.ip_packets += ip
        self.stats.non_ip += n - ip - int(d.arp.sum())
        self.stats.later_fragments += int(d.later_fragment.sum())
        self.stats.no_transport += int((d.ip & ~d.later_fragment & ~d.l4_ok).sum())

    def _idle(self, proto: npt.NDArray[np.uint64] | I64) -> F64:
        """Idle timeout of each row by its protocol."""
        t = self.timeouts
        return np.where(proto == PROTO_TCP, t.tcp_idle, t.other_idle)

    def _groups(self, p: PacketKeys) -> tuple[_Rows, I64, npt.NDArray[np.bool_]]:
        """Sum a batch per key and idle-separated segment; also return each group's segment
        number within its key and whether it is the key's last segment."""
        hashes = p.hash if not self._collides(p) else _exact_ids(p.keys)
        order = np.argsort(hashes, kind="stable")
        h, ts = hashes[order], p.ts[order]
        new_key = np.r_[True, h[1:] != h[:-1]]
        idle = self._idle(p.proto[order])
        gap = np.r_[False, np.diff(ts) > idle[1:]] & ~new_key
        starts = np.flatnonzero(new_key | gap)
        cuts = np.cumsum(gap)
        seg = cuts - cuts[np.maximum.accumulate(np.where(new_key, np.arange(len(h)), 0))]
        matrix = _counter_matrix(p)[order]
        stamps = _time_matrix(p)[order]
        rows = _Rows(
            hash=h[starts],
            keys=p.keys[order][starts],
            counts=np.add.reduceat(matrix, starts, axis=0),
            times=np.column_stack(
                [
                    np.minimum.reduceat(stamps[:, 0], starts),
                    np.maximum.reduceat(stamps[:, 1], starts),
                    np.minimum.reduceat(stamps[:, 2:], starts, axis=0),
                ]
            ),
            outer=p.outer[order][starts],
        )
        group_key = rows.hash
        last_of_key = np.r_[group_key[1:] != group_key[:-1], True]
        return rows, seg[starts], last_of_key

    def _collides(self, p: PacketKeys) -> bool:
        """Whether two different keys share a hash in this batch (then group exactly)."""
        order = np.argsort(p.hash, kind="stable")
        h, keys = p.hash[order], p.keys[order]
        same_hash = h[1:] == h[:-1]
        clash = bool((same_hash & (keys[1:] != keys[:-1]).any(axis=1)).any())
        self.stats.hash_collisions += int(clash)
        return clash

    def _merge(self, groups: _Rows, seg: I64, last: npt.NDArray[np.bool_]) -> list[_Rows]:
        """Fold a batch's groups into the open table; return the rows that ended."""
        table = self._open
        first = np.flatnonzero(seg == 0)
        pos = _positions(table.hash, groups.hash[first])
        found = pos >= 0
        gap = groups.times[first, 0] - (table.times[pos, 1] if len(table) else np.inf)
        stale = found & (gap > self._idle(groups.keys[first, 6]))
        merge = found & ~stale
        g, t = first[merge], pos[merge]
        table.counts[t] += groups.counts[g]
        table.times[t, 0] = np.minimum(table.times[t, 0], groups.times[g, 0])
        table.times[t, 1] = np.maximum(table.times[t, 1], groups.times[g, 1])
        table.times[t, 2:] = np.minimum(table.times[t, 2:], groups.times[g, 2:])
        absorbed = np.zeros(len(groups), dtype=bool)
        absorbed[g] = True
        closing = np.zeros(len(table), dtype=bool)
        closing[pos[stale]] = True  # reappeared after an idle gap: the old flow ended
        closing[t[~last[g]]] = True  # merged, but a later segment of the key follows
        ended = [table.take(closing), groups.take(~absorbed & ~last)]
        self._open = _Rows.concat([table.take(~closing), groups.take(~absorbed & last)])
        return ended

    def _expire(self, now: float) -> _Rows:
        """Take out the rows that timed out or must be evicted for the state cap."""
        t, table = self.timeouts, self._open
        first, latest = table.times[:, 0], table.times[:, 1]
        done = (now - latest > self._idle(table.keys[:, 6])) | (now - first > t.active)
        overflow = len(table) - int(done.sum()) - t.max_flows
        if overflow > 0:
            alive = np.flatnonzero(~done)
            stalest = alive[np.argsort(latest[alive], kind="stable")[:overflow]]
            done[stalest] = True
            self.stats.evicted += overflow
        self._open = table.take(~done)
        return table.take(done)

    def _emit(self, rows: _Rows) -> list[Flow]:
        """Turn ended rows into flow records, in a deterministic order."""
        if not len(rows):
            return []
        order = np.lexsort((rows.hash, rows.times[:, 0]))
        rows = rows.take(order)
        flows = flow_records(rows.keys, rows.counts, rows.times, rows.outer, self.sensor)
        self.stats.flows += len(flows)
        return flows


def _positions(table: npt.NDArray[np.uint64], wanted: npt.NDArray[np.uint64]) -> I64:
    """Row of each wanted hash in the table, -1 when absent (a hash-table lookup)."""
    if table.shape[0] == 0:
        return np.full(wanted.shape[0], -1, dtype=np.int64)
    return pd.Index(table).get_indexer(pd.Index(wanted)).astype(np.int64)


def _exact_ids(keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """Collision-free group ids from the full keys (slow path, used only on a hash clash)."""
    _, inverse = np.unique(keys, axis=0, return_inverse=True)
    return hash_rows(inverse.reshape(-1, 1).astype(np.uint64))


def _counter_matrix(p: PacketKeys) -> I64:
    """Per packet, the counters of its direction: columns side a, then side b."""
    f = p.tcp_flags
    tcp = p.proto == PROTO_TCP
    syn, ack, rst = f & 0x02 > 0, f & 0x10 > 0, f & 0x04 > 0
    one = np.ones(f.shape[0], dtype=np.int64)
    values = np.column_stack(
        [
            one,
            p.wirelen,
            tcp & syn & ~ack,
            tcp & syn & ack,
            tcp & rst,
            tcp & (f & 0x01 > 0),
            tcp & ack & ~syn & ~rst,
            p.refusal,
            *(tcp & (f & bit > 0) for bit in (0x01, 0x02, 0x04, 0x08, 0x10, 0x20)),
        ]
    ).astype(np.int64)
    side_b = p.dir_b[:, None]
    return np.concatenate([values * ~side_b, values * side_b], axis=1)


def _time_matrix(p: PacketKeys) -> F64:
    """Per packet: time (as first), time (as last), and per-side first / first-SYN times."""
    syn = (p.proto == PROTO_TCP) & (p.tcp_flags & 0x12 == 0x02)
    a, b = ~p.dir_b, p.dir_b
    inf = np.inf
    return np.column_stack(
        [
            p.ts,
            p.ts,
            np.where(a, p.ts, inf),
            np.where(b, p.ts, inf),
            np.where(a & syn, p.ts, inf),
            np.where(b & syn, p.ts, inf),
        ]
    )
