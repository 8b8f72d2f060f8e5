"""``nssa exceptions``, ``correlate`` and ``posture`` from the command line, on SQLite."""

from __future__ import annotations

import json
from pathlib import Path

from correlator.storage import IncidentQuery
from nssa.stores.sqlite import SqliteStore
from tests.test_cli import nssa
from tests.test_correlate import kill_chain


def test_preview_add_list_expire_and_correlate(tmp_path: Path) -> None:
    db = tmp_path / "nssa.db"
    store = f"sqlite:///{db}"
    now_chain = kill_chain()
    with SqliteStore(db) as opened:
        opened.put_alerts(now_chain)
    scope = ["--detector", "portscan", "--store", store]
    shown = nssa("exceptions", "preview", *scope, cwd=tmp_path).stdout
    added = nssa(
        "exceptions", "add", *scope, "--reason", "内部扫描器", "--owner", "王工", cwd=tmp_path
    ).stdout
    listed = [
        json.loads(line)
        for line in nssa(
            "exceptions", "list", "--json", "--store", store, cwd=tmp_path
        ).stdout.splitlines()
    ]
    nssa("exceptions", "expire", listed[0]["id"], "--who", "李工", "--store", store, cwd=tmp_path)
    after = json.loads(nssa("exceptions", "list", "--json", "--store", store, cwd=tmp_path).stdout)
    refused = nssa("exceptions", "add", *scope, "--owner", "王工", cwd=tmp_path, check=False)
    ran = nssa("correlate", "--once", "--store", store, cwd=tmp_path).stdout
    city = json.loads(nssa("posture", "--store", store, cwd=tmp_path).stdout.splitlines()[0])
    with SqliteStore(db) as opened:
        audit = [(r.action.value, r.who) for r in opened.audit_records()]
        (incident,) = opened.incidents(IncidentQuery())
    assert (city["scope"], city["risk"]) == ("city", incident.risk_score)
    assert shown.startswith("would hide 1 of 1 stored alerts (portscan: 1)")
    assert "1 past alerts marked" in added
    assert (listed[0]["state"], after["state"], listed[0]["scope"]) == (
        "active",
        "expired",
        {"detector": "portscan"},
    )
    # Expired later, the exception still covers the alerts it saw while in force.
    assert refused.returncode == 2 and "reason" in refused.stderr
    assert ran.startswith("correlated 5 alerts (1 hidden by exceptions), wrote 1 incidents")
    assert audit == [("expired", "李工"), ("created", "王工")]
