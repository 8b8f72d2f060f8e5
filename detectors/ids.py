"""Findings of the city's existing IDS sensors (Suricata alerts, Zeek notices) as our alerts.

The signature, its id, category and severity are kept as the IDS logged them; Suricata
severity 1/2/3 becomes high/medium/low. Protocol anomalies are not alerts: they describe
malformed traffic far more often than attacks, and stay available as events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from detectors.alert import Alert, Severity
from detectors.attack import Tactic
from sensors.events import Event, IdsAlert, IdsKind

SEVERITIES = {1: Severity.HIGH, 2: Severity.MEDIUM, 3: Severity.LOW}
"""Suricata's priority (1 = most severe) to ours."""
# ATT&CK placement by the rule category (Emerging Threats classification.config names).
CATEGORIES: dict[str, tuple[Tactic, str]] = {
    "attempted information leak": (Tactic.RECONNAISSANCE, "T1595"),
    "detection of a network scan": (Tactic.RECONNAISSANCE, "T1046"),
    "attempted administrator privilege gain": (Tactic.PRIVILEGE_ESCALATION, "T1068"),
    "attempted user privilege gain": (Tactic.PRIVILEGE_ESCALATION, "T1068"),
    "web application attack": (Tactic.INITIAL_ACCESS, "T1190"),
    "a network trojan was detected": (Tactic.COMMAND_AND_CONTROL, "T1071"),
    "malware command and control activity detected": (Tactic.COMMAND_AND_CONTROL, "T1071"),
    "attempted denial of service": (Tactic.IMPACT, "T1498"),
    "denial of service": (Tactic.IMPACT, "T1498"),
}
DEFAULT_PLACE = (Tactic.INITIAL_ACCESS, "T1190")


@dataclass(frozen=True, kw_only=True)
class IdsConfig:
    """Which IDS findings become alerts."""

    notices: bool = True
    """Turn Zeek notices into alerts (severity medium) as well as Suricata alerts."""
    max_priority: int = 3
    """Suricata alerts with a priority number above this (less severe) are ignored (1-255)."""

    def __post_init__(self) -> None:
        if not 1 <= self.max_priority <= 255:
            raise ValueError(f"max_priority: {self.max_priority!r} is out of range")


class IdsAlerts:
    """Maps each Suricata alert (and Zeek notice) to one ``Alert``; stateless."""

    name: ClassVar[str] = "ids"
    Config: ClassVar[type[IdsConfig]] = IdsConfig
    accepts: ClassVar[tuple[type[Event], ...]] = (IdsAlert,)

    def __init__(self, config: IdsConfig) -> None:
        self.config = config

    def observe(self, event: Event) -> list[Alert]:
        """One alert per IDS alert or notice that passes the config."""
        if not isinstance(event, IdsAlert) or not self._wanted(event):
            return []
        return [self._alert(event)]

    def flush(self, now: float) -> list[Alert]:
        """Nothing is windowed: every alert is raised as it is observed."""
        return []

    def _wanted(self, event: IdsAlert) -> bool:
        if event.kind is IdsKind.NOTICE:
            return self.config.notices
        priority = event.severity if event.severity is not None else 3
        return event.kind is IdsKind.ALERT and priority <= self.config.max_priority

    def _alert(self, event: IdsAlert) -> Alert:
        tactic, technique = CATEGORIES.get(event.category.lower(), DEFAULT_PLACE)
        severity = SEVERITIES.get(event.severity or 0, Severity.LOW)
        if event.kind is IdsKind.NOTICE:
            severity = Severity.MEDIUM
        sid = event.signature_id or event.signature
        where = f"{event.dst_ip}:{event.dst_port}" if event.dst_port else f"{event.dst_ip}"
        return Alert(
            time=event.time,
            first_seen=event.time,
            last_seen=event.time,
            detector=self.name,
            rule=f"ids.{event.product}",
            severity=severity,
            sensor=event.sensor,
            source_ip=event.src_ip,
            destination_ip=event.dst_ip,
            destinations=(event.dst_ip,) if event.dst_ip else (),
            destination_ports=(event.dst_port,) if event.dst_port else (),
            tactic=tactic,
            technique=technique,
            identifier=f"ids:{sid}:{event.src_ip}:{event.dst_ip}",
            explanation=(
                f"{event.product} {event.kind.value} {sid} '{event.signature}' "
                f"from {event.src_ip} to {where}"
            ),
            facts={
                "signature_id": event.signature_id,
                "signature": event.signature,
                "category": event.category,
                "ids_severity": event.severity if event.severity is not None else 0,
                "action": event.action,
                "product": event.product,
            },
            evidence=(event.id,),
        )
