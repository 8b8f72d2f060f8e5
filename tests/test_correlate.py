"""Correlation: alerts grouped by entity, escalated by kill-chain rules, scored with factors."""

from __future__ import annotations

import dataclasses

from correlator.correlate import correlate
from correlator.incident import Stage
from correlator.organisation import Criticality, OrganisationMap, Unit, UnitKind
from correlator.risk import INTEL_BONUS, recompute
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


def staged(
    t: float,
    src: str | None,
    dst: str | None,
    tactic: Tactic,
    *,
    detector: str = "ids",
    rule: str = "ids.x",
    ident: str | None = None,
    **facts: str,
) -> Alert:
    """An alert of any kill-chain stage; the identifier defaults to one per alert."""
    return Alert(
        time=t,
        first_seen=t,
        last_seen=t,
        detector=detector,
        rule=rule,
        severity=Severity.MEDIUM,
        source_ip=src,
        destination_ip=dst,
        tactic=tactic,
        technique="",
        identifier=ident or f"{rule}:{src}:{dst}:{t}",
        explanation="x",
        facts=facts,
    )


ATTACKER, HOST, C2 = "203.0.113.45", "10.21.3.25", "198.51.100.77"


def kill_chain() -> list[Alert]:
    """Scan, guessing, login, beacon and exfiltration: one attack on one host."""
    return [
        staged(100.0, ATTACKER, HOST, Tactic.RECONNAISSANCE, detector="portscan"),
        staged(200.0, ATTACKER, HOST, Tactic.CREDENTIAL_ACCESS, detector="bruteforce", user="root"),
        staged(
            300.0,
            ATTACKER,
            HOST,
            Tactic.INITIAL_ACCESS,
            detector="bruteforce",
            rule="bruteforce.compromise",
            user="root",
        ),
        staged(400.0, HOST, C2, Tactic.COMMAND_AND_CONTROL, detector="beacon"),
        staged(500.0, HOST, C2, Tactic.EXFILTRATION, detector="exfil"),
    ]


def test_a_whole_kill_chain_is_one_critical_incident() -> None:
    (incident,) = correlate(kill_chain(), ORG)
    assert (incident.kill_chain, incident.severity, incident.stage, incident.alert_count) == (
        (
            "recon_then_guessing",
            "recon_then_access",
            "guessing_then_login",
            "access_then_c2",
            "c2_then_exfiltration",
        ),
        Severity.CRITICAL,
        Stage.EXFILTRATION,
        5,
    )
    assert incident.risk_factors["compromise"] == 1 and incident.units == ("hubin",)
    assert incident.techniques == ("T1595", "T1110", "T1190", "T1071", "T1041")


def test_stages_out_of_order_do_not_escalate() -> None:
    chain = kill_chain()
    swapped = [chain[0], chain[1], dataclasses.replace(chain[2], time=50.0)]
    incidents = correlate(swapped, ORG)
    assert [i.kill_chain for i in incidents] == [("recon_then_guessing",)]


def test_stages_further_apart_than_the_timespan_stay_apart() -> None:
    late = dataclasses.replace(kill_chain()[1], time=100.0 + 2 * 86_400)
    incidents = correlate([kill_chain()[0], late], ORG)
    assert sorted(i.kill_chain for i in incidents) == [(), ()]


def test_families_group_by_their_own_entity() -> None:
    alerts = [
        staged(1.0, ATTACKER, HOST, Tactic.CREDENTIAL_ACCESS, detector="bruteforce", user="root"),
        staged(2.0, ATTACKER, HOST, Tactic.CREDENTIAL_ACCESS, detector="bruteforce", user="admin"),
        staged(3.0, HOST, C2, Tactic.COMMAND_AND_CONTROL),
        staged(4.0, "10.26.1.9", C2, Tactic.COMMAND_AND_CONTROL),
    ]
    incidents = correlate(alerts, ORG)
    assert sorted((i.family.value, i.entity) for i in incidents) == [
        ("authentication", f"auth:{ATTACKER}:admin"),
        ("authentication", f"auth:{ATTACKER}:root"),
        ("host", "host:10.21.3.25"),
        ("host", "host:10.26.1.9"),
    ]


def test_repeats_within_the_window_count_but_do_not_score_twice() -> None:
    repeats = [alert(float(n), ATTACKER, HOST) for n in range(50)]
    (incident,) = correlate(repeats, ORG)
    assert (incident.alert_count, len(incident.alert_ids)) == (50, 50)


def test_the_same_alert_twice_counts_once() -> None:
    one = alert(1.0, ATTACKER, HOST)
    assert correlate([one, one], ORG)[0].alert_count == 1


def test_a_long_quiet_gap_opens_a_new_incident() -> None:
    first, later = alert(1.0, ATTACKER, HOST), alert(1.0 + 3 * 86_400, ATTACKER, HOST)
    assert len(correlate([first, later], ORG)) == 2


def test_placeholder_sources_never_become_one_entity() -> None:
    alerts = [alert(1.0, "-", "10.21.3.1"), alert(2.0, "unknown", "10.21.3.2")]
    assert len(correlate(alerts, ORG)) == 2


def test_every_incident_has_tactics_and_techniques() -> None:
    incidents = correlate([*kill_chain(), alert(7.0, "198.51.100.9", HOST)], ORG)
    assert all(i.tactics and i.techniques and all(i.techniques) for i in incidents)


def test_risk_factors_recompute_the_score() -> None:
    incidents = correlate([*kill_chain(), alert(1.0, "198.51.100.9", "10.26.1.9")], ORG)
    assert [recompute(i.risk_factors) for i in incidents] == [i.risk_score for i in incidents]


def test_intel_hit_adds_its_bonus() -> None:
    hit = dataclasses.replace(alert(1.0, ATTACKER, HOST), facts={"intel": "feed:abuse.ch"})
    (plain,), (flagged,) = correlate([alert(1.0, ATTACKER, HOST)], ORG), correlate([hit], ORG)
    assert flagged.risk_score - plain.risk_score == INTEL_BONUS


def test_ids_do_not_depend_on_batching() -> None:
    chain = kill_chain()
    whole = {i.id for i in correlate(chain, ORG)}
    assert whole == {i.id for i in correlate(chain[::-1], ORG)}
    assert {i.id for i in correlate(chain[:1], ORG)} <= whole  # the lead thread keeps its id


def test_an_exploit_attempt_without_success_does_not_escalate() -> None:
    scan = staged(100.0, ATTACKER, HOST, Tactic.RECONNAISSANCE, rule="portscan.vertical")
    attempt = staged(200.0, ATTACKER, HOST, Tactic.INITIAL_ACCESS, rule="webattack.sqli")
    answered = dataclasses.replace(
        attempt, time=300.0, identifier="webattack.sqli:answered", facts={"answered_2xx": 2}
    )
    assert [i.kill_chain for i in correlate([scan, attempt], ORG)] == [()]
    assert [i.kill_chain for i in correlate([scan, attempt, answered], ORG)] == [
        ("recon_then_access",)
    ]
