"""The posture overview as pure functions: what to ask the store, and the page from its answer.

The store counts (``overview_request`` → ``Store.incident_stats``) and ``overview_from`` shapes
its figures; ``overview`` computes the same page from a list of incidents, the reference the
aggregations are tested and benchmarked against.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from correlator.aggregation import (
    CLOSED,
    IncidentAggregation,
    IncidentHeadline,
    IncidentStats,
    Scope,
    Window,
)
from correlator.incident import Incident, IncidentStatus, Stage
from correlator.organisation import OrganisationMap, UnitKind
from correlator.posture import CITY, HOUR, Direction, PosturePoint, Trend, posture, trends
from detectors.alert import Severity

WINDOW_HOURS = 24
"""Hours of posture the overview shows."""
TOP = 10
"""Rows in each top-N table."""
INTERNAL = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)
"""Internal ranges (RFC 1918, shared CGN space, ULA): never an external source."""
UNIT_WORST = 5
"""Open incidents listed per unit on the units page."""


@dataclass(frozen=True, kw_only=True)
class UnitPosture:
    """One unit in the ranking: its worst risk in the window, open incidents and trend."""

    code: str
    peak: int
    open_incidents: int
    direction: Direction
    worst: tuple[IncidentHeadline, ...] = ()  # its highest-risk open ones, up to ``UNIT_WORST``


@dataclass(frozen=True, kw_only=True)
class Overview:
    """Everything the 态势总览 page and the big screen show."""

    score: int  # the city's (or the viewer's units') worst risk in the window
    direction: Direction
    series: tuple[PosturePoint, ...]  # the scope's hourly posture, oldest first
    units: tuple[UnitPosture, ...]  # worst first
    by_severity: tuple[tuple[Severity, int], ...]
    by_stage: tuple[tuple[str, int], ...]  # stage value, or "none" for single-stage incidents
    sources: tuple[tuple[str, int], ...]  # external attacker addresses by incident count
    targets: tuple[tuple[str, int], ...]  # victim addresses by incident count
    open_incidents: int
    examined: int  # incidents the figures are computed from


def overview(
    incidents: Sequence[Incident],
    organisation: OrganisationMap,
    *,
    units: frozenset[str] | None,
    until: float,
) -> Overview:
    """The overview of ``incidents`` in the ``WINDOW_HOURS`` before ``until``.

    ``units`` limits the ranking to those codes (a unit viewer); None ranks every unit and
    scores the city.
    """
    points = posture(incidents, organisation, since=until - WINDOW_HOURS * HOUR, until=until)
    by_trend = {t.scope: t for t in trends(points)}
    # The city's root unit is the headline score, not a row of the ranking.
    scopes = _ranking_scopes(organisation, units)
    headline = [CITY] if units is None else scopes
    series = _worst_series(points, headline)
    live = [i for i in incidents if i.status is not IncidentStatus.FALSE_POSITIVE]
    open_ = [i for i in live if i.status not in CLOSED]
    return Overview(
        score=max((p.risk for p in series), default=0),
        direction=by_trend[headline[0]].direction if headline and by_trend else Direction.FLAT,
        series=series,
        units=_ranking(scopes, points, by_trend, open_, organisation),
        by_severity=tuple((s, sum(1 for i in live if i.severity is s)) for s in Severity),
        by_stage=_in_stage_order(Counter(i.stage.value if i.stage else "none" for i in live)),
        sources=_counted(a for i in live for a in i.attackers if _external(a, organisation))[:TOP],
        targets=_counted(v for i in live for v in i.victims)[:TOP],
        open_incidents=len(open_),
        examined=len(incidents),
    )


def overview_request(
    organisation: OrganisationMap,
    units: frozenset[str] | None,
    *,
    sources: int = TOP,
    worst: bool = False,
) -> IncidentAggregation:
    """The aggregation behind the overview of ``units`` (None: the city), anchored on the data.

    ``sources`` is how many attackers to count: internal ones are dropped afterwards, so the
    caller asks for more than ``TOP``. ``worst`` lists each unit's worst open incidents (the
    units page): the only incidents the store then returns whole.
    """
    ranking = _ranking_scopes(organisation, units)
    below: dict[str, set[str]] = {}
    for unit in organisation.units:  # one walk up per unit, not one per pair of units
        for above in organisation.lineage(unit.code):
            below.setdefault(above.code, set()).add(unit.code)
    headline = [Scope(name=CITY, units=None)] if units is None else []
    return IncidentAggregation(
        units=units,
        window=Window(span=WINDOW_HOURS * HOUR, bucket=int(HOUR)),
        scopes=(
            *headline,
            *(Scope(name=code, units=frozenset(below.get(code, ()))) for code in ranking),
        ),
        top=max(sources, TOP),
        worst=UNIT_WORST if worst else 0,
    )


def overview_from(
    stats: IncidentStats, organisation: OrganisationMap, *, units: frozenset[str] | None
) -> Overview:
    """The overview page from the store's answer to ``overview_request`` (same ``units``)."""
    points = [
        PosturePoint(
            scope=c.scope, hour=c.start, risk=c.risk, incidents=c.incidents, critical=c.critical
        )
        for c in stats.posture
    ]
    by_trend = {t.scope: t for t in trends(points)}
    scopes = _ranking_scopes(organisation, units)
    headline = [CITY] if units is None else scopes
    series = _worst_series(points, headline)
    peaks: Counter[str] = Counter()
    for point in points:
        peaks[point.scope] = max(peaks[point.scope], point.risk)
    figures = {f.scope: f for f in stats.scopes}
    rows = [
        UnitPosture(
            code=code,
            peak=peaks[code],
            open_incidents=figures[code].open_incidents,
            direction=by_trend[code].direction if code in by_trend else Direction.FLAT,
            worst=figures[code].worst,
        )
        for code in scopes
    ]
    severities = {c.key: c.count for c in stats.by_severity}
    return Overview(
        score=max((p.risk for p in series), default=0),
        direction=by_trend[headline[0]].direction if headline and by_trend else Direction.FLAT,
        series=series,
        units=tuple(sorted(rows, key=lambda r: (-r.peak, -r.open_incidents, r.code))),
        by_severity=tuple((s, severities.get(s.value, 0)) for s in Severity),
        by_stage=_in_stage_order(Counter({c.key: c.count for c in stats.by_stage})),
        sources=tuple((c.key, c.count) for c in stats.attackers if _external(c.key, organisation))[
            :TOP
        ],
        targets=tuple((c.key, c.count) for c in stats.victims)[:TOP],
        open_incidents=stats.open_incidents,
        examined=stats.total,
    )


