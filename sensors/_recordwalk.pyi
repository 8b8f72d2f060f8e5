"""Types of the compiled record walk (``sensors/_recordwalk.pyx``)."""

import numpy as np
import numpy.typing as npt

def walk(
    buf: bytes | bytearray | npt.NDArray[np.uint8],
    start: int,
    max_record: int,
    pcapng: bool,
    big: bool,
) -> tuple[npt.NDArray[np.int64], int]:
    """The starts of the chain of complete, sane records from ``start``, and where it stops."""

def gather(
    buf: bytes | bytearray | npt.NDArray[np.uint8],
    starts: npt.NDArray[np.int64],
    fields: npt.NDArray[np.int64],
    big: bool,
) -> npt.NDArray[np.int64]:
    """The 32-bit words at ``starts + field``, one row per start, one column per field."""

def ring_chain(block: npt.NDArray[np.uint8], count: int, first: int) -> npt.NDArray[np.int64]:
    """The starts of a TPACKET_V3 block's ``count`` packets (its ``tp_next_offset`` chain)."""
