"""Saved tail positions: how far each followed file (and its rotated predecessor) was read."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True, kw_only=True)
class TailPosition:
    """How far a followed file has been read and committed."""

    path: str
    inode: int
    offset: int
    line: int
    fingerprint: str
    rotated: bool = False
    """A file renamed away from ``path`` that is still being drained (the writer may append)."""


class Offsets:
    """The saved tail positions, one JSON file written atomically (write, fsync, rename)."""

    def __init__(self, file: Path) -> None:
        self.file = file

    def load(self) -> dict[str, TailPosition]:
        """Saved positions of the files the paths name now; none when missing or unreadable."""
        return {p.path: p for p in self._rows() if not p.rotated}

    def rotated(self) -> dict[str, list[TailPosition]]:
        """Saved positions of rotated files still being drained, by the path they came from."""
        found: dict[str, list[TailPosition]] = {}
        for position in self._rows():
            if position.rotated:
                found.setdefault(position.path, []).append(position)
        return found

    def save(self, positions: list[TailPosition]) -> None:
        """Replace the saved positions; a crash leaves either the old or the new file."""
        temporary = self.file.with_name(self.file.name + ".tmp")
        with temporary.open("w", encoding="utf-8") as handle:
            json.dump([asdict(p) for p in positions], handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.file)

    def _rows(self) -> list[TailPosition]:
        try:
            rows = json.loads(self.file.read_text(encoding="utf-8"))
            return [TailPosition(**row) for row in rows]
        except (OSError, ValueError, TypeError, KeyError):
            return []
