"""Site-wide failed logins per interval under a CUSUM: distributed, low-and-slow guessing.

Javed and Paxson (CCS 2013) watch the aggregate failure count of a whole site, not of one
source: a campaign spread over many sources, each below any per-source threshold, still lifts
the site's total. Intervals are laid over event times and closed one interval late, so log
lines that arrive a little out of order still land in the right interval.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from detectors.cusum import Cusum


@dataclass(frozen=True, kw_only=True)
class CampaignAlarm:
    """One interval of an alarm run, with every source seen since the run began."""

    run_start: float
    end: float
    failures: int
    sources: Counter[str]
    cusum: float
    baseline: float


@dataclass
class _Interval:
    failures: int = 0
    sources: Counter[str] = field(default_factory=Counter)


class FailureCampaign:
    """The aggregate failure counter and its CUSUM; ``add`` and ``close`` return alarms."""

    def __init__(self, interval: float, cusum: Cusum, max_sources: int) -> None:
        self.interval = interval
        self.cusum = cusum
        self.max_sources = max_sources
        self.late = 0  # failures for an interval already closed (counted, not used)
        self._open: dict[int, _Interval] = {}
        self._closed: int | None = None
        self._run: Counter[str] = Counter()
        self._run_start = 0.0
        self._run_failures = 0

    def add(self, time: float, source: str) -> list[CampaignAlarm]:
        """Count one failure; close the intervals it shows are over."""
        index = math.floor(time / self.interval)
        if self._closed is not None and index <= self._closed:
            self.late += 1
            return []
        slot = self._open.setdefault(index, _Interval())
        slot.failures += 1
        if source in slot.sources or len(slot.sources) < self.max_sources:
            slot.sources[source] += 1
        return self.close((index - 1) * self.interval)

    def close(self, now: float) -> list[CampaignAlarm]:
        """Close every interval that ended by ``now``, in order, and step the CUSUM."""
        alarms: list[CampaignAlarm] = []
        for index in sorted(i for i in self._open if (i + 1) * self.interval <= now):
            if self._closed is not None:
                self.cusum.idle(index - self._closed - 1)
            self._closed = index
            alarm = self._step(index, self._open.pop(index))
            if alarm is not None:
                alarms.append(alarm)
        return alarms

    def _step(self, index: int, slot: _Interval) -> CampaignAlarm | None:
        was = self.cusum.alarm
        if not self.cusum.step(slot.failures):
            self._run.clear()
            self._run_failures = 0
            return None
        if not was:
            self._run_start = index * self.interval
        if len(self._run) < self.max_sources:
            self._run.update(slot.sources)
        self._run_failures += slot.failures
        return CampaignAlarm(
            run_start=self._run_start,
            end=(index + 1) * self.interval,
            failures=self._run_failures,
            sources=self._run,
            cusum=self.cusum.total,
            baseline=self.cusum.mean,
        )
