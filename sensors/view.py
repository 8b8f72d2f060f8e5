"""Bounds-checked, vectorised big-endian reads from a batch's byte buffer."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
Mask = npt.NDArray[np.bool_]


class ByteView:
    """Reads one field per packet at per-packet offsets; a read past a packet's captured end
    yields zero, and callers carry ``fits`` masks so such packets are counted, never fatal."""

    def __init__(self, data: npt.NDArray[np.uint8], end: I64) -> None:
        self.buf = data
        self.end = end
        self.size = data.shape[0]

    def fits(self, at: I64, width: int) -> Mask:
        """Whether ``width`` bytes at ``at`` lie inside each packet."""
        return (at >= 0) & (at + width <= self.end)

    def u8(self, at: I64, ok: Mask) -> I64:
        """Read one byte per packet where ``ok`` holds (zero elsewhere)."""
        return self._read(at, ok, 1).astype(np.int64)

    def u16(self, at: I64, ok: Mask) -> I64:
        """Read a big-endian 16-bit value per packet."""
        return self._read(at, ok, 2).astype(np.int64)

    def u32(self, at: I64, ok: Mask) -> I64:
        """Read a big-endian 32-bit value per packet."""
        return self._read(at, ok, 4).astype(np.int64)

    def u64(self, at: I64, ok: Mask, width: int = 8) -> U64:
        """Read a big-endian integer of ``width`` (1, 2, 4 or 8) bytes per packet."""
        return self._read(at, ok, width).astype(np.uint64)

    def _read(self, at: I64, ok: Mask, width: int) -> npt.NDArray[np.unsignedinteger]:
        """One gather of ``width`` bytes per packet, viewed as a big-endian integer."""
        kind = {1: ">u1", 2: ">u2", 4: ">u4", 8: ">u8"}[width]
        if self.size < width:
            return np.zeros(at.shape[0], dtype=kind)
        # Where ok is false the read is redirected to offset 0 and zeroed afterwards.
        safe = np.minimum(np.where(ok, at, 0), self.size - width)
        if width == 1:
            values = self.buf[safe]
        else:
            values = self.buf[safe[:, None] + np.arange(width)].view(kind).reshape(-1)
        return np.where(ok, values, 0)
