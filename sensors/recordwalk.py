"""Record starts of a capture chunk, found by a compiled sequential walk.

pcap records and pcapng blocks form a chain: each start plus its length gives the next start,
so the walk is sequential by nature. It runs compiled (``sensors/_recordwalk.pyx``, Cython):
a few machine instructions per record, where numpy needed a guessed start per segment, a
lockstep walk of all segments and a verification pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sensors import _recordwalk

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class RecordFormat:
    """How records chain in one capture format.

    pcap (``pcapng`` false): a 16-byte header whose caplen at +8 is followed by that many
    bytes. pcapng: a block whose total length at +4 includes everything; only enhanced packet
    blocks (type 6) of sane length continue a chain, any other block stops it.
    """

    pcapng: bool
    max_record: int
    endian: str = "<"


def walk_records(fmt: RecordFormat, data: bytes | bytearray, start: int) -> tuple[I64, int]:
    """The chain of complete, sane records from ``start`` (a true record start) in ``data``,
    and where it stops: at the end, or at the first record that is not complete and sane."""
    return _recordwalk.walk(data, start, fmt.max_record, fmt.pcapng, fmt.endian == ">")


def header_words(data: bytes | bytearray, starts: I64, fields: tuple[int, ...], endian: str) -> I64:
    """The 32-bit words at ``starts + field`` for each field: one row per record, one
    column per field (the caller guarantees every word lies inside ``data``)."""
    offsets = np.asarray(fields, dtype=np.int64)
    return _recordwalk.gather(data, starts.astype(np.int64, copy=False), offsets, endian == ">")
