"""The ``[anomaly]`` table and ``[detectors.anomaly]``: typed, range-checked, model injected."""

from __future__ import annotations

from pathlib import Path

import pytest

from detectors.anomaly import Anomaly
from nssa.errors import ConfigError
from nssa.modelfile import ModelFileError
from nssa.pipeline import build_detectors
from nssa.settings import load_settings


def _settings(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "nssa.toml"
    path.write_text(text)
    return path


def test_anomaly_table_is_read(tmp_path: Path) -> None:
    settings = load_settings(
        _settings(tmp_path, "[anomaly]\nwindow_seconds = 600\nfalse_alarm_share = 0.01\n")
    )
    assert settings.anomaly.window_spec().window_seconds == 600.0
    assert settings.anomaly.training().false_alarm_share == 0.01


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("window_seconds = 5", "anomaly.window_seconds"),
        ("false_alarm_share = 0.5", "anomaly.false_alarm_share"),
        ("min_rows = 2", "anomaly.min_rows"),
        ('model = "relative.model"', "anomaly.model"),
        ("trees = 1.5", "anomaly.trees"),
    ],
)
def test_bad_anomaly_values_name_their_key(tmp_path: Path, line: str, key: str) -> None:
    with pytest.raises(ConfigError, match=f": {key}: "):
        load_settings(_settings(tmp_path, f"[anomaly]\n{line}\n"))


def test_the_model_cannot_be_set_in_the_detector_table(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"detectors\.anomaly\.model: unknown key"):
        load_settings(_settings(tmp_path, '[detectors.anomaly]\nmodel = "/x.model"\n'))


def test_detector_thresholds_are_range_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"detectors\.anomaly\.top_features"):
        load_settings(_settings(tmp_path, "[detectors.anomaly]\ntop_features = 0\n"))


def test_without_a_model_the_detector_gets_none(tmp_path: Path) -> None:
    detectors = build_detectors(load_settings(_settings(tmp_path, "")))
    (anomaly,) = [d for d in detectors if isinstance(d, Anomaly)]
    assert anomaly.config.model is None


def test_a_missing_model_file_stops_the_build(tmp_path: Path) -> None:
    settings = load_settings(_settings(tmp_path, f'[anomaly]\nmodel = "{tmp_path / "no.model"}"\n'))
    with pytest.raises(ModelFileError, match="cannot read"):
        build_detectors(settings)
