"""Garbage-collector settings for the long-running commands (replay, sensor, correlator).

A packet pipeline allocates millions of short-lived, acyclic objects (events, flow keys,
counters) while the detectors hold large, long-lived state (bounded maps of 100 000 keys).
With CPython's defaults, a young collection runs every 700 allocations and every few
hundred of them a full one re-walks all that long-lived state: measured on the 200 000-packet
benchmark capture, a third of the detectors' CPU time. Freezing the start-up heap (modules,
rule tables, settings) and collecting the young generation less often removes most of it;
reference cycles are still collected, only later.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000
"""Allocations between young collections (CPython default 700)."""
MIDDLE_THRESHOLD = 20
"""Young collections between middle-generation collections (default 10)."""
OLD_THRESHOLD = 10
"""Middle collections before a full one is considered (default 10; CPython then also waits
until a quarter of the old generation is new)."""


def settle_heap() -> None:
    """Freeze what start-up allocated and space collections out, once per process."""
    if gc.get_threshold() == (YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD):
        return  # settled already (the CLI run again in one process, as tests do)
    gc.collect()  # so the frozen heap holds no garbage that could never be freed
    gc.freeze()  # start-up objects live for the whole run: full collections skip them
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
