"""The city-level picture: posture per unit and for the city per hour, its trend, unknown assets.

Pure functions over incidents and flows. An hour's posture for a unit is the highest risk of
the incidents active in that hour that hit the unit or a unit below it (false positives left
out), with how many there were: the worst open problem is what leadership needs to see first.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from correlator.incident import Incident, IncidentStatus
from correlator.organisation import OrganisationMap
from sensors.events import Flow

HOUR = 3600.0
CITY = "city"
"""The scope name of the whole city's posture."""
TREND_HOURS = 24
"""Hours the latest hour is compared against."""
TREND_STEP = 5
"""Change in posture (points) below which the trend is flat."""


class Direction(StrEnum):
    """Which way a unit's posture is going (risk up is worse)."""

    WORSE = "worse"
    BETTER = "better"
    FLAT = "flat"


@dataclass(frozen=True, kw_only=True)
class PosturePoint:
    """One unit (or the city) in one hour."""

    scope: str
    hour: float  # start of the hour, epoch seconds
    risk: int  # highest risk score of the incidents active in the hour, 0 when none
    incidents: int
    critical: int  # incidents of critical severity among them


@dataclass(frozen=True, kw_only=True)
class Trend:
    """The latest hour against the average of the hours before it."""

    scope: str
    current: int
    baseline: float
    direction: Direction


@dataclass(frozen=True, kw_only=True)
class UnknownAsset:
    """An internal address seen in traffic that no unit of the map owns."""

    ip: str
    first_seen: float
    last_seen: float
    flows: int


def posture(
    incidents: Iterable[Incident], organisation: OrganisationMap, *, since: float, until: float
) -> list[PosturePoint]:
    """Posture of every unit and of the city for each hour in [since, until), sorted."""
    first = since - since % HOUR
    hours = [first + n * HOUR for n in range(max(0, int((until - first + HOUR - 1) // HOUR)))]
    active: dict[tuple[str, float], list[Incident]] = {}
    for incident in incidents:
        if incident.status is IncidentStatus.FALSE_POSITIVE:
            continue
        scopes = {CITY} | {u.code for code in incident.units for u in organisation.lineage(code)}
        for hour in hours:
            if incident.first_seen < hour + HOUR and incident.last_seen >= hour:
                for scope in scopes:
                    active.setdefault((scope, hour), []).append(incident)
    names = [CITY, *(u.code for u in organisation.units)]
    return [_point(scope, hour, active.get((scope, hour), [])) for scope in names for hour in hours]


def _point(scope: str, hour: float, incidents: Sequence[Incident]) -> PosturePoint:
    return PosturePoint(
        scope=scope,
        hour=hour,
        risk=max((i.risk_score for i in incidents), default=0),
        incidents=len(incidents),
        critical=sum(1 for i in incidents if i.severity.value == "critical"),
    )


def trends(points: Sequence[PosturePoint]) -> list[Trend]:
    """Per scope: the latest hour against the mean of up to ``TREND_HOURS`` before it."""
    by_scope: dict[str, list[PosturePoint]] = {}
    for point in sorted(points, key=lambda p: (p.scope, p.hour)):
        by_scope.setdefault(point.scope, []).append(point)
    result: list[Trend] = []
    for scope, series in by_scope.items():
        *before, last = series
        window = before[-TREND_HOURS:]
        baseline = sum(p.risk for p in window) / len(window) if window else float(last.risk)
        change = last.risk - baseline
        direction = (
            Direction.FLAT
            if abs(change) < TREND_STEP
            else Direction.WORSE
            if change > 0
            else Direction.BETTER
        )
        result.append(
            Trend(scope=scope, current=last.risk, baseline=round(baseline, 1), direction=direction)
        )
    return result


def unknown_assets(flows: Iterable[Flow], organisation: OrganisationMap) -> list[UnknownAsset]:
    """Private addresses in traffic that the organisation map does not place, by address."""
    seen: dict[str, list[float]] = {}
    for flow in flows:
        for ip in (flow.src_ip, flow.dst_ip):
            if _private(ip) and organisation.locate(ip) is None:
                span = seen.setdefault(ip, [flow.start, flow.end, 0])
                span[0], span[1], span[2] = (
                    min(span[0], flow.start),
                    max(span[1], flow.end),
                    span[2] + 1,
                )
    return [
        UnknownAsset(ip=ip, first_seen=s[0], last_seen=s[1], flows=int(s[2]))
        for ip, s in sorted(seen.items(), key=lambda kv: ipaddress.ip_address(kv[0]))
    ]


def _private(ip: str) -> bool:
    """Whether ``ip`` is an internal (RFC 1918 / ULA) unicast address, not loopback."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return addr.is_private and not (addr.is_loopback or addr.is_link_local or addr.is_multicast)
