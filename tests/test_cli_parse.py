"""``nssa parse`` and log files through ``nssa replay``, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_cli import lines, nssa

AUTH = "\n".join(
    [
        "Feb 25 14:34:10 belka sshd[31602]: Failed password for invalid user admin from "
        "203.0.113.9 port 50273 ssh2",
        "this line is not a log line",
        "Feb 25 14:34:12 belka sshd[31603]: Accepted password for ops from 10.0.0.2 port 1 ssh2",
    ]
)


def test_parse_json_prints_one_object_per_event_and_reports_unparsed(tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    log.write_text(AUTH + "\n")
    done = nssa("parse", str(log), "--json", cwd=tmp_path)
    rows = lines(done.stdout)
    assert [
        {k: r[k] for k in ("line", "event_kind", "outcome", "source_ip", "destination_ip", "user")}
        for r in rows
    ] == [
        {
            "line": 1,
            "event_kind": "auth",
            "outcome": "failure",
            "source_ip": "203.0.113.9",
            "destination_ip": None,
            "user": "admin",
        },
        {
            "line": 3,
            "event_kind": "auth",
            "outcome": "success",
            "source_ip": "10.0.0.2",
            "destination_ip": None,
            "user": "ops",
        },
    ]
    assert "1 unparsed lines" in done.stderr and "unparsed lines: 2" in done.stderr


def test_parse_unknown_format_exits_2(tmp_path: Path) -> None:
    log = tmp_path / "notes.txt"
    log.write_text("hello\nworld\n")
    done = nssa("parse", str(log), cwd=tmp_path, check=False)
    assert done.returncode == 2 and "no known log format" in done.stderr


def test_replay_log_files_runs_the_detectors(tmp_path: Path) -> None:
    eve = tmp_path / "eve.json"
    alert = {
        "timestamp": "2019-01-02T03:50:11.315110+0000",
        "event_type": "alert",
        "src_ip": "8.42.77.171",
        "src_port": 49678,
        "dest_ip": "138.68.3.71",
        "dest_port": 22,
        "proto": "TCP",
        "alert": {"signature_id": 2001219, "signature": "ET SCAN SSH", "severity": 2},
    }
    eve.write_text(json.dumps(alert) + "\n")
    auth = tmp_path / "auth.log"
    auth.write_text(AUTH + "\n")
    store = f"sqlite:///{tmp_path / 'x.db'}"
    first = nssa("replay", str(eve), str(auth), "--store", store, cwd=tmp_path)
    again = nssa("replay", str(eve), str(auth), "--store", store, cwd=tmp_path)
    assert first.stdout.split(" in ")[0] == again.stdout.split(" in ")[0]
    assert "1 unparsed lines" in first.stderr
    rows = lines(nssa("alerts", "--json", "--store", store, cwd=tmp_path).stdout)
    assert [(r["detector"], r["source_ip"], r["severity"]) for r in rows] == [
        ("ids", "8.42.77.171", "medium")
    ]
