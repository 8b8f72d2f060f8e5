"""Record starts of a capture chunk found with numpy, not one Python step per record.

pcap records and pcapng blocks form a chain: each start plus its length gives the next start,
so only the first start of a chunk is known. The chunk is cut into segments; in each segment
but the first a plausible start is guessed by a vectorised test of every offset in a short
window (a plausible header whose next headers are plausible too), and all segments are then
walked in lockstep, one numpy step advancing every cursor by one record. A segment's guess is
accepted only if the walk of its predecessor, itself verified, lands exactly on it (the first
segment starts at a known boundary), so the result is the chain a sequential walk finds, by
induction; a wrong guess only costs a re-walk of that segment from where its predecessor
really ended. Plausibility decides speed, never the result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
U32 = npt.NDArray[np.uint32]
Mask = npt.NDArray[np.bool_]

SEGMENT_BYTES = 8192
"""Bytes per lockstep segment: small enough that a step moves many cursors, large enough
that the windows searched for starts stay a fraction of the chunk."""
WINDOW_BYTES = 768
"""Offsets searched for each segment's first start: an Ethernet frame's record fits, so
nearly every window holds a start (a window without one merges into its predecessor)."""
CHECK_HOPS = 2
"""Further headers a guessed start's chain must pass: each cuts chance matches in payload
bytes by orders of magnitude."""
PCAP_TIME_SLACK = 1 << 22
"""Seconds (about 48 days) a plausible pcap record's time may lie from the chunk's first."""


@dataclass(frozen=True)
class RecordFormat:
    """How records chain in one capture format, for a chunk ending at ``end``.

    pcap (``pcapng`` false): a 16-byte header whose caplen at +8 is followed by that many
    bytes. pcapng: a block whose total length at +4 includes everything; only enhanced packet
    blocks (type 6) of sane length continue a chain, any other block stops it.
    """

    pcapng: bool
    max_record: int
    frac_limit: int = 1_000_000  # pcap: sub-second field bound (micro- or nanoseconds)
    endian: str = "<"

    @property
    def align(self) -> int:
        """Record starts lie on multiples of this from a true start (pcapng blocks: 4)."""
        return 4 if self.pcapng else 1

    def step(self, words: U32, off: I64, end: int) -> tuple[I64, Mask]:
        """Each cursor's next record start, and whether its record is complete and sane."""
        last = words.shape[0] - 1  # reads past it are clamped; ``nxt <= end`` then fails
        if last < 0:  # under 4 bytes: no header fits
            return off, np.zeros(off.shape[0], dtype=bool)
        if self.pcapng:
            length = words[np.minimum(off + 4, last)]
            nxt = off + length
            ok = (nxt <= end) & (words[np.minimum(off, last)] == 6) & (length >= 32)
            return nxt, ok & (length <= self.max_record) & (length % 4 == 0)
        incl = words[np.minimum(off + 8, last)]
        nxt = off + 16 + incl
        return nxt, (nxt <= end) & (incl <= self.max_record)

    def marks(
        self, raw: npt.NDArray[np.uint8], first: I64, window: int, ref: int
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """Window rows and columns passing one cheap, selective byte test over every offset
        of the windows starting at ``first`` (evenly spaced), read through strided views:
        pcapng, the block type's bytes (6, 0); pcap, the seconds field's top byte (``ref``'s)
        and the caplen's top byte (0)."""
        big = self.endian == ">"
        if self.pcapng:
            tests = ((3, 6), (0, 0)) if big else ((0, 6), (3, 0))
        else:
            top = (ref >> 24) & 0xFF
            tests = ((0, top), (8, 0)) if big else ((3, top), (11, 0))
        mask = np.ones((first.shape[0], window), dtype=bool)
        for shift, value in tests:
            grid = np.lib.stride_tricks.as_strided(
                raw[int(first[0]) + shift :],
                shape=(first.shape[0], window),
                strides=(SEGMENT_BYTES, self.align),
                writeable=False,
            )
            mask &= grid == value
        rows, cols = np.nonzero(mask)
        return rows, cols

    def plausible(self, words: U32, at: I64, end: int, ref: int) -> Mask:
        """Whether a record could start at each offset ``at`` (``ref``: a true start's
        seconds field, pcap only); a heuristic, never relied on for correctness."""
        if self.pcapng:
            length = _read(words, at + 4)
            ok: Mask = (_read(words, at) == 6) & (length >= 32) & (length % 4 == 0)
            ok &= (length <= self.max_record) & (at + length <= end)
            trailer: Mask = _read(words, at + length - 4) == length  # repeated at the end
            return ok & trailer
        incl, orig = _read(words, at + 8), _read(words, at + 12)
        sane: Mask = (incl <= orig) & (incl <= self.max_record) & (at + 16 + incl <= end)
        sane &= _read(words, at + 4) < self.frac_limit
        near: Mask = np.abs(_read(words, at) - ref) <= PCAP_TIME_SLACK
        return sane & near


def words_of(data: bytes, endian: str) -> U32:
    """A zero-copy view of ``data`` giving the 32-bit word at every byte offset."""
    count = max(len(data) - 3, 0)
    return np.ndarray(shape=(count,), dtype=endian + "u4", buffer=data, strides=(1,))


def _read(words: U32, at: I64) -> I64:
    """The words at ``at``, clamped into the buffer (callers mask out-of-range reads)."""
    if words.shape[0] == 0:
        return np.zeros(at.shape[0], dtype=np.int64)
    return words[np.clip(at, 0, words.shape[0] - 1)].astype(np.int64)


def walk_records(fmt: RecordFormat, data: bytes, start: int) -> tuple[I64, int]:
    """The chain of complete, sane records from ``start`` (a true record start) in ``data``,
    and where it stops: at the end, or at the first record that is not complete and sane."""
    end = len(data)
    words = words_of(data, fmt.endian)
    starts = _segment_starts(fmt, data, words, start)
    limits = np.r_[starts[1:], end]
    seg, pos, landing, blocked = _lockstep(fmt, words, starts, limits, end)
    order = np.argsort(seg, kind="stable")  # segment order; each segment's steps in order
    seg, pos = seg[order], pos[order]
    if bool(((landing[:-1] == starts[1:]) & ~blocked[:-1]).all()):
        return pos, int(landing[-1])
    return _verified(fmt, words, end, starts, limits, (seg, pos, landing, blocked))


def _segment_starts(fmt: RecordFormat, data: bytes, words: U32, start: int) -> I64:
    """``start`` and, per later segment, the first plausible start in its window."""
    end = len(data)
    count = (end - start) // SEGMENT_BYTES
    window = WINDOW_BYTES // fmt.align
    first = start + SEGMENT_BYTES * np.arange(1, count, dtype=np.int64)
    first = first[first + WINDOW_BYTES + 16 <= end]
    if first.shape[0] == 0 or words.shape[0] == 0:
        return np.asarray([start], dtype=np.int64)
    ref = int(words[min(start, words.shape[0] - 1)])
    rows, cols = fmt.marks(np.frombuffer(data, dtype=np.uint8), first, window, ref)
    at = first[rows] + fmt.align * cols.astype(np.int64)
    keep = fmt.plausible(words, at, end, ref)
    rows, at = rows[keep], at[keep]
    hop = at
    for _ in range(CHECK_HOPS):
        hop, sane = fmt.step(words, hop, end)
        keep = sane & fmt.plausible(words, hop, end, ref)
        rows, at, hop = rows[keep], at[keep], hop[keep]
    _, firsts = np.unique(rows, return_index=True)  # rows ascend; per row, the lowest offset
    starts: I64 = np.r_[np.int64(start), at[firsts]].astype(np.int64)
    return starts


Walked = tuple[I64, I64, I64, Mask]
"""Per record its segment and start; per segment where its walk stopped and whether it was
stopped by a record that is not complete and sane (rather than by reaching its limit)."""


def _lockstep(fmt: RecordFormat, words: U32, starts: I64, limits: I64, end: int) -> Walked:
    """Walk every segment from its start up to its limit, one record per segment a step."""
    landing = np.empty(starts.shape[0], dtype=np.int64)
    blocked = np.zeros(starts.shape[0], dtype=bool)
    idx, off, lim = np.arange(starts.shape[0]), starts, limits
    segs: list[I64] = []
    offs: list[I64] = []
    while idx.shape[0]:
        nxt, sane = fmt.step(words, off, end)
        inside = off < lim
        good = inside & sane
        if not good.all():
            stop = ~good
            landing[idx[stop]] = off[stop]
            blocked[idx[stop]] = inside[stop]
            idx, off, lim, nxt = idx[good], off[good], lim[good], nxt[good]
        segs.append(idx)
        offs.append(off)
        off = nxt
    seg = np.concatenate(segs) if segs else np.zeros(0, dtype=np.int64)
    pos = np.concatenate(offs) if offs else np.zeros(0, dtype=np.int64)
    return seg, pos, landing, blocked


def _verified(
    fmt: RecordFormat, words: U32, end: int, starts: I64, limits: I64, walked: Walked
) -> tuple[I64, int]:
    """Keep the segments whose start the verified chain reaches; re-walk the others one
    record at a time from where the chain really is (rare: damaged or unusual captures)."""
    seg, pos, landing, blocked = walked
    bounds = np.searchsorted(seg, np.arange(starts.shape[0] + 1))
    parts: list[I64] = []
    at = int(starts[0])
    for k in range(starts.shape[0]):
        if at == int(starts[k]):
            parts.append(pos[bounds[k] : bounds[k + 1]])
            at = int(landing[k])
            if blocked[k]:
                break
            continue
        walked_one, at, stopped = _walk_one(fmt, words, at, int(limits[k]), end)
        parts.append(walked_one)
        if stopped:
            break
    return np.concatenate(parts), at


def _walk_one(
    fmt: RecordFormat, words: U32, at: int, limit: int, end: int
) -> tuple[I64, int, bool]:
    """Walk records from ``at`` (a true start) up to ``limit`` in plain Python (only segments
    whose guessed start was wrong come here); also say whether a record that is not complete
    and sane stopped the walk. The same tests as ``RecordFormat.step``."""
    found: list[int] = []
    while at < limit:
        if fmt.pcapng:
            length = int(words[at + 4]) if at + 12 <= end else 0
            sane = 32 <= length <= fmt.max_record and not length % 4 and at + length <= end
            sane = sane and int(words[at]) == 6
            size = length
        else:
            incl = int(words[at + 8]) if at + 16 <= end else fmt.max_record + 1
            sane = incl <= fmt.max_record and at + 16 + incl <= end
            size = 16 + incl
        if not sane:
            return np.asarray(found, dtype=np.int64), at, True
        found.append(at)
        at += size
    return np.asarray(found, dtype=np.int64), at, False
