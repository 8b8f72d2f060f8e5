"""Hosts that behave unlike their baseline: streaming scoring of host windows.

Flows are tallied per (link, local host, window) exactly as the training rows were built
(:mod:`detectors.hostwindows`). A window closes once the flows' event time has passed its end
by ``lateness_seconds`` (flows are reported when they end, so a window's flows trickle in
after it); closed windows are scored together by the trained :class:`BaselineModel`, and a row
scoring below its forest's threshold alerts, naming the features furthest from the training
medians. Without a model (none configured) the detector does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from detectors.alert import Alert, Severity
from detectors.attack import Tactic
from detectors.baselinemodel import BaselineModel, design_matrix, score
from detectors.evidence import cite, cited_ids
from detectors.hostwindows import FEATURES, KEYS, PeerHistory, WindowTally, sides
from detectors.ranges import check_ranges
from detectors.site import Site
from detectors.windows import BoundedMap
from sensors.events import Event, Flow

SAMPLE_FLOWS = 10
"""Flow ids an alert lists as evidence."""
HINTS: dict[str, tuple[Tactic, str]] = {
    "distinct_peers": (Tactic.DISCOVERY, "T1046"),
    "distinct_ports": (Tactic.DISCOVERY, "T1046"),
    "failure_ratio": (Tactic.DISCOVERY, "T1046"),
    "new_peer_share": (Tactic.DISCOVERY, "T1046"),
    "initiated": (Tactic.DISCOVERY, "T1046"),
    "bytes_out": (Tactic.EXFILTRATION, "T1048"),
    "received": (Tactic.IMPACT, "T1498"),
    "bytes_in": (Tactic.IMPACT, "T1498"),
    "packets": (Tactic.IMPACT, "T1498"),
}
"""The likeliest ATT&CK reading of an anomaly, by the feature that deviates most (a hint)."""


@dataclass(frozen=True, kw_only=True)
class AnomalyConfig:
    """Settings of the streaming baseline scorer; the model itself comes from ``[anomaly]``."""

    lateness_seconds: float = 360.0
    """How long after a window ends its flows may still arrive (TCP idle timeout + 1 min)."""
    top_features: int = 3
    """How many of the most deviating features an alert names."""
    max_open: int = 200_000
    """Open host windows held; beyond it new hosts are not tallied (and counted)."""
    max_hosts: int = 100_000
    """Hosts whose peer history is kept; the least recently active are forgotten (counted)."""
    max_items: int = 4096
    """Distinct peers or ports one host window remembers."""
    model: BaselineModel | None = field(default=None, metadata={"injected": True})
    site: Site = field(default_factory=Site, metadata={"site": True})

    def __post_init__(self) -> None:
        check_ranges(
            self,
            {
                "lateness_seconds": 0.0 <= self.lateness_seconds <= 86_400.0,
                "top_features": 1 <= self.top_features <= len(FEATURES),
                "max_open": 1 <= self.max_open <= 10_000_000,
                "max_hosts": 1 <= self.max_hosts <= 10_000_000,
                "max_items": 1 <= self.max_items <= 1_000_000,
            },
        )


@dataclass
class _Counters:
    late_flows: int = 0  # flows of windows already scored
    overflow: int = 0  # host windows not opened because max_open was reached


class Anomaly:
    """Scores each local host's windows against the trained baseline."""

    name: ClassVar[str] = "anomaly"
    Config: ClassVar[type[AnomalyConfig]] = AnomalyConfig
    accepts: ClassVar[tuple[type[Event], ...]] = (Flow,)

    def __init__(self, config: AnomalyConfig) -> None:
        self.config = config
        self.counters = _Counters()
        self._watermark = float("-inf")
        self._open: dict[float, dict[tuple[str, str], WindowTally]] = {}
        self._size = 0
        self._history: BoundedMap[tuple[str, str], PeerHistory] = BoundedMap(config.max_hosts)
        self._units: BoundedMap[str, str] = BoundedMap(config.max_hosts)

    def observe(self, event: Event) -> list[Alert]:
        """Tally a flow into its local hosts' windows; score the windows it closes."""
        model = self.config.model
        if model is None or not isinstance(event, Flow):
            return []
        spec = model.spec
        window = spec.window_of(event.start)
        if window + spec.window_seconds + self.config.lateness_seconds <= self._watermark:
            self.counters.late_flows += 1
            return []
        for side in sides(event, self.config.site):
            tally = self._tally(window, (event.sensor, side.host))
            if tally is not None:
                tally.add(side)
                if len(tally.samples) < SAMPLE_FLOWS:
                    tally.samples.append(cite(event))  # an id, or hashed only on alert
        if event.end <= self._watermark:
            return []
        self._watermark = event.end
        return self.flush(self._watermark)

    def flush(self, now: float) -> list[Alert]:
        """Score every window that ended ``lateness_seconds`` before ``now``."""
        model = self.config.model
        if model is None:
            return []
        horizon = now - self.config.lateness_seconds - model.spec.window_seconds
        closing = sorted(w for w in self._open if w <= horizon)
        if not closing:
            return []
        rows: list[tuple[object, ...]] = []
        tallies: list[WindowTally] = []
        for window in closing:  # oldest first: each host's peer history moves forward in time
            for key, tally in self._close(window):
                rows.append(self._row(model, window, key, tally))
                tallies.append(tally)
        return self._alerts(model, rows, tallies)

    def _tally(self, window: float, key: tuple[str, str]) -> WindowTally | None:
        tallies = self._open.setdefault(window, {})
        tally = tallies.get(key)
        if tally is None:
            if self._size >= self.config.max_open:
                self.counters.overflow += 1
                return None
            tally = tallies[key] = WindowTally(start=window, max_items=self.config.max_items)
            self._size += 1
        return tally

    def _close(self, window: float) -> list[tuple[tuple[str, str], WindowTally]]:
        """Remove a window's tallies, sorted by (link, host) so output is deterministic."""
        tallies = self._open.pop(window)
        self._size -= len(tallies)
        return sorted(tallies.items())

    def _row(
        self, model: BaselineModel, window: float, key: tuple[str, str], tally: WindowTally
    ) -> tuple[object, ...]:
        history = self._history.touch(key, lambda: PeerHistory(model.spec))
        link, host = key
        return (link, host, self._unit(host), window, *tally.features(history))

    def _unit(self, host: str) -> str:
        """The host's unit code ("" for none), remembered: the same hosts recur every window."""
        site = self.config.site
        return self._units.touch(host, lambda: site.unit_of(host) or "")

    def _alerts(
        self, model: BaselineModel, rows: list[tuple[object, ...]], tallies: list[WindowTally]
    ) -> list[Alert]:
        frame = pd.DataFrame(rows, columns=[*KEYS, *FEATURES])
        scored = score(model, frame)
        x = design_matrix(frame)
        return [
            self._alert(model, scored.iloc[position], x[position], tallies[position])
            for position in np.flatnonzero(scored["anomalous"].to_numpy())
        ]

    def _alert(
        self, model: BaselineModel, row: pd.Series, x: np.ndarray, tally: WindowTally
    ) -> Alert:
        link, host, unit = str(row["link"]), str(row["host"]), str(row["unit"])
        segment = model.segment(link, unit)
        top = segment.contributions(x)[: self.config.top_features]
        value, threshold = float(row["score"]), float(row["threshold"])
        start = tally.start
        end = start + model.spec.window_seconds
        tactic, technique = HINTS[top[0][0]]
        named = ", ".join(f"{n} {row[n]:g} (z={z:+.1f})" for n, z in top)
        facts: dict[str, int | float | str] = {
            "window_start": start,
            "window_seconds": model.spec.window_seconds,
            "score": round(value, 6),
            "threshold": round(threshold, 6),
            "model_version": model.version,
            "model_segment": f"{segment.link or '*'}/{segment.unit or '*'}",
            "late_flows": self.counters.late_flows,
            "overflow_windows": self.counters.overflow,
            "evicted_hosts": self._history.evictions,
        }
        for rank, (name, z) in enumerate(top, start=1):
            facts[f"top{rank}_feature"] = name
            facts[f"top{rank}_value"] = float(row[name])
            facts[f"top{rank}_z"] = z
        alert = Alert(
            time=end,
            first_seen=start,
            last_seen=end,
            detector=self.name,
            rule="anomaly.host_window",
            severity=Severity.MEDIUM if value < segment.lowest else Severity.LOW,
            sensor=link,
            source_ip=host,
            tactic=tactic,
            technique=technique,
            identifier=f"anomaly.host_window:{link}:{host}",
            explanation=(
                f"{host} on {link} scored {value:.3f} in the {model.spec.window_seconds:g}s "
                f"window from {start:.0f}, below the baseline's threshold {threshold:.3f} "
                f"(model {model.version}); most unusual: {named}"
            ),
            facts=facts,
            evidence=cited_ids(tally.samples),
        )
        return self.config.site.label(alert)
