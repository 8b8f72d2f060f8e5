"""Scans by probe kind: stealth TCP flags, UDP, IP protocols, ping and ARP sweeps, fingerprints.

``detectors.probes`` names each probe; this detector counts the distinct items (ports,
protocols, hosts, fingerprint tests) a source tries against one target within a window and
fires once per episode when a rule's threshold is reached. Fingerprint tests weigh 2 when no
normal stack ever sends them (SYN+FIN, a non-zero echo code), so one such probe is enough.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from detectors.alert import Alert, Severity
from detectors.attack import Tactic
from detectors.probes import Probe, candidates, probes
from detectors.ranges import check_ranges
from detectors.site import Site
from detectors.windows import BoundedMap, DistinctWindow
from sensors.events import Event, Flow

TECHNIQUE = {
    "scan.stealth": "T1046",
    "scan.udp": "T1046",
    "scan.protocol": "T1046",
    "scan.sweep": "T1018",
    "scan.fingerprint": "T1082",
}


@dataclass(frozen=True, kw_only=True)
class ProbeScanConfig:
    """Thresholds per probe kind, the window they count in and the state bounds."""

    window_seconds: float = 300.0
    """Probes older than this are forgotten (Zeek's scan window)."""
    stealth_ports: int = 5
    """Distinct ports one host gets NULL/FIN/XMAS/ACK/Maimon probes on (Snort low: 5)."""
    udp_ports: int = 6
    """Distinct UDP ports of one host that answer port unreachable (above a traceroute's 3)."""
    protocols: int = 5
    """Distinct unusual IP protocols sent to one host."""
    sweep_hosts: int = 10
    """Distinct hosts a source pings."""
    arp_hosts: int = 16
    """Distinct addresses a source ARPs for once or twice without an answer."""
    fingerprint_score: int = 2
    """Weight of distinct fingerprint tests on one host (odd ICMP 1, impossible probes 2)."""
    sample_size: int = 20
    """Items and evidence flows an alert lists."""
    max_episodes: int = 100_000
    """(source, kind, target) episodes kept; the least recently active are dropped."""
    max_items: int = 65_536
    """Distinct items remembered per episode."""
    site: Site = field(default_factory=Site, metadata={"site": True})

    def __post_init__(self) -> None:
        checks = {
            "window_seconds": 1.0 <= self.window_seconds <= 86_400.0,
            "stealth_ports": 2 <= self.stealth_ports <= 65_535,
            "udp_ports": 2 <= self.udp_ports <= 65_535,
            "protocols": 2 <= self.protocols <= 256,
            "sweep_hosts": 2 <= self.sweep_hosts <= 1 << 24,
            "arp_hosts": 2 <= self.arp_hosts <= 1 << 24,
            "fingerprint_score": 1 <= self.fingerprint_score <= 100,
            "sample_size": 1 <= self.sample_size <= 1000,
            "max_episodes": 1 <= self.max_episodes <= 10_000_000,
            "max_items": 2 <= self.max_items <= 1 << 24,
        }
        check_ranges(self, checks)

    def threshold(self, rule: str, kind: str) -> int:
        """The threshold of one rule (ARP sweeps have their own)."""
        if kind == "arp":
            return self.arp_hosts
        return {
            "scan.stealth": self.stealth_ports,
            "scan.udp": self.udp_ports,
            "scan.protocol": self.protocols,
            "scan.sweep": self.sweep_hosts,
            "scan.fingerprint": self.fingerprint_score,
        }[rule]


@dataclass(slots=True)
class _Episode:
    """Probes of one (source, rule, target) while they keep coming (slots: one per sweeping
    source, and a sweep of the whole site makes one per host)."""

    first: float
    last: float
    sensor: str
    items: DistinctWindow
    kinds: set[str] = field(default_factory=set)
    weights: dict[Hashable, int] = field(default_factory=dict)  # only items weighing > 1
    evidence: list[str] = field(default_factory=list)
    fired: bool = False

    def score(self) -> int:
        """Weighted count of the distinct items inside the window."""
        if not self.weights:
            return len(self.items)  # every item weighs 1
        return sum(self.weights.get(i, 1) for i in self.items.items())


class ProbeScan:
    """Stealth, UDP, IP-protocol, sweep and fingerprint scans from single-flow probes."""

    name: ClassVar[str] = "probescan"
    Config: ClassVar[type[ProbeScanConfig]] = ProbeScanConfig
    accepts: ClassVar[tuple[type[Event], ...]] = (Flow,)

    def __init__(self, config: ProbeScanConfig) -> None:
        self.config = config
        self._episodes: BoundedMap[tuple[str, str, str], _Episode] = BoundedMap(config.max_episodes)
        self._thresholds: dict[tuple[str, str], int] = {}  # (rule, kind) -> threshold, memoised

    def observe(self, event: Event) -> list[Alert]:
        """Count every probe a flow is towards its episode."""
        return (self._probes(event) or []) if isinstance(event, Flow) else []

    def observe_batch(self, events: Sequence[Event]) -> list[Alert]:
        """:meth:`observe` over a batch, in order."""
        alerts: list[Alert] = []
        count = self._probes
        # Ordinary TCP and UDP flows (most of a batch) are no probe of any kind: dropped
        # before the per-flow classifiers run.
        for flow in candidates([e for e in events if isinstance(e, Flow)]):
            if found := count(flow):
                alerts.extend(found)
        return alerts

    def flush(self, now: float) -> list[Alert]:
        """End episodes silent for a whole window (their alert, if any, is already out)."""
        oldest = self._episodes.oldest()
        if oldest is not None and now - oldest.last > self.config.window_seconds:
            self._episodes.expire(lambda ep: now - ep.last > self.config.window_seconds)
        return []

    def _probes(self, flow: Flow) -> list[Alert] | None:
        """Alerts of one flow's probes (None when it is no probe)."""
        found = probes(flow)
        if not found:
            return None
        alerts = self.flush(flow.start)
        for probe in found:
            alert = self._count(flow, probe)
            if alert is not None:
                alerts.append(alert)
        return alerts

    def _threshold(self, rule: str, kind: str) -> int:
        found = self._thresholds.get((rule, kind))
        if found is None:
            found = self._thresholds[rule, kind] = self.config.threshold(rule, kind)
        return found

    def _count(self, flow: Flow, probe: Probe) -> Alert | None:
        c = self.config
        key = (flow.src_ip, probe.rule, probe.target)
        ep = self._episodes.get(key)
        if ep is None:
            ep = self._episodes.insert(key, self._new(flow))
        elif flow.start > ep.last:
            ep.last = flow.start
        ep.items.add(probe.item, flow.start)
        ep.kinds.add(probe.kind)
        if probe.weight != 1:
            ep.weights[probe.item] = probe.weight
        if len(ep.evidence) < c.sample_size:
            ep.evidence.append(flow.id)
        if ep.fired or ep.score() < self._threshold(probe.rule, probe.kind):
            return None
        ep.fired = True
        return c.site.label(self._alert(key, ep))

    def _new(self, flow: Flow) -> _Episode:
        window = DistinctWindow(self.config.window_seconds, self.config.max_items)
        return _Episode(first=flow.start, last=flow.start, sensor=flow.sensor, items=window)

    def _alert(self, key: tuple[str, str, str], ep: _Episode) -> Alert:
        source, rule, target = key
        c = self.config
        items = ep.items.items()[: c.sample_size]
        kinds = ",".join(sorted(ep.kinds))
        threshold = c.threshold(rule, kinds)
        swept = rule == "scan.sweep"
        where = "hosts" if swept else f"items on {target}"
        return Alert(
            time=ep.last,
            first_seen=ep.first,
            last_seen=ep.last,
            detector=self.name,
            rule=rule,
            severity=Severity.MEDIUM,
            sensor=ep.sensor,
            source_ip=source,
            destination_ip=None if swept else target,
            destinations=tuple(str(i) for i in items) if swept else (target,),
            destination_ports=tuple(i for i in items if isinstance(i, int) and not swept),
            tactic=Tactic.RECONNAISSANCE if rule != "scan.fingerprint" else Tactic.DISCOVERY,
            technique=TECHNIQUE[rule],
            identifier=f"{rule}:{source}:{target}",
            explanation=(
                f"{source} sent {kinds} probes to {len(ep.items)} distinct {where} in "
                f"{ep.last - ep.first:.1f}s (score {ep.score()}, threshold "
                f"{threshold} within {c.window_seconds:g}s)"
            ),
            facts={
                "probe_kinds": kinds,
                "distinct_items": len(ep.items),
                "score": ep.score(),
                "probes": ep.items.total,
                "threshold": threshold,
                "window_seconds": c.window_seconds,
                "duration_seconds": round(ep.last - ep.first, 6),
                "items": " ".join(str(i) for i in items),
                "evicted_episodes": self._episodes.evictions,
            },
            evidence=tuple(ep.evidence),
        )
