"""``--rebase-time`` for log files: their first event time, and events moved in time."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

from sensors.events import Event
from sensors.logs.reader import LogFormatError, LogStats, read_log

FIRST_LINES = 1000  # lines read to find a log's earliest time (logs are nearly in order)


def first_log_time(path: Path) -> float | None:
    """The earliest event time among a log file's first lines; None if it has none."""
    try:
        parsed = itertools.islice(read_log(path, stats=LogStats()), FIRST_LINES)
        times = [_times(event)[0] for line in parsed for event in line.events]
    except (LogFormatError, OSError, EOFError):
        return None
    known = [t for t in times if t > 0]  # 0: a line without a time (journal exports)
    return min(known) if known else None


def shifted(events: list[Event], shift: float) -> list[Event]:
    """The events with ``shift`` seconds added to every time field (all of them, as-is if 0)."""
    if not shift:
        return events
    moved: list[Event] = []
    for event in events:
        names = _time_fields(type(event))
        moved.append(dataclasses.replace(event, **{n: getattr(event, n) + shift for n in names}))
    return moved


def _times(event: Event) -> list[float]:
    return [getattr(event, name) for name in _time_fields(type(event))]


_TIME_FIELDS: dict[type, tuple[str, ...]] = {}


def _time_fields(kind: type) -> tuple[str, ...]:
    """Names of a record type's epoch-second fields (declared ``ecs(..., time=True)``)."""
    names = _TIME_FIELDS.get(kind)
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(kind) if f.metadata.get("ecs.time"))
        _TIME_FIELDS[kind] = names
    return names