def sources_complete(
    stats: IncidentStats, request: IncidentAggregation, organisation: OrganisationMap
) -> bool:
    """Whether ``stats`` holds ``TOP`` external attackers, or every attacker there is."""
    external = sum(1 for c in stats.attackers if _external(c.key, organisation))
    return external >= TOP or len(stats.attackers) < request.top


def _ranking_scopes(organisation: OrganisationMap, units: frozenset[str] | None) -> list[str]:
    """The units ranked on the page: every unit but the city's root, or the viewer's."""
    return [
        u.code
        for u in organisation.units
        if u.kind is not UnitKind.CITY and (units is None or u.code in units)
    ]


def stage_order() -> tuple[str, ...]:
    """Stage values in kill-chain order, then "none"."""
    return (*(s.value for s in Stage), "none")


def _in_stage_order(counts: Counter[str]) -> tuple[tuple[str, int], ...]:
    return tuple((stage, counts[stage]) for stage in stage_order())


def _worst_series(
    points: Sequence[PosturePoint], scopes: Sequence[str]
) -> tuple[PosturePoint, ...]:
    """Per hour, the worst point among ``scopes``."""
    worst: dict[float, PosturePoint] = {}
    for point in points:
        if point.scope in scopes and (
            point.hour not in worst or point.risk > worst[point.hour].risk
        ):
            worst[point.hour] = point
    return tuple(worst[hour] for hour in sorted(worst))


def _ranking(
    scopes: Sequence[str],
    points: Sequence[PosturePoint],
    by_trend: Mapping[str, Trend],
    open_: Sequence[Incident],
    organisation: OrganisationMap,
) -> tuple[UnitPosture, ...]:
    peaks: Counter[str] = Counter()
    for point in points:
        peaks[point.scope] = max(peaks[point.scope], point.risk)
    by_unit: dict[str, list[Incident]] = {}
    for incident in open_:
        for code in {u.code for c in incident.units for u in organisation.lineage(c)}:
            by_unit.setdefault(code, []).append(incident)
    rows = [
        UnitPosture(
            code=code,
            peak=peaks[code],
            open_incidents=len(by_unit.get(code, [])),
            direction=by_trend[code].direction if code in by_trend else Direction.FLAT,
            worst=tuple(
                IncidentHeadline.of(i)
                for i in sorted(by_unit.get(code, []), key=lambda i: (-i.risk_score, i.id))
            )[:UNIT_WORST],
        )
        for code in scopes
    ]
    return tuple(sorted(rows, key=lambda r: (-r.peak, -r.open_incidents, r.code)))


def _counted(values: object) -> tuple[tuple[str, int], ...]:
    counts = Counter(values)  # type: ignore[call-overload]
    return tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _external(value: str, organisation: OrganisationMap) -> bool:
    """Whether ``value`` is an outside address: not the city's, not an internal range.

    Accounts (authentication incidents group by them too) are not addresses and are left out.
    """
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        return False
    if organisation.locate(value) is not None or addr.is_loopback or addr.is_link_local:
        return False
    return not any(addr in net for net in INTERNAL if net.version == addr.version)
