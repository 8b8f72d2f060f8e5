"""Beats inside a flow: payload bursts after a silence, per batch and across batches."""

from __future__ import annotations

from array import array
from pathlib import Path

import numpy as np
import pytest

from nssa.pipeline import capture_flows
from sensors.beats import beat_offsets, group_beats, merge_beats, no_beats
from sensors.capture import CaptureStats, PacketBatch, read_batches
from sensors.decode import decode
from sensors.events import Flow, event_from_document
from sensors.flows import FlowTable, FlowTimeouts
from tests.captures import Packet, handshake, tcp, write_pcap

C, S = "10.0.0.1", "10.0.0.2"


def listed(beats: np.ndarray) -> list[list[float] | None]:
    """An object column of beat arrays as plain lists."""
    return [None if b is None else list(b) for b in beats]


def test_group_beats_starts_a_beat_after_each_silence() -> None:
    ts = np.array([0.0, 0.1, 0.2, 5.0, 5.1, 0.0, 9.0])  # two groups: packets 0-4 and 5-6
    payload = np.array([True, False, True, True, True, True, True])
    pay, beats = group_beats(ts, payload, np.array([0, 5]), gap=2.0, max_beats=16)
    assert pay.tolist() == [[0.0, 5.1], [0.0, 9.0]] and listed(beats) == [[5.0], [9.0]]


def test_group_beats_without_a_second_beat_keeps_no_list() -> None:
    ts = np.array([0.0, 1.0, 1.5, 30.0])
    payload = np.array([True, True, True, False])  # the late packet is a bare ACK
    _, beats = group_beats(ts, payload, np.array([0]), gap=2.0, max_beats=16)
    assert listed(beats) == [None]


def test_merge_beats_adds_the_beat_that_starts_a_batch() -> None:
    table_pay, table_beats = np.array([[0.0, 20.0]]), no_beats(1)
    table_beats[0] = array("d", [20.0])
    batch_pay, batch_beats = np.array([[40.0, 60.5]]), no_beats(1)
    batch_beats[0] = array("d", [60.0])
    merge_beats(table_pay, table_beats, np.array([0]), batch_pay, batch_beats, 2.0, 16)
    assert listed(table_beats) == [[20.0, 40.0, 60.0]] and table_pay.tolist() == [[0.0, 60.5]]


def test_merge_beats_respects_the_cap() -> None:
    table_pay, table_beats = np.array([[0.0, 20.0]]), no_beats(1)
    table_beats[0] = array("d", [10.0, 20.0])
    batch_beats = no_beats(1)
    batch_beats[0] = array("d", [60.0, 80.0])
    merge_beats(
        table_pay, table_beats, np.array([0]), np.array([[40.0, 80.0]]), batch_beats, 2.0, 4
    )
    assert listed(table_beats) == [[10.0, 20.0, 40.0]]


def test_beat_offsets_are_relative_to_the_flow_start() -> None:
    beats = no_beats(2)
    beats[1] = array("d", [112.5])
    found = beat_offsets(np.array([0.0, 100.0]), np.array([[1.0, 2.0], [100.25, 112.6]]), beats)
    assert found == [None, (0.25, 12.5)]


def keepalive_session(period: float, beats: int, probe: bytes = b"ping-12345") -> list[Packet]:
    """One long TCP connection: a handshake, then a request and reply every ``period``."""
    packets = handshake(0.0, C, S, 40000, 4444)[:3]
    for n in range(beats):
        t = 1.0 + n * period
        packets.append((t, tcp(C, S, 40000, 4444, "PA", probe)))
        packets.append((t + 0.05, tcp(S, C, 4444, 40000, "PA", b"pong-67890")))
        packets.append((t + 0.09, tcp(C, S, 40000, 4444, "A")))
    return packets


def flows_in_batches(path: Path, parts: int) -> list[Flow]:
    """The flows of a capture fed to the table in ``parts`` batches."""
    (whole,) = list(read_batches(path))
    table, found = FlowTable("test", FlowTimeouts()), []
    for index in np.array_split(np.arange(len(whole)), parts):
        part = PacketBatch(
            data=whole.data,
            offset=whole.offset[index],
            caplen=whole.caplen[index],
            wirelen=whole.wirelen[index],
            linktype=whole.linktype[index],
            ts=whole.ts[index],
        )
        found += table.add(decode(part))
    return found + table.flush()


@pytest.mark.parametrize("parts", [1, 3, 17])
def test_a_keepalive_inside_one_connection_beats(tmp_path: Path, parts: int) -> None:
    path = write_pcap(tmp_path / "k.pcap", keepalive_session(15.0, 12))
    found = flows_in_batches(path, parts)
    assert [f.beats for f in found] == [tuple(round(1.0 + 15.0 * n, 3) for n in range(12))]


def test_one_byte_keepalive_probes_are_not_beats(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "p.pcap", keepalive_session(45.0, 6, probe=b"\0"))
    table = FlowTable("test", FlowTimeouts())
    found = [f for b in capture_flows(path, table, CaptureStats()) for f in b]
    assert [f.beats for f in found] == [tuple(round(1.05 + 45.0 * n, 3) for n in range(6))]


def test_a_short_exchange_has_no_beats(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "h.pcap", handshake(0.0, C, S, 40000, 80))
    table = FlowTable("test", FlowTimeouts())
    found = [f for b in capture_flows(path, table, CaptureStats()) for f in b]
    assert [f.beats for f in found] == [None]


@pytest.mark.parametrize(("field", "value"), [("beat_gap", 0.0), ("max_beats", 1)])
def test_beat_settings_are_range_checked(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=f"^{field}: "):
        FlowTimeouts(**{field: value})  # type: ignore[arg-type]


def test_beats_round_trip_through_the_ecs_document(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "r.pcap", keepalive_session(15.0, 8))
    (found,) = flows_in_batches(path, 2)
    assert event_from_document(found.to_ecs()) == found
