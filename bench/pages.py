"""Dashboard pages' server time (overview, incident list, incident detail) as a browser gets them.

Each page is requested through the real Flask app (routing, session, store queries, Jinja
rendering, security headers) with a signed-in city analyst and a county viewer; the figure is
the wall time of the whole request, p50/p95/max over warm runs. Target: < 300 ms p95.

Two data sets:

- ``--data scenario``: the bundled city scenario (``pcaps/*.pcap``, the city settings of
  ``nssa demo``) replayed into SQLite, as a pilot site has it;
- ``--data month`` (default ``both``): ``bench/overview.py``'s month of 1,000,000 alerts and
  10,000 incidents in SQLite and in a real Elasticsearch node.

Not a test: ``python bench/pages.py [--data scenario|month|both] [--alerts N] [--incidents N]
[--runs N] [--url URL]``. Writes bench/out/pages.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402

from bench import overview as month  # noqa: E402
from bench.esstore import fresh_store  # noqa: E402
from correlator.incident import Incident  # noqa: E402
from correlator.organisation import OrganisationMap, UnitKind  # noqa: E402
from correlator.storage import IncidentQuery, Store  # noqa: E402
from dashboard import create_app  # noqa: E402
from dashboard.users import Role, User, hash_password  # noqa: E402
from nssa.demo import CITY_SETTINGS, scenario_captures  # noqa: E402
from nssa.pipeline import replay  # noqa: E402
from nssa.settings import load_settings  # noqa: E402
from nssa.stores.sqlite import SqliteStore  # noqa: E402

TARGET_MS = 300.0
PAGES = ("overview", "incident_list", "incident_detail", "units", "alerts")


def timed(fetch: Callable[[], int], runs: int, warm: int = 3) -> dict[str, float]:
    """p50, p95 and max wall milliseconds of ``runs`` warm requests (each must answer 200)."""
    for _ in range(warm):
        fetch()
    ms = []
    for _ in range(runs):
        started = time.perf_counter()
        status = fetch()
        ms.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise SystemExit(f"page answered {status}")
    ms.sort()
    return {
        "p50": round(statistics.median(ms), 1),
        "p95": round(ms[max(0, math.ceil(0.95 * len(ms)) - 1)], 1),
        "max": round(ms[-1], 1),
    }


def _client(app: Flask, name: str) -> FlaskClient:
    client = app.test_client()
    with client.session_transaction() as session:
        session["user"] = name
        session["csrf"] = f"bench-{name}"
    return client


def _status(client: FlaskClient, path: str) -> int:
    return client.get(path).status_code


def _seen_by(store: Store, units: frozenset[str] | None) -> Incident:
    """The riskiest incident the viewer may open (its detail page is the heaviest)."""
    queries = (
        [IncidentQuery(limit=1)]
        if units is None
        else [IncidentQuery(unit=unit, limit=1) for unit in sorted(units)]
    )
    found = [incident for query in queries for incident in store.incidents(query)]
    found.sort(key=lambda incident: -incident.risk_score)
    if not found:
        raise SystemExit(f"no incident for units {units}")
    return found[0]


def measure(
    store: Store, org: OrganisationMap, county: frozenset[str], runs: int
) -> dict[str, Any]:
    """Each page's timing for a city analyst and a county viewer."""
    secret = hash_password(uuid.uuid4().hex)
    users = (
        User(name="city-analyst", role=Role.ANALYST, password_hash=secret),
        User(name="county-viewer", role=Role.VIEWER, password_hash=secret, units=tuple(county)),
    )
    app = create_app(
        store,
        config={"users": users, "organisation": org, "SECRET_KEY": uuid.uuid4().hex},
    )
    figures: dict[str, Any] = {}
    for user, units in ((users[0], None), (users[1], county)):
        client = _client(app, user.name)
        incident = _seen_by(store, units)
        paths = {
            "overview": "/overview",
            "incident_list": "/incidents",
            "incident_detail": f"/incidents/{incident.id}",
            "units": "/units",
            "alerts": "/alerts",
        }
        row: dict[str, Any] = {}
        for page in PAGES:
            row[page] = timed(partial(_status, client, paths[page]), runs)
        row["detail_alerts"] = len(incident.alert_ids)
        figures[user.name] = row
    return figures


def run_scenario(work: Path, runs: int) -> dict[str, Any]:
    """The city scenario replayed into SQLite, then its pages timed."""
    settings = load_settings(CITY_SETTINGS)
    org = settings.organisation
    county = frozenset(u.code for u in org.units if u.kind is UnitKind.COUNTY)
    with SqliteStore(work / "scenario.db") as store:
        report = replay(scenario_captures(), settings, store, sensor="bench")
        counts = {"alerts": report.alerts, "incidents": report.incidents}
        chosen = frozenset({min(c for c in county if _has_incident(store, c))})
        return {"data": counts, "figures": measure(store, org, chosen, runs)}


def _has_incident(store: Store, unit: str) -> bool:
    return bool(store.incidents(IncidentQuery(unit=unit, limit=1)))


def run_month(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """bench/overview.py's month of alerts and incidents, in SQLite and Elasticsearch."""
    org = month.organisation()
    county = frozenset(u.code for u in org.units if u.code.startswith("county-3"))
    made = month.incidents(org, args.incidents)
    report: dict[str, Any] = {"alerts": args.alerts, "incidents": args.incidents}
    with SqliteStore(work / "month.db") as sqlite:
        report["sqlite"] = {"load": month.load(sqlite, org, args.alerts, made)}
        report["sqlite"]["figures"] = measure(sqlite, org, county, args.runs)
    with fresh_store(work, args.url) as (es, info):
        report["elasticsearch"] = info | {"load": month.load(es, org, args.alerts, made)}
        report["elasticsearch"]["figures"] = measure(es, org, county, args.runs)
    return report


def _print(label: str, figures: dict[str, Any]) -> None:
    for user, row in figures.items():
        cells = ", ".join(f"{page} {row[page]['p95']}" for page in PAGES)
        worst = max(row[page]["p95"] for page in PAGES)
        verdict = "ok" if worst < TARGET_MS else "OVER"
        print(f"{label:28} {user:14} p95 ms: {cells}  [{verdict}, target < {TARGET_MS:.0f}]")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", choices=["scenario", "month", "both"], default="both")
    parser.add_argument("--alerts", type=int, default=1_000_000)
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--url", default=os.environ.get("ES_URL", ""))
    args = parser.parse_args()
    report: dict[str, Any] = {"runs": args.runs, "target_ms": TARGET_MS}
    with tempfile.TemporaryDirectory(prefix="nssa-bench-pages-") as tmp:
        work = Path(tmp)
        if args.data in ("scenario", "both"):
            report["scenario_sqlite"] = run_scenario(work, args.runs)
            _print("scenario / sqlite", report["scenario_sqlite"]["figures"])
        if args.data in ("month", "both"):
            report["month"] = run_month(work, args)
            for backend in ("sqlite", "elasticsearch"):
                _print(f"{args.alerts:,} alerts / {backend}", report["month"][backend]["figures"])
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "pages.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
