"""What detectors know about the site: its networks, the addresses in use, its own scanners.

Built once from settings by the pipeline (the organisation map's subnets plus ``[site]``);
detectors cannot import the correlator, so this small record is how they learn the map.
"""

from __future__ import annotations

import bisect
import dataclasses
import ipaddress
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from detectors.alert import Alert, Severity

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, kw_only=True)
class Site:
    """The organisation's address space as detectors see it."""

    internal: tuple[str, ...] = ()
    """Networks of the organisation (the organisation map adds every unit's subnets)."""
    assets: tuple[str, ...] = ()
    """Addresses or networks in use; the rest of ``internal`` is dark space. Empty: unknown."""
    benign_scanners: tuple[str, ...] = ()
    """Addresses or networks of the city's own scanners: their alerts are labelled, low."""
    units: tuple[tuple[str, str], ...] = field(default=(), metadata={"site": True})
    """(network, unit code) pairs of the organisation map, filled in by the pipeline."""

    def __post_init__(self) -> None:
        for name in ("internal", "assets", "benign_scanners"):
            for net in getattr(self, name):
                try:
                    ipaddress.ip_network(net, strict=False)
                except ValueError as exc:
                    raise ValueError(f"{name}: {net!r} is not a network ({exc})") from exc

    @cached_property
    def _spans(self) -> dict[str, _Spans]:
        return {
            name: _Spans(getattr(self, name)) for name in ("internal", "assets", "benign_scanners")
        }

    def _within(self, ip: str, name: str) -> bool:
        spans = self._spans[name]
        return bool(spans.starts) and spans.holds(ip)

    def is_internal(self, ip: str) -> bool:
        """Whether ``ip`` belongs to the organisation."""
        return self._within(ip, "internal")

    def is_dark(self, ip: str) -> bool:
        """Whether ``ip`` is inside the organisation but no asset uses it."""
        return bool(self.assets) and self.is_internal(ip) and not self._within(ip, "assets")

    def unit_of(self, ip: str) -> str | None:
        """Code of the most specific unit whose network holds ``ip``, or None."""
        addr = _address(ip) if self.units else None
        if addr is None:
            return None
        owners = [(net, code) for net, code in self._unit_nets if addr in net]
        return max(owners, key=lambda pair: pair[0].prefixlen)[1] if owners else None

    @cached_property
    def _unit_nets(self) -> tuple[tuple[Network, str], ...]:
        return tuple((ipaddress.ip_network(net, strict=False), code) for net, code in self.units)

    def is_benign_scanner(self, ip: str | None) -> bool:
        """Whether ``ip`` is one of the site's own, listed scanners."""
        return ip is not None and self._within(ip, "benign_scanners")

    def label(self, alert: Alert) -> Alert:
        """The alert, marked low and ``benign_scanner`` when its source is a listed scanner."""
        if not self.is_benign_scanner(alert.source_ip):
            return alert
        return dataclasses.replace(
            alert,
            severity=Severity.LOW,
            facts={**alert.facts, "benign_scanner": 1},
            explanation=f"{alert.explanation} (known benign scanner, listed in settings)",
        )


class _Spans:
    """Networks as sorted, merged integer ranges: membership is one bisection, not a scan."""

    def __init__(self, nets: tuple[str, ...]) -> None:
        ranges = sorted(_span(ipaddress.ip_network(n, strict=False)) for n in nets)
        merged: list[list[int]] = []
        for first, last in ranges:
            if merged and first <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], last)
            else:
                merged.append([first, last])
        self.starts = [first for first, _ in merged]
        self.ends = [last for _, last in merged]

    def holds(self, ip: str) -> bool:
        """Whether the address ``ip`` lies in one of the networks (unparsable: no)."""
        key = _address_key(ip)
        if key is None:
            return False
        i = bisect.bisect_right(self.starts, key) - 1
        return i >= 0 and key <= self.ends[i]


def _span(net: Network) -> tuple[int, int]:
    """A network's first and last address as keys of :func:`_address_key`."""
    base = net.version << 128  # IPv4 and IPv6 keys never overlap
    return base | int(net.network_address), base | int(net.broadcast_address)


@lru_cache(maxsize=65_536)
def _address_key(ip: str) -> int | None:
    """The address as one integer, its IP version in the bits above 128 (None: unparsable)."""
    addr = _address(ip)
    return None if addr is None else (addr.version << 128) | int(addr)


@lru_cache(maxsize=65_536)
def _address(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The parsed address (cached: detectors ask about the same hosts again and again)."""
    try:
        return ipaddress.ip_address(ip)
    except ValueError:
        return None


@lru_cache(maxsize=65_536)
def is_unicast(ip: str) -> bool:
    """Whether ``ip`` names one host: not multicast, broadcast or unspecified.

    Without the mask a directed broadcast is guessed from a final octet of 255, the usual
    /24 broadcast that NetBIOS and discovery protocols send to and nobody answers.
    """
    addr = _address(ip)
    if addr is None or addr.is_multicast or addr.is_unspecified:
        return False
    return not (addr.version == 4 and ip.endswith(".255"))
