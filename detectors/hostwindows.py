"""Per-host behaviour in fixed time windows: the feature rows the anomaly baseline learns from.

A row describes one local host on one link (the flow's observer) during one window: how many
connections it made and took, how many peers and destination ports it touched, the bytes and
packets, the share of its attempts that failed and the share of its peers it had not met in
the previous windows. Identities (addresses, ports, times) are row keys, never model inputs.

:func:`host_windows` builds the rows of a batch of flows with pandas; :class:`WindowTally` is
the same arithmetic for one open window of a stream (the anomaly detector), so training and
scoring compute identical features (``tests/test_hostwindows.py`` checks it), except past the
stream's memory caps (``max_items`` per window, ``max_peers_remembered`` per host).
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import pandas as pd

from detectors.evidence import Cited
from detectors.ranges import check_ranges
from detectors.site import Site
from detectors.windows import BoundedMap
from sensors.events import Flow, TcpOutcome

FEATURES: tuple[str, ...] = (
    "initiated",
    "received",
    "distinct_peers",
    "distinct_ports",
    "bytes_out",
    "bytes_in",
    "packets",
    "failure_ratio",
    "new_peer_share",
)
"""Model inputs, in the order the model sees them."""
HEAVY_TAILED: frozenset[str] = frozenset(FEATURES[:7])
"""Counts spanning orders of magnitude: the model sees ``log1p`` of them."""
KEYS: tuple[str, ...] = ("link", "host", "unit", "window")
"""Row identity: never a model input."""
FAILED = frozenset({TcpOutcome.REJECTED, TcpOutcome.UNANSWERED, TcpOutcome.HALF_OPEN})
"""Outcomes of an attempt nobody accepted (refused, unanswered or abandoned handshakes)."""


@dataclass(frozen=True, kw_only=True)
class WindowSpec:
    """How flows are cut into host windows."""

    window_seconds: float = 300.0
    """Length of a window (5 minutes: long enough for a client's routine, short for a scan)."""
    history_windows: int = 12
    """A peer is new when the host has not met it in this many previous windows (1 hour)."""
    max_peers_remembered: int = 4096
    """Peers remembered per host for the new-peer share; the least recent are forgotten."""

    def __post_init__(self) -> None:
        check_ranges(
            self,
            {
                "window_seconds": 10.0 <= self.window_seconds <= 86_400.0,
                "history_windows": 1 <= self.history_windows <= 10_000,
                "max_peers_remembered": 1 <= self.max_peers_remembered <= 1_000_000,
            },
        )

    def window_of(self, t: float) -> float:
        """Start of the window holding time ``t``."""
        return math.floor(t / self.window_seconds) * self.window_seconds


@dataclass(frozen=True, kw_only=True)
class Side:
    """One local end of a flow, seen from that host."""

    host: str
    peer: str
    initiated: bool
    port: int
    bytes_out: int
    bytes_in: int
    packets: int
    failed: bool


def is_local(site: Site, ip: str) -> bool:
    """Whether ``ip`` is on the site's side: its networks, or any private address without a map."""
    if site.internal:
        return site.is_internal(ip)
    try:
        return ipaddress.ip_address(ip).is_private
    except ValueError:
        return False


def sides(flow: Flow, site: Site) -> Iterator[Side]:
    """The flow as its local initiator and (if it accepted) its local responder saw it."""
    packets = flow.packets_out + flow.packets_in
    failed = flow.outcome in FAILED or (flow.outcome is TcpOutcome.NOT_TCP and not flow.answered)
    if is_local(site, flow.src_ip):
        yield Side(
            host=flow.src_ip,
            peer=flow.dst_ip,
            initiated=True,
            port=flow.dst_port,
            bytes_out=flow.bytes_out,
            bytes_in=flow.bytes_in,
            packets=packets,
            failed=failed,
        )
    # A refused or unanswered contact is the initiator's behaviour: counting it for the
    # responder too would give every address a scan touches a row of its own.
    if not failed and is_local(site, flow.dst_ip) and flow.dst_ip != flow.src_ip:
        yield Side(
            host=flow.dst_ip,
            peer=flow.src_ip,
            initiated=False,
            port=flow.dst_port,
            bytes_out=flow.bytes_in,
            bytes_in=flow.bytes_out,
            packets=packets,
            failed=False,
        )


def host_windows(flows: Iterable[Flow], site: Site, spec: WindowSpec) -> pd.DataFrame:
    """Feature rows (``KEYS`` then ``FEATURES``) of a batch of flows, sorted by key."""
    units: dict[str, str] = {}  # hosts repeat: look each one up once

    def unit(host: str) -> str:
        if host not in units:
            units[host] = site.unit_of(host) or ""
        return units[host]

    records = [
        (flow.sensor, s.host, unit(s.host), spec.window_of(flow.start), s)
        for flow in flows
        for s in sides(flow, site)
    ]
    if not records:
        return pd.DataFrame({name: pd.Series(dtype=_dtype(name)) for name in (*KEYS, *FEATURES)})
    frame = pd.DataFrame(
        {
            "link": [r[0] for r in records],
            "host": [r[1] for r in records],
            "unit": [r[2] for r in records],
            "window": [r[3] for r in records],
            "peer": [r[4].peer for r in records],
            "initiated": [int(r[4].initiated) for r in records],
            "port": [r[4].port if r[4].initiated else None for r in records],
            "bytes_out": [r[4].bytes_out for r in records],
            "bytes_in": [r[4].bytes_in for r in records],
            "packets": [r[4].packets for r in records],
            "failed": [int(r[4].failed) for r in records],
        }
    )
    frame["received"] = 1 - frame["initiated"]
    grouped = frame.groupby(["link", "host", "unit", "window"], sort=True)
    rows = grouped.agg(
        initiated=("initiated", "sum"),
        received=("received", "sum"),
        distinct_peers=("peer", "nunique"),
        distinct_ports=("port", "nunique"),
        bytes_out=("bytes_out", "sum"),
        bytes_in=("bytes_in", "sum"),
        packets=("packets", "sum"),
        failures=("failed", "sum"),
    ).reset_index()
    attempts = rows["initiated"].where(rows["initiated"] > 0, 1)
    rows["failure_ratio"] = rows["failures"] / attempts
    rows["new_peer_share"] = _new_peer_share(frame, rows, spec)
    return rows[[*KEYS, *FEATURES]].astype({n: _dtype(n) for n in FEATURES})


def _new_peer_share(frame: pd.DataFrame, rows: pd.DataFrame, spec: WindowSpec) -> pd.Series:
    """Per row: distinct peers not met by the host in the previous ``history_windows``."""
    met = frame[["link", "host", "unit", "window", "peer"]].drop_duplicates()
    met = met.sort_values(["link", "host", "peer", "window"])
    previous = met.groupby(["link", "host", "peer"])["window"].shift(1)
    horizon = spec.history_windows * spec.window_seconds
    met["new"] = (previous.isna() | (met["window"] - previous > horizon)).astype(int)
    new = met.groupby(["link", "host", "unit", "window"])["new"].sum()
    keyed = rows.set_index(["link", "host", "unit", "window"])
    return pd.Series((new.reindex(keyed.index).to_numpy() / keyed["distinct_peers"]).to_numpy())


def _dtype(name: str) -> str:
    if name in ("link", "host", "unit"):
        return "object"
    return "float64"


@dataclass
class WindowTally:
    """One host's open window in a stream: the same sums :func:`host_windows` makes."""

    start: float
    max_items: int
    initiated: int = 0
    received: int = 0
    bytes_out: int = 0
    bytes_in: int = 0
    packets: int = 0
    failures: int = 0
    peers: set[str] = field(default_factory=set)
    ports: set[int] = field(default_factory=set)
    capped: int = 0  # peers or ports not remembered because the sets were full
    samples: list[Cited] = field(default_factory=list)  # the first few flows, as evidence

    def add(self, side: Side) -> None:
        """Count one side of a flow."""
        self.initiated += side.initiated
        self.received += not side.initiated
        self.bytes_out += side.bytes_out
        self.bytes_in += side.bytes_in
        self.packets += side.packets
        self.failures += side.failed
        self._remember(self.peers, side.peer)
        if side.initiated:
            self._remember(self.ports, side.port)

    def _remember(self, items: set[str] | set[int], item: str | int) -> None:
        if item in items:
            return
        if len(items) >= self.max_items:
            self.capped += 1
            return
        items.add(item)  # type: ignore[arg-type]

    def features(self, history: PeerHistory) -> tuple[float, ...]:
        """The row in ``FEATURES`` order; updates ``history`` with this window's peers."""
        new = history.meet(self.peers, self.start)
        peers = len(self.peers)
        return (
            float(self.initiated),
            float(self.received),
            float(peers),
            float(len(self.ports)),
            float(self.bytes_out),
            float(self.bytes_in),
            float(self.packets),
            self.failures / max(self.initiated, 1),
            new / peers if peers else 0.0,
        )


class PeerHistory:
    """The peers one host met recently, with the window each was last met in (bounded)."""

    def __init__(self, spec: WindowSpec) -> None:
        self.spec = spec
        self._last: BoundedMap[str, float] = BoundedMap(spec.max_peers_remembered)

    @property
    def evictions(self) -> int:
        """Peers forgotten because the host met too many."""
        return self._last.evictions

    def meet(self, peers: Sequence[str] | set[str], window: float) -> int:
        """Record ``peers`` as met in ``window``; return how many were new."""
        horizon = self.spec.history_windows * self.spec.window_seconds
        new = 0
        for peer in sorted(peers):
            last = self._last.pop(peer)
            if last is None or window - last > horizon:
                new += 1
            self._last.touch(peer, lambda: window)
        return new
