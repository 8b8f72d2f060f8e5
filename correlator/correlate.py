"""Grouping alerts into incidents: pure functions of alerts, rules and the organisation map.

Stages, in order: normalise every alert (:mod:`correlator.normalise`); drop exact repeats (the
same alert id) and fold repeats of one ``identifier`` within ``dedup_window``; thread alerts by
the entity their family groups on (attacker; source and account; victim host), a quiet gap of
``incident_gap`` starting a new thread; let the kill-chain rules (:mod:`correlator.rules`) merge
threads whose stages follow each other on one attacker or host; build one incident per merged
group, attributed to units and scored by :mod:`correlator.risk`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from correlator.incident import Incident
from correlator.normalise import NormalAlert, normalise
from correlator.organisation import OrganisationMap
from correlator.risk import score
from correlator.rules import RULES, CorrelationRule, Link, Step, highest, ordered_match
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

    def __post_init__(self) -> None:
        if not 1 <= self.max_alerts_per_incident <= 1_000_000:
            raise ValueError("max_alerts_per_incident: must be between 1 and 1000000")
        if not 0 <= self.dedup_window <= 30 * 86_400:
            raise ValueError("dedup_window: must be between 0 and 2592000 seconds")
        if not 60 <= self.incident_gap <= 30 * 86_400:
            raise ValueError("incident_gap: must be between 60 and 2592000 seconds")


@dataclass(eq=False)
class _Thread:
    """Alerts of one entity without a long quiet gap (working state of one correlate call)."""

    entity: str
    alerts: list[NormalAlert] = field(default_factory=list)
    distinct: list[NormalAlert] = field(default_factory=list)  # repeats folded
    seen: dict[str, float] = field(default_factory=dict)  # identifier -> last kept time

    def add(self, item: NormalAlert, window: float) -> None:
        self.alerts.append(item)
        last = self.seen.get(item.alert.identifier)
        if last is None or item.alert.time - last > window:
            self.seen[item.alert.identifier] = item.alert.time
            self.distinct.append(item)


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
    threads = _threads(normal, config)
    groups, matched = _escalate(threads, rules)
    incidents = [
        _incident([threads[g] for g in members], matched.get(root, ()), organisation, config)
        for root, members in groups.items()
    ]
    return sorted(incidents, key=lambda i: (-i.risk_score, i.first_seen, i.id))


def _distinct_alerts(items: Iterable[NormalAlert]) -> list[NormalAlert]:
    """Alerts in time order, each alert id once (a re-sent batch adds nothing)."""
    unique = {n.id: n for n in items}
    return sorted(unique.values(), key=lambda n: (n.alert.time, n.id))


def _threads(normal: Sequence[NormalAlert], config: CorrelatorConfig) -> list[_Thread]:
    """Split time-ordered alerts into threads per entity."""
    threads: list[_Thread] = []
    open_by_entity: dict[str, _Thread] = {}
    for item in normal:
        thread = open_by_entity.get(item.entity)
        if thread is None or item.alert.time - thread.alerts[-1].alert.time > config.incident_gap:
            thread = _Thread(item.entity)
            threads.append(thread)
            open_by_entity[item.entity] = thread
        thread.add(item, config.dedup_window)
    return threads


def _escalate(
    threads: Sequence[_Thread], rules: Sequence[CorrelationRule]
) -> tuple[dict[int, list[int]], dict[int, tuple[CorrelationRule, ...]]]:
    """Merge threads that a rule links; return members per group and the rules that matched."""
    parent = list(range(len(threads)))

    def root(g: int) -> int:
        while parent[g] != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    hits: list[tuple[CorrelationRule, frozenset[int]]] = []
    steps = _steps(threads)
    present = {key: {step.stage for step in chain} for key, chain in steps.items()}
    for rule in rules:
        needed = set(rule.condition)
        for (link, value), chain in steps.items():
            if link is rule.group_by and needed <= present[link, value]:
                found = ordered_match(rule, chain)
                if found:
                    hits.append((rule, found))
                    first, *rest = sorted(found)
                    for g in rest:
                        parent[root(g)] = root(first)
    groups: dict[int, list[int]] = {}
    for g in range(len(threads)):
        groups.setdefault(root(g), []).append(g)
    matched: dict[int, tuple[CorrelationRule, ...]] = {}
    for rule, found in hits:
        r = root(min(found))
        if rule not in matched.get(r, ()):
            matched[r] = (*matched.get(r, ()), rule)
    return groups, matched


def _steps(threads: Sequence[_Thread]) -> dict[tuple[Link, str], list[Step]]:
    """Staged alerts per (link, address), in time order: what the rules scan."""
    steps: dict[tuple[Link, str], list[Step]] = {}
    for g, thread in enumerate(threads):
        for item in thread.distinct:
            if item.stage is None:
                continue
            step = Step(item.alert.time, item.stage, g)
            if item.attacker:
                steps.setdefault((Link.ATTACKER, item.attacker), []).append(step)
            for victim in item.victims:
                steps.setdefault((Link.VICTIM, victim), []).append(step)
    for chain in steps.values():
        chain.sort(key=lambda s: (s.time, s.group))
    return steps


def _incident(
    threads: Sequence[_Thread],
    rules: Sequence[CorrelationRule],
    organisation: OrganisationMap,
    config: CorrelatorConfig,
) -> Incident:
    """Build one incident from merged threads and the rules that merged them."""
    lead = min(threads, key=lambda t: (t.alerts[0].alert.time, t.alerts[0].id))
    items = sorted((n for t in threads for n in t.alerts), key=lambda n: (n.alert.time, n.id))
    distinct = [n for t in threads for n in t.distinct]
    alerts = [n.alert for n in items]
    worst = max(alerts, key=lambda a: (_SEVERITY_RANK[a.severity], a.time))
    severity = max([worst.severity, *(r.severity for r in rules)], key=_SEVERITY_RANK.__getitem__)
    victims = _unique(v for n in items for v in n.victims)
    units = organisation.units_of(victims)
    compromise = any(r.compromise for r in rules)
    risk, factors = score([n.alert for n in distinct], units, severity, compromise=compromise)
    attackers = _unique(n.attacker for n in items)
    escalation = max(rules, key=lambda r: (_SEVERITY_RANK[r.severity], r.name)) if rules else None
    title = escalation.title if escalation else RULE_TITLES.get(worst.rule, worst.rule)
    key = _shown(lead.entity)
    return Incident(
        id=_incident_id(lead.entity, lead.alerts[0]),
        title=f"{title}: {key}" + (f" → {victims[0]}" if len(victims) == 1 else ""),
        kind=f"killchain.{escalation.name}" if escalation else worst.rule,
        severity=severity,
        risk_score=risk,
        risk_factors=factors,
        attackers=attackers,
        victims=victims,
        units=tuple(u.code for u in units),
        tactics=_ordered_tactics(a.tactic for a in alerts),
        techniques=_unique(n.technique for n in items),
        detectors=_unique(a.detector for a in alerts),
        first_seen=min(a.first_seen for a in alerts),
        last_seen=max(a.last_seen for a in alerts),
        alert_ids=tuple(n.id for n in items[: config.max_alerts_per_incident]),
        alert_count=len(items),
        family=lead.alerts[0].family,
        entity=lead.entity,
        stage=highest(n.stage for n in items),
        kill_chain=tuple(r.name for r in rules),
    )


def _shown(entity: str) -> str:
    """An entity as a title shows it: ``203.0.113.7``, ``203.0.113.7 (root)``, ``10.21.3.4``."""
    family, _, key = entity.partition(":")
    if family != "auth":
        return key
    source, _, account = key.rpartition(":")
    return source if account == "?" else f"{source} ({account})"


def _unique(items: Iterable[str | None]) -> tuple[str, ...]:
    """Distinct non-empty items in first-seen order."""
    return tuple(dict.fromkeys(i for i in items if i))


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
