"""Incident lifecycle: status moves (who, when, why) and incidents folded into another."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping

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


def supersessions(previous: Iterable[Incident], current: Iterable[Incident]) -> dict[str, str]:
    """Ids of ``previous`` incidents a re-correlation folded into another -> that incident's id.

    An incident vanishes when a later alert links it to another (a kill-chain step between
    them, or a late alert closing a quiet gap): its alerts now belong to an incident with
    another id. The survivor is the current incident holding most of its alerts; an incident
    whose alerts all aged out has none and is left alone.
    """
    owner: dict[str, str] = {}
    ids: set[str] = set()
    for incident in current:
        ids.add(incident.id)
        owner.update(dict.fromkeys(incident.alert_ids, incident.id))
    found: dict[str, str] = {}
    for old in previous:
        if old.id in ids:
            continue
        holders = Counter(owner[a] for a in old.alert_ids if a in owner)
        if holders:
            found[old.id] = holders.most_common(1)[0][0]
    return found


def supersede(incident: Incident, survivor: str) -> Incident:
    """The incident marked as absorbed by ``survivor``; the analysts' status and trail stay."""
    return dataclasses.replace(incident, superseded_by=survivor)
