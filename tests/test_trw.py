"""Threshold Random Walk: literal flows in, alerts out."""

from __future__ import annotations

import pytest

from detectors.alert import Alert, Severity
from detectors.portscan import PortScan
from detectors.site import Site
from detectors.trw import ThresholdRandomWalk, TrwConfig
from nssa.baseline import ZEEK_SCAN
from sensors.events import TcpOutcome
from tests.conftest import T0, build_flow

SCANNER = "203.0.113.45"
FAIL, OK = TcpOutcome.REJECTED, TcpOutcome.CLOSED


def walk(
    outcomes: list[TcpOutcome], config: TrwConfig | None = None, gap: float = 1.0
) -> list[Alert]:
    detector = ThresholdRandomWalk(config or TrwConfig())
    flows = [
        build_flow(start=T0 + n * gap, src_ip=SCANNER, dst_ip=f"10.21.3.{n + 1}", outcome=o)
        for n, o in enumerate(outcomes)
    ]
    return [a for f in flows for a in detector.observe(f)] + detector.flush(float("inf"))


def test_four_failed_first_contacts_flag_a_scanner() -> None:
    alerts = walk([FAIL] * 10)
    assert [(a.rule, a.facts["first_contacts"], a.facts["likelihood_ratio"]) for a in alerts] == [
        ("scan.trw", 4, 256.0)
    ]
    assert alerts[0].identifier == f"scan.trw:{SCANNER}"
    assert alerts[0].facts["trace"] == "10.21.3.1:F 10.21.3.2:F 10.21.3.3:F 10.21.3.4:F"


def test_three_failures_are_not_enough() -> None:
    assert walk([FAIL] * 3) == []


def test_successes_clear_a_source_and_mixed_outcomes_stay_quiet() -> None:
    assert walk([OK, FAIL] * 20) == []


def test_repeat_contacts_to_one_host_are_one_trial() -> None:
    detector = ThresholdRandomWalk(TrwConfig())
    flows = [build_flow(src_ip=SCANNER, dst_port=p, outcome=FAIL) for p in range(100)]
    assert [a for f in flows for a in detector.observe(f)] == []


def test_a_slow_scan_over_hours_is_still_walked() -> None:
    alerts = walk([FAIL] * 5, gap=3 * 3600.0)
    assert [a.rule for a in alerts] == ["scan.trw"]


def test_state_expires_after_state_seconds() -> None:
    assert walk([FAIL] * 5, gap=2 * 86_400.0) == []


def test_dark_space_weighs_heavily_and_has_its_own_alert() -> None:
    site = Site(internal=("10.21.0.0/16",), assets=("10.21.3.200/29",))
    alerts = walk([FAIL] * 5, TrwConfig(site=site))
    assert [(a.rule, a.facts["first_contacts"]) for a in alerts] == [
        ("scan.trw", 2),
        ("scan.darkspace", 5),
    ]


def test_internal_sources_are_not_walked_by_default() -> None:
    site = Site(internal=("203.0.113.0/24",))
    assert walk([FAIL] * 10, TrwConfig(site=site)) == []
    assert walk([FAIL] * 10, TrwConfig(site=site, watch_internal=True)) != []


def test_benign_scanners_are_labelled_not_dropped() -> None:
    alerts = walk([FAIL] * 5, TrwConfig(site=Site(benign_scanners=(f"{SCANNER}/32",))))
    assert [(a.severity, a.facts["benign_scanner"]) for a in alerts] == [(Severity.LOW, 1)]


def test_sources_are_capped_and_evictions_counted() -> None:
    detector = ThresholdRandomWalk(TrwConfig(max_sources=3))
    for n in range(10):
        detector.observe(build_flow(src_ip=f"198.51.100.{n}", outcome=FAIL))
    assert (len(detector._walks), detector._walks.evictions) == (3, 7)


def test_config_errors_name_the_field() -> None:
    with pytest.raises(ValueError, match=r"^theta1: "):
        TrwConfig(theta1=0.9)


def test_horizontal_scan_is_flagged_at_four_hosts_where_zeek_needs_25() -> None:
    flows = [
        build_flow(
            start=T0 + n,
            src_ip=SCANNER,
            dst_ip=f"10.21.3.{n}",
            dst_port=445,
            outcome=TcpOutcome.UNANSWERED,
        )
        for n in range(1, 40)
    ]
    trw, zeek = ThresholdRandomWalk(TrwConfig()), PortScan(ZEEK_SCAN)
    first_trw = next(n for n, f in enumerate(flows, 1) if trw.observe(f))
    first_zeek = next(n for n, f in enumerate(flows, 1) if zeek.observe(f))
    assert (first_trw, first_zeek) == (4, 25)
