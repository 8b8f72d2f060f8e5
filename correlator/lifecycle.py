"""Incident lifecycle: the allowed status moves, each recorded with who, when and why."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from correlator.incident import Incident, IncidentStatus, StatusChange

S = IncidentStatus
MOVES: Mapping[IncidentStatus, frozenset[IncidentStatus]] = {
    S.NEW: frozenset({S.INVESTIGATING, S.CONTAINED, S.RESOLVED, S.FALSE_POSITIVE}),
    S.INVESTIGATING: frozenset({S.CONTAINED, S.RESOLVED, S.FALSE_POSITIVE}),
    S.CONTAINED: frozenset({S.INVESTIGATING, S.RESOLVED}),
    # Closed incidents can be reopened: a later alert or a second look may prove them wrong.
    S.RESOLVED: frozenset({S.INVESTIGATING}),
    S.FALSE_POSITIVE: frozenset({S.INVESTIGATING}),
}
"""Status -> the statuses an analyst may move an incident to from it."""


class LifecycleError(ValueError):
    """A status move the lifecycle does not allow."""


def move(
    incident: Incident, new: IncidentStatus, *, who: str, when: float, note: str = ""
) -> Incident:
    """The incident moved to ``new``, with the step appended to its history."""
    if new not in MOVES[incident.status]:
        raise LifecycleError(
            f"{incident.id}: cannot move from {incident.status.value} to {new.value}"
        )
    if not who.strip():
        raise LifecycleError(f"{incident.id}: a status change needs who made it")
    step = StatusChange(who=who, when=when, old=incident.status, new=new, note=note)
    return dataclasses.replace(incident, status=new, history=(*incident.history, step))


def carry_over(fresh: Incident, stored: Incident | None) -> Incident:
    """A re-correlated incident keeping the analysts' status and history from the store."""
    if stored is None or not (stored.history or stored.assignee):
        return fresh
    return dataclasses.replace(
        fresh, status=stored.status, history=stored.history, assignee=stored.assignee
    )
