"""Campaigns: one rule sprayed at one victim by many sources, folded into one incident.

Grouping network alerts by attacker gives internet background exploitation of a host (the
same exploit tried by dozens of addresses) one incident per address. A SOC treats that as one
root cause. After the entity groups and kill-chain rules are settled, a group that is only
the same detector rule and ATT&CK technique against one victim may join the other such groups
of its rule, technique and victim that follow each other within ``campaign_window``; when they
come from ``campaign_min_sources`` distinct sources or more they become one campaign incident
that still lists every source. A source that escalated (a kill-chain rule matched) or
succeeded (an initial-access alert) anywhere is never folded: a real intrusion by one of the
sources keeps its own incidents, and its attempts do not hide among the background noise.

Pure functions of normalised alerts; :mod:`correlator.correlate` applies them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from correlator.incident import Family, Stage
from correlator.normalise import NormalAlert

PREFIX = "campaign:"
"""Entity prefix of campaign incidents: ``campaign:{rule}:{technique}:{victim}``."""

FOLDABLE_STAGES = frozenset({None, Stage.RECONNAISSANCE})
"""Stages a foldable group may hold: probing and attempts, never a sign of success."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Campaign:
    """What the groups of one campaign share: rule and technique, against one victim."""

    rule: str
    technique: str
    victim: str

    @property
    def entity(self) -> str:
        """The campaign's grouping key as an incident shows it."""
        return f"{PREFIX}{self.rule}:{self.technique}:{self.victim}"


@dataclass(frozen=True, kw_only=True, slots=True)
class Candidate:
    """One entity group as campaign folding sees it."""

    key: Campaign | None  # None: the group may not join a campaign
    attacker: str | None
    first_seen: float
    last_seen: float


@dataclass(frozen=True, kw_only=True, slots=True)
class Fold:
    """Groups (indices into the candidates) that become one incident, and their campaign."""

    members: tuple[int, ...]
    campaign: Campaign | None  # None: one group standing alone


def campaign_of(items: Sequence[NormalAlert], escalated: bool) -> Campaign | None:
    """The campaign a group's time-ordered alerts could join; None when it must stand alone."""
    if escalated or not items:
        return None
    lead = items[0]
    victims = frozenset(lead.victims)  # an alert may name its destination twice
    if len(victims) != 1 or lead.attacker is None:  # a sweep's target set rarely repeats
        return None
    key = (lead.alert.detector, lead.alert.rule, lead.technique, victims, lead.attacker)
    for item in items:
        alert = item.alert
        if (
            item.family is not Family.NETWORK
            or item.stage not in FOLDABLE_STAGES
            or (alert.detector, alert.rule, item.technique, frozenset(item.victims), item.attacker)
            != key
        ):
            return None
    return Campaign(rule=lead.alert.rule, technique=lead.technique, victim=lead.victims[0])


def intruders(groups: Iterable[tuple[Sequence[NormalAlert], bool]]) -> frozenset[str]:
    """Sources of (alerts, escalated) groups that escalated or show a successful intrusion.

    None of such a source's groups joins a campaign: its exploit attempt must not hide among
    background noise while its login or kill chain stands elsewhere.
    """
    return frozenset(
        item.attacker
        for items, escalated in groups
        for item in items
        if item.attacker and (escalated or item.stage not in FOLDABLE_STAGES)
    )


def fold(candidates: Sequence[Candidate], min_sources: int, window: float) -> list[Fold]:
    """Partition the candidates into campaigns and groups standing alone, in input order.

    Candidates of one campaign key are taken by first alert; the next joins the current run
    when it starts within ``window`` of the run's latest alert. A run with ``min_sources``
    distinct attackers or more is a campaign; ``min_sources`` 0 folds nothing.
    """
    runs: list[list[int]] = []
    if min_sources:
        by_key: dict[Campaign, list[int]] = {}
        for n, candidate in enumerate(candidates):
            if candidate.key is not None:
                by_key.setdefault(candidate.key, []).append(n)
        for members in by_key.values():
            members.sort(key=lambda n: (candidates[n].first_seen, n))
            run: list[int] = []
            last = 0.0
            for n in members:
                candidate = candidates[n]
                if run and candidate.first_seen - last > window:
                    runs.append(run)
                    run = []
                last = max(last, candidate.last_seen) if run else candidate.last_seen
                run.append(n)
            runs.append(run)
    folded: dict[int, Fold] = {}
    for run in runs:
        if len({candidates[n].attacker for n in run}) >= min_sources:
            first = min(run)
            folded[first] = Fold(members=tuple(sorted(run)), campaign=candidates[first].key)
            folded.update({n: folded[first] for n in run if n != first})
    result: list[Fold] = []
    for n in range(len(candidates)):
        found = folded.get(n)
        if found is None:
            result.append(Fold(members=(n,), campaign=None))
        elif found.members[0] == n:
            result.append(found)
    return result
