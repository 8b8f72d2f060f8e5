"""Scan detectors on the shared real-traffic corpus; skipped when ../shared/corpus is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from nssa.evaluate import FileResult, Sample, evaluate_file, read_manifest
from nssa.pipeline import build_detectors
from nssa.settings import Settings

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is absent")

GAPS = {
    "zeek_vnc_scanner.pcap": "one RFB connection is not a scan in flows",
}
"""Scan captures we do not (yet) attribute, and why."""


def samples(category: str) -> list[Sample]:
    return [s for s in read_manifest(CORPUS) if s.category == category] if CORPUS.is_dir() else []


def run(sample: Sample) -> FileResult:
    settings = Settings()
    return evaluate_file(sample, settings, lambda: build_detectors(settings))


@pytest.mark.parametrize("sample", samples("scan"), ids=lambda s: s.path.name)
def test_every_scan_capture_names_its_attacker(sample: Sample) -> None:
    if sample.path.name in GAPS:
        pytest.xfail(GAPS[sample.path.name])
    result = run(sample)
    assert (result.detected, result.named) == (True, True), result.rules


@pytest.mark.parametrize("sample", samples("benign"), ids=lambda s: s.path.name)
def test_benign_captures_raise_no_scan_alerts(sample: Sample) -> None:
    result = run(sample)
    assert [r for r in result.rules if r.split(".")[0] in {"portscan", "scan"}] == []
