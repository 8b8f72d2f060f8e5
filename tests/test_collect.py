"""``nssa collect`` as a daemon: syslog and a followed file in, SIGTERM drains into the store."""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.test_cli import ROOT

LINE = "<38>Feb 25 14:34:10 belka sshd[1]: Failed password for root from 192.0.2.{n} port 2 ssh2"


def test_collect_receives_follows_and_drains_on_sigterm(tmp_path: Path) -> None:
    followed = tmp_path / "auth.log"
    followed.write_text(LINE.format(n=200)[4:] + "\n")
    store = tmp_path / "x.db"
    daemon = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nssa",
            "collect",
            "--udp",
            "127.0.0.1:0",
            "--file",
            str(followed),
            "--store",
            f"sqlite:///{store}",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    assert daemon.stdout is not None
    announced = []
    for line in daemon.stdout:  # the daemon says where it listens, then "ready"
        if line.strip() == "ready":
            break
        announced.append(line.split())
    host, port = next(a[2] for a in announced if a[1] == "udp").rsplit(":", 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        for n in range(100):
            udp.sendto(LINE.format(n=n).encode(), (host, int(port)))
        udp.sendto(b"\xff\xfe not syslog at all \x00", (host, int(port)))
    daemon.send_signal(signal.SIGTERM)
    out, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, err
    assert "101 messages received, 0 dropped" in out and "1 unparsed" in out
    with sqlite3.connect(store) as db:
        docs = [json.loads(row[0]) for row in db.execute("SELECT doc FROM events")]
    sources = {d["source"]["ip"] for d in docs}
    assert len(docs) == 101 and "192.0.2.200" in sources
    assert {d["log"]["source"]["address"] for d in docs if "source" in d.get("log", {})} == {
        "127.0.0.1"
    }
    assert json.loads((tmp_path / "nssa-offsets.json").read_text())[0]["line"] == 1
