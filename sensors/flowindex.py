"""The open flows' lookup from key hash to slot: an open-addressing hash table, its probes
compiled (``sensors/_flowtable.pyx``).

Every batch looks up a few thousand keys among as many as ``max_flows`` open flows and adds
and removes as many. A sorted index had to be rebuilt over every open flow for each batch; a
hash table touches only the entries that change. It probes linearly and deletes by shifting
later entries back (no tombstones), and doubles once half full, so a probe ends at an empty
entry within a few steps.

Flow keys come from the traffic and the hash function is public, so flows could be crafted
whose hashes share the bits that pick a probe's start, piling onto one probe sequence and
turning every lookup into a long scan. Each index therefore draws a secret key that decides
where probes start; where a flow lands cannot be known from outside, and no result depends on
it (only positions do).

Two open flows share a hash only after a 64-bit collision, when the flow table groups a batch
by ids of its exact keys that restart with every batch: then the lookup returns the flow added
last (the highest insertion number), as the sorted index it replaces did.
"""

from __future__ import annotations

import secrets

import numpy as np
import numpy.typing as npt

from sensors import _flowtable

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
EMPTY = -1
"""Slot value of an unused entry."""
MIN_ENTRIES = 1024
"""Entries of a new table (a power of two, like every size it grows to)."""


class HashIndex:
    """Slots of rows by their key hash; a hash may map to several slots (see above)."""

    def __init__(self, key: int | None = None) -> None:
        # The probe key: drawn here; given only by tests, which need to know where hashes land.
        self.key = secrets.randbits(64) if key is None else key
        self._hash: U64 = np.zeros(MIN_ENTRIES, dtype=np.uint64)
        self._slot: I64 = np.full(MIN_ENTRIES, EMPTY, dtype=np.int64)
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def find(self, wanted: U64, seq: I64) -> I64:
        """Per wanted hash, the slot holding it with the highest insertion number ``seq``
        (indexed by slot), -1 when none does."""
        return _flowtable.find(self._hash, self._slot, seq, wanted, self.key)

    def add(self, hashes: U64, slots: I64) -> None:
        """Enter each row's hash and slot (slots not entered yet)."""
        if hashes.shape != slots.shape or (slots.shape[0] and slots.min() < 0):
            raise ValueError("hash index: a slot for every hash, none negative")
        need = self._count + hashes.shape[0]
        if 2 * need > self._hash.shape[0]:
            self._resize(need)
        _flowtable.enter(self._hash, self._slot, hashes, slots, self.key)
        self._count = need

    def remove(self, hashes: U64, slots: I64) -> None:
        """Drop the entries of these rows (their hashes and slots); absent ones are skipped."""
        if hashes.shape != slots.shape:
            raise ValueError("hash index: a slot for every hash")
        self._count -= int(_flowtable.drop(self._hash, self._slot, hashes, slots, self.key))

    def _resize(self, need: int) -> None:
        """Move every entry into a table at least twice the size of ``need``."""
        size = self._hash.shape[0]
        while 2 * need > size:
            size *= 2
        used = self._slot != EMPTY
        hashes, slots = self._hash[used], self._slot[used]
        self._hash = np.zeros(size, dtype=np.uint64)
        self._slot = np.full(size, EMPTY, dtype=np.int64)
        _flowtable.enter(self._hash, self._slot, hashes, slots, self.key)
