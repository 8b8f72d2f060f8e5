# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled core of ``sensors.dns``: a DNS message's header and first question name.

The names are attacker-controlled: every byte read is guarded by hand against the end of
the message, pointers may only go backwards and at most ``MAX_JUMPS`` times (so no loop can
hang the reader), and a name's wire length is capped at ``MAX_NAME`` before its text is
written, which bounds the text buffer.
"""

from libc.stdint cimport int64_t, uint8_t

cdef enum:
    HEADER_SIZE = 12
    MAX_JUMPS = 16  # real names need a handful of pointers; more means a loop or an attack
    MAX_NAME = 255  # RFC 1035 §3.1 limit on a name's wire length
    MAX_QUESTIONS = 4  # every real resolver sends one question; more is garbage
    MAX_OPCODE = 6  # DSO (RFC 8490) is the highest assigned opcode; above it is garbage
    # Each name byte is at most four characters of text (``\ddd``), and the length bytes
    # that become dots are part of MAX_NAME too, so the text always fits.
    TEXT_ROOM = 4 * MAX_NAME + 4

LIMITS = (MAX_JUMPS, MAX_NAME, MAX_QUESTIONS, MAX_OPCODE)
"""The limits above, for ``sensors.dns`` (one source for both)."""


cdef inline Py_ssize_t label_text(
    const uint8_t* p, Py_ssize_t at, Py_ssize_t length, char* out, Py_ssize_t n
) noexcept nogil:
    """Write one label's presentation form (RFC 1035 §5.1 escapes) at ``out[n]``; return the
    new text length."""
    cdef Py_ssize_t k
    cdef uint8_t byte
    for k in range(at, at + length):
        byte = p[k]
        if byte == 0x2E or byte == 0x5C:
            out[n] = 0x5C
            out[n + 1] = byte
            n += 2
        elif 0x21 <= byte <= 0x7E:
            out[n] = byte
            n += 1
        else:
            out[n] = 0x5C
            out[n + 1] = 0x30 + byte // 100
            out[n + 2] = 0x30 + byte // 10 % 10
            out[n + 3] = 0x30 + byte % 10
            n += 4
    return n


cdef Py_ssize_t name_at(
    const uint8_t* p, Py_ssize_t size, Py_ssize_t at, char* out, Py_ssize_t* written
) noexcept nogil:
    """Read the possibly compressed name at ``at`` into ``out`` (its text length in
    ``written``); return the offset after the name where it started, or -1 when the name is
    cut, loops, points forwards, uses an obsolete label type or is longer than allowed."""
    cdef Py_ssize_t end = -1, target, length
    cdef int jumps = 0, wire = 0
    cdef Py_ssize_t n = 0
    while True:
        if at < 0 or at >= size:
            return -1
        length = p[at]
        if length == 0:
            break
        if length & 0xC0 == 0xC0:
            if at + 1 >= size or jumps >= MAX_JUMPS:
                return -1
            target = (length & 0x3F) << 8 | p[at + 1]
            if target >= at:  # only backward pointers: a forward or self pointer can loop
                return -1
            if end < 0:
                end = at + 2
            at = target
            jumps += 1
            continue
        if length & 0xC0 or at + 1 + length > size:
            return -1  # 0x40/0x80 label types are obsolete; or the label is cut off
        wire += length + 1
        if wire > MAX_NAME:
            return -1
        if n:
            out[n] = 0x2E
            n += 1
        n = label_text(p, at + 1, length, out, n)
        at += 1 + length
    if n == 0:
        out[0] = 0x2E  # the root
        n = 1
    written[0] = n
    return end if end >= 0 else at + 1


def read_name(bytes data, Py_ssize_t at):
    """The possibly compressed name at ``at`` and the offset after it, or None."""
    cdef char text[TEXT_ROOM]
    cdef Py_ssize_t written = 0
    cdef Py_ssize_t after = name_at(<const uint8_t*>data, len(data), at, text, &written)
    if after < 0:
        return None
    return text[:written].decode("ascii"), after


cdef object message(const uint8_t* p, Py_ssize_t size):
    """The fields of the DNS message ``p[:size]`` (as ``parse``), or None."""
    cdef Py_ssize_t after, written = 0
    cdef char text[TEXT_ROOM]
    if size < HEADER_SIZE:
        return None
    cdef int flags = p[2] << 8 | p[3], questions = p[4] << 8 | p[5]
    cdef int opcode = flags >> 11 & 0xF
    if opcode > MAX_OPCODE or not 1 <= questions <= MAX_QUESTIONS:
        return None  # no question: mDNS announcements and garbage carry nothing to report
    after = name_at(p, size, HEADER_SIZE, text, &written)
    if after < 0 or after + 4 > size:
        return None
    return (
        p[0] << 8 | p[1],
        flags & 0x8000 != 0,
        opcode,
        flags & 0xF,
        text[:written].decode("ascii"),
        p[after] << 8 | p[after + 1],
        questions,
        p[6] << 8 | p[7],
        size,
    )


def parse(bytes data):
    """The fields of ``sensors.dns.DnsMessage`` (txid, response, opcode, rcode, name, qtype,
    questions, answers, size), or None when ``data`` is not plausible DNS."""
    return message(<const uint8_t*>data, len(data))


def parse_many(const uint8_t[::1] buf, const int64_t[:] start, const int64_t[:] size, kind):
    """``parse`` of each message ``buf[start[i]:start[i] + size[i]]``, in one call, each as
    an instance of ``kind`` (a tuple type: ``DnsMessage``); a span not inside the buffer
    gives None."""
    cdef Py_ssize_t n = start.shape[0], i, total = buf.shape[0]
    cdef const uint8_t* p = &buf[0] if total > 0 else NULL
    cdef list out = [None] * n
    make = tuple.__new__
    for i in range(n):
        if 0 <= start[i] and 0 <= size[i] <= total - start[i] and p != NULL:
            fields = message(p + start[i], size[i])
            if fields is not None:
                out[i] = make(kind, fields)
    return out
