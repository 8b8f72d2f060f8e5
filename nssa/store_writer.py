"""The sensor's store writer: flows and alerts reach the store from a thread of their own.

Capture and detection hand batches over and go on; they never wait on the store. The queue
is bounded in records: batches beyond it are set aside and, before its next store write, the writer
spools them on disk when the store has a spool (``[store] spool_dir``) or counts them as
queue drops and logs them when it has none. Spooled batches are replayed, in order, before
the next write reaches the store (and at close). Every record has a deterministic id, so a
batch that is replayed after a partial failure overwrites itself: nothing arrives twice.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from correlator.storage import Store
from detectors.alert import Alert
from nssa.errors import StoreError
from nssa.stores.spool import SpoolingStore
from sensors.events import Event

log = logging.getLogger("nssa.sensor.writer")


class WriteKind(enum.Enum):
    """What a batch holds (the spool's record kinds)."""

    EVENTS = "events"
    ALERTS = "alerts"


Records = Sequence[Event] | Sequence[Alert]


@dataclass
class WriterStats:
    """What the writer stored, spooled and had to drop (records, not batches)."""

    events: int = 0  # events written to the store (or spooled by the store while it was down)
    alerts: int = 0
    spooled: int = 0  # records the writer spooled because its queue was full
    dropped: int = 0  # records lost: queue full without a spool, spool full, or store failed
    queued: int = 0  # records waiting now
    cpu_seconds: float = 0.0  # the writer thread's CPU time, known once it has stopped


@dataclass(frozen=True)
class _Batch:
    kind: WriteKind
    records: Records


class StoreWriter:
    """A thread writing batches to ``store``; :meth:`put` never blocks on the store.

    ``capacity`` is in records (events or alerts): it bounds the memory batches take while
    the store is slow, whatever the size of the capture batches they came from."""

    def __init__(self, store: Store, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity: must be at least 1")
        self.store = store
        self.capacity = capacity
        self.stats = WriterStats()
        self._spool = store if isinstance(store, SpoolingStore) else None
        self._queue: deque[_Batch] = deque()
        self._aside: deque[_Batch] = deque()  # over capacity: spooled (or dropped) next
        self._aside_records = 0
        self._changed = threading.Condition()
        self._closing = False
        self._draining = False
        self._thread = threading.Thread(target=self._run, name="nssa-store-writer", daemon=True)
        self._thread.start()

    def put(self, kind: WriteKind, records: Records) -> None:
        """Hand a batch over; queued, or set aside for the spool when the queue is full."""
        if not records:
            return
        batch = _Batch(kind, records)
        with self._changed:
            if self._closing:
                raise RuntimeError("the store writer is closed")
            while self._draining and self.stats.queued + len(records) > self.capacity:
                if not self._queue:
                    break
                self._changed.wait()  # capture has stopped: waiting for room loses nothing
            if self.stats.queued + len(records) <= self.capacity or not self._queue:
                self._queue.append(batch)
                self.stats.queued += len(records)
            elif self._aside_records + len(records) <= self.capacity or not self._aside:
                self._aside.append(batch)
                self._aside_records += len(records)
            else:
                # The writer is stuck in one store call for a while: keep memory bounded.
                self.stats.dropped += len(records)
                log.warning("store writer far behind: dropped %d %s", len(records), kind.value)
            self._changed.notify()

    def drain(self) -> None:
        """Capture has stopped: from now on :meth:`put` waits for room instead of spooling
        or dropping, so the final flush of open flows (a burst) reaches the store whole."""
        with self._changed:
            self._draining = True

    def close(self) -> WriterStats:
        """Write everything queued, replay what was spooled, stop the thread; the totals."""
        with self._changed:
            self._closing = True
            self._changed.notify()
        self._thread.join()
        if self._spool is not None and self._spool.spool.has_pending():
            try:
                self._spool.replay()
            except StoreError as exc:
                log.error("spooled batches stay on disk for the next start: %s", exc)
        return self.stats

    def _run(self) -> None:
        while True:
            with self._changed:
                while not (self._queue or self._aside or self._closing):
                    self._changed.wait()
                aside = list(self._aside)
                self._aside.clear()
                self._aside_records = 0
                batch = self._queue.popleft() if self._queue else None
                self.stats.queued -= len(batch.records) if batch is not None else 0
                self._changed.notify_all()  # room in the queue for a waiting put (drain)
                if batch is None and not aside and self._closing:
                    self.stats.cpu_seconds = time.thread_time()
                    return
            for extra in aside:
                self._set_aside(extra)
            if batch is not None:
                self._write(batch)

    def _set_aside(self, batch: _Batch) -> None:
        """Spool a batch the queue had no room for; without a spool, count it and say so."""
        count = len(batch.records)
        if self._spool is None:
            self._dropped(count)
            log.warning(
                "store writer behind and no spool_dir: dropped %d %s", count, batch.kind.value
            )
            return
        try:
            self.stats.spooled += self._spool.put_aside(batch.kind.value, batch.records)
        except StoreError as exc:
            self._dropped(count)
            log.error("could not spool %d %s: %s", count, batch.kind.value, exc)

    def _dropped(self, count: int) -> None:
        with self._changed:  # put() counts its drops too, from the producing thread
            self.stats.dropped += count

    def _write(self, batch: _Batch) -> None:
        try:
            if batch.kind is WriteKind.EVENTS:
                self.stats.events += self.store.put_events(batch.records)  # type: ignore[arg-type]
            else:
                self.stats.alerts += self.store.put_alerts(batch.records)  # type: ignore[arg-type]
        except StoreError as exc:
            # A store without a spool is down (or a spool is full): the batch is lost, loudly.
            self._dropped(len(batch.records))
            log.error(
                "store write failed, %d %s lost: %s", len(batch.records), batch.kind.value, exc
            )
