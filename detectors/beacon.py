"""Command-and-control beaconing: regular connections of one host to one destination.

RITA v5's score per pair, where a pair is (source, destination, port) for flows and HTTP
requests, or (source, SNI) for TLS ClientHellos: the mean of the timestamp, data-size,
histogram and duration sub-scores of ``detectors.beaconscore`` (data size is left out when
the input has no sizes), adjusted by destination prevalence (+15 % when at most 2 % of
hosts reach it, -15 % at 50 % or more; applied once ``prevalence_min_hosts`` hosts are seen).
A pair scoring ``min_score`` alerts. A pair between ``base_score`` and ``min_score`` alerts
too when the periodogram of its connection times has a significant peak near its median
interval (Fisher's g test) and it persists (duration score at least 0.5: password guessing
is regular but short); this catches jittered beacons whose interval statistics look noisy.
Whatever its score, a pair whose intervals are no more regular than random arrivals
(timestamp score under ``min_timestamp_score``) alerts only with that periodogram peak.
A flow that beat at least ``min_connections`` times inside one connection (``Flow.beats``:
payload bursts after a silence, see ``sensors.beats``) adds each beat as a connection time:
remote-access tools keep one TCP or TLS connection open and heartbeat inside it.
Pairs are scored every ``analysis_seconds`` of event time and at the end of input.
Allow-listed ports and names (NTP, DNS, push channels, update checks) are never scored, nor
are the addresses an allow-listed name was seen at.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from detectors import beaconscore as bs
from detectors.alert import Alert, Severity
from detectors.attack import Tactic
from detectors.ranges import check_ranges
from detectors.site import Site, is_unicast
from detectors.windows import BoundedMap
from sensors.events import Event, Flow, HttpRequest, TlsHello

Key = tuple[str, str, str, int]
"""(input kind, source, destination address or name, port; 0 for SNI pairs)."""


@dataclass(frozen=True, kw_only=True)
class BeaconConfig:
    """Scoring thresholds, allowlist and state bounds of the beacon detector."""

    min_connections: int = 6
    """Unique connection times a pair needs before it is scored (RITA: 4)."""
    min_interval_seconds: float = 10.0
    """Pairs whose median interval is shorter are sessions, polling or password guessing
    (regular but fast), not beacons; C2 frameworks sleep tens of seconds or more."""
    min_score: float = 0.7
    """Score (0-1) that raises an alert on its own (RITA bands: 0.5 base, 0.7 low)."""
    base_score: float = 0.5
    """Score from which a significant periodogram peak also raises an alert."""
    min_timestamp_score: float = 0.7
    """Interval regularity (RITA's timestamp score) a pair needs unless its periodogram
    confirms the period: random (Poisson) arrivals score 0.52-0.65 (exponential intervals:
    Bowley skewness 0.26, MAD 0.69 of the median), a beacon with +-50 % uniform jitter 0.87.
    Without it, the persistence sub-scores alone lift irregular pairs in short captures."""
    periodic_p_value: float = 1e-3
    """Fisher's g p-value under which the event train counts as periodic."""
    iqr_floor: float = 10.0
    """Skewness is taken as 0 when the interquartile range is below this (RITA: 10)."""
    rare_share: float = 0.02
    """Destinations reached by at most this share of hosts are rare (+ ``prevalence_step``)."""
    common_share: float = 0.5
    """Destinations reached by at least this share of hosts are common (- the step)."""
    prevalence_step: float = 0.15
    """RITA's prevalence adjustment of the score."""
    prevalence_min_hosts: int = 50
    """Hosts that must be seen before prevalence means anything."""
    analysis_seconds: float = 3600.0
    """Pairs are scored this often (event time), and at the end of input."""
    state_seconds: float = 86_400.0
    """A pair silent this long is forgotten."""
    allow_ports: tuple[int, ...] = (
        *(53, 67, 68, 123, 137, 138, 547, 1900, 5353, 5355),
        *(5060, 5061, 5223, 5228),
    )
    """Destination ports of benign periodic services: DNS, DHCP, NTP, NetBIOS, DHCPv6, SSDP,
    mDNS and LLMNR; SIP registration refreshes; the Apple and Google push channels, which keep
    one connection open with a heartbeat inside (what in-flow beats would otherwise score)."""
    allow_names: tuple[str, ...] = (
        "ntp.org",
        "time.windows.com",
        "windowsupdate.com",
        "update.microsoft.com",
        "msftconnecttest.com",
        "msftncsi.com",
        "ntp.aliyun.com",
        "time.apple.com",
        "captive.apple.com",
        "connectivitycheck.gstatic.com",
    )
    """SNI or Host suffixes of benign periodic services (time, operating-system updates and
    connectivity checks); the addresses they are seen at are then skipped too."""
    max_events: int = 4096
    """Connection times kept per pair (the most recent)."""
    max_keys: int = 100_000
    """Pairs tracked at once."""
    site: Site = field(default_factory=Site, metadata={"site": True})

    def __post_init__(self) -> None:
        checks = {
            "min_connections": 4 <= self.min_connections <= 100_000,
            "min_interval_seconds": 0.0 <= self.min_interval_seconds <= 86_400.0,
            "min_score": 0.0 < self.min_score <= 1.0,
            "base_score": 0.0 < self.base_score <= self.min_score,
            "min_timestamp_score": 0.0 <= self.min_timestamp_score <= 1.0,
            "periodic_p_value": 0.0 < self.periodic_p_value < 0.5,
            "iqr_floor": 0.0 <= self.iqr_floor <= 86_400.0,
            "rare_share": 0.0 <= self.rare_share < self.common_share,
            "common_share": self.rare_share < self.common_share <= 1.0,
            "prevalence_step": 0.0 <= self.prevalence_step <= 0.5,
            "prevalence_min_hosts": 1 <= self.prevalence_min_hosts <= 10_000_000,
            "analysis_seconds": 60.0 <= self.analysis_seconds <= 7 * 86_400.0,
            "state_seconds": 3600.0 <= self.state_seconds <= 30 * 86_400.0,
            "allow_ports": all(0 <= p <= 65_535 for p in self.allow_ports),
            "allow_names": all(n and n == n.lower() for n in self.allow_names),
            "max_events": self.min_connections <= self.max_events <= 1_000_000,
            "max_keys": 1 <= self.max_keys <= 10_000_000,
        }
        check_ranges(self, checks)


def _doubles() -> array[float]:
    """An empty array of doubles: 8 bytes a connection time, where a list holds a pointer and
    a 24-byte float object for each (up to ``max_events`` per pair, ``max_keys`` pairs)."""
    return array("d")


@dataclass(slots=True)
class _Pair:
    """Connection times (and sizes) of one pair (slots: up to ``max_keys`` of them)."""

    sensor: str
    dst_ip: str
    last: float
    times: array[float] = field(default_factory=_doubles)
    sizes: array[float] = field(default_factory=_doubles)
    evidence: list[str] = field(default_factory=list)
    fired: bool = False


class Beacon:
    """RITA-style beacon scoring with a periodogram check and an allowlist."""

    name: ClassVar[str] = "beacon"
    Config: ClassVar[type[BeaconConfig]] = BeaconConfig
    accepts: ClassVar[tuple[type[Event], ...]] = (Flow, HttpRequest, TlsHello)

    def __init__(self, config: BeaconConfig) -> None:
        self.config = config
        self._pairs: BoundedMap[Key, _Pair] = BoundedMap(config.max_keys)
        # Prevalence only needs how many distinct sources there are (overall and per
        # destination), up to ``max_keys``: capped sets count exactly what LRU maps of that
        # cap held, in less memory and without reordering them on every event.
        self._hosts: set[str] = set()
        self._reach: BoundedMap[str, set[str]] = BoundedMap(config.max_keys)
        self._allow_ports = frozenset(config.allow_ports)
        self._allow_names = frozenset(config.allow_names)
        self._allow_suffixes = tuple("." + name for name in config.allow_names)
        # HTTP requests and their flows name the same pair: one alert per identifier.
        self._alerted: BoundedMap[str, bool] = BoundedMap(config.max_keys)
        self._allowed_ips: BoundedMap[str, bool] = BoundedMap(config.max_keys)
        self._start: float | None = None
        self._end = 0.0
        self._next = 0.0

    def observe(self, event: Event) -> list[Alert]:
        """Record one connection time; score pairs when an analysis interval has passed."""
        return self._observe(event) or []

    def observe_batch(self, events: Sequence[Event]) -> list[Alert]:
        """:meth:`observe` over a batch, in order."""
        alerts: list[Alert] = []
        one = self._observe
        allow = self._allow_ports
        # Flows to allow-listed ports (DNS, NTP: many of a network's flows) change no state:
        # dropped by one comprehension instead of a call each.
        for event in [e for e in events if not (isinstance(e, Flow) and e.dst_port in allow)]:
            if found := one(event):
                alerts.extend(found)
        return alerts

    def _observe(self, event: Event) -> list[Alert] | None:
        if isinstance(event, Flow):
            return self._flow(event)
        if isinstance(event, HttpRequest):
            return self._http(event)
        if isinstance(event, TlsHello):
            return self._tls(event)
        return None

    def _flow(self, flow: Flow) -> list[Alert] | None:
        """A flow's connection time, or each beat inside it (see the module docstring)."""
        if flow.dst_port in self._allow_ports or not self._scored(flow.dst_ip):
            return None
        key: Key = ("flow", flow.src_ip, flow.dst_ip, flow.dst_port)
        beats = flow.beats
        if beats is not None and len(beats) >= self.config.min_connections:
            # One long connection beating inside: each beat counts as a connection time (the
            # flow's total size says nothing about one beat's). A flow needs as many beats as
            # a pair needs connections: a session with a few pauses is not a channel.
            return self._record(key, flow, [flow.start + b for b in beats], None)
        return self._record(key, flow, (flow.start,), float(flow.bytes_out + flow.bytes_in))

    def _http(self, request: HttpRequest) -> list[Alert] | None:
        """A request's time and sizes, unless its host or address is allow-listed."""
        if not request.dst_ip or self._allowed(request.host, request.dst_ip):
            return None
        if request.dst_port in self._allow_ports or not self._scored(request.dst_ip):
            return None
        key: Key = ("http", request.src_ip, request.dst_ip, request.dst_port or 80)
        size = request.request_bytes + request.response_bytes
        return self._record(key, request, (request.time,), float(size) if size else None)

    def _tls(self, hello: TlsHello) -> list[Alert] | None:
        """A ClientHello's time under its SNI (any address), unless the name is allow-listed."""
        if not hello.server_name or self._allowed(hello.server_name, hello.dst_ip):
            return None
        key: Key = ("tls", hello.src_ip, hello.server_name.lower(), 0)
        return self._record(key, hello, (hello.time,), None)

    def _scored(self, address: str | None) -> bool:
        """Whether connections to ``address`` may be scored: one host, not allow-listed."""
        address = address or ""
        return address not in self._allowed_ips and is_unicast(address)

    def _record(
        self, key: Key, event: Event, times: Sequence[float], size: float | None
    ) -> list[Alert] | None:
        """Remember connection times (in order); score pairs once an interval has passed."""
        t = times[-1]
        if self._start is None:
            self._start, self._next = times[0], times[0] + self.config.analysis_seconds
        self._end = max(self._end, t)
        self._remember(key, event, times, size)
        return self.flush(t) if t >= self._next else None

    def flush(self, now: float) -> list[Alert]:
        """Score every unfired pair (at the end of input, or when an interval has passed)."""
        if self._start is None or now < self._next:
            return []
        self._next = now + self.config.analysis_seconds
        end = self._end if now == float("inf") else max(self._end, now)
        alerts = [a for key, pair in self._pairs.items() if (a := self._judge(key, pair, end))]
        self._pairs.expire(lambda p: end - p.last > self.config.state_seconds)
        return alerts

    def _allowed(self, name: str, address: str | None) -> bool:
        """Whether ``name`` is an allow-listed service; its address is then remembered, so the
        flows to it (which carry no name) are not scored either."""
        name = name.lower()
        if name not in self._allow_names and not name.endswith(self._allow_suffixes):
            return False
        if address:
            self._allowed_ips.touch(address, lambda: True)
        return True

    def _remember(self, key: Key, event: Event, times: Sequence[float], size: float | None) -> None:
        c = self.config
        t = times[-1]
        pair = self._pairs.get(key)
        if pair is None:
            dst = getattr(event, "dst_ip", "")
            pair = self._pairs.insert(key, _Pair(sensor=event.sensor, dst_ip=dst, last=t))
        elif t > pair.last:
            pair.last = t
        # RITA: unique connections at one-second resolution
        if len(times) == 1:
            pair.times.append(float(int(t)))
        else:
            pair.times.extend([float(int(when)) for when in times])
        if size is not None:
            pair.sizes.append(size)
        if len(pair.times) > c.max_events:
            del pair.times[: len(pair.times) - c.max_events], pair.sizes[:1]
        if len(pair.evidence) < 10:
            pair.evidence.append(event.id)
        source, destination = key[1], key[2]
        if len(self._hosts) < c.max_keys:
            self._hosts.add(source)
        reach = self._reach.get(destination)
        if reach is None:
            reach = self._reach.insert(destination, set())
        if len(reach) < c.max_keys:
            reach.add(source)

    def _judge(self, key: Key, pair: _Pair, end: float) -> Alert | None:
        c = self.config
        if pair.fired or len(set(pair.times)) < c.min_connections:
            return None
        start = self._start if self._start is not None else min(pair.times)
        score = bs.score_pair(
            pair.times,
            # Beats carry no sizes: a pair needs as many sized connections as it needs times.
            pair.sizes if len(pair.sizes) >= c.min_connections else [],
            (start, end),
            iqr_floor=c.iqr_floor,
            min_interval=c.min_interval_seconds,
            prevalence=self._prevalence(key[2]),
        )
        if score is None:
            return None
        periodic = score.confirmed(c.periodic_p_value)
        if score.score < c.min_score and not (
            periodic and score.score >= c.base_score and score.duration >= 0.5
        ):
            return None
        if score.timestamp < c.min_timestamp_score and not periodic:
            return None
        pair.fired = True
        alert = self._alert(key, pair, score, periodic)
        if alert.identifier in self._alerted:
            return None
        self._alerted.touch(alert.identifier, lambda: True)
        return alert

    def _prevalence(self, destination: str) -> float:
        c = self.config
        hosts = len(self._hosts)
        reach = self._reach.get(destination)
        if hosts < c.prevalence_min_hosts or reach is None:
            return 0.0
        share = len(reach) / hosts
        return bs.prevalence_modifier(share, c.rare_share, c.common_share, c.prevalence_step)

    def _alert(self, key: Key, pair: _Pair, s: bs.PairScore, periodic: bool) -> Alert:
        kind, source, target, port = key
        times = sorted(set(pair.times))
        percent = round(100 * s.score)
        band = next(
            b
            for limit, b in ((1.0, "high"), (0.9, "medium"), (0.7, "low"), (0, "base"))
            if s.score >= limit
        )
        facts: dict[str, int | float | str] = {
            "score": round(s.score, 3),
            "band": band,
            "timestamp_score": round(s.timestamp, 3),
            "histogram_score": round(s.histogram, 3),
            "duration_score": round(s.duration, 3),
            "prevalence_modifier": s.prevalence,
            "connections": len(times),
            "median_interval_seconds": round(s.median_interval, 3),
            "min_score": self.config.min_score,
            "input": kind,
        }
        if s.size is not None:
            facts["data_size_score"] = round(s.size, 3)
            facts["median_bytes"] = float(np.median(pair.sizes))
        if s.periodic is not None:
            facts["periodogram_period_seconds"] = round(s.periodic.period, 3)
            facts["periodogram_g"] = round(s.periodic.g, 4)
            facts["periodogram_p_value"] = float(f"{s.periodic.p_value:.3g}")
        where = f"{target}:{port}" if port else f"{target} (SNI)"
        why = " with a significant periodogram peak" if periodic and s.score < 0.7 else ""
        alert = Alert(
            time=times[-1],
            first_seen=times[0],
            last_seen=times[-1],
            detector=self.name,
            rule="beacon.c2",
            severity=Severity.HIGH if s.score >= 0.9 else Severity.MEDIUM,
            sensor=pair.sensor,
            source_ip=source,
            destination_ip=pair.dst_ip or None,
            destinations=(pair.dst_ip,) if pair.dst_ip else (),
            destination_ports=(port,) if port else (),
            tactic=Tactic.COMMAND_AND_CONTROL,
            technique="T1573" if kind == "tls" or port == 443 else "T1071.001",
            identifier=f"beacon:{source}->{where}",
            explanation=(
                f"{source} connected to {where} {len(times)} times about every "
                f"{s.median_interval:.0f} s; beacon score {percent} % ({band}){why}"
            ),
            facts=facts,
            evidence=tuple(pair.evidence),
        )
        return self.config.site.label(alert)
