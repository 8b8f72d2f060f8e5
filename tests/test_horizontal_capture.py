"""Horizontal scans on crafted captures, through the sensor, our detectors and Zeek's.

A slow scan: one SYN a minute to a new host's SMB port for three hours (``nmap -T0``-like
pacing, far below Zeek's 25 hosts in 5 minutes): most hosts do not answer, some refuse, one
in ten is open. TRW has no window, so it must flag the scanner within five failed first
contacts (its design: four), where Zeek's scan policy never fires. A VNC sweep: a service
scanner that completes the RFB handshake and one authentication with every host that runs
VNC (one in eight) and finds the port closed or silent on the rest. A client that reaches a
new server a minute, every one answering, is the control.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from detectors.alert import Alert
from detectors.base import Detector
from nssa.baseline import zeek_detectors
from nssa.evaluate import events_of
from nssa.pipeline import build_detectors
from nssa.settings import Settings
from sensors.events import Flow, TcpOutcome
from tests.captures import Packet, handshake, tcp, write_pcap

SCANNER, CLIENT = "203.0.113.50", "198.51.100.20"
HORIZONTAL = {"scan.trw", "scan.darkspace", "portscan.horizontal", "scan.distributed"}
FAILED = {TcpOutcome.UNANSWERED, TcpOutcome.REJECTED, TcpOutcome.HALF_OPEN}


def slow_scan(hosts: int) -> list[Packet]:
    """One probe a minute to port 445 of 10.40.0.1, .2, ...: 1 in 10 open, 3 in 10 refused."""
    out: list[Packet] = []
    for n in range(hosts):
        t, host, sport = 60.0 * n, f"10.40.{n // 250}.{n % 250 + 1}", 40_000 + n
        out.append((t, tcp(SCANNER, host, sport, 445, "S")))
        if n % 10 == 9:
            out.append((t + 0.001, tcp(host, SCANNER, 445, sport, "SA")))
            out.append((t + 0.002, tcp(SCANNER, host, sport, 445, "R")))
        elif n % 10 in (2, 5, 8):
            out.append((t + 0.001, tcp(host, SCANNER, 445, sport, "RA")))
    return out


def rfb_session(t: float, client: str, server: str, sport: int) -> list[Packet]:
    """Handshake, RFB 3.8 version exchange, VNC authentication refused, teardown."""
    c, s = (client, server, sport, 5900), (server, client, 5900, sport)
    steps = [
        (c, "S", b""), (s, "SA", b""), (c, "A", b""), (s, "PA", b"RFB 003.008\n"),
        (c, "PA", b"RFB 003.008\n"), (s, "PA", b"\x01\x02"), (c, "PA", b"\x02"),
        (s, "PA", bytes(16)), (c, "PA", bytes(16)), (s, "PA", b"\x00\x00\x00\x01"),
        (c, "FA", b""), (s, "FA", b""), (c, "A", b""),
    ]  # fmt: skip
    return [(t + n * 0.01, tcp(*ends, flags, data)) for n, (ends, flags, data) in enumerate(steps)]


def vnc_sweep(scanner: str) -> list[Packet]:
    """Port 5900 of a /24 every half second: VNC on 1 in 8 hosts, refused on 1 in 8."""
    out: list[Packet] = []
    for n in range(254):
        t, host, sport = n * 0.5, f"10.42.0.{n + 1}", 30_000 + n
        if n % 8 == 3:
            out += rfb_session(t, scanner, host, sport)
        elif n % 8 == 5:
            out += [(t, tcp(scanner, host, sport, 5900, "S"))]
            out += [(t + 0.001, tcp(host, scanner, 5900, sport, "RA"))]
        else:  # nmap retries a silent port once
            out += [(t, tcp(scanner, host, sport, 5900, "S"))]
            out += [(t + 1.0, tcp(scanner, host, sport, 5900, "S"))]
    return out


def busy_client(hosts: int) -> list[Packet]:
    """A client opening one complete session a minute, each to a different server."""
    out: list[Packet] = []
    for n in range(hosts):
        out += handshake(60.0 * n + 30.0, CLIENT, f"10.41.0.{n % 250 + 1}", 50_000 + n, 443)
    return out


def first_alert(
    path: Path, factory: Callable[[], Sequence[Detector]], source: str
) -> tuple[Alert | None, int]:
    """The first horizontal-scan alert naming ``source`` and its failed first contacts then."""
    settings, detectors = Settings(), factory()
    outcomes: dict[str, bool] = {}  # host -> whether the first contact failed
    found: Alert | None = None
    failed_then = 0
    for event in events_of(path, settings):
        if isinstance(event, Flow) and event.src_ip == source:
            outcomes.setdefault(event.dst_ip, event.outcome in FAILED)
        alerts = [a for d in detectors for a in d.observe(event)]
        hits = [a for a in alerts if a.rule in HORIZONTAL and a.source_ip == source]
        if hits and found is None:
            found, failed_then = hits[0], sum(outcomes.values())
    tail = [a for d in detectors for a in d.flush(float("inf"))]
    hits = [a for a in tail if a.rule in HORIZONTAL and a.source_ip == source]
    if hits and found is None:
        found, failed_then = hits[0], sum(outcomes.values())
    return found, failed_then


def test_a_probe_a_minute_is_flagged_within_five_failures_where_zeek_never_fires(
    tmp_path: Path,
) -> None:
    path = write_pcap(tmp_path / "slow.pcap", sorted(slow_scan(180) + busy_client(180)))
    alert, failures = first_alert(path, lambda: build_detectors(Settings()), SCANNER)
    assert alert is not None and alert.rule == "scan.trw"
    assert 4 <= failures <= 5, failures
    assert alert.last_seen - alert.first_seen >= 3 * 60.0  # four probes a minute apart at least
    assert first_alert(path, zeek_detectors, SCANNER) == (None, 0)


def test_a_client_reaching_a_new_server_a_minute_is_not_a_scanner(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "busy.pcap", sorted(busy_client(180)))
    settings, detectors = Settings(), build_detectors(Settings())
    alerts = [a for e in events_of(path, settings) for d in detectors for a in d.observe(e)]
    alerts += [a for d in detectors for a in d.flush(float("inf"))]
    assert [a.rule for a in alerts if a.rule.split(".")[0] in {"scan", "portscan"}] == []


def test_a_vnc_sweep_completing_handshakes_is_flagged_within_five_failures(
    tmp_path: Path,
) -> None:
    path = write_pcap(tmp_path / "vnc.pcap", sorted(vnc_sweep(SCANNER) + busy_client(20)))
    alert, failures = first_alert(path, lambda: build_detectors(Settings()), SCANNER)
    assert alert is not None and alert.rule == "scan.trw" and failures <= 5, failures
    zeek, zeek_failures = first_alert(path, zeek_detectors, SCANNER)
    assert zeek is not None and zeek.rule == "portscan.horizontal" and zeek_failures == 25
