"""Flow-table rows as numpy columns, and the open-flow store that keeps them in reusable slots.

The open flows used to be rebuilt once per batch (kept rows gathered, new ones appended), which
copied the whole table, about 240 bytes a row, for every batch. :class:`OpenRows` instead frees
the slots of flows that end and puts new flows into free slots, growing its columns only when
they are full, so a batch costs work in proportion to the rows it touches. Each slot carries its
row's insertion number, so everything that depended on the old table order (eviction ties, the
chunks of the final drain) still sees rows in the order they were added.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from sensors.beats import no_beats
from sensors.flowkeys import KEY_COLUMNS
from sensors.flowrecords import COUNTERS, TIMES

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]
MIN_SLOTS = 4096
"""Smallest slot count once the store holds anything: tiny captures stay tiny."""


@dataclass
class Rows:
    """Flow rows as columns: hash, key, per-side sums and flag bits, times, tunnel endpoints,
    first and last payload times and later beat times (``sensors.beats``)."""

    hash: npt.NDArray[np.uint64] = field(default_factory=lambda: np.zeros(0, np.uint64))
    keys: npt.NDArray[np.uint64] = field(
        default_factory=lambda: np.zeros((0, len(KEY_COLUMNS)), np.uint64)
    )
    counts: I64 = field(default_factory=lambda: np.zeros((0, 2 * len(COUNTERS)), np.int64))
    bits: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    times: F64 = field(default_factory=lambda: np.zeros((0, len(TIMES)), np.float64))
    outer: npt.NDArray[np.uint64] = field(default_factory=lambda: np.zeros((0, 4), np.uint64))
    pay: F64 = field(default_factory=lambda: np.zeros((0, 2), np.float64))
    beats: npt.NDArray[np.object_] = field(default_factory=lambda: no_beats(0))

    def __len__(self) -> int:
        return int(self.hash.shape[0])

    def take(self, index: npt.NDArray[np.intp] | npt.NDArray[np.bool_]) -> Rows:
        """The rows at ``index`` (integer positions or a mask)."""
        if index.dtype == np.bool_:  # once, not once per column
            index = np.flatnonzero(index)
        return Rows(*(getattr(self, name)[index] for name in ROW_COLUMNS))

    def permute(self, order: npt.NDArray[np.intp]) -> None:
        """Reorder the rows in place, column by column: never two whole copies at once."""
        for name in ROW_COLUMNS:
            setattr(self, name, getattr(self, name)[order])

    @staticmethod
    def concat(parts: list[Rows]) -> Rows:
        """All rows of ``parts``, in order."""
        return Rows(*(np.concatenate([getattr(p, name) for p in parts]) for name in ROW_COLUMNS))


ROW_COLUMNS = tuple(f.name for f in dataclasses.fields(Rows))


class OpenRows:
    """The open flows: ``rows`` has one slot per row position, ``live`` marks the slots in
    use (the others hold stale values that callers mask out) and ``seq`` each live slot's
    insertion number. At most ``max_rows`` slots are ever allocated."""

    def __init__(self, max_rows: int) -> None:
        self.rows = Rows()
        self.live: Mask = np.zeros(0, dtype=bool)
        self.seq: I64 = np.zeros(0, dtype=np.int64)
        self.max_rows = max_rows
        self._size = 0
        self._added = 0
        # The live rows' hashes in ascending order and their slots: a lookup index kept up
        # to date per batch (a merge), where a hash table would be rebuilt over every row.
        self._index: npt.NDArray[np.uint64] = np.zeros(0, dtype=np.uint64)
        self._index_slot: I64 = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        """Open flows (live slots), not allocated slots."""
        return self._size

    @property
    def slots(self) -> int:
        """Allocated slots: the length of every column and of masks over them."""
        return len(self.rows)

    def positions(self, wanted: npt.NDArray[np.uint64]) -> I64:
        """Slot of each wanted hash among the live rows, -1 when absent (a sorted lookup)."""
        if self._index.shape[0] == 0:
            return np.full(wanted.shape[0], -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self._index, wanted), self._index.shape[0] - 1)
        return np.where(self._index[at] == wanted, self._index_slot[at], -1)

    def in_order(self, slots: I64) -> I64:
        """``slots`` (live ones) sorted by insertion, the order a rebuilt table kept."""
        # Insertion numbers are never reused, so the vectorised unstable sort is exact here.
        return slots[np.argsort(self.seq[slots])]

    def replace(self, leaving: Mask, added: Rows) -> None:
        """Free the ``leaving`` slots, then put ``added`` into free slots, in order."""
        gone = np.flatnonzero(leaving)
        self.live[gone] = False
        self.rows.beats[gone] = None  # let go of their beat arrays now
        self._size -= gone.shape[0]
        if gone.shape[0]:
            kept = self.live[self._index_slot]
            self._index, self._index_slot = self._index[kept], self._index_slot[kept]
        if not len(added):
            return
        free = np.flatnonzero(~self.live)
        if free.shape[0] < len(added):
            self._grow(self._size + len(added))
            free = np.flatnonzero(~self.live)
        into = free[: len(added)]
        for name in ROW_COLUMNS:
            getattr(self.rows, name)[into] = getattr(added, name)
        self.live[into] = True
        self.seq[into] = self._added + np.arange(len(added))
        self._index_add(added.hash, into)
        self._added += len(added)
        self._size += len(added)

    def _index_add(self, hashes: npt.NDArray[np.uint64], slots: I64) -> None:
        """Merge new rows' hashes and slots into the sorted index (``np.insert``'s result,
        with the positions worked out once for both arrays)."""
        order = np.argsort(hashes)
        at = np.searchsorted(self._index, hashes[order]) + np.arange(hashes.shape[0])
        size = self._index.shape[0] + hashes.shape[0]
        old = np.ones(size, dtype=bool)
        old[at] = False
        index, index_slot = np.empty(size, np.uint64), np.empty(size, np.int64)
        index[at], index_slot[at] = hashes[order], slots[order]
        index[old], index_slot[old] = self._index, self._index_slot
        self._index, self._index_slot = index, index_slot

    def _grow(self, need: int) -> None:
        """Allocate more slots (by half, within ``max_rows`` unless ``need`` is larger),
        column by column so the old and new store never coexist whole."""
        old = self.slots
        size = max(need, min(max(old + old // 2, MIN_SLOTS), self.max_rows))
        for name in ROW_COLUMNS:
            column = getattr(self.rows, name)
            fresh = (
                no_beats(size)
                if name == "beats"
                else np.zeros((size, *column.shape[1:]), column.dtype, order="F")
            )  # column-major: the timeout scan of every batch reads whole time columns
            fresh[:old] = column
            setattr(self.rows, name, fresh)  # frees the old column before the next is copied
        self.live = np.r_[self.live, np.zeros(size - old, dtype=bool)]
        self.seq = np.r_[self.seq, np.zeros(size - old, dtype=np.int64)]
