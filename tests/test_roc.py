"""ROC operating points on hand-made score lists."""

from __future__ import annotations

import pytest

from nssa.roc import operating_point, rates

ATTACKS = [9, 8, 7, 5, 5, 3, 0, 0]
"""Eight attack scores: 5 of them at 5 or more."""
BENIGN = [6, 3, 2] + [0] * 97
"""A hundred benign scores: one at 6, one at 3, one at 2."""


def test_rates_at_a_threshold_count_scores_at_or_above_it() -> None:
    point = rates(ATTACKS, BENIGN, 5)
    assert (point.tpr, point.fpr, point.positives, point.negatives) == (5 / 8, 1 / 100, 8, 100)


@pytest.mark.parametrize(
    ("budget", "threshold", "tpr", "fpr"),
    [
        (0.03, 2, 6 / 8, 3 / 100),  # all three benign scores fit the budget
        (0.02, 3, 6 / 8, 2 / 100),
        (0.01, 5, 5 / 8, 1 / 100),  # threshold 4 would flag the same: 5 is the lowest score
        (0.001, 7, 3 / 8, 0.0),  # above the benign 6: only 9, 8 and 7
        (1.0, 0, 1.0, 1.0),
    ],
)
def test_operating_point_is_the_lowest_threshold_within_budget(
    budget: float, threshold: float, tpr: float, fpr: float
) -> None:
    point = operating_point(ATTACKS, BENIGN, budget)
    assert (point.threshold, point.tpr, point.fpr, point.max_fpr) == (threshold, tpr, fpr, budget)


def test_no_threshold_within_budget_flags_nothing() -> None:
    point = operating_point([1, 1], [1, 1], 0.0)
    assert (point.threshold, point.tpr, point.fpr) == (None, 0.0, 0.0)


def test_budget_is_range_checked() -> None:
    with pytest.raises(ValueError, match="max_fpr"):
        operating_point([1], [0], 1.5)
