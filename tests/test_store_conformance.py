"""One suite, every store: SQLite and a real Elasticsearch node must answer the same way."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from correlator.accounts import Account, Role, account_audit, with_disabled
from correlator.aggregation import Count
from correlator.exceptions import (
    AlertException,
    AlertMark,
    AuditAction,
    AuditRecord,
    ExceptionKind,
    Scope,
    audit,
    expire,
)
from correlator.incident import Incident, IncidentStatus
from correlator.storage import AlertQuery, IncidentQuery
from detectors.alert import Alert
from nssa.settings import StoreSettings
from nssa.stores.elasticsearch import ElasticsearchStore
from nssa.stores.sqlite import SqliteStore
from sensors.events import (
    AuthEvent,
    AuthOutcome,
    DnsQuery,
    Event,
    FirewallAction,
    FirewallEvent,
    Flow,
    HttpRequest,
    TlsHello,
    Transport,
)

T0 = 1_717_200_000.0

AnyStore = SqliteStore | ElasticsearchStore
AlertFactory = Callable[..., Alert]
IncidentFactory = Callable[..., Incident]


def es_test_store(url: str) -> ElasticsearchStore:
    """A store on its own index prefix, so tests sharing the node never see each other."""
    options = StoreSettings(index_prefix=f"t{uuid.uuid4().hex[:12]}", replicas=0)
    return ElasticsearchStore(url, options)


def drop_es_store(store: ElasticsearchStore) -> None:
    """Delete a test store's indices and templates."""
    prefix = store.options.index_prefix
    client = store.client.options(ignore_status=404)  # a test that wrote nothing made none
    client.indices.delete(index=f"{prefix}-*", ignore_unavailable=True)
    client.indices.delete_index_template(name=f"{prefix}-*")
    client.cluster.delete_component_template(name=f"{prefix}-*")
    store.close()


@pytest.fixture(params=["sqlite", "elasticsearch"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AnyStore]:
    if request.param == "sqlite":
        with SqliteStore(tmp_path / "nssa.db") as opened:
            yield opened
        return
    es = es_test_store(request.getfixturevalue("es_url"))
    try:
        yield es
    finally:
        drop_es_store(es)


def test_flow_alert_incident_round_trip_with_chinese_text(
    store: AnyStore,
    make_flow: Callable[..., Flow],
    make_alert: AlertFactory,
    make_incident: IncidentFactory,
) -> None:
    flow = make_flow(sensor="市政务云-核心")
    alert = make_alert(explanation="203.0.113.7 在 300 秒内探测了市公安局服务器的 3 个端口")
    incident = make_incident(
        title="来自 203.0.113.7 的端口扫描", units=("市公安局", "市政务云"), alert_ids=(alert.id,)
    )
    assert (
        store.put_events([flow]),
        store.put_alerts([alert]),
        store.put_incidents([incident]),
    ) == (
        1,
        1,
        1,
    )
    assert (store.events(), store.alerts(AlertQuery()), store.incident(incident.id)) == (
        [flow],
        [alert],
        incident,
    )


def test_every_event_type_round_trips_newest_first(
    store: AnyStore, make_flow: Callable[..., Flow]
) -> None:
    events: list[Event] = [
        make_flow(vlan=12),
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
            rcode="NOERROR",
            answers=2,
        ),
        HttpRequest(
            time=T0 + 2,
            sensor="cloud-core",
            src_ip="203.0.113.7",
            dst_ip="10.10.2.15",
            dst_port=80,
            method="GET",
            host="www.smx.gov.example",
            uri="/搜索?q=' OR 1=1--",
            status=404,
        ),
        TlsHello(
            time=T0 + 3,
            sensor="cloud-core",
            src_ip="10.21.3.4",
            src_port=50001,
            dst_ip="10.10.2.15",
            dst_port=443,
            server_name="oa.smx.gov.example",
            ja3="e7d705a3286e19ea42f587b344ee6865",
        ),
        AuthEvent(
            time=T0 + 4,
            sensor="syslog",
            src_ip="203.0.113.7",
            service="sshd",
            user="root",
            outcome=AuthOutcome.FAILURE,
            original="Failed password for root from 203.0.113.7 port 4242 ssh2",
        ),
        FirewallEvent(
            time=T0 + 5,
            sensor="fw-陕州区",
            action=FirewallAction.DROP,
            src_ip="198.51.100.9",
            dst_ip="10.21.3.4",
            dst_port=3389,
            transport=Transport.TCP,
        ),
    ]
    store.put_events(events)
    assert (store.events(), store.count_events()) == (events[::-1], len(events))


