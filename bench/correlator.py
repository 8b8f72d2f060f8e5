"""Correlator figures: alerts/s in memory, and alert-to-incident compression with purity.

- Throughput: ``correlate`` over synthetic alerts of every family (scans with repeats, password
  guessing per account, beacons, kill chains), normalisation and alert ids included.
- Compression (1 - incidents/alerts, target >= 0.90) and purity (share of incidents whose
  alerts share one root cause) on the scenario captures (``pcaps/*.pcap``, each replayed
  through the detectors; root cause = capture) and on the shared corpus (captures and log
  files under ../shared/corpus; root cause = file, its labelled scenario). All alerts of a set
  are correlated together, as the daemon would see them. ``entity_floor_*`` is the best that
  grouping by entity (attacker; source and account; victim host) can reach: one incident per
  entity, quiet gaps ignored. ``pure_ceiling_*`` is the best any pure correlation can reach:
  one incident per root cause (file). ``campaign_incidents`` counts campaign incidents (one rule
  against one victim from many sources) and ``campaigns_spanning_files`` those that are impure.

Not a test: ``python bench/correlator.py [--alerts N] [--no-corpus]``; writes
bench/out/correlator.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
CORPUS = ROOT.parent / "shared" / "corpus"
sys.path.insert(0, str(ROOT))

from correlator.campaign import PREFIX as CAMPAIGN_PREFIX  # noqa: E402
from correlator.correlate import correlate, correlate_normal  # noqa: E402
from correlator.incident import Incident  # noqa: E402
from correlator.normalise import normalise  # noqa: E402
from detectors.alert import Alert, Severity  # noqa: E402
from detectors.attack import Tactic  # noqa: E402
from nssa.pipeline import (  # noqa: E402
    build_detectors,
    capture_events,
    detect,
    finish,
    is_capture,
    log_batches,
)
from nssa.settings import load_settings  # noqa: E402
from sensors.capture import CaptureFormatError, CaptureStats  # noqa: E402
from sensors.flows import FlowTable  # noqa: E402
from sensors.logs.reader import LogFormatError, LogStats  # noqa: E402
from sensors.metadata import MetadataExtractor  # noqa: E402

SETTINGS = load_settings(ROOT / "examples" / "sanmenxia.toml")
T0 = 1_793_577_600.0  # 2026-11-02 00:00 UTC

KINDS = [
    ("portscan", "portscan.vertical", Tactic.RECONNAISSANCE, "T1595"),
    ("bruteforce", "bruteforce.auth", Tactic.CREDENTIAL_ACCESS, "T1110"),
    ("bruteforce", "bruteforce.compromise", Tactic.INITIAL_ACCESS, "T1078"),
    ("beacon", "beacon.periodic", Tactic.COMMAND_AND_CONTROL, "T1071"),
    ("ids", "ids.suricata", Tactic.INITIAL_ACCESS, "T1190"),
]


def synthetic(count: int, seed: int = 7) -> list[Alert]:
    """``count`` alerts from 2,000 attackers on 5,000 hosts over a day, repeats included."""
    rng = random.Random(seed)
    alerts = []
    for n in range(count):
        detector, rule, tactic, technique = KINDS[rng.randrange(len(KINDS))]
        attacker = f"203.0.{rng.randrange(8)}.{rng.randrange(250)}"
        host = f"10.{rng.randrange(10, 29)}.{rng.randrange(16)}.{rng.randrange(1, 30)}"
        src, dst = (host, attacker) if tactic is Tactic.COMMAND_AND_CONTROL else (attacker, host)
        t = T0 + rng.random() * 86_400
        alerts.append(
            Alert(
                time=t,
                first_seen=t - 30,
                last_seen=t,
                detector=detector,
                rule=rule,
                severity=Severity.MEDIUM,
                source_ip=src,
                destination_ip=dst,
                tactic=tactic,
                technique=technique,
                identifier=f"{rule}:{src}:{dst}",
                explanation=f"bench alert {n}",
                facts={"user": rng.choice(["root", "admin", "oracle"])},
            )
        )
    return alerts


def throughput(count: int) -> dict[str, Any]:
    """Best of three runs: correlation of normalised alerts (what the daemon does per step),
    and the whole of correlate() including normalisation and each alert's content-hash id."""
    org, config = SETTINGS.organisation, SETTINGS.correlator
    alerts = synthetic(count)
    started = time.perf_counter()
    normal = [normalise(a, org) for a in alerts]
    normalise_seconds = time.perf_counter() - started
    core, core_cpu, whole = [], [], []
    for _ in range(3):
        started, started_cpu = time.perf_counter(), time.process_time()
        incidents = correlate_normal(normal, org, config)
        core.append(time.perf_counter() - started)
        # CPU time as well: on a shared machine the wall clock mostly measures the neighbours.
        core_cpu.append(time.process_time() - started_cpu)
        fresh = synthetic(count)  # new objects: no id computed yet
        started = time.perf_counter()
        correlate(fresh, org, config)
        whole.append(time.perf_counter() - started)
    return {
        "alerts": count,
        "incidents": len(incidents),
        "core_seconds": round(min(core), 3),
        "core_alerts_per_second": round(count / min(core)),
        "core_cpu_alerts_per_second": round(count / min(core_cpu)),
        "end_to_end_seconds": round(min(whole), 3),
        "end_to_end_alerts_per_second": round(count / min(whole)),
        "normalise_once_seconds": round(normalise_seconds, 3),
        "target": 50_000,
    }


