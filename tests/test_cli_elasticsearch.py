"""``nssa replay/incidents/alerts --store http://...`` answer exactly as with SQLite."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "pcaps" / "recon_scan.pcap"
CITY = ROOT / "examples" / "sanmenxia.toml"


def nssa(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "nssa", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def es_config(tmp_path: Path, es_url: str) -> Path:
    """The Sanmenxia settings with the store on the test node, under a prefix of its own."""
    prefix = f"cli{uuid.uuid4().hex[:10]}"
    text = CITY.read_text(encoding="utf-8")
    store = f'url = "{es_url}"\nindex_prefix = "{prefix}"\nreplicas = 0\n'
    text, replaced = re.subn(r'(?m)^url = "sqlite:[^"]*"\n', store, text, count=1)
    assert replaced == 1
    config = tmp_path / "city.toml"
    config.write_text(text, encoding="utf-8")
    return config


def _replay_summary(output: str) -> str:
    """The replay line without its timing, which differs run to run."""
    return re.sub(r" in [\d.]+s \([\d,]+ packets/s\)", "", output)


def test_replay_and_listings_match_sqlite(tmp_path: Path, es_url: str, es_config: Path) -> None:
    sqlite = f"sqlite:///{tmp_path / 'nssa.db'}"
    outputs = {}
    for store in (sqlite, es_url):
        common = ("--config", str(es_config), "--store", store)
        replayed = nssa("replay", str(SCENARIO), *common, cwd=tmp_path)
        outputs[store] = (
            _replay_summary(replayed),
            nssa("incidents", "--json", *common, cwd=tmp_path),
            nssa("alerts", "--json", "--limit", "1000", *common, cwd=tmp_path),
            nssa("incidents", *common, cwd=tmp_path),
        )
    assert outputs[es_url] == outputs[sqlite]
    assert outputs[es_url][1].count("\n") >= 1  # the scenario does produce incidents


def test_replaying_twice_into_elasticsearch_changes_nothing(
    tmp_path: Path, es_url: str, es_config: Path
) -> None:
    common = ("--config", str(es_config), "--store", es_url)
    listings = []
    for _ in range(2):
        nssa("replay", str(SCENARIO), *common, cwd=tmp_path)
        listings.append(
            (
                nssa("incidents", "--json", *common, cwd=tmp_path),
                nssa("alerts", "--json", "--limit", "1000", *common, cwd=tmp_path),
            )
        )
    assert listings[0] == listings[1]
