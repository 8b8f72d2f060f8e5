"""The overview's queries with 1,000,000 alerts and 10,000 incidents, in Elasticsearch and SQLite.

Loads a synthetic but city-shaped month (70 units, thousands of attacker addresses with a few
heavy hitters, twelve detectors) through our stores' own writers, then times, warm, each
overview query and the whole overview for the city viewer and a county viewer: the new path
(the store aggregates) beside the old one (read the 2,000 highest-risk incidents, count in
Python). Target: < 300 ms p95. Writes bench/out/overview.json.

Not a test: ``python bench/overview.py [--alerts N] [--incidents N] [--runs N] [--url URL]``;
without --url or $ES_URL it starts its own node from tools/es-node and stops it at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

from bench.esstore import fresh_store  # noqa: E402
from correlator.aggregation import AlertAggregation, IncidentAggregation  # noqa: E402
from correlator.incident import Incident, IncidentStatus, Stage  # noqa: E402
from correlator.organisation import OrganisationMap, Unit, UnitKind  # noqa: E402
from correlator.storage import IncidentQuery, Store  # noqa: E402
from dashboard.queries import Viewer, posture_overview  # noqa: E402
from dashboard.summary import Overview, overview, overview_request  # noqa: E402
from detectors.alert import Alert, Severity  # noqa: E402
from detectors.attack import Tactic  # noqa: E402
from nssa.stores.sqlite import SqliteStore  # noqa: E402

DAY = 86_400.0
START = 1_717_200_000.0  # 2024-06-01 UTC
DAYS = 30
OLD_LIMIT = 2000  # what the old overview read: its highest-risk incidents
ALERT_BATCH = 20_000
DETECTORS = {
    "portscan": ("vertical_scan", "horizontal_scan", "block_scan"),
    "ssh_bruteforce": ("ssh_guess", "ssh_spray"),
    "rdp_bruteforce": ("rdp_guess",),
    "dns_tunnel": ("long_labels", "high_entropy"),
    "dga": ("nxdomain_burst",),
    "beacon": ("periodic",),
    "webattack": ("sqli", "xss", "path_traversal", "rce"),
    "flood": ("syn_flood", "udp_flood"),
    "amplification": ("dns_amp", "ntp_amp"),
    "probescan": ("trw",),
    "ids": ("suricata",),
    "anomaly": ("isolation_forest",),
}


def organisation() -> OrganisationMap:
    """A city, its cloud zone, 8 bureaus and 10 counties of 5 departments each (70 units)."""
    units = [
        Unit(code="city", name="市", kind=UnitKind.CITY),
        Unit(
            code="cloud",
            name="政务云",
            kind=UnitKind.ZONE,
            parent="city",
            subnets=("10.10.0.0/16",),
        ),
    ]
    units += [
        Unit(
            code=f"bureau-{b}",
            name=f"局{b}",
            kind=UnitKind.DEPARTMENT,
            parent="city",
            subnets=(f"10.11.{b}.0/24",),
        )
        for b in range(8)
    ]
    for c in range(10):
        units.append(Unit(code=f"county-{c}", name=f"县{c}", kind=UnitKind.COUNTY, parent="city"))
        units += [
            Unit(
                code=f"county-{c}-{d}",
                name=f"县{c}部门{d}",
                kind=UnitKind.DEPARTMENT,
                parent=f"county-{c}",
                subnets=(f"10.{20 + c}.{d}.0/24",),
            )
            for d in range(5)
        ]
    return OrganisationMap(units=tuple(units))


def _subnet_hosts(org: OrganisationMap) -> list[tuple[str, str]]:
    """(unit code, a host prefix) for every unit that owns addresses."""
    return [(u.code, s.split("/")[0].rsplit(".", 1)[0]) for u in org.units for s in u.subnets]


def _attacker(rng: random.Random) -> str:
    """Mostly outside addresses with heavy hitters; some internal hosts and accounts."""
    roll = rng.random()
    if roll < 0.08:
        return f"10.{20 + rng.randrange(10)}.{rng.randrange(5)}.{rng.randrange(1, 255)}"
    if roll < 0.12:
        return f"user{rng.randrange(400)}"
    n = min(int(rng.paretovariate(1.2)), 4000)  # a few addresses account for many incidents
    return f"{(n * 7919) % 200 + 23}.{(n * 31) % 256}.{n % 256}.{(n * 13) % 250 + 1}"


def incidents(org: OrganisationMap, count: int, seed: int = 1) -> list[Incident]:
    """``count`` incidents over ``DAYS`` days, attributed to the units their victims are in."""
    rng = random.Random(seed)
    hosts = _subnet_hosts(org)
    statuses = list(IncidentStatus)
    made = []
    for n in range(count):
        first = START + rng.uniform(0, DAYS * DAY)
        duration = min(rng.expovariate(1 / 7200), 3 * DAY)
        targets = [rng.choice(hosts) for _ in range(1 if rng.random() < 0.9 else 2)]
        victims = tuple(f"{prefix}.{rng.randrange(1, 255)}" for _, prefix in targets)
        detectors = tuple(sorted(set(rng.sample(sorted(DETECTORS), rng.randrange(1, 3)))))
        alerts = tuple(f"a-{seed}-{n}-{k}" for k in range(rng.randrange(1, 25)))
        made.append(
            Incident(
                id=f"inc-{seed}-{n:06d}",
                title=f"来自 {n} 的攻击",
                kind=detectors[0],
                status=rng.choices(statuses, weights=(40, 15, 10, 25, 10))[0],
                severity=rng.choices(list(Severity), weights=(30, 40, 22, 8))[0],
                risk_score=rng.randrange(0, 101),
                attackers=(_attacker(rng),),
                victims=victims,
                units=tuple(dict.fromkeys(code for code, _ in targets)),
                tactics=(Tactic.RECONNAISSANCE,),
                techniques=("T1046",),
                detectors=detectors,
                first_seen=first,
                last_seen=first + duration,
                alert_ids=alerts,
                alert_count=len(alerts),
                stage=rng.choice([None, None, None, *Stage]),
            )
        )
    return made


def alert_batches(org: OrganisationMap, count: int, seed: int = 2) -> Iterator[list[Alert]]:
    """``count`` alerts over ``DAYS`` days in batches (a million do not fit in memory twice)."""
    rng = random.Random(seed)
    hosts = _subnet_hosts(org)
    names = sorted(DETECTORS)
    weights = [30, 12, 4, 5, 3, 2, 10, 3, 2, 6, 20, 3]
    for start in range(0, count, ALERT_BATCH):
        batch = []
        for n in range(start, min(start + ALERT_BATCH, count)):
            detector = rng.choices(names, weights=weights)[0]
            source = _attacker(rng)
            source_ip = source if not source.startswith("user") else None
            target = f"{rng.choice(hosts)[1]}.{rng.randrange(1, 255)}"
            when = START + rng.uniform(0, DAYS * DAY)
            batch.append(
                Alert(
                    time=when,
                    first_seen=when - 60,
                    last_seen=when,
                    detector=detector,
                    rule=rng.choice(DETECTORS[detector]),
                    severity=rng.choice(list(Severity)),
                    sensor="cloud-core",
                    source_ip=source_ip,
                    destination_ip=target,
                    tactic=Tactic.RECONNAISSANCE,
                    technique="T1046",
                    identifier=f"{detector}:{source}:{target}:{n}",
                    explanation=f"{source} → {target}",
                    facts={"count": n % 97},
                )
            )
        yield batch


def old_overview(store: Store, viewer: Viewer, org: OrganisationMap) -> Overview:
    """The overview as the dashboard computed it before the store aggregated (the baseline)."""
    if viewer.units is None:
        rows = store.incidents(IncidentQuery(limit=OLD_LIMIT))
    else:
        merged: dict[str, Incident] = {}
        for code in sorted(viewer.units):
            for incident in store.incidents(IncidentQuery(unit=code, limit=OLD_LIMIT)):
                merged[incident.id] = incident
        ranked = sorted(merged.values(), key=lambda i: (-i.risk_score, -i.last_seen, i.id))
        rows = ranked[:OLD_LIMIT]
    until = max((i.last_seen for i in rows), default=0.0) + 1
    return overview(rows, org, units=viewer.units, until=until)


def timed(action: Callable[[], object], runs: int, warm: int = 3) -> dict[str, float]:
    """p50, p95 and max of ``runs`` warm calls, in milliseconds."""
    for _ in range(warm):
        action()
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - started)
    ms = sorted(s * 1000 for s in seconds)
    return {
        "p50": round(statistics.median(ms), 1),
        "p95": round(ms[max(0, math.ceil(0.95 * len(ms)) - 1)], 1),
        "max": round(ms[-1], 1),
    }


def load(store: Store, org: OrganisationMap, alerts: int, made: list[Incident]) -> dict[str, float]:
    """Write the month through the store's own writers; seconds for alerts and incidents."""
    started = time.perf_counter()
    for n, batch in enumerate(alert_batches(org, alerts), start=1):
        store.put_alerts(batch)
        if n % 10 == 0:  # a million alerts take minutes: show that it moves
            print(f"{n * ALERT_BATCH:,} alerts loaded", file=sys.stderr, flush=True)
    middle = time.perf_counter()
    for n in range(0, len(made), 2000):
        store.put_incidents(made[n : n + 2000])
    done = time.perf_counter()
    return {"alerts_s": round(middle - started, 1), "incidents_s": round(done - middle, 1)}


