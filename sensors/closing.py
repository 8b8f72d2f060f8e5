"""Closed TCP flows: both sides sent FIN, or either sent RST, so the flow table can let go.

Without this a closed connection stays in the table for the whole TCP idle timeout (300 s), and
on a busy link the table then holds nearly every flow of a capture. Like Zeek's
``tcp_close_delay``, a closed flow is kept only ``linger`` seconds after its last packet, so late
acknowledgements and retransmissions still join it; a packet of the same 5-tuple after a longer
silence opens a new flow. Within a batch the same rule splits packets into flows, so where
batch boundaries fall never changes the flows reported.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sensors.flowrecords import FLAG_BITS, SIDE_B_SHIFT

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]
FIN_A = 1 << FLAG_BITS.index("F")
FIN_B = FIN_A << SIDE_B_SHIFT
RST = (1 << FLAG_BITS.index("R")) | (1 << (FLAG_BITS.index("R") + SIDE_B_SHIFT))


def closed(bits: I64) -> Mask:
    """Whether flag bits (``FLAG_BITS`` of both sides) show a closed connection."""
    return ((bits & FIN_A > 0) & (bits & FIN_B > 0)) | (bits & RST > 0)


def close_cuts(
    new_key: Mask,
    ts: npt.NDArray[np.float64],
    tcp: Mask,
    bits: I64,
    seed: I64,
    cut: Mask,
    linger: float,
) -> Mask:
    """Where flows of a key-sorted batch must also split because the connection had closed.

    ``new_key`` marks each key's first packet, ``cut`` the splits already made (idle gaps),
    ``bits`` each packet's flag bits and ``seed`` the bits of the open flow a key's first
    packets continue (zero when none). A packet splits when it is TCP, comes more than
    ``linger`` seconds after the previous packet of its key, and the flow it would join is
    closed. Closing is decided from the flow's own start, so each round accepts only the first
    new split of every flow and rounds repeat until none is found: one per close and reuse of
    a 5-tuple inside one batch, which is rare.
    """
    late = tcp & ~new_key & (np.diff(ts, prepend=ts[:1]) > linger)
    if not late.any():
        return cut
    index = np.arange(ts.shape[0])
    marks = np.column_stack([bits & FIN_A > 0, bits & FIN_B > 0, bits & RST > 0])
    upto = np.cumsum(marks, axis=0)
    before = np.vstack([np.zeros((1, 3), dtype=upto.dtype), upto[:-1]])  # packets before i
    key_start = np.maximum.accumulate(np.where(new_key, index, 0))
    seeded = np.column_stack([seed & FIN_A > 0, seed & FIN_B > 0, seed & RST > 0])
    cut = cut.copy()
    while True:
        start = np.maximum.accumulate(np.where(new_key | cut, index, 0))
        seen = (before - before[start]) > 0
        seen |= seeded & (start == key_start)[:, None]
        shut = (seen[:, 0] & seen[:, 1]) | seen[:, 2]
        found = np.flatnonzero(late & shut & ~cut)
        if found.shape[0] == 0:
            return cut
        _, first = np.unique(start[found], return_index=True)
        cut[found[first]] = True
