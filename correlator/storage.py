"""The ``Store`` protocol every store implements, and the queries it answers.

Stores live in the application package (embedded SQLite, Elasticsearch); the dashboard and the
pipeline only see this protocol. Writes are idempotent: records are keyed by their ids.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from correlator.accounts import Account
from correlator.aggregation import (
    AlertAggregation,
    AlertStats,
    Count,
    IncidentAggregation,
    IncidentStats,
)
from correlator.exceptions import AlertException, AlertMark, AuditRecord
from correlator.incident import Incident, IncidentStatus
from correlator.sensor_activity import SensorActivity, SensorActivityRequest
from detectors.alert import Alert
from sensors.capturefiles import CaptureFile, CaptureQuery
from sensors.events import Event


@dataclass(frozen=True, kw_only=True)
class AlertQuery:
    """Which alerts to return: every given filter must hold; newest first."""

    ids: tuple[str, ...] | None = None
    source_ip: str | None = None
    destination_ip: str | None = None
    detector: str | None = None
    rule: str | None = None
    since: float | None = None
    until: float | None = None
    limit: int = 1000
    offset: int = 0


@dataclass(frozen=True, kw_only=True)
class IncidentQuery:
    """Which incidents to return: every given filter must hold; highest risk first."""

    status: IncidentStatus | None = None
    unit: str | None = None
    attacker: str | None = None
    # False: only incidents standing alone; True: only those another incident absorbed.
    superseded: bool | None = None
    since: float | None = None
    until: float | None = None
    limit: int = 1000
    offset: int = 0


@dataclass(frozen=True, kw_only=True)
class AlertPage:
    """Alerts in the order they were stored, and the position after the last of them."""

    alerts: list[Alert]
    position: str | None  # opaque; pass it back to read on; None when nothing was ever read


@dataclass(frozen=True, kw_only=True)
class Lease:
    """Who may act alone under a name (the one incident writer), and until when."""

    holder: str
    expires: float  # epoch seconds; after this another holder may take it

    def encode(self) -> str:
        """The lease as one string, kept where reader positions are kept."""
        return f"{self.expires!r}|{self.holder}"

    @classmethod
    def decode(cls, text: str) -> Lease | None:
        """A lease from ``encode``'s string; None when the text is not one."""
        expires, sep, holder = text.partition("|")
        try:
            return cls(holder=holder, expires=float(expires)) if sep and holder else None
        except ValueError:
            return None

    def granted(self, holder: str, now: float) -> bool:
        """Whether ``holder`` may take or renew this lease at ``now``."""
        return self.holder == holder or self.expires <= now


class Store(Protocol):
    """Where events, alerts and incidents are kept (embedded SQLite or Elasticsearch)."""

    def put_events(self, events: Sequence[Event]) -> int:
        """Store events by id (overwriting same-id documents); return how many were written."""
        ...

    def put_alerts(self, alerts: Sequence[Alert]) -> int:
        """Store alerts by id; return how many were written."""
        ...

    def put_incidents(self, incidents: Sequence[Incident]) -> int:
        """Store incidents by id, replacing older versions; return how many were written."""
        ...

    def alerts(self, query: AlertQuery) -> list[Alert]:
        """Return the alerts matching ``query``."""
        ...

    def incidents(self, query: IncidentQuery) -> list[Incident]:
        """Return the incidents matching ``query``."""
        ...

    def incident_alert_ids(self, query: IncidentQuery) -> tuple[str, ...]:
        """The alert ids of the incidents matching ``query`` (its limit and offset hold), once
        each and sorted: what ``incidents`` would list, without reading whole incidents."""
        ...

    def incident(self, incident_id: str) -> Incident | None:
        """Return one incident, or None when the id is unknown."""
        ...

    def alerts_after(self, position: str | None, limit: int) -> AlertPage:
        """Alerts stored after ``position`` (None: from the start), in storage order.

        Reading on from the returned position neither skips nor repeats an alert, even one
        that became visible later than alerts stored after it (see each store's notes).
        """
        ...

    def cursor(self, name: str) -> str | None:
        """The position a reader named ``name`` saved, or None."""
        ...

    def put_cursor(self, name: str, position: str) -> None:
        """Save a reader's position durably."""
        ...

    def take_lease(self, name: str, holder: str, now: float, seconds: float) -> Lease:
        """Atomically take or renew lease ``name`` for ``holder`` unless another holds it.

        Returns the lease in force afterwards: ``holder``'s when granted, else the other's.
        """
        ...

    def put_exception(self, exception: AlertException, audit: AuditRecord) -> None:
        """Save an exception (replacing the same id) and append its audit record, together."""
        ...

    def edit_incident(
        self, incident_id: str, change: Callable[[Incident], Incident], audit: AuditRecord
    ) -> Incident | None:
        """Apply an analyst's ``change`` to the stored incident without losing a concurrent
        save, and append ``audit``; None when the id is unknown. ``change`` may raise."""
        ...

    def exceptions(self) -> list[AlertException]:
        """Every exception, newest first (expired ones too: they explain past marks)."""
        ...

    def put_audit(self, audit: AuditRecord) -> None:
        """Append one audit record on its own (a sign-in); the same record twice is one."""
        ...

    def audit_records(self, limit: int = 1000) -> list[AuditRecord]:
        """Audit records of exception changes, newest first."""
        ...

    def put_user(self, account: Account, audit: AuditRecord) -> None:
        """Save an account by name (replacing the same name) and append its audit record."""
        ...

    def user(self, name: str) -> Account | None:
        """The account named ``name``, or None."""
        ...

    def users(self) -> list[Account]:
        """Every account (disabled ones too), by name."""
        ...

    def mark_alerts(self, marks: Sequence[AlertMark]) -> int:
        """Record that exceptions hide these alerts (idempotent); return how many were given."""
        ...

    def alert_marks(self, alert_ids: Sequence[str]) -> list[AlertMark]:
        """The marks of these alerts, by alert id then exception id."""
        ...

    def mark_counts(self, exception_ids: Sequence[str]) -> tuple[Count, ...]:
        """How many alerts each of these exceptions marks, most first (unmarked ones left out)."""
        ...

    def count_events(self) -> int:
        """Return how many events are stored."""
        ...

    def events_by_id(self, ids: Sequence[str]) -> list[Event]:
        """The stored events with these ids (unknown ids are left out), in no set order."""
        ...

    def put_captures(self, captures: Sequence[CaptureFile]) -> int:
        """Register capture files by id (the same file again is one record); return how many."""
        ...

    def captures(self, query: CaptureQuery) -> list[CaptureFile]:
        """The registered capture files matching ``query``, oldest first."""
        ...

    def incident_stats(self, request: IncidentAggregation) -> IncidentStats:
        """Count the incidents ``request`` selects in the store (no incident list comes back
        except each scope's few worst)."""
        ...

    def alert_stats(self, request: AlertAggregation) -> AlertStats:
        """Count the alerts ``request`` selects in the store."""
        ...

    def sensor_activity(self, request: SensorActivityRequest) -> tuple[SensorActivity, ...]:
        """Each sensor with an event since ``request.since``: its newest event time and its
        events since ``request.recent``, by sensor name."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...
