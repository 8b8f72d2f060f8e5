"""Kill-chain escalation rules: ordered stages on one entity within a timespan.

A rule is data (``CorrelationRule``), in the shape of Sigma's ``temporal_ordered`` correlation:
group alerts by a link (the attacker address, or the victim host), and when its stages occur in
order within ``timespan`` the groups they came from merge into one incident whose severity is
raised. Adding a rule is one entry in ``RULES``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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


Step = tuple[float, int, int]
"""One alert as a rule sees it: its time, its stage's rank (:data:`STAGE_RANK`) and its group.

Plain numbers in a plain tuple: correlation builds one per staged alert and link, and the
garbage collector stops tracking such tuples, while one holding an enum member (or a named
tuple) it would walk again on every full collection.
"""

STAGE_RANK: Mapping[Stage, int] = {s: n for n, s in enumerate(Stage)}
"""Each stage's place in the kill chain: reconnaissance=0 ... exfiltration=4."""


def ranks(rule: CorrelationRule) -> frozenset[int]:
    """The ranks of a rule's stages: what a chain of steps must hold for it to match."""
    return frozenset(STAGE_RANK[stage] for stage in rule.condition)


def ordered_match(rule: CorrelationRule, steps: Sequence[Step]) -> frozenset[int]:
    """Groups taking part in any in-order match of ``rule`` in time-sorted ``steps``.

    ``best[k]`` is the match of the first k+1 stages with the latest start seen so far: a
    later start leaves the most room for the rest within ``timespan``.
    """
    position = {STAGE_RANK[stage]: k for k, stage in enumerate(rule.condition)}
    best: list[tuple[float, frozenset[int]] | None] = [None] * len(rule.condition)
    matched: set[int] = set()
    last = len(rule.condition) - 1
    for time, stage, group in steps:
        k = position.get(stage)
        if k is None:
            continue
        if k == 0:
            best[0] = (time, frozenset((group,)))
            continue
        prefix = best[k - 1]
        if prefix is None or time - prefix[0] > rule.timespan:
            continue
        # Most steps repeat a group already in the match: reuse its set rather than copy it.
        groups = prefix[1] if group in prefix[1] else prefix[1] | {group}
        best[k] = prefix if groups is prefix[1] else (prefix[0], groups)
        if k == last:
            matched.update(groups)
    return frozenset(matched)


def highest(stages: Iterable[Stage | None]) -> Stage | None:
    """The furthest kill-chain stage reached."""
    reached = {s for s in stages if s is not None}
    return max(reached, key=STAGE_RANK.__getitem__) if reached else None
