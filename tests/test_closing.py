"""Closed TCP flows (opt-in ``tcp_closed``): they leave the table after the linger, a reused
5-tuple then opens a new flow, and batch boundaries never change the flows reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from nssa.pipeline import capture_flows
from sensors import capture
from sensors.capture import CaptureStats
from sensors.decode import decode
from sensors.events import Flow
from sensors.flows import FlowTable, FlowTimeouts
from tests.captures import Packet, handshake, tcp, write_pcap

C, S = "10.0.0.1", "10.0.0.2"
LINGER = FlowTimeouts(tcp_closed=5.0)


def flows_of(path: Path, timeouts: FlowTimeouts | None = None) -> list[Flow]:
    table = FlowTable("test", timeouts)
    return [f for batch in capture_flows(path, table, CaptureStats()) for f in batch]


def summary(flows: list[Flow]) -> list[tuple[float, int, int, str]]:
    return sorted((f.start, f.packets_out, f.packets_in, f.outcome.value) for f in flows)


def reused(tmp_path: Path, after: float) -> Path:
    """A closed session, a late ACK 1 s after it, and the 5-tuple reused ``after`` s later."""
    first = handshake(100.0, C, S, 40000, 80)
    late: Packet = (first[-1][0] + 1.0, tcp(C, S, 40000, 80, "A"))
    second = handshake(first[-1][0] + after, C, S, 40000, 80)
    return write_pcap(tmp_path / "x.pcap", [*first, late, *second])


def test_reuse_after_close_is_a_second_flow_only_with_linger(tmp_path: Path) -> None:
    path = reused(tmp_path, after=20.0)
    assert [f.packets_out + f.packets_in for f in flows_of(path)] == [17]
    flows = flows_of(path, LINGER)
    assert [(f.packets_out, f.packets_in, f.outcome.value) for f in flows] == [
        (6, 3, "closed"),  # the late ACK joined the closed flow: it came within the linger
        (5, 3, "closed"),
    ]


def test_reuse_within_linger_stays_one_flow(tmp_path: Path) -> None:
    path = reused(tmp_path, after=3.0)
    assert len(flows_of(path, LINGER)) == 1


def test_unclosed_flow_keeps_its_idle_timeout(tmp_path: Path) -> None:
    session = handshake(100.0, C, S, 40000, 80)[:5]  # no FIN: still open
    again: Packet = (session[-1][0] + 60.0, tcp(C, S, 40000, 80, "PA", b"more"))
    path = write_pcap(tmp_path / "x.pcap", [*session, again])
    assert len(flows_of(path, LINGER)) == 1


def test_closed_flows_leave_the_table(tmp_path: Path) -> None:
    sessions = [p for n in range(20) for p in handshake(100.0 + n, C, S, 40000 + n, 80)]
    path = write_pcap(tmp_path / "x.pcap", sessions)
    batches = list(capture.read_batches(path))
    with_linger, without = FlowTable("t", LINGER), FlowTable("t")
    for batch in batches:
        with_linger.add(decode(batch))
        without.add(decode(batch))
    assert len(without) == 20
    assert len(with_linger) == 6  # closed over 5 s before the last packet: already reported


@pytest.mark.parametrize("chunk", [300, 1000, 5000])
def test_batch_boundaries_do_not_change_flows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    packets: list[Packet] = []
    for n in range(6):  # each 5-tuple closed, acknowledged late, reused 7 s, 14 s ... later
        for k in range(3):
            session = handshake(100.0 + n + 7.0 * k * (n + 1), C, S, 40000 + n, 80)
            packets += [*session, (session[-1][0] + 1.0 + n / 10, tcp(C, S, 40000 + n, 80, "A"))]
    path = write_pcap(tmp_path / "x.pcap", sorted(packets))
    whole = summary(flows_of(path, LINGER))
    monkeypatch.setattr(capture, "CHUNK_BYTES", chunk)
    assert summary(flows_of(path, LINGER)) == whole
    assert len(whole) == 18 and all(out == 6 for _, out, _, _ in whole)


def test_closed_flow_continued_in_the_next_batch_still_splits(tmp_path: Path) -> None:
    """The close is seen in one batch; a late ACK and the reuse arrive in the next one."""
    first = handshake(100.0, C, S, 40000, 80)
    late: Packet = (first[-1][0] + 1.0, tcp(C, S, 40000, 80, "A"))
    second = handshake(first[-1][0] + 8.0, C, S, 40000, 80)
    table, found = FlowTable("t", LINGER), []
    for n, part in enumerate([first, [late, *second]]):
        for batch in capture.read_batches(write_pcap(tmp_path / f"{n}.pcap", part)):
            found += table.add(decode(batch))
    found += table.flush()
    assert summary(found) == summary(flows_of(reused(tmp_path, after=8.0), LINGER))
    assert [f.packets_out for f in found] == [6, 5]
