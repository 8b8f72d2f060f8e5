"""Following log files through rotation and restarts, losing and repeating nothing.

A :class:`FileTail` reads complete lines from where it stopped. Its :class:`TailPosition`
(inode, byte offset at a line boundary, line count and a fingerprint of the first line) is
saved by the caller *after* the lines' events are stored, so a crash re-reads at most the
last batch, whose events keep their deterministic ids and overwrite themselves.

Rotation: when the path is renamed away, the old file is drained to its end before the new one
is read from its start; when it is truncated in place (copytruncate), reading restarts at 0.
After a restart the saved fingerprint finds the file again, even if it was rotated (and
gzip-compressed) meanwhile: its unread remainder is read once, then the new file.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

from sensors.logs.reader import MAX_LINE, LogStats, decode_line

FINGERPRINT_BYTES = 1024  # a file is known by its first line (or first 1 KiB of it)


@dataclass(frozen=True, kw_only=True)
class TailPosition:
    """How far a followed file has been read and committed."""

    path: str
    inode: int
    offset: int
    line: int
    fingerprint: str


class FileTail:
    """Reads new complete lines of one path on each :meth:`poll`, across rotations."""

    def __init__(
        self, path: Path, position: TailPosition | None = None, stats: LogStats | None = None
    ) -> None:
        self.path = path
        self.stats = stats if stats is not None else LogStats()
        self.rotations = 0
        self._handle: BinaryIO | None = None
        self._inode, self._offset, self._line = 0, 0, 0
        self._pending, self._skipping = b"", False
        self._fingerprint = ""
        self._saved = position

    @property
    def position(self) -> TailPosition:
        """The position after the last line :meth:`poll` returned (commit it once stored)."""
        return TailPosition(
            path=str(self.path),
            inode=self._inode,
            offset=self._offset,
            line=self._line,
            fingerprint=self._fingerprint,
        )

    def poll(self) -> list[tuple[int, str]]:
        """New complete lines as (line number, text): the rest of a rotated file, then new."""
        lines: list[tuple[int, str]] = []
        if self._handle is None:
            lines += self._resume()
        if self._handle is None:
            return lines
        lines += self._read_available()
        if self._rotated():
            self.rotations += 1
            lines += self._read_available()  # what the writer added before it reopened
            self._open(start=0)
            lines += self._read_available()
        return lines

    def close(self) -> None:
        """Close the open file."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def _resume(self) -> list[tuple[int, str]]:
        """Open the path, continuing from a saved position (found again if rotated)."""
        saved, self._saved = self._saved, None
        if not self.path.exists():
            return []
        if saved is None or _same_file(self.path, saved):
            self._open(start=saved.offset if saved else 0, line=saved.line if saved else 0)
            if saved and _size(self.path) < saved.offset:  # truncated while we were down
                self._open(start=0)
            return []
        lines = _remainder(self.path, saved, self.stats)
        self._open(start=0)
        return lines

    def _open(self, *, start: int, line: int = 0) -> None:
        self.close()
        self._handle = self.path.open("rb")
        self._inode = os.fstat(self._handle.fileno()).st_ino
        self._handle.seek(start)
        self._offset, self._line, self._pending, self._skipping = start, line, b"", False
        self._fingerprint = _fingerprint(self.path)

    def _read_available(self) -> list[tuple[int, str]]:
        assert self._handle is not None
        data = self._pending + self._handle.read()
        *complete, self._pending = data.split(b"\n")
        lines = []
        for raw in complete:
            self._offset += len(raw) + 1
            self._line += 1
            if self._skipping or len(raw) > MAX_LINE:
                self.stats.oversized += not self._skipping
                self.stats.lines += 1
                self._skipping = False
            else:
                lines.append((self._line, decode_line(raw, self.stats)))
        if len(self._pending) > MAX_LINE:  # never buffer a runaway line
            self.stats.oversized += not self._skipping
            self._offset += len(self._pending)
            self._pending, self._skipping = b"", True
        if not self._fingerprint:
            self._fingerprint = _fingerprint(self.path)
        return lines

    def _rotated(self) -> bool:
        """Whether the path now names another file (rename) or was truncated (copytruncate)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return False  # renamed away, new file not created yet: keep the old one
        assert self._handle is not None
        in_place = os.fstat(self._handle.fileno()).st_size
        return stat.st_ino != self._inode or in_place < self._offset + len(self._pending)


def _fingerprint(path: Path) -> str:
    """Hash of the first line (bounded), or "" while the file has no complete line."""
    try:
        with _open_any(path) as handle:
            head = handle.read(FINGERPRINT_BYTES)
    except OSError:
        return ""
    end = head.find(b"\n")
    if end < 0 and len(head) < FINGERPRINT_BYTES:
        return ""
    return hashlib.blake2b(head[: end + 1 if end >= 0 else None], digest_size=8).hexdigest()


def _same_file(path: Path, saved: TailPosition) -> bool:
    if saved.fingerprint:
        return _fingerprint(path) == saved.fingerprint
    return path.stat().st_ino == saved.inode


def _size(path: Path) -> int:
    return path.stat().st_size


def _remainder(path: Path, saved: TailPosition, stats: LogStats) -> list[tuple[int, str]]:
    """The unread lines of the file ``saved`` was in, found among the path's rotations."""
    for candidate in _rotations(path):
        if saved.fingerprint and _fingerprint(candidate) == saved.fingerprint:
            with _open_any(candidate) as handle:
                handle.seek(saved.offset)
                rest = handle.read()
            parts = rest.split(b"\n")[:-1] if rest.endswith(b"\n") else rest.split(b"\n")
            return [(saved.line + n, decode_line(raw, stats)) for n, raw in enumerate(parts, 1)]
    return []


def _rotations(path: Path) -> list[Path]:
    """Rotated siblings (``auth.log.1``, ``auth.log.2.gz``, ``auth.log-20240601``), newest first."""
    siblings = [*path.parent.glob(path.name + ".*"), *path.parent.glob(path.name + "-*")]
    return sorted(siblings, key=lambda p: p.stat().st_mtime, reverse=True)


def _open_any(path: Path) -> BinaryIO:
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


class Offsets:
    """The saved tail positions, one JSON file written atomically (write, fsync, rename)."""

    def __init__(self, file: Path) -> None:
        self.file = file

    def load(self) -> dict[str, TailPosition]:
        """Saved positions by path; none when the file is missing or unreadable."""
        try:
            rows = json.loads(self.file.read_text(encoding="utf-8"))
            return {row["path"]: TailPosition(**row) for row in rows}
        except (OSError, ValueError, TypeError, KeyError):
            return {}

    def save(self, positions: list[TailPosition]) -> None:
        """Replace the saved positions; a crash leaves either the old or the new file."""
        temporary = self.file.with_name(self.file.name + ".tmp")
        with temporary.open("w", encoding="utf-8") as handle:
            json.dump([asdict(p) for p in positions], handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.file)
