"""Anomaly scoring throughput: batched rows/s versus the same forests scored row by row.

Trains the baseline on the scenario's normal day (``pcaps/background.pcap`` with
``examples/sanmenxia.toml``), then scores N host-window rows made by resampling the training
rows with seeded noise: once in one batch (as the detector does when windows close), once row
by row through the same IsolationForest (the naive baseline). Last, the streaming detector's
flows/s over the day's flows, on one link and copied onto many.
Not a test: ``python bench/anomaly.py [--rows N] [--naive-rows N] [--json]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from detectors.anomaly import Anomaly, AnomalyConfig  # noqa: E402
from detectors.baselinemodel import BaselineModel, design_matrix, score  # noqa: E402
from detectors.hostwindows import FEATURES, HEAVY_TAILED, host_windows  # noqa: E402
from detectors.site import Site  # noqa: E402
from nssa.pipeline import build_site  # noqa: E402
from nssa.settings import load_settings  # noqa: E402
from nssa.training import capture_flows_of, train_baseline  # noqa: E402
from sensors.events import Flow  # noqa: E402


def resampled(rows: pd.DataFrame, n: int, seed: int = 1) -> pd.DataFrame:
    """``n`` rows drawn from ``rows`` with counts scaled by seeded log-normal noise."""
    rng = np.random.default_rng(seed)
    out = rows.iloc[rng.integers(0, len(rows), n)].reset_index(drop=True).copy()
    for name in HEAVY_TAILED:
        out[name] = np.round(out[name] * rng.lognormal(0.0, 0.3, n))
    return out


def batched(model: BaselineModel, rows: pd.DataFrame) -> float:
    started = time.perf_counter()
    score(model, rows)
    return len(rows) / (time.perf_counter() - started)


def row_by_row(model: BaselineModel, rows: pd.DataFrame) -> float:
    started = time.perf_counter()
    x = design_matrix(rows)
    for i, (link, unit) in enumerate(zip(rows["link"], rows["unit"], strict=True)):
        model.segment(link, unit).forest.score_samples(x[i : i + 1])  # scikit-learn's own
    return len(rows) / (time.perf_counter() - started)


def streaming(model: BaselineModel, flows: list[Flow], links: int, site: Site) -> float:
    """Flows/s of the detector over the day's flows seen on ``links`` links at once.

    Each window close costs one forest call per segment whatever the rows, so the sparse
    scenario day alone (6 flows per window) measures call overhead; more links make it dense.
    """
    detector = Anomaly(AnomalyConfig(model=model, site=site))
    copies = [
        dataclasses.replace(f, sensor=f"link{n}")
        for f in sorted(flows, key=lambda f: f.end)
        for n in range(links)
    ]
    started = time.perf_counter()
    for flow in copies:
        detector.observe(flow)
    detector.flush(float("inf"))
    return len(copies) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--naive-rows", type=int, default=1000)
    parser.add_argument("--links", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    settings = load_settings(ROOT / "examples" / "sanmenxia.toml")
    flows = list(capture_flows_of([ROOT / "pcaps" / "background.pcap"], settings, "replay"))
    model, report = train_baseline(flows, settings)
    rows = host_windows(flows, build_site(settings), settings.anomaly.window_spec())
    many = resampled(rows, args.rows)
    figures = {
        "training_rows": report.rows,
        "forests": len(report.segments),
        "features": len(FEATURES),
        "batched_rows_per_s": round(batched(model, many)),
        "row_by_row_rows_per_s": round(row_by_row(model, many.head(args.naive_rows))),
        "streaming_sparse_flows_per_s": round(streaming(model, flows, 1, build_site(settings))),
        "streaming_dense_flows_per_s": round(
            streaming(model, flows, args.links, build_site(settings))
        ),
        "streaming_dense_flows": len(flows) * args.links,
    }
    print(json.dumps(figures) if args.json else "\n".join(f"{k}: {v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
