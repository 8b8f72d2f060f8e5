"""Which sorted address range holds each address: one ``searchsorted`` for a whole batch."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


def covering_rows(
    starts: npt.NDArray[Any], ends: npt.NDArray[Any], values: npt.NDArray[Any]
) -> npt.NDArray[np.int64]:
    """The row of the ``[start, end]`` range holding each of ``values``, -1 where none does.

    ``starts`` is sorted and the ranges do not overlap (merged intervals, or a database's
    disjoint blocks); IPv6 arrays hold Python ints (object dtype) and work the same way.
    """
    if not len(starts) or not len(values):
        return np.full(len(values), -1, dtype=np.int64)
    at = np.searchsorted(starts, values, side="right").astype(np.int64) - 1
    clipped = np.maximum(at, 0)
    inside = (at >= 0) & (values <= ends[clipped]).astype(bool)
    return np.where(inside, at, -1)
