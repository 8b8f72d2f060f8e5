"""Elasticsearch index layout: names, time periods and composable templates with ECS mappings.

Events go to daily indices and alerts to monthly ones, named after the record's own time, so a
re-sent record lands in the same index under the same id, and retention drops whole indices.
Incidents live in one index: analysts edit them in place with optimistic concurrency.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

TEMPLATE_PRIORITY = 300
"""Above Elasticsearch's built-in templates, so ours decide the mappings of our indices."""

_KEYWORD = {"type": "keyword", "ignore_above": 1024}
_TIME = {"type": "date_nanos"}  # records keep microseconds; ``date`` would round to milliseconds
_IP = {"type": "ip"}
_LONG = {"type": "long"}
_OPAQUE = {"type": "object", "enabled": False}  # kept in _source, not indexed: mixed value types


def _tree(**fields: Any) -> dict[str, Any]:
    return {"properties": fields}


def _endpoint() -> dict[str, Any]:
    return _tree(ip=_IP, port=_LONG, bytes=_LONG, packets=_LONG)


_ECS_FIELDS: dict[str, Any] = {
    "@timestamp": _TIME,
    "message": {"type": "text"},
    "event": _tree(
        id=_KEYWORD,
        kind=_KEYWORD,
        category=_KEYWORD,
        dataset=_KEYWORD,
        action=_KEYWORD,
        outcome=_KEYWORD,
        reason=_KEYWORD,
        start=_TIME,
        end=_TIME,
        ingested=_TIME,  # when a store wrote the alert: the correlator daemon reads in this order
        severity=_LONG,
        risk_score={"type": "float"},
        original={"type": "keyword", "index": False, "doc_values": False},
    ),
    "source": _endpoint(),
    "destination": _endpoint(),
    "observer": _tree(name=_KEYWORD),
    "network": _tree(transport=_KEYWORD, vlan=_tree(id=_KEYWORD)),
    "rule": _tree(name=_KEYWORD, ruleset=_KEYWORD),
    "threat": _tree(
        framework=_KEYWORD,
        tactic=_tree(id=_KEYWORD, name=_KEYWORD),
        technique=_tree(id=_KEYWORD),
    ),
    "host": _tree(name=_KEYWORD),
    "user": _tree(name=_KEYWORD),
    "service": _tree(name=_KEYWORD),
}

_ALERT_FIELDS = _tree(
    identifier=_KEYWORD,
    severity=_KEYWORD,
    destinations=_IP,
    destination_ports=_LONG,
    facts=_OPAQUE,
    evidence=_KEYWORD,
)

_INCIDENT_FIELDS = _tree(
    id=_KEYWORD,
    kind=_KEYWORD,
    status=_KEYWORD,
    severity=_KEYWORD,
    risk_score=_LONG,
    risk_factors=_OPAQUE,
    # Keywords, not ip: authentication incidents group by account as well as by address.
    attackers=_KEYWORD,
    victims=_KEYWORD,
    units=_KEYWORD,
    alert_ids=_KEYWORD,
    alert_count=_LONG,
    family=_KEYWORD,
    entity=_KEYWORD,
    stage=_KEYWORD,
    kill_chain=_KEYWORD,
    history=_OPAQUE,  # the analysts' trail: shown with the incident, never searched
    assignee=_KEYWORD,
    superseded_by=_KEYWORD,  # the incident that absorbed this one; absent while it stands alone
)


_DOUBLE = {"type": "double"}  # epoch seconds: a float would round them to minutes

_RECORD_FIELDS: dict[str, dict[str, Any]] = {
    # Exceptions, their audit trail, alert marks and reader cursors: small, exact-match records.
    "exceptions": {
        "id": _KEYWORD,
        "kind": _KEYWORD,
        "owner": _KEYWORD,
        "reason": {"type": "text"},
        "created": _DOUBLE,
        "expires": _DOUBLE,
        "scope": _OPAQUE,
    },
    "audit": {
        "id": _KEYWORD,
        "time": _DOUBLE,
        "who": _KEYWORD,
        "action": _KEYWORD,
        "exception_id": _KEYWORD,
        "detail": {"type": "text"},
    },
    "alert-marks": {"alert_id": _KEYWORD, "exception_id": _KEYWORD},
    "cursors": {"name": _KEYWORD, "position": {"type": "keyword", "index": False}},
    # The capture registry (``sensors.capturefiles``), one ECS-shaped document per file.
    "captures": {
        "@timestamp": _TIME,
        "event": _tree(end=_TIME),
        "observer": _tree(name=_KEYWORD),
        "file": _tree(path=_KEYWORD, size=_LONG, hash=_tree(sha256=_KEYWORD)),
        "nssa": _tree(
            capture=_tree(link_types=_LONG, packets=_LONG, time_shift=_DOUBLE),
        ),
    },
    # Dashboard accounts, one document per name; the hash is kept but never searchable.
    "users": {
        "name": _KEYWORD,
        "password_hash": {"type": "keyword", "index": False, "doc_values": False},
        "role": _KEYWORD,
        "units": _KEYWORD,
        "created": _DOUBLE,
        "updated": _DOUBLE,
        "disabled": {"type": "boolean"},
    },
}


