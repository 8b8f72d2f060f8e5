# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled core of the flow table: grouping and summing a batch (``sensors.flowgroups``),
payload beats (``sensors.beats``), the timeout scan (``sensors.flowexpiry``), the hash index
(``sensors.flowindex``) and row moves (``sensors.flowrows``).

Indices are not checked by the compiled code: the Python wrappers check every position they
pass (lengths, permutations, slots within the table) before calling in. Masks arrive and
leave as uint8 views of numpy booleans.
"""

import numpy as np

from libc.math cimport INFINITY
from libc.stdint cimport int64_t, uint8_t, uint64_t

cdef enum:
    PROTO_TCP = 6
    SIDE_B = 64  # added to a packet's low six flag bits when it came from side b (FLAG_TABLE)
    SYN = 0x02
    ACK = 0x10
    EMPTY = -1  # slot value of an unused hash index entry


cdef inline bint closed(int64_t bits, int64_t fin_a, int64_t fin_b, int64_t rst) noexcept nogil:
    """Whether flag bits show a closed connection (``sensors.closing.closed``)."""
    return ((bits & fin_a) != 0 and (bits & fin_b) != 0) or (bits & rst) != 0


def sum_groups(
    const int64_t[::1] order,
    const uint64_t[::1] h,
    const double[::1] ts,
    const int64_t[:] proto,
    const int64_t[:] flags,
    const uint8_t[:] dir_b,
    const int64_t[:] wirelen,
    const uint8_t[:] refusal,
    const int64_t[::1] seed,
    double tcp_idle,
    double other_idle,
    double linger,
    const int64_t[::1] table,
    int64_t width,
    int64_t time_columns,
    int64_t fin_a,
    int64_t fin_b,
    int64_t rst,
):
    """Split a hash-sorted batch into groups and sum each (``flowgroups.sum_groups``); the
    first value is the group count, the arrays are longer."""
    cdef Py_ssize_t n = order.shape[0], i, at
    # Sized for one group per packet and filled group by group: the caller keeps the first
    # ``g + 1`` rows (views, no copy).
    starts_a = np.empty(n, dtype=np.int64)
    seg_a = np.empty(n, dtype=np.int64)
    last_a = np.empty(n, dtype=np.uint8)
    counts_a = np.empty((n, 2 * width), dtype=np.int64)
    bits_a = np.empty(n, dtype=np.int64)
    times_a = np.empty((n, time_columns))
    cdef int64_t[::1] starts = starts_a, seg = seg_a, bits = bits_a
    cdef uint8_t[::1] last = last_a
    cdef int64_t[:, ::1] counts = counts_a
    cdef double[:, ::1] times = times_a
    cdef Py_ssize_t g = -1, key = -1, side, column
    cdef int64_t part = 0, state = 0, f, mine
    cdef double t, quiet
    cdef bint tcp, side_b, split
    with nogil:
        for i in range(n):
            at = order[i]
            t = ts[i]
            tcp = proto[at] == PROTO_TCP
            side_b = dir_b[at] != 0
            if i == 0 or h[i] != h[i - 1]:
                if g >= 0:
                    last[g] = 1
                key += 1
                part = 0
                state = seed[key] if key < seed.shape[0] else 0
                split = True
            else:
                quiet = t - ts[i - 1]
                split = quiet > (tcp_idle if tcp else other_idle)
                if not split and tcp and quiet > linger and closed(state, fin_a, fin_b, rst):
                    split = True
                if split:
                    part += 1
                    state = 0
            if split:
                g += 1
                starts[g] = i
                seg[g] = part
                last[g] = 0
                bits[g] = 0
                for column in range(2 * width):
                    counts[g, column] = 0
                times[g, 0] = t
                times[g, 1] = t
                for column in range(2, time_columns):
                    times[g, column] = INFINITY
            else:
                times[g, 0] = min(times[g, 0], t)
                times[g, 1] = max(times[g, 1], t)
            side = width if side_b else 0
            counts[g, side] += 1
            counts[g, side + 1] += wirelen[at]
            counts[g, side + 2] += refusal[at]
            column = 3 if side_b else 2
            times[g, column] = min(times[g, column], t)
            if tcp:
                f = flags[at]
                mine = table[(f & 0x3F) | (SIDE_B if side_b else 0)]
                bits[g] |= mine
                state |= mine
                if f & (SYN | ACK) == SYN:
                    times[g, column + 2] = min(times[g, column + 2], t)
        if g >= 0:
            last[g] = 1
    return g + 1, starts_a, seg_a, last_a.view(bool), counts_a, bits_a, times_a


def hash_clash(const int64_t[::1] order, const uint64_t[::1] h, const uint64_t[:, :] keys):
    """Whether neighbours in hash order share a hash but not a key (``flowgroups``)."""
    cdef Py_ssize_t i, column
    cdef bint clash = False
    with nogil:
        for i in range(1, order.shape[0]):
            if h[i] == h[i - 1]:
                for column in range(keys.shape[1]):
                    if keys[order[i], column] != keys[order[i - 1], column]:
                        clash = True
                        break
                if clash:
                    break
    return clash


def fold(
    int64_t[:, :] counts,
    int64_t[:] bits,
    double[:, :] times,
    const int64_t[::1] rows,
    const int64_t[:, :] group_counts,
    const int64_t[:] group_bits,
    const double[:, :] group_times,
    const int64_t[::1] members,
):
    """Add groups into table rows (``flowgroups.fold_groups``): sums added, bits or-ed, the
    last time the latest, every other time the earliest."""
    cdef Py_ssize_t k, row, group, column
    with nogil:
        for k in range(rows.shape[0]):
            row, group = rows[k], members[k]
            for column in range(counts.shape[1]):
                counts[row, column] += group_counts[group, column]
            bits[row] |= group_bits[group]
            for column in range(times.shape[1]):
                if column == 1:
                    times[row, column] = max(times[row, column], group_times[group, column])
                else:
                    times[row, column] = min(times[row, column], group_times[group, column])


def group_beats(
    const double[::1] ts,
    const uint8_t[::1] payload,
    const int64_t[::1] starts,
    double gap,
    int64_t max_beats,
):
    """Payload times per group and later beats as (group, time) pairs (``beats``)."""
    cdef Py_ssize_t n = ts.shape[0], groups = starts.shape[0], g, i, stop, count = 0
    pay_a = np.empty((groups, 2))
    owners_a = np.empty(n, dtype=np.int64)
    beat_times_a = np.empty(n)
    cdef double[:, ::1] pay = pay_a
    cdef int64_t[::1] owners = owners_a
    cdef double[::1] beat_times = beat_times_a
    cdef double first, latest, previous, t
    cdef bint seen
    cdef int64_t kept
    with nogil:
        for g in range(groups):
            stop = starts[g + 1] if g + 1 < groups else n
            first, latest, kept, seen = INFINITY, -INFINITY, 0, False
            previous = 0.0
            for i in range(starts[g], stop):
                if not payload[i]:
                    continue
                t = ts[i]
                first, latest = min(first, t), max(latest, t)
                if seen and t - previous >= gap and kept < max_beats - 1:
                    owners[count], beat_times[count] = g, t
                    count += 1
                    kept += 1
                previous, seen = t, True
            pay[g, 0], pay[g, 1] = first, latest
    return pay_a, owners_a[:count], beat_times_a[:count]


def expired(
    const double[:, :] times,
    const uint64_t[:, :] keys,
    const int64_t[:] bits,
    const uint8_t[::1] live,
    double now,
    double tcp_idle,
    double other_idle,
    bint lingering,
    double linger,
    double active,
    int64_t first_column,
    int64_t last_column,
    int64_t proto_column,
    int64_t fin_a,
    int64_t fin_b,
    int64_t rst,
):
    """Per row: in use and silent past its wait or open past ``active`` (``flowexpiry``)."""
    cdef Py_ssize_t i, n = live.shape[0]
    out_a = np.zeros(n, dtype=np.uint8)
    cdef uint8_t[::1] out = out_a
    cdef double shortest = min(tcp_idle, other_idle), quiet, wait
    cdef bint tcp
    if lingering:
        shortest = min(shortest, linger)
    with nogil:
        for i in range(n):
            if not live[i]:
                continue
            quiet = now - times[i, last_column]
            if now - times[i, first_column] > active:
                out[i] = 1
            elif quiet > shortest:  # only then can it be past its own wait: read its key
                tcp = keys[i, proto_column] == PROTO_TCP
                wait = tcp_idle if tcp else other_idle
                if lingering and tcp and closed(bits[i], fin_a, fin_b, rst):
                    wait = linger
                out[i] = quiet > wait
    return out_a.view(bool)


def move(
    uint64_t[:, :] out,
    const int64_t[::1] dst,
    const uint64_t[:, :] src,
    const int64_t[::1] at,
):
    """Copy row ``at[i]`` of ``src`` to row ``dst[i]`` of ``out``, for every ``i``: the
    gathers, scatters and moves of 2-D columns of 8-byte numbers, seen as integers."""
    cdef Py_ssize_t i, j
    with nogil:
        for i in range(at.shape[0]):
            for j in range(out.shape[1]):
                out[dst[i], j] = src[at[i], j]


def first_free(const uint8_t[::1] live, int64_t wanted):
    """The first ``wanted`` slots not in use (fewer when there are not that many)."""
    found_a = np.empty(max(wanted, 0), dtype=np.int64)
    cdef int64_t[::1] found = found_a
    cdef Py_ssize_t slot, count = 0
    with nogil:
        for slot in range(live.shape[0]):
            if count >= wanted:
                break
            if not live[slot]:
                found[count] = slot
                count += 1
    return found_a[:count]


cdef uint64_t PROBE_MIX = 0x9E3779B97F4A7C15  # odd: the multiply is a bijection


cdef inline Py_ssize_t home(uint64_t h, Py_ssize_t mask, uint64_t key) noexcept nogil:
    """Where a hash's probe starts (the table size is a power of two, ``mask`` one less),
    under the table's secret ``key`` (``flowindex``: why); a multiply carries every bit of
    the hash into the bits used."""
    cdef uint64_t x = (h ^ key) * PROBE_MIX
    return <Py_ssize_t>((x ^ (x >> 32)) & <uint64_t>mask)


def homes(const uint64_t[::1] hashes, Py_ssize_t size, uint64_t key):
    """Where each hash's probe starts in a table of ``size`` entries (a power of two)."""
    out_a = np.empty(hashes.shape[0], dtype=np.int64)
    cdef int64_t[::1] out = out_a
    cdef Py_ssize_t k
    for k in range(hashes.shape[0]):
        out[k] = home(hashes[k], size - 1, key)
    return out_a


