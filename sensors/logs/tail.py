"""Following log files through rotation and restarts, losing and repeating nothing.

A :class:`FileTail` reads complete lines from where it stopped. Its :class:`TailPosition` list
(inode, byte offset at a line boundary, line count and a fingerprint of the first line, for the
file the path names and for rotated files still being drained) is saved by the caller *after*
the lines' events are stored, so a crash re-reads at most the last batch, whose events keep
their deterministic ids and overwrite themselves.

Rotation by rename: the writer keeps appending to the renamed file until it reopens the path,
so the old file stays open (followed by inode) next to the new one until it has been idle for
a grace period and the new file has started (or it was deleted). Copytruncate: reading restarts
at 0. After a restart the saved fingerprints find the files again, even if they were rotated
(and gzip-compressed) meanwhile: a compressed remainder is read once, a plain one followed.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

from sensors.logs.offsets import Offsets, TailPosition
from sensors.logs.reader import MAX_LINE, LogStats, decode_line

__all__ = ["FileTail", "Offsets", "TailPosition"]

FINGERPRINT_BYTES = 1024  # a file is known by its first line (or first 1 KiB of it)
GRACE_SECONDS = 60.0  # a rotated file idle this long, once the new one has lines, is done

Lines = list[tuple[int, str]]


class _Open:
    """One open file: how far it was read and when it last grew."""

    def __init__(self, handle: BinaryIO, *, start: int, line: int, now: float) -> None:
        self.handle = handle
        self.inode = os.fstat(handle.fileno()).st_ino
        handle.seek(start)
        self.offset, self.line, self.grew = start, line, now
        self.pending, self.skipping = b"", False
        self.fingerprint = _head_fingerprint(os.pread(handle.fileno(), FINGERPRINT_BYTES, 0))

    def read(self, stats: LogStats, now: float) -> Lines:
        """The complete lines appended since the last read (runaway lines counted, skipped)."""
        data = self.handle.read()
        if not data:
            return []
        self.grew = now
        *complete, self.pending = (self.pending + data).split(b"\n")
        lines = []
        for raw in complete:
            self.offset += len(raw) + 1
            self.line += 1
            if self.skipping or len(raw) > MAX_LINE:
                stats.oversized += not self.skipping
                stats.lines += 1
                self.skipping = False
            else:
                lines.append((self.line, decode_line(raw, stats)))
        if len(self.pending) > MAX_LINE:  # never buffer a runaway line
            stats.oversized += not self.skipping
            self.offset += len(self.pending)
            self.pending, self.skipping = b"", True
        if not self.fingerprint:
            self.fingerprint = _head_fingerprint(
                os.pread(self.handle.fileno(), FINGERPRINT_BYTES, 0)
            )
        return lines

    def truncated(self) -> bool:
        """Whether the file shrank below what was read (copytruncate)."""
        return os.fstat(self.handle.fileno()).st_size < self.offset + len(self.pending)

    def restart(self) -> None:
        """Read again from the start (the file was truncated in place)."""
        self.handle.seek(0)
        self.offset, self.line, self.pending, self.skipping = 0, 0, b"", False
        self.fingerprint = ""

    def deleted(self) -> bool:
        """Whether no name refers to the file any more (rotated out and removed)."""
        return os.fstat(self.handle.fileno()).st_nlink == 0

    def position(self, path: Path, *, rotated: bool) -> TailPosition:
        """Where reading stopped, as saved for ``path``."""
        return TailPosition(
            path=str(path),
            inode=self.inode,
            offset=self.offset,
            line=self.line,
            fingerprint=self.fingerprint,
            rotated=rotated,
        )


class FileTail:
    """Reads new complete lines of one path on each :meth:`poll`, across rotations."""

    def __init__(
        self,
        path: Path,
        position: TailPosition | None = None,
        stats: LogStats | None = None,
        *,
        rotated: Sequence[TailPosition] = (),
        grace: float = GRACE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.stats = stats if stats is not None else LogStats()
        self.rotations = 0
        self.grace, self.clock = grace, clock
        self._current: _Open | None = None
        self._draining: list[_Open] = []  # renamed-away files the writer may still append to
        self._saved: tuple[TailPosition | None, Sequence[TailPosition]] | None = (position, rotated)

    @property
    def position(self) -> TailPosition:
        """The position in the file the path names after the last :meth:`poll` (commit it)."""
        if self._saved is not None and self._saved[0] is not None:  # not polled yet: unchanged
            return self._saved[0]
        if self._current is None:
            return TailPosition(path=str(self.path), inode=0, offset=0, line=0, fingerprint="")
        return self._current.position(self.path, rotated=False)

    @property
    def positions(self) -> list[TailPosition]:
        """Positions to commit: rotated files still being drained, then the current one."""
        if self._saved is not None:  # not polled yet: what was saved still stands
            return [*self._saved[1], self.position]
        return [o.position(self.path, rotated=True) for o in self._draining] + [self.position]

    def poll(self) -> Lines:
        """New complete lines as (line number, text): rotated files' appends, then the new."""
        now = self.clock()
        lines = self._resume(now) if self._saved is not None else []
        for old in self._draining:
            lines += old.read(self.stats, now)
        if self._current is None:
            self._current = self._open(self.path, start=0, line=0, now=now)
        if self._current is not None:
            lines += self._current.read(self.stats, now)
            lines += self._follow_rotation(now)
        self._retire(now)
        return lines

    def close(self) -> None:
        """Close every open file."""
        for item in [*self._draining, self._current]:
            if item is not None:
                item.handle.close()
        self._current, self._draining = None, []

    def _follow_rotation(self, now: float) -> Lines:
        """Switch to the new file the path names (keeping the old open), or restart if cut."""
        assert self._current is not None
        try:
            inode = self.path.stat().st_ino
        except FileNotFoundError:
            return []  # renamed away, new file not created yet: keep reading the old one
        if inode != self._current.inode:
            self.rotations += 1
            self._draining.append(self._current)
            self._current = self._open(self.path, start=0, line=0, now=now)
            return self._current.read(self.stats, now) if self._current else []
        if self._current.truncated():
            self.rotations += 1
            self._current.restart()
            return self._current.read(self.stats, now)
        return []

    def _retire(self, now: float) -> None:
        """Close rotated files idle past the grace period once the writer has moved on."""
        started = self._current is not None and (
            self._current.offset > 0 or bool(self._current.pending)
        )
        for old in list(self._draining):
            if now - old.grew >= self.grace and (started or old.deleted()):
                old.handle.close()
                self._draining.remove(old)

    def _resume(self, now: float) -> Lines:
        """Reopen the saved files (found again if rotated while down); read gzip rests once."""
        assert self._saved is not None
        saved, rotated = self._saved
        self._saved = None
        lines: Lines = []
        for position in rotated:
            lines += self._reopen_rotated(position, now)
        if saved is None or not self.path.exists():
            if saved is not None:
                lines += self._reopen_rotated(saved, now)
            return lines
        if _same_file(self.path, saved):
            self._current = self._open(self.path, start=saved.offset, line=saved.line, now=now)
            if self._current is not None and self._current.truncated():  # cut while we were down
                self._current.restart()
            return lines
        lines += self._reopen_rotated(saved, now)
        return lines

    def _reopen_rotated(self, saved: TailPosition, now: float) -> Lines:
        """Follow a saved file among the path's rotations again; a compressed one read once."""
        for candidate in _rotations(self.path):
            if candidate.suffix != ".gz" and _same_file(candidate, saved):
                found = self._open(candidate, start=saved.offset, line=saved.line, now=now)
                if found is not None:
                    self._draining.append(found)
                return []
        for candidate in _rotations(self.path):  # compressed, or copied (copytruncate)
            if saved.fingerprint and saved.fingerprint == _fingerprint(candidate):
                return _remainder(candidate, saved, self.stats)
        return []

    @staticmethod
    def _open(path: Path, *, start: int, line: int, now: float) -> _Open | None:
        try:
            return _Open(path.open("rb"), start=start, line=line, now=now)
        except FileNotFoundError:
            return None


