"""``nssa intel import`` end to end, then a replay whose alerts include the intel hit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from nssa.cli import main
from nssa.errors import ConfigError
from nssa.settings import load_settings
from tests.captures import handshake, write_pcap

ROOT = Path(__file__).resolve().parents[1]
BEACON = ROOT / "pcaps" / "https_beacon.pcap"


def settings_file(tmp_path: Path, body: str | None = None) -> Path:
    path = tmp_path / "nssa.toml"
    path.write_text(body or f'[intel]\ndatabase = "{tmp_path / "intel.db"}"\n', encoding="utf-8")
    return path


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_import_counts_and_is_idempotent(tmp_path: Path) -> None:
    config = settings_file(tmp_path)
    feed = tmp_path / "c2.txt"
    feed.write_text("# c2 list\n198.51.100.77\nc2.example\n198.51.100.77\n!!garbage\n8.8.8.8\n")
    first = run("intel", "import", str(feed), "--config", str(config), "--confidence", "80")
    again = run("intel", "import", str(feed), "--config", str(config), "--confidence", "80")
    other = run("intel", "import", str(feed), "--config", str(config), "--source", "other")
    assert "source c2: 3 imported, 1 duplicates, 1 rejected (malformed: 1)" in first
    assert "source c2: 0 imported, 4 duplicates, 1 rejected (malformed: 1)" in again
    assert "source other: 3 imported" in other
    assert "1 indicators of the feed are on the known-good list" in first
    stats = run("intel", "stats", "--config", str(config))
    assert stats.splitlines() == [
        "c2\tdomain\t1\t0 with expiry",
        "c2\tip\t2\t0 with expiry",
        "other\tdomain\t1\t0 with expiry",
        "other\tip\t2\t0 with expiry",
    ]
    listed = run("intel", "list", "--config", str(config), "--limit", "2")
    assert listed.splitlines() == [
        "domain\tc2.example\tc2\t80\t",
        "domain\tc2.example\tother\t50\t",
    ]


def test_import_of_stix_with_expiry_option(tmp_path: Path) -> None:
    config = settings_file(tmp_path)
    feed = tmp_path / "bundle.json"
    bundle = {
        "type": "bundle",
        "objects": [{"type": "indicator", "pattern": "[domain-name:value = 'c2.example']"}],
    }
    feed.write_text(json.dumps(bundle))
    out = run("intel", "import", str(feed), "--config", str(config), "--expires-days", "7")
    assert "source bundle: 1 imported, 0 duplicates, 0 rejected" in out
    assert "1 with expiry" in run("intel", "stats", "--config", str(config))


def test_import_without_a_database_setting_is_a_usage_error(tmp_path: Path) -> None:
    feed = tmp_path / "f.txt"
    feed.write_text("1.2.3.4\n")
    result = CliRunner().invoke(
        main, ["intel", "import", str(feed), "--config", str(settings_file(tmp_path, "\n"))]
    )
    assert result.exit_code == 2
    assert "set [intel] database" in result.output


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('[intel]\ndatabase = "relative.db"\n', "intel.database"),
        ("[intel]\ndatabse = 1\n", "intel.databse"),
        ("[intel]\nknown_good = 1\n", "intel.known_good"),
        ("[detectors.intel]\nindicators = 1\n", "detectors.intel.indicators"),  # injected only
        ("[detectors.intel]\nmin_confidence = 101\n", "detectors.intel.min_confidence"),
    ],
)
def test_intel_settings_are_checked(tmp_path: Path, body: str, key: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(settings_file(tmp_path, body))
    assert error.value.key == key


def test_replay_with_an_imported_feed_raises_an_intel_alert(tmp_path: Path) -> None:
    config = settings_file(tmp_path)
    feed = tmp_path / "c2.csv"
    feed.write_text(
        "indicator,type,confidence\n198.51.100.77,ip,90\ncloudsvc.example.com,domain,60\n"
    )
    run("intel", "import", str(feed), "--config", str(config))
    store = f"sqlite:///{tmp_path / 'store.db'}"
    run("replay", str(BEACON), "--config", str(config), "--store", store)
    alerts = [json.loads(line) for line in run("alerts", "--json", "--store", store).splitlines()]
    intel = sorted(
        (a["rule"], a["source_ip"], a["destination_ip"] or "-", a["severity"])
        for a in alerts
        if a["detector"] == "intel"
    )
    assert intel == [
        ("intel.domain", "10.25.2.30", "-", "medium"),  # the DNS lookup of the C2 name
        ("intel.domain", "10.25.2.30", "198.51.100.77", "medium"),  # its SNI, an hour later
        ("intel.ip", "10.25.2.30", "198.51.100.77", "high"),
        ("intel.ip", "10.25.2.30", "198.51.100.77", "high"),  # one per hour-long window
    ]


def test_replay_without_a_database_raises_no_intel_alert(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'store.db'}"
    run("replay", str(BEACON), "--store", store)
    alerts = [json.loads(line) for line in run("alerts", "--json", "--store", store).splitlines()]
    assert alerts and not [a for a in alerts if a["detector"] == "intel"]


def test_replay_reports_hits_suppressed_as_known_good(tmp_path: Path) -> None:
    config = settings_file(tmp_path)
    feed = tmp_path / "noisy.txt"
    feed.write_text("8.8.8.0/24\n198.51.100.9\n")
    run("intel", "import", str(feed), "--config", str(config))
    packets = [
        *handshake(1000.0, "10.21.3.4", "8.8.8.8", 50000, 443),
        *handshake(1001.0, "10.21.3.4", "198.51.100.9", 50001, 443),
    ]
    capture = write_pcap(tmp_path / "two.pcap", sorted(packets))
    store = f"sqlite:///{tmp_path / 'store.db'}"
    result = CliRunner().invoke(
        main, ["replay", str(capture), "--config", str(config), "--store", store]
    )
    assert "1 threat-intel hits on known-good destinations suppressed" in result.stderr
    alerts = [json.loads(line) for line in run("alerts", "--json", "--store", store).splitlines()]
    assert [a["destination_ip"] for a in alerts if a["detector"] == "intel"] == ["198.51.100.9"]
