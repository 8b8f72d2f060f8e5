"""The detector protocol: typed config in, ``observe`` per event, ``flush`` at the end.

Detectors flag; they never store, notify or read the clock. Time comes from the events, and
``flush(now)`` lets a detector close windows that the passing of time (not new events) ends.
"""

from __future__ import annotations

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
