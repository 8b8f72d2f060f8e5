"""Probe-kind scans (stealth, UDP, IP protocol, sweeps, fingerprints): flows in, alerts out."""

from __future__ import annotations

from typing import Any

from detectors.alert import Alert
from detectors.probes import candidates, probes
from detectors.probescan import ProbeScan, ProbeScanConfig
from detectors.site import Site
from sensors.events import Flow, TcpOutcome, Transport
from tests.conftest import T0, build_flow

SCANNER, VICTIM = "192.168.1.10", "192.168.1.25"


def probe(n: int, **fields: Any) -> Flow:
    base = {"start": T0 + n * 0.01, "src_ip": SCANNER, "dst_ip": VICTIM, "dst_port": 1000 + n}
    return build_flow(**(base | {"packets_out": 1, "packets_in": 1} | fields))


def run(flows: list[Flow], config: ProbeScanConfig | None = None) -> list[Alert]:
    detector = ProbeScan(config or ProbeScanConfig())
    return [a for f in flows for a in detector.observe(f)] + detector.flush(float("inf"))


def rules(alerts: list[Alert]) -> list[tuple[str, str, object]]:
    return [(a.rule, str(a.source_ip), a.facts["probe_kinds"]) for a in alerts]


def stealth(flags: str, reply: str = "RA") -> list[Flow]:
    midstream = TcpOutcome.MIDSTREAM
    return [probe(n, outcome=midstream, flags_out=flags, flags_in=reply) for n in range(20)]


def test_each_stealth_flag_set_is_named_at_five_ports() -> None:
    for flags, kind in (
        ("", "null"),
        ("F", "fin"),
        ("FPU", "xmas"),
        ("A", "ack"),
        ("FA", "maimon"),
    ):
        alerts = run(stealth(flags))
        assert rules(alerts) == [("scan.stealth", SCANNER, kind)]
        assert alerts[0].facts["distinct_items"] == 5


def test_a_late_started_capture_of_real_sessions_is_not_stealth() -> None:
    flows = [
        probe(n, outcome=TcpOutcome.MIDSTREAM, flags_out="PA", packets_out=9) for n in range(20)
    ]
    assert run(flows) == []


def test_udp_ports_refused_by_icmp_make_a_udp_scan() -> None:
    flows = [probe(n, transport=Transport.UDP, outcome=TcpOutcome.REJECTED) for n in range(10)]
    assert rules(run(flows)) == [("scan.udp", SCANNER, "udp")]


def test_ip_protocol_scan() -> None:
    flows = [
        probe(n, transport=Transport.OTHER, outcome=TcpOutcome.NOT_TCP, iana_number=n, dst_port=0)
        for n in range(30, 40)
    ]
    assert rules(run(flows)) == [("scan.protocol", SCANNER, "ip-protocol")]


def test_ping_sweep_and_arp_sweep() -> None:
    icmp = [
        probe(
            n,
            transport=Transport.ICMP,
            outcome=TcpOutcome.NOT_TCP,
            src_port=8,
            dst_port=0,
            dst_ip=f"10.21.3.{n + 1}",
        )
        for n in range(12)
    ]
    arp = [
        probe(
            n,
            transport=Transport.ARP,
            outcome=TcpOutcome.NOT_TCP,
            src_port=0,
            dst_port=0,
            packets_in=0,
            dst_ip=f"10.21.4.{n + 1}",
        )
        for n in range(20)
    ]
    assert rules(run(icmp)) == [("scan.sweep", SCANNER, "icmp-echo")]
    assert rules(run(arp)) == [("scan.sweep", SCANNER, "arp")]


def test_answered_arp_is_ordinary_address_resolution() -> None:
    arp = [
        probe(
            n,
            transport=Transport.ARP,
            outcome=TcpOutcome.NOT_TCP,
            src_port=0,
            dst_port=0,
            dst_ip=f"10.21.4.{n + 1}",
        )
        for n in range(30)
    ]
    assert run(arp) == []


def test_one_impossible_fingerprint_probe_is_enough() -> None:
    echo_code = probe(
        0, transport=Transport.ICMP, outcome=TcpOutcome.NOT_TCP, src_port=8, dst_port=9
    )
    syn_fin = probe(1, outcome=TcpOutcome.UNANSWERED, flags_out="FSPU", flags_in="")
    assert rules(run([echo_code])) == [("scan.fingerprint", SCANNER, "os")]
    assert rules(run([syn_fin])) == [("scan.fingerprint", SCANNER, "os")]


def test_one_odd_icmp_request_is_not_but_two_are() -> None:
    def icmp(n: int, kind: int) -> Flow:
        return probe(
            n, transport=Transport.ICMP, outcome=TcpOutcome.NOT_TCP, src_port=kind, dst_port=0
        )

    assert run([icmp(0, 13)]) == []
    assert rules(run([icmp(0, 13), icmp(1, 17)])) == [("scan.fingerprint", SCANNER, "os")]


def test_normal_connections_are_never_probes() -> None:
    flows = [build_flow(start=T0 + n, dst_port=1000 + n) for n in range(50)]
    assert run(flows) == []


def test_alert_explains_itself() -> None:
    alert = run(stealth("F"))[0]
    assert alert.identifier == f"scan.stealth:{SCANNER}:{VICTIM}"
    assert alert.destination_ports == (1000, 1001, 1002, 1003, 1004)
    assert "threshold 5 within 300s" in alert.explanation and len(alert.evidence) == 5


def test_benign_scanner_is_labelled() -> None:
    config = ProbeScanConfig(site=Site(benign_scanners=("192.168.1.0/28",)))
    assert run(stealth("F"), config)[0].facts["benign_scanner"] == 1


def test_episodes_are_capped() -> None:
    detector = ProbeScan(ProbeScanConfig(max_episodes=4))
    for n in range(20):
        detector.observe(
            probe(
                n,
                src_ip=f"198.51.100.{n}",
                outcome=TcpOutcome.MIDSTREAM,
                flags_out="F",
                flags_in="",
            )
        )
    assert (len(detector._episodes), detector._episodes.evictions) == (4, 16)


def test_a_router_asking_again_and_again_is_not_an_arp_sweep() -> None:
    arp = [
        probe(
            n,
            transport=Transport.ARP,
            outcome=TcpOutcome.NOT_TCP,
            src_port=0,
            dst_port=0,
            packets_out=9,
            packets_in=0,
            dst_ip=f"10.21.4.{n + 1}",
        )
        for n in range(40)
    ]
    assert run(arp) == []


def test_batch_prefilter_drops_only_flows_no_classifier_names() -> None:
    combos = [
        (transport, outcome, flags)
        for transport in Transport
        for outcome in TcpOutcome
        for flags in ("", "S", "SA", "SF", "SFA", "F", "A", "FPU")
    ]
    flows = [
        probe(n, transport=t, outcome=o, flags_out=f, iana_number=47)
        for n, (t, o, f) in enumerate(combos)
    ]
    kept = candidates(flows)
    assert [f for f in kept if probes(f)] == [f for f in flows if probes(f)]
    assert len(kept) < len(flows)  # ordinary TCP and UDP flows were dropped
