# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled core of ``sensors.recordwalk``: the sequential record walk and header gather.

Indices are not checked by the compiled code: every read is guarded by hand against the
buffer's end before it is made.
"""

import numpy as np

from libc.stdint cimport int64_t, uint8_t

cdef enum:
    PCAP_HEADER = 16  # bytes of a classic pcap record header
    EPB_MIN = 32  # bytes of an enhanced packet block without packet data
    EPB_TYPE = 6


cdef inline int64_t u32_at(const uint8_t[::1] buf, int64_t at, bint big) noexcept nogil:
    """The 32-bit word at ``at`` in either byte order (the caller checks ``at + 4``)."""
    if big:
        return (<int64_t>buf[at] << 24) | (<int64_t>buf[at + 1] << 16) | (
            <int64_t>buf[at + 2] << 8) | buf[at + 3]
    return (<int64_t>buf[at + 3] << 24) | (<int64_t>buf[at + 2] << 16) | (
        <int64_t>buf[at + 1] << 8) | buf[at]


def walk(const uint8_t[::1] buf, int64_t start, int64_t max_record, bint pcapng, bint big):
    """The starts of the chain of complete, sane records from ``start``, and where it stops."""
    cdef int64_t end = buf.shape[0], at = start, size, count = 0
    found_array = np.empty(max(end - start, 0) // PCAP_HEADER + 1, dtype=np.int64)
    cdef int64_t[::1] found = found_array
    with nogil:
        while at >= 0:
            if pcapng:
                if at + 12 > end:
                    break
                size = u32_at(buf, at + 4, big)
                if u32_at(buf, at, big) != EPB_TYPE or size < EPB_MIN or size % 4 != 0:
                    break
                if size > max_record or at + size > end:
                    break
            else:
                if at + PCAP_HEADER > end:
                    break
                size = PCAP_HEADER + u32_at(buf, at + 8, big)
                if size - PCAP_HEADER > max_record or at + size > end:
                    break
            found[count] = at
            count += 1
            at += size
    return found_array[:count].copy(), at


def gather(const uint8_t[::1] buf, const int64_t[:] starts, const int64_t[:] fields, bint big):
    """The 32-bit words at ``starts + field``, one row per start, one column per field;
    a word that would lie past the buffer reads as zero (callers never ask for one)."""
    cdef Py_ssize_t n = starts.shape[0], k = fields.shape[0], row, column
    cdef int64_t at, end = buf.shape[0]
    out_array = np.zeros((n, k), dtype=np.int64)
    cdef int64_t[:, ::1] out = out_array
    with nogil:
        for row in range(n):
            for column in range(k):
                at = starts[row] + fields[column]
                if 0 <= at and at + 4 <= end:
                    out[row, column] = u32_at(buf, at, big)
    return out_array


def ring_chain(const uint8_t[::1] block, int64_t count, int64_t first):
    """The starts of a TPACKET_V3 block's ``count`` packets: the chain of little-endian
    ``tp_next_offset`` words from ``first``. A link that leaves the block (a corrupt
    block) ends the chain there."""
    cdef int64_t end = block.shape[0], at = first, k = 0, step
    found_array = np.empty(max(count, 0), dtype=np.int64)
    cdef int64_t[::1] found = found_array
    with nogil:
        while k < count and 0 <= at and at + 4 <= end:
            found[k] = at
            k += 1
            step = u32_at(block, at, False)
            if step <= 0:
                break
            at += step
    return found_array[:k].copy()
