"""Bad input never crashes the sensor: fuzzed frames and damaged files are counted, not fatal."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import fuzz

from nssa.pipeline import capture_flows
from sensors.capture import CaptureFormatError, CaptureStats, read_batches
from sensors.decode import decode
from sensors.flows import FlowTable
from tests.captures import decoded_both_ways, write_pcap, write_pcapng

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "pcaps" / "recon_scan.pcap"


def real_frames() -> list[bytes]:
    batch = next(read_batches(SOURCE))
    data = batch.data.tobytes()
    return [
        data[o : o + c] for o, c in zip(batch.offset.tolist(), batch.caplen.tolist(), strict=True)
    ]


def mutated_frames(count: int, rng: random.Random) -> list[bytes]:
    """Real frames with bit flips, cut short or extended with garbage."""
    frames = real_frames()
    out = []
    for _ in range(count):
        frame = bytearray(rng.choice(frames))
        for _ in range(rng.randint(1, 8)):
            frame[rng.randrange(len(frame))] ^= 1 << rng.randrange(8)
        cut = rng.random()
        if cut < 0.3:
            frame = frame[: rng.randrange(len(frame))]
        elif cut < 0.4:
            frame += rng.randbytes(rng.randrange(64))
        out.append(bytes(frame))
    return out


def fuzzed_packets(count: int) -> list[bytes]:
    """scapy ``fuzz()`` packets: every unset field random, on several protocol stacks."""
    stacks = [IP() / TCP(), IP() / UDP(), IP() / ICMP(), IPv6() / TCP(), IPv6() / UDP()]
    return [bytes(Ether() / fuzz(stacks[n % len(stacks)])) for n in range(count)]


def test_ten_thousand_bad_frames_are_read_and_counted(tmp_path: Path) -> None:
    rng = random.Random(20261129)
    frames = mutated_frames(8_000, rng) + fuzzed_packets(2_000)
    path = write_pcap(
        tmp_path / "fuzz.pcap", [(1_000.0 + n * 1e-3, f) for n, f in enumerate(frames)]
    )
    stats, table = CaptureStats(), FlowTable("fuzz")
    flows = [f for batch in capture_flows(path, table, stats) for f in batch]
    assert stats.packets == len(frames) == table.stats.packets
    assert len(flows) > 0
    counted = table.stats
    assert counted.ip_packets + counted.non_ip <= counted.packets


@pytest.mark.parametrize("container", ["pcap", "pcapng"])
def test_damaged_files_never_raise_beyond_format_errors(tmp_path: Path, container: str) -> None:
    rng = np.random.default_rng(7)
    if container == "pcap":
        original = SOURCE.read_bytes()
    else:
        packets = [(0, 1_000.0 + n, f) for n, f in enumerate(real_frames()[:300])]
        original = write_pcapng(tmp_path / "x.pcapng", packets, [(1, 6)]).read_bytes()
    for n in range(300):
        blob = bytearray(original[: int(rng.integers(0, len(original)))])
        flips = rng.integers(0, max(len(blob), 1), size=int(rng.integers(0, 20)))
        for at in flips.tolist():
            if at < len(blob):
                blob[at] ^= 0xFF
        path = tmp_path / f"d{n}.pcap"
        path.write_bytes(bytes(blob))
        stats = CaptureStats()
        try:
            for batch in read_batches(path, stats):
                decode(batch)
        except CaptureFormatError:
            assert bytes(blob[:4]) not in (original[:4],)  # only a damaged magic is refused
        assert stats.packets >= 0


def test_not_a_capture_names_the_file_and_what_was_expected(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    try:
        list(read_batches(path))
    except CaptureFormatError as exc:
        assert str(path) in str(exc) and "pcap or pcapng" in str(exc)
    else:
        raise AssertionError("expected CaptureFormatError")


def test_fast_path_agrees_with_general_decoder_on_fuzzed_frames(tmp_path: Path) -> None:

    rng = random.Random(7)
    frames = mutated_frames(3_000, rng) + fuzzed_packets(500)
    path = write_pcap(tmp_path / "f.pcap", [(1.0 + n, f) for n, f in enumerate(frames)])
    for batch in read_batches(path):
        decoded_both_ways(batch)