def measure(store: Store, org: OrganisationMap, runs: int) -> dict[str, Any]:
    """Every query for the city viewer and a county viewer."""
    county = frozenset(u.code for u in org.units if u.code.startswith("county-3"))
    viewers = {"city": Viewer("bench", None), "county": Viewer("bench", county)}
    end = START + DAYS * DAY
    figures: dict[str, Any] = {}
    for name, viewer in viewers.items():
        request = overview_request(org, viewer.units, sources=50)
        facets = IncidentAggregation(units=viewer.units)
        queries: dict[str, Callable[[], object]] = {
            "overview_new": partial(posture_overview, store, viewer, org),
            "units_page_new": partial(posture_overview, store, viewer, org, worst=True),
            "incident_stats_overview": partial(store.incident_stats, request),
            "incident_facets_only": partial(store.incident_stats, facets),
            "overview_old": partial(old_overview, store, viewer, org),
        }
        if viewer.units is None:  # alerts carry no unit: only the city sees their figures
            day = AlertAggregation(since=end - DAY, until=end, bucket=3600)
            month = AlertAggregation(since=START, until=end, bucket=int(DAY))
            queries["alerts_24h_hourly"] = partial(store.alert_stats, day)
            queries["alerts_30d_daily"] = partial(store.alert_stats, month)
        figures[name] = {label: timed(query, runs) for label, query in queries.items()}
        new, old = posture_overview(store, viewer, org), old_overview(store, viewer, org)
        figures[name]["examined"] = {"new": new.examined, "old": old.examined}
        figures[name]["open_incidents"] = {"new": new.open_incidents, "old": old.open_incidents}
    return figures


