"""Bidirectional flow table, columnar: group-bys over hashed keys, bounded state.

Each batch's packets are sorted by key hash, then split where a key falls idle and summed per
group in one compiled pass (``sensors.flowgroups``), and the groups are merged into the
open-flow table by hash lookup (``sensors.flowindex``). Flows are emitted on idle or active
timeout (``sensors.flowexpiry``), shortly after a TCP close when ``tcp_closed`` is set, on
eviction when the state cap is reached (counted), and at the end of input. Who initiated and
how the handshake ended are decided only at emission, from counters and flag bits. Open flows
live in reusable slots (``sensors.flowrows``): a batch changes only the rows it touches and
never copies the whole table.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sensors.beats import group_beats, merge_beats
from sensors.closing import closed
from sensors.decode import PROTO_TCP, Decoded
from sensors.events import Flow
from sensors.flowbatch import FlowBatch
from sensors.flowexpiry import Waits, expired
from sensors.flowgroups import Splits, fold_groups, hash_clash, sum_groups
from sensors.flowkeys import PacketKeys, hash_order, hash_rows, packet_keys
from sensors.flowrows import OpenRows, Picks, Rows, gather_picks, rows_at

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
        t = self.timeouts
        self._waits = Waits(t.tcp_idle, t.other_idle, t.tcp_closed, t.active)

    def add(self, packets: Decoded) -> list[Flow]:
        """Add a batch; return the flows that ended (timed out or evicted) because of it."""
        return self.add_batch(packets).records()

    def add_batch(self, packets: Decoded) -> FlowBatch:
        """Add a batch; return the flows that ended because of it, as columns (``add``'s
        records, not yet built)."""
        self._count(packets)
        keyed = packet_keys(packets)
        if keyed.ts.shape[0] == 0:
            return self._emit([])
        groups, seg, last_of_key, pos = self._groups(keyed)
        ended, closing, added = self._merge(groups, seg, last_of_key, pos)
        return self._retire(float(keyed.ts.max()), closing, added, [(groups, ended)])

    def expire(self, now: float) -> list[Flow]:
        """Emit the flows idle or active too long at ``now`` (a live sensor's clock tick)."""
        return self.expire_batch(now).records()

    def expire_batch(self, now: float) -> FlowBatch:
        """``expire`` as columns."""
        return self._retire(now, np.zeros(self._open.slots, dtype=bool), Rows(), [])

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
            yield self._emit([(store.rows, order[start : start + chunk])])

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
        order = hash_order(p.hash)
        h = p.hash[order]
        if hash_clash(order, h, p.keys):  # then group by the exact keys
            self.stats.hash_collisions += 1
            hashes = _exact_ids(p.keys)
            order = hash_order(hashes)
            h = hashes[order]
        ts = p.ts[order]
        firsts = np.flatnonzero(np.r_[True, h[1:] != h[:-1]])
        pos = self._open.positions(h[firsts])
        t = self.timeouts
        if t.tcp_closed is None:
            seed = np.zeros(firsts.shape[0], dtype=np.int64)
        else:
            seed = self._continued_bits(pos, ts[firsts], p.proto[order[firsts]])
        splits = Splits(t.tcp_idle, t.other_idle, t.tcp_closed or np.inf)
        groups = sum_groups(p, order, h, ts, seed, splits)
        starts = groups.starts
        pay, beats = group_beats(ts, p.payload[order], starts, t.beat_gap, t.max_beats)
        first_packet = order[starts]  # gather the groups' keys only, not every packet's
        rows = Rows(
            hash=h[starts],
            keys=rows_at(p.keys, first_packet),
            counts=groups.counts,
            bits=groups.bits,
            times=groups.times,
            outer=rows_at(p.outer, first_packet),
            pay=pay,
            beats=beats,
        )
        return rows, groups.seg, groups.last_of_key, pos

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

    def _merge(self, groups: Rows, seg: I64, last: Mask, pos: I64) -> tuple[I64, Mask, Rows]:
        """Fold a batch's groups into the open table; return the groups that ended (their
        positions), which table rows end (``closing``) and the groups that open new rows."""
        table = self._open.rows
        first = np.flatnonzero(seg == 0)  # one per key, in the order of ``pos``
        found = pos >= 0
        gap = groups.times[first, 0] - (table.times[pos, 1] if len(table) else np.inf)
        bits = table.bits[pos] if len(table) else np.zeros(len(pos), dtype=np.int64)
        stale = found & (gap > self._wait(groups.keys[first, 6], bits))
        merge = found & ~stale
        g, t = first[merge], pos[merge]
        fold_groups(table, t, groups, g)
        gap, cap = self.timeouts.beat_gap, self.timeouts.max_beats
        merge_beats(table.pay, table.beats, t, groups.pay[g], groups.beats[g], gap, cap)
        absorbed = np.zeros(len(groups), dtype=bool)
        absorbed[g] = True
        closing = np.zeros(len(table), dtype=bool)
        closing[pos[stale]] = True  # reappeared after an idle gap: the old flow ended
        closing[t[~last[g]]] = True  # merged, but a later segment of the key follows
        return np.flatnonzero(~absorbed & ~last), closing, groups.take(~absorbed & last)

    def _retire(self, now: float, closing: Mask, added: Rows, ended: Picks) -> FlowBatch:
        """Once per batch: free the ``closing`` rows and those that timed out or must be
        evicted for the state cap, put the ``added`` rows that are still open in their place,
        and emit every row that left, after the ``ended`` ones (``OpenRows``: no copy of the
        whole table)."""
        t, store = self.timeouts, self._open
        table = store.rows
        leaving = closing | self._timed_out(table, now, store.live)
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
        batch = self._emit([*ended, (table, gone), (added, np.flatnonzero(fresh))])
        store.replace(leaving, added.take(~fresh))  # only now: ``gone`` rows were read above
        return batch

    def _timed_out(self, rows: Rows, now: float, live: Mask | None = None) -> Mask:
        """Rows (``live`` ones, all when None) silent past their wait (``_wait``) or open
        longer than the active timeout."""
        if live is None:
            live = np.ones(len(rows), dtype=bool)
        return expired(rows.times, rows.keys, rows.bits, live, now, self._waits)

    def _emit(self, picks: Picks) -> FlowBatch:
        """Hand ended rows out as a batch, in a deterministic order (start time, then hash;
        ties in the order picked)."""
        start = np.concatenate([np.zeros(0), *(rows.times[at, 0] for rows, at in picks)])
        hashes = np.concatenate([np.zeros(0, np.uint64), *(rows.hash[at] for rows, at in picks)])
        rows = gather_picks(picks, np.lexsort((hashes, start)))
        self.stats.flows += len(rows)
        return FlowBatch.of_rows(self.sensor, rows)


def _exact_ids(keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """Collision-free group ids from the full keys (slow path, used only on a hash clash)."""
    _, inverse = np.unique(keys, axis=0, return_inverse=True)
    return hash_rows(inverse.reshape(-1, 1).astype(np.uint64))
