"""FTP bounce detector: literal flows in, alerts out; one crafted capture through the sensor."""

from __future__ import annotations

from pathlib import Path

import pytest

from detectors.alert import Alert
from detectors.ftpbounce import MAX_CONTROLS, FtpBounce, FtpBounceConfig
from nssa.evaluate import events_of
from nssa.pipeline import build_detectors
from nssa.settings import Settings
from sensors.events import Flow, TcpOutcome, Transport
from tests.captures import Packet, tcp, write_pcap

ATTACKER, SERVER, TARGET = "10.30.0.15", "10.30.0.25", "10.30.5.9"


def flow(t: float, src: str, sport: int, dst: str, dport: int, *, end: float | None = None,
         packets: int = 1, answered: bool = False) -> Flow:  # fmt: skip
    return Flow(
        start=t,
        end=t if end is None else end,
        sensor="s",
        src_ip=src,
        src_port=sport,
        dst_ip=dst,
        dst_port=dport,
        transport=Transport.TCP,
        packets_out=packets,
        packets_in=packets if answered else 1,
        bytes_out=60 * packets,
        bytes_in=60,
        outcome=TcpOutcome.CLOSED if answered else TcpOutcome.REJECTED,
    )


def probes(target: str, ports: range, start: float = 10.0) -> list[Flow]:
    """Data connections from the server's port 20, refused by the target."""
    return [flow(start + n, SERVER, 20, target, port) for n, port in enumerate(ports)]


def control(client: str, start: float, end: float, packets: int = 500) -> Flow:
    return flow(start, client, 40_000, SERVER, 21, end=end, packets=packets, answered=True)


def run(flows: list[Flow], config: FtpBounceConfig | None = None) -> list[Alert]:
    detector = FtpBounce(config or FtpBounceConfig())
    alerts = [a for f in flows for a in detector.observe(f)]
    return alerts + detector.flush(float("inf"))


def test_a_bounce_names_the_control_client_not_the_server() -> None:
    alerts = run([*probes(TARGET, range(1, 40)), control(ATTACKER, 0.0, 100.0)])
    assert [(a.rule, a.source_ip, a.destination_ip) for a in alerts] == [
        ("scan.ftp_bounce", ATTACKER, TARGET)
    ]
    assert alerts[0].facts["bouncer"] == SERVER and alerts[0].facts["ports"] == 39
    assert alerts[0].identifier == f"scan.ftp_bounce:{ATTACKER}:{SERVER}"


def test_a_bounce_at_the_scanner_itself_still_names_it() -> None:
    # nmap -b pointed back at its own address: the client is both scanner and target
    alerts = run([*probes(ATTACKER, range(1, 40)), control(ATTACKER, 0.0, 100.0)])
    assert [(a.source_ip, a.destination_ip) for a in alerts] == [(ATTACKER, ATTACKER)]


def test_a_control_session_reported_before_the_probes_is_kept() -> None:
    # a capture's last flows come out in start order, and a long session is reported at the
    # flow table's active timeout before the probes end
    alerts = run([control(ATTACKER, 0.0, 100.0), *probes(TARGET, range(1, 40))])
    assert [a.source_ip for a in alerts] == [ATTACKER]


def test_a_session_that_sent_fewer_packets_than_the_probes_did_not_cause_them() -> None:
    # each data connection needs a PORT command: an idle session is not the scanner
    alerts = run([control("10.30.0.77", 0.0, 100.0, packets=8), *probes(TARGET, range(1, 40))])
    assert alerts == []


def test_ordinary_active_mode_transfers_are_not_a_bounce() -> None:
    data = [flow(10.0 + n, SERVER, 20, ATTACKER, 50_000 + n, answered=True) for n in range(200)]
    assert run([*data, control(ATTACKER, 0.0, 300.0)]) == []


def test_probes_without_a_control_session_in_their_span_name_nobody() -> None:
    earlier = control(ATTACKER, 0.0, 5.0)
    assert run([*probes(TARGET, range(1, 40)), earlier]) == []


def test_the_busiest_of_two_control_clients_is_named() -> None:
    quiet = control("10.30.0.77", 0.0, 100.0, packets=8)
    flows = [*probes(TARGET, range(1, 40)), quiet, control(ATTACKER, 0.0, 100.0)]
    assert [a.source_ip for a in run(flows)] == [ATTACKER]


def test_fewer_ports_than_the_threshold_is_quiet() -> None:
    assert run([*probes(TARGET, range(1, 10)), control(ATTACKER, 0.0, 100.0)]) == []


def test_config_is_range_checked() -> None:
    with pytest.raises(ValueError, match="min_ports"):
        FtpBounceConfig(min_ports=0)


def bounce_capture(path: Path) -> Path:
    """A control session issuing PORT/LIST pairs and the server's refused data connections."""
    packets: list[Packet] = []
    session = [("S", b""), ("A", b""), ("PA", b"USER anonymous\r\n")]
    for n, (flags, data) in enumerate(session):
        packets.append((n * 0.01, tcp(ATTACKER, SERVER, 4270, 21, flags, data)))
    packets.append((0.005, tcp(SERVER, ATTACKER, 21, 4270, "SA")))
    for n, port in enumerate(range(1, 30)):
        t = 1.0 + n
        command = b"PORT 10,30,5,9,0,%d\r\nLIST\r\n" % port
        packets.append((t, tcp(ATTACKER, SERVER, 4270, 21, "PA", command)))
        packets.append((t + 0.01, tcp(SERVER, ATTACKER, 21, 4270, "PA", b"200 PORT ok\r\n")))
        packets.append((t + 0.02, tcp(SERVER, TARGET, 20, port, "S")))
        packets.append((t + 0.03, tcp(TARGET, SERVER, port, 20, "RA")))
    packets.append((40.0, tcp(ATTACKER, SERVER, 4270, 21, "FA")))
    packets.append((40.01, tcp(SERVER, ATTACKER, 21, 4270, "FA")))
    return write_pcap(path, sorted(packets))


def test_a_crafted_bounce_capture_names_the_ftp_client(tmp_path: Path) -> None:
    settings = Settings()
    detectors = build_detectors(settings)
    events = events_of(bounce_capture(tmp_path / "bounce.pcap"), settings)
    alerts = [a for e in events for d in detectors for a in d.observe(e)]
    alerts += [a for d in detectors for a in d.flush(float("inf"))]
    bounces = [a for a in alerts if a.rule == "scan.ftp_bounce"]
    assert [(a.source_ip, a.destination_ip, a.facts["bouncer"]) for a in bounces] == [
        (ATTACKER, TARGET, SERVER)
    ]


def test_a_public_servers_clients_are_bounded_and_the_scanner_still_named() -> None:
    crowd = [control(f"10.31.{n // 250}.{n % 250}", 0.0, 100.0, 8) for n in range(MAX_CONTROLS)]
    detector = FtpBounce(FtpBounceConfig())
    alerts = [a for f in [*crowd, control(ATTACKER, 0.0, 100.0)] for a in detector.observe(f)]
    alerts += [a for f in probes(TARGET, range(1, 40)) for a in detector.observe(f)]
    assert [a.source_ip for a in alerts] == [ATTACKER]
    assert alerts[0].facts["control_clients"] == MAX_CONTROLS
