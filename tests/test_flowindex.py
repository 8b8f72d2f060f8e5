"""The open flows' hash index: lookups, removals that shift entries back, shared hashes."""

from __future__ import annotations

import numpy as np

from sensors.flowindex import MIN_ENTRIES, HashIndex

U64 = np.uint64


def hashes(*values: int) -> np.ndarray:
    """Hash values as the index takes them."""
    return np.asarray(values, dtype=U64)


def slots(*values: int) -> np.ndarray:
    """Slot numbers as the index takes them."""
    return np.asarray(values, dtype=np.int64)


def test_entries_on_one_probe_survive_the_removal_of_earlier_ones() -> None:
    index = HashIndex()
    # Same home entry (equal low bits): one run of linear probing, three deep.
    same_home = [7, 7 + MIN_ENTRIES, 7 + 2 * MIN_ENTRIES]
    index.add(hashes(*same_home), slots(0, 1, 2))
    seq = np.arange(3, dtype=np.int64)
    index.remove(hashes(same_home[0]), slots(0))
    found = index.find(hashes(*same_home, 8), seq)
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
        # Few distinct low bits: long probe runs, so removals shift entries back often.
        new = rng.integers(0, 1 << 62, 400, dtype=np.uint64) & ~U64(0xF0)
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
