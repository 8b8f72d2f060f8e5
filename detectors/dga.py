"""Domain-generation algorithms: machine-made names that do not resolve, per client.

A DGA-infected host tries many generated domains until one resolves, so it produces a burst
of NXDOMAIN answers. Two signals per client within ``window_seconds``:

- ``dga.lexical``: ``min_dga_names`` distinct NXDOMAIN registered domains whose first label
  has a lexical score (``detectors.domains.lexical_score``) of at least ``min_lexical``;
- ``dga.nxburst``: ``nx_burst`` distinct NXDOMAIN registered domains whatever they look
  like, which also covers wordlist DGAs (suppobox, matsnu) that lexical models miss.

Typos and stale bookmarks give a few NXDOMAINs for a handful of domains, far below both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from detectors.alert import Alert, Severity
from detectors.attack import Tactic
from detectors.domains import lexical_score, registered_domain
from detectors.ranges import check_ranges
from detectors.site import Site
from detectors.windows import BoundedMap
from sensors.events import DnsQuery, Event


@dataclass(frozen=True, kw_only=True)
class DgaConfig:
    """Thresholds of the DGA detector."""

    window_seconds: float = 600.0
    """NXDOMAIN answers of one client are counted over this window."""
    min_lexical: float = 0.6
    """Lexical score (0 word - 1 random) from which a name counts as machine-made."""
    min_dga_names: int = 8
    """Distinct machine-made NXDOMAIN registered domains that raise ``dga.lexical``."""
    nx_burst: int = 25
    """Distinct NXDOMAIN registered domains of any kind that raise ``dga.nxburst``."""
    sample_size: int = 10
    """Sample names listed in an alert."""
    max_domains: int = 1024
    """Distinct NXDOMAIN domains remembered per client."""
    max_keys: int = 100_000
    """Clients tracked at once."""
    site: Site = field(default_factory=Site, metadata={"site": True})

    def __post_init__(self) -> None:
        checks = {
            "window_seconds": 10.0 <= self.window_seconds <= 86_400.0,
            "min_lexical": 0.0 < self.min_lexical <= 1.0,
            "min_dga_names": 2 <= self.min_dga_names <= 100_000,
            "nx_burst": self.min_dga_names <= self.nx_burst <= 1_000_000,
            "sample_size": 1 <= self.sample_size <= 100,
            "max_domains": self.nx_burst <= self.max_domains <= 1_000_000,
            "max_keys": 1 <= self.max_keys <= 10_000_000,
        }
        check_ranges(self, checks)


@dataclass
class _Client:
    """One client's NXDOMAIN answers in the current window."""

    first: float
    last: float
    sensor: str
    resolver: str
    domains: dict[str, float] = field(default_factory=dict)  # registered domain -> score
    evidence: list[str] = field(default_factory=list)
    fired: set[str] = field(default_factory=set)


class Dga:
    """NXDOMAIN bursts of machine-made (or any) names per client."""

    name: ClassVar[str] = "dga"
    Config: ClassVar[type[DgaConfig]] = DgaConfig
    accepts: ClassVar[tuple[type[Event], ...]] = (DnsQuery,)

    def __init__(self, config: DgaConfig) -> None:
        self.config = config
        self._clients: BoundedMap[str, _Client] = BoundedMap(config.max_keys)

    def observe(self, event: Event) -> list[Alert]:
        """Count one NXDOMAIN answer; alert when a client's burst crosses a threshold."""
        if not isinstance(event, DnsQuery) or event.rcode != "NXDOMAIN" or not event.query:
            return []
        self.flush(event.time)
        c = self.config
        known = self._clients.get(event.src_ip)
        if known is not None and known.first + c.window_seconds <= event.time:
            self._clients.pop(event.src_ip)  # window over: start a new one
        client = self._clients.touch(event.src_ip, lambda: self._new(event))
        client.last = max(client.last, event.time)
        domain = registered_domain(event.query)
        if domain not in client.domains and len(client.domains) < c.max_domains:
            client.domains[domain] = lexical_score(domain.partition(".")[0])
            if len(client.evidence) < c.sample_size:
                client.evidence.append(event.id)
        lexical = sum(score >= c.min_lexical for score in client.domains.values())
        alerts = []
        if lexical >= c.min_dga_names and "dga.lexical" not in client.fired:
            alerts.append(self._alert(event.src_ip, client, "dga.lexical", lexical))
        if len(client.domains) >= c.nx_burst and "dga.nxburst" not in client.fired:
            alerts.append(self._alert(event.src_ip, client, "dga.nxburst", lexical))
        return alerts

    def flush(self, now: float) -> list[Alert]:
        """Forget clients whose window ended before ``now``."""
        window = self.config.window_seconds
        self._clients.expire(lambda cl: cl.first + window <= now)
        return []

    def _new(self, event: DnsQuery) -> _Client:
        return _Client(
            first=event.time, last=event.time, sensor=event.sensor, resolver=event.dst_ip
        )

    def _alert(self, source: str, client: _Client, rule: str, lexical: int) -> Alert:
        c = self.config
        client.fired.add(rule)
        ranked = sorted(client.domains.items(), key=lambda kv: (-kv[1], kv[0]))
        what = (
            f"{lexical} machine-looking domains (lexical score >= {c.min_lexical}, "
            f"threshold {c.min_dga_names})"
            if rule == "dga.lexical"
            else f"{len(client.domains)} distinct domains (threshold {c.nx_burst})"
        )
        alert = Alert(
            time=client.last,
            first_seen=client.first,
            last_seen=client.last,
            detector=self.name,
            rule=rule,
            severity=Severity.HIGH if rule == "dga.lexical" else Severity.MEDIUM,
            sensor=client.sensor,
            source_ip=source,
            tactic=Tactic.COMMAND_AND_CONTROL,
            technique="T1568.002",
            identifier=f"{rule}:{source}",
            explanation=(f"{source} got NXDOMAIN for {what} within {c.window_seconds:.0f} s"),
            facts={
                "resolver": client.resolver,
                "nxdomain_domains": len(client.domains),
                "lexical_domains": lexical,
                "min_lexical": c.min_lexical,
                "min_dga_names": c.min_dga_names,
                "nx_burst": c.nx_burst,
                "window_seconds": c.window_seconds,
                **{
                    f"sample_domain_{n}": f"{d} ({s})"
                    for n, (d, s) in enumerate(ranked[: c.sample_size], 1)
                },
            },
            evidence=tuple(client.evidence),
        )
        return c.site.label(alert)
