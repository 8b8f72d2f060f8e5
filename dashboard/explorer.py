"""The alerts explorer's vocabulary: its filters (read from a query string) and what it shows.

Pure: ``queries`` fills these from the store, the ``alerts`` blueprint renders them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo

from correlator.aggregation import AlertStats
from correlator.incident import Incident
from detectors.alert import Alert
from sensors.events import Event

DEFAULT_SPAN = 24 * 3600.0
"""Seconds the side panel covers when no time range is asked for (ending at the newest alert)."""
HISTOGRAM_BARS = 24
"""About how many bars the time histogram has: the bucket is the first step giving at most this."""
BUCKETS = (60, 300, 900, 3600, 3 * 3600, 6 * 3600, 24 * 3600, 7 * 24 * 3600)
"""Histogram bucket lengths in seconds, shortest first (aligned so both stores agree)."""
PIVOTS = ("source", "destination", "detector", "rule", "unit")
"""Query-string names of the fields a list can be pivoted on."""
_TIME_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")


@dataclass(frozen=True, kw_only=True)
class AlertFilter:
    """What the explorer lists: every field that is set must hold (None: not filtered)."""

    source: str | None = None
    destination: str | None = None
    detector: str | None = None
    rule: str | None = None
    unit: str | None = None  # the alerts of this unit's incidents (and its units below)
    since: float | None = None
    until: float | None = None

    def args(self, **changes: str | None) -> dict[str, str]:
        """The query-string arguments of this filter with ``changes`` (None: dropped)."""
        values: dict[str, str | None] = {name: getattr(self, name) for name in PIVOTS}
        values |= {"since": _text(self.since), "until": _text(self.until)}
        values |= changes
        return {name: value for name, value in values.items() if value}

    @property
    def active(self) -> bool:
        """Whether any filter is set."""
        return any(getattr(self, f.name) is not None for f in dataclasses.fields(self))


@dataclass(frozen=True, kw_only=True)
class AlertListing:
    """One page of alerts, newest first, with the side panel's counts."""

    alerts: tuple[Alert, ...]
    page: int
    per_page: int
    has_next: bool
    stats: AlertStats
    since: float | None  # the side panel's window (None: no alert to anchor it)
    until: float | None
    bucket: int | None  # the histogram's bucket in seconds


@dataclass(frozen=True, kw_only=True)
class AlertDetail:
    """One alert with the incident holding it, when the correlator grouped it into one."""

    alert: Alert
    incident: Incident | None
    packets: bool = False  # a registered capture covers it: offer its packets for download
    evidence: tuple[Event, ...] = ()  # the cited records the store still holds, in cited order

    @property
    def unresolved(self) -> tuple[str, ...]:
        """Cited ids the store does not hold (records not stored, or aged out)."""
        found = {event.id for event in self.evidence}
        return tuple(ref for ref in self.alert.evidence if ref not in found)


def alert_filter(args: Mapping[str, str], zone: tzinfo) -> AlertFilter:
    """The filter a query string asks for; blank or unreadable values are ignored.

    ``zone`` is the ``tzinfo`` the times are typed in (the dashboard's local time).
    """
    texts = {name: args.get(name, "").strip() or None for name in PIVOTS}
    return AlertFilter(
        **texts,
        since=parse_local(args.get("since", ""), zone),
        until=parse_local(args.get("until", ""), zone),
    )


def parse_local(text: str, zone: tzinfo) -> float | None:
    """Epoch seconds of a local ``YYYY-MM-DD[THH:MM[:SS]]`` (a datetime-local input) or of
    ``@<epoch>`` (what pivot links carry), or None."""
    text = text.strip()
    if text.startswith("@") and text[1:].isdecimal():
        return float(text[1:])
    for pattern in _TIME_FORMATS:
        try:
            moment = datetime.strptime(text, pattern)
        except ValueError:
            continue
        return moment.replace(tzinfo=zone).timestamp()
    return None


def bucket_for(span: float) -> int:
    """The shortest bucket cutting ``span`` seconds into at most ``HISTOGRAM_BARS`` bars."""
    return next((b for b in BUCKETS if span / b <= HISTOGRAM_BARS), BUCKETS[-1])


def _text(epoch: float | None) -> str | None:
    # Links carry the exact instant, whatever zone the reader types times in.
    return None if epoch is None else f"@{epoch:.0f}"
