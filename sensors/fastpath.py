"""The decoder's fast path: plain Ethernet/IPv4 TCP/UDP/ICMP packets from one gather.

Most extranet packets have exactly this shape; reading their fixed headers with one strided
copy per packet is several times cheaper than the general layered decoder, which handles the
rest. Tests prove both give identical results.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt

from sensors.capture import PacketBatch
from sensors.decoded import (
    ICMP_ERRORS,
    IPV4_MAPPED,
    PROTO_ICMP,
    PROTO_TCP,
    PROTO_UDP,
    Decoded,
)
from sensors.linklayer import ETH_IPV4, ETH_VLAN
from sensors.tunnels import VXLAN_PORT
from sensors.view import I64, Mask


def subset(batch: PacketBatch, rows: npt.NDArray[np.intp]) -> PacketBatch:
    """The packets at ``rows`` of a batch (same buffer)."""
    return PacketBatch(
        data=batch.data,
        offset=batch.offset[rows],
        caplen=batch.caplen[rows],
        wirelen=batch.wirelen[rows],
        linktype=batch.linktype[rows],
        ts=batch.ts[rows],
        vlan=None if batch.vlan is None else batch.vlan[rows],
    )


def merge(fast: Decoded, general: Decoded, rows: npt.NDArray[np.intp]) -> Decoded:
    """``fast`` with the general decoder's results written over ``rows``."""
    merged = {}
    for f in dataclasses.fields(Decoded):
        column = getattr(fast, f.name).copy()
        column[rows] = getattr(general, f.name)
        merged[f.name] = column
    return Decoded(**merged)


PLAIN_WIDTH = 54  # Ethernet 14 + IPv4 20 + TCP 20: every field the fast path reads
VLAN_TAG = 4  # bytes of one 802.1Q tag


def plain_ipv4(batch: PacketBatch) -> tuple[Mask, Decoded] | None:
    """Decode untagged Ethernet/IPv4 (no options, not a later fragment) TCP/UDP/ICMP packets
    from one gather; return which rows that covers, or None when it covers none."""
    n = len(batch)
    tagged = _one_tag(batch)
    shift = np.where(tagged, VLAN_TAG, 0)
    long_enough = (batch.linktype == 1) & (batch.caplen >= PLAIN_WIDTH + shift)
    if batch.vlan is not None:
        long_enough &= batch.vlan < 0
    if n == 0 or not long_enough.any():
        return None
    # A tagged frame is read from 4 bytes further on: its inner type and IPv4 header then
    # sit where an untagged frame's do, and the tag's own bytes at 10 and 11.
    start = np.where(long_enough, batch.offset + shift, 0)
    # Rows of a sliding-window view: each gathered row is one contiguous 54-byte copy.
    h = np.lib.stride_tricks.sliding_window_view(batch.data, PLAIN_WIDTH)[start]
    proto = h[:, 23].astype(np.int64)
    icmp = proto == PROTO_ICMP
    rows = (
        long_enough
        & (h[:, 12] == 0x08)
        & (h[:, 13] == 0x00)
        & (h[:, 14] == 0x45)
        & ((h[:, 20] & 0x1F) == 0)
        & (h[:, 21] == 0)  # fragment offset 0
        & ((proto == PROTO_TCP) | (proto == PROTO_UDP) | icmp)
        & ~(icmp & np.isin(h[:, 34], ICMP_ERRORS))  # quoted packets: general decoder
        & ~((proto == PROTO_UDP) & (h[:, 36] == VXLAN_PORT >> 8) & (h[:, 37] == VXLAN_PORT & 255))
    )
    if not rows.any():
        return None
    return rows, _plain_fields(batch, h, proto, shift)


def _one_tag(batch: PacketBatch) -> Mask:
    """Ethernet frames with an 802.1Q tag (type 0x8100 at byte 12). A second tag fails the
    fast path's inner type test (IPv4 only), so QinQ still goes to the general decoder."""
    size = batch.data.shape[0]
    if size < 2:
        return np.zeros(len(batch), dtype=bool)
    # The big-endian 16-bit value at every byte offset, without a copy: one gather.
    pairs = np.ndarray(shape=(size - 1,), dtype=">u2", buffer=batch.data, strides=(1,))
    long = batch.caplen >= 14
    outer = pairs[np.minimum(np.where(long, batch.offset + 12, 0), size - 2)]
    tagged: Mask = (batch.linktype == 1) & long & (outer == ETH_VLAN)
    return tagged


def _plain_fields(batch: PacketBatch, h: npt.NDArray[np.uint8], proto: I64, shift: I64) -> Decoded:
    """All decoded fields of the fast-path rows, read from the gathered header matrix
    (``shift``: 4 where a VLAN tag precedes the IPv4 header, else 0)."""
    n = len(batch)
    end = batch.offset + batch.caplen
    off = batch.offset + shift
    tcp, icmp = proto == PROTO_TCP, proto == PROTO_ICMP

    def u16(at: int) -> I64:
        return (h[:, at].astype(np.int64) << 8) | h[:, at + 1]

    def u32(at: int) -> I64:
        return (u16(at) << 16) | u16(at + 2)

    l3, l4 = off + 14, off + 34
    ip_end = l3 + u16(16)
    start = np.where(tcp, l4 + (h[:, 46].astype(np.int64) >> 4) * 4, l4 + 8)
    data_end = np.minimum(end, np.where(ip_end > l4, ip_end, end))  # as in _payload
    size = np.where(icmp, 0, np.clip(data_end - start, 0, None))
    zeros, zero_ints = np.zeros(n, dtype=np.uint64), np.zeros(n, dtype=np.int64)
    true = np.ones(n, dtype=bool)
    return Decoded(
        ip=true,
        arp=~true,
        version=np.full(n, 4, dtype=np.int64),
        src_hi=zeros,
        src_lo=u32(26).astype(np.uint64) | IPV4_MAPPED,
        dst_hi=zeros,
        dst_lo=u32(30).astype(np.uint64) | IPV4_MAPPED,
        proto=proto,
        later_fragment=~true,
        l3=l3,
        l4=l4,
        ip_end=ip_end,
        sport=np.where(icmp, h[:, 34], u16(34)),
        dport=np.where(icmp, h[:, 35], u16(36)),
        tcp_flags=np.where(tcp, h[:, 47], 0).astype(np.int64),
        l4_ok=true,
        ts=batch.ts,
        wirelen=batch.wirelen,
        ethertype=np.full(n, ETH_IPV4, dtype=np.int64),
        vlan=np.where(shift > 0, u16(10) & 0x0FFF, -1),
        payload=np.where(size > 0, start, -1),
        payload_len=size,
        tunnel=zero_ints,
        tunnel_id=zero_ints - 1,
        outer_src_hi=zeros,
        outer_src_lo=zeros,
        outer_dst_hi=zeros,
        outer_dst_lo=zeros,
        quoted=~true,
        q_src_hi=zeros,
        q_src_lo=zeros,
        q_dst_hi=zeros,
        q_dst_lo=zeros,
        q_proto=zero_ints,
        q_sport=zero_ints,
        q_dport=zero_ints,
    )
