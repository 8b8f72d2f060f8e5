"""The compiled record walk finds exactly the records a one-by-one walk finds, whatever bytes."""

from __future__ import annotations

import random
import struct

import numpy as np
import pytest

from sensors.recordwalk import RecordFormat, walk_records

MAX = 1 << 18
PCAP = RecordFormat(pcapng=False, max_record=MAX)
PCAPNG = RecordFormat(pcapng=True, max_record=MAX)
E = "<"  # byte order the generators below write; the parametrised test also uses ">"


def reference(fmt: RecordFormat, data: bytes, pos: int) -> tuple[list[int], int]:
    """The sequential walk the capture readers used to do, one record per Python step."""
    found: list[int] = []
    end = len(data)
    while True:
        if fmt.pcapng:
            if pos + 12 > end:
                return found, pos
            kind, length = struct.unpack_from(fmt.endian + "II", data, pos)
            sane = kind == 6 and 32 <= length <= MAX and not length % 4
            if not sane or pos + length > end:
                return found, pos
            size = length
        else:
            if pos + 16 > end:
                return found, pos
            incl = struct.unpack_from(fmt.endian + "I", data, pos + 8)[0]
            if incl > MAX or pos + 16 + incl > end:
                return found, pos
            size = 16 + incl
        found.append(pos)
        pos += size


def pcap_record(rng: random.Random, payload: bytes | None = None, e: str = E) -> bytes:
    """One classic pcap record of random size (mostly small, some full frames)."""
    body = payload if payload is not None else rng.randbytes(rng.choice([40, 60, 200, 1500]))
    stamp = 1_764_000_000 + rng.randrange(3600)
    return struct.pack(e + "IIII", stamp, rng.randrange(1_000_000), len(body), len(body)) + body


def epb(rng: random.Random, payload: bytes | None = None, e: str = E) -> bytes:
    """One enhanced packet block of random size."""
    body = payload if payload is not None else rng.randbytes(rng.choice([40, 61, 200, 1500]))
    padded = body + b"\0" * (-len(body) % 4)
    length = 32 + len(padded)
    head = struct.pack(e + "IIIIIII", 6, length, 0, 0, rng.randrange(1 << 32), len(body), len(body))
    return head + padded + struct.pack(e + "I", length)


def capture(rng: random.Random, pcapng: bool, count: int, decoys: bool, e: str = E) -> bytes:
    """Records, some of whose payloads are (with ``decoys``) themselves chains of plausible
    records, so guessed segment starts inside them are wrong and must be caught."""
    make = epb if pcapng else pcap_record
    out = []
    for _ in range(count):
        inner = (
            b"".join(make(rng, None, e) for _ in range(4))
            if decoys and rng.random() < 0.3
            else None
        )
        out.append(make(rng, inner, e))
    return b"".join(out)


def damaged(rng: random.Random, data: bytes) -> bytes:
    """``data`` with a few random bytes changed and possibly cut short."""
    buf = bytearray(data)
    for _ in range(rng.randrange(1, 6)):
        buf[rng.randrange(len(buf))] = rng.randrange(256)
    return bytes(buf[: rng.randrange(len(buf) // 2, len(buf) + 1)])


@pytest.mark.parametrize("endian", ["<", ">"])
@pytest.mark.parametrize("pcapng", [False, True], ids=["pcap", "pcapng"])
@pytest.mark.parametrize("seed", range(16))
def test_walk_matches_the_sequential_walk(pcapng: bool, seed: int, endian: str) -> None:
    rng = random.Random(seed)
    fmt = RecordFormat(pcapng=pcapng, max_record=MAX, endian=endian)
    data = capture(rng, pcapng, 400, decoys=seed % 2 == 1, e=endian)
    for sample in (data, damaged(rng, data), damaged(rng, data), data[: len(data) - 7]):
        starts, stop = walk_records(fmt, sample, 0)
        want, want_stop = reference(fmt, sample, 0)
        assert starts.tolist() == want
        assert stop == want_stop


def test_short_and_empty_inputs() -> None:
    for data in (b"", b"\x01", b"\0" * 15, b"\0" * 16):
        for fmt in (PCAP, PCAPNG):
            starts, stop = walk_records(fmt, data, 0)
            assert (starts.tolist(), stop) == reference(fmt, data, 0)
    assert np.asarray(walk_records(PCAP, b"\0" * 16, 0)[0]).tolist() == [0]


def test_ring_chain_follows_next_offsets_and_stops_at_a_corrupt_link() -> None:
    from sensors._recordwalk import ring_chain

    block = np.zeros(256, dtype=np.uint8)
    for at, step in ((16, 40), (56, 100), (156, 60)):  # packets at 16, 56, 156, 216
        block[at : at + 4] = np.frombuffer(struct.pack("<I", step), dtype=np.uint8)
    assert ring_chain(block, 4, 16).tolist() == [16, 56, 156, 216]
    assert ring_chain(block, 2, 16).tolist() == [16, 56]
    assert ring_chain(block, 0, 16).tolist() == []
    block[156:160] = np.frombuffer(struct.pack("<I", 1 << 20), dtype=np.uint8)  # leaves it
    assert ring_chain(block, 4, 16).tolist() == [16, 56, 156]
    assert ring_chain(block, 9, 16).tolist() == [16, 56, 156]  # fewer than the count says
    assert ring_chain(block, 3, 254).tolist() == []  # no room for a header word
