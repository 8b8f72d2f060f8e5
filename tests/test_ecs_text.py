"""The JSON text writer (``sensors.ecstext``) writes exactly the encoded document, so ids keep.

Ids are blake2b hashes of that text: a stored event, a spooled batch replayed after an outage
and an alert's evidence references all depend on it not changing by a byte.
"""

from __future__ import annotations

import enum
import hashlib
import itertools
import json
import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

from correlator.storage import AlertQuery, IncidentQuery
from nssa.pipeline import capture_events, replay
from nssa.settings import Settings
from nssa.stores.sqlite import SqliteStore
from sensors.capture import CaptureStats
from sensors.ecs import (
    cached_document,
    document_time,
    ecs,
    format_time,
    parse_time,
    path_value,
    record_id,
    to_document,
    to_text,
)
from sensors.events import Flow, TcpOutcome, Transport
from sensors.flows import FlowTable
from sensors.logs.reader import detected_format, read_log
from sensors.metadata import MetadataExtractor

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "pcaps").glob("*.pcap"))
CORPUS = ROOT.parent / "shared" / "corpus"


def reference(record: Any) -> str:
    """The text ids were hashed from before the writer existed: the encoded document."""
    return json.dumps(to_document(record), ensure_ascii=False, separators=(",", ":"))


class Level(enum.IntEnum):
    """An enum whose values are not strings: the general encoder writes it."""

    LOW = 1


class Colour(enum.StrEnum):
    """A string enum: written by value."""

    RED = "red"


@dataclass(frozen=True, kw_only=True)
class Sample:
    """Optional fields sharing parents and overwriting a constant, so the shape decides the
    key order; values of every kind the encoder treats apart."""

    ECS_CONSTANTS: ClassVar[Mapping[str, Any]] = {
        "event.kind": "event",
        "event.tags": ["x", "100%"],
        "outer.b": 7,
    }

    time: float | None = ecs("@timestamp", time=True, default=None)
    a: Any = ecs("outer.inner.a", default=None)
    b: Any = ecs("outer.b", default=None)
    c: Any = ecs("outer.inner.c", default=None)
    d: Any = ecs("event.d", default=None)
    e: Any = ecs("other.e", default=None)
    f: Any = ecs("f", default=None)


ODD_VALUES: list[Any] = [
    'quote " backslash \\ slash / %s %d %%',
    "\x00\x1f\x7f\u2028 控制 ünï 🛰",
    "<script>alert(1)</script>",
    "",
    0,
    -(2**70),
    True,
    False,
    1.5,
    -0.0,
    1e300,
    1e-7,
    math.inf,
    -math.inf,
    math.nan,
    Colour.RED,
    Level.LOW,
    (1, 2.5, "x"),
    (),
    {"z": 1, "a": [1, {"k": None}], "3": "number-like key"},
    {3: "int keys", 1: "sorted as ints"},
    TcpOutcome.HALF_OPEN,
]


def test_every_shape_of_missing_fields_writes_the_reference_text() -> None:
    names = ("time", "a", "b", "c", "d", "e", "f")
    values: tuple[Any, ...] = (1.5, "ä", 0, Colour.RED, (1, 2), {"z": 1, "a": 2}, False)
    for present in itertools.product((False, True), repeat=len(names)):
        kwargs = {n: v for n, v, keep in zip(names, values, present, strict=True) if keep}
        record = Sample(**kwargs)
        assert to_text(record) == reference(record), kwargs


def test_odd_values_in_every_field_write_the_reference_text() -> None:
    for field, value in itertools.product(("a", "b", "c", "d", "e", "f"), ODD_VALUES):
        record = Sample(time=1_780_000_000.123456, **{field: value})
        assert to_text(record) == reference(record), (field, value)


def test_a_shape_seen_with_one_type_still_writes_other_types_exactly() -> None:
    """Each shape's writer is specialised on the first record's types; later records of the
    same shape with other types must take the general path, not a wrong fast one."""
    for first, later in itertools.permutations(ODD_VALUES[:12], 2):
        for record in (Sample(a=first, e=first), Sample(a=later, e=later)):
            assert to_text(record) == reference(record), (first, later)


def test_records_from_the_scenario_captures_write_the_reference_text() -> None:
    events = list(scenario_events())
    kinds = {type(event).__name__ for event in events}
    assert {"Flow", "DnsQuery", "HttpRequest", "TlsHello"} <= kinds
    beats = [e for e in events if isinstance(e, Flow) and e.beats is not None]
    assert beats, "a flow with beat offsets (a float tuple) is covered"
    assert_same_text(events)


def test_alerts_and_incidents_write_the_reference_text(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "nssa.db") as store:
        replay(SCENARIOS, Settings(), store)
        alerts = store.alerts(AlertQuery(limit=100_000))
        incidents = store.incidents(IncidentQuery(limit=100_000))
    assert len(alerts) >= 5 and len(incidents) >= 3
    assert_same_text([*alerts, *incidents])


@pytest.mark.skipif(not (CORPUS / "logs").is_dir(), reason="needs ../shared/corpus/logs")
def test_log_events_write_the_reference_text() -> None:
    events = [
        event
        for path in sorted((CORPUS / "logs").rglob("*"))
        if path.is_file() and detected_format(path) is not None
        for line in itertools.islice(read_log(path), 2_000)
        for event in line.events
    ]
    assert len({type(event) for event in events}) >= 3
    assert_same_text(events)


def test_ids_hash_the_written_text_and_documents_stay_available() -> None:
    flow = Flow(
        start=1_780_000_000.5,
        end=1_780_000_001.25,
        sensor='edge "1"',
        src_ip="10.0.0.1",
        src_port=40000,
        dst_ip="10.0.0.2",
        dst_port=22,
        transport=Transport.TCP,
        packets_out=3,
        packets_in=0,
        bytes_out=180,
        bytes_in=0,
        outcome=TcpOutcome.UNANSWERED,
        vlan=12,
    )
    before = reference(flow)
    assert (
        flow.id == record_id(flow) == hashlib.blake2b(before.encode(), digest_size=12).hexdigest()
    )
    assert json.loads(before) == cached_document(flow) == flow.to_ecs()
    assert path_value(flow, "network.vlan.id") == 12
    assert path_value(flow, "event.dataset") == "nssa.flow"
    assert path_value(flow, "nssa.flow.beats") is None


def scenario_events() -> Iterable[Any]:
    """Every event the sensor makes from the scenario captures."""
    for path in SCENARIOS:
        table, metadata = FlowTable("text"), MetadataExtractor("text")
        for batch in capture_events(path, table, metadata, CaptureStats()):
            yield from batch


def assert_same_text(records: Iterable[Any]) -> None:
    """Every record's text equals the reference."""
    checked = 0
    for record in records:
        assert to_text(record) == reference(record), record
        checked += 1
    assert checked


def test_document_time_is_the_time_the_document_text_shows() -> None:
    rng = random.Random(7)
    epochs = [rng.uniform(0, 4_102_444_800) for _ in range(20_000)]
    epochs += [rng.randrange(1_700_000_000, 1_800_000_000) + n / 1e6 for n in range(2_000)]
    epochs += [t + 0.5e-6 for t in epochs[:2_000]]  # half a microsecond: rounding ties
    epochs += [0.0, 1e-7, 0.9999995, 0.99999949, 1_780_000_000.9999996, 253402300797.5]
    for epoch in epochs:
        assert document_time(epoch) == parse_time(format_time(epoch)), epoch
