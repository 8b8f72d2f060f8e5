"""Existing IDS findings become our alerts with their signature and severity kept."""

from __future__ import annotations

from detectors.alert import Severity
from detectors.ids import IdsAlerts, IdsConfig
from sensors.events import IdsAlert, IdsKind, Transport


def finding(**overrides: object) -> IdsAlert:
    fields: dict[str, object] = {
        "time": 1_546_401_011.3,
        "sensor": "cloud-core",
        "product": "suricata",
        "kind": IdsKind.ALERT,
        "src_ip": "8.42.77.171",
        "dst_ip": "138.68.3.71",
        "dst_port": 22,
        "transport": Transport.TCP,
        "signature": "ET SCAN Potential SSH Scan",
        "signature_id": 2001219,
        "category": "Attempted Information Leak",
        "severity": 1,
    }
    return IdsAlert(**(fields | overrides))  # type: ignore[arg-type]


def test_suricata_alert_maps_to_an_alert() -> None:
    (alert,) = IdsAlerts(IdsConfig()).observe(finding())
    assert (alert.severity, alert.identifier, alert.facts["signature_id"]) == (
        Severity.HIGH,
        "ids:2001219:8.42.77.171:138.68.3.71",
        2001219,
    )
    assert alert.facts["category"] == "Attempted Information Leak"


def test_severity_levels_and_filters() -> None:
    detector = IdsAlerts(IdsConfig(max_priority=2, notices=False))
    assert [a.severity for a in detector.observe(finding(severity=2))] == [Severity.MEDIUM]
    assert detector.observe(finding(severity=3)) == []
    assert detector.observe(finding(kind=IdsKind.NOTICE)) == []
    assert detector.observe(finding(kind=IdsKind.ANOMALY)) == []
    assert IdsAlerts(IdsConfig()).observe(finding(severity=3))[0].severity is Severity.LOW
