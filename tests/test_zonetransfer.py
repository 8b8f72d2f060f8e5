"""Zone-transfer detector: literal DNS queries in, alerts out."""

from __future__ import annotations

import pytest

from detectors.alert import Alert, Severity
from detectors.attack import Tactic
from detectors.zonetransfer import ZoneTransfer, ZoneTransferConfig
from sensors.events import DnsQuery, Transport

SERVER = "10.10.0.53"


def query(src: str, qtype: str = "AXFR", answers: int = 40, rcode: str = "NOERROR") -> DnsQuery:
    return DnsQuery(
        time=100.0,
        sensor="s",
        src_ip=src,
        src_port=40000,
        dst_ip=SERVER,
        dst_port=53,
        transport=Transport.TCP,
        query="city.gov.example",
        qtype=qtype,
        rcode=rcode,
        answers=answers,
    )


def run(queries: list[DnsQuery], config: ZoneTransferConfig | None = None) -> list[Alert]:
    detector = ZoneTransfer(config or ZoneTransferConfig())
    return [a for q in queries for a in detector.observe(q)] + detector.flush(float("inf"))


def test_an_answered_transfer_to_a_stranger_names_it_once() -> None:
    alerts = run([query("172.16.9.4"), query("172.16.9.4")])
    assert [(a.rule, a.source_ip, a.destination_ip, a.severity) for a in alerts] == [
        ("scan.zone_transfer", "172.16.9.4", SERVER, Severity.MEDIUM)
    ]
    assert alerts[0].tactic is Tactic.RECONNAISSANCE and alerts[0].technique == "T1590.002"


def test_a_refused_transfer_is_still_reported_lower() -> None:
    alerts = run([query("172.16.9.4", answers=0, rcode="REFUSED")])
    assert [(a.rule, a.severity, a.facts["answered"]) for a in alerts] == [
        ("scan.zone_transfer", Severity.LOW, 0)
    ]


def test_the_secondary_server_transfers_silently() -> None:
    config = ZoneTransferConfig(secondaries=("10.10.0.54/32",))
    assert run([query("10.10.0.54"), query("10.10.0.54", qtype="IXFR")], config) == []


def test_ordinary_lookups_are_not_transfers() -> None:
    assert run([query("172.16.9.4", qtype="A"), query("172.16.9.4", qtype="SOA")]) == []


def test_config_rejects_a_bad_network() -> None:
    with pytest.raises(ValueError, match=r"^secondaries: "):
        ZoneTransferConfig(secondaries=("10.0.0.300/8",))
