"""Which flow rows have waited long enough to end, in one compiled pass over the rows
(``sensors/_flowtable.pyx``).

The flow table asks this of every open flow once per batch, so the scan reads a few columns of
the whole table each time: a row ends once it has been silent longer than its wait (the TCP
or other idle timeout, or the linger after a TCP close when ``tcp_closed`` is set,
``sensors.closing``) or has been open longer than the active timeout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sensors import _flowtable
from sensors.closing import FIN_A, FIN_B, RST
from sensors.decode import PROTO_TCP
from sensors.flowkeys import KEY_COLUMNS
from sensors.flowrecords import TIMES

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
Mask = npt.NDArray[np.bool_]
FIRST, LAST = TIMES.index("first"), TIMES.index("last")
PROTO = KEY_COLUMNS.index("proto")
if PROTO_TCP != 6:  # the compiled scan compares with 6
    raise ImportError("sensors._flowtable expects TCP to be protocol 6")


@dataclass(frozen=True)
class Waits:
    """How long flows may last (seconds); ``linger`` None: closing changes nothing."""

    tcp_idle: float
    other_idle: float
    linger: float | None
    active: float


def expired(times: F64, keys: U64, bits: I64, live: Mask, now: float, waits: Waits) -> Mask:
    """Per row (its times and key as in ``sensors.flowrows.Rows``, flag bits, whether in
    use): whether it is in use and, at ``now``, silent past its wait or open past the active
    timeout."""
    n = live.shape[0]
    if any(column.shape[0] != n for column in (times, keys, bits)):
        raise ValueError("expired: columns of different lengths")
    if times.shape[1] <= LAST or keys.shape[1] <= PROTO:
        raise ValueError("expired: times or keys too narrow")
    linger = np.inf if waits.linger is None else waits.linger
    return _flowtable.expired(
        times,
        keys,
        bits,
        np.ascontiguousarray(live, dtype=bool).view(np.uint8),
        now,
        waits.tcp_idle,
        waits.other_idle,
        waits.linger is not None,
        linger,
        waits.active,
        FIRST,
        LAST,
        PROTO,
        FIN_A,
        FIN_B,
        RST,
    )
