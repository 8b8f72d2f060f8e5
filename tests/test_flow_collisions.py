"""Hash collisions inside a batch: the flow table falls back to exact keys, same flows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nssa.pipeline import capture_flows
from sensors import flowkeys
from sensors.capture import CaptureStats
from sensors.flows import FlowTable
from tests.captures import handshake, udp, write_pcap


def test_colliding_hashes_still_give_the_same_flows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    packets = [
        p for n in range(5) for p in handshake(100.0 + n, "10.0.0.1", "10.0.0.2", 40000 + n, 80)
    ]
    packets += [(101.5, udp("10.0.0.3", "10.0.0.4", 5353, 53))]
    path = write_pcap(tmp_path / "x.pcap", sorted(packets))

    def flows(table: FlowTable) -> list[tuple[object, ...]]:
        found = [f for batch in capture_flows(path, table, CaptureStats()) for f in batch]
        return sorted((f.src_port, f.dst_port, f.packets_out, f.packets_in) for f in found)

    expected = flows(FlowTable("t"))
    monkeypatch.setattr(flowkeys, "hash_rows", lambda keys: np.zeros(keys.shape[0], np.uint64))
    table = FlowTable("t")
    assert flows(table) == expected and len(expected) == 6
    assert table.stats.hash_collisions == 1
