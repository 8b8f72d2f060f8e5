"""Aggregations: SQLite and a real Elasticsearch node give the same typed figures, which are
those a plain Python count over the same records gives, and the overview built from them is
the overview the dashboard used to compute from the incident list."""

from __future__ import annotations

import math
import random
import sqlite3
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest

from correlator.aggregation import (
    CLOSED,
    NO_STAGE,
    AlertAggregation,
    AlertStats,
    IncidentAggregation,
    IncidentHeadline,
    IncidentStats,
    PostureCell,
    Scope,
    ScopeFigures,
    Window,
    bucket_starts,
    counts,
    dense_histogram,
    no_incidents,
    ranked,
    window_bounds,
)
from correlator.incident import Incident, IncidentStatus, Stage
from correlator.organisation import OrganisationMap, Unit, UnitKind
from dashboard.queries import Viewer, posture_overview
from dashboard.summary import overview, overview_from, overview_request
from detectors.alert import Alert, Severity
from nssa.stores.sqlite import SqliteStore
from tests.conftest import T0, build_alert, build_incident
from tests.test_store_conformance import AnyStore

HOUR = 3600

CITY = OrganisationMap(
    units=(
        Unit(code="city", name="三门峡市", kind=UnitKind.CITY),
        Unit(
            code="police",
            name="市公安局",
            kind=UnitKind.DEPARTMENT,
            parent="city",
            subnets=("10.10.2.0/24",),
        ),
        Unit(code="lushi", name="卢氏县", kind=UnitKind.COUNTY, parent="city"),
        Unit(
            code="lushi-edu",
            name="卢氏县教育局",
            kind=UnitKind.DEPARTMENT,
            parent="lushi",
            subnets=("10.30.5.0/24",),
        ),
        Unit(
            code="lushi-health",
            name="卢氏县卫健委",
            kind=UnitKind.DEPARTMENT,
            parent="lushi",
            subnets=("10.30.6.0/24",),
        ),
        Unit(
            code="cloud",
            name="市政务云",
            kind=UnitKind.ZONE,
            parent="city",
            subnets=("10.10.0.0/16",),
        ),
    )
)
COUNTY = frozenset({"lushi", "lushi-edu", "lushi-health"})
UNIT_CHOICES = [
    (),
    ("police",),
    ("lushi-edu",),
    ("lushi-health",),
    ("cloud",),
    ("lushi-edu", "police"),
    ("lushi-edu", "lushi-health"),
    ("elsewhere",),
]
ATTACKERS = ["203.0.113.7", "198.51.100.23", "198.51.100.9", "10.30.5.9", "zhang.wei", "192.0.2.1"]
VICTIMS = ["10.10.2.15", "10.30.5.8", "10.30.6.2", "10.10.7.7"]


def _incidents() -> list[Incident]:
    """Sixty incidents over thirty hours: every status, stage and severity, shared units."""
    rng = random.Random(7)
    made = []
    for n in range(60):
        first = T0 + rng.randrange(30 * HOUR) + 0.25  # sub-second, and exact in binary
        made.append(
            build_incident(
                id=f"inc-{n:03d}",
                status=rng.choice(list(IncidentStatus)),
                severity=rng.choice(list(Severity)),
                stage=rng.choice([None, *Stage]),
                risk_score=rng.randrange(0, 100),
                units=rng.choice(UNIT_CHOICES),
                attackers=tuple(rng.sample(ATTACKERS, rng.randrange(1, 3))),
                victims=tuple(rng.sample(VICTIMS, rng.randrange(0, 3))),
                first_seen=first,
                last_seen=first + rng.choice([0.0, 600.0, 2 * HOUR + 0.5, 9 * HOUR]),
            )
        )
    return made


def _alerts() -> list[Alert]:
    rng = random.Random(11)
    rules = {
        "portscan": ["vertical_scan", "horizontal_scan"],
        "ssh_bruteforce": ["ssh_guess"],
        "dns_tunnel": ["long_labels"],
    }
    made = []
    for n in range(80):
        detector = rng.choice(sorted(rules))
        made.append(
            build_alert(
                time=T0 + rng.randrange(10 * HOUR) + 0.5,
                detector=detector,
                rule=rng.choice(rules[detector]),
                source_ip=rng.choice([None, "203.0.113.7", "198.51.100.23", "10.30.5.9"]),
                identifier=f"id-{n}",
            )
        )
    return made


