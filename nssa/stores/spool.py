"""A bounded on-disk spool: writes wait here while the store is unreachable, then go in order.

The spool is one append-only file of JSON lines, one batch per line, each fsync'd before the
writer is told it is kept, and a position file saying how far delivery has got. Replay sends
batches in order and moves the position after each one; when the store fails mid-replay, the
position stays and the batch is sent again later. That repeat is harmless: every record has a
deterministic id, so a re-sent batch overwrites itself and nothing arrives twice.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from correlator.accounts import Account
from correlator.aggregation import (
    AlertAggregation,
    AlertStats,
    Count,
    IncidentAggregation,
    IncidentStats,
)
from correlator.exceptions import AlertException, AlertMark, AuditRecord
from correlator.incident import Incident
from correlator.sensor_activity import SensorActivity, SensorActivityRequest
from correlator.storage import AlertPage, AlertQuery, IncidentQuery, Lease, Store
from detectors.alert import Alert
from nssa.errors import SpoolFullError, StoreError, StoreUnavailableError
from sensors.capturefiles import CaptureFile, CaptureQuery
from sensors.ecs import cached_json
from sensors.events import Event, event_from_document

log = logging.getLogger("nssa.spool")

R = TypeVar("R", Event, Alert, Incident)

_DECODERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "events": event_from_document,
    "alerts": Alert.from_ecs,
    "incidents": Incident.from_ecs,
}


class Spool:
    """Batches of records waiting for the store, kept in order in ``directory``."""

    def __init__(self, directory: Path, *, max_bytes: int, warn_ratio: float = 0.8) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.warn_ratio = warn_ratio
        self._file = directory / "spool.jsonl"
        self._position_file = directory / "spool.pos"
        self._warned = False
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._file.touch()
        except OSError as exc:
            raise StoreError(f"{directory}: cannot create the spool: {exc.strerror}") from exc
        _sync_directory(directory)

    def append(self, kind: str, docs: Sequence[dict[str, Any] | str]) -> None:
        """Keep one batch of ECS documents (or their JSON text) durably; SpoolFullError when
        over the cap."""
        texts = (
            doc if isinstance(doc, str) else json.dumps(doc, ensure_ascii=False) for doc in docs
        )
        line = '{"kind":' + json.dumps(kind) + ',"docs":[' + ",".join(texts) + "]}\n"
        data = line.encode("utf-8")
        size = self.size_bytes()
        if size + len(data) > self.max_bytes:
            raise SpoolFullError(
                f"{self.directory}: spool full ({size} of {self.max_bytes} bytes); a batch of"
                f" {len(docs)} {kind} was not kept: bring the store back or raise spool_max_bytes"
            )
        with self._file.open("ab") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        self._warn_if_nearly_full(size + len(data))

    def size_bytes(self) -> int:
        """Bytes on disk, delivered batches included until the spool drains."""
        return self._file.stat().st_size

    def has_pending(self) -> bool:
        """Whether anything waits for delivery (cheap: no reading)."""
        return self._position() < self.size_bytes()

    def pending(self) -> int:
        """How many batches are waiting."""
        with self._file.open("rb") as handle:
            handle.seek(self._position())
            return sum(1 for line in handle if line.endswith(b"\n"))

    def replay(self, deliver: Callable[[str, list[Any]], None]) -> int:
        """Deliver waiting batches in order; return how many. Stops at the first failure."""
        delivered = 0
        position = self._position()
        with self._file.open("rb") as handle:
            handle.seek(position)
            for line in handle:
                if not line.endswith(b"\n"):
                    # Torn by a crash mid-append: its writer was never told it was kept.
                    self._truncate(position)
                    break
                batch = json.loads(line)
                decode = _DECODERS[batch["kind"]]
                deliver(batch["kind"], [decode(doc) for doc in batch["docs"]])
                position += len(line)
                self._set_position(position)
                delivered += 1
        if position >= self.size_bytes():
            self._drain()
        return delivered

    def _position(self) -> int:
        try:
            position = int(self._position_file.read_text() or 0)
        except (OSError, ValueError):
            return 0
        # Beyond the end: the file was truncated after a full replay but before the reset.
        return position if position <= self.size_bytes() else 0

    def _set_position(self, position: int) -> None:
        partial = self._position_file.with_suffix(".partial")
        with partial.open("w") as handle:
            handle.write(str(position))
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(self._position_file)
        _sync_directory(self.directory)

    def _drain(self) -> None:
        """Everything is delivered: empty the file, then reset the position."""
        self._truncate(0)
        self._set_position(0)
        self._warned = False

    def _truncate(self, size: int) -> None:
        with self._file.open("r+b") as handle:
            handle.truncate(size)
            os.fsync(handle.fileno())

    def _warn_if_nearly_full(self, size: int) -> None:
        if size >= self.warn_ratio * self.max_bytes and not self._warned:
            self._warned = True
            log.warning(
                "%s: spool %.0f%% full (%d of %d bytes); the store has been unreachable a while",
                self.directory,
                100 * size / self.max_bytes,
                size,
                self.max_bytes,
            )


class SpoolingStore:
    """A store whose writes go to a spool while it is unreachable, and in order once it is back.

    Once anything is spooled, new writes queue behind it until replay catches up, so records
    arrive in the order they were written. Reads go straight to the store.
    """

    def __init__(self, store: Store, spool: Spool) -> None:
        self.store = store
        self.spool = spool
        self._lock = threading.Lock()

    def put_events(self, events: Sequence[Event]) -> int:
        """Store events by id, or spool them while the store is unreachable."""
        return self._put("events", events)

    def put_alerts(self, alerts: Sequence[Alert]) -> int:
        """Store alerts by id, or spool them while the store is unreachable."""
        return self._put("alerts", alerts)

    def put_incidents(self, incidents: Sequence[Incident]) -> int:
        """Store incidents by id, or spool them while the store is unreachable."""
        return self._put("incidents", incidents)

    def put_aside(self, kind: str, records: Sequence[Event] | Sequence[Alert]) -> int:
        """Spool a batch without trying the store (its writer is behind); replayed in turn."""
        unique = {record.id: record for record in records}
        with self._lock:
            self.spool.append(kind, _documents(kind, unique.values()))
        return len(unique)

    def replay(self) -> int:
        """Send spooled batches to the store in order; StoreUnavailableError if it fails again."""
        with self._lock:
            return self.spool.replay(self._deliver)

    def alerts(self, query: AlertQuery) -> list[Alert]:
        """Return the alerts matching ``query`` (from the store; spooled ones are not seen)."""
        return self.store.alerts(query)

    def incidents(self, query: IncidentQuery) -> list[Incident]:
        """Return the incidents matching ``query`` (from the store)."""
        return self.store.incidents(query)

    def incident_alert_ids(self, query: IncidentQuery) -> tuple[str, ...]:
        """The alert ids of the incidents matching ``query`` (from the store)."""
        return self.store.incident_alert_ids(query)

    def incident(self, incident_id: str) -> Incident | None:
        """Return one incident from the store, or None when the id is unknown."""
        return self.store.incident(incident_id)

    def count_events(self) -> int:
        """Return how many events the store holds."""
        return self.store.count_events()

    def incident_stats(self, request: IncidentAggregation) -> IncidentStats:
        """Incident figures (from the store)."""
        return self.store.incident_stats(request)

    def alert_stats(self, request: AlertAggregation) -> AlertStats:
        """Alert figures (from the store)."""
        return self.store.alert_stats(request)

    def sensor_activity(self, request: SensorActivityRequest) -> tuple[SensorActivity, ...]:
        """Sensor activity (from the store: spooled events are not counted until sent)."""
        return self.store.sensor_activity(request)

    # Exceptions, marks and cursors are written by analysts and the central correlator, not
    # by edge sensors: they go straight to the store, unspooled, and fail when it is down.

    def alerts_after(self, position: str | None, limit: int) -> AlertPage:
        """Alerts stored after ``position``, in storage order (from the store)."""
        return self.store.alerts_after(position, limit)

    def cursor(self, name: str) -> str | None:
        """A reader's saved position (from the store)."""
        return self.store.cursor(name)

    def put_cursor(self, name: str, position: str) -> None:
        """Save a reader's position in the store."""
        self.store.put_cursor(name, position)

    def take_lease(self, name: str, holder: str, now: float, seconds: float) -> Lease:
        """Take or renew a lease in the store (never spooled: a lease must be decided now)."""
        return self.store.take_lease(name, holder, now, seconds)

    def put_exception(self, exception: AlertException, audit: AuditRecord) -> None:
        """Save an exception and its audit record in the store."""
        self.store.put_exception(exception, audit)

    def edit_incident(
        self, incident_id: str, change: Callable[[Incident], Incident], audit: AuditRecord
    ) -> Incident | None:
        """Edit an incident in the store (analysts' edits are not spooled)."""
        return self.store.edit_incident(incident_id, change, audit)

    def put_user(self, account: Account, audit: AuditRecord) -> None:
        """Save an account and its audit record in the store (accounts are not spooled)."""
        self.store.put_user(account, audit)

    def user(self, name: str) -> Account | None:
        """The account named ``name`` (from the store)."""
        return self.store.user(name)

    def users(self) -> list[Account]:
        """Every account (from the store)."""
        return self.store.users()

    def exceptions(self) -> list[AlertException]:
        """Every exception (from the store)."""
        return self.store.exceptions()

    def put_audit(self, audit: AuditRecord) -> None:
        """Append an audit record in the store (not spooled: the trail must be written now)."""
        self.store.put_audit(audit)

    def audit_records(self, limit: int = 1000) -> list[AuditRecord]:
        """Audit records, newest first (from the store)."""
        return self.store.audit_records(limit)

    def mark_alerts(self, marks: Sequence[AlertMark]) -> int:
        """Record alert marks in the store."""
        return self.store.mark_alerts(marks)

    def alert_marks(self, alert_ids: Sequence[str]) -> list[AlertMark]:
        """The marks of these alerts (from the store)."""
        return self.store.alert_marks(alert_ids)

    def mark_counts(self, exception_ids: Sequence[str]) -> tuple[Count, ...]:
        """How many alerts each exception marks (from the store)."""
        return self.store.mark_counts(exception_ids)

    def events_by_id(self, ids: Sequence[str]) -> list[Event]:
        """Stored events by id (from the store; spooled ones are not seen)."""
        return self.store.events_by_id(ids)

    def put_captures(self, captures: Sequence[CaptureFile]) -> int:
        """Register capture files in the store (not spooled: rare, small, and a file kept
        unregistered only loses its packets' download link)."""
        return self.store.put_captures(captures)

    def captures(self, query: CaptureQuery) -> list[CaptureFile]:
        """Registered capture files (from the store)."""
        return self.store.captures(query)

    def close(self) -> None:
        """Close the store; spooled batches stay on disk for the next start."""
        self.store.close()

    def _put(self, kind: str, records: Sequence[R]) -> int:
        unique = {record.id: record for record in records}
        with self._lock:
            try:
                if self.spool.has_pending():
                    self.spool.replay(self._deliver)
                self._deliver(kind, list(unique.values()))
            except StoreUnavailableError as exc:
                log.warning("store unreachable, spooling %d %s: %s", len(unique), kind, exc)
                self.spool.append(kind, _documents(kind, unique.values()))
        return len(unique)

    def _deliver(self, kind: str, records: list[Any]) -> None:
        if kind == "events":
            self.store.put_events(records)
        elif kind == "alerts":
            self.store.put_alerts(records)
        else:
            self.store.put_incidents(records)


def _documents(kind: str, records: Iterable[Any]) -> list[dict[str, Any] | str]:
    """What the spool keeps of each record: an event's JSON text (already written for its
    id), the document of alerts and incidents (which add derived fields to it)."""
    if kind == "events":
        return [cached_json(record) for record in records]
    return [record.to_ecs() for record in records]


def _sync_directory(directory: Path) -> None:
    """Make a file's creation or rename durable, not only its contents."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
