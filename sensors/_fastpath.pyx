# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled core of ``sensors.fastpath``: plain Ethernet/IPv4/IPv6 headers in one pass.

Every byte read goes through ``u8``, which clamps it into the buffer: the kernel reads the
fields a shape would have before deciding whether the packet has that shape (protocols
alternate at random in traffic, and choosing with selects costs less than mispredicted
branches), so a read meant for a longer shape may run past a short frame; its value is then
never used.
"""

import numpy as np

from libc.stdint cimport int64_t, uint8_t, uint64_t

cdef enum:
    ETH_IPV4 = 0x0800
    ETH_IPV6 = 0x86DD
    ETH_VLAN = 0x8100
    VLAN_TAG = 4  # bytes of one 802.1Q tag
    IPV4_PLAIN = 14 + 20 + 20  # Ethernet, IPv4 without options, TCP: every byte read
    IPV6_TCP = 14 + 40 + 20  # the same for IPv6 without extension headers
    IPV6_UDP = 14 + 40 + 8
    PROTO_ICMP = 1
    PROTO_TCP = 6
    PROTO_UDP = 17
    VXLAN_PORT = 4789
    # Rows of the integer matrix (named in ``INT_COLUMNS`` below).
    VERSION = 0
    PROTO = 1
    L3 = 2
    L4 = 3
    IP_END = 4
    SPORT = 5
    DPORT = 6
    FLAGS = 7
    ETHERTYPE = 8
    VLAN = 9
    PAYLOAD = 10
    PAYLOAD_LEN = 11
    INT_ROWS = 12

cdef uint64_t IPV4_MAPPED = 0xFFFF00000000

INT_COLUMNS = (
    "version", "proto", "l3", "l4", "ip_end", "sport", "dport", "tcp_flags", "ethertype",
    "vlan", "payload", "payload_len",
)
"""The ``Decoded`` columns in the rows of ``plain``'s integer matrix (the row enum above)."""
ADDRESS_COLUMNS = ("src_hi", "src_lo", "dst_hi", "dst_lo")
"""The same for its address matrix."""


cdef inline int64_t u8(const uint8_t[::1] buf, int64_t at) noexcept nogil:
    """The byte at ``at``, clamped into the buffer (see the module docstring)."""
    cdef int64_t last = buf.shape[0] - 1
    return buf[at if at < last else last]


cdef inline int64_t u16(const uint8_t[::1] buf, int64_t at) noexcept nogil:
    """The big-endian 16-bit value at ``at`` (clamped as ``u8``)."""
    return (u8(buf, at) << 8) | u8(buf, at + 1)


cdef inline uint64_t u64(const uint8_t[::1] buf, int64_t at) noexcept nogil:
    """The big-endian 64-bit value at ``at`` (clamped as ``u8``)."""
    cdef uint64_t value = 0
    cdef int k
    for k in range(8):
        value = (value << 8) | <uint64_t>u8(buf, at + k)
    return value


cdef inline uint64_t ipv4_address(const uint8_t[::1] buf, int64_t at) noexcept nogil:
    """The IPv4 address at ``at`` in the IPv4-mapped form the decoder uses."""
    return <uint64_t>((u16(buf, at) << 16) | u16(buf, at + 2)) | IPV4_MAPPED


cdef inline bint transport(
    const uint8_t[::1] buf, int64_t proto, int64_t l4, int64_t[:, ::1] ints, Py_ssize_t i
) noexcept nogil:
    """Fill row ``i``'s protocol, ports (ICMP type and code) and TCP flags from the header
    at ``l4``; false for VXLAN, which the general decoder peels."""
    cdef bint tcp = proto == PROTO_TCP, icmp = proto == PROTO_ICMP
    cdef int64_t sport = u16(buf, l4), dport = u16(buf, l4 + 2)
    ints[PROTO, i], ints[L4, i] = proto, l4
    ints[SPORT, i] = u8(buf, l4) if icmp else sport
    ints[DPORT, i] = u8(buf, l4 + 1) if icmp else dport
    ints[FLAGS, i] = u8(buf, l4 + 13) if tcp else 0
    return not (proto == PROTO_UDP and dport == VXLAN_PORT)


