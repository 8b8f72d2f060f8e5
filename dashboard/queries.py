"""The dashboard's reads: the only module that calls the store; it returns typed rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flask import current_app

from correlator.incident import Incident
from correlator.storage import AlertQuery, IncidentQuery, Store
from detectors.alert import Alert

MAX_DETAIL_ALERTS = 500
"""Most alerts shown on one incident page; a long scan can have thousands, all alike."""


@dataclass(frozen=True)
class IncidentPage:
    """One page of incidents, highest risk first."""

    incidents: tuple[Incident, ...]
    page: int
    per_page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        """Whether a page comes before this one."""
        return self.page > 1


@dataclass(frozen=True)
class IncidentDetail:
    """An incident with the alerts it groups, newest first."""

    incident: Incident
    alerts: tuple[Alert, ...]


def current_store() -> Store:
    """The store the running app was created with."""
    store: Store = current_app.extensions["nssa.store"]
    return store


def requested_page(args: Mapping[str, str]) -> int:
    """The 1-based page number in the query string; anything unusable means the first page."""
    text = args.get("page", "1")
    return max(int(text), 1) if text.isdecimal() else 1


def recent_incidents(store: Store, page: int, per_page: int) -> IncidentPage:
    """Incidents on ``page`` (1-based) of ``per_page`` each, highest risk first."""
    offset = (page - 1) * per_page
    # One row more than the page tells whether a next page exists without counting.
    rows = store.incidents(IncidentQuery(limit=per_page + 1, offset=offset))
    return IncidentPage(tuple(rows[:per_page]), page, per_page, len(rows) > per_page)


def incident_detail(store: Store, incident_id: str) -> IncidentDetail | None:
    """The incident ``incident_id`` with its alerts, or None when the id is unknown."""
    incident = store.incident(incident_id)
    if incident is None:
        return None
    alerts: list[Alert] = []
    if incident.alert_ids:
        query = AlertQuery(ids=incident.alert_ids, limit=MAX_DETAIL_ALERTS)
        alerts = store.alerts(query)
    return IncidentDetail(incident, tuple(alerts))


def store_is_readable(store: Store) -> bool:
    """Whether the store answers a minimal query (for the health check)."""
    try:
        store.incidents(IncidentQuery(limit=1))
    # The protocol names no error type (StoreError lives in the application): any failure
    # of whichever store is behind it means unhealthy.
    except Exception:
        return False
    return True
