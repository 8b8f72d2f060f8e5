"""Amplification detector: literal UDP flows in, alerts out."""

from __future__ import annotations

from detectors.alert import Alert
from detectors.amplification import Amplification, AmplificationConfig
from sensors.events import Flow, TcpOutcome, Transport

VICTIM, RESOLVER = "10.10.3.15", "10.10.0.53"


def udp(t: float, src: str, sport: int, dst: str, dport: int, sent: int, answer: int = 0) -> Flow:
    return Flow(
        start=t,
        end=t,
        sensor="s",
        src_ip=src,
        src_port=sport,
        dst_ip=dst,
        dst_port=dport,
        transport=Transport.UDP,
        packets_out=1,
        packets_in=1 if answer else 0,
        bytes_out=sent,
        bytes_in=answer,
        outcome=TcpOutcome.ESTABLISHED if answer else TcpOutcome.UNANSWERED,
    )


def run(flows: list[Flow], config: AmplificationConfig | None = None) -> list[Alert]:
    detector = Amplification(config or AmplificationConfig())
    alerts = [a for f in flows for a in detector.observe(f)]
    return alerts + detector.flush(float("inf"))


def test_unsolicited_dns_answers_name_the_victim() -> None:
    flows = [udp(n / 100, f"198.51.100.{n % 50}", 53, VICTIM, 3000 + n, 3000) for n in range(150)]
    alerts = run(flows)
    assert [(a.rule, a.destination_ip, a.facts["reflectors"]) for a in alerts] == [
        ("amplification.victim", VICTIM, 50)
    ]
    assert alerts[0].facts["packets"] == 100 and alerts[0].technique == "T1498.002"


def test_small_stray_responses_are_not_reflection() -> None:
    flows = [udp(n / 10, "198.51.100.1", 123, VICTIM, 3000 + n, 90) for n in range(500)]
    assert run(flows) == []


def test_our_resolver_amplifying_towards_a_spoofed_client() -> None:
    flows = [udp(n / 10, "203.0.113.9", 4000 + n, RESOLVER, 53, 64, 3200) for n in range(60)]
    alerts = run(flows)
    assert [(a.rule, a.source_ip, a.destination_ip) for a in alerts] == [
        ("amplification.reflector", RESOLVER, "203.0.113.9")
    ]
    assert alerts[0].facts["ratio"] == 50.0


def test_ordinary_lookups_keep_a_small_ratio() -> None:
    flows = [udp(n / 10, "10.10.4.2", 4000 + n, RESOLVER, 53, 70, 180) for n in range(500)]
    assert run(flows) == []


def echo(t: float, src: str, dst: str, packets: int = 1, v6: bool = False) -> Flow:
    return Flow(
        start=t,
        end=t,
        sensor="s",
        src_ip=src,
        src_port=128 if v6 else 8,
        dst_ip=dst,
        dst_port=0,
        transport=Transport.ICMPV6 if v6 else Transport.ICMP,
        packets_out=packets,
        packets_in=0,
        bytes_out=84 * packets,
        bytes_in=0,
        outcome=TcpOutcome.NOT_TCP,
    )


def test_echo_requests_to_a_broadcast_name_the_spoofed_victim() -> None:
    alerts = run([echo(n / 50, VICTIM, "10.10.3.255") for n in range(300)])
    assert [(a.rule, a.destination_ip, a.source_ip) for a in alerts] == [
        ("amplification.smurf", VICTIM, None)
    ]
    assert alerts[0].technique == "T1498.002" and alerts[0].facts["requests"] == 100


def test_icmpv6_echo_to_all_nodes_is_a_smurf_too() -> None:
    alerts = run([echo(0.0, "2001:db8::7", "ff02::1", packets=1000, v6=True)])
    assert [(a.rule, a.destination_ip, a.facts["scope"]) for a in alerts] == [
        ("amplification.smurf", "2001:db8::7", "link-wide")
    ]


def test_a_plain_broadcast_ping_stays_under_the_threshold() -> None:
    assert run([echo(float(n), "10.10.3.9", "10.10.3.255") for n in range(300)]) == []


def test_a_fast_ping_to_one_host_is_not_a_smurf() -> None:
    assert run([echo(n / 50, "10.10.3.9", VICTIM) for n in range(300)]) == []


def test_an_echo_chargen_loop_names_both_hosts_once() -> None:
    forged = udp(0.0, "10.10.3.7", 7, "10.10.3.8", 19, sent=60, answer=1000)
    alerts = run([forged, udp(1.0, "10.10.3.8", 19, "10.10.3.7", 7, sent=1000)])
    assert [(a.rule, a.destination_ip, a.destinations, a.source_ip) for a in alerts] == [
        ("amplification.loop", "10.10.3.8", ("10.10.3.8", "10.10.3.7"), None)
    ]
    assert alerts[0].facts["services"] == "echo<->chargen"


def test_a_client_asking_chargen_from_an_ephemeral_port_is_not_a_loop() -> None:
    assert run([udp(0.0, "10.10.3.7", 3517, "10.10.3.8", 19, sent=43)]) == []


def test_answers_to_a_forged_service_port_still_name_the_victim() -> None:
    flows = [udp(n / 10, f"198.51.100.{n % 90}", 123, VICTIM, 123, sent=4680) for n in range(120)]
    assert {(a.rule, a.destination_ip) for a in run(flows)} == {("amplification.victim", VICTIM)}


def test_answered_ntp_peers_and_multicast_notifies_are_not_reflection() -> None:
    peers = [udp(n / 10, f"10.10.1.{n}", 123, "10.10.0.123", 123, 480, 480) for n in range(150)]
    notify = [udp(n / 10, f"10.10.2.{n}", 1900, "239.255.255.250", 1900, 1400) for n in range(150)]
    assert run(peers + notify) == []
