"""SQLite aggregation queries for the dashboard's figures: GROUP BY over indexed columns.

The same answers as ``es_aggregations``: the viewer's units restrict every query through the
``incident_units`` side table, scopes are (scope, unit) pairs joined to it, and posture joins
the window's hours to the incidents whose span overlaps them. Nothing is decoded from the
stored JSON except the few worst incidents each scope lists.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from correlator.aggregation import (
    CLOSED,
    NO_STAGE,
    AlertAggregation,
    AlertStats,
    Count,
    IncidentAggregation,
    IncidentHeadline,
    IncidentStats,
    Scope,
    ScopeFigures,
    bucket_starts,
    counts,
    dense_histogram,
    headline_from,
    no_incidents,
    posture_grid,
    ranked,
    window_bounds,
)
from correlator.incident import IncidentStatus
from detectors.alert import Severity

ABSORBED = "json_extract(doc, '$.nssa.incident.superseded_by') IS NOT NULL"
"""The condition of the partial index listing absorbed incidents (queries must repeat it)."""
SUPERSEDED_IDS = f"SELECT id FROM incidents WHERE {ABSORBED}"
"""The ids of incidents another incident absorbed, read from that partial index."""
_LIVE = f"status != '{IncidentStatus.FALSE_POSITIVE.value}'"
_OPEN = "status NOT IN ({})".format(", ".join(f"'{s.value}'" for s in sorted(CLOSED)))


def incident_stats(conn: sqlite3.Connection, request: IncidentAggregation) -> IncidentStats:
    """Answer ``request`` with a handful of GROUP BY queries over one snapshot."""
    seen, params = _seen(request.units, request.active)

    def rows(sql: str, extra: Sequence[object] = ()) -> list[Any]:
        return conn.execute(seen + sql, [*params, *extra]).fetchall()

    total, open_, latest = rows(
        f"SELECT COUNT(*), COALESCE(SUM({_OPEN}), 0), MAX(last_seen) FROM seen"
    )[0]
    if not total:
        return no_incidents(request)
    unit_limit = "" if request.units is None else " AND u.value IN (SELECT value FROM json_each(?))"
    by_unit = rows(
        "SELECT u.value, COUNT(*) FROM incident_units u JOIN seen s ON s.id = u.owner"
        f" WHERE s.{_LIVE}{unit_limit} GROUP BY u.value",
        [] if request.units is None else [json.dumps(sorted(request.units))],
    )
    since = until = None
    starts: tuple[float, ...] = ()
    histogram: dict[float, int] = {}
    cells: dict[tuple[str, float], tuple[int, int, int]] = {}
    if request.window is not None:
        since, until = window_bounds(request.window, float(latest))
        bucket = request.window.bucket
        starts = bucket_starts(since, until, bucket)
        histogram = {
            float(start): int(n)
            for start, n in rows(
                f"SELECT CAST(first_seen / ? AS INTEGER) * ?, COUNT(*) FROM seen WHERE {_LIVE}"
                " AND first_seen >= ? AND first_seen < ? GROUP BY 1",
                [bucket, bucket, since, until],
            )
        }
        # The hours are aligned, so the first may start before ``since``.
        members, member_params = _members(
            request.scopes,
            f"{_LIVE} AND last_seen >= ? AND first_seen < ?",
            [starts[0], starts[-1] + bucket],
            few=True,
        )
        found = rows(
            f", {members}, hours(start) AS (SELECT value FROM json_each(?))"
            " SELECT m.scope, h.start, MAX(m.risk_score), COUNT(*),"
            f" SUM(m.severity = '{Severity.CRITICAL.value}')"
            " FROM members m JOIN hours h ON m.first_seen < h.start + ? AND m.last_seen >= h.start"
            " GROUP BY m.scope, h.start",
            [*member_params, json.dumps(starts), bucket],
        )
        cells = {
            (request.scopes[int(n)].name, float(start)): (
                int(risk),
                int(count),
                int(critical),
            )
            for n, start, risk, count, critical in found
        }
    pairs, pair_params = _pairs(request.scopes)
    open_counts = dict(
        rows(
            f", {pairs} SELECT p.scope, COUNT(DISTINCT u.owner) FROM pairs p JOIN incident_units"
            f" u ON u.value = p.unit JOIN seen s ON s.id = u.owner WHERE s.{_OPEN} GROUP BY 1",
            pair_params,
        )
    )
    # A scope of every unit holds every open incident: counted above already.
    open_counts |= {n: open_ for n, scope in enumerate(request.scopes) if scope.units is None}
    worst: dict[int, list[IncidentHeadline]] = {}
    if request.worst > 0:  # headlines only when asked for: their documents are large
        worst = _worst(rows, request.scopes, request.worst)
    return IncidentStats(
        total=int(total),
        open_incidents=int(open_),
        latest=float(latest),
        since=since,
        until=until,
        by_severity=_counts(rows(f"SELECT severity, COUNT(*) FROM seen WHERE {_LIVE} GROUP BY 1")),
        by_status=_counts(rows("SELECT status, COUNT(*) FROM seen GROUP BY 1")),
        by_stage=_counts(
            rows(
                f"SELECT COALESCE(stage, '{NO_STAGE}'), COUNT(*) FROM seen WHERE {_LIVE} GROUP BY 1"
            )
        ),
        by_unit=_counts(by_unit),
        attackers=_counts(rows(_top("incident_attackers"), [request.top]), request.top),
        victims=_counts(rows(_top("incident_victims"), [request.top]), request.top),
        histogram=dense_histogram(starts, histogram),
        posture=posture_grid(request.scopes, starts, cells),
        scopes=tuple(
            ScopeFigures(
                scope=scope.name,
                open_incidents=int(open_counts.get(n, 0)),
                worst=ranked(worst.get(n, []), request.worst),
            )
            for n, scope in enumerate(request.scopes)
        ),
    )


def alert_stats(conn: sqlite3.Connection, request: AlertAggregation) -> AlertStats:
    """Answer ``request`` with GROUP BY queries over the alerts' time index."""
    clauses: list[str] = []
    params: list[object] = []
    if request.since is not None:
        clauses.append("ts >= ?")
        params.append(request.since)
    if request.until is not None:
        clauses.append("ts < ?")
        params.append(request.until)
    if request.ids is not None:
        clauses.append("id IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(request.ids))
    for value, clause in (
        (request.source_ip, "source_ip = ?"),
        (request.destination_ip, "id IN (SELECT owner FROM alert_destinations WHERE value = ?)"),
        (request.detector, "detector = ?"),
        (request.rule, "rule = ?"),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    where = " WHERE " + " AND ".join(clauses) if clauses else ""
    pairs = conn.execute(
        f"SELECT detector, rule, COUNT(*) FROM alerts{where} GROUP BY detector, rule", params
    ).fetchall()
    by_detector: dict[str, int] = {}
    for detector, _, n in pairs:
        by_detector[detector] = by_detector.get(detector, 0) + n
    sources = conn.execute(
        f"SELECT source_ip, COUNT(*) AS n FROM alerts{where}"
        f"{' AND' if where else ' WHERE'} source_ip IS NOT NULL"
        " GROUP BY source_ip ORDER BY n DESC, source_ip LIMIT ?",
        [*params, request.top],
    ).fetchall()
    starts: tuple[float, ...] = ()
    histogram: dict[float, int] = {}
    if request.bucket is not None and request.since is not None and request.until is not None:
        starts = bucket_starts(request.since, request.until, request.bucket)
        histogram = {
            float(start): n
            for start, n in conn.execute(
                f"SELECT CAST(ts / ? AS INTEGER) * ?, COUNT(*) FROM alerts{where} GROUP BY 1",
                [request.bucket, request.bucket, *params],
            )
        }
    return AlertStats(
        total=sum(n for _, _, n in pairs),
        detectors=counts(by_detector.items(), request.top),
        rules=counts(((f"{d}/{r}", n) for d, r, n in pairs), request.top),
        sources=counts(sources, request.top),
        histogram=dense_histogram(starts, histogram),
    )


def _seen(
    units: frozenset[str] | None, active: tuple[float, float] | None = None
) -> tuple[str, list[object]]:
    """The ``seen`` CTE: the incidents touching ``units`` (None: all) and active in the period
    ``active`` (None: whenever), and its parameters."""
    # Inlined, not materialised, and read from the covering index: the rows themselves
    # hold the documents, and severity and stage sit after them in the row.
    head = (
        "WITH seen AS NOT MATERIALIZED (SELECT id, status, severity, stage, risk_score,"
        " first_seen, last_seen FROM incidents INDEXED BY incidents_facets"
    )
    # An absorbed incident's alerts are counted with the incident that absorbed it.
    head += f" WHERE id NOT IN ({SUPERSEDED_IDS})"
    period: list[object] = []
    if active is not None:
        head += " AND last_seen >= ? AND first_seen < ?"
        period = [*active]
    if units is None:
        return f"{head})", period
    return (
        f"{head} AND id IN (SELECT owner FROM"
        " incident_units WHERE value IN (SELECT value FROM json_each(?))))",
        [*period, json.dumps(sorted(units))],
    )


def _members(
    scopes: Sequence[Scope], condition: str, params: Sequence[object], *, few: bool = False
) -> tuple[str, list[object]]:
    """The ``members`` CTE: (scope position, incident) for the seen incidents meeting
    ``condition``, each incident once per scope however many of the scope's units it hits.

    ``few``: the condition keeps few incidents (a time window), so start from them rather
    than from each scope's units.
    """
    every = [n for n, s in enumerate(scopes) if s.units is None]
    columns = "s.id, s.risk_score, s.severity, s.first_seen, s.last_seen"
    # CROSS JOIN fixes SQLite's join order: incidents first, then their units, then scopes.
    joined = (
        "seen s CROSS JOIN incident_units u ON u.owner = s.id CROSS JOIN pairs p"
        " ON p.unit = u.value"
        if few
        else "pairs p JOIN incident_units u ON u.value = p.unit JOIN seen s ON s.id = u.owner"
    )
    pairs, pair_params = _pairs(scopes)
    sql = (
        f"{pairs}, whole(scope) AS MATERIALIZED (SELECT value FROM json_each(?)),"
        f" members AS (SELECT DISTINCT p.scope, {columns} FROM {joined} WHERE s.{condition}"
        f" UNION ALL SELECT w.scope, {columns} FROM whole w, seen s WHERE s.{condition})"
    )
    return sql, [*pair_params, json.dumps(every), *params, *params]


def _worst(
    rows: Callable[[str, Sequence[object]], list[Any]], scopes: Sequence[Scope], limit: int
) -> dict[int, list[IncidentHeadline]]:
    """Each scope's ``limit`` worst open incidents (by position), as headlines.

    Ranked per unit first: a scope's worst few are among the worst few of its units, so
    only those candidates are merged per scope, never every (scope, incident) pair.
    """
    per_unit = rows(
        "SELECT unit, id, risk_score FROM (SELECT u.value AS unit, s.id, s.risk_score,"
        " ROW_NUMBER() OVER (PARTITION BY u.value ORDER BY s.risk_score DESC, s.id) AS rank"
        f" FROM incident_units u JOIN seen s ON s.id = u.owner WHERE s.{_OPEN}) WHERE rank <= ?",
        [limit],
    )
    candidates: dict[str, set[tuple[int, str]]] = {}
    for unit, incident_id, risk in per_unit:
        candidates.setdefault(str(unit), set()).add((-int(risk), str(incident_id)))
    overall: set[tuple[int, str]] = set()
    if any(scope.units is None for scope in scopes):  # incidents without units count here too
        found = rows(
            f"SELECT id, risk_score FROM seen WHERE {_OPEN} ORDER BY 2 DESC, 1 LIMIT ?", [limit]
        )
        overall = {(-int(risk), str(incident_id)) for incident_id, risk in found}
    chosen = {
        n: sorted(
            overall
            if scope.units is None
            else set().union(*(candidates.get(unit, ()) for unit in scope.units))
        )[:limit]
        for n, scope in enumerate(scopes)
    }
    wanted = sorted({incident_id for picked in chosen.values() for _, incident_id in picked})
    docs = dict(
        rows(
            "SELECT id, doc FROM incidents WHERE id IN (SELECT value FROM json_each(?))",
            [json.dumps(wanted)],
        )
    )
    headlines = {i: headline_from(json.loads(doc)) for i, doc in docs.items()}
    return {n: [headlines[i] for _, i in picked] for n, picked in chosen.items()}


def _pairs(scopes: Sequence[Scope]) -> tuple[str, list[object]]:
    """The ``pairs`` CTE: (scope position, unit code) for every scope limited to units."""
    pairs = [[n, unit] for n, s in enumerate(scopes) if s.units is not None for unit in s.units]
    return (
        # Materialised: a json_each inside a join is parsed again for every outer row.
        "pairs(scope, unit) AS MATERIALIZED (SELECT json_extract(value, '$[0]'),"
        " json_extract(value, '$[1]') FROM json_each(?))",
        [json.dumps(pairs)],
    )


def _top(side: str) -> str:
    # IN, not a join: the side table is then read in value order and grouped without sorting.
    return (
        f"SELECT x.value, COUNT(*) AS n FROM {side} x WHERE x.owner IN"
        f" (SELECT id FROM seen WHERE {_LIVE}) GROUP BY x.value ORDER BY n DESC, x.value LIMIT ?"
    )


def _counts(found: list[Any], top: int | None = None) -> tuple[Count, ...]:
    return counts(((str(k), int(n)) for k, n in found), top)
