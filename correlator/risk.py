"""Risk scoring: a 0–100 score whose factors are listed so anyone can recompute it."""

from __future__ import annotations

from collections.abc import Sequence

from correlator.organisation import Unit
from detectors.alert import Alert, Fact, Severity

SEVERITY_BASE = {Severity.LOW: 20, Severity.MEDIUM: 40, Severity.HIGH: 60, Severity.CRITICAL: 80}
"""Starting points by the worst alert's severity."""
MLPS_BONUS = {1: 0, 2: 0, 3: 5, 4: 10, 5: 15}
"""Added for the highest 等保 level hit: level 3+ systems carry legal duties."""
SPREAD_BONUS_PER_UNIT = 5
"""Added per extra unit hit, up to SPREAD_BONUS_CAP: a campaign across units is worse."""
SPREAD_BONUS_CAP = 15


def score(alerts: Sequence[Alert], units: Sequence[Unit]) -> tuple[int, dict[str, Fact]]:
    """Return the risk score of an incident and the factors it was computed from."""
    worst = max(alerts, key=lambda a: a.severity.rank).severity
    base = SEVERITY_BASE[worst]
    weight = max((u.criticality.weight for u in units), default=1.0)
    mlps = max((u.mlps_level for u in units), default=0)
    spread = min(SPREAD_BONUS_PER_UNIT * max(len(units) - 1, 0), SPREAD_BONUS_CAP)
    total = round(base * weight) + MLPS_BONUS.get(mlps, 0) + spread
    factors: dict[str, Fact] = {
        "severity": worst.value,
        "severity_base": base,
        "criticality_weight": weight,
        "mlps_level": mlps,
        "mlps_bonus": MLPS_BONUS.get(mlps, 0),
        "units_hit": len(units),
        "spread_bonus": spread,
    }
    return max(0, min(100, total)), factors
