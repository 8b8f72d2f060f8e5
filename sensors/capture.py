"""Capture files: classic pcap and pcapng (optionally gzip-compressed) read in batches.

A reader walks the record headers and hands out :class:`PacketBatch` objects: one contiguous
byte buffer plus numpy arrays of per-packet offsets, lengths, link types and timestamps, so
decoding can run vectorised over thousands of packets at a time. Damaged input is counted in
:class:`CaptureStats` and skipped; a file cut off mid-record ends the stream cleanly.
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from sensors.recordwalk import RecordFormat, header_words, walk_records

CHUNK_BYTES = 4 << 20  # read size: amortises per-batch numpy work; bounds batch memory
MAX_RECORD = 1 << 18  # a record longer than this is corrupt (no link has 256 KiB frames)

PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"
GZIP_MAGIC = b"\x1f\x8b"


class CaptureFormatError(ValueError):
    """The file is not a capture this reader understands."""


@dataclass
class CaptureStats:
    """Counters of what a reader saw, reported instead of crashing on bad input."""

    packets: int = 0
    bytes: int = 0
    truncated_records: int = 0  # records whose captured length is below the wire length
    corrupt_records: int = 0  # impossible lengths (the rest is skipped), unknown interfaces
    cut_off: bool = False  # the file ended in the middle of a record
    skipped_blocks: int = 0  # pcapng blocks of kinds we do not use


@dataclass(frozen=True)
class PacketBatch:
    """Packets sharing one byte buffer; ``offset[i]`` is where packet ``i`` starts in ``data``."""

    data: npt.NDArray[np.uint8]
    offset: npt.NDArray[np.int64]
    caplen: npt.NDArray[np.int64]
    wirelen: npt.NDArray[np.int64]
    linktype: npt.NDArray[np.int64]
    ts: npt.NDArray[np.float64]
    vlan: npt.NDArray[np.int64] | None = None  # tags the capturing kernel took out of frames

    def __len__(self) -> int:
        return int(self.offset.shape[0])


Columns = tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.float64],
]
"""Offset, caplen, wirelen, linktype and ts of a run of packets."""


@dataclass
class _Collector:
    """Per-chunk packets that become one :class:`PacketBatch`: runs gathered with numpy
    (``parts``) and single packets of rare block kinds (the lists), kept in file order."""

    offset: list[int] = field(default_factory=list)
    caplen: list[int] = field(default_factory=list)
    wirelen: list[int] = field(default_factory=list)
    linktype: list[int] = field(default_factory=list)
    ts: list[float] = field(default_factory=list)
    parts: list[Columns] = field(default_factory=list)
    headers: tuple[npt.NDArray[np.int64], str, float, int] | None = None  # classic pcap
    fatal: bool = False  # an impossible length: nothing after it can be trusted

    def __bool__(self) -> bool:
        return (
            bool(self.offset)
            or any(part[0].size for part in self.parts)
            or (self.headers is not None and self.headers[0].size > 0)
        )

    def add_run(self, run: Columns) -> None:
        """Append a gathered run of packets after those collected so far."""
        self._flush()
        self.parts.append(run)

    def _flush(self) -> None:
        """Turn the single packets collected so far into a part, keeping file order."""
        if self.offset:
            self.parts.append(
                (
                    np.asarray(self.offset, dtype=np.int64),
                    np.asarray(self.caplen, dtype=np.int64),
                    np.asarray(self.wirelen, dtype=np.int64),
                    np.asarray(self.linktype, dtype=np.int64),
                    np.asarray(self.ts, dtype=np.float64),
                )
            )
            self.offset, self.caplen, self.wirelen, self.linktype, self.ts = [], [], [], [], []

    def batch(self, data: bytearray) -> PacketBatch:
        """The collected packets as one batch over ``data``."""
        if self.headers is not None:
            return _pcap_batch(data, *self.headers)
        self._flush()
        parts = self.parts or [_no_packets()]
        columns = [np.concatenate(c) if len(parts) > 1 else c[0] for c in zip(*parts, strict=True)]
        return PacketBatch(
            data=np.frombuffer(data, dtype=np.uint8),
            offset=columns[0],
            caplen=columns[1],
            wirelen=columns[2],
            linktype=columns[3],
            ts=columns[4].astype(np.float64),
        )


def _no_packets() -> Columns:
    """An empty run."""
    empty = np.zeros(0, dtype=np.int64)
    return empty, empty, empty, empty, np.zeros(0, dtype=np.float64)


def open_capture(path: Path) -> BinaryIO:
    """Open a capture file, transparently decompressing gzip."""
    raw = path.open("rb")
    if raw.read(2) == GZIP_MAGIC:
        raw.close()
        return gzip.open(path, "rb")  # type: ignore[return-value]
    raw.seek(0)
    return raw


def read_batches(path: Path, stats: CaptureStats | None = None) -> Iterator[PacketBatch]:
    """Yield the packets of a pcap or pcapng file (gzip allowed) in batches."""
    stats = stats if stats is not None else CaptureStats()
    with open_capture(path) as stream:
        head = stream.read(4)
        if head in PCAP_MAGICS:
            yield from _read_pcap(stream, head, stats)
        elif head == PCAPNG_SHB:
            yield from _read_pcapng(stream, head, stats)
        else:
            raise CaptureFormatError(f"{path}: not a pcap or pcapng file (magic {head.hex()})")


def _read_pcap(stream: BinaryIO, magic: bytes, stats: CaptureStats) -> Iterator[PacketBatch]:
    endian, unit = PCAP_MAGICS[magic]
    header = stream.read(20)
    if len(header) < 20:
        stats.cut_off = True
        return
    linktype = struct.unpack(endian + "I", header[16:20])[0] & 0x0FFFFFFF
    record = struct.Struct(endian + "IIII")

    def walk(data: bytearray) -> tuple[_Collector, int]:
        return _walk_pcap(data, record, unit, linktype, stats)

    yield from _stream(stream, b"", walk, stats)


def _stream(
    stream: BinaryIO,
    head: bytes,
    walk: Callable[[bytearray], tuple[_Collector, int]],
    stats: CaptureStats,
) -> Iterator[PacketBatch]:
    """Walk a stream chunk by chunk, carrying each chunk's incomplete tail into the next.

    Each chunk is a fresh buffer the file is read straight into, after the tail: no copy of
    the data beyond the kernel's (batches keep referring to their chunk's buffer).
    """
    tail = bytearray(head)
    while True:
        data = bytearray(len(tail) + CHUNK_BYTES)
        data[: len(tail)] = tail
        got = stream.readinto(memoryview(data)[len(tail) :])  # type: ignore[attr-defined]
        if not got:
            break
        del data[len(tail) + got :]  # a short read: the end of the file (or of a gzip block)
        collected, used = walk(data)
        tail = data[used:]
        if collected:
            yield _counted(collected.batch(data), stats)
        if collected.fatal:  # a single bad packet is skipped; a broken length chain ends it
            return
    if tail:
        collected, used = walk(tail)
        if collected:
            yield _counted(collected.batch(tail), stats)
        stats.cut_off = stats.cut_off or used < len(tail)


def _walk_pcap(
    data: bytearray, record: struct.Struct, unit: float, linktype: int, stats: CaptureStats
) -> tuple[_Collector, int]:
    """Walk complete records in ``data``; return them and how many bytes they used.

    Record starts are found with numpy (``sensors.recordwalk``); timestamps and lengths are
    then gathered for all records at once. The walk stops at the first record that is cut
    off (the tail, carried into the next chunk) or impossibly long (fatal).
    """
    endian = record.format[0]
    fmt = RecordFormat(pcapng=False, max_record=MAX_RECORD, endian=endian)
    starts, pos = walk_records(fmt, data, 0)
    fatal = pos + 16 <= len(data) and record.unpack_from(data, pos)[2] > MAX_RECORD
    if fatal:
        stats.corrupt_records += 1
    out = _Collector(fatal=fatal)
    out.headers = (starts, endian, unit, linktype)
    return out, (len(data) if fatal else pos)


def _pcap_batch(
    data: bytearray, starts: npt.NDArray[np.int64], endian: str, unit: float, linktype: int
) -> PacketBatch:
    """Gather classic pcap record headers at ``starts`` (seconds, fraction, caplen, wirelen)."""
    fields = header_words(data, starts, (0, 4, 8, 12), endian)
    return PacketBatch(
        data=np.frombuffer(data, dtype=np.uint8),
        offset=starts + 16,
        caplen=fields[:, 2],
        wirelen=fields[:, 3],
        linktype=np.full(starts.shape[0], linktype, dtype=np.int64),
        ts=fields[:, 0] + fields[:, 1] * unit,
    )


def _counted(batch: PacketBatch, stats: CaptureStats) -> PacketBatch:
    """Add a batch's packets, bytes and truncated records to ``stats``."""
    stats.packets += len(batch)
    stats.bytes += int(batch.wirelen.sum())
    stats.truncated_records += int(np.count_nonzero(batch.caplen < batch.wirelen))
    return batch