def find(
    const uint64_t[::1] table_hash,
    const int64_t[::1] table_slot,
    const int64_t[::1] seq,
    const uint64_t[::1] wanted,
    uint64_t key,
):
    """Per wanted hash, the slot with the highest ``seq`` holding it, -1 when none does
    (``flowindex``): each probe runs to an empty entry, collecting every match."""
    cdef Py_ssize_t mask = table_hash.shape[0] - 1, k, at
    cdef int64_t slot, newest
    out_a = np.full(wanted.shape[0], EMPTY, dtype=np.int64)
    cdef int64_t[::1] out = out_a
    with nogil:
        for k in range(wanted.shape[0]):
            at, newest = home(wanted[k], mask, key), -1
            while table_slot[at] != EMPTY:
                slot = table_slot[at]
                if table_hash[at] == wanted[k] and slot < seq.shape[0] and seq[slot] > newest:
                    out[k], newest = slot, seq[slot]
                at = (at + 1) & mask
    return out_a


def enter(
    uint64_t[::1] table_hash,
    int64_t[::1] table_slot,
    const uint64_t[::1] hashes,
    const int64_t[::1] slots,
    uint64_t key,
):
    """Put each (hash, slot) in the first empty entry of its probe (the table has room)."""
    cdef Py_ssize_t mask = table_hash.shape[0] - 1, k, at
    with nogil:
        for k in range(hashes.shape[0]):
            at = home(hashes[k], mask, key)
            while table_slot[at] != EMPTY:
                at = (at + 1) & mask
            table_hash[at], table_slot[at] = hashes[k], slots[k]


def drop(
    uint64_t[::1] table_hash,
    int64_t[::1] table_slot,
    const uint64_t[::1] hashes,
    const int64_t[::1] slots,
    uint64_t key,
):
    """Remove each (hash, slot) entry, shifting later entries of the run back into the hole
    when their probe passes it; return how many were found."""
    cdef Py_ssize_t mask = table_hash.shape[0] - 1, k, at, hole, later
    cdef int64_t found = 0
    with nogil:
        for k in range(hashes.shape[0]):
            at = home(hashes[k], mask, key)
            while table_slot[at] != EMPTY and (
                table_hash[at] != hashes[k] or table_slot[at] != slots[k]
            ):
                at = (at + 1) & mask
            if table_slot[at] == EMPTY:
                continue
            found += 1
            hole, later = at, (at + 1) & mask
            while table_slot[later] != EMPTY:
                # The entry may fill the hole when the hole lies on its probe, between its
                # home and where it sits.
                if ((later - home(table_hash[later], mask, key)) & mask) >= ((later - hole) & mask):
                    table_hash[hole], table_slot[hole] = table_hash[later], table_slot[later]
                    hole = later
                later = (later + 1) & mask
            table_slot[hole] = EMPTY
    return found
