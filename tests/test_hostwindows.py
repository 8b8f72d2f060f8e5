"""Host-window features: exact values on literal flows, and the stream computes the same."""

from __future__ import annotations

import pandas as pd
import pytest

from detectors.hostwindows import (
    FEATURES,
    PeerHistory,
    WindowSpec,
    WindowTally,
    host_windows,
    sides,
)
from detectors.site import Site
from sensors.events import Flow, TcpOutcome, Transport
from tests.conftest import T0, build_flow

SITE = Site(internal=("10.0.0.0/8",), units=(("10.21.0.0/16", "hubin"), ("10.21.3.0/24", "ward")))
SPEC = WindowSpec(window_seconds=300.0, history_windows=2)


def _row(frame: pd.DataFrame, host: str, window: float) -> dict[str, object]:
    match = frame[(frame["host"] == host) & (frame["window"] == window)]
    assert len(match) == 1
    return dict(match.iloc[0])


def test_one_window_of_one_host_has_exact_counts() -> None:
    flows = [
        build_flow(dst_ip="10.10.2.15", dst_port=443, bytes_out=100, bytes_in=1000),
        build_flow(
            start=T0 + 10,
            dst_ip="10.10.2.15",
            dst_port=80,
            bytes_out=50,
            bytes_in=0,
            packets_out=1,
            packets_in=1,
            outcome=TcpOutcome.REJECTED,
        ),
        build_flow(
            start=T0 + 20,
            dst_ip="198.51.100.9",
            dst_port=443,
            packets_out=2,
            packets_in=0,
            bytes_out=120,
            bytes_in=0,
            outcome=TcpOutcome.UNANSWERED,
        ),
        build_flow(
            start=T0 + 30,
            src_ip="203.0.113.7",
            dst_ip="10.21.3.4",
            dst_port=22,
            bytes_out=300,
            bytes_in=700,
            packets_out=5,
            packets_in=6,
        ),
    ]
    row = _row(host_windows(flows, SITE, SPEC), "10.21.3.4", T0)
    assert {k: row[k] for k in ("link", "unit", *FEATURES)} == {
        "link": "cloud-core",
        "unit": "ward",  # the most specific unit's network wins
        "initiated": 3.0,
        "received": 1.0,
        "distinct_peers": 3.0,
        "distinct_ports": 2.0,  # ports it contacted, not the port it was reached on
        "bytes_out": 100 + 50 + 120 + 700.0,
        "bytes_in": 1000 + 0 + 0 + 300.0,
        "packets": 22 + 2 + 2 + 11.0,
        "failure_ratio": pytest.approx(2 / 3),
        "new_peer_share": 1.0,
    }


def test_both_local_ends_get_a_row_and_external_hosts_none() -> None:
    frame = host_windows([build_flow(), build_flow(src_ip="203.0.113.7")], SITE, SPEC)
    assert sorted(frame["host"]) == ["10.10.2.15", "10.21.3.4"]
    server = _row(frame, "10.10.2.15", T0)
    assert (server["initiated"], server["received"], server["bytes_out"]) == (0.0, 2.0, 18000.0)


def test_new_peer_share_remembers_only_recent_windows() -> None:
    peers = {0: ["10.10.0.1", "10.10.0.2"], 1: ["10.10.0.1", "10.10.0.3"], 4: ["10.10.0.2"]}
    flows = [
        build_flow(start=T0 + 300 * w, dst_ip=peer) for w, names in peers.items() for peer in names
    ]
    frame = host_windows(flows, SITE, SPEC)
    shares = [_row(frame, "10.21.3.4", T0 + 300 * w)["new_peer_share"] for w in peers]
    # window 1: .3 is new, .1 is known; window 4: .2 last met 4 windows ago > history of 2
    assert shares == [1.0, 0.5, 1.0]


def test_without_a_map_private_addresses_are_local() -> None:
    flow = build_flow(src_ip="192.168.1.10", dst_ip="8.8.8.8", transport=Transport.UDP)
    assert [s.host for s in sides(flow, Site())] == ["192.168.1.10"]


def test_empty_batch_gives_an_empty_frame_with_the_schema() -> None:
    frame = host_windows([], SITE, SPEC)
    assert list(frame.columns) == ["link", "host", "unit", "window", *FEATURES] and frame.empty


def test_stream_tallies_equal_the_batch_rows() -> None:
    flows = [
        build_flow(
            start=T0 + 37.0 * i,
            src_ip=f"10.21.3.{i % 3}",
            dst_ip=f"10.10.{i % 5}.{i % 7}",
            dst_port=[22, 80, 443, 8080][i % 4],
            bytes_out=10 * i,
            outcome=TcpOutcome.REJECTED if i % 6 == 0 else TcpOutcome.CLOSED,
        )
        for i in range(120)
    ]
    batch = host_windows(flows, SITE, SPEC)
    streamed = _stream(flows)
    assert len(streamed) == len(batch)
    for _, row in batch.iterrows():
        key = (row["host"], row["window"])
        assert streamed[key] == pytest.approx(tuple(row[name] for name in FEATURES)), key


def _stream(flows: list[Flow]) -> dict[tuple[str, float], tuple[float, ...]]:
    tallies: dict[tuple[str, float], WindowTally] = {}
    for flow in flows:
        for side in sides(flow, SITE):
            key = (side.host, SPEC.window_of(flow.start))
            tallies.setdefault(key, WindowTally(start=key[1], max_items=100)).add(side)
    histories: dict[str, PeerHistory] = {}
    out = {}
    for key in sorted(tallies, key=lambda k: (k[1], k[0])):
        history = histories.setdefault(key[0], PeerHistory(SPEC))
        out[key] = tallies[key].features(history)
    return out


@pytest.mark.parametrize("field", ["window_seconds", "history_windows", "max_peers_remembered"])
def test_spec_ranges_are_checked(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        WindowSpec(**{field: 0})
