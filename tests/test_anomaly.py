"""The streaming anomaly detector: a host that suddenly fans out is flagged, with reasons."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from detectors.alert import Alert
from detectors.anomaly import Anomaly, AnomalyConfig
from detectors.baselinemodel import BaselineModel, TrainingConfig, train
from detectors.hostwindows import WindowSpec, host_windows
from detectors.site import Site
from sensors.events import Flow
from tests.conftest import T0, build_flow
from tests.hostflows import CLIENTS, fan_out, ordinary

SITE = Site(internal=("10.0.0.0/8",), units=(("10.21.0.0/16", "hubin"),))
SCANNER = CLIENTS[3]


@pytest.fixture(scope="module")
def model() -> BaselineModel:
    rows = host_windows(ordinary(11, range(36)), SITE, WindowSpec())
    return train(rows, WindowSpec(), TrainingConfig(false_alarm_share=0.001, trees=50))


def _run(detector: Anomaly, flows: list[Flow]) -> list[Alert]:
    alerts = [a for flow in sorted(flows, key=lambda f: f.end) for a in detector.observe(flow)]
    return alerts + detector.flush(float("inf"))


def test_a_host_that_fans_out_is_flagged_for_its_peers_and_ports(model: BaselineModel) -> None:
    later = range(40, 46)  # after the training span
    flows = ordinary(12, later) + fan_out(SCANNER, 43)
    alerts = _run(Anomaly(AnomalyConfig(model=model, site=SITE)), flows)
    assert [(a.source_ip, a.first_seen) for a in alerts] == [(SCANNER, T0 + 43 * 300)]
    top = {alerts[0].facts[f"top{n}_feature"] for n in (1, 2, 3)}
    assert top & {"distinct_peers", "distinct_ports"}
    facts = alerts[0].facts
    assert float(facts["score"]) < float(facts["threshold"])
    assert facts["model_version"] == model.version and facts["window_seconds"] == 300.0


def test_alert_explains_window_score_and_threshold(model: BaselineModel) -> None:
    alerts = _run(Anomaly(AnomalyConfig(model=model, site=SITE)), fan_out(SCANNER, 50))
    (alert,) = alerts
    assert alert.detector == "anomaly" and alert.sensor == "cloud-core"
    assert f"below the baseline's threshold {float(alert.facts['threshold']):.3f}" in (
        alert.explanation
    )
    assert alert.identifier == f"anomaly.host_window:cloud-core:{SCANNER}"
    assert len(alert.evidence) == 10


def test_windows_close_as_event_time_passes(model: BaselineModel) -> None:
    detector = Anomaly(AnomalyConfig(model=model, site=SITE, lateness_seconds=60))
    for flow in fan_out(SCANNER, 50):
        assert detector.observe(flow) == []
    # A flow ending after the window's end plus the lateness closes it.
    closing = build_flow(start=T0 + 51 * 300 + 61, end=T0 + 51 * 300 + 61)
    assert [a.source_ip for a in detector.observe(closing)] == [SCANNER]
    assert detector.flush(T0 + 51 * 300 + 62) == []


def test_flows_of_scored_windows_are_counted_late(model: BaselineModel) -> None:
    detector = Anomaly(AnomalyConfig(model=model, site=SITE, lateness_seconds=0))
    detector.observe(build_flow(start=T0 + 3000, end=T0 + 3000))
    detector.observe(build_flow(start=T0, end=T0 + 1))
    assert detector.counters.late_flows == 1


def test_open_windows_are_capped_and_overflow_counted(model: BaselineModel) -> None:
    detector = Anomaly(AnomalyConfig(model=model, site=SITE, max_open=2))
    for n in range(5):
        detector.observe(build_flow(src_ip=f"10.21.9.{n}", dst_ip="203.0.113.9"))
    assert detector.counters.overflow == 3


def test_without_a_model_the_detector_is_inert() -> None:
    detector = Anomaly(AnomalyConfig(site=SITE))
    assert _run(detector, fan_out(SCANNER, 50)) == []
    assert detector.counters.late_flows == 0


@pytest.mark.parametrize(
    "change", [{"top_features": 0}, {"lateness_seconds": -1.0}, {"max_open": 0}]
)
def test_config_ranges_are_checked(change: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(change))):
        dataclasses.replace(AnomalyConfig(), **change)