def _head_fingerprint(head: bytes) -> str:
    """Hash of the first line (bounded), or "" while the file has no complete line."""
    end = head.find(b"\n")
    if end < 0 and len(head) < FINGERPRINT_BYTES:
        return ""
    return hashlib.blake2b(head[: end + 1 if end >= 0 else None], digest_size=8).hexdigest()


def _fingerprint(path: Path) -> str:
    try:
        with _open_any(path) as handle:
            return _head_fingerprint(handle.read(FINGERPRINT_BYTES))
    except OSError:
        return ""


def _same_file(path: Path, saved: TailPosition) -> bool:
    """Same inode and, when known, same first line (inodes are reused after deletion, and
    Zeek logs all share their first header line, so neither alone is enough)."""
    try:
        if path.stat().st_ino != saved.inode:
            return False
    except OSError:
        return False
    return not saved.fingerprint or _fingerprint(path) == saved.fingerprint


def _remainder(path: Path, saved: TailPosition, stats: LogStats) -> Lines:
    """The unread lines of a compressed rotation of the saved file."""
    with _open_any(path) as handle:
        handle.seek(saved.offset)
        rest = handle.read()
    parts = rest.split(b"\n")[:-1] if rest.endswith(b"\n") else rest.split(b"\n")
    return [(saved.line + n, decode_line(raw, stats)) for n, raw in enumerate(parts, 1)]


def _rotations(path: Path) -> list[Path]:
    """Rotated siblings (``auth.log.1``, ``auth.log.2.gz``, ``auth.log-20240601``), newest first."""
    siblings = [*path.parent.glob(path.name + ".*"), *path.parent.glob(path.name + "-*")]
    return sorted(siblings, key=lambda p: p.stat().st_mtime, reverse=True)


def _open_any(path: Path) -> BinaryIO:
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")
