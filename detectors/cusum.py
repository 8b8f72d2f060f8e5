"""Non-parametric CUSUM change detection (Page; as used by Wang, Zhang and Shin for SYN floods).

A pure step function over a small state: each closed interval's value ``x`` moves the sum
``S = max(0, S + x - (mean + drift))`` and an alarm is raised while ``S >= threshold``. The
baseline ``mean`` learns (EWMA) only from intervals that are not in alarm, so an attack cannot
teach the detector that it is normal.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Cusum:
    """The running state of one CUSUM; ``step`` returns whether the interval is in alarm."""

    mean: float
    drift: float
    threshold: float
    learning_rate: float = 0.1
    total: float = 0.0
    alarm: bool = False

    def step(self, x: float) -> bool:
        """Add one interval's value; True while the cumulative excess is over the threshold."""
        self.total = max(0.0, self.total + x - (self.mean + self.drift))
        self.alarm = self.total >= self.threshold
        if self.total == 0.0:
            self.mean += self.learning_rate * (x - self.mean)
        return self.alarm

    def idle(self, intervals: int) -> None:
        """Account ``intervals`` empty intervals at once (a gap in the input)."""
        if intervals <= 0:
            return
        self.total = max(0.0, self.total - intervals * (self.mean + self.drift))
        self.alarm = self.total >= self.threshold
        if self.total == 0.0:
            self.mean *= (1.0 - self.learning_rate) ** min(intervals, 1000)
