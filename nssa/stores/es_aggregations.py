"""Elasticsearch aggregation bodies for the dashboard's figures, and readers of their answers.

Everything is counted by the cluster in size-0 searches (terms, filters, date_histogram,
max and top_hits); only buckets come back. Incidents live in one single-shard index, so terms
counts are exact. Posture is a ``filters`` bucket per hour (an incident counts in every hour
its span overlaps), each split by a ``filters`` bucket per scope.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from elasticsearch import Elasticsearch

from correlator.aggregation import (
    CLOSED,
    HEADLINE_FIELDS,
    NO_STAGE,
    AlertAggregation,
    AlertStats,
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
from correlator.sensor_activity import SensorActivity, SensorActivityRequest, by_sensor
from detectors.alert import Severity
from sensors.ecs import format_time, parse_time

FACET_SIZE = 1000
"""Buckets asked for where every key is wanted (statuses, stages, units, detectors, rules)."""

MAX_TERMS = 65_536
"""Most values one terms query takes (index.max_terms_count): longer id lists are split."""
_STATUS = "nssa.incident.status"
_UNITS = "nssa.incident.units"
_LAST_SEEN = "@timestamp"
_FIRST_SEEN = "event.start"
_LIVE = {"bool": {"must_not": [{"term": {_STATUS: IncidentStatus.FALSE_POSITIVE.value}}]}}
_OPEN = {"bool": {"must_not": [{"terms": {_STATUS: sorted(s.value for s in CLOSED)}}]}}


def incident_stats(
    client: Elasticsearch, index: str, request: IncidentAggregation
) -> IncidentStats:
    """Answer ``request`` over ``index`` with one search, and one more for a time window."""
    scoped = _units_filter(request.units)
    if request.active is not None:
        scoped = [*scoped, *_active(*request.active)]
    found = client.search(
        index=index,
        size=0,
        query={"bool": {"filter": scoped}},
        aggs=_facets(request),
        track_total_hits=True,
        ignore_unavailable=True,
    )
    total = int(found["hits"]["total"]["value"])
    if total == 0:
        return no_incidents(request)
    aggs = found["aggregations"]
    latest_hits = aggs["latest"]["hits"]["hits"]
    latest = parse_time(latest_hits[0]["_source"][_LAST_SEEN]) if latest_hits else None
    since = until = None
    histogram: dict[float, int] = {}
    cells: dict[tuple[str, float], tuple[int, int, int]] = {}
    starts: tuple[float, ...] = ()
    if request.window is not None:
        since, until = window_bounds(request.window, latest)
        starts = bucket_starts(since, until, request.window.bucket)
        end = starts[-1] + request.window.bucket
        timed = client.search(
            index=index,
            size=0,
            # The hours are aligned, so the first may start before ``since``.
            query={"bool": {"filter": [*scoped, _LIVE, *_active(starts[0], end)]}},
            aggs=_timed(request, starts, since, until),
            track_total_hits=False,
            ignore_unavailable=True,
        )["aggregations"]
        histogram = {
            b["key"] / 1000: int(b["doc_count"]) for b in timed["first_seen"]["by_time"]["buckets"]
        }
        cells = _cells(request.scopes, starts, timed["hours"]["buckets"])
    live = aggs["live"]
    return IncidentStats(
        total=total,
        open_incidents=int(aggs["open"]["doc_count"]),
        latest=latest,
        since=since,
        until=until,
        by_severity=counts(_pairs(live["severity"])),
        by_status=counts(_pairs(aggs["status"])),
        by_stage=counts(_pairs(live["stage"])),
        by_unit=counts(_pairs(live["units"])),
        attackers=counts(_pairs(live["attackers"]), request.top),
        victims=counts(_pairs(live["victims"]), request.top),
        histogram=dense_histogram(starts, histogram),
        posture=posture_grid(request.scopes, starts, cells),
        scopes=tuple(
            ScopeFigures(
                scope=scope.name,
                open_incidents=int(aggs["open"]["scopes"]["buckets"][str(n)]["doc_count"]),
                worst=_worst(aggs["open"]["scopes"]["buckets"][str(n)], request.worst),
            )
            for n, scope in enumerate(request.scopes)
        ),
    )


def alert_stats(client: Elasticsearch, pattern: str, request: AlertAggregation) -> AlertStats:
    """Answer ``request`` over the alert indices matching ``pattern`` with one search."""
    bounds = {}
    if request.since is not None:
        bounds["gte"] = format_time(request.since)
    if request.until is not None:
        bounds["lt"] = format_time(request.until)
    filters: list[dict[str, Any]] = [{"range": {"@timestamp": bounds}}] if bounds else []
    if request.ids is not None:
        # A terms query takes at most index.max_terms_count (65,536) values: several, OR-ed.
        chunks = [
            {"terms": {"event.id": list(request.ids[start : start + MAX_TERMS])}}
            for start in range(0, len(request.ids), MAX_TERMS)
        ]
        filters.append({"bool": {"should": chunks, "minimum_should_match": 1}})
    narrowing = _alert_narrowing(request)
    if narrowing is None or request.ids == ():
        empty = dense_histogram(_alert_starts(request), {})
        return AlertStats(total=0, detectors=(), rules=(), sources=(), histogram=empty)
    filters += narrowing
    aggs: dict[str, Any] = {
        "detectors": {
            "terms": {"field": "rule.ruleset", "size": FACET_SIZE},
            "aggs": {"rules": {"terms": {"field": "rule.name", "size": FACET_SIZE}}},
        },
        "sources": {"terms": {"field": "source.ip", "size": max(request.top, 1)}},
    }
    starts = _alert_starts(request)
    if starts and request.bucket is not None:
        aggs["by_time"] = _date_histogram("@timestamp", request.bucket)
    found = client.search(
        index=pattern,
        size=0,
        query={"bool": {"filter": filters}},
        aggs=aggs,
        track_total_hits=True,
        ignore_unavailable=True,
    )
    answer = found.get("aggregations") or {}
    detectors = answer.get("detectors", {}).get("buckets", [])
    rules = [
        (f"{d['key']}/{r['key']}", int(r["doc_count"]))
        for d in detectors
        for r in d["rules"]["buckets"]
    ]
    times = answer.get("by_time", {}).get("buckets", [])
    return AlertStats(
        total=int(found["hits"]["total"]["value"]),
        detectors=counts(((d["key"], int(d["doc_count"])) for d in detectors), request.top),
        rules=counts(rules, request.top),
        sources=counts(_pairs(answer.get("sources", {"buckets": []})), request.top),
        histogram=dense_histogram(starts, {b["key"] / 1000: int(b["doc_count"]) for b in times}),
    )


def _facets(request: IncidentAggregation) -> dict[str, Any]:
    """Counts over every matching incident: statuses, live facets, open incidents by scope."""
    units: dict[str, Any] = {"field": _UNITS, "size": FACET_SIZE}
    if request.units is not None:
        # An incident the viewer sees may touch other units too: those are not theirs to count.
        units["include"] = sorted(request.units)
    top = max(request.top, 1)
    return {
        "latest": {
            "top_hits": {"size": 1, "sort": [{_LAST_SEEN: "desc"}], "_source": [_LAST_SEEN]}
        },
        "status": {"terms": {"field": _STATUS, "size": FACET_SIZE}},
        "live": {
            "filter": _LIVE,
            "aggs": {
                "severity": {"terms": {"field": "nssa.incident.severity", "size": len(Severity)}},
                "stage": {
                    "terms": {
                        "field": "nssa.incident.stage",
                        "size": FACET_SIZE,
                        "missing": NO_STAGE,
                    }
                },
                "units": {"terms": units},
                "attackers": {"terms": {"field": "nssa.incident.attackers", "size": top}},
                "victims": {"terms": {"field": "nssa.incident.victims", "size": top}},
            },
        },
        "open": {
            "filter": _OPEN,
            "aggs": {}
            if not request.scopes
            else {
                "scopes": {
                    "filters": {"filters": _scope_filters(request.scopes)},
                    # Headlines only when asked for, and only their fields: documents are large.
                    "aggs": {}
                    if request.worst <= 0
                    else {
                        "worst": {
                            "top_hits": {
                                "size": request.worst,
                                "_source": {"includes": list(HEADLINE_FIELDS)},
                                "sort": [
                                    {"nssa.incident.risk_score": "desc"},
                                    {"nssa.incident.id": "asc"},
                                ],
                            }
                        }
                    },
                }
            },
        },
    }


def _timed(
    request: IncidentAggregation, starts: tuple[float, ...], since: float, until: float
) -> dict[str, Any]:
    """The window's figures: posture per hour and scope, and the first-seen histogram."""
    assert request.window is not None
    bucket = request.window.bucket
    hours = {str(n): {"bool": {"filter": _active(s, s + bucket)}} for n, s in enumerate(starts)}
    first_seen = {"range": {_FIRST_SEEN: {"gte": format_time(since), "lt": format_time(until)}}}
    return {
        "hours": {
            "filters": {"filters": hours},
            # Elasticsearch refuses a filters aggregation without filters.
            "aggs": {}
            if not request.scopes
            else {
                "scopes": {
                    "filters": {"filters": _scope_filters(request.scopes)},
                    "aggs": {
                        "risk": {"max": {"field": "nssa.incident.risk_score"}},
                        "critical": {
                            "filter": {"term": {"nssa.incident.severity": Severity.CRITICAL.value}}
                        },
                    },
                }
            },
        },
        "first_seen": {
            "filter": first_seen,
            "aggs": {"by_time": _date_histogram(_FIRST_SEEN, bucket)},
        },
    }


