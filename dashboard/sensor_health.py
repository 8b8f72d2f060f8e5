"""Sensor health on the overview: each sensor's last event, recent volume and staleness."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from correlator.sensor_activity import SensorActivity

HOUR = 3600.0
LOOKBACK = 7 * 24 * HOUR
"""Sensors silent for longer than this are not listed (they were retired or renamed)."""
STALE_AFTER = 15 * 60.0
"""Seconds of silence after which a sensor is flagged: flows and logs arrive every minute."""


@dataclass(frozen=True, kw_only=True)
class SensorStatus:
    """One sensor as the overview shows it."""

    sensor: str
    last_event: float
    last_hour: int
    stale: bool


def statuses(
    found: Iterable[SensorActivity], *, now: float, stale_after: float = STALE_AFTER
) -> tuple[SensorStatus, ...]:
    """The sensors, stale ones first (they need someone), then by name."""
    rows = [
        SensorStatus(
            sensor=a.sensor,
            last_event=a.last_event,
            last_hour=a.recent_events,
            stale=now - a.last_event > stale_after,
        )
        for a in found
    ]
    return tuple(sorted(rows, key=lambda s: (not s.stale, s.sensor)))
