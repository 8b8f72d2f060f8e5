"""The explorer's store queries: alert filters and counts agree, absorbed incidents drop out
(both stores)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from correlator.aggregation import AlertAggregation, IncidentAggregation
from correlator.storage import AlertQuery, IncidentQuery
from tests.conftest import T0, build_alert, build_incident
from tests.test_store_conformance import AnyStore

ALERTS = [
    build_alert(time=T0 + 10),
    build_alert(time=T0 + 20, rule="horizontal_scan", identifier="h", destinations=("10.0.0.9",)),
    build_alert(time=T0 + 30, detector="bruteforce", rule="ssh", source_ip="198.51.100.23"),
    build_alert(time=T0 + 40, source_ip="198.51.100.23", identifier="second"),
]


FILTERS: list[dict[str, Any]] = [
    {},
    {"rule": "horizontal_scan"},
    {"source_ip": "198.51.100.23", "detector": "portscan"},
    {"destination_ip": "10.0.0.9"},
    {"source_ip": "not an address"},
    {"ids": (ALERTS[0].id, ALERTS[2].id)},
    {"ids": ()},
]


def test_alert_counts_narrow_as_the_alert_query_does(store: AnyStore) -> None:
    store.put_alerts(ALERTS)
    found = []
    for narrowing in FILTERS:
        listed = store.alerts(AlertQuery(**narrowing)) if narrowing.get("ids") != () else []
        stats = store.alert_stats(AlertAggregation(since=T0, until=T0 + 60, bucket=30, **narrowing))
        found.append(
            (
                stats.total,
                sorted((c.key, c.count) for c in stats.sources),
                [b.count for b in stats.histogram],
            )
        )
        expected = Counter(a.source_ip for a in listed)
        assert found[-1] == (
            len(listed),
            sorted(expected.items()),
            [
                sum(1 for a in listed if a.time < T0 + 30),
                sum(1 for a in listed if a.time >= T0 + 30),
            ],
        )
    assert [total for total, _, _ in found] == [4, 1, 1, 1, 0, 2, 0]


def test_absorbed_incidents_leave_lists_and_counts(store: AnyStore) -> None:
    store.put_incidents(
        [
            build_incident(id="survivor", risk_score=50),
            build_incident(id="absorbed", risk_score=70, superseded_by="survivor"),
        ]
    )
    standing = [i.id for i in store.incidents(IncidentQuery(superseded=False))]
    absorbed = [i.id for i in store.incidents(IncidentQuery(superseded=True))]
    everything = [i.id for i in store.incidents(IncidentQuery())]
    stats = store.incident_stats(IncidentAggregation(units=frozenset({"police"})))
    assert (standing, absorbed, everything, stats.total) == (
        ["survivor"],
        ["absorbed"],
        ["absorbed", "survivor"],
        1,
    )
