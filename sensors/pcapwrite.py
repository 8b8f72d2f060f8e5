"""Writing packets out as a capture file: classic pcap for one link type, pcapng for several.

Records are assembled with numpy, a run of packets at a time (no Python per packet): their
headers as one structured array, their bytes gathered from the batch buffer by index. Times
are written in microseconds (the readers' timestamps are float seconds, finer is not kept).
VLAN tags a live ring reported as metadata are written back into the Ethernet header, so
the file decodes to the same flows as the live capture did.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Sequence
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from sensors.capture import MAX_RECORD, PacketBatch
from sensors.linklayer import LINK_ETHERNET

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]
ETHER_ADDRESSES = 12  # destination and source MAC: an 802.1Q tag goes right after them
RUN_BYTES = 1 << 20
"""Packet bytes assembled per run: bounds the index arrays (8 bytes per packet byte)."""


class OutputFormat(StrEnum):
    """The container an extraction writes."""

    PCAP = "pcap"  # every packet has the same link type (the common case)
    PCAPNG = "pcapng"  # several link types: one interface block per link type


class CaptureWriter:
    """Serialises packets as pcap (one link type) or pcapng (several); bytes out, no I/O."""

    def __init__(self, link_types: Sequence[int]) -> None:
        if not link_types:
            raise ValueError("link_types: at least one is needed")
        self.link_types = tuple(sorted(set(link_types)))
        self.format = OutputFormat.PCAP if len(self.link_types) == 1 else OutputFormat.PCAPNG

    def header(self) -> bytes:
        """The file header: pcap's global header, or a pcapng section with its interfaces."""
        if self.format is OutputFormat.PCAP:
            return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, MAX_RECORD, self.link_types[0])
        section = struct.pack("<IIIHHqI", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1, 28)
        interfaces = b"".join(
            struct.pack("<IIHHII", 1, 20, link, 0, MAX_RECORD, 20) for link in self.link_types
        )
        return section + interfaces

    def records(self, packets: PacketBatch) -> bytes:
        """The packets' records, in order."""
        if packets.offset.shape[0] == 0:
            return b""
        ends = np.cumsum(packets.caplen)
        cuts = np.searchsorted(ends, np.arange(RUN_BYTES, int(ends[-1]), RUN_BYTES))
        bounds = [0, *np.unique(np.maximum(cuts, 1)).tolist(), packets.offset.shape[0]]
        return b"".join(self._run(packets, a, b) for a, b in itertools.pairwise(bounds) if b > a)

    def _run(self, p: PacketBatch, start: int, stop: int) -> bytes:
        rows = slice(start, stop)
        caplen = p.caplen[rows]
        tag = _tagged(p, rows)
        extra = np.where(tag >= 0, 4, 0)
        micros = np.round(p.ts[rows] * 1e6).astype(np.int64)
        if self.format is OutputFormat.PCAP:
            head = np.column_stack(
                [micros // 1_000_000, micros % 1_000_000, caplen + extra, p.wirelen[rows] + extra]
            )
            return _assemble(p.data, p.offset[rows], caplen, head, tag, align=1, trailer=False)
        padded = (caplen + extra + 3) // 4 * 4
        iface = np.searchsorted(np.asarray(self.link_types), p.linktype[rows])
        head = np.column_stack(
            [
                np.full(caplen.shape[0], 6),
                28 + padded + 4,
                iface,
                micros >> 32,
                micros & 0xFFFFFFFF,
                caplen + extra,
                p.wirelen[rows] + extra,
            ]
        )
        return _assemble(p.data, p.offset[rows], caplen, head, tag, align=4, trailer=True)


def _tagged(p: PacketBatch, rows: slice) -> I64:
    """Per packet, the VLAN id to put back into its Ethernet header, or -1."""
    if p.vlan is None:
        return np.full(p.caplen[rows].shape[0], -1, dtype=np.int64)
    vlan = p.vlan[rows]
    # Only a real 12-bit id is a tag: a reader may mark "none" as -1 or as an unsigned -1.
    ethernet = (p.linktype[rows] == LINK_ETHERNET) & (p.caplen[rows] >= ETHER_ADDRESSES)
    return np.where(ethernet & (vlan >= 0) & (vlan < 4096), vlan, -1)


def _assemble(
    data: U8, offset: I64, caplen: I64, head: I64, tag: I64, *, align: int, trailer: bool
) -> bytes:
    """Lay out records: ``head`` (little-endian u32 columns), the packet bytes (with an
    802.1Q tag after the MAC addresses where ``tag`` is a VLAN id) padded to ``align`` and,
    for pcapng, the block length again."""
    header = np.ascontiguousarray(head.astype("<u4")).view(np.uint8).reshape(head.shape[0], -1)
    width = header.shape[1]
    extra = np.where(tag >= 0, 4, 0)
    padded = (caplen + extra + align - 1) // align * align
    size = width + padded + (4 if trailer else 0)
    starts = np.r_[0, np.cumsum(size)[:-1]]
    out = np.zeros(int(size.sum()), dtype=np.uint8)
    out[starts[:, None] + np.arange(width)] = header
    within = np.arange(int(caplen.sum())) - np.repeat(np.cumsum(caplen) - caplen, caplen)
    # Bytes after the two MAC addresses move 4 on in a re-tagged frame, making room.
    moved = np.repeat(extra, caplen) * (within >= ETHER_ADDRESSES)
    target = np.repeat(starts + width, caplen) + within + moved
    out[target] = data[np.repeat(offset, caplen) + within]
    tagged = np.flatnonzero(tag >= 0)
    if tagged.size:
        at = starts[tagged] + width + ETHER_ADDRESSES
        vlan = tag[tagged]
        out[at], out[at + 1] = 0x81, 0x00
        out[at + 2], out[at + 3] = (vlan >> 8) & 0x0F, vlan & 0xFF
    if trailer:
        tail = size.astype("<u4").view(np.uint8).reshape(-1, 4)
        out[(starts + width + padded)[:, None] + np.arange(4)] = tail
    return out.tobytes()
