"""Beacon detector: RITA sub-scores on literal tables, and flows in, alerts out."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import pytest

from detectors import beaconscore as bs
from detectors.beacon import Beacon, BeaconConfig
from sensors.events import Flow, HttpRequest, TcpOutcome, TlsHello, Transport


def flow(
    t: float,
    dst: str = "198.51.100.77",
    port: int = 443,
    size: int = 3000,
    beats: tuple[float, ...] | None = None,
) -> Flow:
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
        beats=beats,
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


def run(
    events: Sequence[Flow | TlsHello | HttpRequest], **config: object
) -> list[tuple[str, str, str]]:
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


def test_histogram_of_a_short_exact_beacon_is_flat() -> None:
    times = [60.0 * n for n in range(11)]  # ten minutes: too few events for 24 bins
    assert bs.histogram_score(times, 0.0, 600.0) > 0.8


def test_beacon_with_missed_beats_still_scores() -> None:
    rng = random.Random(3)
    kept = [t for t in beacon_times(60.0, 0.1, 120) if rng.random() > 0.3]
    assert [r[0] for r in run([flow(t) for t in kept])] == ["beacon.c2"]


def test_keepalive_inside_one_long_connection_is_a_beacon() -> None:
    beats = tuple(round(20.0 * n + (n % 3) * 0.4, 3) for n in range(40))
    alerts = run([flow(1000.0, port=7010, beats=beats)])
    assert alerts == [("beacon.c2", "beacon:10.25.2.30->198.51.100.77:7010", "high")]


def test_a_session_with_a_few_pauses_is_not_a_channel() -> None:
    sessions = [flow(3600.0 * n, port=22, beats=(0.0, 15.0, 30.0, 45.0, 60.0)) for n in range(3)]
    assert run(sessions) == []


def test_bursty_browsing_is_not_a_beacon() -> None:
    rng, t, events = random.Random(11), 0.0, list[Flow]()
    for _ in range(30):  # page loads: a handful of connections, then minutes of reading
        t += rng.expovariate(1 / 240.0)
        events += [flow(t + rng.uniform(0, 3), size=rng.randint(500, 90_000)) for _ in range(6)]
    events.sort(key=lambda e: e.start)
    assert run(events) == []


def test_random_arrivals_of_identical_requests_are_not_a_beacon() -> None:
    rng, t, times = random.Random(4), 0.0, []
    for _ in range(60):
        t += rng.expovariate(1 / 120.0)
        times.append(t)
    events = [flow(x) for x in times]  # same size every time, spread over the whole span
    assert run(events) == []
    assert run(events, min_timestamp_score=0.0) != []  # the interval floor is what stops it


def test_http_requests_and_their_flows_give_one_alert() -> None:
    times = beacon_times(60.0, 0.05, 60)
    requests = [
        HttpRequest(
            time=t,
            sensor="s",
            src_ip="10.25.2.30",
            src_port=50000,
            dst_ip="198.51.100.77",
            dst_port=80,
            method="POST",
            host="c2.example",
            uri="/beacon",
            request_bytes=300,
            response_bytes=900,
        )
        for t in times
    ]
    flows = [flow(t + 0.001, port=80) for t in times]
    events: list[Flow | HttpRequest] = sorted([*requests, *flows], key=event_time)
    assert [r[1] for r in run(events)] == ["beacon:10.25.2.30->198.51.100.77:80"]


def event_time(event: Flow | HttpRequest) -> float:
    return event.start if isinstance(event, Flow) else event.time


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("min_connections", 3),
        ("base_score", 0.9),
        ("allow_ports", (70000,)),
        ("min_timestamp_score", 1.5),
    ],
)
def test_config_is_range_checked(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"^{field}: "):
        BeaconConfig(**{field: value})  # type: ignore[arg-type]


def test_flows_to_an_allowlisted_name_are_not_scored() -> None:
    hello = TlsHello(
        time=0.0,
        sensor="s",
        src_ip="10.25.2.30",
        src_port=5,
        dst_ip="198.51.100.77",
        dst_port=443,
        server_name="v10.events.data.time.windows.com",
    )
    flows = [flow(t) for t in beacon_times(60.0, 0.1, 100)]
    assert run([hello, *flows]) == []
    assert run(flows) != []
