"""Closed TCP flows: both sides sent FIN, or either sent RST, so the flow table can let go.

Without this a closed connection stays in the table for the whole TCP idle timeout (300 s), and
on a busy link the table then holds nearly every flow of a capture. Like Zeek's
``tcp_close_delay``, a closed flow is kept only ``linger`` seconds after its last packet, so late
acknowledgements and retransmissions still join it; a packet of the same 5-tuple after a longer
silence opens a new flow. Within a batch the same rule splits packets into flows
(``sensors.flowgroups``), so where batch boundaries fall never changes the flows reported.
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
