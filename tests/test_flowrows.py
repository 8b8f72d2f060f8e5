"""Open-flow slots: freed slots are reused, lookups follow, insertion order is kept."""

from __future__ import annotations

from array import array

import numpy as np
import pytest

from sensors.flowkeys import KEY_COLUMNS
from sensors.flowrecords import COUNTERS, TIMES
from sensors.flowrows import MIN_SLOTS, OpenRows, Rows, gather_picks


def rows(*hashes: int) -> Rows:
    """Rows with the given hashes; each row's times are its hash, to tell them apart."""
    n = len(hashes)
    return Rows(
        hash=np.asarray(hashes, dtype=np.uint64),
        keys=np.zeros((n, len(KEY_COLUMNS)), np.uint64),
        counts=np.zeros((n, 2 * len(COUNTERS)), np.int64),
        bits=np.zeros(n, np.int64),
        times=np.repeat(np.asarray(hashes, dtype=np.float64)[:, None], len(TIMES), 1),
        outer=np.zeros((n, 4), np.uint64),
        pay=np.zeros((n, 2), np.float64),
        beats=np.full(n, None, dtype=object),
    )


def test_freed_slots_are_reused_and_found_by_hash() -> None:
    store = OpenRows(max_rows=100)
    store.replace(np.zeros(0, dtype=bool), rows(50, 10, 30))
    assert len(store) == 3 and store.slots == 100  # MIN_SLOTS, but never past max_rows
    slot_of_10 = int(store.positions(np.asarray([10], np.uint64))[0])
    leaving = np.zeros(store.slots, dtype=bool)
    leaving[slot_of_10] = True
    store.replace(leaving, rows(20, 40))
    found = store.positions(np.asarray([10, 20, 30, 40, 50, 60], np.uint64))
    assert found[0] == -1 and found[5] == -1
    assert slot_of_10 in found.tolist()  # 20, the first row added, took the freed slot
    assert store.rows.times[found[1:5], 0].tolist() == [20.0, 30.0, 40.0, 50.0]
    live = store.in_order(np.flatnonzero(store.live))
    assert store.rows.hash[live].tolist() == [50, 30, 20, 40]  # insertion order, not slots
    assert len(store) == 4


def test_growth_keeps_rows_and_stays_within_the_cap() -> None:
    store = OpenRows(max_rows=MIN_SLOTS + 10)
    first = list(range(1, MIN_SLOTS + 1))
    store.replace(np.zeros(0, dtype=bool), rows(*first))
    store.replace(np.zeros(store.slots, dtype=bool), rows(*range(MIN_SLOTS + 1, MIN_SLOTS + 6)))
    assert store.slots == MIN_SLOTS + 10  # grown, but never past max_rows
    wanted = np.arange(1, MIN_SLOTS + 6, dtype=np.uint64)
    slots = store.positions(wanted)
    assert (slots >= 0).all()
    assert store.rows.times[slots, 0].tolist() == wanted.astype(float).tolist()


def test_picks_from_several_sources_land_in_the_given_order() -> None:
    first, second = rows(10, 20, 30), rows(40, 50)
    first.beats[1] = array("d", [2.5])
    picked = gather_picks(
        [(first, np.asarray([2, 1])), (second, np.asarray([0]))], np.asarray([1, 2, 0])
    )
    assert picked.hash.tolist() == [20, 40, 30]  # the concatenation 30, 20, 40, reordered
    assert picked.times[:, 0].tolist() == [20.0, 40.0, 30.0]
    assert [None if b is None else list(b) for b in picked.beats] == [[2.5], None, None]
    with pytest.raises(ValueError, match="permutation"):
        gather_picks([(first, np.asarray([0, 1]))], np.asarray([0, 0]))
