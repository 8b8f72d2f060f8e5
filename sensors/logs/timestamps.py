"""Timestamps as logs write them, turned into epoch seconds (UTC) without ``strptime``.

Parsing dates is the slowest part of a naive log parser; these functions do the arithmetic
themselves and cache by the text of the timestamp, which repeats across consecutive lines.
"""

from __future__ import annotations

import calendar
from datetime import datetime
from functools import lru_cache

MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}


@lru_cache(maxsize=4096)  # a busy log repeats each second many times
def bsd_time(month: str, day: str, clock: str, year: int) -> float | None:
    """RFC 3164 ``Mmm dd hh:mm:ss`` in ``year``, read as UTC (the format has no zone)."""
    midnight = _midnight(month, day, year)
    if midnight is None or len(clock) != 8:
        return None
    try:
        return midnight + int(clock[:2]) * 3600 + int(clock[3:5]) * 60 + int(clock[6:])
    except ValueError:
        return None


@lru_cache(maxsize=1024)
def _midnight(month: str, day: str, year: int) -> float | None:
    """Epoch of a day's start (cached: a log has few distinct days)."""
    number = MONTHS.get(month)
    if number is None or not day.isdigit():
        return None
    return float(calendar.timegm((year, number, int(day), 0, 0, 0)))


@lru_cache(maxsize=4096)
def clf_time(text: str) -> float | None:
    """Common Log Format ``10/Oct/2000:13:55:36 -0700`` (the zone is optional)."""
    try:
        day, month, rest = text.split("/", 2)
        year, hour, minute, second = rest[:4], rest[5:7], rest[8:10], rest[11:13]
        base = calendar.timegm(
            (int(year), MONTHS[month], int(day), int(hour), int(minute), int(second))
        )
        return float(base - _offset(rest[14:].strip()))
    except (ValueError, KeyError, IndexError):
        return None


@lru_cache(maxsize=4096)
def iso_time(text: str) -> float | None:
    """ISO-8601 with optional fraction and zone (``Z``, ``+02:00``, ``+0000``); no zone is UTC."""
    text = text.strip().replace(",", ".")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit() and "T" in text:
        text = text[:-2] + ":" + text[-2:]  # +0000 -> +00:00 (Suricata writes it so)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return calendar.timegm(parsed.timetuple()) + parsed.microsecond / 1e6
    return parsed.timestamp()


@lru_cache(maxsize=4096)
def slash_time(day: str, clock: str) -> float | None:
    """nginx error-log ``2015/01/21 10:56:10`` (server local time, read as UTC)."""
    try:
        year, month, mday = (int(p) for p in day.split("/"))
        hour, minute, second = (int(p) for p in clock.split(":"))
        return float(calendar.timegm((year, month, mday, hour, minute, second)))
    except ValueError:
        return None


def _offset(zone: str) -> int:
    """Seconds east of UTC of a ``+0100`` zone; 0 when absent."""
    if len(zone) != 5 or zone[0] not in "+-":
        return 0
    seconds = int(zone[1:3]) * 3600 + int(zone[3:5]) * 60
    return seconds if zone[0] == "+" else -seconds
