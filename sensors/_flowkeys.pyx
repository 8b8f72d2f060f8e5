# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled core of ``sensors.flowkeys``: canonical flow keys and their hashes, one pass.

The callers hand in columns of equal length and row numbers inside them, so every index is
in range by construction.
"""

import numpy as np

from libc.stdint cimport int64_t, uint8_t, uint64_t

cdef enum:
    PROTO_ICMP = 1
    PROTO_TCP = 6
    PROTO_UDP = 17
    PROTO_ICMPV6 = 58
    KEY_WIDTH = 9  # ``flowkeys.KEY_COLUMNS``


cdef uint64_t LOW_32 = 0xFFFFFFFF
# splitmix64's constants (golden-ratio seed and its two multipliers).
cdef uint64_t SEED = 0x9E3779B97F4A7C15, MIX_1 = 0xBF58476D1CE4E5B9, MIX_2 = 0x94D049BB133111EB


cdef inline int64_t request_of(int64_t kind) noexcept nogil:
    """The ICMP(v6) request type a reply type answers (replies join their request's flow)."""
    if kind == 0:
        return 8
    if kind == 14 or kind == 16 or kind == 18:
        return kind - 1
    if kind == 129:
        return 128
    return kind


READ = (
    "ip", "arp", "quoted", "src_hi", "src_lo", "dst_hi", "dst_lo", "q_src_hi", "q_src_lo",
    "q_dst_hi", "q_dst_lo", "outer_src_hi", "outer_src_lo", "outer_dst_hi", "outer_dst_lo",
    "proto", "sport", "dport", "q_proto", "q_sport", "q_dport", "vlan", "tunnel", "tunnel_id",
    "tcp_flags", "payload_len", "wirelen", "ts",
)
"""The columns of a decoded batch that ``keys`` reads (checked to be of one length)."""


def keys(const int64_t[:] rows, d):
    """Per row of ``rows`` of the decoded batch ``d`` (a ``sensors.decoded.Decoded``): the
    canonical key (a (9, n) matrix, ``KEY_COLUMNS`` in its rows), whether the packet goes
    from endpoint b to a, its protocol (the quoted one for an ICMP refusal), TCP flags (none
    for a refusal), whether it refuses a TCP or UDP flow, whether it carries payload, and its
    time, wire length and tunnel endpoints ((n, 4))."""
    cdef const uint8_t[:] ip = d.ip.view(np.uint8), arp = d.arp.view(np.uint8)
    cdef const uint8_t[:] quoted = d.quoted.view(np.uint8)
    cdef const uint64_t[:] src_hi = d.src_hi, src_lo = d.src_lo
    cdef const uint64_t[:] dst_hi = d.dst_hi, dst_lo = d.dst_lo
    cdef const uint64_t[:] q_src_hi = d.q_src_hi, q_src_lo = d.q_src_lo
    cdef const uint64_t[:] q_dst_hi = d.q_dst_hi, q_dst_lo = d.q_dst_lo
    cdef const uint64_t[:] o_src_hi = d.outer_src_hi, o_src_lo = d.outer_src_lo
    cdef const uint64_t[:] o_dst_hi = d.outer_dst_hi, o_dst_lo = d.outer_dst_lo
    cdef const int64_t[:] protos = d.proto, sports = d.sport, dports = d.dport
    cdef const int64_t[:] q_protos = d.q_proto, q_sports = d.q_sport, q_dports = d.q_dport
    cdef const int64_t[:] vlan = d.vlan, tunnel = d.tunnel, tunnel_id = d.tunnel_id
    cdef const int64_t[:] tcp_flags = d.tcp_flags, payload_len = d.payload_len
    cdef const int64_t[:] wirelen = d.wirelen
    cdef const double[:] ts = d.ts
    cdef Py_ssize_t n = rows.shape[0], k, r, size = ts.shape[0]
    for name in READ:
        if getattr(d, name).shape[0] != size:
            raise ValueError("decoded columns differ in length")
    for k in range(n):  # rows ascend (``usable_rows``), but a check per row costs nothing
        if not 0 <= rows[k] < size:
            raise ValueError("row outside the decoded batch")
    key_array = np.empty((KEY_WIDTH, n), dtype=np.uint64)
    outer_array = np.empty((n, 4), dtype=np.uint64)
    int_array = np.empty((3, n), dtype=np.int64)  # proto, TCP flags, wire length
    ts_array = np.empty(n, dtype=np.float64)
    mask_array = np.empty((3, n), dtype=np.bool_)  # swap, refusal, payload
    cdef uint64_t[:, ::1] key = key_array, outer = outer_array
    cdef int64_t[:, ::1] out = int_array
    cdef double[::1] times = ts_array
    cdef uint8_t[:, ::1] masks = mask_array.view(np.uint8)
    cdef uint64_t s_hi, s_lo, d_hi, d_lo
    cdef int64_t proto, sport, dport, q_proto
    cdef bint refusal, icmp, ported, swap
    with nogil:
        for k in range(n):
            r = rows[k]
            q_proto = q_protos[r]
            refusal = quoted[r] and (q_proto == PROTO_TCP or q_proto == PROTO_UDP)
            # An ICMP error travels back to the prober: file it under the quoted flow,
            # reversed.
            if refusal:
                s_hi, s_lo, d_hi, d_lo = q_dst_hi[r], q_dst_lo[r], q_src_hi[r], q_src_lo[r]
                sport, dport, proto = q_dports[r], q_sports[r], q_proto
            else:
                s_hi, s_lo, d_hi, d_lo = src_hi[r], src_lo[r], dst_hi[r], dst_lo[r]
                sport, dport, proto = sports[r], dports[r], protos[r]
            icmp = proto == PROTO_ICMP or proto == PROTO_ICMPV6
            if icmp:
                sport = request_of(sport if 0 <= sport <= 255 else (0 if sport < 0 else 255))
            if arp[r]:  # requests and replies are one exchange: no opcode in the key
                sport, dport = 0, 0
            # ICMP and ARP "ports" are type/code and opcode: ordered by address only.
            ported = (not icmp and ip[r]) or refusal
            swap = s_hi > d_hi or (s_hi == d_hi and s_lo > d_lo)
            swap = swap or (s_hi == d_hi and s_lo == d_lo and ported and sport > dport)
            key[0, k] = d_hi if swap else s_hi
            key[1, k] = d_lo if swap else s_lo
            key[2, k] = s_hi if swap else d_hi
            key[3, k] = s_lo if swap else d_lo
            key[4, k] = <uint64_t>(dport if swap and ported else sport)
            key[5, k] = <uint64_t>(sport if swap and ported else dport)
            key[6, k] = <uint64_t>proto
            key[7, k] = <uint64_t>vlan[r]
            key[8, k] = (<uint64_t>tunnel[r] << 32) | (<uint64_t>tunnel_id[r] & LOW_32)
            outer[k, 0], outer[k, 1] = o_src_hi[r], o_src_lo[r]
            outer[k, 2], outer[k, 3] = o_dst_hi[r], o_dst_lo[r]
            out[0, k], out[1, k] = proto, 0 if refusal else tcp_flags[r]
            out[2, k], times[k] = wirelen[r], ts[r]
            # A keep-alive probe may carry one garbage byte (RFC 1122 4.2.3.6): the
            # operating system's rhythm, not the application's, so it never starts a beat.
            masks[0, k], masks[1, k] = swap, refusal
            masks[2, k] = not refusal and payload_len[r] > 1
    return key_array, outer_array, int_array, ts_array, mask_array


def hash_rows(const uint64_t[:, :] keys):
    """A 64-bit mix of each key row (splitmix64 steps over its columns, in order)."""
    cdef Py_ssize_t n = keys.shape[0], width = keys.shape[1], k, c
    out_array = np.empty(n, dtype=np.uint64)
    cdef uint64_t[::1] out = out_array
    cdef uint64_t h
    with nogil:
        for k in range(n):
            h = SEED
            for c in range(width):
                h = (h ^ keys[k, c]) * MIX_1
                h ^= h >> 31
                h = h * MIX_2
                h ^= h >> 29
            out[k] = h
    return out_array
