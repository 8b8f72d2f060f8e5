"""Normalising alerts: one shape for every detector's output, with family, entity and stage.

Each alert gets its family (network, authentication, host), the entity its family groups by,
its attacker and victims, its kill-chain stage and an ATT&CK technique (a default per tactic
when a detector left it blank). Placeholder values (``-``, ``unknown``, ``localhost``...) never
become entities: grouping on them would merge unrelated attacks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from correlator.incident import Family, Stage
from correlator.organisation import OrganisationMap
from detectors.alert import Alert
from detectors.attack import Tactic

PLACEHOLDERS = frozenset({"", "-", "unknown", "none", "null", "localhost", "0.0.0.0", "::"})
"""Values that name nothing: ignored as entities (the OpenObserve grouping rule)."""

AUTH_DETECTORS = frozenset({"bruteforce"})
"""Detectors whose alerts are authentication findings (grouped by source and account)."""

ACCOUNT_FACTS = ("user", "account")
"""Fact names an authentication alert may name its account under, in order of preference."""

STAGES: Mapping[Tactic, Stage] = {
    Tactic.RECONNAISSANCE: Stage.RECONNAISSANCE,
    Tactic.DISCOVERY: Stage.RECONNAISSANCE,
    Tactic.CREDENTIAL_ACCESS: Stage.CREDENTIAL_ACCESS,
    Tactic.INITIAL_ACCESS: Stage.INITIAL_ACCESS,
    Tactic.EXECUTION: Stage.INITIAL_ACCESS,
    Tactic.PERSISTENCE: Stage.INITIAL_ACCESS,
    Tactic.PRIVILEGE_ESCALATION: Stage.INITIAL_ACCESS,
    Tactic.LATERAL_MOVEMENT: Stage.INITIAL_ACCESS,
    Tactic.COMMAND_AND_CONTROL: Stage.COMMAND_AND_CONTROL,
    Tactic.COLLECTION: Stage.EXFILTRATION,
    Tactic.EXFILTRATION: Stage.EXFILTRATION,
}
"""Kill-chain stage of each ATT&CK tactic; tactics not listed escalate nothing."""

DEFAULT_TECHNIQUES: Mapping[Tactic, str] = {
    Tactic.RECONNAISSANCE: "T1595",  # Active Scanning
    Tactic.DISCOVERY: "T1046",  # Network Service Discovery
    Tactic.CREDENTIAL_ACCESS: "T1110",  # Brute Force
    Tactic.INITIAL_ACCESS: "T1190",  # Exploit Public-Facing Application
    Tactic.EXECUTION: "T1059",  # Command and Scripting Interpreter
    Tactic.PERSISTENCE: "T1098",  # Account Manipulation
    Tactic.PRIVILEGE_ESCALATION: "T1068",  # Exploitation for Privilege Escalation
    Tactic.LATERAL_MOVEMENT: "T1021",  # Remote Services
    Tactic.COMMAND_AND_CONTROL: "T1071",  # Application Layer Protocol
    Tactic.COLLECTION: "T1005",  # Data from Local System
    Tactic.EXFILTRATION: "T1041",  # Exfiltration Over C2 Channel
    Tactic.IMPACT: "T1498",  # Network Denial of Service
    Tactic.DEFENSE_EVASION: "T1070",  # Indicator Removal
    Tactic.RESOURCE_DEVELOPMENT: "T1583",  # Acquire Infrastructure
}
"""The technique an alert is labelled with when its detector gave none."""

HOST_TACTICS = frozenset({Tactic.COMMAND_AND_CONTROL, Tactic.EXFILTRATION, Tactic.COLLECTION})
"""Tactics whose alerts describe a compromised internal host, not an attacker's probing."""


@dataclass(frozen=True, kw_only=True, slots=True)
class NormalAlert:
    """An alert with the fields correlation needs, computed once."""

    alert: Alert
    id: str
    family: Family
    entity: str
    attacker: str | None
    victims: tuple[str, ...]
    stage: Stage | None
    technique: str


def normalise(alert: Alert, organisation: OrganisationMap) -> NormalAlert:
    """Give an alert its family, grouping entity, attacker, victims, stage and technique."""
    family = family_of(alert)
    source = named(alert.source_ip)
    targets = tuple(t for t in (named(alert.destination_ip), *alert.destinations) if t)
    if family is Family.HOST:
        # A beaconing or exfiltrating host is the victim, normally the source; the far end is
        # the attacker. Only when the map says the source is outside and a target is inside
        # is the finding about that target.
        inside = [t for t in targets if organisation.is_internal(t)]
        mapped = bool(organisation.units)
        outside = mapped and source is not None and not organisation.is_internal(source)
        victim = inside[0] if outside and inside else (source or (targets[0] if targets else None))
        attacker = next((t for t in (source, *targets) if t and t != victim), None)
        victims: tuple[str, ...] = (victim,) if victim else ()
        entity = f"host:{victim or alert.identifier}"
    elif family is Family.AUTHENTICATION:
        attacker, victims = source, targets
        entity = f"auth:{source or '?'}:{account_of(alert) or '?'}"
    else:
        attacker, victims = source, targets
        entity = f"net:{source or alert.identifier}"
    return NormalAlert(
        alert=alert,
        id=alert.id,
        family=family,
        entity=entity,
        attacker=attacker,
        victims=victims,
        stage=stage_of(alert),
        technique=alert.technique or DEFAULT_TECHNIQUES.get(alert.tactic, ""),
    )


SUCCESS_FACTS = ("compromise", "answered_2xx")
"""Facts by which an initial-access alert says the attempt worked (a login, an exploit that
the server answered with success); without one it is only an attempt."""


def stage_of(alert: Alert) -> Stage | None:
    """The kill-chain stage of an alert; initial access only when the alert shows success.

    An exploit attempt is not a compromise: counting every attempt as initial access made
    "scan, then attempt" escalate to a confirmed intrusion.
    """
    stage = STAGES.get(alert.tactic)
    if stage is not Stage.INITIAL_ACCESS:
        return stage
    succeeded = alert.rule.endswith(".compromise") or any(
        isinstance(alert.facts.get(name), int | float) and float(alert.facts[name]) > 0
        for name in SUCCESS_FACTS
    )
    return stage if succeeded else None


def family_of(alert: Alert) -> Family:
    """The alert family: authentication, host finding, or network (the default)."""
    if alert.detector in AUTH_DETECTORS or alert.tactic is Tactic.CREDENTIAL_ACCESS:
        return Family.AUTHENTICATION
    if alert.tactic in HOST_TACTICS:
        return Family.HOST
    return Family.NETWORK


def account_of(alert: Alert) -> str | None:
    """The account an authentication alert is about, from its facts."""
    for name in ACCOUNT_FACTS:
        value = alert.facts.get(name)
        if isinstance(value, str) and named(value):
            return value
    return None


def named(value: str | None) -> str | None:
    """``value`` unless it is empty or a placeholder."""
    if value is None or value.strip().lower() in PLACEHOLDERS:
        return None
    return value
