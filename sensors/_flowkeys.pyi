"""Types of the compiled flow keys (``sensors/_flowkeys.pyx``)."""

import numpy as np
import numpy.typing as npt

from sensors.decoded import Decoded

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

def keys(rows: I64, d: Decoded) -> tuple[U64, U64, I64, npt.NDArray[np.float64], Mask]:
    """Canonical keys (9, n), tunnel endpoints (n, 4), protocol/TCP flags/wire length (3, n),
    times, and direction/refusal/payload masks (3, n) of ``rows`` of ``d``."""

def hash_rows(keys: U64) -> U64:
    """A 64-bit mix of each key row."""
