"""Risk scoring: a 0–100 score whose factors are listed so anyone can recompute it.

score = clamp(round(severity_base × criticality_weight) + mlps_bonus + intel_bonus
              + compromise_bonus + spread_bonus, 0, 100)

:func:`recompute` applies that formula to the listed factors alone; a test holds the two
together, so the factors shown to analysts are always the whole explanation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import repeat
from operator import attrgetter, contains

from correlator.organisation import Unit
from detectors.alert import Alert, Fact, Severity

SEVERITY_BASE = {Severity.LOW: 20, Severity.MEDIUM: 40, Severity.HIGH: 60, Severity.CRITICAL: 80}
"""Starting points by the incident's severity (its worst alert, or an escalation rule's)."""
MLPS_BONUS = {1: 0, 2: 0, 3: 5, 4: 10, 5: 15}
"""Added for the highest 等保 level hit: level 3+ systems carry legal duties."""
INTEL_BONUS = 10
"""Added when an alert matched threat intelligence: a known-bad actor, not a guess."""
COMPROMISE_BONUS = 15
"""Added when a kill-chain rule confirmed a likely compromise (guessing then login, ...)."""
SPREAD_BONUS_PER_UNIT = 5
"""Added per extra unit hit, up to SPREAD_BONUS_CAP: a campaign across units is worse."""
SPREAD_BONUS_CAP = 15
INTEL_DETECTORS = frozenset({"intel", "threatintel"})
"""Detectors whose alerts are threat-intel hits; any alert with an ``intel`` fact counts too."""
_BONUSES = ("mlps_bonus", "intel_bonus", "compromise_bonus", "spread_bonus")
_DETECTOR = attrgetter("detector")
_FACTS = attrgetter("facts")


def score(
    alerts: Sequence[Alert],
    units: Sequence[Unit],
    severity: Severity | None = None,
    *,
    compromise: bool = False,
) -> tuple[int, dict[str, Fact]]:
    """Return the risk score of an incident and the factors it was computed from."""
    worst = severity or max(alerts, key=lambda a: SEVERITY_BASE[a.severity]).severity
    # C-level map()s over the alerts, not generators: this runs once per incident.
    mlps = max([u.mlps_level for u in units], default=0)
    intel = not INTEL_DETECTORS.isdisjoint(map(_DETECTOR, alerts)) or any(
        map(contains, map(_FACTS, alerts), repeat("intel"))
    )
    factors: dict[str, Fact] = {
        "severity": worst.value,
        "severity_base": SEVERITY_BASE[worst],
        "criticality_weight": max([u.criticality.weight for u in units], default=1.0),
        "mlps_level": mlps,
        "mlps_bonus": MLPS_BONUS.get(mlps, 0),
        "intel_hit": int(intel),
        "intel_bonus": INTEL_BONUS if intel else 0,
        "compromise": int(compromise),
        "compromise_bonus": COMPROMISE_BONUS if compromise else 0,
        "units_hit": len(units),
        "spread_bonus": min(SPREAD_BONUS_PER_UNIT * max(len(units) - 1, 0), SPREAD_BONUS_CAP),
    }
    return recompute(factors), factors


def recompute(factors: Mapping[str, Fact]) -> int:
    """The score from the listed factors alone (missing bonuses count as 0)."""
    base = round(float(factors["severity_base"]) * float(factors["criticality_weight"]))
    bonuses = [factors.get(name, 0) for name in _BONUSES]
    total = base + sum(map(int, bonuses))
    return max(0, min(100, total))
