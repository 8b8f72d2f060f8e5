"""Campaigns: one rule sprayed at one victim by many sources becomes one incident."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask, g

from correlator.campaign import Campaign, Candidate, fold
from correlator.correlate import CorrelatorConfig, correlate
from correlator.incident import Family
from correlator.organisation import OrganisationMap, Unit, UnitKind
from correlator.storage import IncidentQuery
from dashboard.i18n import incident_title, init_app
from detectors.alert import Alert, Fact, Severity
from detectors.attack import Tactic
from nssa.correlated import Follower
from nssa.errors import ConfigError
from nssa.settings import Settings, load_settings
from nssa.stores.sqlite import SqliteStore

ORG = OrganisationMap(
    (
        Unit(code="smx", name="三门峡市", kind=UnitKind.CITY),
        Unit(
            code="hubin",
            name="湖滨区",
            kind=UnitKind.DISTRICT,
            parent="smx",
            subnets=("10.21.0.0/16",),
        ),
    )
)
VICTIM = "10.21.3.25"
SOURCES = ("203.0.113.7", "198.51.100.20", "192.0.2.33", "203.0.113.99")


def exploit(
    t: float,
    src: str,
    dst: str = VICTIM,
    *,
    technique: str = "T1190",
    tactic: Tactic = Tactic.INITIAL_ACCESS,
    facts: dict[str, Fact] | None = None,
) -> Alert:
    """An IDS exploit attempt (no sign of success unless ``facts`` says so)."""
    return Alert(
        time=t,
        first_seen=t,
        last_seen=t,
        detector="ids",
        rule="ids.suricata",
        severity=Severity.MEDIUM,
        source_ip=src,
        destination_ip=dst,
        destinations=(dst,),
        tactic=tactic,
        technique=technique,
        identifier=f"ids:2019401:{src}:{dst}:{t}",
        explanation="x",
        facts=dict(facts or {}),
    )


def guessing(t: float, src: str, rule: str, tactic: Tactic) -> Alert:
    """A password-guessing (or, with ``bruteforce.compromise``, login) alert on the victim."""
    return Alert(
        time=t,
        first_seen=t,
        last_seen=t,
        detector="bruteforce",
        rule=rule,
        severity=Severity.MEDIUM,
        source_ip=src,
        destination_ip=VICTIM,
        tactic=tactic,
        technique="T1110",
        identifier=f"{rule}:{src}",
        explanation="x",
        facts={"user": "root"},
    )


def test_many_sources_of_one_rule_against_one_victim_are_one_campaign() -> None:
    alerts = [exploit(100.0 + 60 * n, src) for n, src in enumerate(SOURCES)]
    (incident,) = correlate(alerts, ORG)
    assert incident.entity == f"campaign:ids.suricata:T1190:{VICTIM}"
    assert incident.attackers == SOURCES  # every source kept, in first-seen order
    assert incident.victims == (VICTIM,) and incident.alert_count == 4
    assert incident.family is Family.NETWORK and incident.kill_chain == ()
    assert incident.title.endswith(f"4 sources → {VICTIM}")
    assert incident.to_ecs()["nssa"]["incident"]["attackers"] == list(SOURCES)


def test_campaign_id_is_stable_under_reordering() -> None:
    alerts = [exploit(100.0 + 60 * n, src) for n, src in enumerate(SOURCES)]
    assert correlate(alerts, ORG)[0].id == correlate(list(reversed(alerts)), ORG)[0].id


def test_below_the_threshold_sources_stay_apart() -> None:
    incidents = correlate([exploit(100.0, SOURCES[0]), exploit(200.0, SOURCES[1])], ORG)
    assert sorted(i.entity for i in incidents) == sorted(f"net:{s}" for s in SOURCES[:2])


def test_zero_turns_campaigns_off() -> None:
    alerts = [exploit(100.0 + n, src) for n, src in enumerate(SOURCES)]
    config = CorrelatorConfig(campaign_min_sources=0)
    assert len(correlate(alerts, ORG, config)) == len(SOURCES)


def test_a_source_that_escalates_keeps_its_own_incident() -> None:
    intruder = SOURCES[0]
    alerts = [exploit(100.0 + 60 * n, src) for n, src in enumerate(SOURCES)]
    alerts += [
        guessing(400.0, intruder, "bruteforce.auth", Tactic.CREDENTIAL_ACCESS),
        guessing(500.0, intruder, "bruteforce.compromise", Tactic.INITIAL_ACCESS),
    ]
    incidents = correlate(alerts, ORG)
    (intrusion,) = [i for i in incidents if i.kill_chain]
    (campaign,) = [i for i in incidents if i.entity.startswith("campaign:")]
    assert intrusion.attackers == (intruder,)
    assert campaign.attackers == SOURCES[1:]  # its exploit attempt is not hidden among them
    assert [i.entity for i in incidents if intruder in i.attackers] == [
        intrusion.entity,
        f"net:{intruder}",
    ]


def test_a_successful_exploit_is_never_folded() -> None:
    alerts = [exploit(100.0 + 60 * n, src) for n, src in enumerate(SOURCES[1:])]
    alerts.append(exploit(300.0, SOURCES[0], facts={"answered_2xx": 1}))
    incidents = correlate(alerts, ORG)
    assert len(incidents) == 2
    (alone,) = [i for i in incidents if i.entity == f"net:{SOURCES[0]}"]
    assert alone.attackers == (SOURCES[0],)


def test_different_victims_or_techniques_stay_apart() -> None:
    victims = [exploit(100.0 + n, src, f"10.21.3.{n + 1}") for n, src in enumerate(SOURCES)]
    assert len(correlate(victims, ORG)) == len(SOURCES)
    techniques = ("T1190", "T1595", "T1068", "T1046")
    mixed = [
        exploit(100.0 + n, s, technique=t)
        for n, (s, t) in enumerate(zip(SOURCES, techniques, strict=True))
    ]
    assert len(correlate(mixed, ORG)) == len(SOURCES)


def test_a_source_mixing_rules_stays_out() -> None:
    alerts = [exploit(100.0 + 60 * n, src) for n, src in enumerate(SOURCES)]
    alerts.append(exploit(150.0, SOURCES[0], technique="T1595", tactic=Tactic.RECONNAISSANCE))
    incidents = correlate(alerts, ORG)
    (campaign,) = [i for i in incidents if i.entity.startswith("campaign:")]
    assert campaign.attackers == SOURCES[1:] and len(incidents) == 2


def test_sources_further_apart_than_the_window_stay_apart() -> None:
    hours = [exploit(7200.0 * n, src) for n, src in enumerate(SOURCES[:3])]
    assert len(correlate(hours, ORG)) == 3
    wider = CorrelatorConfig(campaign_window=3 * 3600.0)
    assert len(correlate(hours, ORG, wider)) == 1


def test_a_late_burst_is_a_second_campaign() -> None:
    first = [exploit(100.0 + n, src) for n, src in enumerate(SOURCES[:3])]
    later = [exploit(20_000.0 + n, src) for n, src in enumerate(SOURCES[1:])]
    incidents = correlate(first + later, ORG)
    # Each source's alerts stay in their own entity group (one day's gap), so the sources of
    # the second burst are already in the first campaign's groups: one campaign, both bursts.
    assert [i.alert_count for i in incidents] == [6]
    unlinked = [exploit(100.0 + n, f"192.0.2.{n}") for n in range(3)]
    unlinked += [exploit(20_000.0 + n, f"198.51.100.{n}") for n in range(3)]
    assert sorted(i.alert_count for i in correlate(unlinked, ORG)) == [3, 3]


def test_fold_is_a_partition_in_input_order() -> None:
    key = Campaign(rule="r", technique="T1190", victim=VICTIM)
    candidates = [
        Candidate(key=None, attacker="a", first_seen=0.0, last_seen=1.0),
        Candidate(key=key, attacker="b", first_seen=5.0, last_seen=6.0),
        Candidate(key=key, attacker="c", first_seen=2.0, last_seen=3.0),
        Candidate(key=key, attacker="d", first_seen=8.0, last_seen=9.0),
    ]
    folds = fold(candidates, min_sources=3, window=10.0)
    assert [f.members for f in folds] == [(0,), (1, 2, 3)]
    assert folds[1].campaign == key and folds[0].campaign is None
    assert [f.members for f in fold(candidates, min_sources=4, window=10.0)] == [
        (0,),
        (1,),
        (2,),
        (3,),
    ]


def test_campaign_settings_are_range_checked() -> None:
    with pytest.raises(ValueError, match="campaign_min_sources"):
        CorrelatorConfig(campaign_min_sources=1)
    with pytest.raises(ValueError, match="campaign_window"):
        CorrelatorConfig(campaign_window=10.0)


def test_campaign_settings_load_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "nssa.toml"
    path.write_text("[correlator]\ncampaign_min_sources = 5\ncampaign_window = 600\n")
    config = load_settings(path).correlator
    assert (config.campaign_min_sources, config.campaign_window) == (5, 600.0)
    path.write_text("[correlator]\ncampaign_min_sources = 1\n")
    with pytest.raises(ConfigError, match="campaign_min_sources"):
        load_settings(path)


@pytest.mark.parametrize(
    ("language", "title"),
    [("en", f"IDS alert: 4 sources → {VICTIM}"), ("zh-CN", f"入侵检测告警：4 个攻击源 → {VICTIM}")],
)
def test_dashboard_title_counts_the_sources(language: str, title: str) -> None:
    (incident,) = correlate([exploit(100.0 + n, s) for n, s in enumerate(SOURCES)], ORG)
    app = Flask(__name__)
    init_app(app)  # the catalogues
    with app.test_request_context():
        g.nssa_lang = language
        assert incident_title(incident) == title


def test_the_daemon_retires_per_source_incidents_into_the_campaign(tmp_path: Path) -> None:
    alerts = [exploit(100.0 + 60 * n, src) for n, src in enumerate(SOURCES)]
    with SqliteStore(tmp_path / "nssa.db") as store:
        store.put_alerts(alerts[:2])  # two sources: below the threshold, two incidents
        follower = Follower(Settings(organisation=ORG), store)
        follower.catch_up()
        store.put_alerts(alerts[2:])
        follower.catch_up()
        stored = store.incidents(IncidentQuery())
        by_source = store.incidents(IncidentQuery(attacker=SOURCES[3]))
    (campaign,) = correlate(alerts, ORG)
    assert [i for i in stored if i.superseded_by is None] == [campaign]
    retired = [i for i in stored if i.superseded_by == campaign.id]
    assert sorted(i.attackers for i in retired) == sorted((s,) for s in SOURCES[:2])
    assert by_source == [campaign]  # any source finds the campaign it is part of
