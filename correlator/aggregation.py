"""Aggregation queries every store answers: counts, top-N, histograms and hourly posture.

The requests and results are plain values so that SQLite (GROUP BY) and Elasticsearch
(aggregations) can be held to the same answers; the pure helpers here turn what a store
counted into the one canonical shape (sorted counts, dense histograms and posture grids).

"Live" incidents are those not marked false positive; "open" ones are also not resolved.
Incidents another incident absorbed (``superseded_by`` set) are never counted: the survivor
holds their alerts, so counting both would count one threat twice.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from correlator.incident import Incident, IncidentStatus
from detectors.alert import Severity

CLOSED = frozenset({IncidentStatus.RESOLVED, IncidentStatus.FALSE_POSITIVE})
"""Statuses of incidents nobody needs to act on."""
ANCHOR_PAD = 1.0
"""Seconds an anchored window ends after the newest activity (its end is exclusive)."""
NO_STAGE = "none"
"""The stage key of single-stage incidents."""


@dataclass(frozen=True, kw_only=True)
class Scope:
    """A named group of units counted together (a unit and every unit below it)."""

    name: str
    units: frozenset[str] | None  # None: every incident, whatever its units (the city)


@dataclass(frozen=True, kw_only=True)
class Window:
    """A time range cut into buckets aligned on multiples of ``bucket`` since the epoch.

    ``until`` None anchors the window on the data: it ends ``ANCHOR_PAD`` after the newest
    activity, so a replayed capture shows its own day.
    """

    span: float  # seconds before ``until``
    bucket: int  # seconds, whole so that both stores cut buckets at the same instants
    until: float | None = None


@dataclass(frozen=True, kw_only=True)
class IncidentAggregation:
    """What to count over the incidents that touch ``units`` (None: every incident)."""

    units: frozenset[str] | None = None
    window: Window | None = None  # hourly posture, the histogram; None: no time figures
    scopes: tuple[Scope, ...] = ()  # posture, open count and worst incidents per scope
    top: int = 10
    worst: int = 0  # open incidents listed per scope, highest risk first (whole documents)
    # Only incidents whose span overlaps [since, until) (a report's period); None: all of them.
    active: tuple[float, float] | None = None


@dataclass(frozen=True, kw_only=True)
class AlertAggregation:
    """What to count over the alerts in [since, until)."""

    since: float | None = None
    until: float | None = None
    bucket: int | None = None  # histogram bucket in seconds; needs since and until
    top: int = 10
    ids: tuple[str, ...] | None = None  # only these alerts (a unit viewer's); None: every one
    source_ip: str | None = None  # these narrow the counts as ``AlertQuery``'s filters do
    destination_ip: str | None = None
    detector: str | None = None
    rule: str | None = None


@dataclass(frozen=True, kw_only=True)
class Count:
    """How many records have ``key``."""

    key: str
    count: int


@dataclass(frozen=True, kw_only=True)
class Bucket:
    """How many records fall in the bucket starting at ``start`` (epoch seconds)."""

    start: float
    count: int


@dataclass(frozen=True, kw_only=True)
class PostureCell:
    """One scope in one bucket: the live incidents active in it."""

    scope: str
    start: float
    risk: int  # highest risk score among them, 0 when none
    incidents: int
    critical: int  # of critical severity


@dataclass(frozen=True, kw_only=True)
class IncidentHeadline:
    """The few fields of an incident that a list of links shows: its id, how bad, what."""

    id: str
    title: str
    kind: str
    severity: Severity
    risk_score: int
    attackers: tuple[str, ...]
    victims: tuple[str, ...]
    entity: str

    @classmethod
    def of(cls, incident: Incident) -> IncidentHeadline:
        """The headline of a whole incident."""
        return cls(
            id=incident.id,
            title=incident.title,
            kind=incident.kind,
            severity=incident.severity,
            risk_score=incident.risk_score,
            attackers=incident.attackers,
            victims=incident.victims,
            entity=incident.entity,
        )


HEADLINE_FIELDS = (
    "message",
    *(
        f"nssa.incident.{name}"
        for name in ("id", "kind", "severity", "risk_score", "attackers", "victims", "entity")
    ),
)
"""The ECS fields ``headline_from`` reads: all a store needs to return of the worst incidents."""


def headline_from(doc: Mapping[str, Any]) -> IncidentHeadline:
    """A headline from an incident's ECS document (whole, or only ``HEADLINE_FIELDS``).

    Read by hand rather than through ``Incident.from_ecs``: decoding hundreds of whole
    documents was most of the units page's time.
    """
    fields = doc["nssa"]["incident"]
    return IncidentHeadline(
        id=str(fields["id"]),
        title=str(doc["message"]),
        kind=str(fields["kind"]),
        severity=Severity(fields["severity"]),
        risk_score=int(fields["risk_score"]),
        attackers=tuple(fields.get("attackers", ())),
        victims=tuple(fields.get("victims", ())),
        entity=str(fields.get("entity", "")),
    )


@dataclass(frozen=True, kw_only=True)
class ScopeFigures:
    """One scope's open incidents: how many, and the worst of them."""

    scope: str
    open_incidents: int
    worst: tuple[IncidentHeadline, ...]


