"""The assets page's vocabulary: the declared inventory and the hosts nobody declared.

Pure: ``queries`` counts and reads from the store, the ``assets`` blueprint renders.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from correlator.incident import Incident
from correlator.organisation import OrganisationMap, Unit


@dataclass(frozen=True, kw_only=True)
class DeclaredAsset:
    """A unit of the organisation map with its subnets, and how many open incidents hit it."""

    unit: Unit
    depth: int  # 0 for a top unit: how far below it this one sits (for indenting)
    open_incidents: int


@dataclass(frozen=True, kw_only=True)
class UnknownHost:
    """An internal address that incidents involve but no unit of the map owns."""

    ip: str
    first_seen: float
    last_seen: float
    incidents: int


@dataclass(frozen=True, kw_only=True)
class Inventory:
    """What the assets page shows: declared units, then the hosts missing from the map."""

    declared: tuple[DeclaredAsset, ...]
    unknown: tuple[UnknownHost, ...]


def declared_assets(
    organisation: OrganisationMap, visible: frozenset[str] | None, open_counts: Mapping[str, int]
) -> tuple[DeclaredAsset, ...]:
    """The units ``visible`` names (None: all) in map order, each with its open incidents."""
    return tuple(
        DeclaredAsset(
            unit=unit,
            depth=len(organisation.lineage(unit.code)) - 1,
            open_incidents=open_counts.get(unit.code, 0),
        )
        for unit in organisation.units
        if visible is None or unit.code in visible
    )


def unknown_hosts(
    incidents: Iterable[Incident], organisation: OrganisationMap
) -> tuple[UnknownHost, ...]:
    """Private addresses among the incidents' attackers and victims that the map does not
    place, by address, with the span of the incidents naming them."""
    seen: dict[str, UnknownHost] = {}
    for incident in incidents:
        for ip in {*incident.attackers, *incident.victims}:
            if not _internal(ip) or organisation.locate(ip) is not None:
                continue
            known = seen.get(ip) or UnknownHost(
                ip=ip, first_seen=incident.first_seen, last_seen=incident.last_seen, incidents=0
            )
            seen[ip] = UnknownHost(
                ip=ip,
                first_seen=min(incident.first_seen, known.first_seen),
                last_seen=max(incident.last_seen, known.last_seen),
                incidents=known.incidents + 1,
            )
    return tuple(seen[ip] for ip in sorted(seen, key=ipaddress.ip_address))


INTERNAL = tuple(
    ipaddress.ip_network(net)
    for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
"""Address ranges a city host may use (RFC 1918, ULA); ``is_private`` also admits the
documentation ranges attackers are written with in tests and reports."""


def _internal(ip: str) -> bool:
    """Whether ``ip`` is in an internal range (attacker strings may be anything)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in net for net in INTERNAL if net.version == address.version)
