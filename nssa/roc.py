"""ROC operating points of a score: the best true-positive rate at a false-positive budget.

A sample is flagged when its score reaches the threshold (``score >= threshold``), as a CRS
inbound score is compared with its limit. Pure: lists of scores in, figures out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class OperatingPoint:
    """One point of the ROC curve: a threshold and the rates it gives."""

    max_fpr: float | None
    """The false-positive budget this point was chosen for (None: a given threshold)."""
    threshold: float | None
    """Flag scores at or above this (None: no threshold keeps within the budget)."""
    tpr: float
    fpr: float
    positives: int
    negatives: int


def rates(
    positives: Sequence[float], negatives: Sequence[float], threshold: float
) -> OperatingPoint:
    """True- and false-positive rates when scores at or above ``threshold`` are flagged."""
    tp = sum(s >= threshold for s in positives)
    fp = sum(s >= threshold for s in negatives)
    return OperatingPoint(
        max_fpr=None,
        threshold=threshold,
        tpr=tp / len(positives) if positives else 0.0,
        fpr=fp / len(negatives) if negatives else 0.0,
        positives=len(positives),
        negatives=len(negatives),
    )


def operating_point(
    positives: Sequence[float], negatives: Sequence[float], max_fpr: float
) -> OperatingPoint:
    """The lowest threshold whose false-positive rate is at most ``max_fpr`` (highest TPR).

    The candidates are the observed scores: between two of them the rates do not change.
    """
    if not 0.0 <= max_fpr <= 1.0:
        raise ValueError(f"max_fpr: {max_fpr} is not 0-1")
    for threshold in sorted({*positives, *negatives, math.inf}):
        point = rates(positives, negatives, threshold)
        if point.fpr <= max_fpr:
            return OperatingPoint(
                max_fpr=max_fpr,
                threshold=None if math.isinf(threshold) else threshold,
                tpr=point.tpr,
                fpr=point.fpr,
                positives=point.positives,
                negatives=point.negatives,
            )
    raise AssertionError("an infinite threshold flags nothing")  # pragma: no cover