cdef inline bint ipv4(
    const uint8_t[::1] buf, int64_t h, int64_t room,
    int64_t[:, ::1] ints, uint64_t[:, ::1] addresses, Py_ssize_t i,
) noexcept nogil:
    """Fill row ``i`` from the IPv4 frame whose (tag-skipped) Ethernet header is at ``h``,
    ``room`` bytes captured from there; true when it is plain: no options, not a later
    fragment, TCP, UDP or ICMP other than an error (its quoted packet needs the general
    decoder), and not VXLAN."""
    cdef int64_t proto = u8(buf, h + 23), l4 = h + 34, kind = u8(buf, l4)
    cdef bint icmp = proto == PROTO_ICMP and kind != 3 and kind != 4 and kind != 11
    icmp = icmp and kind != 12  # ICMP_ERRORS
    cdef bint plain = u8(buf, h + 14) == 0x45 and room >= IPV4_PLAIN
    plain = plain and (u8(buf, h + 20) & 0x1F) == 0 and u8(buf, h + 21) == 0
    plain = plain and (proto == PROTO_TCP or proto == PROTO_UDP or icmp)
    ints[VERSION, i], ints[IP_END, i] = 4, h + 14 + u16(buf, h + 16)
    addresses[0, i], addresses[2, i] = 0, 0
    addresses[1, i] = ipv4_address(buf, h + 26)
    addresses[3, i] = ipv4_address(buf, h + 30)
    return transport(buf, proto, l4, ints, i) and plain


cdef inline bint ipv6(
    const uint8_t[::1] buf, int64_t h, int64_t room,
    int64_t[:, ::1] ints, uint64_t[:, ::1] addresses, Py_ssize_t i,
) noexcept nogil:
    """``ipv4`` for IPv6: plain when it has no extension headers and carries TCP or UDP."""
    cdef int64_t proto = u8(buf, h + 20), l4 = h + 54
    cdef bint plain = (u8(buf, h + 14) >> 4) == 6 and room >= IPV6_UDP
    plain = plain and (proto == PROTO_UDP or (proto == PROTO_TCP and room >= IPV6_TCP))
    ints[VERSION, i], ints[IP_END, i] = 6, l4 + u16(buf, h + 18)
    cdef int k
    for k in range(4):
        addresses[k, i] = u64(buf, h + 22 + 8 * k)
    return transport(buf, proto, l4, ints, i) and plain


cdef inline void payload(
    const uint8_t[::1] buf, int64_t end, int64_t[:, ::1] ints, Py_ssize_t i
) noexcept nogil:
    """Fill row ``i``'s payload offset and size: it ends at the datagram's own end when that
    is plausible, else at the capture's (as the general decoder's ``_payload``); ICMP has
    none."""
    cdef int64_t proto = ints[PROTO, i], l4 = ints[L4, i], ip_end = ints[IP_END, i]
    cdef int64_t start = l4 + (u8(buf, l4 + 12) >> 4) * 4 if proto == PROTO_TCP else l4 + 8
    cdef int64_t data_end = (ip_end if ip_end < end else end) if ip_end > l4 else end
    cdef int64_t size = 0 if proto == PROTO_ICMP or data_end <= start else data_end - start
    ints[PAYLOAD, i] = start if size > 0 else -1
    ints[PAYLOAD_LEN, i] = size


def plain(
    const uint8_t[::1] buf,
    const int64_t[:] offset,
    const int64_t[:] caplen,
    const int64_t[:] linktype,
    const int64_t[:] taken,
):
    """Which packets are plain, their integer columns (rows as ``INT_COLUMNS``) and
    their addresses (``ADDRESS_COLUMNS``); other packets' rows may hold junk, for
    the general decoder to overwrite. ``taken``: VLAN tags the capturing kernel removed (an
    empty array when there are none)."""
    cdef Py_ssize_t n = offset.shape[0], i
    cdef int64_t size = buf.shape[0], o, cap, h, room, kind, shift
    rows_array = np.zeros(n, dtype=np.bool_)
    ints_array = np.empty((INT_ROWS, n), dtype=np.int64)
    addresses_array = np.empty((4, n), dtype=np.uint64)
    cdef uint8_t[::1] rows = rows_array.view(np.uint8)
    cdef int64_t[:, ::1] ints = ints_array
    cdef uint64_t[:, ::1] addresses = addresses_array
    cdef bint tags_taken = taken.shape[0] > 0
    with nogil:
        for i in range(n):
            o, cap = offset[i], caplen[i]
            if o < 0 or cap < IPV4_PLAIN or o + cap > size or linktype[i] != 1:
                continue  # rare: too short, not in the buffer, not Ethernet
            if tags_taken and taken[i] >= 0:
                continue  # the capturing kernel took a tag: the general decoder's work
            shift = VLAN_TAG if u16(buf, o + 12) == ETH_VLAN else 0
            h, room = o + shift, cap - shift
            kind = u16(buf, h + 12)
            ints[L3, i], ints[ETHERTYPE, i] = h + 14, kind
            ints[VLAN, i] = (u16(buf, o + 14) & 0x0FFF) if shift else -1  # the tag's TCI
            if kind == ETH_IPV4:
                rows[i] = ipv4(buf, h, room, ints, addresses, i)
            elif kind == ETH_IPV6:
                rows[i] = ipv6(buf, h, room, ints, addresses, i)
            else:
                continue
            payload(buf, o + cap, ints, i)
    return rows_array, ints_array, addresses_array
