"""JSON views of alerts and incidents, shared by the CLI and the dashboard's API.

These are the external contract (``nssa incidents --json``, ``/api/incidents``): keys are only
ever added, never renamed. Times are ISO-8601 UTC.
"""

from __future__ import annotations

from typing import Any

from correlator.incident import Incident
from correlator.organisation import OrganisationMap
from detectors.alert import Alert
from sensors.ecs import format_time


def incident_view(incident: Incident, organisation: OrganisationMap) -> dict[str, Any]:
    """An incident as JSON values; ``units`` are names, ``unit_codes`` the codes."""
    names = organisation.by_code
    return {
        "id": incident.id,
        "title": incident.title,
        "kind": incident.kind,
        "status": incident.status.value,
        "severity": incident.severity.value,
        "risk_score": incident.risk_score,
        "risk_factors": dict(incident.risk_factors),
        "attackers": list(incident.attackers),
        "victims": list(incident.victims),
        "units": [names[c].name if c in names else c for c in incident.units],
        "unit_codes": list(incident.units),
        "tactics": [t.label for t in incident.tactics],
        "tactic_ids": [t.value for t in incident.tactics],
        "techniques": list(incident.techniques),
        "detectors": list(incident.detectors),
        "first_seen": format_time(incident.first_seen),
        "last_seen": format_time(incident.last_seen),
        "alert_count": incident.alert_count,
        "family": incident.family.value,
        "entity": incident.entity,
        "stage": incident.stage.value if incident.stage else None,
        "kill_chain": list(incident.kill_chain),
        "history": [
            {
                "who": step.who,
                "when": format_time(step.when),
                "from": step.old.value,
                "to": step.new.value,
                "note": step.note,
            }
            for step in incident.history
        ],
    }


def alert_view(alert: Alert) -> dict[str, Any]:
    """An alert as JSON values: what fired, on whom, why, and the numbers behind it."""
    return {
        "id": alert.id,
        "detector": alert.detector,
        "rule": alert.rule,
        "severity": alert.severity.value,
        "source_ip": alert.source_ip,
        "destination_ip": alert.destination_ip,
        "destinations": list(alert.destinations),
        "destination_ports": list(alert.destination_ports),
        "time": format_time(alert.time),
        "first_seen": format_time(alert.first_seen),
        "last_seen": format_time(alert.last_seen),
        "identifier": alert.identifier,
        "explanation": alert.explanation,
        "facts": dict(alert.facts),
        "tactic": alert.tactic.label,
        "tactic_id": alert.tactic.value,
        "technique": alert.technique,
        "sensor": alert.sensor,
    }
