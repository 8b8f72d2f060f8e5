"""Floods: unpaired SYNs by CUSUM (Wang, Zhang, Shin) and per-destination packet and bit rates.

Detectors see finished flows, so a spoofed SYN flood arrives as many one-packet flows that were
never answered or never completed (UNANSWERED, HALF_OPEN without FIN or RST). Windows are laid
over flow *start* times and closed once later flows have moved ``lateness_seconds`` past them.

- ``flood.syn``: per destination, each interval's unpaired SYNs normalised by the average
  closings (FIN/RST) of that destination feed a non-parametric CUSUM; a site-wide CUSUM on the
  same signal catches random-destination floods that no single victim shows;
- ``flood.rate``: per destination and transport, packets/s or bits/s over ``rate_seconds``
  above FastNetMon-style thresholds (ICMP has its own, lower one, and so do link-wide
  destinations, broadcast and link-local multicast, which every host on the segment must
  process: a DHCP request flood or a multicast echo storm);
- the entropy of sources and destination ports in the alarm interval names the kind:
  spoofed (many random sources) or direct (few sources), one service or many.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from detectors.alert import Alert, Severity
from detectors.attack import Tactic
from detectors.cusum import Cusum
from detectors.evidence import cite, cited_ids
from detectors.floodstate import Bins, Interval, Limits, Spread, Target, Unpaired
from detectors.linkscope import is_link_wide
from detectors.ranges import check_ranges
from detectors.spread import bump, entropy, kind
from sensors.events import Event, Flow, TcpOutcome, Transport

UNPAIRED = (TcpOutcome.UNANSWERED, TcpOutcome.HALF_OPEN)
"""Outcomes of a SYN that no FIN or RST closed (checked together with the flags)."""

TCP = Transport.TCP
"""The transport whose SYNs are paired (a module constant: no enum lookup per flow)."""

ICMP = (Transport.ICMP.value, Transport.ICMPV6.value)
"""Transports held to the lower ICMP packet rate."""

_VALUES = {transport: transport.value for transport in Transport}
"""Each transport's ECS value (``.value`` of an enum member is a slow descriptor per flow)."""

SITE = "*"
"""The key of the site-wide pairing CUSUM."""

SAMPLE_SHARE = 0.1
"""Share of a rate threshold from which a bin counts its senders and ports: the flood's own
packets dominate what follows, and ordinary bins never pay for the counters."""


@dataclass(frozen=True, kw_only=True)
class FloodConfig:
    """Thresholds of the flood detector."""

    interval_seconds: float = 10.0
    """Length of one CUSUM interval (our target: detection within 10 s)."""
    min_closing: float = 10.0
    """Floor of the closings per interval that unpaired SYNs are divided by (quiet hosts)."""
    cusum_drift: float = 1.0
    """Normalised excess per interval the CUSUM tolerates (Wang et al.'s ``a``)."""
    cusum_threshold: float = 1.0
    """Cumulative normalised excess that raises a SYN-flood alarm (Wang et al.'s ``h``): one
    interval of unpaired SYNs at twice the closing rate alarms, our 10 s target at 2x."""
    rate_seconds: float = 1.0
    """Averaging interval of the packet and bit rates (FastNetMon averages over 5 s)."""
    packets_per_second: float = 20_000.0
    """Packets/s to one destination that make a flood (FastNetMon's default ban threshold)."""
    megabits_per_second: float = 1_000.0
    """Mbit/s to one destination that make a flood (FastNetMon's default)."""
    icmp_packets_per_second: float = 500.0
    """ICMP packets/s to one destination that make an ICMP flood (pings are a few per second)."""
    link_wide_packets_per_second: float = 1_000.0
    """Packets/s to a broadcast or link-local multicast address that make a flood: every host
    on the segment takes each one, and discovery chatter (mDNS, ARP, NDP, DHCP) runs at a
    few per second, so one full second at this rate is also the minimum evidence."""
    lateness_seconds: float = 120.0
    """How long after an interval flows starting in it may still arrive (flow-table timeouts)."""
    scan_share: float = 0.5
    """Unpaired SYNs from at most two sources spread over this share of distinct ports or
    hosts are a scan (left to the scan detectors), not a flood."""
    sample_size: int = 20
    """How many sources and evidence flows an alert lists."""
    max_destinations: int = 100_000
    """State cap: the stalest destinations are dropped beyond it (counted in ``evictions``)."""
    max_spread_bins: int = 3600
    """A long flow's packets are spread over at most this many rate intervals."""

    def __post_init__(self) -> None:
        checks = {
            "interval_seconds": 0.1 <= self.interval_seconds <= 3600.0,
            "min_closing": 1.0 <= self.min_closing <= 1e9,
            "cusum_drift": 0.0 <= self.cusum_drift <= 1e6,
            "cusum_threshold": 0.0 < self.cusum_threshold <= 1e9,
            "rate_seconds": 0.1 <= self.rate_seconds <= 3600.0,
            "packets_per_second": 1.0 <= self.packets_per_second <= 1e10,
            "megabits_per_second": 0.001 <= self.megabits_per_second <= 1e7,
            "icmp_packets_per_second": 1.0 <= self.icmp_packets_per_second <= 1e10,
            "link_wide_packets_per_second": 1.0 <= self.link_wide_packets_per_second <= 1e10,
            "lateness_seconds": 0.0 <= self.lateness_seconds <= 86_400.0,
            "scan_share": 0.0 < self.scan_share <= 1.0,
            "sample_size": 1 <= self.sample_size <= 1000,
            "max_destinations": 1 <= self.max_destinations <= 10_000_000,
            "max_spread_bins": 1 <= self.max_spread_bins <= 1_000_000,
        }
        check_ranges(self, checks)


