"""Flow-table rows as numpy columns, and the open-flow store that keeps them in reusable slots.

The open flows used to be rebuilt once per batch (kept rows gathered, new ones appended), which
copied the whole table, about 240 bytes a row, for every batch. :class:`OpenRows` instead frees
the slots of flows that end and puts new flows into free slots, growing its columns only when
they are full, so a batch costs work in proportion to the rows it touches. Each slot carries its
row's insertion number, so everything that depended on the old table order (eviction ties, the
chunks of the final drain) still sees rows in the order they were added. Rows of two-column
and wider columns move through compiled gathers and scatters (numpy's fancy indexing copies
such rows element by element).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt

from sensors import _flowtable
from sensors.beats import no_beats
from sensors.flowindex import HashIndex
from sensors.flowkeys import KEY_COLUMNS
from sensors.flowrecords import COUNTERS, TIMES

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]
Column = TypeVar("Column", bound=npt.NDArray[Any])
COLUMN_MAJOR = frozenset({"times"})
"""Store columns kept column-major: the timeout scan of every batch reads two time columns
of the whole table (``sensors.flowexpiry``); the others are row-major like a batch's rows."""
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
        # A mask becomes positions once, not once per column.
        at = np.flatnonzero(index) if index.dtype == np.bool_ else index.astype(np.intp, copy=False)
        _check_rows(at, len(self))
        return Rows(*(_rows_at(getattr(self, name), at) for name in ROW_COLUMNS))


ROW_COLUMNS = tuple(f.name for f in dataclasses.fields(Rows))
Picks = list[tuple[Rows, npt.NDArray[np.intp]]]
"""Rows to collect: per source, the positions of its rows wanted."""


def gather_picks(picks: Picks, order: npt.NDArray[np.intp]) -> Rows:
    """The picked rows, their concatenation (in ``picks`` order) rearranged by ``order``:
    each row copied once, straight from its source to its place."""
    total = sum(at.shape[0] for _, at in picks)
    place = np.full(total, -1, dtype=np.int64)  # where each concatenated row goes
    if order.shape[0] != total or (total and (order.min() < 0 or order.max() >= total)):
        raise ValueError("gather_picks: order is not a permutation of the picks")
    place[order] = np.arange(total)
    if total and place.min() < 0:
        raise ValueError("gather_picks: order is not a permutation of the picks")
    for rows, at in picks:
        _check_rows(at, len(rows))
    columns: list[npt.NDArray[Any]] = []
    empty = Rows()  # each column's dtype and row shape
    for name in ROW_COLUMNS:
        like = getattr(empty, name)
        out = no_beats(total) if name == "beats" else np.empty((total, *like.shape[1:]), like.dtype)
        start = 0
        for rows, at in picks:
            _move_rows(out, place[start : start + at.shape[0]], getattr(rows, name), at)
            start += at.shape[0]
        columns.append(out)
    return Rows(*columns)


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
        self._index = HashIndex()  # the live rows' slots by hash (``sensors.flowindex``)

    def __len__(self) -> int:
        """Open flows (live slots), not allocated slots."""
        return self._size

    @property
    def slots(self) -> int:
        """Allocated slots: the length of every column and of masks over them."""
        return len(self.rows)

    def positions(self, wanted: npt.NDArray[np.uint64]) -> I64:
        """Slot of each wanted hash among the live rows, -1 when absent."""
        return self._index.find(wanted, self.seq)

    def in_order(self, slots: I64) -> I64:
        """``slots`` (live ones) sorted by insertion, the order a rebuilt table kept."""
        # Insertion numbers are never reused, so the vectorised unstable sort is exact here.
        return slots[np.argsort(self.seq[slots])]

    def replace(self, leaving: Mask, added: Rows) -> None:
        """Free the ``leaving`` slots, then put ``added`` into free slots, in order."""
        gone = np.flatnonzero(leaving)
        self._index.remove(self.rows.hash[gone], gone)
        self.live[gone] = False
        self.rows.beats[gone] = None  # let go of their beat arrays now
        self._size -= gone.shape[0]
        if not len(added):
            return
        into = _free_slots(self.live, len(added))
        if into.shape[0] < len(added):
            self._grow(self._size + len(added))
            into = _free_slots(self.live, len(added))
        for name in ROW_COLUMNS:
            _put_rows(getattr(self.rows, name), into, getattr(added, name))
        self.live[into] = True
        self.seq[into] = self._added + np.arange(len(added))
        self._index.add(added.hash, into)
        self._added += len(added)
        self._size += len(added)

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
                else np.zeros(
                    (size, *column.shape[1:]),
                    column.dtype,
                    order="F" if name in COLUMN_MAJOR else "C",
                )
            )
            fresh[:old] = column
            setattr(self.rows, name, fresh)  # frees the old column before the next is copied
        self.live = np.r_[self.live, np.zeros(size - old, dtype=bool)]
        self.seq = np.r_[self.seq, np.zeros(size - old, dtype=np.int64)]