def test_same_batch_twice_leaves_counts_unchanged(
    store: AnyStore,
    make_flow: Callable[..., Flow],
    make_alert: AlertFactory,
    make_incident: IncidentFactory,
) -> None:
    flows = [make_flow(src_port=port) for port in range(50000, 50010)]
    alerts = [make_alert(source_ip=f"203.0.113.{n}") for n in range(10)]
    incidents = [make_incident(id=f"inc-{n}") for n in range(10)]
    for _ in range(2):
        assert (
            store.put_events(flows),
            store.put_alerts(alerts),
            store.put_incidents(incidents),
        ) == (10, 10, 10)
    assert (
        store.count_events(),
        len(store.alerts(AlertQuery(destination_ip="10.10.2.15"))),
        len(store.incidents(IncidentQuery(unit="police"))),
    ) == (10, 10, 10)


def test_duplicate_ids_in_one_batch_count_once(
    store: AnyStore, make_incident: IncidentFactory
) -> None:
    written = store.put_incidents([make_incident(risk_score=10), make_incident(risk_score=20)])
    assert (written, [i.risk_score for i in store.incidents(IncidentQuery())]) == (1, [20])


def test_new_incident_version_replaces_units_and_status(
    store: AnyStore, make_incident: IncidentFactory
) -> None:
    store.put_incidents([make_incident(units=("police",))])
    newer = make_incident(units=("finance",), status=IncidentStatus.INVESTIGATING)
    store.put_incidents([newer])
    assert (
        store.incidents(IncidentQuery(unit="police")),
        store.incidents(IncidentQuery(unit="finance")),
        store.incident(newer.id),
    ) == ([], [newer], newer)


def test_empty_batches_write_nothing(store: AnyStore) -> None:
    assert (store.put_events([]), store.put_alerts([]), store.put_incidents([])) == (0, 0, 0)
    assert (store.count_events(), store.alerts(AlertQuery()), store.incidents(IncidentQuery())) == (
        0,
        [],
        [],
    )


@pytest.fixture
def alerts(store: AnyStore, make_alert: AlertFactory) -> dict[str, Alert]:
    """Five alerts, by rule name, differing in one filtered field each."""
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
        # Same time as "other": ties are broken by id, in every store.
        "twin": make_alert(rule="twin", time=T0 + 40, source_ip="198.51.100.10"),
    }
    store.put_alerts(list(made.values()))
    return made


def _newest_first(alerts: dict[str, Alert], *rules: str) -> list[str]:
    chosen = sorted((alerts[r] for r in rules), key=lambda a: (-a.time, a.id))
    return [a.rule for a in chosen]


ALERT_QUERIES = [
    (AlertQuery(), ("other", "twin", "guess", "sweep", "scan")),
    (AlertQuery(source_ip="198.51.100.9"), ("other",)),
    (AlertQuery(destination_ip="10.10.3.2"), ("sweep",)),
    (AlertQuery(destination_ip="10.10.2.15"), ("other", "twin", "guess", "scan")),
    (AlertQuery(detector="bruteforce"), ("guess",)),
    (AlertQuery(detector="没有"), ()),
    (AlertQuery(since=T0 + 20), ("other", "twin", "guess", "sweep")),
    (AlertQuery(until=T0 + 20), ("scan",)),
    (AlertQuery(since=T0 + 20, until=T0 + 40), ("guess", "sweep")),
    (AlertQuery(detector="portscan", source_ip="203.0.113.7"), ("sweep", "scan")),
    (AlertQuery(source_ip="not-an-address"), ()),
    (AlertQuery(destination_ip="10.10.3.0/24"), ()),
    (AlertQuery(ids=()), ()),
]


@pytest.mark.parametrize(("query", "expected"), ALERT_QUERIES)
def test_alert_filters(
    store: AnyStore, alerts: dict[str, Alert], query: AlertQuery, expected: tuple[str, ...]
) -> None:
    assert [a.rule for a in store.alerts(query)] == _newest_first(alerts, *expected)


