"""Endpoint-mapper dump detector: literal flows in, alerts out."""

from __future__ import annotations

import pytest

from detectors.alert import Alert
from detectors.endpointmap import EndpointMap, EndpointMapConfig
from sensors.events import Flow, TcpOutcome, Transport


def session(out: int, back: int, port: int = 135) -> Flow:
    return Flow(
        start=10.0,
        end=10.2,
        sensor="s",
        src_ip="10.0.2.17",
        src_port=45949,
        dst_ip="10.0.2.18",
        dst_port=port,
        transport=Transport.TCP,
        packets_out=out,
        packets_in=back,
        bytes_out=118 * out,
        bytes_in=248 * back,
        outcome=TcpOutcome.CLOSED,
    )


def run(flows: list[Flow]) -> list[Alert]:
    detector = EndpointMap(EndpointMapConfig())
    return [a for f in flows for a in detector.observe(f)] + detector.flush(float("inf"))


def test_walking_the_endpoint_table_names_the_caller_and_host() -> None:
    alerts = run([session(350, 350)])
    assert [(a.rule, a.source_ip, a.destination_ip, a.technique) for a in alerts] == [
        ("scan.endpoint_map", "10.0.2.17", "10.0.2.18", "T1046")
    ]
    assert alerts[0].facts["exchanges"] == 350


def test_resolving_one_interface_is_normal() -> None:
    assert run([session(6, 5), session(4, 3)]) == []


def test_a_long_session_on_another_port_is_not_a_dump() -> None:
    assert run([session(350, 350, port=445)]) == []


def test_config_rejects_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"^min_exchanges: "):
        EndpointMapConfig(min_exchanges=1)
