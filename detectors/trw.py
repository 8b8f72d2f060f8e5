"""Threshold Random Walk over each external source's first contacts (Jung et al. 2004).

Every first contact of a source to a distinct address is a trial: a success (an answer, a
completed handshake) multiplies the likelihood ratio by theta1/theta0 (1/4 by default), a
failure by (1-theta1)/(1-theta0) (4). Crossing eta1 = PD/PF names a scanner; falling below
eta0 = (1-PD)/(1-PF) clears the source and the walk starts again. With the published
defaults four failed first contacts flag a scanner. Contacts to dark space (internal
addresses no asset uses) weigh ``dark_weight`` failures, and ``dark_hosts`` distinct dark
contacts raise their own alert (scan-NG's "landmine"). There is no window: state lives
``state_seconds`` (a day) so slow scans are still walked, bounded by ``max_sources`` and
``max_contacts``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from detectors.alert import Alert, Severity
from detectors.attack import Tactic
from detectors.ranges import check_ranges
from detectors.site import Site, is_unicast
from detectors.windows import BoundedMap
from sensors.events import Event, Flow, TcpOutcome, Transport

SUCCESS = {TcpOutcome.ESTABLISHED, TcpOutcome.CLOSED}
ICMP_REQUESTS = {8, 13, 15, 17, 128}  # echo, timestamp, information, address mask, echo (v6)
FAILURE = {TcpOutcome.REJECTED, TcpOutcome.UNANSWERED, TcpOutcome.HALF_OPEN, TcpOutcome.MIDSTREAM}
MARKS = {(True, False): "S", (False, False): "F", (True, True): "SD", (False, True): "FD"}
"""How a trace shows a first contact: S answered or F failed, D when to dark space."""


@dataclass(frozen=True, kw_only=True)
class TrwConfig:
    """Parameters of the sequential hypothesis test and its state bounds."""

    theta0: float = 0.8
    """Chance that a benign source's first contact succeeds (Jung et al.: 0.8)."""
    theta1: float = 0.2
    """Chance that a scanner's first contact succeeds (Jung et al.: 0.2)."""
    detection_probability: float = 0.99
    """Target detection probability PD; eta1 = PD / PF."""
    false_positive_probability: float = 0.01
    """Target false-positive probability PF; eta0 = (1 - PD) / (1 - PF)."""
    dark_weight: int = 3
    """Failures a contact to dark space counts as (no benign source should go there)."""
    dark_hosts: int = 5
    """Distinct dark addresses that raise a dark-space alert (scan-NG LandMine: 5)."""
    watch_internal: bool = False
    """Also walk internal sources (their first contacts succeed less predictably)."""
    state_seconds: float = 86_400.0
    """How long a silent source's walk is kept; at least a day so slow scans are walked."""
    max_sources: int = 200_000
    """Sources tracked at once; the least recently active are dropped beyond it."""
    max_contacts: int = 4096
    """Distinct addresses remembered per source (older first contacts may count again)."""
    sample_size: int = 20
    """Contacts listed in an alert's trace and evidence."""
    site: Site = field(default_factory=Site, metadata={"site": True})

    def __post_init__(self) -> None:
        checks = {
            "theta0": 0.5 < self.theta0 < 1.0,
            "theta1": 0.0 < self.theta1 < self.theta0,
            "detection_probability": 0.5 < self.detection_probability < 1.0,
            "false_positive_probability": 0.0 < self.false_positive_probability < 0.5,
            "dark_weight": 1 <= self.dark_weight <= 100,
            "dark_hosts": 1 <= self.dark_hosts <= 1 << 24,
            "state_seconds": 86_400.0 <= self.state_seconds <= 30 * 86_400.0,
            "max_sources": 1 <= self.max_sources <= 10_000_000,
            "max_contacts": 1 <= self.max_contacts <= 1_000_000,
            "sample_size": 1 <= self.sample_size <= 1000,
        }
        check_ranges(self, checks)

    @property
    def step_failure(self) -> float:
        """Log-likelihood added by a failed first contact."""
        return math.log((1 - self.theta1) / (1 - self.theta0))

    @property
    def step_success(self) -> float:
        """Log-likelihood added by a successful first contact (negative)."""
        return math.log(self.theta1 / self.theta0)

    @property
    def upper(self) -> float:
        """log eta1: at or above it the source is a scanner."""
        return math.log(self.detection_probability / self.false_positive_probability)

    @property
    def lower(self) -> float:
        """log eta0: at or below it the source is benign and the walk restarts."""
        pd, pf = self.detection_probability, self.false_positive_probability
        return math.log((1 - pd) / (1 - pf))


