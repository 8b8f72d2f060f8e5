"""The small-batch forest scorer gives scikit-learn's scores."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest

from detectors.isolation import FastForest, average_path


@pytest.mark.parametrize("samples", [8, 64, 256])
def test_scores_equal_scikit_learn(samples: int) -> None:
    rng = np.random.default_rng(3)
    train = rng.lognormal(size=(400, 9))
    forest = IsolationForest(n_estimators=30, max_samples=samples, random_state=0).fit(train)
    rows = np.vstack([rng.lognormal(size=(50, 9)), rng.lognormal(3.0, size=(5, 9))])
    assert np.allclose(FastForest(forest).score_samples(rows), forest.score_samples(rows))
    assert np.allclose(FastForest(forest).score_samples(rows[:1]), forest.score_samples(rows[:1]))


def test_average_path_of_small_trees() -> None:
    assert list(average_path(np.array([0, 1, 2]))) == [0.0, 0.0, 1.0]
    assert average_path(np.array([256]))[0] == pytest.approx(10.2448, abs=1e-4)
