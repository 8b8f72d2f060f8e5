"""Capture readers: every container variant, and damaged files counted rather than fatal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sensors.capture import CaptureFormatError, CaptureStats, read_batches
from tests.captures import handshake, tcp, write_pcap, write_pcapng

SESSION = handshake(1_700_000_000.123456, "10.0.0.1", "10.0.0.2", 40000, 80)


def read_all(path: Path) -> tuple[np.ndarray, np.ndarray, CaptureStats]:
    stats = CaptureStats()
    batches = list(read_batches(path, stats))
    ts = np.concatenate([b.ts for b in batches]) if batches else np.zeros(0)
    first = [
        bytes(b.data[b.offset[i] : b.offset[i] + b.caplen[i]])
        for b in batches
        for i in range(len(b))
    ]
    return ts, np.array(first, dtype=object), stats


@pytest.mark.parametrize("endian", ["<", ">"])
@pytest.mark.parametrize("nano", [False, True])
@pytest.mark.parametrize("compress", [False, True])
def test_pcap_variants_give_same_packets(
    tmp_path: Path, endian: str, nano: bool, compress: bool
) -> None:
    path = write_pcap(tmp_path / "x.pcap", SESSION, endian=endian, nano=nano, compress=compress)
    ts, frames, stats = read_all(path)
    assert list(frames) == [f for _, f in SESSION]
    assert np.allclose(ts, [t for t, _ in SESSION], atol=1e-6)
    assert stats.packets == len(SESSION) and not stats.cut_off


def test_snaplen_truncated_records_are_counted(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "x.pcap", SESSION, snaplen=60)
    _, frames, stats = read_all(path)
    assert len(frames) == len(SESSION)
    assert stats.truncated_records == sum(len(f) > 60 for _, f in SESSION)


def test_file_cut_mid_record_keeps_complete_records(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "x.pcap", SESSION)
    path.write_bytes(path.read_bytes()[:-10])
    _, frames, stats = read_all(path)
    assert len(frames) == len(SESSION) - 1
    assert stats.cut_off


def test_corrupt_length_stops_and_is_counted(tmp_path: Path) -> None:
    blob = bytearray(write_pcap(tmp_path / "x.pcap", SESSION).read_bytes())
    second = 24 + 16 + len(SESSION[0][1])
    blob[second + 8 : second + 12] = (10**9).to_bytes(4, "little")
    path = tmp_path / "bad.pcap"
    path.write_bytes(bytes(blob))
    _, frames, stats = read_all(path)
    assert len(frames) == 1 and stats.corrupt_records == 1


def test_not_a_capture_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.pcap"
    path.write_bytes(b"GET / HTTP/1.1\r\n")
    with pytest.raises(CaptureFormatError, match="not a pcap"):
        list(read_batches(path))


@pytest.mark.parametrize("endian", ["<", ">"])
def test_pcapng_interfaces_with_own_link_type_and_resolution(tmp_path: Path, endian: str) -> None:
    frame = tcp("10.0.0.1", "10.0.0.2", 1, 2, "S")
    raw_ip = frame[14:]
    packets = [(0, 1_700_000_000.5, frame), (1, 1_700_000_001.25, raw_ip)]
    path = write_pcapng(tmp_path / "x.pcapng", packets, [(1, None), (101, 9)], endian=endian)
    stats = CaptureStats()
    batches = list(read_batches(path, stats))
    linktypes = np.concatenate([b.linktype for b in batches])
    ts = np.concatenate([b.ts for b in batches])
    assert list(linktypes) == [1, 101]
    assert np.allclose(ts, [1_700_000_000.5, 1_700_000_001.25])
    assert stats.skipped_blocks == 1


def test_empty_file_after_header_yields_nothing(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "x.pcap", [])
    _, frames, stats = read_all(path)
    assert len(frames) == 0 and stats.packets == 0 and not stats.cut_off
