"""DNS tunnelling and exfiltration per client and registered domain (Paxson et al. 2013).

A tunnel has to carry its data in the query names, so the information a client sends to one
registered domain (eTLD+1 from the Public Suffix List) over time is bounded for benign use
and large for a tunnel. For each (client, registered domain) and ``window_seconds`` the
detector counts the distinct subdomain strings and estimates the information they carry as
the sum of length x character entropy (bits) over the distinct names. It alerts when both
``min_names`` distinct names and ``info_bytes`` of information are reached; the alert also
gives the TXT/NULL/CNAME/MX share, mean label length and entropy, and the DNS bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter
from typing import ClassVar

from detectors.alert import Alert, Severity
from detectors.attack import Tactic
from detectors.domains import entropy, registered_domain, subdomain
from detectors.ranges import check_ranges
from detectors.site import Site
from detectors.windows import BoundedMap
from sensors.events import DnsQuery, Event

UNUSUAL_TYPES = frozenset({"TXT", "NULL", "CNAME", "MX", "PRIVATE", "ANY"})
"""Record types tunnels prefer because their answers carry the most data."""


@lru_cache(maxsize=65_536)
def _name_entropy(sub: str) -> float:
    """Character entropy of a subdomain, cached: benign clients repeat a few names (www)."""
    return entropy(sub)


@dataclass(frozen=True, kw_only=True)
class DnsTunnelConfig:
    """Bounds of the DNS-tunnelling detector."""

    window_seconds: float = 3600.0
    """Information is summed per (client, registered domain) over this window."""
    min_names: int = 10
    """Distinct subdomain strings needed (RITA's base threshold is 100 per domain over a day)."""
    info_bytes: float = 128.0
    """Estimated information in the distinct names (bytes) that makes a tunnel; benign
    clients of one domain send tens of bytes (a few short, low-entropy names)."""
    allow_domains: tuple[str, ...] = ("in-addr.arpa", "ip6.arpa", "sophosxl.net", "spamhaus.org")
    """Name suffixes whose encoded lookups are benign by design (PTR, AV and DNSBL queries)."""
    sample_size: int = 5
    """Sample query names listed in an alert."""
    max_names: int = 4096
    """Distinct names remembered per pair (beyond it names are counted, not de-duplicated)."""
    max_keys: int = 100_000
    """(client, domain) pairs tracked at once."""
    site: Site = field(default_factory=Site, metadata={"site": True})

    def __post_init__(self) -> None:
        checks = {
            "window_seconds": 60.0 <= self.window_seconds <= 7 * 86_400.0,
            "min_names": 2 <= self.min_names <= 1_000_000,
            "info_bytes": 1.0 <= self.info_bytes <= 1e9,
            "allow_domains": all(d and d == d.lower() for d in self.allow_domains),
            "sample_size": 1 <= self.sample_size <= 100,
            "max_names": 16 <= self.max_names <= 1_000_000,
            "max_keys": 1 <= self.max_keys <= 10_000_000,
        }
        check_ranges(self, checks)

    def allowed(self, name: str) -> bool:
        """Whether ``name`` is one of the allowed domains or under one of them."""
        return name in self.allow_domains or name.endswith(self.allowed_suffixes)

    @property
    def allowed_suffixes(self) -> tuple[str, ...]:
        """``.domain`` for every allowed domain (what ``str.endswith`` takes at once)."""
        return tuple("." + d for d in self.allow_domains)


@dataclass(slots=True)
class _Pair:
    """One client's queries under one registered domain in the current window (slots: one
    per client and domain)."""

    first: float
    last: float
    sensor: str
    resolver: str
    queries: int = 0
    unusual: int = 0
    nxdomain: int = 0
    bytes: int = 0
    info_bits: float = 0.0
    length: int = 0
    entropy: float = 0.0
    # Plain dicts of strings and counts rather than a set and a Counter: CPython's garbage
    # collector skips such dicts, and most pairs are a single query of a single name.
    names: dict[str, None] = field(default_factory=dict)  # distinct subdomains, in order
    zones: dict[str, int] = field(default_factory=dict)  # queries per parent zone, in order
    samples: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    fired: bool = False


class DnsTunnel:
    """Information sent per client and registered domain through DNS names, over time."""

    name: ClassVar[str] = "dnstunnel"
    Config: ClassVar[type[DnsTunnelConfig]] = DnsTunnelConfig
    accepts: ClassVar[tuple[type[Event], ...]] = (DnsQuery,)

    def __init__(self, config: DnsTunnelConfig) -> None:
        self.config = config
        self._pairs: BoundedMap[tuple[str, str], _Pair] = BoundedMap(config.max_keys)
        self._allowed_suffixes = config.allowed_suffixes  # built once, checked every query
        self._allow_domains = frozenset(config.allow_domains)

    def observe(self, event: Event) -> list[Alert]:
        """Add one query's name to its (client, registered domain) tally."""
        return (self._query(event) or []) if isinstance(event, DnsQuery) else []

    def observe_batch(self, events: Sequence[Event]) -> list[Alert]:
        """:meth:`observe` over a batch, in order."""
        alerts: list[Alert] = []
        query = self._query
        for event in [e for e in events if isinstance(e, DnsQuery) and e.query]:
            if found := query(event):
                alerts.extend(found)
        return alerts

    def _query(self, event: DnsQuery) -> list[Alert] | None:
        """Alerts of one query (None when it completes nothing)."""
        if not event.query:
            return None
        name = event.query.strip(".").lower()
        if name in self._allow_domains or name.endswith(self._allowed_suffixes):
            return None
        now, window, pairs = event.time, self.config.window_seconds, self._pairs
        oldest = pairs.oldest()  # flush's own test, here to spare a call per query
        if oldest is not None and oldest.first + window <= now:
            self.flush(now)
        domain = registered_domain(name)
        key = (event.src_ip, domain)
        pair = pairs.get(key)
        if pair is not None and pair.first + window <= now:
            pairs.pop(key)  # window over: start a new one
            pair = None
        if pair is None:
            pair = pairs.insert(key, self._new(event))
        self._count(pair, event, name, subdomain(name, domain))
        c = self.config
        if pair.fired or len(pair.names) < c.min_names or pair.info_bits / 8 < c.info_bytes:
            return None
        pair.fired = True
        return [self._alert(event.src_ip, domain, pair)]

    def flush(self, now: float) -> list[Alert]:
        """Forget windows that ended before ``now`` (alerts are raised as they complete)."""
        window = self.config.window_seconds
        oldest = self._pairs.oldest()
        if oldest is not None and oldest.first + window <= now:  # else expire() stops at once
            self._pairs.expire(lambda p: p.first + window <= now)
        return []

    def _new(self, event: DnsQuery) -> _Pair:
        return _Pair(first=event.time, last=event.time, sensor=event.sensor, resolver=event.dst_ip)

    def _count(self, pair: _Pair, event: DnsQuery, name: str, sub: str) -> None:
        pair.last = max(pair.last, event.time)
        pair.queries += 1
        pair.unusual += event.qtype in UNUSUAL_TYPES
        pair.nxdomain += event.rcode == "NXDOMAIN"
        pair.bytes += event.request_bytes + event.response_bytes
        zones, zone = pair.zones, name.partition(".")[2]
        zones[zone] = zones.get(zone, 0) + 1
        names = pair.names
        if not sub or sub in names:
            return
        if len(names) < self.config.max_names:
            names[sub] = None
        bits = _name_entropy(sub)
        pair.info_bits += len(sub) * bits
        pair.length += len(sub)
        pair.entropy += bits
        if len(pair.samples) < self.config.sample_size:
            pair.samples.append(name[:255])
            pair.evidence.append(event.id)

    def _alert(self, client: str, domain: str, pair: _Pair) -> Alert:
        c = self.config
        names = len(pair.names)
        info = pair.info_bits / 8
        zone = _top(pair.zones) if pair.zones else domain
        alert = Alert(
            time=pair.last,
            first_seen=pair.first,
            last_seen=pair.last,
            detector=self.name,
            rule="dnstunnel.exfiltration",
            severity=Severity.HIGH,
            sensor=pair.sensor,
            source_ip=client,
            tactic=Tactic.COMMAND_AND_CONTROL,
            technique="T1071.004",
            identifier=f"dnstunnel:{client}:{domain}",
            explanation=(
                f"{client} sent {names} distinct names under {domain} (zone {zone}) carrying "
                f"about {info:.0f} bytes in {pair.last - pair.first:.0f} s (thresholds: "
                f"{c.min_names} names, {c.info_bytes:.0f} bytes per {c.window_seconds:.0f} s)"
            ),
            facts={
                "resolver": pair.resolver,
                "domain": domain,
                "zone": zone,
                "queries": pair.queries,
                "distinct_names": names,
                "info_bytes": round(info, 1),
                "info_threshold": c.info_bytes,
                "min_names": c.min_names,
                "window_seconds": c.window_seconds,
                "mean_label_length": round(pair.length / names, 1),
                "mean_entropy": round(pair.entropy / names, 3),
                "unusual_type_share": round(pair.unusual / pair.queries, 3),
                "nxdomain": pair.nxdomain,
                "dns_bytes": pair.bytes,
                **{f"sample_name_{n}": s for n, s in enumerate(pair.samples, 1)},
            },
            evidence=tuple(pair.evidence),
        )
        return c.site.label(alert)


def _top(counts: dict[str, int]) -> str:
    """The most counted key, the first one inserted among ties (as ``Counter.most_common``)."""
    return max(counts.items(), key=itemgetter(1))[0]
