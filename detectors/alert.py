"""The ``Alert`` record: one detector firing, with the reasons it fired."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from detectors.attack import Tactic
from sensors.ecs import ecs, from_document, record_id, to_document

Fact = int | float | str
"""A value in an alert's explanation: a counter, a window length, a threshold, a score."""


class Severity(StrEnum):
    """How bad an alert is if true; ``score`` is the ECS ``event.severity`` number."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def score(self) -> int:
        """ECS numeric severity (the 21/47/73/99 steps Elastic rules use)."""
        return {"low": 21, "medium": 47, "high": 73, "critical": 99}[self.value]

    @property
    def rank(self) -> int:
        """Order for comparisons: low=0 ... critical=3."""
        return list(Severity).index(self)


@dataclass(frozen=True, kw_only=True)
class Alert:
    """A detector's finding about one source (and its targets) over a span of time.

    ``identifier`` is what suppression and deduplication key on: the same situation seen again
    gets the same identifier. ``explanation`` says in one sentence why it fired and ``facts``
    holds the numbers behind it (counters, window, threshold, score).
    """

    ECS_CONSTANTS: ClassVar[Mapping[str, Any]] = {
        "event.kind": "alert",
        "event.category": ["intrusion_detection"],
        "event.dataset": "nssa.alert",
    }

    time: float = ecs("@timestamp", time=True)
    first_seen: float = ecs("event.start", time=True)
    last_seen: float = ecs("event.end", time=True)
    detector: str = ecs("rule.ruleset")
    rule: str = ecs("rule.name")
    severity: Severity = ecs("nssa.alert.severity")
    sensor: str = ecs("observer.name", default="")
    source_ip: str | None = ecs("source.ip", default=None)
    destination_ip: str | None = ecs("destination.ip", default=None)
    destinations: tuple[str, ...] = ecs("nssa.alert.destinations", default=())
    destination_ports: tuple[int, ...] = ecs("nssa.alert.destination_ports", default=())
    tactic: Tactic = ecs("threat.tactic.id")
    technique: str = ecs("threat.technique.id")
    identifier: str = ecs("nssa.alert.identifier")
    explanation: str = ecs("message")
    facts: Mapping[str, Fact] = ecs("nssa.alert.facts", default_factory=dict)
    evidence: tuple[str, ...] = ecs("nssa.alert.evidence", default=())

    @property
    def id(self) -> str:
        """Deterministic id: the same firing always gets the same id."""
        return record_id(self, prefix="a-")

    def to_ecs(self) -> dict[str, Any]:
        """Return the ECS document, with the derived ``event.severity`` and tactic name."""
        doc = to_document(self)
        doc["event"]["severity"] = self.severity.score
        doc["threat"]["tactic"]["name"] = self.tactic.label
        doc["threat"]["framework"] = "MITRE ATT&CK"
        return doc

    @classmethod
    def from_ecs(cls, doc: Mapping[str, Any]) -> Alert:
        """Rebuild an alert from its ECS document."""
        return from_document(cls, doc)
