"""Port scans by fan-out: many failed contacts from one source within a window.

Only *failed* first contacts count (refused, unanswered, abandoned half-open, or stealth
probes without a SYN), as in Zeek's scan policy: a monitoring system that reaches live
services is never counted. A vertical scan is many ports on one host; a horizontal scan
is one port on many hosts. One alert fires when a threshold is crossed, and a summary with
the final counts when the source falls silent for a whole window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from detectors.alert import Alert, Severity
from detectors.attack import Tactic
from detectors.ranges import check_ranges
from detectors.site import Site
from detectors.windows import BoundedMap
from sensors.events import Event, Flow, TcpOutcome, Transport

MAX_ITEMS = 65_536
"""Distinct ports or hosts one episode remembers (summaries then say "at least")."""
FAILED = {TcpOutcome.REJECTED, TcpOutcome.UNANSWERED, TcpOutcome.HALF_OPEN, TcpOutcome.MIDSTREAM}
UDP_FAILED = (TcpOutcome.UNANSWERED, TcpOutcome.REJECTED)
"""Outcomes of a failed UDP contact: no answer, or an ICMP port unreachable."""


@dataclass(frozen=True, kw_only=True)
class PortScanConfig:
    """Thresholds of the fan-out scan detector."""

    window_seconds: float = 300.0
    """Failed contacts older than this are forgotten (Zeek's scan policy uses 5 min)."""
    vertical_ports: int = 15
    """Distinct failed ports on one host that make a vertical scan (Zeek: 15)."""
    horizontal_hosts: int = 20
    """Distinct failed hosts on one port that make a horizontal scan (Zeek: 25)."""
    sample_size: int = 20
    """How many targets and evidence flows an alert lists."""
    max_sources: int = 100_000
    """State cap: the least recently active episodes are dropped (and counted) beyond it."""
    site: Site = field(default_factory=Site, metadata={"site": True})

    def __post_init__(self) -> None:
        checks = {
            "window_seconds": 1.0 <= self.window_seconds <= 86_400.0,
            "vertical_ports": 2 <= self.vertical_ports <= 65_535,
            "horizontal_hosts": 2 <= self.horizontal_hosts <= 1 << 24,
            "sample_size": 1 <= self.sample_size <= 1000,
            "max_sources": 1 <= self.max_sources <= 10_000_000,
        }
        check_ranges(self, checks)


@dataclass(slots=True)
class _Episode:
    """Failed contacts of one (source, kind, target) while the scan goes on."""

    first: float
    last: float
    sensor: str
    seen: dict[str | int, float] = field(default_factory=dict)  # port or host -> last time
    evidence: list[str] = field(default_factory=list)
    total: int = 0
    fired: bool = False
    floor: float = float("inf")  # no time in ``seen`` is older: nothing to forget above it


class PortScan:
    """Fan-out scan detector over flows (vertical and horizontal)."""

    name: ClassVar[str] = "portscan"
    Config: ClassVar[type[PortScanConfig]] = PortScanConfig
    accepts: ClassVar[tuple[type[Event], ...]] = (Flow,)

    def __init__(self, config: PortScanConfig) -> None:
        self.config = config
        self._episodes: BoundedMap[tuple[str, str, str | int], _Episode] = BoundedMap(
            config.max_sources
        )

    def observe(self, event: Event) -> list[Alert]:
        """Count a failed flow towards its source's vertical and horizontal episodes."""
        return (self._contact(event) or []) if isinstance(event, Flow) else []

    def observe_batch(self, events: Sequence[Event]) -> list[Alert]:
        """:meth:`observe` over a batch, in order."""
        alerts: list[Alert] = []
        contact = self._failure
        # Only failed contacts count (a small share of traffic): the test of ``_failed``,
        # written out in one comprehension, instead of a call per flow.
        tcp, udp = Transport.TCP, Transport.UDP
        failed = [
            e
            for e in events
            if isinstance(e, Flow)
            and (
                (e.transport is tcp and e.outcome in FAILED)
                or (e.transport is udp and e.outcome in UDP_FAILED)
            )
        ]
        for flow in failed:
            if found := contact(flow):
                alerts.extend(found)
        return alerts

    def flush(self, now: float) -> list[Alert]:
        """Close episodes silent for a whole window, emitting summaries of those that fired."""
        window = self.config.window_seconds
        oldest = self._episodes.oldest()
        if oldest is None or now - oldest.last <= window:
            return []  # expire() would stop at once: skip building its predicate
        ended = self._episodes.expire(lambda ep: now - ep.last > window)
        return [self._alert(key, ep, final=True) for key, ep in ended if ep.fired]

    def _contact(self, flow: Flow) -> list[Alert] | None:
        """Alerts of one flow (None when it is no failed contact)."""
        return self._failure(flow) if _failed(flow) else None

    def _failure(self, flow: Flow) -> list[Alert]:
        """Alerts of one failed contact (an empty list when it completes nothing)."""
        alerts = self.flush(flow.start)
        vertical = self._count(flow, "vertical", flow.dst_ip, flow.dst_port)
        target = f"{flow.transport}/{flow.dst_port}"
        horizontal = self._count(flow, "horizontal", target, flow.dst_ip)
        if vertical is not None:
            alerts.append(vertical)
        if horizontal is not None:
            alerts.append(horizontal)
        return alerts

    def _count(self, flow: Flow, kind: str, target: str, item: str | int) -> Alert | None:
        key = (flow.src_ip, kind, target)
        t = flow.start
        ep = self._episodes.get(key)
        if ep is None:
            ep = self._episodes.insert(key, _Episode(first=t, last=t, sensor=flow.sensor))
        elif t > ep.last:
            ep.last = t
        seen = ep.seen
        if item in seen or len(seen) < MAX_ITEMS:  # a fired /8 sweep must not grow forever
            seen[item] = t
            ep.floor = min(ep.floor, t)
        ep.total += 1
        if len(ep.evidence) < self.config.sample_size:
            ep.evidence.append(flow.id)
        self._forget_old(ep)
        if ep.fired or len(ep.seen) < self._threshold(kind):
            return None
        ep.fired = True
        return self._alert(key, ep, final=False)

    def _forget_old(self, ep: _Episode) -> None:
        """Drop items last seen before the window; the episode keeps only live fan-out."""
        if ep.fired:  # before firing the fan-out must fit in one window
            return
        horizon = ep.last - self.config.window_seconds
        if ep.floor >= horizon:
            return  # every item is inside the window: skip rebuilding the table
        ep.seen = {k: t for k, t in ep.seen.items() if t >= horizon}
        ep.floor = min(ep.seen.values(), default=float("inf"))

    def _threshold(self, kind: str) -> int:
        c = self.config
        return c.vertical_ports if kind == "vertical" else c.horizontal_hosts

    def _alert(self, key: tuple[str, str, str | int], ep: _Episode, *, final: bool) -> Alert:
        source, kind, target = key
        threshold = self._threshold(kind)
        distinct = len(ep.seen)
        items = sorted(ep.seen, key=str)[: self.config.sample_size]
        vertical = kind == "vertical"
        noun = "ports" if vertical else "hosts"
        where = f"host {target}" if vertical else f"port {target}"
        state = "scan ended" if final else "threshold crossed"
        alert = Alert(
            time=ep.last,
            first_seen=ep.first,
            last_seen=ep.last,
            detector=self.name,
            rule=f"portscan.{kind}",
            severity=Severity.HIGH if distinct >= 10 * threshold else Severity.MEDIUM,
            sensor=ep.sensor,
            source_ip=source,
            destination_ip=str(target) if vertical else None,
            destinations=(str(target),) if vertical else tuple(str(i) for i in items),
            destination_ports=tuple(int(i) for i in items) if vertical else (_port(target),),
            tactic=Tactic.RECONNAISSANCE,
            technique="T1595.001" if not vertical else "T1595",
            identifier=f"portscan.{kind}:{source}:{target}",
            explanation=(
                f"{source} made {ep.total} failed contacts to {distinct} distinct {noun} on "
                f"{where} over {ep.last - ep.first:.1f}s (threshold: {threshold} within "
                f"{self.config.window_seconds:g}s); {state}"
            ),
            facts={
                f"distinct_{noun}": distinct,
                "failed_contacts": ep.total,
                "threshold": threshold,
                "window_seconds": self.config.window_seconds,
                "duration_seconds": round(ep.last - ep.first, 6),
                "final": int(final),
                "evicted_episodes": self._episodes.evictions,
            },
            evidence=tuple(ep.evidence),
        )
        return self.config.site.label(alert)


def _failed(flow: Flow) -> bool:
    """Whether a flow is a failed contact: refused, unanswered or abandoned."""
    if flow.transport is Transport.TCP:
        return flow.outcome in FAILED
    return flow.transport is Transport.UDP and flow.outcome in UDP_FAILED


def _port(target: str | int) -> int:
    """The port number of a ``transport/port`` target."""
    return int(str(target).rsplit("/", 1)[-1])