def _limits(c: FloodConfig, *, icmp: bool, link_wide: bool) -> Limits:
    """The packet thresholds of ICMP or other traffic to a host or a link-wide address."""
    limit = c.icmp_packets_per_second if icmp else c.packets_per_second
    if link_wide:
        limit = min(limit, c.link_wide_packets_per_second)
    packet_cap = limit * c.rate_seconds
    return Limits(limit=limit, packet_cap=packet_cap, some_packets=SAMPLE_SHARE * packet_cap)


class Flood:
    """SYN floods by pairing CUSUM; packet, bit and ICMP rate floods per destination."""

    name: ClassVar[str] = "flood"
    Config: ClassVar[type[FloodConfig]] = FloodConfig
    accepts: ClassVar[tuple[type[Event], ...]] = (Flow,)

    def __init__(self, config: FloodConfig) -> None:
        self.config = config
        self.evictions = 0
        self.late_flows = 0
        self._targets: dict[str, Target] = {}
        self._watermark = -math.inf
        self._next_flush = -math.inf
        # Per-flow constants, computed once (the same expressions the rate check uses).
        c = config
        self._octet_cap = c.megabits_per_second * 1e6 * c.rate_seconds / 8
        self._some_octets = SAMPLE_SHARE * self._octet_cap
        self._limits = {
            (icmp, wide): _limits(c, icmp=icmp, link_wide=wide)
            for icmp in (False, True)
            for wide in (False, True)
        }

    def observe(self, event: Event) -> list[Alert]:
        """Count a flow's SYN pairing and its packets; close intervals the input has passed."""
        return (self._flow(event) or []) if isinstance(event, Flow) else []

    def observe_batch(self, events: Sequence[Event]) -> list[Alert]:
        """:meth:`observe` over a batch, in order."""
        alerts: list[Alert] = []
        one = self._flow
        for event in [e for e in events if isinstance(e, Flow)]:
            if found := one(event):
                alerts.extend(found)
        return alerts

    def flush(self, now: float) -> list[Alert]:
        """Close every interval that ended before ``now`` and step its CUSUM."""
        alerts: list[Alert] = []
        width = self.config.interval_seconds
        horizon = now - max(self.config.lateness_seconds, width)
        rate = self.config.rate_seconds
        for key, target in list(self._targets.items()):
            if target.intervals:
                for index in sorted(i for i in target.intervals if (i + 1) * width <= now):
                    alert = self._step(key, target, index, target.intervals.pop(index))
                    if alert is not None:
                        alerts.append(alert)
            for proto, bins in list(target.rates.items()):
                bins.expire(horizon, rate)
                if not bins.packets:
                    del target.rates[proto]
            if not (target.intervals or target.rates or target.cusum.total) and key != SITE:
                del self._targets[key]  # idle and calm: its baseline falls back to the floor
        return alerts

    def _flow(self, flow: Flow) -> list[Alert] | None:
        """One flow's rates and SYN pairing, and the intervals its start time closes."""
        self._watermark = max(self._watermark, flow.start)
        alerts = self._rates(flow)
        if flow.transport is TCP and "S" in flow.flags_out:
            self._pair(flow)
        due = self._watermark - self.config.lateness_seconds
        if due >= self._next_flush:  # close intervals once per interval, not per flow
            alerts = [*(alerts or ()), *self.flush(due)]
            self._next_flush = due + self.config.interval_seconds
        return alerts

    # -- SYN pairing ---------------------------------------------------------------------

    def _pair(self, flow: Flow) -> None:
        """Count a SYN as paired or unpaired, for its destination and for the whole site."""
        c = self.config
        index = math.floor(flow.start / c.interval_seconds)
        out, back = flow.flags_out, flow.flags_in
        closed = "F" in out or "F" in back or "R" in out or "R" in back
        unpaired = flow.outcome in UNPAIRED and not closed
        for key in (flow.dst_ip, SITE):
            target = self._target(key)
            if target.closed is not None and index <= target.closed:
                self.late_flows += 1
                continue
            slot = target.intervals.get(index)
            if slot is None:
                slot = target.intervals[index] = Interval(sensor=flow.sensor)
            if not unpaired:
                slot.paired += 1
                continue
            slot.unpaired += 1
            detail = slot.detail
            if detail is None:
                detail = slot.detail = Unpaired()
            bump(detail.sources, flow.src_ip, c.max_destinations)
            bump(detail.ports, flow.dst_port, c.max_destinations)
            bump(detail.targets, flow.dst_ip, c.max_destinations)
            if len(detail.evidence) < c.sample_size:
                detail.evidence.append(cite(flow))

    def _step(self, key: str, target: Target, index: int, slot: Interval) -> Alert | None:
        c = self.config
        if target.closed is not None:
            target.cusum.idle(index - target.closed - 1)
        target.closed = index
        was = target.cusum.alarm
        x = slot.unpaired / max(target.closing, c.min_closing)
        alarm = target.cusum.step(x)
        if not alarm:
            target.closing += 0.1 * (slot.paired - target.closing)
            target.fired.pop("syn", None)
            return None
        if was or "syn" in target.fired or _scan_like(slot, c.scan_share):
            return None
        top = max(slot.spread.targets.values(), default=0)
        if key == SITE and top >= 0.5 * slot.unpaired:
            return None  # one victim dominates: its own CUSUM names it
        target.fired["syn"] = index * c.interval_seconds
        return self._syn_alert(key, target, index, slot, x)

    # -- rates ---------------------------------------------------------------------------

    def _rates(self, flow: Flow) -> list[Alert] | None:
        """Spread a flow's packets and bytes over its rate bins; alerts of bins it fills."""
        c = self.config
        width = c.rate_seconds
        first = math.floor(flow.start / width)
        if flow.end / width <= first + 1:  # the usual flow, within one bin: no ceil, min, max
            last = first
        else:
            last = min(math.ceil(flow.end / width) - 1, first + c.max_spread_bins - 1)
        count = last - first + 1
        target = self._targets.get(flow.dst_ip) or self._target(flow.dst_ip)
        proto = _VALUES[flow.transport]
        bins = target.rates.get(proto)
        if bins is None:
            limits = self._limits[proto in ICMP, target.link_wide]
            bins = target.rates[proto] = Bins(limits=limits)
        limits = bins.limits
        bins.oldest = min(bins.oldest, first)
        packets, octets = flow.packets_out / count, flow.bytes_out / count
        some_packets, some_octets = limits.some_packets, self._some_octets
        sums, volumes = bins.packets, bins.octets
        alerts: list[Alert] | None = None
        for index in range(first, last + 1):
            total = sums[index] = sums.get(index, 0.0) + packets
            volume = volumes[index] = volumes.get(index, 0.0) + octets
            if total < some_packets and volume < some_octets:
                continue  # only a bin on its way to a flood pays for its spread
            alert = self._busy_bin(flow, target, bins, index, limits)
            if alert is not None:
                alerts = [*(alerts or ()), alert]
        return alerts

    def _busy_bin(
        self, flow: Flow, target: Target, bins: Bins, index: int, limits: Limits
    ) -> Alert | None:
        """Count the senders and ports of a bin near its threshold; alert once it is over."""
        cap = self.config.sample_size * 50  # enough distinct senders for a stable entropy
        if bins.spreads is None:
            bins.spreads = {}
        spread = bins.spreads.get(index)
        if spread is None:
            spread = bins.spreads[index] = Spread()
        bump(spread.sources, flow.src_ip, cap)
        bump(spread.ports, flow.dst_port, cap)
        if bins.packets[index] >= limits.packet_cap or bins.octets[index] >= self._octet_cap:
            return self._rate_check(flow, target, bins, index, limits.limit)
        return None

    def _rate_check(
        self, flow: Flow, target: Target, bins: Bins, index: int, limit: float
    ) -> Alert | None:
        """Alert on a rate over its threshold unless the same flood's alert still stands."""
        c = self.config
        proto, start = flow.transport.value, index * c.rate_seconds
        if start - target.fired.get(proto, -math.inf) <= c.lateness_seconds:
            return None
        target.fired[proto] = start
        return self._rate_alert(flow, bins, index, limit)

    # -- state ---------------------------------------------------------------------------

    def _target(self, key: str) -> Target:
        target = self._targets.get(key)
        if target is None:
            if len(self._targets) >= self.config.max_destinations:
                stalest = next(k for k in self._targets if k != SITE)  # oldest inserted
                del self._targets[stalest]
                self.evictions += 1
            c = self.config
            cusum = Cusum(0.0, c.cusum_drift, c.cusum_threshold, learning_rate=0.0)
            target = self._targets[key] = Target(
                cusum=cusum, closing=c.min_closing, link_wide=key != SITE and is_link_wide(key)
            )
        return target

    # -- alerts --------------------------------------------------------------------------

    def _syn_alert(self, key: str, target: Target, index: int, slot: Interval, x: float) -> Alert:
        c = self.config
        start = index * c.interval_seconds
        site = key == SITE
        spread = slot.spread
        label = kind(spread.sources, spread.ports)
        victims = [t for t, _ in spread.targets.most_common(c.sample_size)]
        sources = [s for s, _ in spread.sources.most_common(c.sample_size)]
        single = len(spread.sources) == 1
        where = "across the site" if site else f"to {key}"
        return Alert(
            time=start + c.interval_seconds,
            first_seen=start,
            last_seen=start + c.interval_seconds,
            detector=self.name,
            rule="flood.syn",
            severity=Severity.HIGH,
            sensor=slot.sensor,
            source_ip=sources[0] if single else None,
            destination_ip=None if site else key,
            destinations=tuple(victims),
            destination_ports=tuple(p for p, _ in spread.ports.most_common(c.sample_size)),
            tactic=Tactic.IMPACT,
            technique="T1498.001" if site else "T1499.001",  # ATT&CK: SYN floods exhaust the OS
            identifier=f"flood.syn:{key}",
            explanation=(
                f"{label} SYN flood {where}: {slot.unpaired} SYNs never answered or closed in "
                f"{c.interval_seconds:g}s against {slot.paired} paired (normalised excess "
                f"{x:.1f}, CUSUM {target.cusum.total:.1f} >= {c.cusum_threshold:g}) from "
                f"{len(spread.sources)} sources"
            ),
            facts={
                "unpaired_syns": slot.unpaired,
                "paired_syns": slot.paired,
                "normalised_excess": round(x, 3),
                "cusum": round(target.cusum.total, 3),
                "cusum_threshold": c.cusum_threshold,
                "interval_seconds": c.interval_seconds,
                "distinct_sources": len(spread.sources),
                "source_entropy": round(entropy(spread.sources), 3),
                "port_entropy": round(entropy(spread.ports), 3),
                "kind": label,
            },
            evidence=cited_ids(spread.evidence),
        )

    def _rate_alert(self, flow: Flow, bins: Bins, index: int, limit: float) -> Alert:
        c = self.config
        start = index * c.rate_seconds
        packets, octets = bins.packets[index], bins.octets[index]
        pps, mbps = packets / c.rate_seconds, octets * 8 / c.rate_seconds / 1e6
        proto = flow.transport.value
        scope = "link-wide" if is_link_wide(flow.dst_ip) else "host"
        spread = (bins.spreads or {}).get(index) or Spread()
        label = kind(spread.sources, spread.ports)
        sources = [s for s, _ in spread.sources.most_common(c.sample_size)]
        return Alert(
            time=start + c.rate_seconds,
            first_seen=start,
            last_seen=start + c.rate_seconds,
            detector=self.name,
            rule="flood.rate",
            severity=Severity.HIGH,
            sensor=flow.sensor,
            source_ip=sources[0] if len(spread.sources) == 1 else None,
            destination_ip=flow.dst_ip,
            destinations=(flow.dst_ip,),
            destination_ports=tuple(p for p, _ in spread.ports.most_common(c.sample_size)),
            tactic=Tactic.IMPACT,
            technique="T1498.001",
            identifier=f"flood.rate:{flow.dst_ip}:{proto}",
            explanation=(
                f"{label} {proto} flood to {scope} {flow.dst_ip}: {pps:,.0f} packets/s and "
                f"{mbps:,.1f} Mbit/s over {c.rate_seconds:g}s (thresholds: {limit:,.0f} "
                f"packets/s or {c.megabits_per_second:,.0f} Mbit/s) from {len(spread.sources)} "
                f"sources, most of all {sources[0]}"
            ),
            facts={
                "packets_per_second": round(pps, 1),
                "megabits_per_second": round(mbps, 3),
                "packets_threshold": limit,
                "megabits_threshold": c.megabits_per_second,
                "rate_seconds": c.rate_seconds,
                "transport": proto,
                "scope": scope,
                "distinct_sources": len(spread.sources),
                "source_entropy": round(entropy(spread.sources), 3),
                "port_entropy": round(entropy(spread.ports), 3),
                "kind": label,
            },
            evidence=(flow.id,),
        )


def _scan_like(slot: Interval, share: float) -> bool:
    """One or two sources spreading unpaired SYNs over many ports or hosts: a scan."""
    detail = slot.spread
    if len(detail.sources) > 2:
        return False
    spread = max(len(detail.ports), len(detail.targets))
    return spread >= max(2.0, share * slot.unpaired)
