"""The open flows' hash index: lookups, removals that shift entries back, shared hashes."""

from __future__ import annotations

import numpy as np

from sensors import _flowtable
from sensors.flowindex import EMPTY, MIN_ENTRIES, HashIndex

U64 = np.uint64


def hashes(*values: int) -> np.ndarray:
    """Hash values as the index takes them."""
    return np.asarray(values, dtype=U64)


def slots(*values: int) -> np.ndarray:
    """Slot numbers as the index takes them."""
    return np.asarray(values, dtype=np.int64)


KEY = 0x5EED_0F_F10E5  # a known probe key, so tests can place hashes on one probe


def same_home(count: int) -> list[int]:
    """``count`` hashes whose probes start at one entry of a new table under ``KEY``."""
    candidates = np.arange(1, 200_000, dtype=U64)
    starts = _flowtable.homes(candidates, MIN_ENTRIES, KEY)
    chosen = candidates[starts == starts[0]][:count]
    assert chosen.shape[0] == count
    return [int(h) for h in chosen]


def longest_run(index: HashIndex) -> int:
    """The longest run of occupied entries: how far the slowest probe may scan."""
    used = np.r_[False, index._slot != EMPTY, False].astype(np.int8)
    edges = np.flatnonzero(np.diff(used))
    return int((edges[1::2] - edges[::2]).max()) if edges.shape[0] else 0


def test_entries_on_one_probe_survive_the_removal_of_earlier_ones() -> None:
    index = HashIndex(KEY)
    probe = same_home(3)  # one run of linear probing, three deep
    index.add(hashes(*probe), slots(0, 1, 2))
    seq = np.arange(3, dtype=np.int64)
    index.remove(hashes(probe[0]), slots(0))
    found = index.find(hashes(*probe, 8), seq)
    assert found.tolist() == [-1, 1, 2, -1] and len(index) == 2


def test_a_shared_hash_finds_the_row_added_last_until_it_leaves() -> None:
    index = HashIndex()
    index.add(hashes(42), slots(5))
    index.add(hashes(42), slots(9))
    seq = np.zeros(10, dtype=np.int64)
    seq[5], seq[9] = 0, 1  # slot 9 was added after slot 5
    assert index.find(hashes(42), seq).tolist() == [9]
    index.remove(hashes(42), slots(9))
    assert index.find(hashes(42), seq).tolist() == [5]


def test_removing_an_absent_row_changes_nothing() -> None:
    index = HashIndex()
    index.add(hashes(1, 2), slots(0, 1))
    index.remove(hashes(1, 3), slots(1, 0))  # hash 1 sits in slot 0, not 1; 3 is absent
    assert len(index) == 2
    assert index.find(hashes(1, 2), np.arange(2, dtype=np.int64)).tolist() == [0, 1]


def test_random_adds_and_removals_match_a_dictionary() -> None:
    rng = np.random.default_rng(7)
    index, model = HashIndex(), dict[int, int]()
    free = list(range(20_000))
    seq = np.arange(20_000, dtype=np.int64)
    for _ in range(40):
        new = rng.integers(0, 1 << 62, 400, dtype=np.uint64)
        new = np.unique(new)
        new = new[~np.isin(new, list(model))]
        into = np.asarray([free.pop() for _ in range(new.shape[0])], dtype=np.int64)
        index.add(new, into)
        model.update(zip(new.tolist(), into.tolist(), strict=True))
        leaving = rng.choice(list(model), size=len(model) // 3, replace=False)
        index.remove(leaving.astype(U64), np.asarray([model[h] for h in leaving.tolist()]))
        for h in leaving.tolist():
            free.append(model.pop(h))
        probe = np.concatenate([np.asarray(list(model), dtype=U64), leaving.astype(U64)])
        expected = [model.get(h, -1) for h in probe.tolist()]
        assert index.find(probe, seq).tolist() == expected
        assert len(index) == len(model)


def test_removals_inside_one_long_probe_run_match_a_dictionary() -> None:
    rng = np.random.default_rng(11)
    crowd = same_home(150)  # every entry on one probe: removals shift entries back
    index, model = HashIndex(KEY), dict[int, int]()
    seq = np.arange(150, dtype=np.int64)
    for round_ in range(6):
        new = [h for h in crowd if h not in model][: 60 + 10 * round_]
        index.add(np.asarray(new, dtype=U64), np.asarray([crowd.index(h) for h in new]))
        model.update((h, crowd.index(h)) for h in new)
        leaving = rng.choice(list(model), size=len(model) // 2, replace=False).tolist()
        index.remove(np.asarray(leaving, dtype=U64), np.asarray([model[h] for h in leaving]))
        for h in leaving:
            del model[h]
        expected = [model.get(h, -1) for h in crowd]
        assert index.find(np.asarray(crowd, dtype=U64), seq).tolist() == expected


def test_hashes_crafted_to_share_low_bits_do_not_pile_up() -> None:
    """Flows crafted so their hashes share the low 20 bits (where an unkeyed table would start
    every probe at one entry, 20,000 deep) still spread over the table."""
    crafted = (np.arange(20_000, dtype=U64) << U64(20)) | U64(0x5A5A5)
    index = HashIndex()
    index.add(crafted, np.arange(20_000, dtype=np.int64))
    assert longest_run(index) < 200
    found = index.find(crafted, np.arange(20_000, dtype=np.int64))
    assert found.tolist() == list(range(20_000))
