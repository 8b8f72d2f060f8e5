"""Anomaly baseline on the shared corpus: false alerts on held-out benign captures, detections.

Trains on two thirds of ``../shared/corpus/benign`` (files ordered by their sha256, so the
split is fixed and blind to content), then streams each held-out benign capture and each scan,
dos and bruteforce capture through the detector with a fresh state. No organisation map:
private addresses are the local side. For attack captures the first address in MANIFEST's
ground truth is taken as the attacker; an alert "hits" when its host is that address.
Not a test: ``python bench/anomaly_corpus.py [--share 0.005] [--json]``.
"""

from __future__ import annotations

import argparse
import csv
import ipaddress
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from detectors.anomaly import Anomaly, AnomalyConfig  # noqa: E402
from detectors.baselinemodel import BaselineModel, train  # noqa: E402
from detectors.hostwindows import host_windows  # noqa: E402
from detectors.site import Site  # noqa: E402
from nssa.settings import AnomalySettings, Settings  # noqa: E402
from nssa.training import capture_flows_of  # noqa: E402
from sensors.capture import CaptureFormatError  # noqa: E402
from sensors.events import Flow  # noqa: E402

ATTACKS = ("scan", "dos", "bruteforce")
_IP = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b|\b[0-9a-f]{1,4}(?::[0-9a-f]{0,4}){2,7}\b")


def manifest() -> list[dict[str, str]]:
    with (CORPUS / "MANIFEST.tsv").open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def flows_of(path: Path) -> list[Flow] | None:
    try:
        return list(capture_flows_of([path], Settings(), "replay"))
    except CaptureFormatError:
        return None


def attacker(truth: str) -> str | None:
    for found in _IP.findall(truth):
        try:
            return str(ipaddress.ip_address(found))
        except ValueError:
            continue
    return None


def stream(model: BaselineModel, flows: list[Flow]) -> list[tuple[str, str]]:
    detector = Anomaly(AnomalyConfig(model=model, site=Site()))
    alerts = [a for f in sorted(flows, key=lambda f: f.end) for a in detector.observe(f)]
    alerts += detector.flush(float("inf"))
    return [(a.source_ip or "", str(a.facts["top1_feature"])) for a in alerts]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--share", type=float, default=0.005, help="false_alarm_share")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    entries = manifest()
    benign = sorted((e for e in entries if e["category"] == "benign"), key=lambda e: e["sha256"])
    cut = len(benign) * 2 // 3
    settings = AnomalySettings(false_alarm_share=args.share, min_rows=8)
    spec = settings.window_spec()
    frames = []
    for entry in benign[:cut]:
        flows = flows_of(CORPUS / entry["path"])
        if flows:  # each capture alone: hosts of different captures share no history
            frames.append(host_windows(flows, Site(), spec))
    rows = pd.concat(frames, ignore_index=True)
    model = train(rows, spec, settings.training())
    report: dict[str, object] = {
        "train_files": cut,
        "train_rows": model.rows,
        "train_hosts": model.hosts,
        "thresholds": [round(s.threshold, 4) for s in model.segments],
        "share": args.share,
    }
    results = []
    for entry in benign[cut:] + [e for e in entries if e["category"] in ATTACKS]:
        flows = flows_of(CORPUS / entry["path"])
        if flows is None:
            continue
        alerts = stream(model, flows)
        who = attacker(entry["ground_truth"]) if entry["category"] != "benign" else None
        hosts = {host for host, _ in alerts}
        results.append(
            {
                "path": entry["path"],
                "category": entry["category"],
                "flows": len(flows),
                "rows": len(host_windows(flows, Site(), spec)),  # host windows scored
                "alerts": len(alerts),
                "hit": who in hosts if who else False,
                "other_hosts": len(hosts - {who}),
                "top": sorted({top for _, top in alerts}),
            }
        )
    report["files"] = results
    report["summary"] = _summary(results)
    if args.json:
        print(json.dumps(report, indent=1))
        return
    for name, value in report.items():
        if name != "files":
            print(f"{name}: {value}")
    for r in results:
        print(
            f"  {r['category']:10} alerts {r['alerts']:3} hit {int(bool(r['hit']))} "
            f"other {r['other_hosts']:2} {r['path']} {r['top']}"
        )


def _summary(results: list[dict[str, object]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for r in results:
        row = out.setdefault(
            str(r["category"]),
            dict.fromkeys(("files", "rows", "alerting", "hit", "alerts", "other_hosts"), 0),
        )
        row["files"] += 1
        row["rows"] += int(r["rows"])  # type: ignore[call-overload]
        row["alerting"] += int(r["alerts"] > 0)  # type: ignore[operator]
        row["hit"] += int(bool(r["hit"]))
        row["alerts"] += int(r["alerts"])  # type: ignore[call-overload]
        row["other_hosts"] += int(r["other_hosts"])  # type: ignore[call-overload]
    return out


if __name__ == "__main__":
    main()
