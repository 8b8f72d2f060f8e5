"""Grouping alerts into incidents: pure functions of alerts and the organisation map.

This first version groups by attacker address: every alert from one source becomes one
incident, attributed to the units its victims belong to and scored by :mod:`correlator.risk`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from correlator.incident import Incident
from correlator.organisation import OrganisationMap
from correlator.risk import score
from detectors.alert import Alert
from detectors.attack import Tactic

RULE_TITLES = {
    "portscan.vertical": "Port scan",
    "portscan.horizontal": "Address sweep",
}
"""English incident titles by alert rule; unknown rules fall back to the rule name."""


@dataclass(frozen=True, kw_only=True)
class CorrelatorConfig:
    """How alerts are grouped."""

    max_alerts_per_incident: int = 10_000
    """Alert ids listed on one incident; counts stay exact beyond it."""

    def __post_init__(self) -> None:
        if not 1 <= self.max_alerts_per_incident <= 1_000_000:
            raise ValueError("max_alerts_per_incident: must be between 1 and 1000000")


def correlate(
    alerts: Iterable[Alert],
    organisation: OrganisationMap,
    config: CorrelatorConfig | None = None,
) -> list[Incident]:
    """Group ``alerts`` by attacker into incidents, highest risk first."""
    config = config or CorrelatorConfig()
    groups: dict[str, list[Alert]] = {}
    for alert in sorted(alerts, key=lambda a: (a.time, a.id)):
        groups.setdefault(_entity(alert), []).append(alert)
    incidents = [_incident(key, group, organisation, config) for key, group in groups.items()]
    return sorted(incidents, key=lambda i: (-i.risk_score, i.first_seen, i.id))


def _entity(alert: Alert) -> str:
    """The grouping key: the attacker address, else the alert's identifier."""
    return alert.source_ip or alert.identifier


def _incident(
    key: str, alerts: Sequence[Alert], organisation: OrganisationMap, config: CorrelatorConfig
) -> Incident:
    """Build one incident from the alerts of one entity (already in time order)."""
    worst = max(alerts, key=lambda a: (a.severity.rank, a.time))
    victims = _unique(v for a in alerts for v in _victims(a))
    units = organisation.units_of(victims)
    risk, factors = score(alerts, units)
    attackers = _unique(a.source_ip for a in alerts if a.source_ip)
    title = RULE_TITLES.get(worst.rule, worst.rule)
    return Incident(
        id=_incident_id(key, alerts[0]),
        title=f"{title}: {key}" + (f" → {victims[0]}" if len(victims) == 1 else ""),
        kind=worst.rule,
        severity=worst.severity,
        risk_score=risk,
        risk_factors=factors,
        attackers=attackers,
        victims=victims,
        units=tuple(u.code for u in units),
        tactics=_ordered_tactics(a.tactic for a in alerts),
        techniques=_unique(a.technique for a in alerts),
        detectors=_unique(a.detector for a in alerts),
        first_seen=min(a.first_seen for a in alerts),
        last_seen=max(a.last_seen for a in alerts),
        alert_ids=tuple(a.id for a in alerts[: config.max_alerts_per_incident]),
        alert_count=len(alerts),
    )


def _victims(alert: Alert) -> tuple[str, ...]:
    """Targets named by an alert: its destination and sampled destinations."""
    head = (alert.destination_ip,) if alert.destination_ip else ()
    return head + alert.destinations


def _unique(items: Iterable[str | None]) -> tuple[str, ...]:
    """Distinct non-empty items in first-seen order."""
    return tuple(dict.fromkeys(i for i in items if i))


def _ordered_tactics(tactics: Iterable[Tactic]) -> tuple[Tactic, ...]:
    """Distinct tactics in kill-chain order."""
    order = list(Tactic)
    return tuple(sorted(set(tactics), key=order.index))


def _incident_id(key: str, first: Alert) -> str:
    """A stable id: the same entity and first alert give the same incident."""
    text = f"{key}|{first.id}".encode()
    return "i-" + hashlib.blake2b(text, digest_size=10).hexdigest()
