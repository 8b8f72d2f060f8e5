"""Threat-intelligence matching: contact with a listed address, domain or URL.

Every flow's peers, DNS question, HTTP host and URL and TLS server name is looked up in the
indicator set the application loaded from the intel database (this detector never opens a
file). A hit on a known-good destination (public resolvers, OS update and CDN domains) is
counted as suppressed instead of raised: noisy feeds list them, and an alert on every Windows
Update check would bury the real ones. One alert per indicator and local host per window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar
from urllib.parse import urlsplit

import numpy as np

from detectors.alert import Alert, Fact, Severity
from detectors.attack import Tactic
from detectors.indicators import Indicator, IndicatorKind, url_of
from detectors.indicatorset import IndicatorSet
from detectors.ranges import check_ranges
from detectors.site import Site, is_unicast
from detectors.windows import BoundedMap
from sensors.events import DnsQuery, Event, Flow, HttpRequest, TlsHello


@dataclass(frozen=True, kw_only=True)
class IntelConfig:
    """Settings of the intel detector; the indicator sets are handed in by the application."""

    window_seconds: float = 3600.0
    """An indicator seen again from the same local host within this window is not re-raised."""
    min_confidence: int = 0
    """Indicators below this confidence (0-100) are ignored."""
    high_confidence: int = 80
    """Confidence from which a hit is high severity (STIX: 70-100 is "high")."""
    medium_confidence: int = 50
    """Confidence from which a hit is medium severity; below it, low."""
    max_keys: int = 100_000
    """(Indicator, local host) pairs remembered at once."""
    indicators: IndicatorSet = field(default_factory=IndicatorSet, metadata={"injected": True})
    """The listed indicators (from the intel database; empty: the detector is inert)."""
    known_good: IndicatorSet = field(default_factory=IndicatorSet, metadata={"injected": True})
    """Destinations whose hits are suppressed (the shipped known-good list)."""
    site: Site = field(default_factory=Site, metadata={"site": True})

    def __post_init__(self) -> None:
        checks = {
            "window_seconds": 1.0 <= self.window_seconds <= 30 * 86_400.0,
            "min_confidence": 0 <= self.min_confidence <= 100,
            "high_confidence": self.medium_confidence <= self.high_confidence <= 100,
            "medium_confidence": 0 <= self.medium_confidence <= 100,
            "max_keys": 1 <= self.max_keys <= 10_000_000,
        }
        check_ranges(self, checks)


@dataclass
class IntelStats:
    """What the detector matched; ``suppressed`` hits were on known-good destinations."""

    hits: int = 0
    alerts: int = 0
    repeats: int = 0  # hits inside an open window: no new alert
    suppressed: int = 0
    expired: int = 0  # the value was listed, but the indicator had expired at the event's time


@dataclass(frozen=True, kw_only=True, slots=True)
class _Sighting:
    """One value an event shows, with the local host that reached it and the far end."""

    kind: IndicatorKind
    observed: str
    local: str
    remote: str | None
    inbound: bool = False  # the listed side started the conversation


class Intel:
    """Alerts on contact with threat-intelligence indicators."""

    name: ClassVar[str] = "intel"
    Config: ClassVar[type[IntelConfig]] = IntelConfig
    accepts: ClassVar[tuple[type[Event], ...]] = (Flow, DnsQuery, HttpRequest, TlsHello)

    def __init__(self, config: IntelConfig) -> None:
        self.config = config
        self.stats = IntelStats()
        self._seen: BoundedMap[tuple[str, str, str], float] = BoundedMap(config.max_keys)

    def observe(self, event: Event) -> list[Alert]:
        """Look up what ``event`` shows; alert on unexpired, not known-good indicators."""
        if not len(self.config.indicators):
            return []  # no database configured: inert
        alerts = []
        time = _time(event)
        for sighting in _sightings(event, self.config.site):
            alert = self._check(sighting, event, time)
            if alert is not None:
                alerts.append(alert)
        return alerts

    def observe_batch(self, events: Sequence[Event]) -> list[Alert]:
        """Like ``observe`` on each event; flows whose peers are not listed are skipped at once.

        The peers of every flow of the batch go through one vectorised interval lookup, so
        the per-event work is spent only on the rare flow that touches a listed network.
        """
        if not len(self.config.indicators):
            return []
        flows = [e for e in events if isinstance(e, Flow)]
        peers = [ip for f in flows for ip in (f.src_ip, f.dst_ip)]
        hits = self.config.indicators.contains_ips(peers).reshape(-1, 2).any(axis=1)
        listed = {id(flows[n]) for n in np.flatnonzero(hits)}
        alerts = []
        for event in events:
            if not isinstance(event, Flow) or id(event) in listed:
                alerts.extend(self.observe(event))
        return alerts

    def flush(self, now: float) -> list[Alert]:
        """Forget (indicator, host) pairs whose window ended before ``now``."""
        window = self.config.window_seconds
        self._seen.expire(lambda first: first + window <= now)
        return []

    def _check(self, sighting: _Sighting, event: Event, time: float) -> Alert | None:
        listed = [
            i
            for i in _lookup(self.config.indicators, sighting)
            if i.confidence >= self.config.min_confidence
        ]
        live = [i for i in listed if i.expires is None or i.expires > time]
        self.stats.expired += bool(listed) and not live
        if not live:
            return None
        self.stats.hits += 1
        if _lookup(self.config.known_good, sighting, by_host=True):
            self.stats.suppressed += 1
            return None
        best = max(live, key=lambda i: (i.confidence, i.source))
        key = (best.kind.value, best.value, sighting.local)
        first = self._seen.get(key)
        if first is not None and time < first + self.config.window_seconds:
            self.stats.repeats += 1
            return None
        self._seen.pop(key)
        self._seen.touch(key, lambda: time)
        self.stats.alerts += 1
        return self._alert(sighting, event, time, best, live)

    def _alert(
        self, s: _Sighting, event: Event, time: float, best: Indicator, live: list[Indicator]
    ) -> Alert:
        c = self.config
        sources = sorted({i.source for i in live})
        tactic, technique = _technique(s, event)
        facts: dict[str, Fact] = {
            "intel": ",".join(sources),
            "indicator": best.value,
            "indicator_kind": best.kind.value,
            "observed": s.observed,
            "confidence": best.confidence,
            "expires": best.expires if best.expires is not None else "never",
            "sources": len(sources),
            "window_seconds": c.window_seconds,
        }
        attacker, victim = (s.remote, s.local) if s.inbound else (s.local, s.remote)
        alert = Alert(
            time=time,
            first_seen=time,
            last_seen=time,
            detector=self.name,
            rule=f"intel.{best.kind.value}",
            severity=self._severity(best.confidence),
            sensor=event.sensor,
            source_ip=attacker,
            destination_ip=victim,
            destinations=(victim,) if victim else (),
            tactic=tactic,
            technique=technique,
            identifier=f"intel.{best.kind.value}:{best.value}:{s.local}",
            explanation=(
                f"{s.local} {_verb(s, event)} {s.observed}, "
                f"listed by {', '.join(sources)} as {best.value} (confidence {best.confidence})"
            ),
            facts=facts,
            evidence=(event.id,),
        )
        return c.site.label(alert)

    def _severity(self, confidence: int) -> Severity:
        if confidence >= self.config.high_confidence:
            return Severity.HIGH
        return Severity.MEDIUM if confidence >= self.config.medium_confidence else Severity.LOW


def _lookup(indicators: IndicatorSet, s: _Sighting, *, by_host: bool = False) -> list[Indicator]:
    """Every indicator (expired too) listing what a sighting shows.

    ``by_host`` also looks up a URL's host: a URL on a known-good host is known-good.
    """
    if s.kind is IndicatorKind.IP:
        return indicators.match_ip(s.observed)
    if s.kind is IndicatorKind.DOMAIN:
        return indicators.match_domain(s.observed)
    found = indicators.match_url(s.observed)
    if by_host and not found:
        host = urlsplit(s.observed).hostname or ""
        found = indicators.match_domain(host) or indicators.match_ip(host)
    return found


def _time(event: Event) -> float:
    return event.start if isinstance(event, Flow) else getattr(event, "time", 0.0)


def _sightings(event: Event, site: Site) -> list[_Sighting]:
    """The values of ``event`` worth looking up, oriented local → remote."""
    if isinstance(event, Flow):
        return _flow_sightings(event, site)
    if isinstance(event, DnsQuery) and event.query:
        return [
            _Sighting(
                kind=IndicatorKind.DOMAIN,
                observed=_name(event.query),
                local=event.src_ip,
                remote=None,
            )
        ]
    if isinstance(event, TlsHello) and event.server_name:
        return [
            _Sighting(
                kind=IndicatorKind.DOMAIN,
                observed=_name(event.server_name),
                local=event.src_ip,
                remote=event.dst_ip,
            )
        ]
    if isinstance(event, HttpRequest):
        found = []
        url = url_of(event.host or event.dst_ip or "", event.uri, event.dst_port)
        if url:
            found.append(
                _Sighting(
                    kind=IndicatorKind.URL, observed=url, local=event.src_ip, remote=event.dst_ip
                )
            )
        if event.host:
            found.append(
                _Sighting(
                    kind=IndicatorKind.DOMAIN,
                    observed=_name(event.host.split(":")[0]),
                    local=event.src_ip,
                    remote=event.dst_ip,
                )
            )
        return found
    return []


def _name(name: str) -> str:
    """A name as alerts show it: lower case, no trailing dot."""
    return name.strip().rstrip(".").lower()


def _flow_sightings(flow: Flow, site: Site) -> list[_Sighting]:
    """Both peers of a flow, each as the remote end (the site map rules out internal ones)."""
    found = []
    for remote, local, inbound in (
        (flow.dst_ip, flow.src_ip, False),
        (flow.src_ip, flow.dst_ip, True),
    ):
        if not is_unicast(remote) or (site.internal and site.is_internal(remote)):
            continue
        found.append(
            _Sighting(
                kind=IndicatorKind.IP, observed=remote, local=local, remote=remote, inbound=inbound
            )
        )
    return found


def _verb(s: _Sighting, event: Event) -> str:
    if s.inbound:
        return "was contacted by"
    return "looked up" if isinstance(event, DnsQuery) else "reached"


def _technique(s: _Sighting, event: Event) -> tuple[Tactic, str]:
    """ATT&CK labels: outbound contact is C2 over an application protocol, inbound is probing."""
    if s.inbound:
        return Tactic.RECONNAISSANCE, "T1595"  # Active Scanning
    if isinstance(event, DnsQuery):
        return Tactic.COMMAND_AND_CONTROL, "T1071.004"  # Application Layer Protocol: DNS
    if isinstance(event, HttpRequest | TlsHello):
        return Tactic.COMMAND_AND_CONTROL, "T1071.001"  # Application Layer Protocol: Web
    return Tactic.COMMAND_AND_CONTROL, "T1071"
