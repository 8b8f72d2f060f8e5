"""Reflection and amplification: unsolicited large UDP responses, and our hosts as reflectors.

Rossow ("Amplification Hell", NDSS 2014) lists the UDP services abused for reflection. Two
rules over finished flows, with windows over flow start times:

- ``amplification.victim``: a local host receives responses from reflector service ports
  (DNS 53, NTP 123, SSDP 1900, CharGen 19, memcached 11211, SNMP 161, CLDAP 389) that it
  never asked for. The flow table pairs a request with its response, so an unsolicited
  response shows up as a flow *initiated* by the reflector port;
- ``amplification.reflector``: a service answers one client with many times the bytes it
  was sent (request/response byte ratio per service): one of ours is being used to reflect
  traffic at that client, whose address is likely spoofed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from detectors.alert import Alert, Severity
from detectors.attack import Tactic
from detectors.ranges import check_ranges
from sensors.events import Event, Flow, Transport

REFLECTOR_PORTS = {
    53: "dns",
    123: "ntp",
    1900: "ssdp",
    19: "chargen",
    11211: "memcached",
    161: "snmp",
    389: "cldap",
}
"""UDP services abused for reflection, by port."""


@dataclass(frozen=True, kw_only=True)
class AmplificationConfig:
    """Thresholds of the amplification detector."""

    window_seconds: float = 60.0
    """Responses and requests older than this are forgotten."""
    min_packets: int = 100
    """Unsolicited response packets to one victim that make a reflection attack."""
    min_bytes: int = 100_000
    """Unsolicited response bytes to one victim that make a reflection attack."""
    min_response_size: float = 200.0
    """Mean bytes per unsolicited packet: reflected answers are large, stray ones small."""
    min_ratio: float = 10.0
    """Response/request bytes of a service to one client that make it an amplifier."""
    min_requests: int = 50
    """Requests of one client to one service before its byte ratio is judged."""
    sample_size: int = 20
    """How many reflectors and evidence flows an alert lists."""
    max_keys: int = 100_000
    """State cap: the stalest victims are dropped beyond it (counted in ``evictions``)."""

    def __post_init__(self) -> None:
        checks = {
            "window_seconds": 1.0 <= self.window_seconds <= 86_400.0,
            "min_packets": 1 <= self.min_packets <= 1_000_000_000,
            "min_bytes": 1 <= self.min_bytes <= 1 << 50,
            "min_response_size": 0.0 <= self.min_response_size <= 65_535.0,
            "min_ratio": 1.0 < self.min_ratio <= 100_000.0,
            "min_requests": 1 <= self.min_requests <= 1_000_000_000,
            "sample_size": 1 <= self.sample_size <= 1000,
            "max_keys": 1 <= self.max_keys <= 10_000_000,
        }
        check_ranges(self, checks)


@dataclass
class _Window:
    """Traffic of one (rule, victim, service) since ``first``."""

    first: float
    last: float
    sensor: str
    flows: int = 0
    packets: int = 0
    sent: int = 0  # bytes the victim or client sent
    received: int = 0  # bytes the reflector answered with
    reflectors: set[str] = field(default_factory=set)
    evidence: list[Flow] = field(default_factory=list)  # ids are hashed only on alert
    fired: bool = False


class Amplification:
    """Unsolicited reflector responses to a victim; our services amplifying towards a client."""

    name: ClassVar[str] = "amplification"
    Config: ClassVar[type[AmplificationConfig]] = AmplificationConfig

    def __init__(self, config: AmplificationConfig) -> None:
        self.config = config
        self.evictions = 0
        self._windows: dict[tuple[str, str, str], _Window] = {}

    def observe(self, event: Event) -> list[Alert]:
        """Count UDP flows from or to reflector ports."""
        if not isinstance(event, Flow) or event.transport is not Transport.UDP:
            return []
        if event.src_port in REFLECTOR_PORTS and event.dst_port not in REFLECTOR_PORTS:
            return self._unsolicited(event)
        if event.dst_port in REFLECTOR_PORTS and event.packets_in > 0:
            return self._answered(event)
        return []

    def flush(self, now: float) -> list[Alert]:
        """Forget windows silent for a whole window; alerts were raised as they crossed."""
        horizon = now - self.config.window_seconds
        for key in [k for k, w in self._windows.items() if w.last < horizon]:
            del self._windows[key]
        return []

    def _unsolicited(self, flow: Flow) -> list[Alert]:
        c = self.config
        service = REFLECTOR_PORTS[flow.src_port]
        w = self._window(("victim", flow.dst_ip, service), flow)
        w.packets += flow.packets_out
        w.received += flow.bytes_out
        _note(w, flow.src_ip, flow, c.sample_size)
        size = w.received / max(w.packets, 1)
        big = w.packets >= c.min_packets and w.received >= c.min_bytes
        if w.fired or not big or size < c.min_response_size:
            return []
        w.fired = True
        return [self._victim_alert(flow.dst_ip, service, w, size)]

    def _answered(self, flow: Flow) -> list[Alert]:
        c = self.config
        service = REFLECTOR_PORTS[flow.dst_port]
        w = self._window(("reflector", flow.src_ip, f"{service}:{flow.dst_ip}"), flow)
        w.packets += flow.packets_out
        w.sent += flow.bytes_out
        w.received += flow.bytes_in
        _note(w, flow.dst_ip, flow, c.sample_size)
        ratio = w.received / max(w.sent, 1)
        if w.fired or w.flows < c.min_requests or ratio < c.min_ratio:
            return []
        w.fired = True
        return [self._reflector_alert(flow, service, w, ratio)]

    def _window(self, key: tuple[str, str, str], flow: Flow) -> _Window:
        w = self._windows.pop(key, None)  # re-inserted last: the dict is in LRU order
        if w is not None and flow.start - w.last > self.config.window_seconds:
            w = None
        if w is None:
            if len(self._windows) >= self.config.max_keys:
                del self._windows[next(iter(self._windows))]
                self.evictions += 1
            w = _Window(first=flow.start, last=flow.start, sensor=flow.sensor)
        self._windows[key] = w
        w.first, w.last = min(w.first, flow.start), max(w.last, flow.start)
        w.flows += 1
        return w

    def _victim_alert(self, victim: str, service: str, w: _Window, size: float) -> Alert:
        c = self.config
        reflectors = sorted(w.reflectors)[: c.sample_size]
        return self._alert(
            w,
            rule="amplification.victim",
            source=reflectors[0] if len(w.reflectors) == 1 else None,
            victim=victim,
            destinations=(victim,),
            identifier=f"amplification.victim:{victim}:{service}",
            explanation=(
                f"{victim} received {w.packets} unsolicited {service} responses "
                f"({w.received:,} bytes, {size:.0f} bytes each) from {len(w.reflectors)} "
                f"reflectors within {w.last - w.first:.1f}s without sending requests "
                f"(thresholds: {c.min_packets} packets and {c.min_bytes:,} bytes)"
            ),
            facts={
                "packets": w.packets,
                "bytes": w.received,
                "mean_response_bytes": round(size, 1),
                "reflectors": len(w.reflectors),
                "service": service,
                "window_seconds": c.window_seconds,
            },
        )

    def _reflector_alert(self, flow: Flow, service: str, w: _Window, ratio: float) -> Alert:
        c = self.config
        return self._alert(
            w,
            rule="amplification.reflector",
            source=flow.dst_ip,
            victim=flow.src_ip,
            destinations=(flow.src_ip,),
            identifier=f"amplification.reflector:{flow.dst_ip}:{service}:{flow.src_ip}",
            explanation=(
                f"{service} service {flow.dst_ip} answered {w.flows} requests from "
                f"{flow.src_ip} with {ratio:.1f}x the bytes it was sent ({w.received:,} vs "
                f"{w.sent:,}; threshold {c.min_ratio:g}x): it is reflecting traffic at "
                f"{flow.src_ip}, whose address is likely spoofed"
            ),
            facts={
                "requests": w.flows,
                "request_bytes": w.sent,
                "response_bytes": w.received,
                "ratio": round(ratio, 2),
                "threshold": c.min_ratio,
                "service": service,
            },
        )

    def _alert(
        self,
        w: _Window,
        *,
        rule: str,
        source: str | None,
        victim: str,
        destinations: tuple[str, ...],
        identifier: str,
        explanation: str,
        facts: dict[str, int | float | str],
    ) -> Alert:
        return Alert(
            time=w.last,
            first_seen=w.first,
            last_seen=w.last,
            detector=self.name,
            rule=rule,
            severity=Severity.HIGH,
            sensor=w.sensor,
            source_ip=source,
            destination_ip=victim,
            destinations=destinations,
            tactic=Tactic.IMPACT,
            technique="T1498.002",
            identifier=identifier,
            explanation=explanation,
            facts=facts,
            evidence=tuple(f.id for f in w.evidence),
        )


def _note(w: _Window, reflector: str, flow: Flow, size: int) -> None:
    if len(w.reflectors) < size * 50:
        w.reflectors.add(reflector)
    if len(w.evidence) < size:
        w.evidence.append(flow)