def _scopes(units: frozenset[str] | None) -> tuple[Scope, ...]:
    return (
        (
            Scope(name="city", units=None),
            Scope(name="lushi", units=COUNTY),
            Scope(name="police", units=frozenset({"police"})),
            Scope(name="nobody", units=frozenset()),
        )
        if units is None
        else (Scope(name="lushi", units=COUNTY),)
    )


def _reference(incidents: Sequence[Incident], request: IncidentAggregation) -> IncidentStats:
    """The figures counted one incident at a time in Python."""
    seen = [
        i
        for i in incidents
        if (request.units is None or set(i.units) & request.units)
        and (
            request.active is None
            or (i.last_seen >= request.active[0] and i.first_seen < request.active[1])
        )
    ]
    if not seen:
        return no_incidents(request)
    live = [i for i in seen if i.status is not IncidentStatus.FALSE_POSITIVE]
    open_ = [i for i in seen if i.status not in CLOSED]
    latest = max(i.last_seen for i in seen)

    def within(incident: Incident, scope: Scope) -> bool:
        return scope.units is None or bool(set(incident.units) & scope.units)

    since = until = None
    starts: tuple[float, ...] = ()
    posture: list[PostureCell] = []
    histogram: Counter[float] = Counter()
    if request.window is not None:
        since, until = window_bounds(request.window, latest)
        size = request.window.bucket
        starts = bucket_starts(since, until, size)
        for scope in request.scopes:
            for start in starts:
                active = [
                    i
                    for i in live
                    if within(i, scope) and i.first_seen < start + size and i.last_seen >= start
                ]
                posture.append(
                    PostureCell(
                        scope=scope.name,
                        start=start,
                        risk=max((i.risk_score for i in active), default=0),
                        incidents=len(active),
                        critical=sum(i.severity is Severity.CRITICAL for i in active),
                    )
                )
        histogram.update(
            math.floor(i.first_seen / size) * size for i in live if since <= i.first_seen < until
        )
    return IncidentStats(
        total=len(seen),
        open_incidents=len(open_),
        latest=latest,
        since=since,
        until=until,
        by_severity=counts(Counter(i.severity.value for i in live).items()),
        by_status=counts(Counter(i.status.value for i in seen).items()),
        by_stage=counts(Counter(i.stage.value if i.stage else NO_STAGE for i in live).items()),
        by_unit=counts(
            Counter(
                u for i in live for u in set(i.units) if request.units is None or u in request.units
            ).items()
        ),
        attackers=counts(Counter(a for i in live for a in set(i.attackers)).items(), request.top),
        victims=counts(Counter(v for i in live for v in set(i.victims)).items(), request.top),
        histogram=dense_histogram(starts, histogram),
        posture=tuple(posture),
        scopes=tuple(
            ScopeFigures(
                scope=scope.name,
                open_incidents=sum(within(i, scope) for i in open_),
                worst=tuple(
                    IncidentHeadline.of(i)
                    for i in ranked((i for i in open_ if within(i, scope)), request.worst)
                ),
            )
            for scope in request.scopes
        ),
    )


@pytest.mark.parametrize("units", [None, COUNTY, frozenset({"police"}), frozenset()])
@pytest.mark.parametrize("until", [None, T0 + 20 * HOUR + 17.5])
def test_incident_stats_are_the_counts_of_the_incidents(
    store: AnyStore, units: frozenset[str] | None, until: float | None
) -> None:
    incidents = _incidents()
    store.put_incidents(incidents)
    request = IncidentAggregation(
        units=units,
        window=Window(span=24 * HOUR, bucket=HOUR, until=until),
        scopes=_scopes(units),
        top=3,
        worst=4,
    )
    assert store.incident_stats(request) == _reference(incidents, request)


@pytest.mark.parametrize("units", [None, COUNTY])
def test_a_period_counts_only_the_incidents_active_in_it(
    store: AnyStore, units: frozenset[str] | None
) -> None:
    incidents = _incidents()
    store.put_incidents(incidents)
    period = (T0 + 5 * HOUR, T0 + 11 * HOUR)
    request = IncidentAggregation(
        units=units,
        window=Window(span=6 * HOUR, bucket=HOUR, until=period[1]),
        scopes=_scopes(units),
        top=3,
        active=period,
    )
    stats = store.incident_stats(request)
    assert (stats, stats.total > 0) == (_reference(incidents, request), True)
    assert stats.total < store.incident_stats(IncidentAggregation(units=units)).total