@pytest.mark.parametrize(("limit", "offset"), [(2, 0), (2, 2), (10, 4), (1, 9), (0, 0)])
def test_alert_pages(store: AnyStore, alerts: dict[str, Alert], limit: int, offset: int) -> None:
    everything = _newest_first(alerts, *alerts)
    page = store.alerts(AlertQuery(limit=limit, offset=offset))
    assert [a.rule for a in page] == everything[offset : offset + limit]


def test_alerts_by_ids_beyond_the_sql_variable_limit(
    store: AnyStore, alerts: dict[str, Alert]
) -> None:
    wanted = (alerts["guess"].id, alerts["scan"].id, *(f"a-missing-{n}" for n in range(40000)))
    assert [a.rule for a in store.alerts(AlertQuery(ids=wanted))] == ["guess", "scan"]


def test_pages_beyond_ten_thousand(store: AnyStore, make_alert: AlertFactory) -> None:
    # Elasticsearch caps from+size at 10,000; deeper pages must still come back in order.
    made = [make_alert(time=T0 + n // 3, rule=f"r{n}") for n in range(10_012)]
    store.put_alerts(made)
    expected = sorted(made, key=lambda a: (-a.time, a.id))[9_995:10_010]
    assert store.alerts(AlertQuery(limit=15, offset=9_995)) == expected


@pytest.fixture
def incidents(store: AnyStore, make_incident: IncidentFactory) -> None:
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
            # Same risk and last_seen as "mid": the id breaks the tie.
            make_incident(id="mid-b", risk_score=50, first_seen=T0 + 60, last_seen=T0 + 450),
        ]
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (IncidentQuery(), ["high", "mid", "mid-b", "low-new", "low-old"]),
        (IncidentQuery(status=IncidentStatus.CONTAINED), ["high"]),
        (IncidentQuery(status=IncidentStatus.NEW), ["mid", "mid-b", "low-new", "low-old"]),
        (IncidentQuery(status=IncidentStatus.RESOLVED), []),
        (IncidentQuery(unit="市财政局"), ["high"]),
        (IncidentQuery(unit="police"), ["mid", "mid-b", "low-new", "low-old"]),
        (IncidentQuery(attacker="203.0.113.8"), ["low-new"]),
        (IncidentQuery(since=T0 + 310), ["mid", "mid-b", "low-new"]),
        (IncidentQuery(since=T0 + 500), ["low-new"]),
        (IncidentQuery(until=T0 + 200), ["mid", "mid-b", "low-old"]),
        (IncidentQuery(until=T0 + 50), ["low-old"]),
        (IncidentQuery(since=T0 + 150, until=T0 + 250), ["high", "mid", "mid-b"]),
        (IncidentQuery(unit="police", attacker="203.0.113.7"), ["mid", "mid-b", "low-old"]),
        (IncidentQuery(limit=2, offset=1), ["mid", "mid-b"]),
        (IncidentQuery(unit="nowhere"), []),
    ],
)
def test_incident_filters(
    store: AnyStore, incidents: None, query: IncidentQuery, expected: list[str]
) -> None:
    assert [i.id for i in store.incidents(query)] == expected


def test_incident_alert_ids_are_those_of_the_incidents_listed(
    store: AnyStore, make_incident: IncidentFactory
) -> None:
    store.put_incidents(
        [
            make_incident(id="a", risk_score=90, units=("finance",), alert_ids=("x3", "x1")),
            make_incident(id="b", risk_score=50, units=("finance",), alert_ids=("x1", "x2")),
            make_incident(id="c", risk_score=10, units=("police",), alert_ids=("x4",)),
        ]
    )
    asked = {
        IncidentQuery(unit="finance"): ("x1", "x2", "x3"),
        IncidentQuery(unit="police"): ("x4",),
        IncidentQuery(limit=1): ("x1", "x3"),  # the highest risk only
        IncidentQuery(limit=2, offset=1): ("x1", "x2", "x4"),
        IncidentQuery(unit="nowhere"): (),
    }
    assert {query: store.incident_alert_ids(query) for query in asked} == asked


def test_unknown_incident_is_none(store: AnyStore, incidents: None) -> None:
    assert store.incident("inc-nope") is None


def test_unknown_incident_in_an_empty_store_is_none(store: AnyStore) -> None:
    assert (store.incident("inc-nope"), store.incidents(IncidentQuery())) == (None, [])


