"""What only the Elasticsearch store does: mappings, index layout, analysts' concurrent edits,
retention, connection settings and how it fails. Runs against the session's real node."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from correlator.incident import Incident, IncidentStatus
from nssa.errors import ConfigError, ConflictError, StoreError, StoreUnavailableError
from nssa.settings import StoreSettings, load_settings
from nssa.stores import ElasticsearchStore, SpoolingStore, open_store
from nssa.stores.connection import client_options
from nssa.stores.retention import apply_retention
from sensors.ecs import format_time
from sensors.events import Flow
from tests.elastic import closed_port
from tests.test_store_conformance import drop_es_store, es_test_store

T0 = 1_717_200_000.0  # 2024-06-01
DAY = 86_400.0

IncidentFactory = Callable[..., Incident]


@pytest.fixture
def store(es_url: str) -> Iterator[ElasticsearchStore]:
    es = es_test_store(es_url)
    try:
        yield es
    finally:
        drop_es_store(es)


def _mapping(store: ElasticsearchStore, index: str) -> dict[str, Any]:
    found = store.client.indices.get_mapping(index=index)
    return dict(found[index]["mappings"]["properties"])


def test_records_go_to_time_based_indices_named_by_their_own_time(
    store: ElasticsearchStore,
    make_flow: Callable[..., Flow],
    make_alert: Callable[..., Any],
    make_incident: IncidentFactory,
) -> None:
    store.put_events([make_flow(start=T0), make_flow(start=T0 + DAY, end=T0 + DAY + 1)])
    store.put_alerts([make_alert(time=T0 + 60), make_alert(time=T0 + 40 * DAY)])
    store.put_incidents([make_incident()])
    prefix = store.options.index_prefix
    names = set(store.client.indices.get(index=f"{prefix}-*"))
    assert names == {
        f"{prefix}-events-2024.06.01",
        f"{prefix}-events-2024.06.02",
        f"{prefix}-alerts-2024.06",
        f"{prefix}-alerts-2024.07",
        f"{prefix}-incidents",
    }


def test_templates_map_ecs_fields_to_ip_date_and_keyword(
    store: ElasticsearchStore, make_alert: Callable[..., Any], make_incident: IncidentFactory
) -> None:
    store.put_alerts([make_alert(destinations=("10.10.3.1",))])
    store.put_incidents([make_incident()])
    alerts = _mapping(store, store.layout.alerts_index(format_time(T0 + 60)))
    incidents = _mapping(store, store.layout.incidents)
    assert (
        alerts["@timestamp"]["type"],
        alerts["source"]["properties"]["ip"]["type"],
        alerts["rule"]["properties"]["ruleset"]["type"],
        alerts["nssa"]["properties"]["alert"]["properties"]["destinations"]["type"],
        alerts["nssa"]["properties"]["alert"]["properties"]["facts"]["enabled"],
        incidents["nssa"]["properties"]["incident"]["properties"]["units"]["type"],
        incidents["event"]["properties"]["start"]["type"],
    ) == ("date_nanos", "ip", "keyword", "ip", False, "keyword", "date_nanos")


def test_templates_are_composable_and_prefixed(store: ElasticsearchStore) -> None:
    store.ensure_templates()
    prefix = store.options.index_prefix
    found = store.client.indices.get_index_template(name=f"{prefix}-*")["index_templates"]
    records = ("exceptions", "audit", "alert-marks", "cursors", "users", "captures")  # strict
    assert {t["name"]: t["index_template"]["composed_of"] for t in found} == {
        f"{prefix}-{kind}": [f"{prefix}-ecs"] for kind in ("events", "alerts", "incidents")
    } | {f"{prefix}-{kind}": [] for kind in records}


def test_a_stale_analyst_edit_is_refused(
    store: ElasticsearchStore, make_incident: IncidentFactory
) -> None:
    store.put_incidents([make_incident(id="inc-1")])
    first = store.versioned_incident("inc-1")
    second = store.versioned_incident("inc-1")
    assert first is not None and second is not None
    store.save_incident(
        dataclasses.replace(first.incident, status=IncidentStatus.INVESTIGATING), first.version
    )
    with pytest.raises(ConflictError, match="changed by someone else"):
        store.save_incident(
            dataclasses.replace(second.incident, status=IncidentStatus.FALSE_POSITIVE),
            second.version,
        )
    stored = store.incident("inc-1")
    assert stored is not None and stored.status is IncidentStatus.INVESTIGATING


def test_update_incident_reads_changes_and_saves(
    store: ElasticsearchStore, make_incident: IncidentFactory
) -> None:
    store.put_incidents([make_incident(id="inc-1")])
    changed = store.update_incident(
        "inc-1", lambda i: dataclasses.replace(i, status=IncidentStatus.CONTAINED)
    )
    assert store.incident("inc-1") == changed
    assert changed.status is IncidentStatus.CONTAINED


def test_update_of_an_unknown_incident_names_it(store: ElasticsearchStore) -> None:
    with pytest.raises(StoreError, match="no incident 'inc-nope'"):
        store.update_incident("inc-nope", lambda i: i)


def _index_at(store: ElasticsearchStore, make_alert: Callable[..., Any], when: float) -> str:
    store.put_alerts([make_alert(time=when)])
    return store.layout.alerts_index(format_time(when))


def test_retention_deletes_only_periods_older_than_180_days(
    store: ElasticsearchStore,
    make_flow: Callable[..., Flow],
    make_alert: Callable[..., Any],
    make_incident: IncidentFactory,
) -> None:
    now = T0 + 400 * DAY
    old_alerts = _index_at(store, make_alert, now - 215 * DAY)  # its month ended >180 days ago
    young_alerts = _index_at(store, make_alert, now - 179 * DAY)
    edge_alerts = _index_at(store, make_alert, now - 181 * DAY)  # month may end inside 180 days
    store.put_events([make_flow(start=now - 181 * DAY, end=now - 181 * DAY)])
    store.put_events([make_flow(start=now - 180 * DAY + 60, end=now - 180 * DAY + 60)])
    store.put_incidents([make_incident(first_seen=T0, last_seen=T0)])
    report = apply_retention(store, now)
    prefix = store.options.index_prefix
    old_events = store.layout.events_index(format_time(now - 181 * DAY))
    assert report.deleted == (old_alerts, old_events)
    remaining = set(store.client.indices.get(index=f"{prefix}-*"))
    assert {young_alerts, edge_alerts, store.layout.incidents} <= remaining
    assert old_alerts not in remaining


def test_retention_below_180_days_is_refused_by_settings(tmp_path: Path) -> None:
    config = tmp_path / "nssa.toml"
    config.write_text("[store]\nretention_days = 90\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"store\.retention_days: must be at least 180"):
        load_settings(config)


def test_disk_pressure_warns_and_deletes_nothing_younger(
    es_url: str, make_alert: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    tight = es_test_store(es_url)
    store = ElasticsearchStore(
        es_url, dataclasses.replace(tight.options, disk_warn_ratio=0.000_001)
    )
    try:
        young = _index_at(store, make_alert, T0)
        with caplog.at_level(logging.WARNING, logger="nssa.retention"):
            report = apply_retention(store, T0 + DAY)
        assert (report.deleted, young in report.kept) == ((), True)
        assert "will not delete younger data" in caplog.text and report.warnings
    finally:
        drop_es_store(store)
        tight.close()


def test_open_store_gives_elasticsearch_for_http_and_spools_when_asked(
    es_url: str, tmp_path: Path
) -> None:
    plain = open_store(es_url)
    spooled = open_store(es_url, StoreSettings(spool_dir=str(tmp_path / "spool")))
    assert isinstance(plain, ElasticsearchStore) and isinstance(spooled, SpoolingStore)
    plain.close()
    spooled.close()


def test_unreachable_node_is_unavailable_and_hides_the_password(
    make_alert: Callable[..., Any],
) -> None:
    url = f"http://elastic:s3cret@127.0.0.1:{closed_port()}"
    store = ElasticsearchStore(url, StoreSettings(request_timeout=5))
    with pytest.raises(StoreUnavailableError) as caught:
        store.put_alerts([make_alert()])
    assert "s3cret" not in str(caught.value) and "elastic:***@127.0.0.1" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "options", "expected"),
    [
        ("http://es1:9200", {}, {"hosts": ["http://es1:9200"]}),
        ("http://u%40x:p%3Aw@es1", {}, {"basic_auth": ("u@x", "p:w")}),
        ("http://es1:9200", {"username": "nssa", "password": "pw"}, {"basic_auth": ("nssa", "pw")}),
        ("http://es1:9200", {"api_key": "aWQ6a2V5"}, {"api_key": "aWQ6a2V5"}),
        (
            "https://es1",
            {"ca_certs": "/etc/nssa/ca.pem"},
            {"hosts": ["https://es1:443"], "ca_certs": "/etc/nssa/ca.pem", "verify_certs": True},
        ),
        ("https://[::1]:9200", {"verify_certs": False}, {"hosts": ["https://[::1]:9200"]}),
    ],
)
def test_client_options_carry_auth_and_tls(
    url: str, options: dict[str, Any], expected: dict[str, Any]
) -> None:
    made = client_options(url, StoreSettings(**options))
    assert {key: made[key] for key in expected} == expected


@pytest.mark.parametrize(
    ("url", "options", "problem"),
    [
        ("http://es1:9200", {"ca_certs": "/ca.pem"}, "need https"),
        ("http://u:p@es1:9200", {"api_key": "k"}, "not both"),
        ("http://es1:9200/nssa", {}, "no path"),
    ],
)
def test_contradictory_connection_settings_are_errors(
    url: str, options: dict[str, Any], problem: str
) -> None:
    with pytest.raises(StoreError, match=problem):
        client_options(url, StoreSettings(**options))


@pytest.mark.parametrize(
    ("table", "key", "problem"),
    [
        ("index_prefix = 'NSSA'", "store.index_prefix", "lowercase"),
        ("api_key = 'k'\nusername = 'u'", "store.api_key", "not both"),
        ("password = 'p'", "store.password", "needs a username"),
        ("replicas = -1", "store.replicas", "0 to 10"),
        ("spool_dir = 'spool'", "store.spool_dir", "absolute"),
        ("disk_warn_ratio = 1.5", "store.disk_warn_ratio", "at most 1"),
        ("verify_certs = 'no'", "store.verify_certs", "expected bool"),
    ],
)
def test_store_settings_name_the_wrong_key(
    tmp_path: Path, table: str, key: str, problem: str
) -> None:
    config = tmp_path / "nssa.toml"
    config.write_text(f"[store]\n{table}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert caught.value.key == key and problem in caught.value.problem