def test_county_viewer_counts_only_county_units_and_incidents(store: AnyStore) -> None:
    store.put_incidents(_incidents())
    stats = store.incident_stats(IncidentAggregation(units=COUNTY))
    every = store.incident_stats(IncidentAggregation())
    assert {c.key for c in stats.by_unit} == {"lushi-edu", "lushi-health"}
    assert 0 < stats.total < every.total == 60
    assert (stats.since, stats.histogram, stats.posture) == (None, (), ())


def test_empty_store_answers_zeros_and_a_zero_grid(store: AnyStore) -> None:
    request = IncidentAggregation(window=Window(span=3 * HOUR, bucket=HOUR), scopes=_scopes(None))
    stats = store.incident_stats(request)
    assert (stats.total, stats.latest, len(stats.posture), {c.risk for c in stats.posture}) == (
        0,
        None,
        4 * 4,  # four scopes, the partial first hour and three more
        {0},
    )


def test_alert_stats_are_the_counts_of_the_alerts(store: AnyStore) -> None:
    alerts = _alerts()
    store.put_alerts(alerts)
    since, until = T0 + HOUR + 0.5, T0 + 8 * HOUR
    stats = store.alert_stats(AlertAggregation(since=since, until=until, bucket=HOUR, top=2))
    inside = [a for a in alerts if since <= a.time < until]
    expected = AlertStats(
        total=len(inside),
        detectors=counts(Counter(a.detector for a in inside).items(), 2),
        rules=counts(Counter(f"{a.detector}/{a.rule}" for a in inside).items(), 2),
        sources=counts(Counter(a.source_ip for a in inside if a.source_ip).items(), 2),
        histogram=dense_histogram(
            bucket_starts(since, until, HOUR),
            Counter(math.floor(a.time / HOUR) * HOUR for a in inside),
        ),
    )
    assert (stats, len(stats.histogram)) == (expected, 7)  # hours 1 to 7 after T0


@pytest.mark.parametrize("units", [None, COUNTY])
def test_overview_from_aggregations_is_the_client_side_overview(
    store: AnyStore, units: frozenset[str] | None
) -> None:
    incidents = _incidents()
    store.put_incidents(incidents)
    stats = store.incident_stats(overview_request(CITY, units, sources=100, worst=True))
    visible = [i for i in incidents if units is None or set(i.units) & units]
    until = max(i.last_seen for i in visible) + 1
    expected = overview(visible, CITY, units=units, until=until)
    assert overview_from(stats, CITY, units=units) == expected


def test_a_version_1_database_gets_the_aggregation_columns(tmp_path: Path) -> None:
    path = tmp_path / "nssa.db"
    incidents = _incidents()
    request = IncidentAggregation(scopes=_scopes(None))
    with SqliteStore(path) as store:
        store.put_incidents(incidents)
        store.put_alerts(_alerts())
        alerts = store.alert_stats(AlertAggregation(top=50))
    with sqlite3.connect(path) as raw:
        for statement in (
            "DROP INDEX alerts_facets",
            "DROP INDEX incidents_facets",
            "ALTER TABLE alerts DROP COLUMN rule",
            "ALTER TABLE incidents DROP COLUMN severity",
            "ALTER TABLE incidents DROP COLUMN stage",
            "DROP TABLE incident_victims",
            "UPDATE schema_version SET version = 1",
        ):
            raw.execute(statement)
    with SqliteStore(path) as store:
        assert store.incident_stats(request) == _reference(incidents, request)
        assert store.alert_stats(AlertAggregation(top=50)) == alerts


def test_overview_keeps_counting_until_outside_sources_show(
    store: AnyStore,
) -> None:
    # Sixty internal hosts each in two incidents outrank the one outside address.
    lateral = [
        build_incident(id=f"inc-{n}-{k}", attackers=(f"10.30.5.{n}",), risk_score=50)
        for n in range(60)
        for k in range(2)
    ]
    store.put_incidents([*lateral, build_incident(id="inc-out", attackers=("203.0.113.99",))])
    shown = posture_overview(store, Viewer("leader", None), CITY)
    assert (shown.sources, shown.examined) == ((("203.0.113.99", 1),), 121)
