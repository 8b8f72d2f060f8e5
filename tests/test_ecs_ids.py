"""Record ids are content hashes of the ECS JSON: pinned so a faster codec cannot move them.

The values were computed with the generic per-field codec before it was compiled per class;
stored events, alerts and their evidence links depend on them never changing.
"""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime
from typing import Any

import pytest

from detectors.alert import Alert, Severity
from detectors.attack import Tactic
from sensors.ecs import cached_document, cached_json, format_time, to_document
from sensors.events import (
    AuthEvent,
    AuthOutcome,
    DnsQuery,
    Flow,
    HttpRequest,
    TcpOutcome,
    TlsHello,
    Transport,
)

FLOW = Flow(
    start=1700000000.123456,
    end=1700000005.5,
    sensor="gov-cloud-1",
    src_ip="10.0.0.1",
    src_port=51234,
    dst_ip="10.0.0.2",
    dst_port=443,
    transport=Transport.TCP,
    packets_out=3,
    packets_in=4,
    bytes_out=100,
    bytes_in=200,
    outcome=TcpOutcome.ESTABLISHED,
)
TUNNELLED = Flow(
    start=1714000000.0000005,
    end=1714000060.9999996,
    sensor="gov-cloud-1",
    src_ip="172.16.1.9",
    src_port=53,
    dst_ip="172.16.1.1",
    dst_port=53,
    transport=Transport.UDP,
    packets_out=1,
    packets_in=0,
    bytes_out=60,
    bytes_in=0,
    outcome=TcpOutcome.UNANSWERED,
    flags_out="S",
    vlan=12,
    tunnel="vxlan",
    tunnel_id=4096,
    outer_src_ip="192.0.2.1",
    outer_dst_ip="192.0.2.2",
    iana_number=17,
    beats=(0.0, 1.25, 30.5),
)
DNS = DnsQuery(
    time=1700000001.75,
    sensor="gov-cloud-1",
    src_ip="10.0.0.1",
    src_port=40000,
    dst_ip="10.0.0.53",
    dst_port=53,
    transport=Transport.UDP,
    query="例え.三门峡.gov.cn",
    qtype="TXT",
)
HTTP = HttpRequest(
    time=1700000002.0,
    sensor="gov-cloud-1",
    src_ip="10.0.0.1",
    dst_port=8080,
    method="GET",
    uri='/login?q="<script>"\\',
    status=200,
    user="张三",
)
TLS = TlsHello(
    time=1700000003.999999,
    sensor="gov-cloud-1",
    src_ip="10.0.0.1",
    src_port=50000,
    dst_ip="203.0.113.5",
    dst_port=443,
    server_name="example.org",
    ja3="abc",
)
# No source.ip but a source.domain: "source" is created by a late field, so it comes late.
AUTH = AuthEvent(
    time=1700000004.25,
    sensor="gov-cloud-1",
    service="sshd",
    user="root",
    outcome=AuthOutcome.FAILURE,
    line=42,
    src_domain="jump.example",
)
ALERT = Alert(
    time=1700000010.0,
    first_seen=1700000000.123456,
    last_seen=1700000009.5,
    detector="portscan",
    rule="vertical scan",
    severity=Severity.HIGH,
    source_ip="10.0.0.1",
    destinations=("10.0.0.2",),
    destination_ports=(22, 80, 443),
    tactic=Tactic.RECONNAISSANCE,
    technique="T1046",
    identifier="portscan:10.0.0.1",
    explanation="10.0.0.1 probed 3 ports",
    facts={"ports": 3, "window": 60.0, "rule": "x"},
    evidence=("e1", "e2"),
)

PINNED = [
    (FLOW, "c06e4c9494b6d4508b83ae30"),
    (TUNNELLED, "5438c23acb900082bcf916d6"),
    (DNS, "e3f774639e3bfeb11a47b5da"),
    (HTTP, "745d9aebc50dc16a0968d3d0"),
    (TLS, "3d8cc6680905cdf73ae74de4"),
    (AUTH, "1ab1e0c39bd45aa92c874a01"),
    (ALERT, "a-150e86241623b9c39f475632"),
]


@pytest.mark.parametrize("record, expected", PINNED, ids=lambda v: type(v).__name__)
def test_record_ids_are_pinned(record: Any, expected: str) -> None:
    record.__dict__.pop("_record_id", None)  # another test may have cached it
    assert record.id == expected


def test_documents_keep_their_key_order() -> None:
    # No sort_keys in the id hash: the order keys are created in is part of the id.
    doc = to_document(AUTH)
    assert list(doc) == [
        "event",
        "@timestamp",
        "observer",
        "host",
        "service",
        "user",
        "nssa",
        "log",
        "source",
    ]
    assert list(to_document(FLOW)["source"]) == ["ip", "port", "packets", "bytes"]


def test_documents_are_fresh_per_call() -> None:
    first, second = to_document(FLOW), to_document(FLOW)
    first["source"]["ip"] = "changed"
    assert second["source"]["ip"] == "10.0.0.1"


def reference_time(epoch: float) -> str:
    """The original datetime-based rendering the fast path must match byte for byte."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def edge_times() -> list[float]:
    rng = random.Random(5)
    edges = [0, 0.0, 1, 1e-7, 4e-7, 5e-7, 6e-7, 0.5, 0.9999995, 0.9999994, 59.9999996]
    edges += [1700000000, 1700000000.0000005, 1700000000.0000015, 1700000000.9999995]
    edges += [1709164800.0, 1709251199.9999999, 253402300798.9999995, 2**31, 2**31 - 0.5e-6]
    edges += [math.nextafter(1e9, 0.0), math.nextafter(1e9, 2e9), -1.5, -0.0000005, -86400.25]
    edges += [rng.uniform(0, 2e9) for _ in range(20_000)]
    edges += [rng.randrange(0, 2 * 10**15) / 10**6 + 5e-7 for _ in range(20_000)]
    edges += [rng.randrange(0, 2 * 10**9) + rng.randrange(10**7) / 10**7 for _ in range(20_000)]
    return edges


def test_format_time_matches_datetime_exactly() -> None:
    mismatched = [t for t in edge_times() if format_time(t) != reference_time(t)]
    assert mismatched == []


def test_format_time_keeps_datetime_errors() -> None:
    for bad in (math.nan, math.inf, 1e20):
        with pytest.raises((ValueError, OverflowError, OSError)):
            reference_time(bad)
        with pytest.raises((ValueError, OverflowError, OSError)):
            format_time(bad)


@pytest.mark.parametrize("record", [r for r, _ in PINNED], ids=lambda v: type(v).__name__)
def test_hashed_text_is_compact_json_of_the_document(record: Any) -> None:
    expected = json.dumps(to_document(record), ensure_ascii=False, separators=(",", ":"))
    assert cached_json(record) == expected
    assert cached_document(record) == to_document(record)