def run_sqlite(work: Path, org: OrganisationMap, args: argparse.Namespace) -> dict[str, Any]:
    """Load and time the SQLite store in ``work``."""
    with SqliteStore(work / "nssa.db") as sqlite:
        report = {"load": load(sqlite, org, args.alerts, incidents(org, args.incidents))}
        return report | {"figures": measure(sqlite, org, args.runs), "digest": digest(sqlite, org)}


def run_elasticsearch(work: Path, org: OrganisationMap, args: argparse.Namespace) -> dict[str, Any]:
    """Load and time Elasticsearch (``--url``, or a node of our own), then drop what we wrote."""
    with fresh_store(work, args.url) as (es, report):
        report["load"] = load(es, org, args.alerts, incidents(org, args.incidents))
        report["figures"] = measure(es, org, args.runs)
        report["digest"] = digest(es, org)
    return report


def digest(store: Store, org: OrganisationMap) -> str:
    """A fingerprint of the city's overview: equal in both stores when they agree."""
    shown = repr(posture_overview(store, Viewer("bench", None), org, worst=True))
    return hashlib.sha256(shown.encode()).hexdigest()[:16]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alerts", type=int, default=1_000_000)
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--store", choices=["both", *STORES], default="both")
    parser.add_argument("--url", default=os.environ.get("ES_URL", ""))
    args = parser.parse_args()
    org = organisation()
    report: dict[str, Any] = {"alerts": args.alerts, "incidents": args.incidents, "runs": args.runs}
    chosen = list(STORES) if args.store == "both" else [args.store]
    with tempfile.TemporaryDirectory(prefix="nssa-bench-overview-") as work:
        for name in chosen:
            report[name] = STORES[name](Path(work), org, args)
    name = "overview.json" if args.store == "both" else f"overview-{args.store}.json"
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / name).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    for backend in chosen:
        for viewer in ("city", "county"):
            row = report[backend]["figures"][viewer]
            print(
                f"{backend:13} {viewer:6} overview p95: new {row['overview_new']['p95']} ms,"
                f" old {row['overview_old']['p95']} ms (target < 300 ms)"
            )
    return 0


STORES: dict[str, Callable[[Path, OrganisationMap, argparse.Namespace], dict[str, Any]]] = {
    "sqlite": run_sqlite,
    "elasticsearch": run_elasticsearch,
}


if __name__ == "__main__":
    sys.exit(main())
