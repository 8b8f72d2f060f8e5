# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled core of ``sensors.tls``: the fingerprinted fields of a ClientHello.

Every length in a hello is attacker-controlled: each vector's bounds are checked against its
enclosing structure (``span``) before any byte of it is read, and a vector that runs past
its parent makes the whole hello malformed, as it did in the Python parser this replaces.
"""

from cpython.bytes cimport PyBytes_FromStringAndSize
from libc.stdint cimport uint8_t

cdef enum:
    EXT_SNI = 0
    EXT_GROUPS = 10
    EXT_POINTS = 11
    EXT_SIGALGS = 13
    EXT_ALPN = 16
    EXT_VERSIONS = 43
    RANDOM_END = 4 + 2 + 32  # handshake header, legacy_version, random
    # Slots of the extensions whose bodies are read.
    AT_SNI = 0
    AT_GROUPS = 1
    AT_POINTS = 2
    AT_SIGALGS = 3
    AT_ALPN = 4
    AT_VERSIONS = 5
    WANTED = 6


cdef inline Py_ssize_t span(
    const uint8_t* p, Py_ssize_t at, Py_ssize_t end, int width, Py_ssize_t* start
) noexcept nogil:
    """The stop of the ``width``-byte-length-prefixed vector at ``at`` (its start in
    ``start``), or -1 when the prefix or the vector runs past ``end``."""
    if at + width > end:
        return -1
    start[0] = at + width
    cdef Py_ssize_t stop = start[0] + (p[at] if width == 1 else p[at] << 8 | p[at + 1])
    return -1 if stop > end else stop


cdef tuple u16s(const uint8_t* p, Py_ssize_t start, Py_ssize_t stop):
    """Big-endian 16-bit values in ``p[start:stop]`` (an odd trailing byte is ignored)."""
    cdef Py_ssize_t k
    return tuple([p[k] << 8 | p[k + 1] for k in range(start, stop - 1, 2)])


cdef inline int slot(int kind) noexcept nogil:
    """Slot of an extension type among the ones whose bodies are read, or -1."""
    if kind == EXT_SNI:
        return AT_SNI
    if kind == EXT_GROUPS:
        return AT_GROUPS
    if kind == EXT_POINTS:
        return AT_POINTS
    if kind == EXT_SIGALGS:
        return AT_SIGALGS
    if kind == EXT_ALPN:
        return AT_ALPN
    if kind == EXT_VERSIONS:
        return AT_VERSIONS
    return -1


cdef object extension_kinds(
    const uint8_t* p, Py_ssize_t at, Py_ssize_t end, Py_ssize_t* starts, Py_ssize_t* stops
):
    """Extension types of the block ``p[at:end]`` in wire order, with the body bounds of the
    first occurrence of each read type in its slot (-1: absent); None when one is cut."""
    cdef Py_ssize_t length, k
    cdef int kind, which
    for k in range(WANTED):
        starts[k] = stops[k] = -1
    kinds = []
    while at < end:
        if at + 4 > end:
            return None
        kind = p[at] << 8 | p[at + 1]
        length = p[at + 2] << 8 | p[at + 3]
        at += 4 + length
        if at > end:
            return None
        kinds.append(kind)
        which = slot(kind)
        if which >= 0 and stops[which] < 0:  # the first occurrence counts
            starts[which], stops[which] = at - length, at
    return tuple(kinds)


cdef inline bytes piece(const uint8_t* p, Py_ssize_t start, Py_ssize_t stop):
    """A copy of ``p[start:stop]`` (the caller has bounded both)."""
    return PyBytes_FromStringAndSize(<const char*>p + start, stop - start)


cdef object server_name(const uint8_t* p, Py_ssize_t start, Py_ssize_t stop):
    """The host_name entry of a server_name body (RFC 6066 §3), "" when there is none, or
    None when an entry before it is cut."""
    cdef Py_ssize_t at, end, name_at
    end = span(p, start, stop, 2, &at)
    if end < 0:
        return None
    cdef int kind
    while at < end:
        kind = p[at]
        at = span(p, at + 1, end, 2, &name_at)
        if at < 0:
            return None
        if kind == 0:
            return piece(p, name_at, at).decode("ascii", "backslashreplace")
    return ""


cdef object alpn(const uint8_t* p, Py_ssize_t start, Py_ssize_t stop):
    """Protocol names of an ALPN body (RFC 7301 §3.1), or None when one is cut."""
    cdef Py_ssize_t at, end, name_at
    end = span(p, start, stop, 2, &at)
    if end < 0:
        return None
    out = []
    while at < end:
        at = span(p, at, end, 1, &name_at)
        if at < 0:
            return None
        out.append(piece(p, name_at, at))
    return tuple(out)


cdef inline bint inner(
    const uint8_t* p, Py_ssize_t* starts, Py_ssize_t* stops, int which, int width
) noexcept nogil:
    """Narrow a present extension body to its length-prefixed payload, in place (an absent
    one stays empty); false when the payload runs past the body."""
    cdef Py_ssize_t start = 0  # left as is when the prefix runs past the body
    if stops[which] < 0:
        starts[which] = stops[which] = 0
        return True
    stops[which] = span(p, starts[which], stops[which], width, &start)
    starts[which] = start
    return stops[which] >= 0


def parse(const uint8_t[::1] message, hello=tuple):
    """The fields of ``sensors.tls.ClientHello`` (version, ciphers, extensions, server name,
    groups, point formats, signature algorithms, ALPN, supported versions) of a handshake
    message (bytes or any byte buffer) as a ``hello`` (a tuple type: ``ClientHello``), or
    None unless it is a whole, well-formed ClientHello."""
    cdef Py_ssize_t size = message.shape[0], end, at, cipher_at, cipher_stop, ext_at, ext_end
    cdef Py_ssize_t starts[WANTED]
    cdef Py_ssize_t stops[WANTED]
    cdef Py_ssize_t ignored, k
    if size < 4:
        return None
    cdef const uint8_t* p = &message[0]
    end = 4 + (p[1] << 16 | p[2] << 8 | p[3])
    if p[0] != 1 or end > size or end < RANDOM_END:
        return None  # not a ClientHello, cut off, or too short for version and random
    at = span(p, RANDOM_END, end, 1, &ignored)  # session id
    cipher_stop = span(p, at, end, 2, &cipher_at) if at >= 0 else -1
    at = span(p, cipher_stop, end, 1, &ignored) if cipher_stop >= 0 else -1  # compression
    if at < 0:
        return None
    ext_at = ext_end = at  # no extensions block at all: a bare (TLS 1.0-era) hello
    if at < end:
        ext_end = span(p, at, end, 2, &ext_at)
    kinds = extension_kinds(p, ext_at, ext_end, starts, stops) if ext_end >= 0 else None
    if kinds is None:
        return None
    name = server_name(p, starts[AT_SNI], stops[AT_SNI]) if stops[AT_SNI] >= 0 else ""
    protocols = alpn(p, starts[AT_ALPN], stops[AT_ALPN]) if stops[AT_ALPN] >= 0 else ()
    if name is None or protocols is None:
        return None
    if not (inner(p, starts, stops, AT_GROUPS, 2) and inner(p, starts, stops, AT_POINTS, 1)):
        return None
    if not (inner(p, starts, stops, AT_SIGALGS, 2) and inner(p, starts, stops, AT_VERSIONS, 1)):
        return None
    return tuple.__new__(hello, (
        p[4] << 8 | p[5],
        u16s(p, cipher_at, cipher_stop),
        kinds,
        name,
        u16s(p, starts[AT_GROUPS], stops[AT_GROUPS]),
        tuple([p[k] for k in range(starts[AT_POINTS], stops[AT_POINTS])]),
        u16s(p, starts[AT_SIGALGS], stops[AT_SIGALGS]),
        protocols,
        u16s(p, starts[AT_VERSIONS], stops[AT_VERSIONS]),
    ))
