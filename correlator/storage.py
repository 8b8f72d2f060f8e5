"""The ``Store`` protocol every store implements, and the queries it answers.

Stores live in the application package (embedded SQLite, Elasticsearch); the dashboard and the
pipeline only see this protocol. Writes are idempotent: records are keyed by their ids.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from correlator.exceptions import AlertException, AlertMark, AuditRecord
from correlator.incident import Incident, IncidentStatus
from detectors.alert import Alert
from sensors.events import Event


@dataclass(frozen=True, kw_only=True)
class AlertQuery:
    """Which alerts to return: every given filter must hold; newest first."""

    ids: tuple[str, ...] | None = None
    source_ip: str | None = None
    destination_ip: str | None = None
    detector: str | None = None
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
    since: float | None = None
    until: float | None = None
    limit: int = 1000
    offset: int = 0


@dataclass(frozen=True, kw_only=True)
class AlertPage:
    """Alerts in the order they were stored, and the position after the last of them."""

    alerts: list[Alert]
    position: str | None  # opaque; pass it back to read on; None when nothing was ever read


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

    def audit_records(self, limit: int = 1000) -> list[AuditRecord]:
        """Audit records of exception changes, newest first."""
        ...

    def mark_alerts(self, marks: Sequence[AlertMark]) -> int:
        """Record that exceptions hide these alerts (idempotent); return how many were given."""
        ...

    def alert_marks(self, alert_ids: Sequence[str]) -> list[AlertMark]:
        """The marks of these alerts, by alert id then exception id."""
        ...

    def count_events(self) -> int:
        """Return how many events are stored."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...
