"""Bidirectional flow table built with pandas group-bys over decoded batches.

Packets are keyed canonically (lower endpoint first) so both directions meet in one row;
per-direction counters and first-seen times are aggregated per batch and merged into the
table, which emits flows on idle or active timeout, on eviction when the state cap is hit,
and at the end of input. Which side initiated and how the handshake ended are decided only
when a flow is emitted, from the aggregated counters.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sensors.decode import PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, Decoded
from sensors.events import Flow, TcpOutcome, Transport

KEY = ["a_hi", "a_lo", "b_hi", "b_lo", "a_port", "b_port", "proto", "vlan"]
SIDES = ("a", "b")
FLAG_BITS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10, "U": 0x20}
SUMS = [
    f"{side}_{name}"
    for side in SIDES
    for name in ("pkts", "bytes", "syn", "synack", "rst", "fin", "ack", *FLAG_BITS)
]
FIRSTS = [f"{side}_{name}" for side in SIDES for name in ("first", "first_syn")]
ICMP_REQUEST_OF = {0: 8, 14: 13, 16: 15, 18: 17, 129: 128}  # replies join their request's flow
TRANSPORTS = {
    PROTO_TCP: Transport.TCP,
    PROTO_UDP: Transport.UDP,
    PROTO_ICMP: Transport.ICMP,
    PROTO_ICMPV6: Transport.ICMPV6,
}


@dataclass(frozen=True, kw_only=True)
class FlowTimeouts:
    """When the flow table lets go of a flow."""

    tcp_idle: float = 300.0  # seconds without packets; Zeek's TCP inactivity default
    other_idle: float = 60.0  # UDP and ICMP: short-lived request/response exchanges
    active: float = 3600.0  # long flows are reported hourly so nothing waits forever
    max_flows: int = 500_000  # state cap; beyond it the stalest flows are emitted early

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


class FlowTable:
    """Aggregates decoded batches into :class:`Flow` records with bounded state."""

    def __init__(self, sensor: str, timeouts: FlowTimeouts | None = None) -> None:
        self.sensor = sensor
        self.timeouts = timeouts or FlowTimeouts()
        self.stats = FlowStats()
        self._table = pd.DataFrame(columns=[*KEY, *SUMS, *FIRSTS, "first", "last"])

    def add(self, packets: Decoded) -> list[Flow]:
        """Add a batch; return the flows that ended (timed out or evicted) because of it."""
        frame = self._frame(packets)
        if frame.empty:
            return []
        old = self._table
        batch = _aggregate(_segment(frame, self._idle(frame["proto"])))
        stale = _stale(old, batch, self._idle(old["proto"]))
        merged = _merge(old.loc[~stale].assign(seg=0), batch)
        split = _superseded(merged)
        self._table = merged.loc[~split].drop(columns="seg").reset_index(drop=True)
        expired = self._expire(float(frame["ts"].max()))
        ended = [old.loc[stale], merged.loc[split].drop(columns="seg"), expired]
        return self._emit(pd.concat([part for part in ended if len(part)] or [expired]))

    def flush(self) -> list[Flow]:
        """Emit every flow still open (end of input)."""
        done, self._table = self._table, self._table.iloc[0:0]
        return self._emit(done)

    def __len__(self) -> int:
        return len(self._table)

    def _frame(self, d: Decoded) -> pd.DataFrame:
        """Select flow-worthy packets and key them canonically."""
        n = d.ts.shape[0]
        usable = d.ip & ~d.later_fragment & d.l4_ok
        self.stats.packets += n
        self.stats.ip_packets += int(d.ip.sum())
        self.stats.non_ip += int(n - d.ip.sum())
        self.stats.later_fragments += int(d.later_fragment.sum())
        self.stats.no_transport += int((d.ip & ~d.later_fragment & ~d.l4_ok).sum())
        return _canonical(d, usable)

    def _idle(self, proto: pd.Series) -> np.ndarray:
        """Idle timeout of each row by its protocol."""
        return np.where(proto == PROTO_TCP, self.timeouts.tcp_idle, self.timeouts.other_idle)

    def _expire(self, now: float) -> pd.DataFrame:
        """Take out and return the rows that timed out or must be evicted for the state cap."""
        t, table = self.timeouts, self._table
        idle = self._idle(table["proto"])
        done = (now - table["last"] > idle) | (now - table["first"] > t.active)
        overflow = len(table) - int(done.sum()) - t.max_flows
        if overflow > 0:
            stalest = table.loc[~done, "last"].nsmallest(overflow).index
            done = done | table.index.isin(stalest)
            self.stats.evicted += overflow
        self._table = table.loc[~done]
        return table.loc[done]

    def _emit(self, rows: pd.DataFrame) -> list[Flow]:
        """Turn ended rows into flows, in a deterministic order."""
        flows = _flows(rows, self.sensor) if len(rows) else []
        self.stats.flows += len(flows)
        return flows


def _canonical(d: Decoded, usable: np.ndarray) -> pd.DataFrame:
    """One row per usable packet: canonical key, direction and per-packet counters."""
    idx = np.flatnonzero(usable)
    proto = d.proto[idx]
    icmp = (proto == PROTO_ICMP) | (proto == PROTO_ICMPV6)
    sport = d.sport[idx]
    sport = np.where(icmp, pd.Series(sport).map(ICMP_REQUEST_OF).fillna(pd.Series(sport)), sport)
    src = (d.src_hi[idx], d.src_lo[idx])
    dst = (d.dst_hi[idx], d.dst_lo[idx])
    ip_gt = (src[0] > dst[0]) | ((src[0] == dst[0]) & (src[1] > dst[1]))
    ip_eq = (src[0] == dst[0]) & (src[1] == dst[1])
    # ICMP has no ports to order by: its "ports" are type and code, kept as sent.
    swap = ip_gt | (ip_eq & ~icmp & (sport > d.dport[idx]))
    flags = d.tcp_flags[idx]
    frame = pd.DataFrame(
        {
            "a_hi": np.where(swap, dst[0], src[0]),
            "a_lo": np.where(swap, dst[1], src[1]),
            "b_hi": np.where(swap, src[0], dst[0]),
            "b_lo": np.where(swap, src[1], dst[1]),
            "a_port": np.where(swap & ~icmp, d.dport[idx], sport),
            "b_port": np.where(swap & ~icmp, sport, d.dport[idx]),
            "proto": proto,
            "vlan": d.vlan[idx],
            "ts": d.ts[idx],
            "dir_b": swap,
            "bytes": d.wirelen[idx],
        }
    )
    tcp = proto == PROTO_TCP
    syn, ack, rst = flags & 0x02 > 0, flags & 0x10 > 0, flags & 0x04 > 0
    frame["syn"] = tcp & syn & ~ack
    frame["synack"] = tcp & syn & ack
    frame["rst"] = tcp & rst
    frame["fin"] = tcp & (flags & 0x01 > 0)
    frame["ack"] = tcp & ack & ~syn & ~rst
    for name, bit in FLAG_BITS.items():
        frame[name] = tcp & (flags & bit > 0)
    return frame


def _segment(frame: pd.DataFrame, idle: np.ndarray) -> pd.DataFrame:
    """Number each key's packets by idle-separated segment (0 for the first)."""
    frame = frame.assign(idle=idle).sort_values([*KEY, "ts"], kind="stable")
    same = (frame[KEY].shift() == frame[KEY]).all(axis=1)
    cut = same & (frame["ts"].diff() > frame["idle"])
    count = cut.astype(np.int64).cumsum()
    frame["seg"] = (count - count.where(~same).ffill()).astype(np.int64)
    return frame