def _check_rows(index: npt.NDArray[np.intp], size: int) -> None:
    """Refuse positions outside ``size`` rows: the compiled gathers check none."""
    if index.shape[0] and (index.min() < 0 or index.max() >= size):
        raise IndexError("row positions outside the rows")


def rows_at(column: Column, index: npt.NDArray[np.intp]) -> Column:
    """``column[index]`` for row positions ``index`` (checked), 2-D columns compiled."""
    _check_rows(index, column.shape[0])
    return _rows_at(column, index)


def _rows_at(column: Column, index: npt.NDArray[np.intp]) -> Column:
    """``column[index]`` (positions checked by the caller); 2-D columns through a compiled
    gather, several times faster than numpy's row by row fancy indexing."""
    if not _compiled(column):
        return cast(Column, column[index])
    rows = np.empty((index.shape[0], *column.shape[1:]), column.dtype)
    every = np.arange(index.shape[0])
    _flowtable.move(rows.view(np.uint64), every, column.view(np.uint64), _positions(index))
    return cast(Column, rows)


def _put_rows(column: Column, index: npt.NDArray[np.intp], values: Column) -> None:
    """``column[index] = values``, 2-D columns compiled."""
    if values.shape != (index.shape[0], *column.shape[1:]) or values.dtype != column.dtype:
        raise ValueError("rows of the wrong shape")
    _check_rows(index, column.shape[0])
    if _compiled(column):
        every = np.arange(index.shape[0])
        _flowtable.move(column.view(np.uint64), _positions(index), values.view(np.uint64), every)
    else:
        column[index] = values


def _positions(index: npt.NDArray[np.intp]) -> I64:
    """Row positions as the compiled core takes them (64-bit, contiguous; no copy here)."""
    return np.ascontiguousarray(index, dtype=np.int64)


def _move_rows(
    out: npt.NDArray[Any], dst: I64, src: npt.NDArray[Any], at: npt.NDArray[np.intp]
) -> None:
    """``out[dst] = src[at]`` (positions checked by the caller); columns of 8-byte numbers
    compiled, one-dimensional ones as a column of width one."""
    if src.dtype != out.dtype or src.shape[1:] != out.shape[1:]:
        raise ValueError("rows of the wrong shape")
    if src.ndim == 1 and src.dtype.kind in "uif":
        out, src = out[:, None], src[:, None]  # views, never copies
    if _compiled(src):
        _flowtable.move(out.view(np.uint64), dst, src.view(np.uint64), _positions(at))
    else:
        out[dst] = src[at]


def _compiled(column: npt.NDArray[Any]) -> bool:
    """Whether a column is moved by the compiled gather and scatter: 2-D ones of 8-byte
    numbers, all seen as unsigned integers (``sensors/_flowtable.pyx``)."""
    return column.ndim == 2 and column.dtype.kind in "uif" and column.dtype.itemsize == 8


def _free_slots(live: Mask, wanted: int) -> I64:
    """The first ``wanted`` slots not in use (fewer when there are not that many)."""
    return _flowtable.first_free(np.ascontiguousarray(live, dtype=bool).view(np.uint8), wanted)
