"""Dispatch of event batches to detectors: accepted types only, in order, batch entry points."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from detectors.alert import Alert, Severity
from detectors.attack import Tactic
from detectors.dispatch import observe_all
from nssa.pipeline import detect
from sensors.events import DnsQuery, Event, Flow, TcpOutcome, Transport


@dataclass(frozen=True, kw_only=True)
class _Config:
    """No settings."""


def _flow(t: float) -> Flow:
    return Flow(
        start=t,
        end=t,
        sensor="s",
        src_ip="10.0.0.1",
        src_port=40000,
        dst_ip="10.0.0.2",
        dst_port=80,
        transport=Transport.TCP,
        packets_out=1,
        packets_in=1,
        bytes_out=60,
        bytes_in=60,
        outcome=TcpOutcome.CLOSED,
    )


def _query(t: float) -> DnsQuery:
    return DnsQuery(
        time=t,
        sensor="s",
        src_ip="10.0.0.1",
        src_port=5353,
        dst_ip="10.0.0.53",
        dst_port=53,
        transport=Transport.UDP,
        query="example.org",
        qtype="A",
    )


def _alert(event: Event, detector: str) -> Alert:
    t = event.start if isinstance(event, Flow) else event.time
    return Alert(
        time=t,
        first_seen=t,
        last_seen=t,
        detector=detector,
        rule=f"{detector}.seen",
        severity=Severity.LOW,
        tactic=Tactic.DISCOVERY,
        technique="T0000",
        identifier=f"{detector}:{t}",
        explanation="seen",
    )


class _Everything:
    """A detector written before ``accepts``: it must still get every event."""

    name: ClassVar[str] = "everything"
    Config: ClassVar[type[_Config]] = _Config

    def __init__(self, config: _Config) -> None:
        self.seen: list[Event] = []

    def observe(self, event: Event) -> list[Alert]:
        self.seen.append(event)
        return [_alert(event, self.name)]

    def flush(self, now: float) -> list[Alert]:
        return []


class _DnsOnly(_Everything):
    """Declares that it looks at DNS queries only."""

    name: ClassVar[str] = "dnsonly"
    accepts: ClassVar[tuple[type[Event], ...]] = (DnsQuery,)


class _Batched(_Everything):
    """Takes flows, a whole batch per call."""

    name: ClassVar[str] = "batched"
    accepts: ClassVar[tuple[type[Event], ...]] = (Flow,)

    def __init__(self, config: _Config) -> None:
        super().__init__(config)
        self.calls = 0

    def observe_batch(self, events: Sequence[Event]) -> list[Alert]:
        self.calls += 1
        return [a for e in events for a in self.observe(e)]


def _mixed() -> list[Event]:
    return [_flow(1.0), _query(2.0), _flow(3.0), _query(4.0), _flow(5.0)]


def test_a_detector_without_accepts_gets_every_event_in_order() -> None:
    legacy = _Everything(_Config())
    events = _mixed()
    alerts = detect([legacy], events)
    assert (legacy.seen, [a.time for a in alerts]) == (events, [1.0, 2.0, 3.0, 4.0, 5.0])


def test_accepted_types_only_reach_a_declaring_detector() -> None:
    dns = _DnsOnly(_Config())
    alerts = detect([dns], _mixed())
    assert (dns.seen, [a.time for a in alerts]) == ([_query(2.0), _query(4.0)], [2.0, 4.0])


def test_a_batch_entry_point_gets_its_share_in_one_call() -> None:
    batched = _Batched(_Config())
    observe_all([batched], _mixed())
    assert (batched.calls, [e.start for e in batched.seen if isinstance(e, Flow)]) == (
        1,
        [1.0, 3.0, 5.0],
    )


def test_no_call_when_a_batch_holds_nothing_a_detector_accepts() -> None:
    batched = _Batched(_Config())
    assert (observe_all([batched], [_query(1.0)]), batched.calls) == ([], 0)


def test_alerts_come_detector_by_detector_each_in_event_order() -> None:
    detectors = [_DnsOnly(_Config()), _Everything(_Config()), _Batched(_Config())]
    alerts = detect(detectors, iter(_mixed()))  # any iterable, as from a generator
    assert [(a.detector, a.time) for a in alerts] == [
        ("dnsonly", 2.0),
        ("dnsonly", 4.0),
        *(("everything", t) for t in (1.0, 2.0, 3.0, 4.0, 5.0)),
        ("batched", 1.0),
        ("batched", 3.0),
        ("batched", 5.0),
    ]
