"""The dashboard's reads and edits: the only module that calls the store; it returns typed rows.

Every query takes the ``Viewer`` asking: a unit viewer's limits are applied here, so a page
that forgets them still cannot show another unit's incident.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flask import current_app

from correlator.exceptions import AuditAction, AuditRecord
from correlator.incident import Incident, IncidentStatus, StatusChange
from correlator.lifecycle import move
from correlator.organisation import OrganisationMap
from correlator.storage import AlertQuery, IncidentQuery, Store
from dashboard.auth import signed_in_user
from dashboard.summary import Overview, overview
from dashboard.users import User
from detectors.alert import Alert

MAX_DETAIL_ALERTS = 500
"""Most alerts shown on one incident page; a long scan can have thousands, all alike."""
OVERVIEW_INCIDENTS = 2000
"""Highest-risk incidents the overview is computed from (the store has no aggregations yet)."""


@dataclass(frozen=True)
class Viewer:
    """Who is asking: a name for the audit trail and the unit codes they may see."""

    name: str
    units: frozenset[str] | None  # None: every unit; else these codes and all below them

    def sees(self, incident: Incident) -> bool:
        """Whether this viewer may see ``incident``."""
        return self.units is None or not self.units.isdisjoint(incident.units)


def viewer_for(user: User, organisation: OrganisationMap) -> Viewer:
    """The viewer ``user`` is: a unit viewer sees its units and every unit below them."""
    if not user.units:
        return Viewer(user.name, None)
    below = {
        unit.code
        for unit in organisation.units
        if any(parent.code in user.units for parent in organisation.lineage(unit.code))
    }
    return Viewer(user.name, frozenset(below | set(user.units)))


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


def current_organisation() -> OrganisationMap:
    """The organisation map the running app was created with."""
    organisation: OrganisationMap = current_app.extensions["nssa.organisation"]
    return organisation


def current_viewer() -> Viewer:
    """The signed-in user of this request as a ``Viewer``."""
    return viewer_for(signed_in_user(), current_organisation())


def requested_page(args: Mapping[str, str]) -> int:
    """The 1-based page number in the query string; anything unusable means the first page."""
    text = args.get("page", "1")
    return max(int(text), 1) if text.isdecimal() else 1


def recent_incidents(store: Store, viewer: Viewer, page: int, per_page: int) -> IncidentPage:
    """Incidents ``viewer`` may see on ``page`` (1-based) of ``per_page``, highest risk first."""
    offset = (page - 1) * per_page
    # One row more than the page tells whether a next page exists without counting.
    rows = _visible(store, viewer, per_page + 1, offset)
    return IncidentPage(tuple(rows[:per_page]), page, per_page, len(rows) > per_page)


def incident_detail(store: Store, viewer: Viewer, incident_id: str) -> IncidentDetail | None:
    """The incident with its alerts, or None when the id is unknown or not ``viewer``'s."""
    incident = store.incident(incident_id)
    # Another unit's incident looks exactly like a missing one: its id reveals nothing.
    if incident is None or not viewer.sees(incident):
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


def posture_overview(store: Store, viewer: Viewer, organisation: OrganisationMap) -> Overview:
    """The posture overview of what ``viewer`` may see, ending at the newest activity."""
    incidents = _visible(store, viewer, OVERVIEW_INCIDENTS, 0)
    # Anchored on the data, not the clock, so a replayed capture shows its own day.
    until = max((i.last_seen for i in incidents), default=0.0) + 1
    return overview(incidents, organisation, units=viewer.units, until=until)


def assign(store: Store, viewer: Viewer, incident_id: str, assignee: str, now: float) -> bool:
    """Assign the incident to ``assignee``; False when ``viewer`` cannot see it."""
    return _edit(
        store,
        viewer,
        incident_id,
        lambda i: dataclasses.replace(
            i, assignee=assignee, history=(*i.history, _step(viewer, i, now, f"→ {assignee}"))
        ),
        AuditRecord(
            time=now,
            who=viewer.name,
            action=AuditAction.INCIDENT_ASSIGNED,
            exception_id=incident_id,
            detail=f"assigned to {assignee}",
        ),
    )


def change_status(
    store: Store, viewer: Viewer, incident_id: str, new: IncidentStatus, note: str, now: float
) -> bool:
    """Move the incident to ``new`` (LifecycleError if not allowed); False if not visible."""
    return _edit(
        store,
        viewer,
        incident_id,
        lambda i: move(i, new, who=viewer.name, when=now, note=note),
        AuditRecord(
            time=now,
            who=viewer.name,
            action=AuditAction.INCIDENT_STATUS,
            exception_id=incident_id,
            detail=f"status → {new.value}: {note}",
        ),
    )


def add_note(store: Store, viewer: Viewer, incident_id: str, note: str, now: float) -> bool:
    """Append an analyst's note to the incident's history; False when not visible."""
    return _edit(
        store,
        viewer,
        incident_id,
        lambda i: dataclasses.replace(i, history=(*i.history, _step(viewer, i, now, note))),
        AuditRecord(
            time=now,
            who=viewer.name,
            action=AuditAction.INCIDENT_NOTE,
            exception_id=incident_id,
            detail=note,
        ),
    )


def _step(viewer: Viewer, incident: Incident, now: float, note: str) -> StatusChange:
    """A history step that keeps the status (an assignment or a note)."""
    return StatusChange(
        who=viewer.name, when=now, old=incident.status, new=incident.status, note=note
    )


def _edit(
    store: Store,
    viewer: Viewer,
    incident_id: str,
    change: Callable[[Incident], Incident],
    audit: AuditRecord,
) -> bool:
    def scoped(incident: Incident) -> Incident:
        # Checked inside the edit, on the version being changed, not on an earlier read.
        if not viewer.sees(incident):
            raise _NotVisibleError(incident_id)
        return change(incident)

    try:
        return store.edit_incident(incident_id, scoped, audit) is not None
    except _NotVisibleError:
        return False


class _NotVisibleError(LookupError):
    """The incident is outside the viewer's units: treated as missing."""


def _visible(store: Store, viewer: Viewer, limit: int, offset: int) -> list[Incident]:
    """Up to ``limit`` incidents ``viewer`` may see after skipping ``offset``, by rank."""
    if viewer.units is None:
        return store.incidents(IncidentQuery(limit=limit, offset=offset))
    # One query per unit code, merged in the store's order; an incident in two units once.
    merged: dict[str, Incident] = {}
    for code in sorted(viewer.units):
        for incident in store.incidents(IncidentQuery(unit=code, limit=limit + offset)):
            merged[incident.id] = incident
    ranked = sorted(merged.values(), key=lambda i: (-i.risk_score, -i.last_seen, i.id))
    return ranked[offset : offset + limit]
