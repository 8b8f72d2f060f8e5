"""The evaluation harness on a two-file corpus made of the scenario captures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from nssa.baseline import zeek_detectors
from nssa.cli import main
from nssa.evaluate import Sample, evaluate, family, render
from nssa.pipeline import build_detectors
from nssa.settings import Settings
from tests.conftest import build_alert

PCAPS = Path(__file__).resolve().parents[1] / "pcaps"
HEADER = "path\tcategory\tground_truth\n"


def corpus(tmp_path: Path) -> Path:
    for name in ("recon_scan.pcap", "background.pcap"):
        shutil.copy(PCAPS / name, tmp_path / name)
    (tmp_path / "MANIFEST.tsv").write_text(
        HEADER
        + "recon_scan.pcap\tscan\tping sweep then SYN scan: attacker 203.0.113.45 -> 10.21.3.25\n"
        + "background.pcap\tbenign\tnormal day; no attack\n"
        + "missing.pcap\tscan\tnot present, skipped\n",
        encoding="utf-8",
    )
    return tmp_path


def test_attacker_is_the_named_address_not_a_time() -> None:
    sample = Sample(path=Path("x"), category="dos", truth="flood 20:39:40 from 192.0.2.10 to ::1")
    assert (sample.attacker, sample.addresses) == ("192.0.2.10", ("192.0.2.10", "::1"))


def test_family_is_the_rule_before_the_first_dot() -> None:
    assert family(build_alert(rule="scan.trw")) == "scan"


def test_ours_beat_the_zeek_baseline_on_the_scenario(tmp_path: Path) -> None:
    settings = Settings()
    result = evaluate(corpus(tmp_path), settings, lambda: build_detectors(settings), zeek_detectors)
    (scan, scan_zeek), (benign, benign_zeek) = result.rows()
    assert (scan.files, scan.detected, scan.named, benign.alerts_per_file) == (1, 1, 1, 0.0)
    assert scan.median_probes is not None and scan_zeek.median_probes is not None
    assert scan.median_probes < scan_zeek.median_probes
    assert "scan" in render(result) and benign_zeek.alerts_per_file == 0.0


def test_cli_prints_json_rows(tmp_path: Path) -> None:
    out = CliRunner().invoke(main, ["evaluate", str(corpus(tmp_path)), "--json"])
    rows = [json.loads(line) for line in out.output.splitlines()]
    assert out.exit_code == 0 and [r.get("category") for r in rows[:2]] == ["scan", "benign"]
