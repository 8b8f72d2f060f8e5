"""Training the anomaly baseline from captures or from the flows already in the store.

The application edge of :mod:`detectors.baselinemodel`: it reads flows (capture files, or a
store's flow history), builds host windows with the site's map from settings, trains, and
reports what the model was built from.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from detectors.baselinemodel import BaselineModel, train
from detectors.hostwindows import host_windows
from nssa.pipeline import build_site, capture_flows
from nssa.settings import Settings
from sensors.capture import CaptureStats
from sensors.events import Flow
from sensors.flows import FlowTable


@runtime_checkable
class FlowHistory(Protocol):
    """A store that can read back the flows it holds (SQLite and Elasticsearch can)."""

    def flows(self, since: float, until: float) -> Iterator[Flow]:
        """Stored flows that started in [since, until), oldest first."""
        ...


@dataclass(frozen=True, kw_only=True)
class TrainingReport:
    """What a baseline was trained from, for the operator."""

    flows: int
    rows: int
    hosts: int
    windows: int
    segments: tuple[tuple[str, int, float], ...]  # (link/unit, rows, threshold)
    model_version: str
    seconds: float


def capture_flows_of(paths: Sequence[Path], settings: Settings, sensor: str) -> Iterator[Flow]:
    """Every flow of the captures, as ``nssa replay`` would record them."""
    for path in paths:
        table = FlowTable(sensor, settings.flows)
        for done in capture_flows(path, table, CaptureStats()):
            yield from done


def train_baseline(
    flows: Iterable[Flow], settings: Settings
) -> tuple[BaselineModel, TrainingReport]:
    """Train a baseline from flows with the ``[anomaly]`` settings; ValueError when too few."""
    started = time.perf_counter()
    counted: list[Flow] = list(flows)
    spec = settings.anomaly.window_spec()
    rows = host_windows(counted, build_site(settings), spec)
    model = train(rows, spec, settings.anomaly.training())
    report = TrainingReport(
        flows=len(counted),
        rows=model.rows,
        hosts=model.hosts,
        windows=model.windows,
        segments=tuple(
            (f"{s.link or '*'}/{s.unit or '*'}", s.rows, round(s.threshold, 4))
            for s in model.segments
        ),
        model_version=model.version,
        seconds=round(time.perf_counter() - started, 3),
    )
    return model, report
