"""Rotating capture files of what a live sensor saw, for cutting out an alert's packets later.

Each batch from the ring is appended to the open file (classic pcap, one link type per file,
VLAN tags put back into the frames); at ``file_bytes`` the file is closed, renamed from
``.part`` to ``.pcap`` and returned as a registry record (``CaptureFile``, SHA-256 computed
while writing, never by reading the file again). Closed files of this recorder beyond
``total_bytes`` are deleted oldest first: the directory is a ring buffer of recent traffic.
Deleted files stay registered; an extraction then reports them missing.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from sensors.capture import PacketBatch
from sensors.capturefiles import CaptureFile, CaptureTally
from sensors.fastpath import subset
from sensors.pcapwrite import CaptureWriter

FILE_BYTES = 256 << 20
"""Default size at which a capture file is closed (256 MiB: a minute of a busy 1 Gbit/s link)."""
TOTAL_BYTES = 64 << 30
"""Default space all of a recorder's closed files may take (64 GiB) before the oldest go."""
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True, kw_only=True)
class RecorderConfig:
    """Where a live sensor keeps its capture files and how much of them."""

    directory: Path
    """Absolute folder of the files (created when missing)."""
    file_bytes: int = FILE_BYTES
    """Size at which a file is closed and a new one begun; 1 MiB to 4 GiB."""
    total_bytes: int = TOTAL_BYTES
    """Space the closed files may take, oldest deleted first; at least twice ``file_bytes``."""

    def __post_init__(self) -> None:
        if not self.directory.is_absolute():
            raise ValueError("directory: must be an absolute path")
        if not 1 << 20 <= self.file_bytes <= 4 << 30:
            raise ValueError("file_bytes: must be 1 MiB to 4 GiB")
        if self.total_bytes < 2 * self.file_bytes:
            raise ValueError("total_bytes: must be at least twice file_bytes")


@dataclass
class _OpenFile:
    """The file being written: its stream, running hash, tally and size."""

    path: Path
    stream: BinaryIO
    link: int
    size: int = 0
    sha: hashlib._Hash = field(default_factory=hashlib.sha256)
    tally: CaptureTally = field(default_factory=CaptureTally)

    def write(self, data: bytes) -> None:
        """Append bytes, hashing them on the way."""
        self.stream.write(data)
        self.sha.update(data)
        self.size += len(data)


class CaptureRecorder:
    """Writes one sensor's batches into rotating pcap files; returns each file it closes."""

    def __init__(self, sensor: str, config: RecorderConfig, *, tag: str = "") -> None:
        self.sensor = sensor
        self.config = config
        # Several capture workers of a link share the folder: each names its files apart.
        self.prefix = _UNSAFE.sub("_", f"{sensor}-{tag}-" if tag else f"{sensor}-")
        self.deleted = 0  # files removed to stay under total_bytes
        self._open: _OpenFile | None = None
        self._sequence = 0
        config.directory.mkdir(parents=True, exist_ok=True)

    def add(self, batch: PacketBatch) -> list[CaptureFile]:
        """Append a batch; return the files closed because they reached ``file_bytes``."""
        closed: list[CaptureFile] = []
        if not len(batch):
            return closed
        links = batch.linktype
        # Link types change rarely (never on one interface): each run gets its own file.
        cuts = np.flatnonzero(links[1:] != links[:-1]) + 1
        for start, stop in zip([0, *cuts.tolist()], [*cuts.tolist(), len(batch)], strict=True):
            closed += self._append(batch, start, stop)
        return closed

    def close(self) -> list[CaptureFile]:
        """Close the open file (end of capture); return it, if it held any packet."""
        done = self._close()
        return [done] if done else []

    def _append(self, batch: PacketBatch, start: int, stop: int) -> list[CaptureFile]:
        """Write packets ``start:stop`` (one link type), closing files as they fill up."""
        closed: list[CaptureFile] = []
        link = int(batch.linktype[start])
        if self._open is not None and self._open.link != link:
            closed += self.close()
        tags = np.full(len(batch), -1, dtype=np.int64) if batch.vlan is None else batch.vlan
        tagged = (tags[start:stop] >= 0) & (tags[start:stop] < 4096)
        record = 16 + batch.caplen[start:stop] + np.where(tagged, 4, 0)
        ends = np.cumsum(record)
        done = 0
        while start + done < stop:
            current = self._open or self._begin(link, float(batch.ts[start + done]))
            room = self.config.file_bytes - current.size
            fits = int(np.searchsorted(ends - (ends[done - 1] if done else 0), room, "right"))
            take = max(fits - done, 1)  # a fresh file takes at least one packet
            self._write(current, batch, np.arange(start + done, start + done + take))
            done += take
            if current.size >= self.config.file_bytes:
                closed += self.close()
        return closed

    def _write(self, current: _OpenFile, batch: PacketBatch, rows: npt.NDArray[np.int64]) -> None:
        """Append the packets at ``rows`` to the open file."""
        packets = subset(batch, rows)
        current.write(CaptureWriter([current.link]).records(packets))
        current.tally.packets += int(rows.shape[0])
        current.tally.first = min(current.tally.first, float(batch.ts[rows].min()))
        current.tally.last = max(current.tally.last, float(batch.ts[rows].max()))

    def _begin(self, link: int, first: float) -> _OpenFile:
        """Open the next file, named by its first packet's time (UTC) and a sequence."""
        self._sequence += 1
        stamp = datetime.fromtimestamp(first, UTC).strftime("%Y%m%dT%H%M%S")
        path = self.config.directory / f"{self.prefix}{stamp}-{self._sequence:06d}.pcap.part"
        self._open = _OpenFile(path=path, stream=path.open("wb"), link=link)
        self._open.write(CaptureWriter([link]).header())
        self._open.tally.link_types.add(link)
        return self._open

    def _close(self) -> CaptureFile | None:
        """Finish the open file: rename it to ``.pcap``, prune old files, return its record."""
        current, self._open = self._open, None
        if current is None:
            return None
        current.stream.close()
        final = current.path.with_suffix("")  # drops ".part"
        current.path.rename(final)
        self._prune()
        return CaptureFile(
            first=current.tally.first,
            last=current.tally.last,
            sensor=self.sensor,
            path=str(final),
            size=current.size,
            sha256=current.sha.hexdigest(),
            link_types=(current.link,),
            packets=current.tally.packets,
        )

    def _prune(self) -> None:
        """Delete this recorder's oldest closed files until they fit in ``total_bytes``."""
        files = sorted(self.config.directory.glob(f"{self.prefix}*.pcap"))  # names sort by time
        sizes = [f.stat().st_size for f in files]
        total = sum(sizes)
        for path, size in zip(files, sizes, strict=True):
            if total <= self.config.total_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
            self.deleted += 1
