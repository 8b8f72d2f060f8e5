"""Flood detector: literal flows in, alerts out."""

from __future__ import annotations

import pytest

from detectors.alert import Alert
from detectors.attack import Tactic
from detectors.flood import Flood, FloodConfig
from sensors.events import Flow, TcpOutcome, Transport

VICTIM = "10.10.2.80"


def syn(
    t: float,
    src: str = "192.0.2.10",
    dst: str = VICTIM,
    port: int = 443,
    outcome: TcpOutcome = TcpOutcome.UNANSWERED,
    flags_in: str = "",
) -> Flow:
    return Flow(
        start=t,
        end=t,
        sensor="s",
        src_ip=src,
        src_port=40000,
        dst_ip=dst,
        dst_port=port,
        transport=Transport.TCP,
        packets_out=1,
        packets_in=1 if flags_in else 0,
        bytes_out=54,
        bytes_in=54 if flags_in else 0,
        outcome=outcome,
        flags_out="S",
        flags_in=flags_in,
    )


def pings(t: float, packets: int, seconds: float, transport: Transport = Transport.ICMP) -> Flow:
    return Flow(
        start=t,
        end=t + seconds,
        sensor="s",
        src_ip="192.0.2.7",
        src_port=0,
        dst_ip=VICTIM,
        dst_port=0,
        transport=transport,
        packets_out=packets,
        packets_in=0,
        bytes_out=98 * packets,
        bytes_in=0,
        outcome=TcpOutcome.NOT_TCP,
    )


def run(flows: list[Flow], config: FloodConfig | None = None) -> list[Alert]:
    detector = Flood(config or FloodConfig())
    alerts = [a for f in flows for a in detector.observe(f)]
    return alerts + detector.flush(float("inf"))


def test_single_source_syn_flood_names_the_victim() -> None:
    alerts = run([syn(n / 100) for n in range(200)])
    assert [(a.rule, a.destination_ip, a.source_ip) for a in alerts] == [
        ("flood.syn", VICTIM, "192.0.2.10")
    ]
    alert = alerts[0]
    assert alert.facts["unpaired_syns"] == 200 and alert.facts["kind"] == "direct single-port"
    assert alert.tactic is Tactic.IMPACT and alert.technique == "T1499.001"


def test_spoofed_flood_is_named_by_its_source_entropy() -> None:
    flows = [syn(n / 100, src=f"100.{n % 200}.{n // 200}.9") for n in range(400)]
    alerts = run(flows)
    assert [(a.rule, a.destination_ip) for a in alerts] == [("flood.syn", VICTIM)]
    assert alerts[0].facts["kind"] == "spoofed-source single-port"
    assert alerts[0].source_ip is None and alerts[0].technique == "T1499.001"


def test_random_destination_flood_is_caught_site_wide() -> None:
    flows = [syn(n / 100, src=f"100.0.{n}.9", dst=f"10.10.{n}.1") for n in range(100)]
    alerts = run(flows)
    assert [(a.rule, a.identifier, a.destination_ip, a.technique) for a in alerts] == [
        ("flood.syn", "flood.syn:*", None, "T1498.001")
    ]


def test_handshakes_that_close_are_paired_and_never_flood() -> None:
    closed = [syn(n / 100, outcome=TcpOutcome.CLOSED, flags_in="SAF") for n in range(2000)]
    refused = [syn(n / 100, outcome=TcpOutcome.REJECTED, flags_in="R") for n in range(500)]
    assert run(closed + refused) == []


def test_a_vertical_scan_of_filtered_ports_is_left_to_the_scan_detectors() -> None:
    assert run([syn(n / 100, port=1 + n) for n in range(1000)]) == []


def test_a_few_retries_to_a_dead_server_are_not_a_flood() -> None:
    assert run([syn(float(n)) for n in range(20)]) == []


def test_icmp_flood_by_packet_rate() -> None:
    alerts = run([pings(0.0, 5000, 2.0), pings(10.0, 3, 2.0)])
    assert [(a.rule, a.destination_ip, a.facts["transport"]) for a in alerts] == [
        ("flood.rate", VICTIM, "icmp")
    ]
    assert alerts[0].facts["packets_per_second"] == 2500.0


