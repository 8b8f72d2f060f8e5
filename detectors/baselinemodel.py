"""The anomaly baseline: IsolationForests over host-window rows, per link and per unit.

Training is pure: a DataFrame of rows from :func:`detectors.hostwindows.host_windows` in, a
frozen :class:`BaselineModel` out. One forest covers all links (the fallback for links never
seen in training), one each link, and one each unit of a link that has enough rows of its own.
Each forest's alert threshold is a low quantile of its own training scores: with
``false_alarm_share = 0.005`` about one training window in 200 would have alerted, which is the
false-positive budget the operator chooses (detection-methods §4: thresholds from a budget).
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from detectors.hostwindows import FEATURES, HEAVY_TAILED, KEYS, WindowSpec
from detectors.isolation import FastForest
from detectors.ranges import check_ranges

SCHEMA_VERSION = 1
"""Version of the feature schema and bundle layout; a model of another version is refused."""
SCALE_FLOOR = 0.1
"""Smallest spread (model units) a feature's z-score divides by: constant features stay finite."""
ALL = ""
"""Segment key meaning "every link" or "every unit"."""


@dataclass(frozen=True, kw_only=True)
class TrainingConfig:
    """How forests are fitted and their thresholds chosen."""

    trees: int = 100
    """Trees per forest (scikit-learn's default; scores stabilise well before)."""
    max_samples: int = 256
    """Rows each tree is grown from (the IsolationForest paper's recommended 256)."""
    false_alarm_share: float = 0.005
    """Share of training windows that would have alerted: the threshold's quantile."""
    min_rows: int = 32
    """Rows a link or unit needs for its own forest; fewer fall back to the wider one."""
    random_state: int = 0
    """Seed of the forests: the same rows and seed give the same model."""
    novelty_weight: float = 0.02
    """Score taken off per robust spread a row lies beyond the training range (see ``score``)."""

    def __post_init__(self) -> None:
        check_ranges(
            self,
            {
                "trees": 10 <= self.trees <= 2000,
                "max_samples": 16 <= self.max_samples <= 100_000,
                "false_alarm_share": 0.0 < self.false_alarm_share <= 0.2,
                "min_rows": 8 <= self.min_rows <= 10_000_000,
                "random_state": 0 <= self.random_state < 2**32,
                "novelty_weight": 0.0 <= self.novelty_weight <= 1.0,
            },
        )


@dataclass(frozen=True, kw_only=True)
class Segment:
    """One forest, the rows it covers and the statistics that explain its scores."""

    link: str
    unit: str
    rows: int
    forest: Any  # a fitted sklearn IsolationForest
    threshold: float
    lowest: float  # the lowest training score
    medians: tuple[float, ...]
    scales: tuple[float, ...]  # robust spread: IQR / 1.349 (a normal's sigma), floored
    lows: tuple[float, ...]  # the training range of each feature
    highs: tuple[float, ...]
    novelty_weight: float

    def score(self, x: np.ndarray) -> np.ndarray:
        """Anomaly scores of model-unit rows (lower is stranger), novelty included.

        An IsolationForest ranks a row beyond the training range like the most extreme
        training rows (every split sends it their way), so a host fanning out to 50 times its
        usual peers would score like the busiest ordinary window. The score is therefore
        lowered by ``novelty_weight`` per robust spread the row lies beyond the range of its
        most novel feature; rows inside the range (all training rows) are unchanged.
        """
        return self._scorer.score_samples(x) - self.novelty_weight * self.novelty(x)

    @cached_property
    def _scorer(self) -> FastForest:
        return FastForest(self.forest)

    def novelty(self, x: np.ndarray) -> np.ndarray:
        """Per row: robust spreads beyond the training range, for the most novel feature."""
        scales = np.asarray(self.scales)
        above = (x - np.asarray(self.highs)) / scales
        below = (np.asarray(self.lows) - x) / scales
        beyond = np.maximum(np.maximum(above, below), 0.0)
        return np.asarray(beyond.max(axis=1)) if len(x) else np.zeros(0)

    def contributions(self, x: np.ndarray) -> list[tuple[str, float]]:
        """Features of one model-unit row by robust z-score, largest deviation first."""
        z = (x - np.asarray(self.medians)) / np.asarray(self.scales)
        order = sorted(range(len(FEATURES)), key=lambda i: (-abs(float(z[i])), i))
        return [(FEATURES[i], round(float(z[i]), 3)) for i in order]


@dataclass(frozen=True, kw_only=True)
class BaselineModel:
    """A trained baseline with the schema, span and counts it was trained on."""

    schema_version: int
    features: tuple[str, ...]
    spec: WindowSpec
    training: TrainingConfig
    trained_from: float
    trained_until: float
    rows: int
    hosts: int
    windows: int
    sklearn_version: str
    version: str  # fingerprint of the training rows and settings
    segments: tuple[Segment, ...]

    @cached_property
    def _index(self) -> dict[tuple[str, str], Segment]:
        return {(s.link, s.unit): s for s in self.segments}

    def segment(self, link: str, unit: str) -> Segment:
        """The most specific forest for a row: its unit's, its link's, else the global one."""
        index = self._index
        for key in ((link, unit), (link, ALL), (ALL, ALL)):
            if key in index:
                return index[key]
        raise KeyError("model has no global segment")


