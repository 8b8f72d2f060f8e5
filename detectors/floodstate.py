"""The flood detector's state: SYN pairing per interval, rate bins per destination.

Kept apart from ``detectors.flood`` so the detector module holds the decisions. The classes
are plain data, most with slots: a busy link makes them per destination and interval.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from detectors.cusum import Cusum
from detectors.evidence import Cited


@dataclass(frozen=True, slots=True)
class Limits:
    """A rate threshold and the packets per bin it means, for one kind of destination."""

    limit: float  # packets per second
    packet_cap: float  # packets in one rate interval that make a flood
    some_packets: float  # packets from which a bin counts its senders and ports


@dataclass(slots=True)
class Unpaired:
    """Who sent an interval's unpaired SYNs, to which ports and hosts, and sample flows."""

    sources: Counter[str] = field(default_factory=Counter)
    ports: Counter[int] = field(default_factory=Counter)
    targets: Counter[str] = field(default_factory=Counter)
    evidence: list[Cited] = field(default_factory=list)  # ids, or flows hashed only on alert


@dataclass(slots=True)
class Interval:
    """SYN pairing counts of one destination (or the site) in one interval."""

    unpaired: int = 0
    paired: int = 0
    sensor: str = ""
    # Created with the first unpaired SYN: most intervals only ever count paired ones, and
    # three empty counters per destination and interval held memory for nothing.
    detail: Unpaired | None = None

    @property
    def spread(self) -> Unpaired:
        """The unpaired SYNs' senders, ports, hosts and samples (empty when there were none)."""
        return self.detail if self.detail is not None else Unpaired()


@dataclass
class Spread:
    """Senders and ports of a rate interval that is on its way to a flood."""

    sources: Counter[str] = field(default_factory=Counter)
    ports: Counter[int] = field(default_factory=Counter)


@dataclass(slots=True)
class Bins:
    """Packets and bytes towards one destination over one transport, per rate interval.

    Plain dicts of floats keyed by the interval's index: a bin is no object of its own (one
    per destination and second was this detector's main allocation, and the garbage
    collector walked every one of them).
    """

    limits: Limits  # the thresholds of this destination and transport, looked up once
    packets: dict[int, float] = field(default_factory=dict)
    octets: dict[int, float] = field(default_factory=dict)
    # Senders and ports of the bins from SAMPLE_SHARE of a limit: most destinations never get
    # there, so the dict is made with the first such bin.
    spreads: dict[int, Spread] | None = None
    oldest: float = math.inf  # no key is older: nothing to expire above it

    def expire(self, horizon: float, width: float) -> None:
        """Drop the bins that started before ``horizon`` (intervals of ``width`` seconds)."""
        if self.oldest * width >= horizon:
            return  # every bin is still live: keep all
        self.packets = {i: n for i, n in self.packets.items() if i * width >= horizon}
        self.octets = {i: n for i, n in self.octets.items() if i * width >= horizon}
        if self.spreads:
            self.spreads = {i: s for i, s in self.spreads.items() if i * width >= horizon}
        self.oldest = min(self.packets, default=math.inf)


@dataclass(slots=True)
class Target:
    """Pairing CUSUM and rate bins of one destination."""

    cusum: Cusum
    closing: float  # average FIN/RST-paired SYNs per interval (EWMA)
    link_wide: bool = False  # broadcast or link-local multicast: the lower rate threshold
    intervals: dict[int, Interval] = field(default_factory=dict)
    closed: int | None = None
    rates: dict[str, Bins] = field(default_factory=dict)  # by transport (ECS value)
    fired: dict[str, float] = field(default_factory=dict)  # alert kind -> when it last fired