@dataclass(frozen=True, kw_only=True)
class IncidentStats:
    """The answer to an ``IncidentAggregation``; counts are of live incidents unless noted."""

    total: int  # every matching incident, false positives too
    open_incidents: int
    latest: float | None  # the newest last_seen of any matching incident
    since: float | None  # the window as resolved (None without a window or incidents)
    until: float | None
    by_severity: tuple[Count, ...]
    by_status: tuple[Count, ...]  # every matching incident
    by_stage: tuple[Count, ...]  # single-stage incidents under ``NO_STAGE``
    by_unit: tuple[Count, ...]  # only the requested units
    attackers: tuple[Count, ...]  # top N
    victims: tuple[Count, ...]  # top N
    histogram: tuple[Bucket, ...]  # incidents first seen in each bucket of the window
    posture: tuple[PostureCell, ...]  # by scope (request order), then bucket
    scopes: tuple[ScopeFigures, ...]  # request order


@dataclass(frozen=True, kw_only=True)
class AlertStats:
    """The answer to an ``AlertAggregation``."""

    total: int
    detectors: tuple[Count, ...]  # top N
    rules: tuple[Count, ...]  # top N, keyed "detector/rule"
    sources: tuple[Count, ...]  # top N source addresses
    histogram: tuple[Bucket, ...]


def counts(found: Iterable[tuple[str, int]], top: int | None = None) -> tuple[Count, ...]:
    """Counts most first, ties by key; the first ``top`` when given; zeros left out."""
    ranked = sorted(((k, n) for k, n in found if n > 0), key=lambda kv: (-kv[1], kv[0]))
    return tuple(Count(key=k, count=n) for k, n in ranked[:top])


def bucket_starts(since: float, until: float, bucket: int) -> tuple[float, ...]:
    """Starts of the aligned buckets covering [since, until)."""
    first = math.floor(since / bucket) * bucket
    return tuple(float(first + n * bucket) for n in range(math.ceil((until - first) / bucket)))


def dense_histogram(starts: tuple[float, ...], found: Mapping[float, int]) -> tuple[Bucket, ...]:
    """One bucket per start, zero where nothing was counted."""
    return tuple(Bucket(start=s, count=found.get(s, 0)) for s in starts)


def posture_grid(
    scopes: Iterable[Scope],
    starts: tuple[float, ...],
    found: Mapping[tuple[str, float], tuple[int, int, int]],
) -> tuple[PostureCell, ...]:
    """One cell per scope and bucket from (risk, incidents, critical), zero where absent."""
    return tuple(
        PostureCell(scope=scope.name, start=s, risk=r, incidents=n, critical=c)
        for scope in scopes
        for s in starts
        for r, n, c in [found.get((scope.name, s), (0, 0, 0))]
    )


class _Ranked(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def risk_score(self) -> int: ...


_R = TypeVar("_R", bound=_Ranked)


def ranked(incidents: Iterable[_R], limit: int) -> tuple[_R, ...]:
    """The ``limit`` highest-risk incidents (or headlines), ties by id."""
    return tuple(sorted(incidents, key=lambda i: (-i.risk_score, i.id))[:limit])


def window_bounds(window: Window, latest: float | None) -> tuple[float, float]:
    """The window's [since, until) once the newest activity (None: none yet) is known."""
    until = window.until if window.until is not None else (latest or 0.0) + ANCHOR_PAD
    return until - window.span, until


def no_incidents(request: IncidentAggregation) -> IncidentStats:
    """The answer when no incident matches: zeros, and an all-zero posture grid."""
    since = until = None
    starts: tuple[float, ...] = ()
    if request.window is not None:
        since, until = window_bounds(request.window, None)
        starts = bucket_starts(since, until, request.window.bucket)
    return IncidentStats(
        total=0,
        open_incidents=0,
        latest=None,
        since=since,
        until=until,
        by_severity=(),
        by_status=(),
        by_stage=(),
        by_unit=(),
        attackers=(),
        victims=(),
        histogram=dense_histogram(starts, {}),
        posture=posture_grid(request.scopes, starts, {}),
        scopes=tuple(
            ScopeFigures(scope=s.name, open_incidents=0, worst=()) for s in request.scopes
        ),
    )
