"""The ``[site]`` settings and how the pipeline hands the site to detectors."""

from __future__ import annotations

from pathlib import Path

import pytest

from detectors.trw import ThresholdRandomWalk
from nssa.errors import ConfigError
from nssa.pipeline import build_detectors
from nssa.settings import load_settings

UNIT = """
[[units]]
code = "hubin"
name = "湖滨区"
kind = "district"
subnets = ["10.21.0.0/16"]
"""


def settings_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "nssa.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_detectors_get_the_organisation_subnets_and_site(tmp_path: Path) -> None:
    path = settings_file(tmp_path, UNIT + '[site]\nbenign_scanners = ["10.21.9.9"]\n')
    trw = next(
        d for d in build_detectors(load_settings(path)) if isinstance(d, ThresholdRandomWalk)
    )
    site = trw.config.site
    assert (site.internal, site.benign_scanners) == (("10.21.0.0/16",), ("10.21.9.9",))


def test_bad_site_network_names_the_key(tmp_path: Path) -> None:
    path = settings_file(tmp_path, '[site]\nassets = ["10.21.0.0/33"]\n')
    with pytest.raises(ConfigError, match=r"site\.assets"):
        load_settings(path)


def test_site_cannot_be_set_per_detector(tmp_path: Path) -> None:
    path = settings_file(tmp_path, "[detectors.trw]\nsite = 1\n")
    with pytest.raises(ConfigError, match=r"detectors\.trw\.site: unknown key"):
        load_settings(path)
