"""Bidirectional flow table, columnar: numpy group-bys over hashed keys, bounded state.

Each batch's packets are sorted by key hash, split where a key falls idle, summed per group
with ``reduceat`` and merged into the open-flow table by hash lookup. Flows are emitted on
idle or active timeout, shortly after a TCP close when ``tcp_closed`` is set, on eviction when
the state cap is reached (counted), and at the end of input. Who initiated and how the
handshake ended are decided only at emission, from counters and flag bits. The table is
rebuilt once per batch, column by column, so it is never held twice in memory.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from sensors.beats import beat_offsets, group_beats, merge_beats, no_beats
from sensors.closing import close_cuts, closed
from sensors.decode import PROTO_TCP, Decoded
from sensors.events import Flow
from sensors.flowkeys import KEY_COLUMNS, PacketKeys, hash_rows, packet_keys
from sensors.flowrecords import COUNTERS, SIDE_B_SHIFT, TIMES, flow_records

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True, kw_only=True)
class FlowTimeouts:
    """When the flow table lets go of a flow."""

    tcp_idle: float = 300.0
    """Seconds without packets before a TCP flow ends (Zeek's TCP inactivity default)."""
    other_idle: float = 60.0
    """The same for UDP, ICMP and ARP: short request/response exchanges."""
    tcp_closed: float | None = None
    """Seconds a TCP flow is kept after its last packet once both sides sent FIN or either
    sent RST (``sensors.closing``; Zeek's ``tcp_close_delay`` is 5), instead of ``tcp_idle``.
    Off by default: a 5-tuple reused after a close then becomes a second flow, where tshark
    (and the corpus tests that compare with it) keep one conversation; on, the open-flow
    table holds only recent and unclosed flows, so memory stays flat on long captures."""
    active: float = 3600.0
    """Long flows are reported at least this often, so nothing waits forever."""
    max_flows: int = 500_000
    """State cap; beyond it the stalest flows are emitted early (and counted)."""
    beat_gap: float = 2.0
    """Seconds without payload after which payload starts a new beat (``sensors.beats``):
    twice TCP's initial retransmission timeout (1 s, RFC 6298), so one exchange and its
    retransmissions stay one beat, and well under the 10 s and longer sleeps of C2 agents."""
    max_beats: int = 128
    """Beat times kept per flow report (the first ones, 8 bytes each): an hour (``active``)
    of a 30-second heartbeat; faster ones fill it sooner, which is evidence enough."""

    def __post_init__(self) -> None:
        for name in ("tcp_idle", "other_idle", "tcp_closed", "active", "beat_gap"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name}: must be positive")
        if self.max_flows < 1:
            raise ValueError("max_flows: must be at least 1")
        if not 2 <= self.max_beats <= 100_000:
            raise ValueError("max_beats: must be 2-100000")


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
    """Flow rows as columns: hash, key, per-side sums and flag bits, times, tunnel endpoints,
    first and last payload times and later beat times (``sensors.beats``)."""

    hash: npt.NDArray[np.uint64] = field(default_factory=lambda: np.zeros(0, np.uint64))
    keys: npt.NDArray[np.uint64] = field(
        default_factory=lambda: np.zeros((0, len(KEY_COLUMNS)), np.uint64)
    )
    counts: I64 = field(default_factory=lambda: np.zeros((0, 2 * len(COUNTERS)), np.int64))
    bits: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    times: F64 = field(default_factory=lambda: np.zeros((0, len(TIMES)), np.float64))
    outer: npt.NDArray[np.uint64] = field(default_factory=lambda: np.zeros((0, 4), np.uint64))
    pay: F64 = field(default_factory=lambda: np.zeros((0, 2), np.float64))
    beats: npt.NDArray[np.object_] = field(default_factory=lambda: no_beats(0))

    def __len__(self) -> int:
        return int(self.hash.shape[0])

    def take(self, index: npt.NDArray[np.intp] | npt.NDArray[np.bool_]) -> _Rows:
        """The rows at ``index`` (integer positions or a mask)."""
        return _Rows(
            self.hash[index],
            self.keys[index],
            self.counts[index],
            self.bits[index],
            self.times[index],
            self.outer[index],
            self.pay[index],
            self.beats[index],
        )

    def rebuild(self, keep: npt.NDArray[np.bool_] | None, added: _Rows) -> None:
        """Keep only the rows where ``keep`` holds (all when None), then append ``added``.

        Works column by column, replacing each in place, so the table is never held twice:
        at 500,000 open flows a whole second copy would be the largest allocation of a run.
        Kept rows are gathered straight into the new column: one copy per batch, not two.
        """
        rows = None if keep is None else np.flatnonzero(keep)
        size = len(self) if rows is None else rows.shape[0]
        for name in _ROW_COLUMNS:
            column, extra = getattr(self, name), getattr(added, name)
            if not len(added):
                fresh = column if rows is None else column[rows]
            else:
                fresh = np.empty((size + len(added), *column.shape[1:]), dtype=column.dtype)
                if rows is None:
                    fresh[:size] = column
                else:
                    np.take(column, rows, axis=0, out=fresh[:size])
                fresh[size:] = extra
            setattr(self, name, fresh)  # frees the old array before the next is copied

    @staticmethod
    def concat(parts: list[_Rows]) -> _Rows:
        """All rows of ``parts``, in order."""
        return _Rows(
            np.concatenate([p.hash for p in parts]),
            np.concatenate([p.keys for p in parts]),
            np.concatenate([p.counts for p in parts]),
            np.concatenate([p.bits for p in parts]),
            np.concatenate([p.times for p in parts]),
            np.concatenate([p.outer for p in parts]),
            np.concatenate([p.pay for p in parts]),
            np.concatenate([p.beats for p in parts]),
        )


_ROW_COLUMNS = tuple(f.name for f in dataclasses.fields(_Rows))


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
        groups, seg, last_of_key, pos = self._groups(keyed)
        ended, closing, added = self._merge(groups, seg, last_of_key, pos)
        ended.append(self._retire(float(keyed.ts.max()), closing, added))
        return self._emit(_Rows.concat(ended))

    def expire(self, now: float) -> list[Flow]:
        """Emit the flows idle or active too long at ``now`` (a live sensor's clock tick)."""
        return self._emit(self._retire(now, np.zeros(len(self._open), dtype=bool), _Rows()))

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

    def _groups(self, p: PacketKeys) -> tuple[_Rows, I64, Mask, I64]:
        """Sum a batch per key and idle-separated segment; also return each group's segment
        number within its key, whether it is the key's last segment, and each key's row in
        the open table (-1 if none), keys in the order of their first groups."""
        hashes, order = p.hash, np.argsort(p.hash, kind="stable")
        if self._collides(p, order):
            hashes = _exact_ids(p.keys)
            order = np.argsort(hashes, kind="stable")
        h, ts = hashes[order], p.ts[order]
        new_key = np.r_[True, h[1:] != h[:-1]]
        idle = self._idle(p.proto[order])
        gap = np.r_[False, np.diff(ts) > idle[1:]] & ~new_key
        sums, bits = _counter_matrix(p)
        proto = p.proto[order]
        firsts = np.flatnonzero(new_key)
        pos = _positions(self._open.hash, h[firsts])
        linger = self.timeouts.tcp_closed
        if linger is not None:
            seed = self._continued_bits(pos, ts[firsts], proto[firsts])[np.cumsum(new_key) - 1]
            gap = close_cuts(new_key, ts, proto == PROTO_TCP, bits[order], seed, gap, linger)
        starts = np.flatnonzero(new_key | gap)
        cuts = np.cumsum(gap)
        seg: I64 = cuts - cuts[np.maximum.accumulate(np.where(new_key, np.arange(len(h)), 0))]
        stamps = _time_matrix(p)[order]
        t = self.timeouts
        pay, beats = group_beats(ts, p.payload[order], starts, t.beat_gap, t.max_beats)
        rows = _Rows(
            hash=h[starts],
            keys=p.keys[order][starts],
            counts=np.add.reduceat(sums[order], starts, axis=0),
            bits=np.bitwise_or.reduceat(bits[order], starts),
            times=np.column_stack(
                [
                    np.minimum.reduceat(stamps[:, 0], starts),
                    np.maximum.reduceat(stamps[:, 1], starts),
                    np.minimum.reduceat(stamps[:, 2:], starts, axis=0),
                ]
            ),
            outer=p.outer[order][starts],
            pay=pay,
            beats=beats,
        )
        group_key = rows.hash
        last_of_key = np.r_[group_key[1:] != group_key[:-1], True]
        return rows, seg[starts], last_of_key, pos

    def _continued_bits(self, pos: I64, ts: F64, proto: I64) -> I64:
        """Per key of a batch (its table row ``pos``, first packet time and protocol), the flag
        bits of the open flow it continues: zero when it has none or that flow has ended."""
        table = self._open
        bits = np.zeros(pos.shape[0], dtype=np.int64)
        found = np.flatnonzero(pos >= 0)
        row = pos[found]
        alive = ts[found] - table.times[row, 1] <= self._wait(proto[found], table.bits[row])
        bits[found[alive]] = table.bits[row[alive]]
        return bits

    def _wait(self, proto: npt.NDArray[np.uint64] | I64, bits: I64) -> F64:
        """How long each flow may stay silent: its idle timeout, or the linger once closed."""
        linger = self.timeouts.tcp_closed
        if linger is None:
            return self._idle(proto)
        return np.where((proto == PROTO_TCP) & closed(bits), linger, self._idle(proto))

    def _collides(self, p: PacketKeys, order: npt.NDArray[np.intp]) -> bool:
        """Whether two different keys share a hash in this batch (then group exactly);
        ``order`` sorts the batch by hash."""
        h, keys = p.hash[order], p.keys[order]
        same_hash = h[1:] == h[:-1]
        clash = bool((same_hash & (keys[1:] != keys[:-1]).any(axis=1)).any())
        self.stats.hash_collisions += int(clash)
        return clash

    def _merge(
        self, groups: _Rows, seg: I64, last: Mask, pos: I64
    ) -> tuple[list[_Rows], Mask, _Rows]:
        """Fold a batch's groups into the open table; return the groups that ended, which
        table rows end (``closing``) and the groups that open new rows."""
        table = self._open
        first = np.flatnonzero(seg == 0)  # one per key, in the order of ``pos``
        found = pos >= 0
        gap = groups.times[first, 0] - (table.times[pos, 1] if len(table) else np.inf)
        bits = table.bits[pos] if len(table) else np.zeros(len(pos), dtype=np.int64)
        stale = found & (gap > self._wait(groups.keys[first, 6], bits))
        merge = found & ~stale
        g, t = first[merge], pos[merge]
        table.counts[t] += groups.counts[g]
        table.bits[t] |= groups.bits[g]
        table.times[t, 0] = np.minimum(table.times[t, 0], groups.times[g, 0])
        table.times[t, 1] = np.maximum(table.times[t, 1], groups.times[g, 1])
        table.times[t, 2:] = np.minimum(table.times[t, 2:], groups.times[g, 2:])
        gap, cap = self.timeouts.beat_gap, self.timeouts.max_beats
        merge_beats(table.pay, table.beats, t, groups.pay[g], groups.beats[g], gap, cap)
        absorbed = np.zeros(len(groups), dtype=bool)
        absorbed[g] = True
        closing = np.zeros(len(table), dtype=bool)
        closing[pos[stale]] = True  # reappeared after an idle gap: the old flow ended
        closing[t[~last[g]]] = True  # merged, but a later segment of the key follows
        return [groups.take(~absorbed & ~last)], closing, groups.take(~absorbed & last)

    def _retire(self, now: float, closing: npt.NDArray[np.bool_], added: _Rows) -> _Rows:
        """Rebuild the open table once per batch: drop the ``closing`` rows, append ``added``
        and take out the rows that timed out or must be evicted for the state cap; return
        every row that left. One compaction, not two: each copies the whole table."""
        t, table = self.timeouts, self._open
        leaving = closing | self._timed_out(table, now)
        fresh = self._timed_out(added, now)
        overflow = len(table) + len(added) - int(leaving.sum() + fresh.sum()) - t.max_flows
        if overflow > 0:  # stalest first, ties in table order (kept rows, then added ones)
            alive = np.r_[np.flatnonzero(~leaving), len(table) + np.flatnonzero(~fresh)]
            latest = np.r_[table.times[:, 1], added.times[:, 1]][alive]
            stalest = alive[np.argsort(latest, kind="stable")[:overflow]]
            leaving[stalest[stalest < len(table)]] = True
            fresh[stalest[stalest >= len(table)] - len(table)] = True
            self.stats.evicted += overflow
        ended = _Rows.concat([table.take(np.flatnonzero(leaving)), added.take(fresh)])
        table.rebuild(~leaving if leaving.any() else None, added.take(~fresh))
        return ended

    def _timed_out(self, rows: _Rows, now: float) -> Mask:
        """Rows silent past their wait (``_wait``) or open longer than the active timeout."""
        first, latest = rows.times[:, 0], rows.times[:, 1]
        silent = now - latest > self._wait(rows.keys[:, 6], rows.bits)
        return silent | (now - first > self.timeouts.active)

    def _emit(self, rows: _Rows) -> list[Flow]:
        """Turn ended rows into flow records, in a deterministic order."""
        if not len(rows):
            return []
        order = np.lexsort((rows.hash, rows.times[:, 0]))
        rows = rows.take(order)
        beats = beat_offsets(rows.times[:, 0], rows.pay, rows.beats)
        flows = flow_records(
            rows.keys, rows.counts, rows.bits, rows.times, rows.outer, self.sensor, beats
        )
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


def _counter_matrix(p: PacketKeys) -> tuple[I64, I64]:
    """Per packet, the sums of its direction (columns side a, then side b) and its flag bits
    (``FLAG_BITS``, shifted to side b's place for packets from b)."""
    f = p.tcp_flags
    tcp = p.proto == PROTO_TCP
    syn, ack, rst = f & 0x02 > 0, f & 0x10 > 0, f & 0x04 > 0
    values = np.column_stack([np.ones(f.shape[0], dtype=np.int64), p.wirelen, p.refusal])
    side_b = p.dir_b[:, None]
    sums = np.concatenate([values * ~side_b, values * side_b], axis=1)
    flags = [tcp & syn & ~ack, tcp & syn & ack, tcp & ack & ~syn & ~rst]
    flags += [tcp & (f & bit > 0) for bit in (0x01, 0x02, 0x04, 0x08, 0x10, 0x20)]
    bits = np.zeros(f.shape[0], dtype=np.int64)
    for n, used in enumerate(flags):
        bits |= used.astype(np.int64) << n
    return sums, bits << np.where(p.dir_b, SIDE_B_SHIFT, 0)


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
