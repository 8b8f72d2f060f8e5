"""Capture files written by NSSA: the live sensor's rotation, size cap and VLAN tags, and an
extraction across files of two link types."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import dpkt
import numpy as np
import pytest

from sensors.capture import PacketBatch, read_batches
from sensors.capturefiles import CaptureTally, FileCheck, check, register, sha256_of
from sensors.decode import decode
from sensors.extract import covering, extract
from sensors.flows import FlowTable
from sensors.pcapwrite import OutputFormat
from sensors.recorder import CaptureRecorder, RecorderConfig

ROOT = Path(__file__).resolve().parents[1]
BACKGROUND = ROOT / "pcaps" / "background.pcap"
MIB = 1 << 20


def batches(path: Path, shift: float = 0.0) -> list[PacketBatch]:
    return [dataclasses.replace(b, ts=b.ts + shift) for b in read_batches(path)]


def test_files_rotate_at_the_size_and_register_what_they_hold(tmp_path: Path) -> None:
    recorder = CaptureRecorder("cloud-core", RecorderConfig(directory=tmp_path, file_bytes=MIB))
    closed = [f for b in batches(BACKGROUND) for f in recorder.add(b)]
    closed += recorder.close()
    assert len(closed) >= 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(Path(f.path).name for f in closed)
    packets = sum(len(b) for b in read_batches(BACKGROUND))
    assert sum(f.packets for f in closed) == packets
    for capture in closed:
        path = Path(capture.path)
        assert capture.size == path.stat().st_size and capture.sha256 == sha256_of(path)
        read = list(read_batches(path))
        assert sum(len(b) for b in read) == capture.packets
        assert capture.first == pytest.approx(float(read[0].ts[0]), abs=1e-6)
        assert check(capture) is FileCheck.OK
    # Full files end at the first packet that reaches the size (one record over at most).
    assert all(MIB <= f.size < MIB + (1 << 16) for f in closed[:-1])


def test_the_oldest_files_go_beyond_the_total(tmp_path: Path) -> None:
    config = RecorderConfig(directory=tmp_path, file_bytes=MIB, total_bytes=2 * MIB)
    recorder = CaptureRecorder("cloud-core", config, tag="w0")
    closed = []
    for round_ in range(4):
        for batch in batches(BACKGROUND, shift=round_ * 10_000.0):
            closed += recorder.add(batch)
    closed += recorder.close()
    kept = sorted(tmp_path.iterdir())
    assert sum(p.stat().st_size for p in kept) <= 2 * MIB
    assert recorder.deleted == len(closed) - len(kept) > 0
    states = [check(f) for f in closed]
    # Oldest first: the deleted ones are a prefix of what was written.
    assert states == [FileCheck.MISSING] * recorder.deleted + [FileCheck.OK] * len(kept)


def test_vlan_tags_from_the_ring_are_written_back(tmp_path: Path) -> None:
    tagged = [dataclasses.replace(b, vlan=np.full(len(b), 42)) for b in batches(BACKGROUND)]
    table = FlowTable("cloud-core")
    flows = [f for b in tagged for f in table.add(decode(b))] + table.flush()
    assert {f.vlan for f in flows} == {42}
    recorder = CaptureRecorder("cloud-core", RecorderConfig(directory=tmp_path, file_bytes=MIB))
    closed = [f for b in tagged for f in recorder.add(b)] + recorder.close()
    for capture in closed:
        for batch in read_batches(Path(capture.path)):
            assert batch.vlan is None  # in the frames now, not in metadata
            decoded = decode(batch)
            assert set(decoded.vlan[decoded.ip].tolist()) == {42}
    some = [f for f in flows if f.packets_out + f.packets_in > 3][:25]
    out = io.BytesIO()
    found = extract(some, covering(closed, some), out)
    assert found.packets == sum(f.packets_out + f.packets_in for f in some)
    assert not found.problems


def test_settings_are_range_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="directory"):
        RecorderConfig(directory=Path("relative"))
    with pytest.raises(ValueError, match="file_bytes"):
        RecorderConfig(directory=tmp_path, file_bytes=1000)
    with pytest.raises(ValueError, match="total_bytes"):
        RecorderConfig(directory=tmp_path, file_bytes=MIB, total_bytes=MIB)


def test_files_of_two_link_types_give_one_pcapng(tmp_path: Path) -> None:
    """The first half of a capture as Ethernet, the second as raw IP (link type 101)."""
    with BACKGROUND.open("rb") as stream:
        packets = list(dpkt.pcap.Reader(stream))
    half = len(packets) // 2
    ethernet, raw = tmp_path / "ethernet.pcap", tmp_path / "raw.pcap"
    with ethernet.open("wb") as stream:
        writer = dpkt.pcap.Writer(stream, linktype=1)
        for ts, frame in packets[:half]:
            writer.writepkt(frame, ts)
    with raw.open("wb") as stream:
        writer = dpkt.pcap.Writer(stream, linktype=101)
        for ts, frame in packets[half:]:
            writer.writepkt(frame[14:], ts)  # untagged Ethernet in the scenario captures
    table, captures = FlowTable("cloud-core"), []
    flows = []
    for path in (ethernet, raw):
        tally = CaptureTally()
        for batch in read_batches(path):
            tally.add(batch)
            flows += table.add(decode(batch))
        capture = register(path, "cloud-core", tally)
        assert capture is not None
        captures.append(capture)
    flows += table.flush()
    out = tmp_path / "out.pcapng"
    with out.open("wb") as stream:
        found = extract(flows, covering(captures, flows), stream)
    assert found.format is OutputFormat.PCAPNG
    assert found.packets == len(packets) == sum(f.packets_out + f.packets_in for f in flows)
    read = list(read_batches(out))
    assert sorted({int(v) for b in read for v in b.linktype}) == [1, 101]
    with out.open("rb") as stream:
        assert sum(1 for _ in dpkt.pcapng.Reader(stream)) == len(packets)
