"""The detector protocol: typed config in, ``observe`` per event, ``flush`` at the end.

Detectors flag; they never store, notify or read the clock. Time comes from the events, and
``flush(now)`` lets a detector close windows that the passing of time (not new events) ends.

Two optional class attributes make dispatch cheap (``detectors.dispatch``): ``accepts``, the
event types a detector looks at (others never reach it), and ``observe_batch(events)``, a
whole-batch entry point equivalent to ``observe`` on each event in turn. A detector without
them gets every event, one ``observe`` call each.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Protocol

from detectors.alert import Alert
from sensors.events import Event


class Detector(Protocol):
    """What every detector class provides; one module, one class, one registry line."""

    name: ClassVar[str]
    Config: ClassVar[type[Any]]

    def __init__(self, config: Any) -> None: ...

    def observe(self, event: Event) -> list[Alert]:
        """Take one event; return alerts it completes (usually none)."""
        ...

    def flush(self, now: float) -> list[Alert]:
        """Close every window that ends before ``now`` (``inf`` at end of input)."""
        ...


class BatchDetector(Detector, Protocol):
    """A detector that also takes a whole batch at once (same alerts as ``observe`` each)."""

    def observe_batch(self, events: Sequence[Event]) -> list[Alert]:
        """Take the events (only accepted types, in order); return the alerts they complete."""
        ...


def accepted_types(detector: object) -> tuple[type[Event], ...]:
    """The event types ``detector`` declares in ``accepts``; empty when it takes every event."""
    return tuple(getattr(detector, "accepts", ()))
