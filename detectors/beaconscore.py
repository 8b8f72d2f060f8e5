"""Pure scoring functions of the beacon detector: RITA's four sub-scores and a periodogram.

After activecm/rita v5 (``analysis/beacons.go``): each sub-score is in 0-1, higher meaning
more machine-like. Timestamps and sizes use the symmetry of the distribution (1 - |Bowley
skewness|) and its dispersion ((median - MAD) / median); the histogram score rewards flat (or
two-level) activity over the span; the duration score rewards a pair active across the span.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

HISTOGRAM_BINS = 24
HISTOGRAM_MIN_PER_BIN = 4
"""Events a bin must expect: RITA's 24 bins assume a day of data, and with fewer than about
4 events per bin even an exact beacon's counts jump between n and n + 1 (a coefficient of
variation near 1 / (2n)), so short captures get fewer, wider bins."""
BIMODAL_MIN_HOURS = 11.0
CONSISTENCY_MIN_HOURS = 6.0
BINS_PER_PERIOD = 8
PERIODS_PER_SEGMENT = 8


def bowley_skewness(values: Sequence[float], iqr_floor: float) -> float:
    """Quartile skewness (Q1 + Q3 - 2 Q2) / (Q3 - Q1); 0 for a tiny IQR or a tied median."""
    q1, q2, q3 = (float(q) for q in np.percentile(values, [25, 50, 75]))
    if q3 - q1 < iqr_floor or q2 in (q1, q3):
        return 0.0
    return (q1 + q3 - 2 * q2) / (q3 - q1)


def mad(values: Sequence[float]) -> float:
    """Median absolute deviation from the median."""
    arr = np.asarray(values, dtype=float)
    return float(np.median(np.abs(arr - np.median(arr))))


def regularity(values: Sequence[float], iqr_floor: float) -> float:
    """Mean of the symmetry and dispersion scores of ``values`` (RITA's ts/ds score)."""
    median = float(np.median(values))
    if median <= 0:
        return 0.0
    symmetry = 1.0 - min(1.0, abs(bowley_skewness(values, iqr_floor)))
    dispersion = max(0.0, (median - mad(values)) / median)
    return (symmetry + dispersion) / 2


def histogram_score(times: Sequence[float], start: float, end: float) -> float:
    """Flatness (1 - coefficient of variation) of activity in up to 24 bins over the span (at
    least 4 events expected per bin), or a two-level fit once 11 hours are seen, whichever is
    higher."""
    if end <= start:
        return 0.0
    bins = max(4, min(HISTOGRAM_BINS, len(times) // HISTOGRAM_MIN_PER_BIN))
    counts, _ = np.histogram(times, bins=bins, range=(start, end))
    mean = counts.mean()
    flat = max(0.0, 1.0 - float(counts.std() / mean)) if mean > 0 else 0.0
    if (end - start) / 3600 < BIMODAL_MIN_HOURS:
        return flat
    return max(flat, _bimodal(counts))


def _bimodal(counts: np.ndarray) -> float:
    """Share of bins in the two most common count buckets (bucket: 5 % of the largest count),
    with one outlier bin forgiven."""
    size = max(1.0, 0.05 * float(counts.max()))
    buckets = np.bincount((counts // size).astype(int))
    top = np.sort(buckets)[-2:].sum()
    return min(1.0, float(top) / (len(counts) - 1))


def duration_score(times: Sequence[float], start: float, end: float) -> float:
    """Coverage of the span by the pair, or (after 6 hours) its longest run of active hours
    divided by 12, whichever is higher."""
    span = end - start
    if span <= 0:
        return 0.0
    coverage = min(1.0, (max(times) - min(times)) / span)
    if span / 3600 < CONSISTENCY_MIN_HOURS:
        return coverage
    hours = sorted({int((t - start) // 3600) for t in times})
    longest = run = 1
    for a, b in pairwise(hours):
        run = run + 1 if b == a + 1 else 1
        longest = max(longest, run)
    return max(coverage, min(1.0, longest / 12))


@dataclass(frozen=True, kw_only=True)
class Periodicity:
    """The periodogram's strongest period and Fisher's g test of it."""

    period: float
    g: float
    p_value: float


def periodogram(times: Sequence[float], hint: float) -> Periodicity | None:
    """Fisher's g test on a smoothed, segment-averaged periodogram of the event train.

    The train is binned at ``hint`` / 8 (``hint``: the median interval) and smoothed with a
    Gaussian of a sixth of ``hint``, which keeps the power at the fundamental rather than
    spread over the harmonics of sharp pulses. Jitter makes a beacon's phase drift, so the
    power is averaged over half-overlapping segments of 8 periods (Welch) where the phase
    still holds. g is the peak's share of the power and the p-value the chance that white
    noise gives so large a share (Fisher 1929, first term; conservative after averaging).
    """
    resolution = hint / BINS_PER_PERIOD
    start = min(times)
    bins = int((max(times) - start) / resolution) + 1
    length = BINS_PER_PERIOD * PERIODS_PER_SEGMENT
    if hint <= 0 or bins < length or bins > 1 << 20:
        return None
    series, _ = np.histogram(times, bins=bins, range=(start, start + bins * resolution))
    sigma = BINS_PER_PERIOD / 6
    offsets = np.arange(-3 * math.ceil(sigma), 3 * math.ceil(sigma) + 1)
    kernel = np.exp(-(offsets**2) / (2 * sigma**2))
    smooth = np.convolve(series.astype(float), kernel / kernel.sum(), mode="same")
    segments = [smooth[i : i + length] for i in range(0, bins - length + 1, length // 2)]
    power = np.mean([np.abs(np.fft.rfft(s - s.mean()))[1:] ** 2 for s in segments], axis=0)
    total = float(power.sum())
    if total <= 0:
        return None
    peak = int(np.argmax(power))
    g = float(power[peak]) / total
    m = len(power)
    p_value = min(1.0, m * (1.0 - g) ** (m - 1))
    return Periodicity(period=length * resolution / (peak + 1), g=g, p_value=p_value)


@dataclass(frozen=True, kw_only=True)
class PairScore:
    """A pair's four sub-scores (size None when unknown), prevalence modifier and score."""

    timestamp: float
    size: float | None
    histogram: float
    duration: float
    prevalence: float
    score: float
    median_interval: float
    periodic: Periodicity | None

    def confirmed(self, p_value: float) -> bool:
        """Whether the periodogram's peak is significant and near the median interval."""
        found, median = self.periodic, self.median_interval
        return (
            found is not None
            and found.p_value < p_value
            and abs(found.period - median) <= 0.25 * median
        )


def score_pair(
    times: Sequence[float],
    sizes: Sequence[float],
    span: tuple[float, float],
    *,
    iqr_floor: float,
    min_interval: float,
    prevalence: float,
) -> PairScore | None:
    """RITA's score of one pair's connection times (and sizes) over the analysed ``span``;
    None below 3 intervals or when the median interval is under ``min_interval``."""
    unique = sorted(set(times))
    intervals = np.diff(unique)
    intervals = intervals[intervals > 0]
    if len(intervals) < 3:
        return None
    median = float(np.median(intervals))
    if median < min_interval:
        return None
    start, end = span
    parts = [
        regularity(intervals.tolist(), iqr_floor),
        histogram_score(unique, start, end),
        duration_score(unique, start, end),
    ]
    size = regularity(sizes, iqr_floor) if sizes else None
    mean = (sum(parts) + (size or 0.0)) / (len(parts) + (size is not None))
    return PairScore(
        timestamp=parts[0],
        size=size,
        histogram=parts[1],
        duration=parts[2],
        prevalence=prevalence,
        score=clamp(mean + prevalence),
        median_interval=median,
        periodic=periodogram(unique, median),
    )


def prevalence_modifier(share: float, rare: float, common: float, step: float) -> float:
    """RITA's prevalence adjustment: +step for rare destinations, -step for common ones."""
    if share <= rare:
        return step
    if share >= common:
        return -step
    return 0.0


def clamp(value: float) -> float:
    """``value`` limited to 0-1 (NaN as 0)."""
    return 0.0 if math.isnan(value) else min(1.0, max(0.0, value))