@dataclass(slots=True)
class _Walk:
    """One source's random walk and the contacts behind it (slots: one per source seen)."""

    first: float
    last: float
    sensor: str
    # In first-contact order; the oldest go beyond the cap. A plain dict: it keeps insertion
    # order too, at half an OrderedDict's memory (one per source seen).
    contacts: dict[str, bool]
    score: float = 0.0
    failures: int = 0
    successes: int = 0
    dark: int = 0
    trace: list[tuple[str, str]] = field(default_factory=list)  # (address, outcome mark)
    evidence: list[str] | None = None  # created with the first failure: most walks succeed
    fired: tuple[str, ...] = ()  # a tuple: most walks never fire, and an empty set costs


class ThresholdRandomWalk:
    """Sequential hypothesis test on first-contact outcomes, plus dark-space contacts."""

    name: ClassVar[str] = "trw"
    Config: ClassVar[type[TrwConfig]] = TrwConfig
    accepts: ClassVar[tuple[type[Event], ...]] = (Flow,)

    def __init__(self, config: TrwConfig) -> None:
        self.config = config
        self._walks: BoundedMap[str, _Walk] = BoundedMap(config.max_sources)
        # The walk's constants, computed once rather than per step.
        self._step_success, self._step_failure = config.step_success, config.step_failure
        self._upper, self._lower = config.upper, config.lower
        # Site lookups that cannot match are skipped (no internal networks, no asset list).
        self._skip_internal = not config.watch_internal and bool(config.site.internal)
        self._has_assets = bool(config.site.assets)

    def observe(self, event: Event) -> list[Alert]:
        """Walk one step when a flow is its source's first contact with an address."""
        return (self._walk(event) or []) if isinstance(event, Flow) else []

    def observe_batch(self, events: Sequence[Event]) -> list[Alert]:
        """:meth:`observe` over a batch, in order."""
        alerts: list[Alert] = []
        contact = self._contact
        # Internal sources (most flows' when only outside sources are walked) are dropped
        # first, in one comprehension, instead of in a method call per flow.
        internal = self.config.site.is_internal
        flows = [f for f in events if isinstance(f, Flow)]
        if self._skip_internal:
            flows = [f for f in flows if not internal(f.src_ip)]
        for flow in flows:
            if found := contact(flow):
                alerts.extend(found)
        return alerts

    def flush(self, now: float) -> list[Alert]:
        """Forget sources silent for ``state_seconds``; the walk has no window to close."""
        oldest = self._walks.oldest()
        if oldest is not None and now - oldest.last > self.config.state_seconds:
            self._walks.expire(lambda w: now - w.last > self.config.state_seconds)
        return []

    def _walk(self, flow: Flow) -> list[Alert] | None:
        """One flow's step (None when it is no first contact or raises nothing)."""
        if self._skip_internal and self.config.site.is_internal(flow.src_ip):
            return None
        return self._contact(flow)

    def _contact(self, flow: Flow) -> list[Alert] | None:
        """:meth:`_walk` for a flow whose source is walked."""
        success = _success(flow)
        if success is None:
            return None
        start, walks = flow.start, self._walks
        oldest = walks.oldest()  # flush's own test, here to spare a call per flow
        if oldest is not None and start - oldest.last > self.config.state_seconds:
            self.flush(start)
        walk = walks.get(flow.src_ip)
        if walk is None:
            walk = walks.insert(flow.src_ip, self._new(flow))
        elif start > walk.last:
            walk.last = start
        contacts = walk.contacts
        if flow.dst_ip in contacts:
            return None
        contacts[flow.dst_ip] = success
        if len(contacts) > self.config.max_contacts:
            del contacts[next(iter(contacts))]
        return self._step(flow, walk, success)

    def _new(self, flow: Flow) -> _Walk:
        return _Walk(first=flow.start, last=flow.start, sensor=flow.sensor, contacts={})

    def _step(self, flow: Flow, walk: _Walk, success: bool) -> list[Alert] | None:
        c = self.config
        dark = self._has_assets and c.site.is_dark(flow.dst_ip)
        if success:
            walk.successes += 1
            walk.score += self._step_success
        else:
            weight = c.dark_weight if dark else 1
            walk.failures += weight
            walk.score += weight * self._step_failure
        walk.dark += dark
        if len(walk.trace) < c.sample_size:
            walk.trace.append((flow.dst_ip, MARKS[success, dark]))  # formatted on alert
        if not success:  # only failures are evidence; ids cost a hash
            if walk.evidence is None:
                walk.evidence = [flow.id]
            elif len(walk.evidence) < c.sample_size:
                walk.evidence.append(flow.id)
        alerts = None
        if walk.score >= self._upper and "scan.trw" not in walk.fired:
            alerts = [self._alert(flow, walk, "scan.trw")]
        if walk.dark >= c.dark_hosts and "scan.darkspace" not in walk.fired:
            alerts = [*(alerts or ()), self._alert(flow, walk, "scan.darkspace")]
        if walk.score <= self._lower:
            walk.score = 0.0  # cleared as benign; restart so a later scan is still caught
        return alerts

    def _alert(self, flow: Flow, walk: _Walk, rule: str) -> Alert:
        c = self.config
        walk.fired = (*walk.fired, rule)
        contacts = walk.failures + walk.successes
        alert = Alert(
            time=flow.start,
            first_seen=walk.first,
            last_seen=walk.last,
            detector=self.name,
            rule=rule,
            severity=Severity.HIGH if rule == "scan.darkspace" else Severity.MEDIUM,
            sensor=walk.sensor,
            source_ip=flow.src_ip,
            destinations=tuple(address for address, _ in walk.trace),
            tactic=Tactic.RECONNAISSANCE,
            technique="T1595.001",
            identifier=f"{rule}:{flow.src_ip}",
            explanation=self._explain(flow.src_ip, walk, rule),
            facts={
                "first_contacts": len(walk.contacts),
                "failures": walk.failures,
                "successes": walk.successes,
                "dark_contacts": walk.dark,
                "weighted_contacts": contacts,
                "likelihood_ratio": round(math.exp(walk.score), 3),
                "threshold": round(math.exp(c.upper), 3),
                "theta0": c.theta0,
                "theta1": c.theta1,
                "duration_seconds": round(walk.last - walk.first, 6),
                "trace": " ".join(f"{address}:{mark}" for address, mark in walk.trace),
                "evicted_sources": self._walks.evictions,
            },
            evidence=tuple(walk.evidence or ()),
        )
        return c.site.label(alert)

    def _explain(self, source: str, walk: _Walk, rule: str) -> str:
        c = self.config
        if rule == "scan.darkspace":
            return (
                f"{source} contacted {walk.dark} unused addresses of the organisation "
                f"(threshold: {c.dark_hosts})"
            )
        dark = f" ({walk.dark} to dark space, each counted x{c.dark_weight})" if walk.dark else ""
        return (
            f"{source}'s first contacts to {len(walk.contacts)} addresses: {walk.failures} "
            f"failed{dark}, {walk.successes} answered; likelihood ratio "
            f"{math.exp(walk.score):.3g} >= {math.exp(c.upper):.3g} (PD {c.detection_probability}"
            f", PF {c.false_positive_probability})"
        )


def _success(flow: Flow) -> bool | None:
    """A first contact's outcome: True answered, False failed, None not a contact."""
    if not is_unicast(flow.dst_ip):
        return None
    if flow.transport is Transport.TCP:
        if flow.outcome in SUCCESS:
            return True
        return False if flow.outcome in FAILURE else None
    if flow.transport is Transport.UDP:
        return flow.outcome is TcpOutcome.ESTABLISHED
    if flow.transport in (Transport.ICMP, Transport.ICMPV6) and flow.src_port in ICMP_REQUESTS:
        return flow.answered
    return None  # ARP stays on the segment; other protocols have no notion of success
