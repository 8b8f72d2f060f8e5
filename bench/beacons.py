"""Beacon scores on labelled C2 captures: per file, the best-scoring pair and its sub-scores.

Reads ``MANIFEST.tsv`` of a corpus directory (default ``../shared/corpus``) and, for every
``beacon`` row, replays the capture through the beacon detector twice: with the default
configuration (does it alert on the documented infected host?) and with every floor at its
minimum, so that each scorable pair reports its score. The documented host and C2 come from
the manifest's ground truth. Not a test: ``python bench/beacons.py [CORPUS] [--json]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from detectors.alert import Alert  # noqa: E402
from detectors.beacon import Beacon, BeaconConfig  # noqa: E402
from nssa.evaluate import events_of  # noqa: E402
from nssa.settings import Settings  # noqa: E402

HOST = re.compile(r"(?:infected|agent)\s+([\d.]+)")
C2 = re.compile(r"([\d.]+):(\d+)")
SUBSCORES = ("timestamp_score", "data_size_score", "histogram_score", "duration_score")
EVERYTHING = BeaconConfig(min_score=0.01, base_score=0.01, min_timestamp_score=0.0)
"""Floors at their minimum: every pair with enough connections reports its score."""


def alerts_of(path: Path, config: BeaconConfig) -> list[Alert]:
    """The beacon alerts of one capture."""
    detector = Beacon(config)
    found = [a for e in events_of(path, Settings()) for a in detector.observe(e)]
    return found + detector.flush(math.inf)


def row_of(path: Path, truth: str) -> dict[str, object]:
    """The documented pair's best score, sub-scores and evidence, and the default verdict."""
    host, c2 = HOST.search(truth), C2.search(truth)
    wanted = (host.group(1) if host else "", c2.group(1) if c2 else "")
    mine = [a for a in alerts_of(path, EVERYTHING) if (a.source_ip, a.destination_ip) == wanted]
    best = max(mine, key=lambda a: float(a.facts["score"]), default=None)
    alerted = any(a.source_ip == wanted[0] for a in alerts_of(path, BeaconConfig()))
    row: dict[str, object] = {"file": path.name, "pair": "->".join(wanted), "alert": alerted}
    if best is not None:
        row |= {"input": best.facts["input"], "score": best.facts["score"]}
        row |= {name: best.facts.get(name) for name in SUBSCORES}
        span = (best.last_seen or 0.0) - (best.first_seen or 0.0)
        row |= {"connections": best.facts["connections"], "span_seconds": round(span)}
        row |= {"median_interval": best.facts["median_interval_seconds"]}
        row |= {"period": best.facts.get("periodogram_period_seconds")}
        row |= {"power_share": best.facts.get("periodogram_g")}
    return row


def main() -> None:
    """Print one line (or JSON object) per beacon capture of the manifest."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("corpus", nargs="?", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with (args.corpus / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle, delimiter="\t") if r["category"] == "beacon"]
    files = {args.corpus / r["path"]: r["ground_truth"] for r in rows}
    table = [row_of(path, truth) for path, truth in sorted(files.items()) if path.is_file()]
    if args.json:
        print(json.dumps(table, indent=2, ensure_ascii=False))
        return
    for row in table:
        print("  ".join(f"{k}={v}" for k, v in row.items() if v is not None))


if __name__ == "__main__":
    main()
