"""Correlation: alerts grouped by attacker, attributed to units, scored with listed factors."""

from __future__ import annotations

from correlator.correlate import correlate
from correlator.organisation import Criticality, OrganisationMap, Unit, UnitKind
from detectors.alert import Alert, Severity
from detectors.attack import Tactic

ORG = OrganisationMap(
    (
        Unit(code="smx", name="三门峡市", kind=UnitKind.CITY),
        Unit(
            code="hubin",
            name="湖滨区",
            kind=UnitKind.DISTRICT,
            parent="smx",
            subnets=("10.21.0.0/16",),
            criticality=Criticality.HIGH,
            mlps_level=3,
        ),
        Unit(
            code="lushi",
            name="卢氏县",
            kind=UnitKind.COUNTY,
            parent="smx",
            subnets=("10.26.0.0/16",),
        ),
    )
)


def alert(t: float, src: str, dst: str, severity: Severity = Severity.MEDIUM) -> Alert:
    return Alert(
        time=t,
        first_seen=t,
        last_seen=t,
        detector="portscan",
        rule="portscan.vertical",
        severity=severity,
        source_ip=src,
        destination_ip=dst,
        tactic=Tactic.RECONNAISSANCE,
        technique="T1595",
        identifier=f"portscan.vertical:{src}:{dst}",
        explanation="x",
    )


def test_alerts_group_by_attacker_with_units_and_factors() -> None:
    alerts = [
        alert(2.0, "203.0.113.45", "10.21.3.25", Severity.HIGH),
        alert(1.0, "203.0.113.45", "10.26.1.9"),
        alert(5.0, "198.51.100.7", "10.26.1.9"),
    ]
    first, second = correlate(alerts, ORG)
    assert first.attackers == ("203.0.113.45",)
    assert first.victims == ("10.26.1.9", "10.21.3.25")
    assert first.units == ("lushi", "hubin") and first.alert_count == 2
    assert (first.first_seen, first.last_seen) == (1.0, 2.0)
    factors = first.risk_factors
    assert first.risk_score == round(60 * 1.2) + 5 + 5
    assert (factors["severity_base"], factors["mlps_bonus"], factors["spread_bonus"]) == (60, 5, 5)
    assert second.attackers == ("198.51.100.7",) and second.risk_score == 40


def test_incident_ids_are_stable_under_reordering() -> None:
    alerts = [alert(float(n), "203.0.113.45", f"10.21.3.{n}") for n in range(5)]
    assert correlate(alerts, ORG)[0].id == correlate(list(reversed(alerts)), ORG)[0].id


def test_unknown_victims_have_no_unit() -> None:
    (incident,) = correlate([alert(1.0, "203.0.113.45", "172.31.0.1")], ORG)
    assert incident.units == () and incident.risk_score == 40
