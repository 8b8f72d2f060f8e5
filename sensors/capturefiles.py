"""The capture registry's record: which capture file holds a sensor's packets of which span.

A replay (or the live sensor's rotating writer) registers every capture file it read or wrote,
so the packets behind an alert can later be cut out of it (``sensors.extract``). A file is
known by its absolute path and checked by size and SHA-256 before it is read again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from sensors.capture import PacketBatch
from sensors.ecs import ecs, from_document, record_id, to_document


@dataclass(frozen=True, kw_only=True)
class CaptureFile:
    """One registered capture file: where it is, whose packets, their span and its hash.

    Times are in the store's timeline: a replay with ``--rebase-time`` adds ``time_shift`` to
    every packet time, so a packet at file time ``t`` belongs to flows at ``t + time_shift``.
    """

    first: float = ecs("@timestamp", time=True)
    last: float = ecs("event.end", time=True)
    sensor: str = ecs("observer.name")
    path: str = ecs("file.path")
    size: int = ecs("file.size")
    sha256: str = ecs("file.hash.sha256")
    link_types: tuple[int, ...] = ecs("nssa.capture.link_types")
    packets: int = ecs("nssa.capture.packets")
    time_shift: float = ecs("nssa.capture.time_shift", default=0.0)

    @property
    def id(self) -> str:
        """Deterministic id: registering the same file again is one record."""
        return record_id(self, prefix="cf-")

    def to_ecs(self) -> dict[str, Any]:
        """The stored document (ECS ``file.*``, ``observer.name``; NSSA's own under
        ``nssa.capture``)."""
        return to_document(self)

    @classmethod
    def from_ecs(cls, doc: dict[str, Any]) -> CaptureFile:
        """Rebuild a record from its stored document."""
        return from_document(cls, doc)

    def overlaps(self, since: float, until: float) -> bool:
        """Whether the file's packets span any of [since, until] (store timeline)."""
        return self.first <= until and self.last >= since


@dataclass(frozen=True, kw_only=True)
class CaptureQuery:
    """Which registered captures to return: every given filter must hold; oldest first."""

    sensor: str | None = None
    since: float | None = None  # files whose last packet is at or after this
    until: float | None = None  # files whose first packet is at or before this
    limit: int = 1000


class FileCheck(StrEnum):
    """What checking a registered file found."""

    OK = "ok"
    MISSING = "missing"  # no file at the registered path (moved, deleted, rotated away)
    CHANGED = "changed"  # different size or SHA-256 than when it was registered
    UNREADABLE = "unreadable"  # permissions, I/O error, or no longer a capture


@dataclass
class CaptureTally:
    """Counts a capture's packets, span and link types as its batches go by."""

    packets: int = 0
    first: float = float("inf")
    last: float = float("-inf")
    link_types: set[int] = field(default_factory=set)

    def add(self, batch: PacketBatch) -> None:
        """Count one batch (timestamps as the pipeline sees them, i.e. already shifted)."""
        if not len(batch):
            return
        self.packets += len(batch)
        self.first = min(self.first, float(batch.ts.min()))
        self.last = max(self.last, float(batch.ts.max()))
        self.link_types.update(int(v) for v in set(batch.linktype.tolist()))


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file's bytes on disk (compressed bytes for a gzip capture)."""
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def register(
    path: Path, sensor: str, tally: CaptureTally, *, time_shift: float = 0.0
) -> CaptureFile | None:
    """The registry record of a capture just read; None when it held no packet."""
    if not tally.packets:
        return None
    resolved = path.resolve()
    return CaptureFile(
        first=tally.first,
        last=tally.last,
        sensor=sensor,
        path=str(resolved),
        size=resolved.stat().st_size,
        sha256=sha256_of(resolved),
        link_types=tuple(sorted(tally.link_types)),
        packets=tally.packets,
        time_shift=time_shift,
    )


def check(capture: CaptureFile) -> FileCheck:
    """Whether the registered file is still there, unchanged (size, then SHA-256)."""
    path = Path(capture.path)
    try:
        if path.stat().st_size != capture.size:
            return FileCheck.CHANGED
        return FileCheck.OK if sha256_of(path) == capture.sha256 else FileCheck.CHANGED
    except FileNotFoundError:
        return FileCheck.MISSING
    except OSError:
        return FileCheck.UNREADABLE
