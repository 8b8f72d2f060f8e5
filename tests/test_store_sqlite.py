"""The embedded SQLite store: round trips, idempotence, every query filter, WAL and URLs."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event as ProcessEvent
from pathlib import Path

import pytest

from correlator.incident import Incident, IncidentStatus
from correlator.storage import AlertQuery, IncidentQuery
from detectors.alert import Alert
from nssa.errors import StoreError
from nssa.stores import open_store
from nssa.stores.sqlite import SCHEMA_VERSION, SqliteStore
from sensors.events import AuthEvent, AuthOutcome, DnsQuery, Event, Flow, Transport

T0 = 1_717_200_000.0

AlertFactory = Callable[..., Alert]
IncidentFactory = Callable[..., Incident]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "nssa.db") as opened:
        yield opened


def test_flow_alert_incident_round_trip_with_chinese_units(
    store: SqliteStore,
    make_flow: Callable[..., Flow],
    make_alert: AlertFactory,
    make_incident: IncidentFactory,
) -> None:
    flow = make_flow()
    alert = make_alert()
    incident = make_incident(units=("市公安局", "市政务云"), alert_ids=(alert.id,))
    store.put_events([flow])
    store.put_alerts([alert])
    store.put_incidents([incident])
    assert (store.events(), store.alerts(AlertQuery()), store.incident(incident.id)) == (
        [flow],
        [alert],
        incident,
    )


def test_documents_are_stored_as_readable_utf8(
    store: SqliteStore, make_incident: IncidentFactory
) -> None:
    store.put_incidents([make_incident(units=("市公安局",))])
    with sqlite3.connect(store.path) as raw:
        (doc,) = raw.execute("SELECT doc FROM incidents").fetchone()
    assert json.loads(doc)["nssa"]["incident"]["units"] == ["市公安局"] and "\\u" not in doc


def test_every_event_type_round_trips(store: SqliteStore, make_flow: Callable[..., Flow]) -> None:
    events: list[Event] = [
        make_flow(),
        DnsQuery(
            time=T0 + 1,
            sensor="cloud-core",
            src_ip="10.10.2.15",
            src_port=5353,
            dst_ip="10.10.0.53",
            dst_port=53,
            transport=Transport.UDP,
            query="政务.example",
            qtype="A",
        ),
        AuthEvent(
            time=T0 + 2,
            sensor="syslog",
            src_ip="203.0.113.7",
            service="sshd",
            user="root",
            outcome=AuthOutcome.FAILURE,
        ),
    ]
    store.put_events(events)
    assert store.events() == events[::-1]


def test_same_batch_twice_leaves_counts_unchanged(
    store: SqliteStore,
    make_flow: Callable[..., Flow],
    make_alert: AlertFactory,
    make_incident: IncidentFactory,
) -> None:
    flows = [make_flow(src_port=port) for port in range(50000, 50010)]
    alerts = [make_alert(source_ip=f"203.0.113.{n}") for n in range(10)]
    incidents = [make_incident(id=f"inc-{n}") for n in range(10)]
    for _ in range(2):
        store.put_events(flows)
        store.put_alerts(alerts)
        store.put_incidents(incidents)
    assert (
        store.count_events(),
        len(store.alerts(AlertQuery(destination_ip="10.10.2.15"))),
        len(store.incidents(IncidentQuery(unit="police"))),
    ) == (10, 10, 10)


def test_duplicate_ids_in_one_batch_count_once(
    store: SqliteStore, make_incident: IncidentFactory
) -> None:
    written = store.put_incidents([make_incident(risk_score=10), make_incident(risk_score=20)])
    assert (written, [i.risk_score for i in store.incidents(IncidentQuery())]) == (1, [20])


def test_new_incident_version_replaces_units_and_status(
    store: SqliteStore, make_incident: IncidentFactory
) -> None:
    store.put_incidents([make_incident(units=("police",))])
    newer = make_incident(units=("finance",), status=IncidentStatus.INVESTIGATING)
    store.put_incidents([newer])
    assert (
        store.incidents(IncidentQuery(unit="police")),
        store.incidents(IncidentQuery(unit="finance")),
    ) == ([], [newer])


@pytest.fixture
def alerts(store: SqliteStore, make_alert: AlertFactory) -> dict[str, Alert]:
    """Four alerts, by rule name, differing in one filtered field each."""
    made = {
        "scan": make_alert(rule="scan", time=T0 + 10),
        "sweep": make_alert(
            rule="sweep",
            time=T0 + 20,
            destination_ip=None,
            destinations=("10.10.3.1", "10.10.3.2"),
        ),
        "guess": make_alert(rule="guess", time=T0 + 30, detector="bruteforce"),
        "other": make_alert(rule="other", time=T0 + 40, source_ip="198.51.100.9"),
    }
    store.put_alerts(list(made.values()))
    return made


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (AlertQuery(), ["other", "guess", "sweep", "scan"]),
        (AlertQuery(source_ip="198.51.100.9"), ["other"]),
        (AlertQuery(destination_ip="10.10.3.2"), ["sweep"]),
        (AlertQuery(destination_ip="10.10.2.15"), ["other", "guess", "scan"]),
        (AlertQuery(detector="bruteforce"), ["guess"]),
        (AlertQuery(since=T0 + 20), ["other", "guess", "sweep"]),
        (AlertQuery(until=T0 + 20), ["scan"]),
        (AlertQuery(since=T0 + 20, until=T0 + 40), ["guess", "sweep"]),
        (AlertQuery(detector="portscan", source_ip="203.0.113.7"), ["sweep", "scan"]),
        (AlertQuery(limit=2), ["other", "guess"]),
        (AlertQuery(limit=2, offset=2), ["sweep", "scan"]),
        (AlertQuery(ids=()), []),
    ],
)
def test_alert_filters(
    store: SqliteStore, alerts: dict[str, Alert], query: AlertQuery, expected: list[str]
) -> None:
    assert [a.rule for a in store.alerts(query)] == expected


def test_alerts_by_ids_beyond_the_sql_variable_limit(
    store: SqliteStore, alerts: dict[str, Alert]
) -> None:
    wanted = (alerts["guess"].id, alerts["scan"].id, *(f"a-missing-{n}" for n in range(40000)))
    assert [a.rule for a in store.alerts(AlertQuery(ids=wanted))] == ["guess", "scan"]


@pytest.fixture
def incidents(store: SqliteStore, make_incident: IncidentFactory) -> None:
    """Four incidents named by id, differing in status, units, attackers, risk and time."""
    store.put_incidents(
        [
            make_incident(id="low-old", risk_score=10, first_seen=T0, last_seen=T0 + 100),
            make_incident(
                id="high",
                risk_score=90,
                units=("finance", "市财政局"),
                status=IncidentStatus.CONTAINED,
                first_seen=T0 + 200,
                last_seen=T0 + 300,
            ),
            make_incident(
                id="low-new",
                risk_score=10,
                attackers=("198.51.100.9", "203.0.113.8"),
                first_seen=T0 + 400,
                last_seen=T0 + 500,
            ),
            make_incident(id="mid", risk_score=50, first_seen=T0 + 50, last_seen=T0 + 450),
        ]
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (IncidentQuery(), ["high", "mid", "low-new", "low-old"]),
        (IncidentQuery(status=IncidentStatus.CONTAINED), ["high"]),
        (IncidentQuery(status=IncidentStatus.NEW), ["mid", "low-new", "low-old"]),
        (IncidentQuery(unit="市财政局"), ["high"]),
        (IncidentQuery(unit="police"), ["mid", "low-new", "low-old"]),
        (IncidentQuery(attacker="203.0.113.8"), ["low-new"]),
        (IncidentQuery(since=T0 + 310), ["mid", "low-new"]),
        (IncidentQuery(until=T0 + 200), ["mid", "low-old"]),
        (IncidentQuery(since=T0 + 150, until=T0 + 250), ["high", "mid"]),
        (IncidentQuery(unit="police", attacker="203.0.113.7"), ["mid", "low-old"]),
        (IncidentQuery(limit=1, offset=1), ["mid"]),
        (IncidentQuery(unit="nowhere"), []),
    ],
)
def test_incident_filters(
    store: SqliteStore, incidents: None, query: IncidentQuery, expected: list[str]
) -> None:
    assert [i.id for i in store.incidents(query)] == expected


def test_unknown_incident_is_none(store: SqliteStore) -> None:
    assert store.incident("inc-nope") is None


def test_wal_mode_is_on(store: SqliteStore) -> None:
    with sqlite3.connect(store.path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_newer_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nssa.db"
    SqliteStore(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE schema_version SET version = ?", [SCHEMA_VERSION + 1])
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1} is newer"):
        SqliteStore(path)


BATCH = 25
BATCHES = 20


def _read_while_written(url: str, ready: ProcessEvent, counts: Connection) -> None:
    """Reader process: report every alert count it sees until it has seen them all."""
    store = open_store(url)
    ready.set()
    seen = -1
    while seen < BATCH * BATCHES:
        count = len(store.alerts(AlertQuery(limit=BATCH * BATCHES + 1)))
        if count != seen:
            counts.send(count)
            seen = count
    store.close()


def test_reader_process_sees_whole_batches_while_writer_writes(
    tmp_path: Path, make_alert: AlertFactory
) -> None:
    url = f"sqlite://{tmp_path}/nssa.db"
    store = open_store(url)
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    receiving, sending = context.Pipe(duplex=False)
    reader = context.Process(target=_read_while_written, args=(url, ready, sending))
    reader.start()
    seen: list[int] = []
    try:
        assert ready.wait(timeout=60)
        for batch in range(1, BATCHES + 1):
            store.put_alerts([make_alert(time=T0 + batch, rule=f"r{n}") for n in range(BATCH)])
            # Let the reader catch up before the next batch, so reads overlap every write.
            while not seen or seen[-1] < batch * BATCH:
                assert receiving.poll(timeout=60), "reader stopped reporting"
                seen.append(receiving.recv())
    finally:
        reader.join(timeout=60)
        store.close()
    assert reader.exitcode == 0
    assert [count % BATCH for count in seen] == [0] * len(seen)
    assert seen == sorted(seen) and seen[-1] == BATCH * BATCHES


def test_open_store_creates_parent_folders(tmp_path: Path) -> None:
    path = tmp_path / "var" / "lib" / "nssa" / "nssa.db"
    open_store(f"sqlite://{path}").close()
    assert path.is_file()


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("sqlite://nssa.db", "no host"),
        ("sqlite:nssa.db", "must be absolute"),
        ("sqlite:///var/lib/nssa/", "names a folder"),
        ("sqlite:///tmp/nssa.db?mode=ro", "no ?query"),
        ("postgres://db/nssa", "unknown store scheme 'postgres'"),
        ("http://localhost:9200/nssa", "an Elasticsearch URL has no path"),
    ],
)
def test_bad_urls_name_the_url_and_the_problem(url: str, problem: str) -> None:
    with pytest.raises(StoreError) as caught:
        open_store(url)
    assert url in str(caught.value) and problem in str(caught.value)


def test_url_passwords_stay_out_of_errors() -> None:
    with pytest.raises(StoreError) as caught:
        open_store("https://elastic:s3cret@es.smx.example:9200/nssa")
    assert "s3cret" not in str(caught.value) and "elastic:***@es.smx.example" in str(caught.value)


def test_uncreatable_folder_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "occupied"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(StoreError, match="cannot create folder"):
        open_store(f"sqlite://{blocker}/nssa.db")