def _cells(
    scopes: tuple[Scope, ...], starts: tuple[float, ...], hours: Mapping[str, Any]
) -> dict[tuple[str, float], tuple[int, int, int]]:
    cells: dict[tuple[str, float], tuple[int, int, int]] = {}
    for n, start in enumerate(starts):
        by_scope = hours[str(n)]["scopes"]["buckets"]
        for m, scope in enumerate(scopes):
            bucket = by_scope[str(m)]
            if bucket["doc_count"]:
                risk = int(bucket["risk"]["value"] or 0)
                cells[(scope.name, start)] = (
                    risk,
                    int(bucket["doc_count"]),
                    int(bucket["critical"]["doc_count"]),
                )
    return cells


def _worst(bucket: Mapping[str, Any], limit: int) -> tuple[IncidentHeadline, ...]:
    if limit <= 0:
        return ()
    return ranked((headline_from(hit["_source"]) for hit in bucket["worst"]["hits"]["hits"]), limit)


def _scope_filters(scopes: tuple[Scope, ...]) -> dict[str, Any]:
    """One named filter per scope, keyed by position (scope names are free text)."""
    return {
        str(n): (
            {"match_all": {}} if scope.units is None else {"terms": {_UNITS: sorted(scope.units)}}
        )
        for n, scope in enumerate(scopes)
    }


