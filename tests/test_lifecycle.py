"""Incident lifecycle: allowed moves only, each with who, when and why kept in the history."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from correlator.incident import Incident, IncidentStatus, StatusChange
from correlator.lifecycle import LifecycleError, carry_over, move

S = IncidentStatus


def test_moves_are_recorded_in_order(make_incident: Callable[..., Incident]) -> None:
    incident = move(make_incident(), S.INVESTIGATING, who="张三", when=10.0, note="接手")
    incident = move(incident, S.CONTAINED, who="李四", when=20.0, note="已封禁 203.0.113.7")
    assert (incident.status, incident.history) == (
        S.CONTAINED,
        (
            StatusChange(who="张三", when=10.0, old=S.NEW, new=S.INVESTIGATING, note="接手"),
            StatusChange(
                who="李四",
                when=20.0,
                old=S.INVESTIGATING,
                new=S.CONTAINED,
                note="已封禁 203.0.113.7",
            ),
        ),
    )


@pytest.mark.parametrize(
    ("start", "to"),
    [(S.RESOLVED, S.CONTAINED), (S.FALSE_POSITIVE, S.RESOLVED), (S.NEW, S.NEW)],
)
def test_forbidden_moves_raise(
    make_incident: Callable[..., Incident], start: IncidentStatus, to: IncidentStatus
) -> None:
    with pytest.raises(LifecycleError):
        move(make_incident(status=start), to, who="张三", when=1.0)


def test_a_move_needs_someone(make_incident: Callable[..., Incident]) -> None:
    with pytest.raises(LifecycleError):
        move(make_incident(), S.RESOLVED, who=" ", when=1.0)


def test_recorrelation_keeps_the_analysts_status(make_incident: Callable[..., Incident]) -> None:
    stored = move(make_incident(), S.FALSE_POSITIVE, who="王五", when=5.0, note="备份任务")
    fresh = make_incident(alert_count=7)
    kept = carry_over(fresh, stored)
    assert (kept.status, kept.history, kept.alert_count) == (S.FALSE_POSITIVE, stored.history, 7)


def test_history_round_trips_through_ecs(make_incident: Callable[..., Incident]) -> None:
    incident = move(make_incident(), S.INVESTIGATING, who="张三", when=10.5, note="看")
    assert Incident.from_ecs(incident.to_ecs()) == incident