def alerts_of(path: Path) -> list[Alert]:
    """One file through fresh detectors: a capture's flows and metadata, or a log's events."""
    detectors = build_detectors(SETTINGS)
    alerts: list[Alert] = []
    try:
        if is_capture(path):
            table, metadata = FlowTable("bench", SETTINGS.flows), MetadataExtractor("bench")
            for events in capture_events(path, table, metadata, CaptureStats()):
                alerts.extend(detect(detectors, events))
        else:
            for events in log_batches(path, "bench", LogStats()):
                alerts.extend(detect(detectors, events))
    except (CaptureFormatError, LogFormatError, OSError, UnicodeDecodeError):
        return []
    return alerts + finish(detectors)


def compression(name: str, paths: list[Path]) -> dict[str, Any]:
    """Alerts of every file correlated together; compression and purity by file."""
    started = time.perf_counter()
    cause: dict[str, str] = {}
    alerts: list[Alert] = []
    for path in paths:
        found = alerts_of(path)
        for alert in found:
            cause.setdefault(alert.id, str(path.relative_to(path.parents[1])))
        alerts.extend(found)
    incidents = correlate(alerts, SETTINGS.organisation, SETTINGS.correlator)
    distinct = len({a.id for a in alerts})
    # The fewest incidents grouping by entity can give (one per attacker, source and account,
    # or victim host, ignoring quiet gaps): compression above it needs distinct entities merged.
    floor = len({normalise(a, SETTINGS.organisation).entity for a in alerts})
    impure = [i for i in incidents if len(_causes(i, cause)) > 1]
    causes = len(set(cause.values()))
    campaigns = [i for i in incidents if i.entity.startswith(CAMPAIGN_PREFIX)]
    return {
        "set": name,
        "files": len(paths),
        "files_with_alerts": len(set(cause.values())),
        "alerts": distinct,
        "incidents": len(incidents),
        "compression": round(1 - len(incidents) / distinct, 4) if distinct else None,
        "purity": round(1 - len(impure) / len(incidents), 4) if incidents else None,
        "entity_floor_incidents": floor,
        "entity_floor_compression": round(1 - floor / distinct, 4) if distinct else None,
        "pure_ceiling_compression": round(1 - causes / distinct, 4) if distinct else None,
        "campaign_incidents": len(campaigns),
        "campaigns_spanning_files": sum(1 for i in campaigns if len(_causes(i, cause)) > 1),
        "impure_examples": [sorted(_causes(i, cause)) for i in impure[:3]],
        "alerts_by_detector": dict(Counter(a.detector for a in alerts).most_common()),
        "seconds": round(time.perf_counter() - started, 1),
        "target": 0.90,
    }


def _causes(incident: Incident, cause: dict[str, str]) -> set[str]:
    return {cause[a] for a in incident.alert_ids if a in cause}


def corpus_files() -> list[Path]:
    """Every capture and log file of the shared corpus (not its ground-truth folder)."""
    skip = {"groundtruth"}
    return sorted(
        p
        for p in CORPUS.rglob("*")
        if p.is_file()
        and p.relative_to(CORPUS).parts[0] not in skip
        and p.suffix not in {".md", ".tsv", ".txt"}
    )


def main() -> None:
    """Run the measurements, print them and write bench/out/correlator.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--no-corpus", action="store_true")
    args = parser.parse_args()
    figures: dict[str, Any] = {"throughput": throughput(args.alerts)}
    print(json.dumps(figures["throughput"]))
    sets = [("scenario", sorted((ROOT / "pcaps").glob("*.pcap")))]
    if not args.no_corpus and CORPUS.is_dir():
        sets.append(("corpus", corpus_files()))
    figures["compression"] = []
    for name, paths in sets:
        row = compression(name, paths)
        figures["compression"].append(row)
        print(json.dumps(row, ensure_ascii=False))
    OUT.mkdir(exist_ok=True)
    (OUT / "correlator.json").write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
