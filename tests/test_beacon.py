"""Beacon detector: RITA sub-scores on literal tables, and flows in, alerts out."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import pytest

from detectors import beaconscore as bs
from detectors.beacon import Beacon, BeaconConfig
from sensors.events import Flow, TcpOutcome, TlsHello, Transport


def flow(t: float, dst: str = "198.51.100.77", port: int = 443, size: int = 3000) -> Flow:
    return Flow(
        start=t,
        end=t + 1,
        sensor="s",
        src_ip="10.25.2.30",
        src_port=50000,
        dst_ip=dst,
        dst_port=port,
        transport=Transport.TCP,
        packets_out=7,
        packets_in=6,
        bytes_out=size // 2,
        bytes_in=size - size // 2,
        outcome=TcpOutcome.CLOSED,
    )


def beacon_times(period: float, jitter: float, n: int, seed: int = 7) -> list[float]:
    rng, t, times = random.Random(seed), 0.0, []
    for _ in range(n):
        t += period * (1 + rng.uniform(-jitter, jitter))
        times.append(t)
    return times


@pytest.mark.parametrize(
    ("values", "skew"),
    [([1, 2, 3, 4, 5], 0.0), ([10, 20, 30, 100, 200], 0.75), ([0, 10, 12, 15, 100], 0.0)],
)
def test_bowley_skewness(values: list[float], skew: float) -> None:
    assert bs.bowley_skewness(values, iqr_floor=10.0) == pytest.approx(skew, abs=0.01)


def test_mad_and_regularity() -> None:
    assert bs.mad([60, 60, 61, 59, 120]) == 1.0
    assert bs.regularity([60.0] * 10, iqr_floor=10.0) == 1.0


def test_periodogram_finds_a_jittered_period() -> None:
    found = bs.periodogram(beacon_times(60.0, 0.3, 120), hint=60.0)
    assert found is not None and found.p_value < 1e-2
    assert found.period == pytest.approx(60.0, rel=0.1)


def test_periodogram_of_random_arrivals_is_not_significant() -> None:
    rng = random.Random(5)
    times = sorted(rng.uniform(0, 7200) for _ in range(120))
    found = bs.periodogram(times, hint=60.0)
    assert found is not None and found.p_value > 1e-3


def run(events: Sequence[Flow | TlsHello], **config: object) -> list[tuple[str, str, str]]:
    detector = Beacon(BeaconConfig(**config))  # type: ignore[arg-type]
    alerts = [a for e in events for a in detector.observe(e)] + detector.flush(math.inf)
    return [(a.rule, a.identifier, str(a.facts["band"])) for a in alerts]


def test_sixty_second_beacon_with_ten_percent_jitter() -> None:
    events = [flow(t) for t in beacon_times(60.0, 0.1, 100)]
    assert run(events) == [("beacon.c2", "beacon:10.25.2.30->198.51.100.77:443", "medium")]


def test_thirty_percent_jitter_still_scores() -> None:
    events = [flow(t, size=3000 + n % 7 * 40) for n, t in enumerate(beacon_times(60.0, 0.3, 100))]
    assert [r[0] for r in run(events)] == ["beacon.c2"]


def test_random_browsing_is_not_a_beacon() -> None:
    rng = random.Random(9)
    times = sorted(rng.uniform(0, 7200) for _ in range(40))
    assert run([flow(t, size=rng.randint(500, 90_000)) for t in times]) == []


def test_allowlisted_ntp_is_never_scored() -> None:
    events = [flow(t, dst="203.0.113.5", port=123) for t in beacon_times(64.0, 0.0, 100)]
    assert run(events) == []


def test_sni_pairs_are_scored_without_sizes() -> None:
    hellos = [
        TlsHello(
            time=t,
            sensor="s",
            src_ip="10.25.2.30",
            src_port=5,
            dst_ip="198.51.100.77",
            dst_port=443,
            server_name="update.cloudsvc.example.com",
        )
        for t in beacon_times(60.0, 0.1, 60)
    ]
    assert [r[1] for r in run(hellos)] == ["beacon:10.25.2.30->update.cloudsvc.example.com (SNI)"]


@pytest.mark.parametrize(
    ("field", "value"), [("min_connections", 3), ("base_score", 0.9), ("allow_ports", (70000,))]
)
def test_config_is_range_checked(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"^{field}: "):
        BeaconConfig(**{field: value})  # type: ignore[arg-type]