def test_ordinary_pings_stay_under_the_rate() -> None:
    assert run([pings(float(n), 1, 0.0) for n in range(100)]) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("interval_seconds", 0.0), ("cusum_threshold", 0.0), ("scan_share", 2.0)],
)
def test_config_rejects_out_of_range(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=f"^{field}: "):
        FloodConfig(**{field: value})  # type: ignore[arg-type]


def test_destinations_are_capped_and_evictions_counted() -> None:
    detector = Flood(FloodConfig(max_destinations=5))
    for n in range(20):
        detector.observe(syn(float(n), dst=f"10.0.0.{n}"))
    assert len(detector._targets) == 5 and detector.evictions == 16


def datagrams(t: float, packets: int, dst: str, src: str = "0.0.0.0", port: int = 67) -> Flow:
    return Flow(
        start=t,
        end=t + 0.5,
        sensor="s",
        src_ip=src,
        src_port=68,
        dst_ip=dst,
        dst_port=port,
        transport=Transport.UDP,
        packets_out=packets,
        packets_in=0,
        bytes_out=286 * packets,
        bytes_in=0,
        outcome=TcpOutcome.UNANSWERED,
    )


def test_a_broadcast_request_flood_is_held_to_the_link_wide_rate() -> None:
    alerts = run([datagrams(0.0, 5000, "255.255.255.255")])
    assert [(a.rule, a.destination_ip, a.source_ip, a.facts["scope"]) for a in alerts] == [
        ("flood.rate", "255.255.255.255", "0.0.0.0", "link-wide")
    ]
    assert alerts[0].facts["packets_threshold"] == 1000.0
    assert alerts[0].technique == "T1498.001"


def test_the_same_rate_to_one_host_is_not_a_flood() -> None:
    assert run([datagrams(0.0, 5000, VICTIM, port=514)]) == []


def test_discovery_chatter_to_link_local_multicast_stays_under_the_rate() -> None:
    mdns = [datagrams(n / 10, 20, "224.0.0.251", src="10.10.2.9", port=5353) for n in range(100)]
    assert run(mdns) == []


def test_a_rate_flood_from_many_forged_senders_is_named_spoofed() -> None:
    flows = [
        Flow(
            start=n / 30_000,
            end=n / 30_000,
            sensor="s",
            src_ip=f"100.{n % 250}.{n // 250 % 250}.1",
            src_port=1024 + n % 60_000,
            dst_ip=VICTIM,
            dst_port=53,
            transport=Transport.UDP,
            packets_out=1,
            packets_in=0,
            bytes_out=60,
            bytes_in=0,
            outcome=TcpOutcome.UNANSWERED,
        )
        for n in range(25_000)
    ]
    alerts = run(flows)
    assert [(a.rule, a.destination_ip, a.source_ip) for a in alerts] == [
        ("flood.rate", VICTIM, None)
    ]
    assert alerts[0].facts["kind"] == "spoofed-source single-port"
    assert float(alerts[0].facts["source_entropy"]) > 0.9


def handshakes_and_flood(multiple: float) -> list[Flow]:
    """20 completed handshakes a second for 11 minutes; unanswered SYNs at ``multiple`` of
    that rate from forged sources in the last one."""
    closed = [
        syn(
            n / 20,
            src=f"10.1.{n % 200}.{n // 200 % 200}",
            outcome=TcpOutcome.CLOSED,
            flags_in="SAF",
        )
        for n in range(20 * 660)
    ]
    count = int(20 * multiple * 60)
    forged = [
        syn(600 + n / (20 * multiple), src=f"100.{n % 250}.{n // 250}.1") for n in range(count)
    ]
    return sorted(closed + forged, key=lambda f: f.start)


@pytest.mark.parametrize("multiple", [2.0, 5.0])
def test_a_flood_at_twice_the_handshake_rate_is_caught_within_one_interval(multiple: float) -> None:
    alerts = [a for a in run(handshakes_and_flood(multiple)) if a.destination_ip == VICTIM]
    assert [a.rule for a in alerts] == ["flood.syn"] and alerts[0].time - 600 <= 10.0


def test_half_the_handshake_rate_unanswered_is_no_flood() -> None:
    assert run(handshakes_and_flood(0.5)) == []