@dataclass(frozen=True)
class IndexLayout:
    """Index and template names under one prefix (``nssa`` in production)."""

    prefix: str

    @property
    def events_pattern(self) -> str:
        """Every daily event index."""
        return f"{self.prefix}-events-*"

    @property
    def alerts_pattern(self) -> str:
        """Every monthly alert index."""
        return f"{self.prefix}-alerts-*"

    @property
    def incidents(self) -> str:
        """The one incident index."""
        return f"{self.prefix}-incidents"

    def records(self, kind: str) -> str:
        """The one index of a small record kind: exceptions, audit, alert-marks, cursors,
        users, captures."""
        return f"{self.prefix}-{kind}"

    def events_index(self, timestamp: str) -> str:
        """The daily index of an event whose ``@timestamp`` is ``timestamp`` (ISO, UTC)."""
        # Sliced, not parsed: format_time always writes YYYY-MM-DDTHH:MM:SS.ffffffZ in UTC.
        return f"{self.prefix}-events-{timestamp[0:4]}.{timestamp[5:7]}.{timestamp[8:10]}"

    def alerts_index(self, timestamp: str) -> str:
        """The monthly index of an alert whose ``@timestamp`` is ``timestamp`` (ISO, UTC)."""
        return f"{self.prefix}-alerts-{timestamp[0:4]}.{timestamp[5:7]}"

    def period_end(self, index: str) -> float | None:
        """When the period of a time-based index ends (epoch), or None for other indices."""
        match = re.fullmatch(
            rf"{re.escape(self.prefix)}-(?:events-(\d{{4}})\.(\d\d)\.(\d\d)|alerts-(\d{{4}})\.(\d\d))",
            index,
        )
        if match is None:
            return None
        if match[1]:
            start = datetime(int(match[1]), int(match[2]), int(match[3]), tzinfo=UTC)
            return start.timestamp() + 86_400
        year, month = int(match[4]), int(match[5])
        days = calendar.monthrange(year, month)[1]
        return datetime(year, month, 1, tzinfo=UTC).timestamp() + days * 86_400

    def component_template(self) -> tuple[str, dict[str, Any]]:
        """The shared ECS mappings every NSSA index composes."""
        return f"{self.prefix}-ecs", {
            "mappings": {
                # Unknown strings (new event types' fields) are exact-match keywords.
                "dynamic_templates": [
                    {"strings": {"match_mapping_type": "string", "mapping": _KEYWORD}}
                ],
                "properties": _ECS_FIELDS,
            }
        }

    def index_templates(self, replicas: int) -> dict[str, dict[str, Any]]:
        """The composable templates for events, alerts and incidents, by name."""
        own = {
            "events": ([self.events_pattern], {}),
            "alerts": ([self.alerts_pattern], {"nssa": _tree(alert=_ALERT_FIELDS)}),
            "incidents": ([self.incidents], {"nssa": _tree(incident=_INCIDENT_FIELDS)}),
        }
        settings = {"number_of_shards": 1, "number_of_replicas": replicas}
        return {
            f"{self.prefix}-{kind}": {
                "index_patterns": patterns,
                "composed_of": [self.component_template()[0]],
                "priority": TEMPLATE_PRIORITY,
                "template": {"settings": settings, "mappings": {"properties": properties}},
                "_meta": {"managed_by": "nssa"},
            }
            for kind, (patterns, properties) in own.items()
        } | {
            f"{self.prefix}-{kind}": {
                "index_patterns": [self.records(kind)],
                "composed_of": [],
                "priority": TEMPLATE_PRIORITY,
                "template": {
                    "settings": settings,
                    "mappings": {"dynamic": "strict", "properties": fields},
                },
                "_meta": {"managed_by": "nssa"},
            }
            for kind, fields in _RECORD_FIELDS.items()
        }
