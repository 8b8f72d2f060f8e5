"""Shared fixtures: factories for literal flows, alerts and incidents with sensible defaults."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from correlator.incident import Incident
from correlator.storage import Store
from detectors.alert import Alert, Severity
from detectors.attack import Tactic
from nssa.settings import StoreSettings
from nssa.stores.elasticsearch import ElasticsearchStore
from sensors.events import Flow, TcpOutcome, Transport
from tests.browser import chromium, misbehaviour, page  # noqa: F401 (fixtures)
from tests.elastic import closed_port, es_url, pytest_terminal_summary  # noqa: F401 (fixture, hook)

T0 = 1_717_200_000.0  # 2024-06-01 00:00:00 UTC, 08:00 in Sanmenxia


def build_flow(**overrides: Any) -> Flow:
    """A finished TCP flow from an extranet host to a cloud server; override any field."""
    fields: dict[str, Any] = {
        "start": T0,
        "end": T0 + 2.5,
        "sensor": "cloud-core",
        "src_ip": "10.21.3.4",
        "src_port": 51000,
        "dst_ip": "10.10.2.15",
        "dst_port": 443,
        "transport": Transport.TCP,
        "packets_out": 12,
        "packets_in": 10,
        "bytes_out": 1400,
        "bytes_in": 9000,
        "outcome": TcpOutcome.CLOSED,
        "flags_out": "SAPF",
        "flags_in": "SAPF",
    }
    return Flow(**(fields | overrides))


def build_alert(**overrides: Any) -> Alert:
    """A port-scan alert against the police bureau's server; override any field."""
    fields: dict[str, Any] = {
        "time": T0 + 60,
        "first_seen": T0,
        "last_seen": T0 + 60,
        "detector": "portscan",
        "rule": "vertical_scan",
        "severity": Severity.MEDIUM,
        "sensor": "cloud-core",
        "source_ip": "203.0.113.7",
        "destination_ip": "10.10.2.15",
        "destination_ports": (22, 80, 443),
        "tactic": Tactic.RECONNAISSANCE,
        "technique": "T1046",
        "identifier": "portscan:203.0.113.7:10.10.2.15",
        "explanation": "203.0.113.7 在 300 秒内探测了 10.10.2.15 的 3 个端口",
        "facts": {"ports": 3, "window_seconds": 300.0, "threshold": 3},
    }
    return Alert(**(fields | overrides))


def build_incident(**overrides: Any) -> Incident:
    """A new port-scan incident hitting the police bureau; override any field."""
    fields: dict[str, Any] = {
        "id": "inc-portscan-1",
        "title": "来自 203.0.113.7 的端口扫描",
        "kind": "portscan",
        "severity": Severity.MEDIUM,
        "risk_score": 40,
        "risk_factors": {"criticality": 1.4, "alerts": 1},
        "attackers": ("203.0.113.7",),
        "victims": ("10.10.2.15",),
        "units": ("police",),
        "tactics": (Tactic.RECONNAISSANCE,),
        "techniques": ("T1046",),
        "detectors": ("portscan",),
        "first_seen": T0,
        "last_seen": T0 + 60,
        "alert_count": 1,
    }
    return Incident(**(fields | overrides))


@pytest.fixture(params=["sqlite", "elasticsearch"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty store of each kind: SQLite in a temporary folder, then the real node."""
    from nssa.stores.sqlite import SqliteStore
    from tests.test_store_conformance import drop_es_store, es_test_store

    if request.param == "sqlite":
        with SqliteStore(tmp_path / "nssa.db") as opened:
            yield opened
        return
    es = es_test_store(request.getfixturevalue("es_url"))
    es.settle = 0.0  # these tests finish writing before each read
    try:
        yield es
    finally:
        drop_es_store(es)


@pytest.fixture
def make_flow() -> Callable[..., Flow]:
    """Factory for flows: ``make_flow(dst_port=22)``."""
    return build_flow


@pytest.fixture
def make_alert() -> Callable[..., Alert]:
    """Factory for alerts: ``make_alert(source_ip="198.51.100.9")``."""
    return build_alert


@pytest.fixture
def make_incident() -> Callable[..., Incident]:
    """Factory for incidents: ``make_incident(id="inc-2", risk_score=90)``."""
    return build_incident


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--update-golden``: rewrite tests/golden/ from the current replay output."""
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite the golden alert/incident files instead of comparing with them",
    )


@pytest.fixture
def unreachable() -> Iterator[ElasticsearchStore]:
    """An Elasticsearch store whose port nobody listens on."""
    store = ElasticsearchStore(f"http://127.0.0.1:{closed_port()}", StoreSettings())
    yield store
    store.close()
