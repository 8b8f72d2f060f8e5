"""Sample evidence: ids when the store hashed the event first, else the event, same ids out."""

from __future__ import annotations

from collections.abc import Callable

from detectors.amplification import Amplification, AmplificationConfig
from detectors.evidence import cite, cited_ids
from sensors.events import Flow, TcpOutcome, Transport


def test_an_unhashed_event_is_kept_and_hashed_when_cited(make_flow: Callable[..., Flow]) -> None:
    flow = make_flow(dst_port=22)
    sample = cite(flow)
    assert sample is flow
    assert cited_ids([sample]) == (flow.id,)


def test_a_hashed_event_is_kept_as_its_id(make_flow: Callable[..., Flow]) -> None:
    flow = make_flow(dst_port=22)
    known = flow.id
    assert cite(flow) == known
    assert cited_ids([cite(flow), make_flow(dst_port=23)]) == (known, make_flow(dst_port=23).id)


def _answer(n: int) -> Flow:
    return Flow(
        start=n / 100,
        end=n / 100,
        sensor="s",
        src_ip=f"198.51.100.{n % 50}",
        src_port=53,
        dst_ip="10.10.3.15",
        dst_port=3000 + n,
        transport=Transport.UDP,
        packets_out=1,
        packets_in=0,
        bytes_out=3000,
        bytes_in=0,
        outcome=TcpOutcome.UNANSWERED,
    )


def test_alert_evidence_is_the_same_whether_the_store_hashed_first() -> None:
    def evidence(prehash: bool) -> list[tuple[str, ...]]:
        detector = Amplification(AmplificationConfig())
        flows = [_answer(n) for n in range(150)]
        if prehash:
            for flow in flows:
                _ = flow.id
        alerts = [a for f in flows for a in detector.observe(f)]
        return [a.evidence for a in alerts]

    assert evidence(prehash=True) == evidence(prehash=False)
    assert len(evidence(prehash=False)[0]) == AmplificationConfig().sample_size
