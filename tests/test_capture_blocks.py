"""pcapng block walk: packet runs gathered with numpy keep file order, per-section byte order,
interfaces as defined at each point, and give the same packets whatever the chunk size."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from sensors import capture
from sensors.capture import CaptureStats, read_batches
from tests.captures import tcp

FRAME = tcp("10.0.0.1", "10.0.0.2", 1000, 80, "S")


def block(kind: int, body: bytes, endian: str) -> bytes:
    body += b"\0" * (-len(body) % 4)
    length = len(body) + 12
    return struct.pack(endian + "II", kind, length) + body + struct.pack(endian + "I", length)


def shb(endian: str) -> bytes:
    return block(0x0A0D0D0A, struct.pack(endian + "IHHq", 0x1A2B3C4D, 1, 0, -1), endian)


def idb(linktype: int, endian: str, nanos: bool = False) -> bytes:
    options = b""
    if nanos:
        options = (
            struct.pack(endian + "HH", 9, 1) + b"\x09\0\0\0" + struct.pack(endian + "HH", 0, 0)
        )
    return block(1, struct.pack(endian + "HHI", linktype, 0, 0) + options, endian)


def epb(iface: int, stamp: int, data: bytes, endian: str) -> bytes:
    head = struct.pack(endian + "IIIII", iface, stamp >> 32, stamp & 0xFFFFFFFF, len(data), 1500)
    return block(6, head + data, endian)


def spb(data: bytes, endian: str) -> bytes:
    return block(3, struct.pack(endian + "I", len(data)) + data, endian)


def mixed_file(path: Path) -> Path:
    """Two sections of opposite byte order; simple packets and an interface defined mid-run."""
    frames = [FRAME + bytes([n]) for n in range(8)]
    blobs = [
        shb("<"),
        idb(1, "<"),
        epb(0, 1_700_000_000_000_000, frames[0], "<"),
        epb(0, 1_700_000_000_500_000, frames[1], "<"),
        spb(frames[2], "<"),
        epb(1, 1_700_000_001_000_000, frames[3], "<"),  # interface 1 is not defined yet
        idb(101, "<", nanos=True),
        epb(1, 1_700_000_002_000_000_000, frames[4][14:], "<"),
        epb(0, 1_700_000_003_000_000, frames[5], "<"),
        shb(">"),
        idb(1, ">"),
        epb(0, 1_700_000_004_000_000, frames[6], ">"),
        epb(0, 1_700_000_005_000_000, frames[7], ">"),
    ]
    path.write_bytes(b"".join(blobs))
    return path


def read(path: Path) -> tuple[list[bytes], list[int], list[float], list[int], CaptureStats]:
    stats = CaptureStats()
    frames, links, times, wire = [], [], [], []
    for b in read_batches(path, stats):
        frames += [bytes(b.data[o : o + c]) for o, c in zip(b.offset, b.caplen, strict=True)]
        links += b.linktype.tolist()
        times += b.ts.tolist()
        wire += b.wirelen.tolist()
    return frames, links, times, wire, stats


def test_blocks_keep_order_sections_and_interfaces(tmp_path: Path) -> None:
    frames, links, times, wire, stats = read(mixed_file(tmp_path / "x.pcapng"))
    assert [f[-1] for f in frames] == [0, 1, 2, 4, 5, 6, 7]
    assert frames[3] == FRAME[14:] + b"\x04"  # raw IP on the nanosecond interface
    assert links == [1, 1, 1, 101, 1, 1, 1]
    assert stats.corrupt_records == 1  # the packet naming an interface not yet defined
    stamped = [times[n] for n in (0, 1, 3, 4, 5, 6)]
    assert np.allclose(stamped, [1_700_000_000 + x for x in (0, 0.5, 2, 3, 4, 5)])
    assert times[2] == 0.0  # simple packet blocks carry no time
    assert wire == [1500, 1500, len(FRAME) + 1, 1500, 1500, 1500, 1500]


@pytest.mark.parametrize("chunk", [64, 200, 1000])
def test_chunk_size_does_not_change_packets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    path = mixed_file(tmp_path / "x.pcapng")
    whole = read(path)
    monkeypatch.setattr(capture, "CHUNK_BYTES", chunk)
    pieces = read(path)
    assert pieces[:4] == whole[:4]
    assert pieces[4].corrupt_records == whole[4].corrupt_records
