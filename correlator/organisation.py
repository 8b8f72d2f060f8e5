"""The city's organisation map: units, their subnets, criticality and 等保 level.

The map is built once from settings and answers "which unit owns this address" by longest
prefix match, so every incident can be attributed to the county, zone or department it hits.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

LOCATE_CACHE = 200_000
"""Addresses whose unit is remembered before the memo starts again."""


class UnitKind(StrEnum):
    """Level of a unit in the city hierarchy."""

    CITY = "city"
    ZONE = "zone"  # a shared zone such as the municipal government cloud
    COUNTY = "county"  # counties and county-level cities (县, 县级市)
    DISTRICT = "district"  # urban districts and development zones (区, 示范区)
    DEPARTMENT = "department"  # a bureau or office (局, 委, 办)


class Criticality(StrEnum):
    """How much the city depends on a unit's systems."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def weight(self) -> float:
        """Multiplier used by risk scoring (1.0 for medium)."""
        return _WEIGHTS[self.value]


_WEIGHTS = {"low": 0.8, "medium": 1.0, "high": 1.2, "critical": 1.4}
"""Criticality multipliers by value (a constant: scoring reads one per incident)."""


@dataclass(frozen=True, kw_only=True)
class Unit:
    """A county, district, zone or department, with the subnets it owns."""

    code: str
    name: str
    name_en: str = ""
    kind: UnitKind
    parent: str | None = None
    subnets: tuple[str, ...] = ()
    criticality: Criticality = Criticality.MEDIUM
    mlps_level: int = 2  # 等保 (Multi-Level Protection Scheme) level, 1 to 5
    contact: str = ""


@dataclass(frozen=True)
class OrganisationMap:
    """All units of the city, addressable by code and by IP address."""

    units: tuple[Unit, ...] = field(default=())

    @cached_property
    def by_code(self) -> Mapping[str, Unit]:
        """Units keyed by their code."""
        return {unit.code: unit for unit in self.units}

    @cached_property
    def _prefixes(self) -> list[tuple[Network, Unit]]:
        nets = [(ipaddress.ip_network(net), unit) for unit in self.units for net in unit.subnets]
        return sorted(nets, key=lambda pair: pair[0].prefixlen, reverse=True)

    @cached_property
    def _located(self) -> dict[str, Unit | None]:
        # Correlation asks about the same few thousand addresses again and again.
        return {}

    def locate(self, ip: str | None) -> Unit | None:
        """Return the most specific unit owning ``ip``, or None when no unit claims it."""
        if not ip:
            return None
        known = self._located
        if ip not in known:
            if len(known) >= LOCATE_CACHE:
                known.clear()  # a long-running daemon meets unboundedly many addresses
            known[ip] = self._lookup(ip)
        return known[ip]

    def _lookup(self, ip: str) -> Unit | None:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return None
        for net, unit in self._prefixes:
            if addr.version == net.version and addr in net:
                return unit
        return None

    def is_internal(self, ip: str | None) -> bool:
        """Whether some unit of the city owns ``ip``."""
        return self.locate(ip) is not None

    def lineage(self, code: str) -> tuple[Unit, ...]:
        """The unit and its ancestors, nearest first."""
        chain: list[Unit] = []
        unit = self.by_code.get(code)
        while unit is not None and unit not in chain:
            chain.append(unit)
            unit = self.by_code.get(unit.parent) if unit.parent else None
        return tuple(chain)

    def units_of(self, ips: Iterable[str]) -> tuple[Unit, ...]:
        """Distinct units owning any of ``ips``, in first-seen order."""
        seen: dict[str, Unit] = {}
        for ip in ips:
            unit = self.locate(ip)
            if unit is not None:
                seen.setdefault(unit.code, unit)
        return tuple(seen.values())