def test_edit_incident_saves_the_change_and_its_audit(
    store: AnyStore, make_incident: IncidentFactory
) -> None:
    store.put_incidents([make_incident(id="inc-edit")])
    record = AuditRecord(
        time=T0,
        who="李工",
        action=AuditAction.INCIDENT_ASSIGNED,
        exception_id="inc-edit",
        detail="assigned to 李工",
    )
    changed = store.edit_incident(
        "inc-edit", lambda i: dataclasses.replace(i, assignee="李工"), record
    )
    missing = store.edit_incident("inc-nope", lambda i: i, record)
    stored = store.incident("inc-edit")
    assert (changed == stored, stored.assignee if stored else None, missing) == (True, "李工", None)
    assert [(r.action, r.exception_id) for r in store.audit_records()] == [
        (AuditAction.INCIDENT_ASSIGNED, "inc-edit")
    ]


def test_edit_incident_that_raises_saves_nothing(
    store: AnyStore, make_incident: IncidentFactory
) -> None:
    store.put_incidents([make_incident(id="inc-edit")])
    record = AuditRecord(
        time=T0, who="李工", action=AuditAction.INCIDENT_NOTE, exception_id="inc-edit", detail="x"
    )

    def refuse(incident: Incident) -> Incident:
        raise ValueError("not allowed")

    with pytest.raises(ValueError, match="not allowed"):
        store.edit_incident("inc-edit", refuse, record)
    assert (store.incident("inc-edit") == make_incident(id="inc-edit"), store.audit_records()) == (
        True,
        [],
    )


def _exception(**scope: Any) -> AlertException:
    return AlertException(
        kind=ExceptionKind.ALLOW,
        scope=Scope(**(scope or {"source": "10.10.0.0/16", "detector": "portscan"})),
        reason="市大数据局的漏洞扫描器，每周一例行扫描",
        owner="王工",
        created=T0,
        expires=T0 + 7 * 86_400,
    )


def test_exceptions_and_their_audit_round_trip_newest_first(store: AnyStore) -> None:
    first = _exception()
    second = dataclasses.replace(_exception(unit="police"), created=T0 + 5)
    store.put_exception(first, audit(first, AuditAction.CREATED, who="王工", at=T0))
    store.put_exception(second, audit(second, AuditAction.CREATED, who="李工", at=T0 + 5))
    ended = expire(first, T0 + 10)
    store.put_exception(ended, audit(ended, AuditAction.EXPIRED, who="李工", at=T0 + 10))
    assert store.exceptions() == [second, ended]
    assert [(r.action, r.who, r.exception_id) for r in store.audit_records()] == [
        (AuditAction.EXPIRED, "李工", first.id),
        (AuditAction.CREATED, "李工", second.id),
        (AuditAction.CREATED, "王工", first.id),
    ]


def test_alert_marks_are_idempotent_and_never_drop_alerts(
    store: AnyStore, alerts: dict[str, Alert]
) -> None:
    marks = [
        AlertMark(alert_id=alerts["scan"].id, exception_id="x-b"),
        AlertMark(alert_id=alerts["scan"].id, exception_id="x-a"),
        AlertMark(alert_id=alerts["guess"].id, exception_id="x-a"),
    ]
    store.mark_alerts(marks)
    store.mark_alerts(marks[:1])
    wanted = [alerts["scan"].id, alerts["guess"].id, "a-unknown"]
    assert store.alert_marks(wanted) == sorted(marks, key=lambda m: (m.alert_id, m.exception_id))
    assert len(store.alerts(AlertQuery())) == len(alerts)


def test_mark_counts_count_each_exceptions_alerts(
    store: AnyStore, alerts: dict[str, Alert]
) -> None:
    store.mark_alerts(
        [
            AlertMark(alert_id=alerts["scan"].id, exception_id="x-a"),
            AlertMark(alert_id=alerts["guess"].id, exception_id="x-a"),
            AlertMark(alert_id=alerts["scan"].id, exception_id="x-b"),
            AlertMark(alert_id=alerts["scan"].id, exception_id="x-other"),
        ]
    )
    assert store.mark_counts(["x-a", "x-b", "x-none"]) == (
        Count(key="x-a", count=2),
        Count(key="x-b", count=1),
    )


def _settled(store: AnyStore) -> AnyStore:
    """The store with no hold-back, so alerts written just now are readable in order."""
    if isinstance(store, ElasticsearchStore):
        store.settle = 0.0
    return store