@dataclass
class _Section:
    """State of the current pcapng section: byte order and its interfaces."""

    endian: str = "<"
    interfaces: list[tuple[int, float]] = field(default_factory=list)  # (linktype, ts unit)


def _read_pcapng(stream: BinaryIO, head: bytes, stats: CaptureStats) -> Iterator[PacketBatch]:
    section = _Section()
    yield from _stream(stream, head, lambda data: _walk_pcapng(data, section, stats), stats)


def _walk_pcapng(data: bytearray, section: _Section, stats: CaptureStats) -> tuple[_Collector, int]:
    """Walk complete pcapng blocks in ``data``; return packets found and bytes used.

    Runs of enhanced packet blocks, nearly all of a capture, are located with numpy
    (``sensors.recordwalk``) and their fields gathered per run (``_epb_run``); the Python loop
    sees only the other blocks, which end a run, so interface and byte-order changes apply
    exactly from where they occur.
    """
    out = _Collector()
    pos, end = 0, len(data)
    head = struct.Struct(section.endian + "II").unpack_from
    while pos + 12 <= end:
        kind, length = head(data, pos)
        if kind == 6 and 32 <= length <= MAX_RECORD and not length % 4:
            if pos + length > end:
                break
            fmt = RecordFormat(pcapng=True, max_record=MAX_RECORD, endian=section.endian)
            run, pos = walk_records(fmt, data, pos)
            _epb_run(data, run, section, out, stats)
            continue
        if data[pos : pos + 4] == PCAPNG_SHB:
            section.endian = "<" if data[pos + 8 : pos + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            section.interfaces = []
            head = struct.Struct(section.endian + "II").unpack_from
        kind, length = head(data, pos)
        if length < 12 or length % 4 or length > MAX_RECORD:
            stats.corrupt_records += 1
            out.fatal = True
            return out, end
        if pos + length > end:
            break
        _pcapng_block(data, pos, kind, length, section, out, stats)
        pos += length
    return out, pos


def _epb_run(
    data: bytearray,
    starts: npt.NDArray[np.int64],
    section: _Section,
    out: _Collector,
    stats: CaptureStats,
) -> None:
    """Gather the fields of consecutive enhanced packet blocks at ``starts`` with numpy."""
    at = starts
    # Block length, interface, timestamp (high, low), captured and original length.
    f = header_words(data, at, (4, 8, 12, 16, 20, 24), section.endian)
    ok = (f[:, 1] < len(section.interfaces)) & (f[:, 4] <= f[:, 0])
    stats.corrupt_records += int(ok.shape[0] - np.count_nonzero(ok))
    if not ok.all():
        at, f = at[ok], f[ok]
    links = np.asarray([link for link, _ in section.interfaces] or [0], dtype=np.int64)
    units = np.asarray([unit for _, unit in section.interfaces] or [0.0], dtype=np.float64)
    which = f[:, 1]
    # Unsigned: a timestamp's high word may have its top bit set (in a damaged block).
    stamp = (f[:, 2].astype(np.uint64) << np.uint64(32)) | f[:, 3].astype(np.uint64)
    out.add_run((at + 28, f[:, 4].copy(), f[:, 5].copy(), links[which], stamp * units[which]))


def _pcapng_block(
    data: bytearray,
    pos: int,
    kind: int,
    length: int,
    section: _Section,
    out: _Collector,
    stats: CaptureStats,
) -> None:
    """Handle one pcapng block: interfaces are remembered, packets collected."""
    e = section.endian
    if kind == 1:
        linktype = struct.unpack_from(e + "H", data, pos + 8)[0]
        section.interfaces.append((linktype, _tsresol(data, pos + 16, pos + length - 4, e)))
    elif kind == 6 and length >= 32:
        iface, hi, lo, incl, orig = struct.unpack_from(e + "IIIII", data, pos + 8)
        _pcapng_packet(out, section, stats, iface, (hi << 32) | lo, pos + 28, incl, orig, length)
    elif kind == 3 and section.interfaces:
        orig = struct.unpack_from(e + "I", data, pos + 8)[0]
        incl = min(orig, length - 16)
        _pcapng_packet(out, section, stats, 0, -1, pos + 12, incl, orig, length)
    elif kind != 0x0A0D0D0A:
        stats.skipped_blocks += 1


def _pcapng_packet(
    out: _Collector,
    section: _Section,
    stats: CaptureStats,
    iface: int,
    stamp: int,
    start: int,
    incl: int,
    orig: int,
    length: int,
) -> None:
    """Collect one packet of an enhanced or simple packet block."""
    if iface >= len(section.interfaces) or incl > length:
        stats.corrupt_records += 1
        return
    linktype, unit = section.interfaces[iface]
    out.offset.append(start)
    out.caplen.append(incl)
    out.wirelen.append(orig)
    out.linktype.append(linktype)
    out.ts.append(stamp * unit if stamp >= 0 else 0.0)


def _tsresol(data: bytearray, pos: int, end: int, endian: str) -> float:
    """Read an interface's ``if_tsresol`` option (default microseconds)."""
    while pos + 4 <= end:
        code, size = struct.unpack_from(endian + "HH", data, pos)
        if code == 0:
            break
        if code == 9 and size >= 1:
            value = data[pos + 4]
            return 2.0 ** -(value & 0x7F) if value & 0x80 else 10.0**-value
        pos += 4 + ((size + 3) & ~3)
    return 1e-6
