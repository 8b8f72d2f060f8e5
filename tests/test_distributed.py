"""Distributed scans: many sources, same port, many hosts, one alert."""

from __future__ import annotations

from detectors.distributed import DistributedScan, DistributedScanConfig
from sensors.events import TcpOutcome
from tests.conftest import T0, build_flow


def test_many_sources_probing_one_port_make_one_alert() -> None:
    detector = DistributedScan(DistributedScanConfig())
    flows = [
        build_flow(
            start=T0 + n * 60,
            src_ip=f"198.51.100.{n}",
            dst_ip=f"10.21.3.{n}",
            dst_port=445,
            outcome=TcpOutcome.UNANSWERED,
        )
        for n in range(1, 30)
    ]
    alerts = [a for f in flows for a in detector.observe(f)]
    assert [(a.rule, a.identifier, a.facts["distinct_sources"]) for a in alerts] == [
        ("scan.distributed", "scan.distributed:tcp/445", 10)
    ]


def test_an_outage_of_one_server_is_not_a_scan() -> None:
    detector = DistributedScan(DistributedScanConfig())
    flows = [
        build_flow(start=T0 + n, src_ip=f"10.21.3.{n}", dst_port=443, outcome=TcpOutcome.REJECTED)
        for n in range(1, 100)
    ]
    assert [a for f in flows for a in detector.observe(f)] == []