def test_alerts_after_reads_each_alert_once_in_pages(
    store: AnyStore, make_alert: AlertFactory
) -> None:
    reader = _settled(store)
    batches = [[make_alert(rule=f"r{b}-{n}", time=T0 - b) for n in range(3)] for b in range(3)]
    seen: list[str] = []
    position: str | None = None
    for batch in batches:
        reader.put_alerts(batch)
        reader.put_alerts(batch[:1])  # a re-sent alert
        page = reader.alerts_after(position, 2)
        while page.alerts:
            seen.extend(a.id for a in page.alerts)
            position = page.position
            page = reader.alerts_after(position, 2)
    wanted = {a.id for batch in batches for a in batch}
    assert set(seen) == wanted
    # A re-sent alert may come again from Elasticsearch (readers deduplicate by id), never
    # from SQLite; nothing is ever skipped.
    assert len(seen) == len(wanted) or isinstance(store, ElasticsearchStore)


def test_alerts_after_resumes_from_a_saved_cursor(
    store: AnyStore, make_alert: AlertFactory
) -> None:
    reader = _settled(store)
    for n in range(5):  # one write each: Elasticsearch orders a batch by id, not by time
        reader.put_alerts([make_alert(rule=f"r{n}", time=T0 + n)])
    first = reader.alerts_after(None, 3)
    assert first.position is not None
    reader.put_cursor("correlator", first.position)
    reader.put_alerts([make_alert(rule="late", time=T0 - 100)])  # older alert time, stored later
    rest = reader.alerts_after(reader.cursor("correlator"), 100)
    assert (reader.cursor("nobody"), [a.rule for a in rest.alerts]) == (None, ["r3", "r4", "late"])


def test_elasticsearch_holds_back_alerts_younger_than_the_settle_lag(
    store: AnyStore, make_alert: AlertFactory
) -> None:
    if not isinstance(store, ElasticsearchStore):
        pytest.skip("SQLite's sequence needs no lag")
    store.put_alerts([make_alert()])
    held = store.alerts_after(None, 10)
    store.settle = 0.0
    assert (held.alerts, len(store.alerts_after(None, 10).alerts)) == ([], 1)


_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"  # shape only: never verified


def _account(name: str, **overrides: Any) -> Account:
    fields: dict[str, Any] = {"role": Role.ANALYST, "created": T0, "updated": T0}
    return Account(name=name, password_hash=_HASH, **(fields | overrides))


def test_users_round_trip_by_name_with_their_audit(store: AnyStore) -> None:
    viewer = _account("王伟", role=Role.VIEWER, units=("lushi", "police"))
    admin = _account("admin", role=Role.ADMIN)
    for account in (viewer, admin):
        store.put_user(
            account, account_audit(account, AuditAction.USER_ADDED, who="cli:ops", at=T0)
        )
    audit_trail = [(r.action, r.exception_id, r.who) for r in store.audit_records()]
    assert (store.user("王伟"), store.users()) == (viewer, [admin, viewer])
    assert sorted(audit_trail) == [
        (AuditAction.USER_ADDED, "user:admin", "cli:ops"),
        (AuditAction.USER_ADDED, "user:王伟", "cli:ops"),
    ]


def test_put_user_replaces_the_same_name(store: AnyStore) -> None:
    account = _account("li")
    disabled = with_disabled(account, True, at=T0 + 60)
    store.put_user(account, account_audit(account, AuditAction.USER_ADDED, who="a", at=T0))
    audit = account_audit(disabled, AuditAction.USER_DISABLED, who="a", at=T0 + 60)
    store.put_user(disabled, audit)
    store.put_user(disabled, audit)  # the same change twice is one change
    actions = [r.action for r in store.audit_records()]
    assert (store.users(), actions) == (
        [disabled],
        [AuditAction.USER_DISABLED, AuditAction.USER_ADDED],
    )


def test_unknown_user_in_an_empty_store_is_none(store: AnyStore) -> None:
    assert (store.user("nobody"), store.users()) == (None, [])


def test_audit_records_append_alone_and_once(store: AnyStore) -> None:
    signed_in = AuditRecord(
        time=T0, who="wang", action=AuditAction.SIGNED_IN, exception_id="user:wang", detail="x"
    )
    failed = dataclasses.replace(signed_in, time=T0 + 1, action=AuditAction.SIGN_IN_FAILED)
    store.put_audit(signed_in)
    store.put_audit(failed)
    store.put_audit(signed_in)  # the same record again is not a second one
    assert store.audit_records() == [failed, signed_in]
