"""Model files: a round trip keeps the model; other schemas, releases and bytes are refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from detectors.baselinemodel import BaselineModel, TrainingConfig, score, train
from detectors.hostwindows import WindowSpec, host_windows
from detectors.site import Site
from nssa.modelfile import ModelFileError, load_model, save_model
from tests.hostflows import ordinary


@pytest.fixture(scope="module")
def model() -> BaselineModel:
    rows = host_windows(ordinary(5, range(8)), Site(internal=("10.0.0.0/8",)), WindowSpec())
    return train(rows, WindowSpec(), TrainingConfig(trees=10))


@pytest.fixture
def saved(model: BaselineModel, tmp_path: Path) -> Path:
    path = tmp_path / "baseline.model"
    save_model(model, path)
    return path


def _rewrite_header(path: Path, **changes: object) -> None:
    line, _, payload = path.read_bytes().partition(b"\n")
    header = json.loads(line) | changes
    path.write_bytes(json.dumps(header).encode() + b"\n" + payload)


def test_round_trip_scores_the_same(model: BaselineModel, saved: Path) -> None:
    rows = host_windows(ordinary(6, range(3)), Site(internal=("10.0.0.0/8",)), WindowSpec())
    loaded = load_model(saved)
    assert loaded.version == model.version
    assert np.array_equal(score(loaded, rows)["score"], score(model, rows)["score"])


def test_other_feature_schema_is_refused(saved: Path) -> None:
    _rewrite_header(saved, features=["initiated", "received"])
    with pytest.raises(ModelFileError, match=r"feature schema .* differs"):
        load_model(saved)


def test_other_schema_version_is_refused(saved: Path) -> None:
    _rewrite_header(saved, schema_version=99)
    with pytest.raises(ModelFileError, match="schema version 99 does not match"):
        load_model(saved)


def test_other_scikit_learn_release_is_refused(saved: Path) -> None:
    _rewrite_header(saved, sklearn_version="0.1.0")
    with pytest.raises(ModelFileError, match=r"trained with scikit-learn 0\.1\.0"):
        load_model(saved)


def test_changed_model_bytes_are_refused_before_unpickling(saved: Path) -> None:
    data = bytearray(saved.read_bytes())
    data[-10] ^= 0xFF
    saved.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="do not match the header's sha256"):
        load_model(saved)


def test_a_file_that_is_no_model_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\nworld\n")
    with pytest.raises(ModelFileError, match="not an NSSA anomaly model"):
        load_model(path)


def test_a_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="cannot read"):
        load_model(tmp_path / "absent.model")
