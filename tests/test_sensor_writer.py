"""The sensor's store writer: capture never waits on the store, and nothing is lost silently.

A slow store is a real SQLite store whose writes wait at a gate the test opens; a store that
is down is an Elasticsearch store on a port nobody listens on. Flows are real ones, from a
capture. Synchronisation is by events and joins, never by sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from nssa.pipeline import capture_flows
from nssa.store_writer import StoreWriter, WriteKind
from nssa.stores.elasticsearch import ElasticsearchStore
from nssa.stores.spool import Spool, SpoolingStore
from nssa.stores.sqlite import SqliteStore
from sensors.capture import CaptureStats
from sensors.events import Event, Flow
from sensors.flows import FlowTable

CAPTURE = Path(__file__).resolve().parents[1] / "pcaps" / "recon_scan.pcap"
BATCH = 40


class GatedStore(SqliteStore):
    """A SQLite store whose event writes wait until the test opens the gate."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.entered = threading.Event()
        self.gate = threading.Event()

    def put_events(self, events: Sequence[Event]) -> int:
        """Say a write has started, wait for the gate, then write for real."""
        self.entered.set()
        assert self.gate.wait(timeout=60), "the test never opened the gate"
        return super().put_events(events)


@pytest.fixture(scope="module")
def flows() -> list[Flow]:
    found = [f for b in capture_flows(CAPTURE, FlowTable("writer"), CaptureStats()) for f in b]
    assert len(found) >= 6 * BATCH
    return found[: 6 * BATCH]


def _batches(flows: list[Flow]) -> list[list[Flow]]:
    return [flows[n : n + BATCH] for n in range(0, len(flows), BATCH)]


def _stored_ids(path: Path) -> list[str]:
    with SqliteStore(path) as store:
        return [event.id for event in store.events(limit=100_000)]


def test_a_slow_store_spools_the_overflow_and_replays_it_once(
    tmp_path: Path, flows: list[Flow]
) -> None:
    gated = GatedStore(tmp_path / "slow.db")
    spool = Spool(tmp_path / "spool", max_bytes=2**24)
    writer = StoreWriter(SpoolingStore(gated, spool), capacity=3 * BATCH)
    first, *rest = _batches(flows)
    writer.put(WriteKind.EVENTS, first)
    assert gated.entered.wait(timeout=60)  # the writer is stuck in the store with batch one
    for batch in [*rest, first]:  # three queue up, the last three (one a repeat) go aside
        writer.put(WriteKind.EVENTS, batch)
    assert writer.stats.queued == 3 * BATCH
    gated.gate.set()
    stats = writer.close()
    assert stats.spooled == 3 * BATCH and stats.dropped == 0
    assert stats.events == 4 * BATCH
    assert not spool.has_pending()
    stored = _stored_ids(tmp_path / "slow.db")
    assert sorted(stored) == sorted({f.id for f in flows})  # each flow once, none missing
    gated.close()


def test_a_store_that_is_down_keeps_everything_in_the_spool_until_it_returns(
    tmp_path: Path, flows: list[Flow], unreachable: ElasticsearchStore
) -> None:
    spool_dir = tmp_path / "spool"
    writer = StoreWriter(SpoolingStore(unreachable, Spool(spool_dir, max_bytes=2**24)), 16 * BATCH)
    batches = _batches(flows)
    for batch in [*batches, batches[0]]:
        writer.put(WriteKind.EVENTS, batch)
    stats = writer.close()  # its final replay fails: the batches stay on disk
    assert stats.dropped == 0
    assert Spool(spool_dir, max_bytes=2**24).pending() >= 1
    back = SqliteStore(tmp_path / "back.db")
    returned = SpoolingStore(back, Spool(spool_dir, max_bytes=2**24))
    later = StoreWriter(returned, BATCH)
    later.put(WriteKind.EVENTS, flows[:1])  # the next write replays the spool first
    later.close()
    assert not returned.spool.has_pending()
    back.close()
    assert sorted(_stored_ids(tmp_path / "back.db")) == sorted({f.id for f in flows})


def test_without_a_spool_overflow_is_counted_as_dropped_not_lost_silently(
    tmp_path: Path, flows: list[Flow]
) -> None:
    gated = GatedStore(tmp_path / "slow.db")
    writer = StoreWriter(gated, capacity=BATCH)
    first, second, third, fourth, *_ = _batches(flows)
    writer.put(WriteKind.EVENTS, first)
    assert gated.entered.wait(timeout=60)
    for batch in (second, third, fourth):  # one queued, one aside, one beyond both
        writer.put(WriteKind.EVENTS, batch)
    gated.gate.set()
    stats = writer.close()
    assert stats.dropped == 2 * BATCH and stats.spooled == 0
    assert stats.events == 2 * BATCH
    assert sorted(_stored_ids(tmp_path / "slow.db")) == sorted(f.id for f in first + second)
    gated.close()


def test_once_capture_stops_a_burst_beyond_the_queue_waits_and_is_stored_whole(
    tmp_path: Path, flows: list[Flow]
) -> None:
    """The final flush of open flows comes after the last packet: nothing is gained by
    dropping or spooling it, so after ``drain`` puts wait for room instead."""
    gated = GatedStore(tmp_path / "slow.db")
    writer = StoreWriter(gated, capacity=BATCH)  # no spool: without drain this drops
    first, *rest = _batches(flows)
    writer.put(WriteKind.EVENTS, first)
    assert gated.entered.wait(timeout=60)
    writer.drain()

    def produce() -> None:
        for batch in rest:
            writer.put(WriteKind.EVENTS, batch)

    producer = threading.Thread(target=produce)
    producer.start()
    gated.gate.set()
    producer.join(timeout=60)
    assert not producer.is_alive()
    stats = writer.close()
    assert (stats.dropped, stats.spooled, stats.events) == (0, 0, len(flows))
    assert sorted(_stored_ids(tmp_path / "slow.db")) == sorted(f.id for f in flows)
    gated.close()
