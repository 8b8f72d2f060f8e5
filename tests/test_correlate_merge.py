"""Correlation over time: incidents a later alert links are merged and the absorbed one is
marked superseded; repeats keep an incident's count and last_seen current; grouping keys."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

from correlator.correlate import CorrelatorConfig, _worst, correlate
from correlator.incident import Incident, IncidentStatus
from correlator.lifecycle import move, supersede, supersessions
from correlator.storage import IncidentQuery
from detectors.alert import Severity
from detectors.attack import Tactic
from nssa.correlated import Follower
from nssa.settings import Settings
from nssa.stores.elasticsearch import ElasticsearchStore
from nssa.stores.sqlite import SqliteStore
from tests.test_correlate import ATTACKER, HOST, ORG, alert, kill_chain, staged

SCAN, _, LOGIN, BEACON, _ = kill_chain()


def test_an_alert_linking_two_incidents_supersedes_the_absorbed_one() -> None:
    before = correlate([SCAN, BEACON], ORG)  # a scan by the attacker; the host beacons
    after = correlate([SCAN, BEACON, LOGIN], ORG)  # a late login links them: one attack
    (merged,) = after
    scan_incident = next(i for i in before if i.entity == f"net:{ATTACKER}")
    beacon_incident = next(i for i in before if i.entity == f"host:{HOST}")
    assert merged.id == scan_incident.id  # the first alert still leads
    assert supersessions(before, after) == {beacon_incident.id: merged.id}


def test_standing_and_aged_out_incidents_are_not_superseded() -> None:
    incidents = correlate([SCAN, BEACON], ORG)
    assert supersessions(incidents, incidents) == {}
    assert supersessions(incidents, []) == {}  # all their alerts forgotten: no survivor


def test_the_survivor_is_the_incident_holding_most_alerts() -> None:
    old = correlate([alert(float(n), ATTACKER, HOST) for n in range(3)], ORG)[0]
    one, two = (dataclasses.replace(old, id=f"i-{n}", alert_ids=()) for n in (1, 2))
    one = dataclasses.replace(one, alert_ids=old.alert_ids[:1])
    two = dataclasses.replace(two, alert_ids=old.alert_ids[1:])
    gone = dataclasses.replace(old, id="i-gone")
    assert supersessions([gone], [one, two]) == {"i-gone": "i-2"}


def test_a_superseded_incident_keeps_its_trail_and_round_trips() -> None:
    (incident,) = correlate([SCAN], ORG)
    assert "superseded_by" not in incident.to_ecs()["nssa"]["incident"]  # goldens unchanged
    moved = move(incident, IncidentStatus.INVESTIGATING, who="analyst", when=5.0)
    absorbed = supersede(moved, "i-survivor")
    assert (absorbed.status, absorbed.history) == (moved.status, moved.history)
    assert Incident.from_ecs(absorbed.to_ecs()) == absorbed
    assert absorbed.superseded_by == "i-survivor"


def test_the_daemon_marks_the_absorbed_incident_superseded(
    store: SqliteStore | ElasticsearchStore,
) -> None:
    follower = Follower(Settings(organisation=ORG), store)
    store.put_alerts([SCAN, BEACON])
    follower.catch_up()
    store.put_alerts([LOGIN])
    follower.catch_up()
    stored = {i.entity: i for i in store.incidents(IncidentQuery())}
    survivor, absorbed = stored[f"net:{ATTACKER}"], stored[f"host:{HOST}"]
    assert (survivor.alert_count, survivor.superseded_by) == (3, None)
    assert absorbed.superseded_by == survivor.id
    assert store.incident(absorbed.id) == absorbed


def test_the_daemon_updates_counts_beyond_the_listed_alert_ids(tmp_path: Path) -> None:
    settings = Settings(organisation=ORG, correlator=CorrelatorConfig(max_alerts_per_incident=1))
    first, repeat = alert(1.0, ATTACKER, HOST), alert(2.0, ATTACKER, HOST)
    with SqliteStore(tmp_path / "nssa.db") as db:
        follower = Follower(settings, db)
        db.put_alerts([first])
        follower.catch_up()
        db.put_alerts([repeat])  # its id is past the one listed: only the figures move
        follower.catch_up()
        (incident,) = db.incidents(IncidentQuery())
    assert (incident.alert_count, incident.last_seen, incident.alert_ids) == (2, 2.0, (first.id,))


def test_folded_repeats_move_count_and_last_seen_but_not_the_score() -> None:
    repeats = [
        dataclasses.replace(alert(float(n), ATTACKER, HOST), last_seen=n + 0.5) for n in range(10)
    ]
    (single,) = correlate(repeats[:1], ORG)
    (incident,) = correlate(repeats, ORG)
    assert (incident.alert_count, incident.last_seen) == (10, 9.5)
    assert incident.risk_score == single.risk_score


def test_scans_of_one_source_are_one_incident_and_other_sources_stay_apart() -> None:
    other = "198.51.100.7"
    scans = [
        staged(1.0, ATTACKER, HOST, Tactic.RECONNAISSANCE, detector="portscan"),
        staged(2.0, ATTACKER, None, Tactic.RECONNAISSANCE, detector="trw"),
        staged(3.0, ATTACKER, None, Tactic.DISCOVERY, detector="probescan"),
        staged(4.0, other, HOST, Tactic.RECONNAISSANCE, detector="portscan"),
    ]
    incidents = correlate(scans, ORG)
    assert sorted((i.attackers, i.alert_count) for i in incidents) == [
        ((other,), 1),
        ((ATTACKER,), 3),
    ]


def test_repeated_guessing_windows_against_one_service_are_one_incident() -> None:
    windows = [
        staged(
            t,
            ATTACKER,
            HOST,
            Tactic.CREDENTIAL_ACCESS,
            detector="bruteforce",
            rule="bruteforce.flows",
            ident=f"bruteforce.flows:{ATTACKER}:{HOST}:22",
        )
        for t in (0.0, 7200.0, 14_400.0)  # further apart than the dedup window
    ]
    (incident,) = correlate(windows, ORG)
    assert incident.alert_count == 3 and incident.entity == f"auth:{ATTACKER}:?"


def test_the_worst_alert_is_the_latest_most_severe_first_listed() -> None:
    rng = random.Random(3)
    for _ in range(200):
        alerts = sorted(
            (
                dataclasses.replace(
                    alert(float(rng.randrange(5)), ATTACKER, HOST),
                    severity=rng.choice(list(Severity)),
                    explanation=str(n),
                )
                for n in range(rng.randrange(1, 8))
            ),
            key=lambda a: a.time,
        )
        expected = max(alerts, key=lambda a: (a.severity.rank, a.time))
        assert _worst(alerts) is expected
