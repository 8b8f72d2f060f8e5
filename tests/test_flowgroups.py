"""A batch split into flow groups and summed in one compiled pass, and its guards."""

from __future__ import annotations

import numpy as np
import pytest

from sensors.closing import RST
from sensors.decode import PROTO_TCP, PROTO_UDP
from sensors.flowgroups import Splits, fold_groups, hash_clash, sum_groups
from sensors.flowkeys import KEY_COLUMNS, PacketKeys
from sensors.flowrows import Rows, rows_at

SYN, ACK, RST_FLAG = 0x02, 0x10, 0x04
LINGER = Splits(tcp_idle=300.0, other_idle=60.0, linger=5.0)


def batch(
    key: list[int], ts: list[float], flags: list[int], dir_b: list[bool], proto: int = PROTO_TCP
) -> PacketKeys:
    """Packets of keys numbered ``key`` (the number is the hash too), 100 bytes each."""
    n = len(ts)
    keys = np.zeros((n, len(KEY_COLUMNS)), dtype=np.uint64)
    keys[:, 0] = key
    return PacketKeys(
        keys=keys,
        hash=np.asarray(key, dtype=np.uint64),
        dir_b=np.asarray(dir_b),
        ts=np.asarray(ts, dtype=np.float64),
        wirelen=np.full(n, 100, dtype=np.int64),
        proto=np.full(n, proto, dtype=np.int64),
        tcp_flags=np.asarray(flags, dtype=np.int64),
        refusal=np.zeros(n, dtype=bool),
        outer=np.zeros((n, 4), dtype=np.uint64),
        payload=np.zeros(n, dtype=bool),
    )


def grouped(p: PacketKeys, seed: list[int], splits: Splits = LINGER) -> tuple[list[int], ...]:
    """Group starts, segment numbers and last-of-key marks of a batch already in hash order."""
    order = np.arange(p.ts.shape[0])
    found = sum_groups(p, order, p.hash, p.ts, np.asarray(seed, dtype=np.int64), splits)
    return found.starts.tolist(), found.seg.tolist(), found.last_of_key.tolist()


def test_sides_are_summed_apart_and_the_first_syn_of_each_side_kept() -> None:
    p = batch(
        [1, 1, 1, 2], [0.0, 0.5, 1.0, 2.0], [SYN, SYN | ACK, ACK, 0], [False, True, False, False]
    )
    order = np.arange(4)
    found = sum_groups(p, order, p.hash, p.ts, np.zeros(2, dtype=np.int64), LINGER)
    assert found.counts.tolist() == [[2, 200, 0, 1, 100, 0], [1, 100, 0, 0, 0, 0]]
    assert found.times[0].tolist() == [0.0, 1.0, 0.0, 0.5, 0.0, np.inf]
    assert found.last_of_key.tolist() == [True, True]


def test_a_closed_connection_splits_after_the_linger_but_not_before() -> None:
    ts = [0.0, 1.0, 3.0, 20.0]  # reset at 1 s; a late ACK 2 s later, a new SYN 17 s later
    p = batch([1, 1, 1, 1], ts, [SYN, RST_FLAG, ACK, SYN], [False, True, False, False])
    assert grouped(p, [0]) == ([0, 3], [0, 1], [False, True])
    udp = batch([1, 1, 1, 1], ts, [0, 0, 0, 0], [False, True, False, False], proto=PROTO_UDP)
    assert grouped(udp, [0]) == ([0], [0], [True])  # only TCP closes


def test_the_open_flow_closed_before_the_batch_splits_its_first_group() -> None:
    p = batch([1, 1], [0.0, 10.0], [ACK, SYN], [False, False])
    assert grouped(p, [0]) == ([0], [0], [True])
    assert grouped(p, [RST]) == ([0, 1], [0, 1], [False, True])


def test_a_shared_hash_with_different_keys_is_a_clash() -> None:
    p = batch([7, 7], [0.0, 1.0], [0, 0], [False, False])
    order = np.arange(2)
    assert not hash_clash(order, p.hash, p.keys)
    p.keys[1, 3] = 1  # another endpoint, same hash
    assert hash_clash(order, p.hash, p.keys)


def test_positions_outside_the_rows_are_refused() -> None:
    p = batch([1, 2], [0.0, 1.0], [0, 0], [False, False])
    with pytest.raises(ValueError, match="permutation"):
        sum_groups(p, np.asarray([0, 2]), p.hash, p.ts, np.zeros(2, dtype=np.int64), LINGER)
    with pytest.raises(IndexError):
        rows_at(p.keys, np.asarray([0, 2]))
    table, groups = Rows(), Rows()
    with pytest.raises(ValueError, match="outside the table"):
        fold_groups(table, np.asarray([0]), groups, np.asarray([0]))
