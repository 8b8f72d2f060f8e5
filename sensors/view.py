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
        if self.size == 0:
            return np.zeros(at.shape[0], dtype=np.int64)
        safe = np.where(ok, at, 0).clip(0, self.size - 1)
        return np.where(ok, self.buf[safe].astype(np.int64), 0)

    def u16(self, at: I64, ok: Mask) -> I64:
        """Read a big-endian 16-bit value per packet."""
        return (self.u8(at, ok) << 8) | self.u8(at + 1, ok)

    def u32(self, at: I64, ok: Mask) -> I64:
        """Read a big-endian 32-bit value per packet."""
        return (self.u16(at, ok) << 16) | self.u16(at + 2, ok)

    def u64(self, at: I64, ok: Mask, width: int = 8) -> U64:
        """Read a big-endian integer of ``width`` (at most 8) bytes per packet."""
        out = np.zeros(at.shape[0], dtype=np.uint64)
        for k in range(width):
            out = (out << np.uint64(8)) | self.u8(at + k, ok).astype(np.uint64)
        return out
