"""The ``Incident`` record: alerts about one threat, attributed to the city's units."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from detectors.alert import Fact, Severity
from detectors.attack import Tactic
from sensors.ecs import ecs, from_document, to_document


class IncidentStatus(StrEnum):
    """Where an incident is in the analysts' workflow."""

    NEW = "new"
    INVESTIGATING = "investigating"
    CONTAINED = "contained"
    RESOLVED = "resolved"
    FALSE_POSITIVE = "false_positive"


class Family(StrEnum):
    """Alert families; each groups by its own entity."""

    NETWORK = "network"  # by attacker address
    AUTHENTICATION = "authentication"  # by source address and account
    HOST = "host"  # by victim host


class Stage(StrEnum):
    """Kill-chain stages the escalation rules reason about, in attack order."""

    RECONNAISSANCE = "reconnaissance"
    CREDENTIAL_ACCESS = "credential_access"
    INITIAL_ACCESS = "initial_access"  # a login or exploit that worked: likely compromise
    COMMAND_AND_CONTROL = "command_and_control"
    EXFILTRATION = "exfiltration"

    @property
    def rank(self) -> int:
        """Order in the kill chain: reconnaissance=0 ... exfiltration=4."""
        return list(Stage).index(self)


@dataclass(frozen=True, kw_only=True)
class StatusChange:
    """One step of an incident's lifecycle: who moved it, when, from what to what, and why."""

    who: str
    when: float
    old: IncidentStatus
    new: IncidentStatus
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class Incident:
    """A city-level threat: the alerts of one entity (and of the entities a kill-chain rule
    linked to it), their targets and their risk.

    ``id`` is derived from the grouping key and the first alert, so replaying the same input
    updates the same incident instead of creating another. ``kill_chain`` names the escalation
    rules that matched; ``history`` is the analysts' lifecycle trail; ``superseded_by`` points
    to the incident that absorbed this one.
    """

    ECS_CONSTANTS: ClassVar[Mapping[str, Any]] = {
        "event.kind": "signal",
        "event.category": ["intrusion_detection"],
        "event.dataset": "nssa.incident",
    }

    id: str = ecs("nssa.incident.id")
    title: str = ecs("message")
    kind: str = ecs("nssa.incident.kind")
    status: IncidentStatus = ecs("nssa.incident.status", default=IncidentStatus.NEW)
    severity: Severity = ecs("nssa.incident.severity")
    risk_score: int = ecs("nssa.incident.risk_score")
    risk_factors: Mapping[str, Fact] = ecs("nssa.incident.risk_factors", default_factory=dict)
    attackers: tuple[str, ...] = ecs("nssa.incident.attackers")
    victims: tuple[str, ...] = ecs("nssa.incident.victims", default=())
    units: tuple[str, ...] = ecs("nssa.incident.units", default=())
    tactics: tuple[Tactic, ...] = ecs("threat.tactic.id", default=())
    techniques: tuple[str, ...] = ecs("threat.technique.id", default=())
    detectors: tuple[str, ...] = ecs("rule.ruleset", default=())
    first_seen: float = ecs("event.start", time=True)
    last_seen: float = ecs("@timestamp", time=True)
    alert_ids: tuple[str, ...] = ecs("nssa.incident.alert_ids", default=())
    alert_count: int = ecs("nssa.incident.alert_count")
    family: Family = ecs("nssa.incident.family", default=Family.NETWORK)
    entity: str = ecs("nssa.incident.entity", default="")
    stage: Stage | None = ecs("nssa.incident.stage", default=None)
    kill_chain: tuple[str, ...] = ecs("nssa.incident.kill_chain", default=())
    history: tuple[StatusChange, ...] = ecs("nssa.incident.history", default=())
    assignee: str = ecs("nssa.incident.assignee", default="")  # the analyst handling it
    # Set when a later alert showed this incident and another were one threat: the id of the
    # incident that absorbed it. None (left out of the document) while it stands alone.
    superseded_by: str | None = ecs("nssa.incident.superseded_by", default=None)

    def to_ecs(self) -> dict[str, Any]:
        """Return the ECS document for this incident."""
        doc = to_document(self)
        doc["event"]["severity"] = self.severity.score
        doc["event"]["risk_score"] = self.risk_score
        return doc

    @classmethod
    def from_ecs(cls, doc: Mapping[str, Any]) -> Incident:
        """Rebuild an incident from its ECS document."""
        return from_document(cls, doc)