def _alert_starts(request: AlertAggregation) -> tuple[float, ...]:
    """The histogram's bucket starts; none unless a bucket and both bounds are given."""
    if request.bucket is None or request.since is None or request.until is None:
        return ()
    return bucket_starts(request.since, request.until, request.bucket)


def _alert_narrowing(request: AlertAggregation) -> list[dict[str, Any]] | None:
    """Term filters for the request's address, detector and rule; None when an address is
    no address (an ip field refuses it, and no alert can match it)."""
    filters: list[dict[str, Any]] = []
    for address in (request.source_ip, request.destination_ip):
        try:
            if address is not None:
                ipaddress.ip_address(address)
        except ValueError:
            return None
    if request.source_ip is not None:
        filters.append({"term": {"source.ip": request.source_ip}})
    if request.destination_ip is not None:
        # One address or one of a sweep's several, as the alert query matches them.
        either = [
            {"term": {"destination.ip": request.destination_ip}},
            {"term": {"nssa.alert.destinations": request.destination_ip}},
        ]
        filters.append({"bool": {"should": either, "minimum_should_match": 1}})
    for value, field in ((request.detector, "rule.ruleset"), (request.rule, "rule.name")):
        if value is not None:
            filters.append({"term": {field: value}})
    return filters


def _units_filter(units: frozenset[str] | None) -> list[dict[str, Any]]:
    """The viewer's restriction: incidents touching one of ``units`` (an empty set: none),
    never one another incident absorbed (the survivor counts its alerts)."""
    standing = {"bool": {"must_not": [{"exists": {"field": "nssa.incident.superseded_by"}}]}}
    return [standing] if units is None else [standing, {"terms": {_UNITS: sorted(units)}}]


def _active(since: float, until: float) -> list[dict[str, Any]]:
    """Incidents whose span overlaps [since, until): last seen at or after since, first before."""
    return [
        {"range": {_LAST_SEEN: {"gte": format_time(since)}}},
        # Bounded below too: a date_histogram under a range open towards the past fails on a
        # date_nanos field ("nanoseconds ... before the epoch"), and nothing is older anyway.
        {"range": {_FIRST_SEEN: {"gte": format_time(0.0), "lt": format_time(until)}}},
    ]


def _date_histogram(field: str, bucket: int) -> dict[str, Any]:
    return {"date_histogram": {"field": field, "fixed_interval": f"{bucket}s", "min_doc_count": 1}}


def _pairs(terms: Mapping[str, Any]) -> list[tuple[str, int]]:
    return [(str(b["key"]), int(b["doc_count"])) for b in terms["buckets"]]


SENSORS_MAX = 1000
"""Most sensors reported: a city has tens; the bound keeps one bad feed from flooding a page."""


def sensor_activity(
    client: Elasticsearch, index: str, request: SensorActivityRequest
) -> tuple[SensorActivity, ...]:
    """Each sensor's newest event and its events since ``request.recent``, in one search."""
    found = client.search(
        index=index,
        size=0,
        query={"range": {"@timestamp": {"gte": format_time(request.since)}}},
        aggs={
            "sensors": {
                "terms": {"field": "observer.name", "size": SENSORS_MAX},
                "aggs": {
                    "last": {"max": {"field": "@timestamp"}},
                    "recent": {
                        "filter": {"range": {"@timestamp": {"gte": format_time(request.recent)}}}
                    },
                },
            }
        },
        ignore_unavailable=True,
    )
    # With no events index at all there are no aggregations in the answer.
    buckets = found.get("aggregations", {}).get("sensors", {}).get("buckets", [])
    return by_sensor(
        [
            SensorActivity(
                sensor=str(b["key"]),
                # A max over date_nanos still comes back as epoch milliseconds.
                last_event=float(b["last"]["value"]) / 1000.0,
                recent_events=int(b["recent"]["doc_count"]),
            )
            for b in buckets
        ]
    )