def _stale(table: pd.DataFrame, batch: pd.DataFrame, idle: np.ndarray) -> pd.Series:
    """Table rows whose key reappears in the batch only after an idle gap."""
    if table.empty:
        return pd.Series(False, index=table.index)
    firsts = batch.loc[batch["seg"] == 0, [*KEY, "first"]]
    joined = table[[*KEY, "last"]].merge(firsts, on=KEY, how="left")
    return pd.Series((joined["first"] - joined["last"] > idle).to_numpy(), index=table.index)


def _superseded(merged: pd.DataFrame) -> pd.Series:
    """Segments followed by a later segment of the same key: they are finished."""
    return merged["seg"] < merged.groupby(KEY)["seg"].transform("max")


def _aggregate(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-flow sums and first-seen times of one batch, split by direction."""
    cols: dict[str, pd.Series] = {}
    for side, mask in (("a", ~frame["dir_b"]), ("b", frame["dir_b"])):
        cols[f"{side}_pkts"] = mask.astype(np.int64)
        cols[f"{side}_bytes"] = frame["bytes"].where(mask, 0)
        for name in ("syn", "synack", "rst", "fin", "ack", *FLAG_BITS):
            cols[f"{side}_{name}"] = (frame[name] & mask).astype(np.int64)
        cols[f"{side}_first"] = frame["ts"].where(mask, np.inf)
        cols[f"{side}_first_syn"] = frame["ts"].where(mask & frame["syn"], np.inf)
    work = pd.concat([frame[[*KEY, "seg"]], pd.DataFrame(cols), frame["ts"]], axis=1)
    spec: dict[str, tuple[str, str]] = {c: (c, "sum") for c in SUMS}
    spec.update({c: (c, "min") for c in FIRSTS})
    spec.update({"first": ("ts", "min"), "last": ("ts", "max")})
    return work.groupby([*KEY, "seg"], sort=False, as_index=False).agg(**spec)


def _merge(table: pd.DataFrame, batch: pd.DataFrame) -> pd.DataFrame:
    """Fold a batch's aggregates into the table."""
    if table.empty:
        return batch
    both = pd.concat([table, batch], ignore_index=True)
    spec: dict[str, tuple[str, str]] = {c: (c, "sum") for c in SUMS}
    spec.update({c: (c, "min") for c in [*FIRSTS, "first"]})
    spec["last"] = ("last", "max")
    return both.groupby([*KEY, "seg"], sort=False, as_index=False).agg(**spec)


def _addresses(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """Render 128-bit keys as IPv4 (when IPv4-mapped) or IPv6 strings, once per distinct one."""
    out = np.empty(hi.shape[0], dtype=object)
    v4 = (hi == 0) & (lo >> np.uint64(32) == 0xFFFF)
    codes, uniques = pd.factorize(lo[v4])
    names = [str(ipaddress.IPv4Address(int(v) & 0xFFFFFFFF)) for v in uniques]
    out[v4] = np.asarray(names, dtype=object)[codes] if names else []
    for n in np.flatnonzero(~v4):  # IPv6 is rare on government extranets: plain loop
        out[n] = str(ipaddress.IPv6Address((int(hi[n]) << 64) | int(lo[n])))
    return out


FLAG_TEXT = np.array(
    ["".join(ch for n, ch in enumerate(FLAG_BITS) if bits >> n & 1) for bits in range(64)],
    dtype=object,
)
"""Flag letters for every combination of the six tracked flags (bit n = n-th letter)."""


def _flag_text(rows: pd.DataFrame, side: np.ndarray) -> np.ndarray:
    """The TCP flags each flow's chosen side used, as letters (e.g. ``FSPA``)."""
    bits = np.zeros(len(rows), dtype=np.int64)
    for n, letter in enumerate(FLAG_BITS):
        used = np.where(side, rows[f"a_{letter}"], rows[f"b_{letter}"]) > 0
        bits |= used.astype(np.int64) << n
    return FLAG_TEXT[bits]


def _outcomes(get: Any) -> np.ndarray:
    """How each TCP handshake went, from initiator (``i_``) and responder (``r_``) counters."""
    completed = get("i_ack") > 0
    ended = (get("i_fin") + get("r_fin") + get("i_rst") + get("r_rst")) > 0
    answered_syn = (get("r_synack") > 0) | completed
    return np.select(
        [
            get("i_syn") == 0,
            get("r_pkts") == 0,
            answered_syn & ~completed,
            answered_syn & ended,
            answered_syn,
            get("r_rst") > 0,
        ],
        [
            TcpOutcome.MIDSTREAM.value,
            TcpOutcome.UNANSWERED.value,
            TcpOutcome.HALF_OPEN.value,
            TcpOutcome.CLOSED.value,
            TcpOutcome.ESTABLISHED.value,
            TcpOutcome.REJECTED.value,
        ],
        TcpOutcome.HALF_OPEN.value,
    )


def _initiator_is_a(rows: pd.DataFrame) -> np.ndarray:
    """The side that sent the first SYN initiated; without SYNs, the side that spoke first."""
    a_syn, b_syn = rows["a_first_syn"].to_numpy(), rows["b_first_syn"].to_numpy()
    any_syn = np.isfinite(a_syn) | np.isfinite(b_syn)
    return np.where(any_syn, a_syn <= b_syn, rows["a_first"] <= rows["b_first"])


def _flows(rows: pd.DataFrame, sensor: str) -> list[Flow]:
    """Build :class:`Flow` records of table rows, computing every column vectorised."""
    rows = rows.sort_values(["first", *KEY], kind="stable")  # deterministic output order
    a_init = _initiator_is_a(rows)

    def get(name: str) -> np.ndarray:
        side, field = name.split("_", 1)
        first, second = (
            (f"a_{field}", f"b_{field}") if side == "i" else (f"b_{field}", f"a_{field}")
        )
        return np.where(a_init, rows[first], rows[second])

    proto = rows["proto"].to_numpy()
    tcp = proto == PROTO_TCP
    # ICMP ports are (type, code) as first sent; they do not swap with the direction.
    icmp = (proto == PROTO_ICMP) | (proto == PROTO_ICMPV6)
    sport = np.where(icmp, rows["a_port"], get("i_port"))
    dport = np.where(icmp, rows["b_port"], get("r_port"))
    outcome = np.where(tcp, _outcomes(get), TcpOutcome.NOT_TCP.value)
    columns = zip(
        rows["first"].tolist(),
        rows["last"].tolist(),
        _addresses(get("i_hi"), get("i_lo")).tolist(),
        sport.tolist(),
        _addresses(get("r_hi"), get("r_lo")).tolist(),
        dport.tolist(),
        proto.tolist(),
        get("i_pkts").tolist(),
        get("r_pkts").tolist(),
        get("i_bytes").tolist(),
        get("r_bytes").tolist(),
        outcome.tolist(),
        np.where(tcp, _flag_text(rows, a_init), "").tolist(),
        np.where(tcp, _flag_text(rows, ~a_init), "").tolist(),
        rows["vlan"].tolist(),
        strict=True,
    )
    outcomes = {o.value: o for o in TcpOutcome}
    return [
        Flow(
            start=c[0],
            end=c[1],
            sensor=sensor,
            src_ip=c[2],
            src_port=c[3],
            dst_ip=c[4],
            dst_port=c[5],
            transport=TRANSPORTS.get(c[6], Transport.OTHER),
            packets_out=c[7],
            packets_in=c[8],
            bytes_out=c[9],
            bytes_in=c[10],
            outcome=outcomes[c[11]],
            flags_out=c[12],
            flags_in=c[13],
            vlan=c[14] if c[14] >= 0 else None,
        )
        for c in columns
    ]


def flows_of(batches: Iterator[Decoded], table: FlowTable) -> Iterator[list[Flow]]:
    """Run decoded batches through ``table``, yielding finished flows batch by batch."""
    for batch in batches:
        done = table.add(batch)
        if done:
            yield done
    rest = table.flush()
    if rest:
        yield rest
