"""Fan-out scan detector: literal flows in, alerts out."""

from __future__ import annotations

from detectors.alert import Alert, Severity
from detectors.portscan import PortScan, PortScanConfig
from sensors.events import Flow, TcpOutcome, Transport

SCANNER, VICTIM = "203.0.113.45", "10.21.3.25"


def flow(t: float, dst: str, port: int, outcome: TcpOutcome, src: str = SCANNER) -> Flow:
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
        packets_in=1,
        bytes_out=60,
        bytes_in=60,
        outcome=outcome,
    )


def run(flows: list[Flow], config: PortScanConfig | None = None) -> list[Alert]:
    detector = PortScan(config or PortScanConfig())
    alerts = [a for f in flows for a in detector.observe(f)]
    return alerts + detector.flush(float("inf"))


def test_vertical_scan_fires_at_threshold_then_summarises() -> None:
    flows = [flow(float(n), VICTIM, 1000 + n, TcpOutcome.REJECTED) for n in range(40)]
    alerts = run(flows)
    assert [(a.rule, a.facts["distinct_ports"], a.facts["final"]) for a in alerts] == [
        ("portscan.vertical", 15, 0),
        ("portscan.vertical", 40, 1),
    ]
    first = alerts[0]
    assert first.time == 14.0 and first.source_ip == SCANNER and first.destination_ip == VICTIM
    assert first.identifier == f"portscan.vertical:{SCANNER}:{VICTIM}"
    assert "threshold: 15" in first.explanation and len(first.evidence) == 15


def test_horizontal_scan_over_many_hosts() -> None:
    flows = [flow(float(n), f"10.21.3.{n}", 445, TcpOutcome.UNANSWERED) for n in range(1, 31)]
    alerts = run(flows)
    assert {a.rule for a in alerts} == {"portscan.horizontal"}
    assert alerts[-1].facts["distinct_hosts"] == 30 and alerts[-1].destination_ports == (445,)


def test_successful_contacts_never_count() -> None:
    flows = [flow(float(n), VICTIM, 1000 + n, TcpOutcome.CLOSED) for n in range(100)]
    assert run(flows) == []


def test_slow_fan_out_outside_the_window_does_not_fire() -> None:
    flows = [flow(n * 60.0, VICTIM, 1000 + n, TcpOutcome.REJECTED) for n in range(30)]
    assert run(flows) == []


def test_large_scan_is_high_severity_and_threshold_is_configurable() -> None:
    flows = [flow(n * 0.01, VICTIM, n, TcpOutcome.REJECTED) for n in range(1, 200)]
    alerts = run(flows, PortScanConfig(vertical_ports=5))
    assert alerts[0].facts["distinct_ports"] == 5 and alerts[-1].severity is Severity.HIGH


def test_state_is_capped() -> None:
    detector = PortScan(PortScanConfig(max_sources=10))
    for n in range(100):
        detector.observe(flow(float(n), VICTIM, 80, TcpOutcome.REJECTED, src=f"198.51.100.{n}"))
    assert len(detector._episodes) <= 10
