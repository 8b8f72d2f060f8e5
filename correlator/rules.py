"""Kill-chain escalation rules: ordered stages on one entity within a timespan.

A rule is data (``CorrelationRule``), in the shape of Sigma's ``temporal_ordered`` correlation:
group alerts by a link (the attacker address, or the victim host), and when its stages occur in
order within ``timespan`` the groups they came from merge into one incident whose severity is
raised. Adding a rule is one entry in ``RULES``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from correlator.incident import Stage
from detectors.alert import Severity

DAY = 86_400.0


class Link(StrEnum):
    """What a rule's stages must share."""

    ATTACKER = "attacker"  # the same source address (scan, then guessing, then login)
    VICTIM = "victim"  # the same internal host (login on it, then it beacons out)


@dataclass(frozen=True, kw_only=True)
class CorrelationRule:
    """Escalate when ``condition`` stages happen in order on one ``group_by`` value."""

    name: str
    title: str
    group_by: Link
    timespan: float
    condition: tuple[Stage, ...]
    severity: Severity
    compromise: bool = False  # a match means a host is likely compromised (a risk factor)

    def __post_init__(self) -> None:
        if len(self.condition) < 2 or len(set(self.condition)) != len(self.condition):
            raise ValueError(f"{self.name}: condition needs two or more distinct stages")
        if self.timespan <= 0:
            raise ValueError(f"{self.name}: timespan must be positive")


RULES: tuple[CorrelationRule, ...] = (
    CorrelationRule(
        name="recon_then_guessing",
        title="Scan followed by password guessing",
        group_by=Link.ATTACKER,
        timespan=DAY,
        condition=(Stage.RECONNAISSANCE, Stage.CREDENTIAL_ACCESS),
        severity=Severity.HIGH,
    ),
    CorrelationRule(
        name="recon_then_access",
        title="Scan followed by a successful intrusion",
        group_by=Link.ATTACKER,
        timespan=DAY,
        condition=(Stage.RECONNAISSANCE, Stage.INITIAL_ACCESS),
        severity=Severity.CRITICAL,
        compromise=True,
    ),
    CorrelationRule(
        name="guessing_then_login",
        title="Likely compromise (password guessing, then a login)",
        group_by=Link.ATTACKER,
        timespan=DAY,
        condition=(Stage.CREDENTIAL_ACCESS, Stage.INITIAL_ACCESS),
        severity=Severity.CRITICAL,
        compromise=True,
    ),
    CorrelationRule(
        name="access_then_c2",
        title="Compromised host calls its controller",
        group_by=Link.VICTIM,
        timespan=DAY,
        condition=(Stage.INITIAL_ACCESS, Stage.COMMAND_AND_CONTROL),
        severity=Severity.CRITICAL,
        compromise=True,
    ),
    CorrelationRule(
        name="c2_then_exfiltration",
        title="Command and control then data leaving",
        group_by=Link.VICTIM,
        timespan=DAY,
        condition=(Stage.COMMAND_AND_CONTROL, Stage.EXFILTRATION),
        severity=Severity.CRITICAL,
        compromise=True,
    ),
)
"""The default escalation rules, in kill-chain order."""


@dataclass(frozen=True, slots=True)
class Step:
    """One alert as a rule sees it: when, which stage, and which group it belongs to."""

    time: float
    stage: Stage
    group: int


def ordered_match(rule: CorrelationRule, steps: Sequence[Step]) -> frozenset[int]:
    """Groups taking part in any in-order match of ``rule`` in time-sorted ``steps``.

    ``best[k]`` is the match of the first k+1 stages with the latest start seen so far: a
    later start leaves the most room for the rest within ``timespan``.
    """
    position = {stage: k for k, stage in enumerate(rule.condition)}
    best: list[tuple[float, frozenset[int]] | None] = [None] * len(rule.condition)
    matched: frozenset[int] = frozenset()
    last = len(rule.condition) - 1
    for step in steps:
        k = position.get(step.stage)
        if k is None:
            continue
        if k == 0:
            best[0] = (step.time, frozenset((step.group,)))
            continue
        prefix = best[k - 1]
        if prefix is None or step.time - prefix[0] > rule.timespan:
            continue
        current = (prefix[0], prefix[1] | {step.group})
        best[k] = current
        if k == last:
            matched |= current[1]
    return matched


def highest(stages: Iterable[Stage | None]) -> Stage | None:
    """The furthest kill-chain stage reached."""
    reached = {s for s in stages if s is not None}
    return max(reached, key=_STAGE_ORDER.__getitem__) if reached else None


_STAGE_ORDER = {s: n for n, s in enumerate(Stage)}