def design_matrix(rows: pd.DataFrame) -> np.ndarray:
    """Model inputs of feature rows: ``FEATURES`` in order, heavy-tailed counts as log1p."""
    columns = [
        np.log1p(rows[name].to_numpy(dtype=float))
        if name in HEAVY_TAILED
        else rows[name].to_numpy(dtype=float)
        for name in FEATURES
    ]
    return np.column_stack(columns) if len(rows) else np.empty((0, len(FEATURES)))


def train(rows: pd.DataFrame, spec: WindowSpec, config: TrainingConfig) -> BaselineModel:
    """Fit the forests of a baseline from feature rows; ValueError when there are too few."""
    import sklearn  # here, not at the top: scoring needs only numpy, and sklearn loads slowly

    if len(rows) < config.min_rows:
        raise ValueError(f"rows: {len(rows)} feature rows, at least {config.min_rows} needed")
    rows = rows.sort_values(list(KEYS), kind="stable").reset_index(drop=True)
    x = design_matrix(rows)
    segments = [_fit(ALL, ALL, x, config)]
    links = sorted(rows["link"].unique())
    for link in links:
        in_link = (rows["link"] == link).to_numpy()
        if len(links) > 1 and in_link.sum() >= config.min_rows:
            segments.append(_fit(link, ALL, x[in_link], config))
        units = sorted(u for u in rows.loc[in_link, "unit"].unique() if u != ALL)
        for unit in units:
            in_unit = in_link & (rows["unit"] == unit).to_numpy()
            if config.min_rows <= in_unit.sum() < in_link.sum():
                segments.append(_fit(link, unit, x[in_unit], config))
    model = BaselineModel(
        schema_version=SCHEMA_VERSION,
        features=FEATURES,
        spec=spec,
        training=config,
        trained_from=float(rows["window"].min()),
        trained_until=float(rows["window"].max() + spec.window_seconds),
        rows=len(rows),
        hosts=int(rows[["link", "host"]].drop_duplicates().shape[0]),
        windows=int(rows["window"].nunique()),
        sklearn_version=sklearn.__version__,
        version=_fingerprint(x, spec, config),
        segments=tuple(segments),
    )
    return dataclasses.replace(model, segments=_thresholds_for_routed_rows(model, rows, x))


def _thresholds_for_routed_rows(
    model: BaselineModel, rows: pd.DataFrame, x: np.ndarray
) -> tuple[Segment, ...]:
    """Each forest's threshold from the training rows it will score, not all it was fitted on.

    A link's forest also learnt its units' rows, but scores only the rows no unit forest
    takes (servers outside any unit, small units); its budget must hold for those.
    """
    chosen = [
        model.segment(link, unit) for link, unit in zip(rows["link"], rows["unit"], strict=True)
    ]
    routed = _positions(chosen)
    return tuple(
        _rethreshold(segment, x[routed.get(id(segment), [])], model.training)
        for segment in model.segments
    )


def _rethreshold(segment: Segment, x: np.ndarray, config: TrainingConfig) -> Segment:
    """The segment with its threshold from the rows ``x`` it scores (when there are enough)."""
    if len(x) < config.min_rows:
        return segment
    threshold = float(np.quantile(segment.score(x), config.false_alarm_share))
    return dataclasses.replace(segment, threshold=threshold)


def score(model: BaselineModel, rows: pd.DataFrame) -> pd.DataFrame:
    """Score rows, each with its own segment's forest: ``score``, ``threshold``, ``anomalous``."""
    x = design_matrix(rows)
    scores = np.zeros(len(rows))
    thresholds = np.zeros(len(rows))
    chosen = [
        model.segment(link, unit) for link, unit in zip(rows["link"], rows["unit"], strict=True)
    ]
    for positions in _positions(chosen).values():  # one vectorised call per forest
        segment = chosen[positions[0]]
        scores[positions] = segment.score(x[positions])
        thresholds[positions] = segment.threshold
    out = rows.reset_index(drop=True).copy()
    out["score"] = scores
    out["threshold"] = thresholds
    out["anomalous"] = scores < thresholds
    return out


def _positions(chosen: list[Segment]) -> dict[int, list[int]]:
    groups: dict[int, list[int]] = {}
    for position, segment in enumerate(chosen):
        groups.setdefault(id(segment), []).append(position)
    return groups


def _fit(link: str, unit: str, x: np.ndarray, config: TrainingConfig) -> Segment:
    from sklearn.ensemble import IsolationForest

    forest = IsolationForest(
        n_estimators=config.trees,
        max_samples=min(config.max_samples, len(x)),
        random_state=config.random_state,
    ).fit(x)
    scores = FastForest(forest).score_samples(x)  # no novelty: training rows are in range
    q1, medians, q3 = np.percentile(x, [25, 50, 75], axis=0)
    scales = np.maximum((q3 - q1) / 1.349, SCALE_FLOOR)
    return Segment(
        link=link,
        unit=unit,
        rows=len(x),
        forest=forest,
        threshold=float(np.quantile(scores, config.false_alarm_share)),
        lowest=float(scores.min()),
        medians=tuple(float(v) for v in medians),
        scales=tuple(float(v) for v in scales),
        lows=tuple(float(v) for v in x.min(axis=0)),
        highs=tuple(float(v) for v in x.max(axis=0)),
        novelty_weight=config.novelty_weight,
    )


def _fingerprint(x: np.ndarray, spec: WindowSpec, config: TrainingConfig) -> str:
    digest = hashlib.sha256(np.ascontiguousarray(x).tobytes())
    digest.update(repr((SCHEMA_VERSION, spec, config)).encode())
    return digest.hexdigest()[:12]
