"""Training the baseline: deterministic forests, thresholds from the budget, segment fallback."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from detectors.baselinemodel import TrainingConfig, score, train
from detectors.hostwindows import WindowSpec, host_windows
from detectors.site import Site
from tests.hostflows import ordinary

SITE = Site(internal=("10.0.0.0/8",), units=(("10.21.0.0/24", "hubin"), ("10.21.1.0/24", "tiny")))
SPEC = WindowSpec()


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return host_windows(ordinary(7, range(24)), SITE, SPEC)


def test_same_rows_and_seed_give_the_same_model(rows: pd.DataFrame) -> None:
    first, second = (
        train(rows, SPEC, TrainingConfig(trees=25)),
        train(rows, SPEC, TrainingConfig(trees=25)),
    )
    assert first.version == second.version
    assert np.array_equal(score(first, rows)["score"], score(second, rows)["score"])


def test_another_seed_gives_another_model(rows: pd.DataFrame) -> None:
    first = train(rows, SPEC, TrainingConfig(trees=25, random_state=1))
    second = train(rows, SPEC, TrainingConfig(trees=25, random_state=2))
    assert first.version != second.version
    assert not np.array_equal(score(first, rows)["score"], score(second, rows)["score"])


def test_threshold_flags_about_the_budgeted_share_of_training_rows(rows: pd.DataFrame) -> None:
    model = train(rows, SPEC, TrainingConfig(trees=25, false_alarm_share=0.02))
    scored = score(model, rows)
    # Each forest holds the budget on the rows it scores, give or take one row of rounding.
    for unit, flags in scored.groupby("unit")["anomalous"]:
        assert 0 < flags.mean() <= 0.02 + 1 / len(flags), unit


def test_units_with_too_few_rows_fall_back_to_their_link(rows: pd.DataFrame) -> None:
    model = train(rows, SPEC, TrainingConfig(trees=25, min_rows=200))
    keys = {(s.link, s.unit) for s in model.segments}
    assert ("cloud-core", "hubin") in keys  # 10 clients x 24 windows
    assert model.segment("cloud-core", "nowhere").unit == ""
    assert model.segment("other-link", "hubin") == model.segment("", "")


def test_model_records_what_it_was_trained_on(rows: pd.DataFrame) -> None:
    model = train(rows, SPEC, TrainingConfig(trees=25))
    assert (model.rows, model.windows, model.hosts) == (len(rows), 24, 28)
    assert model.trained_until - model.trained_from == 24 * 300.0


def test_too_few_rows_are_refused(rows: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="rows: 5 feature rows"):
        train(rows.head(5), SPEC, TrainingConfig(trees=25))


def test_training_ranges_are_checked() -> None:
    with pytest.raises(ValueError, match="false_alarm_share"):
        TrainingConfig(false_alarm_share=0.5)
