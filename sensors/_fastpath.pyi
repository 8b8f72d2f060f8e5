"""Types of the compiled fast-path decoder (``sensors/_fastpath.pyx``)."""

import numpy as np
import numpy.typing as npt

INT_COLUMNS: tuple[str, ...]
"""The ``Decoded`` columns in the rows of ``plain``'s integer matrix."""
ADDRESS_COLUMNS: tuple[str, ...]
"""The same for its address matrix."""

def plain(
    buf: npt.NDArray[np.uint8],
    offset: npt.NDArray[np.int64],
    caplen: npt.NDArray[np.int64],
    linktype: npt.NDArray[np.int64],
    taken: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64], npt.NDArray[np.uint64]]:
    """Which packets are plain, their integer columns and their addresses."""
