"""Sensor activity: SQLite and a real Elasticsearch node report each sensor's newest event
and its recent events alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from correlator.sensor_activity import SensorActivity, SensorActivityRequest
from nssa.stores.spool import Spool, SpoolingStore
from nssa.stores.sqlite import SqliteStore
from tests.conftest import T0, build_flow
from tests.test_store_conformance import AnyStore, store  # noqa: F401 (fixture)

HOUR = 3600.0


def test_each_sensor_reports_its_newest_event_and_last_hour(store: AnyStore) -> None:  # noqa: F811
    store.put_events(
        [
            # Quiet for a day: before ``since``, so not listed at all.
            build_flow(sensor="old-tap", start=T0 - 30 * HOUR, src_port=40000),
            # Last heard two hours ago: listed, none recent.
            build_flow(sensor="county-tap", start=T0 - 2 * HOUR, src_port=40001),
            build_flow(sensor="county-tap", start=T0 - 3 * HOUR, src_port=40002),
            *(
                build_flow(sensor="市政务云-核心", start=T0 - 60.0 * n, src_port=41000 + n)
                for n in range(5)
            ),
            build_flow(sensor="市政务云-核心", start=T0 - 2 * HOUR, src_port=42000),
        ]
    )
    found = store.sensor_activity(SensorActivityRequest(since=T0 - 24 * HOUR, recent=T0 - HOUR))
    assert [(a.sensor, a.recent_events) for a in found] == [("county-tap", 0), ("市政务云-核心", 5)]
    # Elasticsearch keeps the newest time as epoch milliseconds.
    assert [a.last_event for a in found] == [
        pytest.approx(T0 - 2 * HOUR, abs=1e-3),
        pytest.approx(T0, abs=1e-3),
    ]


def test_no_events_means_no_sensors(store: AnyStore) -> None:  # noqa: F811
    assert store.sensor_activity(SensorActivityRequest(since=0.0, recent=T0)) == ()


def test_the_spool_reports_what_its_store_holds(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "nssa.db") as sqlite:
        spooling = SpoolingStore(sqlite, Spool(tmp_path / "spool", max_bytes=2**20))
        spooling.put_events([build_flow(sensor="cloud-core", start=T0)])
        assert spooling.sensor_activity(SensorActivityRequest(since=T0, recent=T0)) == (
            SensorActivity(sensor="cloud-core", last_event=T0, recent_events=1),
        )


def test_sqlite_reads_sensor_activity_from_its_index_alone(tmp_path: Path) -> None:
    # A scan of the documents took over a second per 200,000 events; the index takes < 1 ms.
    with SqliteStore(tmp_path / "nssa.db") as sqlite:
        sqlite.put_events([build_flow(sensor="cloud-core", start=T0)])
        statements: list[str] = []
        sqlite._conn.set_trace_callback(statements.append)
        sqlite.sensor_activity(SensorActivityRequest(since=T0, recent=T0))
        sqlite._conn.set_trace_callback(None)
        plan = [row[3] for row in sqlite._conn.execute(f"EXPLAIN QUERY PLAN {statements[-1]}")]
    reads = [step for step in plan if " events" in step]
    assert reads and all("USING INDEX events_sensor" in step for step in reads), plan
