"""The ``nssa`` command end to end, as a user runs it (a real process, a real store)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.captures import handshake, tcp, write_pcap

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
NMAP_SYN = CORPUS / "scan" / "evilfingers_nmap_syn_scan.pcap"


def nssa(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nssa", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=check,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )


def lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def scan_pcap(tmp_path: Path) -> Path:
    """A vertical SYN scan of 30 closed ports plus one normal session."""
    packets = handshake(1000.0, "10.0.0.7", "10.21.3.25", 50000, 443)
    for n in range(30):
        packets.append((1001.0 + n * 0.01, tcp("203.0.113.45", "10.21.3.25", 40000, 1000 + n, "S")))
        packets.append(
            (1001.005 + n * 0.01, tcp("10.21.3.25", "203.0.113.45", 1000 + n, 40000, "RA"))
        )
    return write_pcap(tmp_path / "scan.pcap", sorted(packets))


@pytest.mark.corpus
def test_nmap_syn_scan_replay_stores_the_incident(tmp_path: Path) -> None:
    if not NMAP_SYN.exists():
        pytest.skip("../shared/corpus is absent")
    nssa("replay", str(NMAP_SYN), cwd=tmp_path)
    incidents = lines(nssa("incidents", "--json", cwd=tmp_path).stdout)
    scan = [i for i in incidents if "192.168.1.10" in i["attackers"]]  # type: ignore[operator]
    assert len(scan) == 1 and "192.168.1.25" in scan[0]["victims"]  # type: ignore[operator]
    assert set(scan[0]) >= {
        "id",
        "title",
        "status",
        "risk_score",
        "attackers",
        "victims",
        "units",
        "tactics",
        "first_seen",
        "last_seen",
        "alert_count",
    }
    assert scan[0]["first_seen"] == "2009-01-03T18:58:34.958375Z"


def test_replay_is_idempotent_and_lists_alerts(tmp_path: Path, scan_pcap: Path) -> None:
    store = f"sqlite:///{tmp_path / 'x.db'}"
    first = nssa("replay", str(scan_pcap), "--store", store, cwd=tmp_path).stdout
    again = nssa("replay", str(scan_pcap), "--store", store, cwd=tmp_path).stdout
    assert "31 flows, 2 alerts, 1 incidents" in first
    alerts = lines(nssa("alerts", "--json", "--store", store, cwd=tmp_path).stdout)
    incidents = lines(nssa("incidents", "--json", "--store", store, cwd=tmp_path).stdout)
    assert (
        len(alerts) == 2
        and len(incidents) == 1
        and first.split(" in ")[0] == again.split(" in ")[0]
    )
    assert {a["rule"] for a in alerts} == {"portscan.vertical"}
    assert set(alerts[0]) >= {
        "id",
        "detector",
        "rule",
        "severity",
        "source_ip",
        "destination_ip",
        "time",
        "identifier",
        "explanation",
    }


def test_rebase_time_moves_capture_to_now(tmp_path: Path, scan_pcap: Path) -> None:
    before = time.time()
    nssa("replay", str(scan_pcap), "--rebase-time", cwd=tmp_path)
    (incident,) = lines(nssa("incidents", "--json", cwd=tmp_path).stdout)
    from sensors.ecs import parse_time

    assert before - 1 <= parse_time(str(incident["first_seen"])) <= time.time() + 60


def test_flows_json_and_summary(tmp_path: Path, scan_pcap: Path) -> None:
    rows = lines(nssa("flows", str(scan_pcap), "--json", cwd=tmp_path).stdout)
    assert len(rows) == 31
    session = next(r for r in rows if r["dst_port"] == 443)
    assert session == session | {
        "src_ip": "10.0.0.7",
        "src_port": 50000,
        "dst_ip": "10.21.3.25",
        "transport": "tcp",
        "packets_out": 5,
        "packets_in": 3,
        "outcome": "closed",
        "first_seen": "1970-01-01T00:16:40.000000Z",
    }
    (summary,) = lines(nssa("flows", str(scan_pcap), "--summary", cwd=tmp_path).stdout)
    assert (summary["packets"], summary["flows"]) == (68, 31)
    assert summary["packets_per_second"] > 0  # type: ignore[operator]


def test_misspelt_config_key_fails_at_start_naming_it(tmp_path: Path, scan_pcap: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[detectors.portscan]\nvertical_portz = 5\n", encoding="utf-8")
    for args in (["config", "check", str(bad)], ["replay", str(scan_pcap), "--config", str(bad)]):
        result = nssa(*args, cwd=tmp_path, check=False)
        assert result.returncode == 2
        assert "detectors.portscan.vertical_portz" in result.stderr and str(bad) in result.stderr
    assert not (tmp_path / "nssa.db").exists()


def test_example_config_checks_ok(tmp_path: Path) -> None:
    out = nssa("config", "check", str(ROOT / "examples" / "sanmenxia.toml"), cwd=tmp_path).stdout
    assert "OK" in out


def test_garbage_and_cut_captures_are_reported_not_fatal(tmp_path: Path, scan_pcap: Path) -> None:
    garbage = tmp_path / "garbage.pcap"
    garbage.write_bytes(b"\x00" * 100)
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(scan_pcap.read_bytes()[:-7])
    result = nssa("replay", str(garbage), str(cut), cwd=tmp_path)
    assert "1 incidents" in result.stdout
    assert "unreadable" in result.stderr and "cut off" in result.stderr
    only_garbage = nssa("replay", str(garbage), cwd=tmp_path, check=False)
    assert only_garbage.returncode == 2
