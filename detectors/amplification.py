"""Reflection and amplification: unsolicited large UDP responses, and our hosts as reflectors.

Rossow ("Amplification Hell", NDSS 2014) lists the UDP services abused for reflection. Two
rules over finished flows, with windows over flow start times:

- ``amplification.victim``: a local host receives responses from reflector service ports
  (DNS 53, NTP 123, SSDP 1900, CharGen 19, memcached 11211, SNMP 161, CLDAP 389) that it
  never asked for. The flow table pairs a request with its response, so an unsolicited
  response shows up as a flow *initiated* by the reflector port;
- ``amplification.reflector``: a service answers one client with many times the bytes it
  was sent (request/response byte ratio per service): one of ours is being used to reflect
  traffic at that client, whose address is likely spoofed;
- ``amplification.smurf``: echo requests sent to a broadcast or multicast group in the name
  of one source: every member answers that source, the spoofed victim (smurf; THC-IPv6's
  rsmurf6 does it with ICMPv6 and ff02::1);
- ``amplification.loop``: a datagram from one self-answering UDP service to another (echo,
  daytime, qotd, chargen, time; CVE-1999-0103): each answers the other forever, so one
  forged packet is the whole attack and no client ever sends from those ports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from detectors.alert import Alert, Severity
from detectors.attack import Tactic
from detectors.evidence import Cited, cite, cited_ids
from detectors.linkscope import is_group, is_link_wide
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

LOOP_PORTS = {7: "echo", 13: "daytime", 17: "qotd", 19: "chargen", 37: "time"}
"""UDP services that answer any datagram, so two of them answer each other without end."""

ECHO_REQUEST = {Transport.ICMP: 8, Transport.ICMPV6: 128}
"""The echo request type of each ICMP (flows carry the type as the source port)."""

SERVICE_PORTS = frozenset(REFLECTOR_PORTS) | frozenset(LOOP_PORTS)
"""UDP ports of which a flow must have one (either end) for a UDP rule to count it."""

UDP = Transport.UDP
"""The transport of the reflection rules (a module constant: no enum lookup per flow)."""


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
    smurf_min_requests: int = 100
    """Echo requests to one group in one source's name within the window that make a smurf:
    more than a plain ``ping -b`` (one a second) sends in a 60 s window."""
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
            "smurf_min_requests": 1 <= self.smurf_min_requests <= 1_000_000_000,
            "sample_size": 1 <= self.sample_size <= 1000,
            "max_keys": 1 <= self.max_keys <= 10_000_000,
        }
        check_ranges(self, checks)


@dataclass(slots=True)
class _Window:
    """Traffic of one (rule, victim, service) since ``first``."""

    first: float
    last: float
    sensor: str
    flows: int = 0
    packets: int = 0
    sent: int = 0  # bytes the victim or client sent
    received: int = 0  # bytes the reflector answered with
    # A dict as an ordered set: CPython's garbage collector skips dicts of strings, and there
    # is one window per DNS client and resolver.
    reflectors: dict[str, None] = field(default_factory=dict)
    evidence: list[Cited] = field(default_factory=list)  # ids, or flows hashed only on alert
    fired: bool = False


class Amplification:
    """Unsolicited reflector responses to a victim; our services amplifying towards a client."""

    name: ClassVar[str] = "amplification"
    Config: ClassVar[type[AmplificationConfig]] = AmplificationConfig
    accepts: ClassVar[tuple[type[Event], ...]] = (Flow,)

    def __init__(self, config: AmplificationConfig) -> None:
        self.config = config
        self.evictions = 0
        self._windows: dict[tuple[str, str, str], _Window] = {}

    def observe(self, event: Event) -> list[Alert]:
        """Count UDP flows from or to reflector ports, and echo requests to groups."""
        if not isinstance(event, Flow):
            return []
        if _echo_to_group(event):
            return self._smurf(event)
        if event.transport is not Transport.UDP:
            return []
        return self._udp(event)

    def observe_batch(self, events: Sequence[Event]) -> list[Alert]:
        """:meth:`observe` over a batch, in order."""
        # Only ICMP (echoes to groups) and UDP flows with a service port at either end can
        # count: one comprehension drops the rest of a batch instead of a call per flow.
        ports = SERVICE_PORTS
        wanted = [
            e
            for e in events
            if isinstance(e, Flow)
            and (
                e.transport in ECHO_REQUEST
                or (e.transport is UDP and (e.src_port in ports or e.dst_port in ports))
            )
        ]
        alerts: list[Alert] = []
        observe = self.observe
        for flow in wanted:
            alerts.extend(observe(flow))
        return alerts

    def flush(self, now: float) -> list[Alert]:
        """Forget windows silent for a whole window; alerts were raised as they crossed."""
        horizon = now - self.config.window_seconds
        for key in [k for k, w in self._windows.items() if w.last < horizon]:
            del self._windows[key]
        return []

    def _udp(self, flow: Flow) -> list[Alert]:
        if flow.src_port in LOOP_PORTS and flow.dst_port in LOOP_PORTS:
            return self._loop(flow)
        if flow.src_port in REFLECTOR_PORTS and _unsolicited(flow):
            return self._unsolicited(flow)
        if flow.dst_port in REFLECTOR_PORTS and flow.packets_in > 0:
            return self._answered(flow)
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

    def _smurf(self, flow: Flow) -> list[Alert]:
        w = self._window(("smurf", flow.src_ip, flow.dst_ip), flow)
        if not w.fired and flow.start - w.first > self.config.window_seconds:
            w.first, w.packets, w.sent = flow.start, 0, 0  # a rate: count afresh (tumbling)
        w.packets += flow.packets_out
        w.sent += flow.bytes_out
        _note(w, flow.dst_ip, flow, self.config.sample_size)
        if w.fired or w.packets < self.config.smurf_min_requests:
            return []
        w.fired = True
        return [self._smurf_alert(flow, w)]

    def _loop(self, flow: Flow) -> list[Alert]:
        ends = sorted([f"{flow.src_ip}:{flow.src_port}", f"{flow.dst_ip}:{flow.dst_port}"])
        w = self._window(("loop", ends[0], ends[1]), flow)
        w.packets += flow.packets_out + flow.packets_in
        w.sent += flow.bytes_out + flow.bytes_in
        _note(w, flow.src_ip, flow, self.config.sample_size)
        if w.fired:
            return []
        w.fired = True
        return [self._loop_alert(flow, w)]

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

    def _smurf_alert(self, flow: Flow, w: _Window) -> Alert:
        c = self.config
        victim, group = flow.src_ip, flow.dst_ip
        scope = "link-wide" if is_link_wide(group) else "routed"
        return self._alert(
            w,
            rule="amplification.smurf",
            source=None,  # the sender forged the victim's address: it is not in the packets
            victim=victim,
            destinations=(victim, group),
            identifier=f"amplification.smurf:{victim}:{group}",
            explanation=(
                f"{w.packets} echo requests ({w.sent:,} bytes) sent to {scope} group {group} "
                f"in the name of {victim} within {w.last - w.first:.1f}s: every member "
                f"answers {victim}, the likely spoofed victim (smurf reflection; threshold "
                f"{c.smurf_min_requests} requests in {c.window_seconds:g}s)"
            ),
            facts={
                "requests": w.packets,
                "request_bytes": w.sent,
                "group": group,
                "scope": scope,
                "threshold": c.smurf_min_requests,
                "window_seconds": c.window_seconds,
                "kind": "smurf",
            },
        )

    def _loop_alert(self, flow: Flow, w: _Window) -> Alert:
        a, b = LOOP_PORTS[flow.src_port], LOOP_PORTS[flow.dst_port]
        return self._alert(
            w,
            rule="amplification.loop",
            source=None,  # whoever forged the first datagram is not in the packets
            victim=flow.dst_ip,
            destinations=(flow.dst_ip, flow.src_ip),
            identifier=f"amplification.loop:{min(flow.src_ip, flow.dst_ip)}:"
            f"{max(flow.src_ip, flow.dst_ip)}",
            explanation=(
                f"UDP {a} on {flow.src_ip} and {b} on {flow.dst_ip} are answering each other "
                f"({w.packets} packets, {w.sent:,} bytes so far): a forged datagram set two "
                f"self-answering services into an endless loop (CVE-1999-0103)"
            ),
            facts={
                "packets": w.packets,
                "bytes": w.sent,
                "services": f"{a}<->{b}",
                "kind": "service loop",
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
            evidence=cited_ids(w.evidence),
        )


def _echo_to_group(flow: Flow) -> bool:
    """An echo request (code 0) addressed to a broadcast or multicast group."""
    request = ECHO_REQUEST.get(flow.transport)
    return flow.src_port == request and flow.dst_port == 0 and is_group(flow.dst_ip)


def _unsolicited(flow: Flow) -> bool:
    """A flow the reflector port opened: to a client port, or to a service port that never
    answered (attack tools forge requests from 123 or 53 too, so the victim's port is one;
    peers' NTP and resolvers' queries from 53 get answers, and groups are not victims)."""
    if flow.dst_port not in REFLECTOR_PORTS:
        return True
    return flow.packets_in == 0 and not is_group(flow.dst_ip)


def _note(w: _Window, reflector: str, flow: Flow, size: int) -> None:
    if len(w.reflectors) < size * 50:
        w.reflectors[reflector] = None
    if len(w.evidence) < size:
        w.evidence.append(cite(flow))
