"""Bidirectional flow table, columnar: numpy group-bys over hashed keys, bounded state.

Each batch's packets are sorted by key hash, split where a key falls idle, summed per group
with ``reduceat`` and merged into the open-flow table by hash lookup. Flows are emitted on
idle or active timeout, shortly after a TCP close when ``tcp_closed`` is set, on eviction when
the state cap is reached (counted), and at the end of input. Who initiated and how the
handshake ended are decided only at emission, from counters and flag bits. Open flows live in
reusable slots (``sensors.flowrows``): a batch touches the rows it changes, never copies the
whole table.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sensors.beats import group_beats, merge_beats
from sensors.closing import close_cuts, closed
from sensors.decode import PROTO_TCP, Decoded
from sensors.events import Flow
from sensors.flowbatch import FlowBatch
from sensors.flowkeys import PacketKeys, hash_order, hash_rows, packet_keys
from sensors.flowrecords import COUNTERS, SIDE_B_SHIFT, TIMES
from sensors.flowrows import OpenRows, Rows

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


class FlowTable:
    """Aggregates decoded batches into flows (:class:`FlowBatch` columns or :class:`Flow`
    records) with bounded state."""

    def __init__(self, sensor: str, timeouts: FlowTimeouts | None = None) -> None:
        self.sensor = sensor
        self.timeouts = timeouts or FlowTimeouts()
        self.stats = FlowStats()
        self._open = OpenRows(self.timeouts.max_flows)

    def add(self, packets: Decoded) -> list[Flow]:
        """Add a batch; return the flows that ended (timed out or evicted) because of it."""
        return self.add_batch(packets).records()

    def add_batch(self, packets: Decoded) -> FlowBatch:
        """Add a batch; return the flows that ended because of it, as columns (``add``'s
        records, not yet built)."""
        self._count(packets)
        keyed = packet_keys(packets)
        if keyed.ts.shape[0] == 0:
            return self._emit(Rows())
        groups, seg, last_of_key, pos = self._groups(keyed)
        ended, closing, added = self._merge(groups, seg, last_of_key, pos)
        ended.append(self._retire(float(keyed.ts.max()), closing, added))
        return self._emit(Rows.concat(ended))

    def expire(self, now: float) -> list[Flow]:
        """Emit the flows idle or active too long at ``now`` (a live sensor's clock tick)."""
        return self.expire_batch(now).records()

    def expire_batch(self, now: float) -> FlowBatch:
        """``expire`` as columns."""
        return self._emit(self._retire(now, np.zeros(self._open.slots, dtype=bool), Rows()))

    def flush(self) -> list[Flow]:
        """Emit every flow still open (end of input)."""
        return [flow for part in self.drain() for flow in part]

    def drain(self, chunk: int = 16_384) -> Iterator[list[Flow]]:
        """Emit every open flow in chunks, so memory stays bounded however many are open."""
        for batch in self.drain_batches(chunk):
            yield batch.records()

    def drain_batches(self, chunk: int = 16_384) -> Iterator[FlowBatch]:
        """``drain`` as columns: every open flow, ``chunk`` flows per batch."""
        store, self._open = self._open, OpenRows(self.timeouts.max_flows)
        order = store.in_order(np.flatnonzero(store.live))  # gathered chunk by chunk: no copy
        for start in range(0, order.shape[0], chunk):
            yield self._emit(store.rows.take(order[start : start + chunk]))

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

    def _groups(self, p: PacketKeys) -> tuple[Rows, I64, Mask, I64]:
        """Sum a batch per key and idle-separated segment; also return each group's segment
        number within its key, whether it is the key's last segment, and each key's row in
        the open table (-1 if none), keys in the order of their first groups."""
        hashes, order = p.hash, hash_order(p.hash)
        if self._collides(p, order):
            hashes = _exact_ids(p.keys)
            order = hash_order(hashes)
        h, ts = hashes[order], p.ts[order]
        new_key = np.r_[True, h[1:] != h[:-1]]
        proto = p.proto[order]
        idle = self._idle(proto)
        gap = np.r_[False, np.diff(ts) > idle[1:]] & ~new_key
        # Per-packet columns are gathered into key order once, then summed in that order.
        flags, dir_b = p.tcp_flags[order], p.dir_b[order]
        sums, bits = _counter_matrix(flags, proto, p.wirelen[order], p.refusal[order], dir_b)
        firsts = np.flatnonzero(new_key)
        pos = self._open.positions(h[firsts])
        linger = self.timeouts.tcp_closed
        if linger is not None:
            seed = self._continued_bits(pos, ts[firsts], proto[firsts])[np.cumsum(new_key) - 1]
            gap = close_cuts(new_key, ts, proto == PROTO_TCP, bits, seed, gap, linger)
        starts = np.flatnonzero(new_key | gap)
        cuts = np.cumsum(gap)
        seg: I64 = cuts - cuts[np.maximum.accumulate(np.where(new_key, np.arange(len(h)), 0))]
        t = self.timeouts
        pay, beats = group_beats(ts, p.payload[order], starts, t.beat_gap, t.max_beats)
        rows = Rows(
            hash=h[starts],
            keys=p.keys[order[starts]],  # gather the groups' keys only, not every packet's
            counts=np.add.reduceat(sums, starts, axis=0),
            bits=np.bitwise_or.reduceat(bits, starts),
            times=_group_times(ts, proto, flags, dir_b, starts),
            outer=p.outer[order[starts]],
            pay=pay,
            beats=beats,
        )
        group_key = rows.hash
        last_of_key = np.r_[group_key[1:] != group_key[:-1], True]
        return rows, seg[starts], last_of_key, pos

    def _continued_bits(self, pos: I64, ts: F64, proto: I64) -> I64:
        """Per key of a batch (its table row ``pos``, first packet time and protocol), the flag
        bits of the open flow it continues: zero when it has none or that flow has ended."""
        table = self._open.rows
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
        h = p.hash[order]
        same_hash = h[1:] == h[:-1]
        # Column by column (contiguous copies): a third of the cost of comparing whole rows,
        # and a clash usually shows in the first address column.
        clash = False
        for column in np.ascontiguousarray(p.keys.T):
            key = column[order]
            if (same_hash & (key[1:] != key[:-1])).any():
                clash = True
                break
        self.stats.hash_collisions += int(clash)
        return clash

    def _merge(self, groups: Rows, seg: I64, last: Mask, pos: I64) -> tuple[list[Rows], Mask, Rows]:
        """Fold a batch's groups into the open table; return the groups that ended, which
        table rows end (``closing``) and the groups that open new rows."""
        table = self._open.rows
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

    def _retire(self, now: float, closing: npt.NDArray[np.bool_], added: Rows) -> Rows:
        """Once per batch: free the ``closing`` rows and those that timed out or must be
        evicted for the state cap, put the ``added`` rows that are still open in their place,
        and return every row that left (``OpenRows``: no copy of the whole table)."""
        t, store = self.timeouts, self._open
        table = store.rows
        leaving = closing | (self._timed_out(table, now) & store.live)
        fresh = self._timed_out(added, now)
        overflow = len(store) + len(added) - int(leaving.sum() + fresh.sum()) - t.max_flows
        if overflow > 0:  # stalest first, ties in insertion order (kept rows, then added ones)
            kept = store.in_order(np.flatnonzero(~leaving & store.live))
            alive = np.r_[kept, len(table) + np.flatnonzero(~fresh)]
            latest = np.r_[table.times[:, 1], added.times[:, 1]][alive]
            stalest = alive[np.argsort(latest, kind="stable")[:overflow]]
            leaving[stalest[stalest < len(table)]] = True
            fresh[stalest[stalest >= len(table)] - len(table)] = True
            self.stats.evicted += overflow
        gone = store.in_order(np.flatnonzero(leaving))
        ended = Rows.concat([table.take(gone), added.take(fresh)])
        store.replace(leaving, added.take(~fresh))
        return ended

    def _timed_out(self, rows: Rows, now: float) -> Mask:
        """Rows silent past their wait (``_wait``) or open longer than the active timeout."""
        first, latest = rows.times[:, 0], rows.times[:, 1]
        quiet = now - latest
        # Only rows past the shortest wait can be past their own: their protocol and flags
        # are read for those few, not for the whole table on every batch.
        t = self.timeouts
        shortest = min(t.tcp_idle, t.other_idle, t.tcp_closed or np.inf)
        maybe = np.flatnonzero(quiet > shortest)
        silent = np.zeros(quiet.shape[0], dtype=bool)
        wait = self._wait(rows.keys[maybe, 6], rows.bits[maybe])
        silent[maybe] = quiet[maybe] > wait
        return silent | (now - first > t.active)

    def _emit(self, rows: Rows) -> FlowBatch:
        """Hand ended rows out as a batch, in a deterministic order."""
        if len(rows) > 1:
            rows.permute(np.lexsort((rows.hash, rows.times[:, 0])))  # ``rows`` is ours to reorder
        self.stats.flows += len(rows)
        return FlowBatch.of_rows(self.sensor, rows)


def _exact_ids(keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """Collision-free group ids from the full keys (slow path, used only on a hash clash)."""
    _, inverse = np.unique(keys, axis=0, return_inverse=True)
    return hash_rows(inverse.reshape(-1, 1).astype(np.uint64))


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
"""Flag bits by ``(tcp_flags & 0x3F) | 64 * from_side_b`` (``_counter_matrix``)."""


def _counter_matrix(
    f: I64, proto: I64, wirelen: I64, refusal: Mask, dir_b: Mask
) -> tuple[I64, I64]:
    """Per packet (TCP flags ``f``, protocol, wire length, whether an ICMP refusal, whether
    from side b), the sums of its direction (columns side a, then side b) and its flag bits
    (``FLAG_BITS``, shifted to side b's place for packets from b)."""
    sums = np.empty((f.shape[0], 2 * len(COUNTERS)), dtype=np.int64, order="F")
    for side, mine in ((0, ~dir_b), (len(COUNTERS), dir_b)):
        sums[:, side] = mine
        sums[:, side + 1] = np.where(mine, wirelen, 0)
        sums[:, side + 2] = refusal & mine
    # One lookup per packet instead of nine flag tests; other protocols have no flag bits.
    flags = np.where(proto == PROTO_TCP, (f & 0x3F) | (dir_b.astype(np.int64) << 6), 0)
    return sums, FLAG_TABLE[flags]


def _group_times(ts: F64, proto: I64, flags: I64, dir_b: Mask, starts: I64) -> F64:
    """Per group of packets (``starts``): first and last time, and per side the first time
    and the first SYN's (inf when none); one contiguous reduction per column."""
    syn = (proto == PROTO_TCP) & (flags & 0x12 == 0x02)
    a, b = ~dir_b, dir_b
    out = np.empty((starts.shape[0], len(TIMES)), dtype=np.float64)
    out[:, 0] = np.minimum.reduceat(ts, starts)
    out[:, 1] = np.maximum.reduceat(ts, starts)
    for column, sent in enumerate((a, b, a & syn, b & syn), start=2):
        out[:, column] = np.minimum.reduceat(np.where(sent, ts, np.inf), starts)
    return out
