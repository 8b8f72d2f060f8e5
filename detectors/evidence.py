"""Sample events kept for an alert that may never fire: their id when known, else the event.

Alerts cite events by id, a hash of the event's ECS document that ``sensors.ecs`` computes once
and keeps on the event. The pipeline's store hashes every event before the detectors see it, so
a detector that keeps sample events should keep those ids: a retained event also keeps its
cached document and JSON (about 1.3 KB a flow), and twenty sample flows per DNS client were
most of the 1M-packet benchmark's memory. Without a store (benchmarks, tests) no id is known
yet; the event is then kept and hashed only if an alert cites it, as before.
"""

from __future__ import annotations

from collections.abc import Iterable

from sensors.events import Event

ID_CACHE = "_record_id"
"""Where ``sensors.ecs.record_id`` keeps an event's id once computed (read, never written)."""

Cited = str | Event
"""A sample event: its id, or the event itself while no id is known."""


def cite(event: Event) -> Cited:
    """The event's id when it has been computed already, else the event."""
    known = vars(event).get(ID_CACHE)
    return known if isinstance(known, str) else event


def cited_ids(samples: Iterable[Cited]) -> tuple[str, ...]:
    """The ids of sample events, hashing those that were kept whole."""
    return tuple(sample if isinstance(sample, str) else sample.id for sample in samples)
