"""Distributed scans: many sources probing the same port across many hosts, as one alert.

Each source may stay below every per-source threshold, so failed first contacts are counted
per destination port across sources (Snort's "distributed" scan type, aggregated by port).
Requiring many distinct *hosts* too keeps a service outage (many clients failing to reach
one server) from looking like a scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from detectors.alert import Alert, Severity
from detectors.attack import Tactic
from detectors.ranges import check_ranges
from detectors.site import Site, is_unicast
from detectors.windows import BoundedMap, DistinctWindow
from sensors.events import Event, Flow, TcpOutcome, Transport

FAILED = {TcpOutcome.REJECTED, TcpOutcome.UNANSWERED, TcpOutcome.HALF_OPEN, TcpOutcome.MIDSTREAM}
REFUSED = (TcpOutcome.REJECTED, TcpOutcome.UNANSWERED)
"""Outcomes of a UDP datagram that nothing answered, or that was refused."""


@dataclass(frozen=True, kw_only=True)
class DistributedScanConfig:
    """Thresholds of the cross-source aggregation."""

    window_seconds: float = 3600.0
    """Failed contacts older than this are forgotten; distributed scans are slow per source."""
    sources: int = 10
    """Distinct sources failing on one port that make a distributed scan."""
    hosts: int = 10
    """Distinct hosts those failures must reach (one dead server is an outage, not a scan)."""
    sample_size: int = 20
    """Sources and hosts an alert lists."""
    max_ports: int = 131_072
    """Ports tracked at once (TCP and UDP)."""
    max_items: int = 100_000
    """Distinct sources and hosts remembered per port."""
    site: Site = field(default_factory=Site, metadata={"site": True})

    def __post_init__(self) -> None:
        checks = {
            "window_seconds": 1.0 <= self.window_seconds <= 7 * 86_400.0,
            "sources": 2 <= self.sources <= 1 << 24,
            "hosts": 1 <= self.hosts <= 1 << 24,
            "sample_size": 1 <= self.sample_size <= 1000,
            "max_ports": 1 <= self.max_ports <= 1 << 20,
            "max_items": 2 <= self.max_items <= 1 << 24,
        }
        check_ranges(self, checks)


@dataclass(slots=True)
class _Port:
    """Failed contacts to one transport/port from every source."""

    first: float
    last: float
    sensor: str
    sources: DistinctWindow
    hosts: DistinctWindow
    evidence: list[str] = field(default_factory=list)
    fired: bool = False


class DistributedScan:
    """Aggregates failed first contacts by port across sources and hosts."""

    name: ClassVar[str] = "distributed"
    Config: ClassVar[type[DistributedScanConfig]] = DistributedScanConfig
    accepts: ClassVar[tuple[type[Event], ...]] = (Flow,)

    def __init__(self, config: DistributedScanConfig) -> None:
        self.config = config
        self._ports: BoundedMap[str, _Port] = BoundedMap(config.max_ports)

    def observe(self, event: Event) -> list[Alert]:
        """Count a failed TCP or UDP contact towards its port."""
        if not isinstance(event, Flow) or not _failed(event):
            return []
        return self._failure(event)

    def observe_batch(self, events: Sequence[Event]) -> list[Alert]:
        """:meth:`observe` over a batch, in order (most flows are no failed contact)."""
        alerts: list[Alert] = []
        for event in events:
            if isinstance(event, Flow) and _failed(event):
                alerts.extend(self._failure(event))
        return alerts

    def _failure(self, event: Flow) -> list[Alert]:
        """Count one failed contact; the alert when its port crosses both thresholds."""
        self.flush(event.start)
        c = self.config
        if c.site.is_benign_scanner(event.src_ip):
            return []  # the city's own scanner is one labelled source, never a crowd
        key = f"{event.transport}/{event.dst_port}"
        port = self._ports.get(key)
        if port is None:
            port = self._ports.touch(key, lambda: self._new(event))
        elif event.start > port.last:
            port.last = event.start
        port.sources.add(event.src_ip, event.start)
        port.hosts.add(event.dst_ip, event.start)
        if len(port.evidence) < c.sample_size:
            port.evidence.append(event.id)
        if port.fired or len(port.sources) < c.sources or len(port.hosts) < c.hosts:
            return []
        port.fired = True
        return [self._alert(event, port)]

    def flush(self, now: float) -> list[Alert]:
        """Forget ports with no failed contact for a whole window."""
        oldest = self._ports.oldest()
        if oldest is not None and now - oldest.last > self.config.window_seconds:
            self._ports.expire(lambda p: now - p.last > self.config.window_seconds)
        return []

    def _new(self, flow: Flow) -> _Port:
        c = self.config
        return _Port(
            first=flow.start,
            last=flow.start,
            sensor=flow.sensor,
            sources=DistinctWindow(c.window_seconds, c.max_items),
            hosts=DistinctWindow(c.window_seconds, c.max_items),
        )

    def _alert(self, flow: Flow, port: _Port) -> Alert:
        c = self.config
        target = f"{flow.transport}/{flow.dst_port}"
        sources = [str(s) for s in port.sources.items()[: c.sample_size]]
        return Alert(
            time=flow.start,
            first_seen=port.first,
            last_seen=port.last,
            detector=self.name,
            rule="scan.distributed",
            severity=Severity.HIGH,
            sensor=port.sensor,
            source_ip=None,
            destinations=tuple(str(h) for h in port.hosts.items()[: c.sample_size]),
            destination_ports=(flow.dst_port,),
            tactic=Tactic.RECONNAISSANCE,
            technique="T1595.001",
            identifier=f"scan.distributed:{target}",
            explanation=(
                f"{len(port.sources)} sources made failed contacts to {target} on "
                f"{len(port.hosts)} hosts within {c.window_seconds:g}s (thresholds: "
                f"{c.sources} sources, {c.hosts} hosts)"
            ),
            facts={
                "distinct_sources": len(port.sources),
                "distinct_hosts": len(port.hosts),
                "failed_contacts": port.sources.total,
                "source_threshold": c.sources,
                "host_threshold": c.hosts,
                "window_seconds": c.window_seconds,
                "sources": " ".join(sources),
            },
            evidence=tuple(port.evidence),
        )


def _failed(flow: Flow) -> bool:
    """A failed TCP or UDP contact to one host."""
    if flow.transport is Transport.TCP:
        failed = flow.outcome in FAILED
    elif flow.transport is Transport.UDP:
        failed = flow.outcome in REFUSED
    else:
        return False
    return failed and is_unicast(flow.dst_ip)  # the cheap checks first: most flows succeed
