"""Reading log files: bytes to lines to events, with every bad input counted and skipped.

Lines longer than ``max_line`` bytes, lines that are not UTF-8, NUL bytes and lines no parser
understands are counted in :class:`LogStats` and never stop the stream. gzip files are read
transparently, and a file that is one JSON array (Suricata exports) is read element by element.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from sensors.events import Event
from sensors.logs.formats import PARSERS, detect_format
from sensors.logs.parser import LineParser, LogContext

MAX_LINE = 256 * 1024
"""Longest line kept (bytes); longer ones are counted as oversized (EVE records stay far below)."""
CHUNK = 1 << 20
UNPARSED_KEPT = 20  # line numbers of unparsed lines remembered for the report
_PARSE_ERRORS = (ValueError, KeyError, IndexError, TypeError, AttributeError, RecursionError)


class LogFormatError(ValueError):
    """A log file whose format cannot be recognised (or a format name that does not exist)."""


@dataclass
class LogStats:
    """What reading a log stream found, including everything it had to skip."""

    lines: int = 0
    parsed: int = 0  # lines that yielded events
    quiet: int = 0  # lines of the format with nothing to report (headers, session-opened)
    unparsed: int = 0
    events: int = 0
    blank: int = 0
    non_utf8: int = 0
    nul_bytes: int = 0
    oversized: int = 0
    unparsed_lines: list[int] = field(default_factory=list)

    def problems(self) -> dict[str, int]:
        """The non-zero counts of skipped or repaired input, by what went wrong."""
        counts = {
            "unparsed lines": self.unparsed,
            "non-UTF-8 lines (decoded with replacement)": self.non_utf8,
            "lines with NUL bytes (removed)": self.nul_bytes,
            f"lines over {MAX_LINE // 1024} KiB (skipped)": self.oversized,
        }
        return {what: n for what, n in counts.items() if n}


@dataclass(frozen=True)
class ParsedLine:
    """The events of one input line, with its 1-based line number."""

    number: int
    events: tuple[Event, ...]


def read_log(
    path: Path, log_format: str = "auto", *, sensor: str = "logs", stats: LogStats | None = None
) -> Iterator[ParsedLine]:
    """Parse a log file (gzip allowed) line by line, counting what is skipped in ``stats``."""
    stats = stats if stats is not None else LogStats()
    context = LogContext(sensor=sensor, origin=path.name, year=_file_year(path))
    parser = make_parser(log_format, context, lambda: sample_lines(path))
    with open_log(path) as stream:
        if _is_json_array(stream):
            yield from parse_lines(parser, _array_items(stream, stats), stats)
        else:
            yield from parse_lines(parser, raw_lines(stream, stats), stats)


def make_parser(
    log_format: str, context: LogContext, sample: Callable[[], list[str]]
) -> LineParser:
    """A fresh parser for ``log_format``; ``auto`` recognises it from ``sample()``."""
    if log_format == "auto":
        detected = detect_format(sample(), context)
        if detected is None:
            raise LogFormatError(
                f"{context.origin or 'input'}: no known log format "
                f"(tried {', '.join(PARSERS)}); name one with --format"
            )
        log_format = detected
    cls = PARSERS.get(log_format)
    if cls is None:
        raise LogFormatError(f"unknown log format {log_format!r}: one of {', '.join(PARSERS)}")
    return cls(context)


def detected_format(path: Path) -> str | None:
    """The format ``auto`` would choose for a file, or None."""
    return detect_format(sample_lines(path), LogContext(year=_file_year(path)))


def parse_lines(
    parser: LineParser, lines: Iterable[tuple[int, str]], stats: LogStats
) -> Iterator[ParsedLine]:
    """Run numbered lines through ``parser``; a line it cannot read is counted, never raised."""
    for number, text in lines:
        if not text.strip():
            stats.blank += 1
            continue
        try:
            events = parser.parse(text, number)
        except _PARSE_ERRORS:
            events = None
        if events is None:
            stats.unparsed += 1
            if len(stats.unparsed_lines) < UNPARSED_KEPT:
                stats.unparsed_lines.append(number)
        elif events:
            stats.parsed += 1
            stats.events += len(events)
            yield ParsedLine(number, tuple(events))
        else:
            stats.quiet += 1


def open_log(path: Path) -> BinaryIO:
    """Open a log file for binary reading, decompressing gzip (rotated ``.gz`` files)."""
    raw = path.open("rb")
    if raw.read(2) == b"\x1f\x8b":
        raw.close()
        return gzip.open(path, "rb")  # type: ignore[return-value]
    raw.seek(0)
    return raw


def raw_lines(
    stream: BinaryIO, stats: LogStats, *, max_line: int = MAX_LINE
) -> Iterator[tuple[int, str]]:
    """Numbered text lines of a byte stream; oversized ones are skipped (and counted)."""
    number, pending, skipping = 0, b"", False
    for chunk in iter(lambda: stream.read(CHUNK), b""):
        parts = (pending + chunk).split(b"\n")
        pending = parts.pop()
        for part in parts:
            number += 1
            if skipping:  # the tail of an oversized line, already counted
                skipping = False
                stats.lines += 1
            elif len(part) > max_line:
                stats.lines += 1
                stats.oversized += 1
            else:
                yield number, decode_line(part, stats, max_line)
        if len(pending) > max_line:
            if not skipping:
                stats.oversized += 1
            pending, skipping = b"", True
    if pending and not skipping:
        yield number + 1, decode_line(pending, stats, max_line)


def decode_line(raw: bytes, stats: LogStats, max_line: int = MAX_LINE) -> str:
    """One line as text: counted repairs for bad bytes; "" for an oversized line."""
    stats.lines += 1
    if len(raw) > max_line:
        stats.oversized += 1
        return ""
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    if b"\x00" in raw:
        stats.nul_bytes += 1
        raw = raw.replace(b"\x00", b"")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        stats.non_utf8 += 1
        return raw.decode("utf-8", errors="replace")


def sample_lines(path: Path, count: int = 256) -> list[str]:
    """The first lines of a file as text, for format recognition."""
    stats = LogStats()
    with open_log(path) as stream:
        array = _is_json_array(stream)
        items = _array_items(stream, stats) if array else raw_lines(stream, stats)
        return [text for _, text in _first(items, count)]


def _first(items: Iterator[tuple[int, str]], count: int) -> list[tuple[int, str]]:
    out = []
    for item in items:
        out.append(item)
        if len(out) >= count:
            break
    return out


def _is_json_array(stream: BinaryIO) -> bool:
    """Whether the stream's first non-blank byte opens a JSON array (then rewinds)."""
    head = stream.read(4096).lstrip()
    stream.seek(0)
    return head.startswith(b"[") and head[1:].lstrip()[:1] in (b"{", b"]")


def _array_items(stream: BinaryIO, stats: LogStats) -> Iterator[tuple[int, str]]:
    """Each element of a JSON-array file as compact text, numbered by its first line."""
    text = decode_line(stream.read(), stats, max_line=1 << 62)
    decoder, pos = json.JSONDecoder(), text.index("[") + 1
    line, counted = 1, 0
    while True:
        pos = _skip_separators(text, pos)
        if pos >= len(text) or text[pos] == "]":
            return
        line, counted = line + text.count("\n", counted, pos), pos
        try:
            item, end = decoder.raw_decode(text, pos)
        except (ValueError, RecursionError):
            yield line, text[pos : pos + 200]  # truncated or broken: the parser counts it
            return
        yield line, json.dumps(item, ensure_ascii=False)
        pos = end


def _skip_separators(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n,":
        pos += 1
    return pos


def _file_year(path: Path) -> int:
    """Year for timestamps without one: the file's modification year (deterministic per file)."""
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC).year
    except OSError:
        return 1970
