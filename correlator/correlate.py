"""Grouping alerts into incidents: pure functions of alerts, rules and the organisation map.

Stages, in order: normalise every alert (:mod:`correlator.normalise`); drop exact repeats (the
same alert id) and fold repeats of one ``identifier`` within ``dedup_window``; thread alerts by
the entity their family groups on (attacker; source and account; victim host), a quiet gap of
``incident_gap`` starting a new thread; let the kill-chain rules (:mod:`correlator.rules`) merge
threads whose stages follow each other on one attacker or host; fold the groups of one rule
sprayed at one victim by many sources into campaigns (:mod:`correlator.campaign`); build one
incident per group, attributed to units and scored by :mod:`correlator.risk`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from operator import attrgetter, itemgetter

from correlator.campaign import Campaign, Candidate, campaign_of, fold, intruders
from correlator.incident import Incident, Stage
from correlator.normalise import NormalAlert, normalise
from correlator.organisation import OrganisationMap
from correlator.risk import score
from correlator.rules import (
    RULES,
    STAGE_RANK,
    CorrelationRule,
    Link,
    Step,
    highest,
    ordered_match,
    ranks,
)
from detectors.alert import Alert, Severity
from detectors.attack import Tactic

_SEVERITY_RANK = {s: n for n, s in enumerate(Severity)}  # Severity.rank walks the enum
_TACTIC_ORDER = {t: n for n, t in enumerate(Tactic)}

RULE_TITLES = {
    "portscan.vertical": "Port scan",
    "portscan.horizontal": "Address sweep",
    "webattack.sqli": "SQL injection",
    "webattack.xss": "Cross-site scripting",
    "webattack.traversal": "Path traversal or sensitive-file access",
    "webattack.cmdi": "Command or code injection",
    "webattack.log4shell": "Log4Shell (JNDI) exploitation",
    "webattack.shellshock": "Shellshock exploitation",
    "webattack.webshell": "Webshell request",
    "webattack.scanner": "Web vulnerability scanner",
    "dnstunnel.exfiltration": "DNS tunnelling",
    "dga.lexical": "DGA lookups",
    "dga.nxburst": "NXDOMAIN burst",
    "beacon.c2": "Periodic beaconing",
}
"""English incident titles by alert rule; unknown rules fall back to the rule name."""


@dataclass(frozen=True, kw_only=True)
class CorrelatorConfig:
    """How alerts are grouped."""

    max_alerts_per_incident: int = 10_000
    """Alert ids listed on one incident; counts stay exact beyond it."""
    dedup_window: float = 3600.0
    """Seconds in which a repeat of one alert identifier is folded into the first (1 h, as
    dispatch's default deduplication window)."""
    incident_gap: float = 86_400.0
    """Seconds of quiet after which an entity's next alert opens a new incident (one day:
    the kill-chain rules' timespan)."""
    campaign_min_sources: int = 3
    """Distinct sources of one rule and technique against one victim that make a campaign
    incident (:mod:`correlator.campaign`); three, so that a pair of addresses (one attacker
    switching address) stays apart. 0 turns campaigns off."""
    campaign_window: float = 3600.0
    """Seconds within which the next source's incident must start to join a campaign (1 h,
    as the dedup window): mass exploitation arrives in bursts, a recurrence is a new one."""

    def __post_init__(self) -> None:
        if not 1 <= self.max_alerts_per_incident <= 1_000_000:
            raise ValueError("max_alerts_per_incident: must be between 1 and 1000000")
        if not 0 <= self.dedup_window <= 30 * 86_400:
            raise ValueError("dedup_window: must be between 0 and 2592000 seconds")
        if not 60 <= self.incident_gap <= 30 * 86_400:
            raise ValueError("incident_gap: must be between 60 and 2592000 seconds")
        if self.campaign_min_sources != 0 and not 2 <= self.campaign_min_sources <= 10_000:
            raise ValueError("campaign_min_sources: must be 0 (off) or between 2 and 10000")
        if not 60 <= self.campaign_window <= 30 * 86_400:
            raise ValueError("campaign_window: must be between 60 and 2592000 seconds")


@dataclass(eq=False)
class _Thread:
    """Alerts of one entity without a long quiet gap (working state of one correlate call)."""

    index: int
    entity: str
    last: float  # time of the thread's latest alert
    distinct: list[NormalAlert] = field(default_factory=list)  # repeats folded
    seen: dict[str, float] = field(default_factory=dict)  # identifier -> last kept time


def correlate(
    alerts: Iterable[Alert],
    organisation: OrganisationMap,
    config: CorrelatorConfig | None = None,
    rules: Sequence[CorrelationRule] = RULES,
) -> list[Incident]:
    """Group ``alerts`` into incidents, highest risk first; same input, same incidents."""
    normal = [normalise(a, organisation) for a in alerts]
    return correlate_normal(normal, organisation, config, rules)


def correlate_normal(
    alerts: Iterable[NormalAlert],
    organisation: OrganisationMap,
    config: CorrelatorConfig | None = None,
    rules: Sequence[CorrelationRule] = RULES,
) -> list[Incident]:
    """:func:`correlate` over alerts normalised already (a daemon normalises each alert once)."""
    config = config or CorrelatorConfig()
    normal = _distinct_alerts(alerts)
    threads, thread_of = _threads(normal, config)
    root_of, matched = _escalate(threads, rules)
    # One pass over the time-ordered alerts gives every group its alerts already in order:
    # no per-incident sort.
    items: dict[int, list[NormalAlert]] = {}
    for item, t in zip(normal, thread_of, strict=True):
        items.setdefault(root_of[t], []).append(item)
    distinct: dict[int, list[NormalAlert]] = {}
    for thread in threads:
        distinct.setdefault(root_of[thread.index], []).extend(thread.distinct)
    roots = list(items)
    kept_out = intruders((items[root], root in matched) for root in roots)
    candidates = [
        Candidate(
            key=campaign_of(items[root], root in matched or items[root][0].attacker in kept_out),
            attacker=items[root][0].attacker,
            first_seen=items[root][0].alert.time,
            last_seen=items[root][-1].alert.time,
        )
        for root in roots
    ]
    incidents = []
    for found in fold(candidates, config.campaign_min_sources, config.campaign_window):
        members = [roots[n] for n in found.members]
        group = _in_order(items[r] for r in members)
        kept = _in_order(distinct[r] for r in members)
        # None for a campaign: escalated groups never fold.
        escalations = matched.get(members[0], ())
        incidents.append(
            _incident(group, kept, escalations, organisation, config, campaign=found.campaign)
        )
    return sorted(incidents, key=lambda i: (-i.risk_score, i.first_seen, i.id))


def _in_order(groups: Iterable[list[NormalAlert]]) -> list[NormalAlert]:
    """The alerts of one or more groups in time order (one group is in order already)."""
    lists = list(groups)
    if len(lists) == 1:
        return lists[0]
    return sorted(chain.from_iterable(lists), key=attrgetter("alert.time", "id"))


def _distinct_alerts(items: Iterable[NormalAlert]) -> list[NormalAlert]:
    """Alerts in time order, each alert id once (a re-sent batch adds nothing)."""
    unique = {n.id: n for n in items}
    return sorted(unique.values(), key=attrgetter("alert.time", "id"))


def _threads(
    normal: Sequence[NormalAlert], config: CorrelatorConfig
) -> tuple[list[_Thread], list[int]]:
    """Split time-ordered alerts into threads per entity; return them and each alert's thread."""
    threads: list[_Thread] = []
    thread_of: list[int] = []
    open_by_entity: dict[str, _Thread] = {}
    gap, window = config.incident_gap, config.dedup_window
    for item in normal:
        alert = item.alert
        time = alert.time
        thread = open_by_entity.get(item.entity)
        if thread is None or time - thread.last > gap:
            thread = _Thread(index=len(threads), entity=item.entity, last=time)
            threads.append(thread)
            open_by_entity[item.entity] = thread
        thread.last = time
        # A repeat of an identifier within the window is folded into the kept alert: it still
        # counts (alert_count, last_seen) but does not score or step the kill chain again.
        kept = thread.seen.get(alert.identifier)
        if kept is None or time - kept > window:
            thread.seen[alert.identifier] = time
            thread.distinct.append(item)
        thread_of.append(thread.index)
    return threads, thread_of


def _escalate(
    threads: Sequence[_Thread], rules: Sequence[CorrelationRule]
) -> tuple[list[int], dict[int, tuple[CorrelationRule, ...]]]:
    """Merge threads that a rule links; return each thread's group and the rules per group."""
    parent = list(range(len(threads)))

    def root(g: int) -> int:
        while parent[g] != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    hits: list[tuple[CorrelationRule, frozenset[int]]] = []
    needs = [(rule, ranks(rule)) for rule in rules]
    for link, steps in _steps(threads, rules):
        present = {step[1] for step in steps}
        candidates = [r for r, need in needs if r.group_by is link and present.issuperset(need)]
        if not candidates:
            continue
        steps.sort(key=_TIME_AND_GROUP)
        for rule in candidates:
            found = ordered_match(rule, steps)
            if found:
                hits.append((rule, found))
                first, *rest = sorted(found)
                for g in rest:
                    parent[root(g)] = root(first)
    root_of = [root(g) for g in range(len(threads))]
    matched: dict[int, tuple[CorrelationRule, ...]] = {}
    # Rules in rule order, as each group first matched them.
    for rule in rules:
        for hit, found in hits:
            r = root_of[min(found)]
            if hit is rule and rule not in matched.get(r, ()):
                matched[r] = (*matched.get(r, ()), rule)
    return root_of, matched


def _steps(
    threads: Sequence[_Thread], rules: Sequence[CorrelationRule]
) -> Iterable[tuple[Link, list[Step]]]:
    """Staged alerts per link and address (unordered), in chains of two or more steps."""
    wanted = {link: set[Stage]() for link in Link}
    for rule in rules:
        wanted[rule.group_by].update(rule.condition)
    rank = STAGE_RANK
    attacker_stages, victim_stages = wanted[Link.ATTACKER], wanted[Link.VICTIM]
    by_attacker: dict[str, list[Step]] = {}
    by_victim: dict[str, list[Step]] = {}
    for g, thread in enumerate(threads):
        for item in thread.distinct:
            stage = item.stage
            if stage is None:
                continue
            step = (item.alert.time, rank[stage], g)
            if item.attacker and stage in attacker_stages:
                by_attacker.setdefault(item.attacker, []).append(step)
            if stage in victim_stages:
                for victim in item.victims:
                    by_victim.setdefault(victim, []).append(step)
    # A chain of one step cannot hold an ordered pair of stages.
    for link, chains in ((Link.ATTACKER, by_attacker), (Link.VICTIM, by_victim)):
        yield from ((link, chain) for chain in chains.values() if len(chain) > 1)


_TIME_AND_GROUP = itemgetter(0, 2)
"""Sort key of a step: its time, then its group (the order the rules scan them in)."""


def _incident(
    items: Sequence[NormalAlert],
    distinct: Sequence[NormalAlert],
    rules: Sequence[CorrelationRule],
    organisation: OrganisationMap,
    config: CorrelatorConfig,
    campaign: Campaign | None = None,
) -> Incident:
    """Build one incident from its time-ordered alerts, repeats folded in ``distinct``."""
    lead = items[0]  # the first alert is the first of the leading thread: ids key on it
    # map() with attribute getters rather than generator expressions: this runs once per
    # incident over all its alerts and is the bulk of correlation time.
    alerts = list(map(_ALERT, items))
    worst = _worst(alerts)
    severity, compromise, escalation = worst.severity, False, None
    if rules:  # most incidents escalate nothing: skip the rule scans for them
        severity = max([severity, *(r.severity for r in rules)], key=_SEVERITY_RANK.__getitem__)
        compromise = any(r.compromise for r in rules)
        escalation = max(rules, key=lambda r: (_SEVERITY_RANK[r.severity], r.name))
    victims = tuple(dict.fromkeys(chain.from_iterable(map(_VICTIMS, items))))
    units = organisation.units_of(victims)
    risk, factors = score(list(map(_ALERT, distinct)), units, severity, compromise=compromise)
    attackers = _unique(map(_ATTACKER, items))
    title = escalation.title if escalation else RULE_TITLES.get(worst.rule, worst.rule)
    entity = campaign.entity if campaign else lead.entity
    # A campaign's title counts its sources: naming the first would read as a single attacker.
    key = f"{len(attackers)} sources" if campaign else _shown(lead.entity)
    return Incident(
        id=_incident_id(entity, lead),
        title=f"{title}: {key}" + (f" → {victims[0]}" if len(victims) == 1 else ""),
        kind=f"killchain.{escalation.name}" if escalation else worst.rule,
        severity=severity,
        risk_score=risk,
        risk_factors=factors,
        attackers=attackers,
        victims=victims,
        units=tuple([u.code for u in units]),
        tactics=_ordered_tactics(set(map(_TACTIC, alerts))),
        techniques=_unique(map(_TECHNIQUE, items)),
        detectors=_unique(map(_DETECTOR, alerts)),
        first_seen=min(map(_FIRST_SEEN, alerts)),
        last_seen=max(map(_LAST_SEEN, alerts)),
        alert_ids=tuple(map(_ID, items[: config.max_alerts_per_incident])),
        alert_count=len(items),
        family=lead.family,
        entity=entity,
        stage=highest(set(map(_STAGE, items))),
        kill_chain=tuple([r.name for r in rules]),
    )


def _worst(alerts: Sequence[Alert]) -> Alert:
    """The most severe alert, the latest of those (the first listed at that time)."""
    # Alerts are in time order: the last of the highest rank is the latest; walking back over
    # alerts of the same time keeps the tie-break of max() on (rank, time).
    ranks = list(map(_SEVERITY_RANK.__getitem__, map(_SEVERITY, alerts)))
    top = max(ranks)
    last = len(ranks) - 1 - ranks[::-1].index(top)
    first = last
    while first > 0 and alerts[first - 1].time == alerts[last].time:
        first -= 1
    return next(alerts[k] for k in range(first, last + 1) if ranks[k] == top)


def _shown(entity: str) -> str:
    """An entity as a title shows it: ``203.0.113.7``, ``203.0.113.7 (root)``, ``10.21.3.4``."""
    family, _, key = entity.partition(":")
    if family != "auth":
        return key
    source, _, account = key.rpartition(":")
    return source if account == "?" else f"{source} ({account})"


def _unique(items: Iterable[str | None]) -> tuple[str, ...]:
    """Distinct non-empty items in first-seen order."""
    return tuple(filter(None, dict.fromkeys(items)))


_ALERT = attrgetter("alert")
_ATTACKER = attrgetter("attacker")
_DETECTOR = attrgetter("detector")
_FIRST_SEEN = attrgetter("first_seen")
_ID = attrgetter("id")
_LAST_SEEN = attrgetter("last_seen")
_SEVERITY = attrgetter("severity")
_STAGE = attrgetter("stage")
_TACTIC = attrgetter("tactic")
_TECHNIQUE = attrgetter("technique")
_VICTIMS = attrgetter("victims")


def _ordered_tactics(tactics: Iterable[Tactic]) -> tuple[Tactic, ...]:
    """Distinct tactics in kill-chain order."""
    return tuple(sorted(set(tactics), key=_TACTIC_ORDER.__getitem__))


def _incident_id(entity: str, first: NormalAlert) -> str:
    """A stable id: the same leading entity and first alert give the same incident."""
    # The network entity's key is the bare address, as before families existed, so the
    # incidents of stores written by earlier versions keep their ids.
    key = entity.split(":", 1)[1] if entity.startswith("net:") else entity
    text = f"{key}|{first.id}".encode()
    return "i-" + hashlib.blake2b(text, digest_size=10).hexdigest()
