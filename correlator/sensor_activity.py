"""How much each sensor has written lately: the figures behind the overview's sensor health.

Sensors stamp every event with their name (ECS ``observer.name``); a sensor that goes quiet
is the first sign that a span port, a log feed or the sensor host itself has failed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class SensorActivityRequest:
    """Which sensors to report (those with an event since ``since``) and the recent window."""

    since: float  # epoch seconds; a sensor silent since then is not listed at all
    recent: float  # events from here on are counted (the last hour)


@dataclass(frozen=True, kw_only=True)
class SensorActivity:
    """One sensor's newest event and how many events it wrote since the request's ``recent``."""

    sensor: str
    last_event: float  # epoch seconds
    recent_events: int


def by_sensor(found: list[SensorActivity]) -> tuple[SensorActivity, ...]:
    """The activities in the one order every store returns: by sensor name."""
    return tuple(sorted(found, key=lambda a: a.sensor))
