"""Scoring a fitted IsolationForest a few rows at a time, without per-call overhead.

scikit-learn's ``score_samples`` is built for large batches: each call pays about a
millisecond per tree in validation and dispatch, so scoring the handful of hosts whose window
just closed costs 50-100 ms. Scoring is only arithmetic on the fitted trees (Liu, Ting and
Zhou, "Isolation Forest", ICDM 2008): a row's path length in a tree is the depth of the leaf
it lands in plus c(n), the expected depth still to go among the n training rows that leaf
held; the score is -2^(-mean path length / c(max_samples)). Precomputing each node's path
length once makes a call cost one ``apply`` per tree. ``tests/test_isolation.py`` checks the
scores equal scikit-learn's.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def average_path(n: np.ndarray) -> np.ndarray:
    """c(n): the average path length of an unsuccessful search in a binary tree of n rows."""
    n = np.asarray(n, dtype=float)
    out = np.where(n == 2, 1.0, 0.0)
    big = n > 2
    out[big] = 2.0 * (np.log(n[big] - 1.0) + np.euler_gamma) - 2.0 * (n[big] - 1.0) / n[big]
    return out


def node_depths(tree: Any) -> np.ndarray:
    """Depth of every node of a fitted sklearn ``Tree`` (the root is 0)."""
    depths = np.zeros(tree.node_count, dtype=float)
    left, right = tree.children_left, tree.children_right
    for node in range(tree.node_count):  # children always come after their parent
        if left[node] >= 0:
            depths[left[node]] = depths[right[node]] = depths[node] + 1
    return depths


class FastForest:
    """The scoring half of a fitted ``IsolationForest``: same scores, cheap small calls."""

    def __init__(self, forest: Any) -> None:
        self._trees = [
            (
                np.asarray(features),
                estimator.tree_,
                node_depths(estimator.tree_) + average_path(estimator.tree_.n_node_samples),
            )
            for estimator, features in zip(
                forest.estimators_, forest.estimators_features_, strict=True
            )
        ]
        self._norm = float(average_path(np.array([forest.max_samples_]))[0])

    def score_samples(self, x: np.ndarray) -> np.ndarray:
        """Scores as ``IsolationForest.score_samples`` gives them (lower is more abnormal)."""
        x32 = np.asarray(x, dtype=np.float32)
        total = np.zeros(len(x32))
        for features, tree, path in self._trees:
            total += path[tree.apply(np.ascontiguousarray(x32[:, features]))]
        return np.asarray(-(2.0 ** (-total / (len(self._trees) * self._norm))))
