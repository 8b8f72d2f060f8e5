"""Feeding a batch of events to detectors: each gets only the types it accepts, in order.

A batch is split by event type once; a detector that declares ``accepts`` sees only its
types (the flow detectors never see DNS queries), and one with ``observe_batch`` gets its
share in one call. Alerts come out detector by detector, each detector's in event order.
"""

from __future__ import annotations

from collections.abc import Sequence

from detectors.alert import Alert
from detectors.base import Detector, accepted_types
from sensors.events import Event


def observe_all(detectors: Sequence[Detector], events: Sequence[Event]) -> list[Alert]:
    """Every detector's alerts over ``events`` (a detector sees only the types it accepts)."""
    shares = _Shares(events)
    alerts: list[Alert] = []
    for detector in detectors:
        mine = shares.of(accepted_types(detector))
        if mine:
            alerts.extend(_observe(detector, mine))
    return alerts


def _observe(detector: Detector, events: Sequence[Event]) -> list[Alert]:
    """One detector over its share of a batch, in one call when it takes batches."""
    batch = getattr(detector, "observe_batch", None)
    if batch is not None:
        return list(batch(events))
    observe = detector.observe
    alerts: list[Alert] = []
    for event in events:
        found = observe(event)
        if found:
            alerts.extend(found)
    return alerts


class _Shares:
    """The events of one batch by accepted types, each share computed once."""

    def __init__(self, events: Sequence[Event]) -> None:
        self.events = events
        # Types by event, and the types present: each share is then one comprehension over
        # them, built only when some detector asks for it (no per-event appends).
        self._kinds = list(map(type, events))
        self._present = set(self._kinds)
        self._cache: dict[tuple[type[Event], ...], Sequence[Event]] = {(): events}

    def of(self, types: tuple[type[Event], ...]) -> Sequence[Event]:
        """The events that are instances of ``types`` (all of them for no types), in order."""
        share = self._cache.get(types)
        if share is None:
            share = self._cache[types] = self._select(types)
        return share

    def _select(self, types: tuple[type[Event], ...]) -> Sequence[Event]:
        present = {kind for kind in self._present if issubclass(kind, types)}
        if len(present) == len(self._present):
            return self.events
        if not present:
            return []
        pairs = zip(self.events, self._kinds, strict=True)
        if len(present) == 1:
            (only,) = present
            return [event for event, kind in pairs if kind is only]
        return [event for event, kind in pairs if kind in present]
