"""The on-disk spool: writes survive an unreachable store and arrive once, in order, after it.

Outages are real: a store on a closed port, and the session's Elasticsearch node behind a
loopback proxy that the test cuts in the middle of a replay.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from correlator.incident import Incident
from correlator.storage import AlertQuery, IncidentQuery
from detectors.alert import Alert
from nssa.errors import SpoolFullError, StoreUnavailableError
from nssa.settings import StoreSettings
from nssa.stores.elasticsearch import ElasticsearchStore
from nssa.stores.spool import Spool, SpoolingStore
from nssa.stores.sqlite import SqliteStore
from sensors.events import DnsQuery, Event, Flow, TcpOutcome, Transport
from tests.proxy import CuttableProxy
from tests.test_store_conformance import drop_es_store, es_test_store

T0 = 1_717_200_000.0
AlertFactory = Callable[..., Alert]
IncidentFactory = Callable[..., Incident]


def _spool(directory: Path, max_bytes: int = 2**20) -> Spool:
    return Spool(directory, max_bytes=max_bytes, warn_ratio=0.5)


def test_writes_wait_in_the_spool_and_arrive_in_order_after_a_restart(
    tmp_path: Path,
    unreachable: ElasticsearchStore,
    make_alert: AlertFactory,
    make_incident: IncidentFactory,
) -> None:
    offline = SpoolingStore(unreachable, _spool(tmp_path / "spool"))
    alerts = [make_alert(time=T0 + n, rule=f"r{n}") for n in range(5)]
    assert offline.put_alerts(alerts) == 5
    # Two versions of one incident: the later write must win after replay too.
    offline.put_incidents([make_incident(risk_score=10)])
    offline.put_incidents([make_incident(risk_score=80)])
    assert offline.spool.pending() == 3
    # A new process (a restarted daemon) finds the spool and delivers it.
    with SqliteStore(tmp_path / "nssa.db") as sqlite:
        online = SpoolingStore(sqlite, _spool(tmp_path / "spool"))
        assert online.replay() == 3
        assert (
            online.spool.pending(),
            online.alerts(AlertQuery()),
            [i.risk_score for i in online.incidents(IncidentQuery())],
        ) == (0, alerts[::-1], [80])
        assert online.spool.size_bytes() == 0


def test_writes_queue_behind_the_spool_until_it_drains(
    tmp_path: Path, unreachable: ElasticsearchStore, make_incident: IncidentFactory
) -> None:
    SpoolingStore(unreachable, _spool(tmp_path / "spool")).put_incidents(
        [make_incident(risk_score=10)]
    )
    with SqliteStore(tmp_path / "nssa.db") as sqlite:
        online = SpoolingStore(sqlite, _spool(tmp_path / "spool"))
        # This write triggers replay of the older version first, then lands on top of it.
        online.put_incidents([make_incident(risk_score=60)])
        assert [i.risk_score for i in online.incidents(IncidentQuery())] == [60]


def test_a_full_spool_refuses_the_batch_and_warns_before(
    tmp_path: Path,
    unreachable: ElasticsearchStore,
    make_alert: AlertFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    offline = SpoolingStore(unreachable, _spool(tmp_path / "spool", max_bytes=2**16))
    batch = [make_alert(time=T0 + n) for n in range(10)]
    with caplog.at_level(logging.WARNING, logger="nssa.spool"), pytest.raises(SpoolFullError):
        for _ in range(100):
            offline.put_alerts(batch)
    assert "spool" in caplog.text and "% full" in caplog.text
    assert offline.spool.size_bytes() <= 2**16


def test_a_batch_torn_by_a_crash_is_dropped_not_delivered(
    tmp_path: Path, unreachable: ElasticsearchStore, make_alert: AlertFactory
) -> None:
    offline = SpoolingStore(unreachable, _spool(tmp_path / "spool"))
    offline.put_alerts([make_alert()])
    with (tmp_path / "spool" / "spool.jsonl").open("ab") as handle:
        handle.write(b'{"kind": "alerts", "docs": [{"@timest')  # power cut mid-append
    with SqliteStore(tmp_path / "nssa.db") as sqlite:
        online = SpoolingStore(sqlite, _spool(tmp_path / "spool"))
        assert (online.replay(), len(online.alerts(AlertQuery())), online.spool.pending()) == (
            1,
            1,
            0,
        )


def _ids_stored_once(es: ElasticsearchStore, index: str) -> tuple[int, list[Any]]:
    """How many documents ``index`` holds, and the ids held more than once (none, we hope)."""
    es.client.indices.refresh(index=index)
    total = es.client.count(index=index)["count"]
    found = es.client.search(
        index=index,
        size=0,
        aggs={"twice": {"terms": {"field": "event.id", "min_doc_count": 2, "size": 10}}},
    )
    return int(total), list(found["aggregations"]["twice"]["buckets"])


def test_node_cut_mid_replay_still_gets_every_record_exactly_once(
    tmp_path: Path, es_url: str, make_alert: AlertFactory, make_incident: IncidentFactory
) -> None:
    direct = es_test_store(es_url)
    node_port = int(es_url.rsplit(":", 1)[1])
    with CuttableProxy(node_port) as proxy:
        options = StoreSettings(index_prefix=direct.options.index_prefix, replicas=0)
        writer = SpoolingStore(ElasticsearchStore(proxy.url, options), _spool(tmp_path / "s"))
        try:
            proxy.cut()
            alerts, incidents = [], []
            for n in range(5):
                batch = [make_alert(time=T0 + n * 100 + k, rule=f"r{n}-{k}") for k in range(20)]
                versions = [make_incident(id=f"inc-{k}", risk_score=n * 10) for k in range(5)]
                writer.put_alerts(batch)
                writer.put_incidents(versions)
                alerts += batch
                incidents = versions  # each round rewrites the same five incidents
            assert writer.spool.pending() == 10

            proxy.restore()
            proxy.cut_at_request(4, b"/_bulk")  # batches 1-3 land; the 4th's answer is lost
            with pytest.raises(StoreUnavailableError):
                writer.replay()
            assert proxy.is_cut and writer.spool.pending() == 7
            late = [make_alert(time=T0 + 9_000, rule="late")]
            writer.put_alerts(late)  # still down: queues behind the spool
            assert writer.spool.pending() == 8

            proxy.restore()
            assert writer.replay() == 8
        finally:
            writer.close()
    try:
        layout = direct.layout
        expected_alerts = {a.id for a in alerts + late}
        assert _ids_stored_once(direct, layout.alerts_pattern) == (len(expected_alerts), [])
        assert _ids_stored_once(direct, layout.incidents) == (len(incidents), [])
        stored = direct.alerts(AlertQuery(limit=1000))
        assert {a.id for a in stored} == expected_alerts
        assert direct.incidents(IncidentQuery()) == sorted(incidents, key=lambda i: i.id)
    finally:
        drop_es_store(direct)


def hostile_events() -> list[Event]:
    """Events whose text fields carry what an attacker writes: quotes, markup, controls."""
    query = DnsQuery(
        time=T0,
        sensor="edge",
        src_ip="10.0.0.5",
        src_port=5353,
        dst_ip="10.0.0.53",
        dst_port=53,
        transport=Transport.UDP,
        query='"},"event":{"id":"x"}<svg/onload=alert(1)>\x01.例子.example',
        qtype="TXT",
    )
    flow = Flow(
        start=T0 + 0.25,
        end=T0 + 3.5,
        sensor="edge",
        src_ip="fe80::1",
        src_port=1,
        dst_ip="fe80::2",
        dst_port=2,
        transport=Transport.TCP,
        packets_out=1,
        packets_in=0,
        bytes_out=60,
        bytes_in=0,
        outcome=TcpOutcome.UNANSWERED,
        beats=(0.0, 1.25),
    )
    return [query, flow]


@pytest.mark.parametrize("backend", ["sqlite", "elasticsearch"])
def test_events_spooled_as_text_come_back_identical_with_their_ids(
    tmp_path: Path, unreachable: ElasticsearchStore, es_url: str, backend: str
) -> None:
    events = hostile_events()
    SpoolingStore(unreachable, _spool(tmp_path / "spool")).put_events(events)
    fresh = hostile_events()  # new objects: ids computed again from the content
    store = SqliteStore(tmp_path / "nssa.db") if backend == "sqlite" else es_test_store(es_url)
    try:
        online = SpoolingStore(store, _spool(tmp_path / "spool"))
        assert online.replay() == 1
        stored = online.store.events_by_id([e.id for e in fresh])
        assert sorted(stored, key=lambda e: e.id) == sorted(fresh, key=lambda e: e.id)
        assert sorted(e.id for e in stored) == sorted(e.id for e in events)
    finally:
        if isinstance(store, ElasticsearchStore):
            drop_es_store(store)
        else:
            store.close()
