"""What detectors know about the site: its networks, the addresses in use, its own scanners.

Built once from settings by the pipeline (the organisation map's subnets plus ``[site]``);
detectors cannot import the correlator, so this small record is how they learn the map.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from dataclasses import dataclass
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

    def __post_init__(self) -> None:
        for name in ("internal", "assets", "benign_scanners"):
            for net in getattr(self, name):
                try:
                    ipaddress.ip_network(net, strict=False)
                except ValueError as exc:
                    raise ValueError(f"{name}: {net!r} is not a network ({exc})") from exc

    @cached_property
    def _nets(self) -> dict[str, tuple[Network, ...]]:
        return {
            name: tuple(ipaddress.ip_network(n, strict=False) for n in getattr(self, name))
            for name in ("internal", "assets", "benign_scanners")
        }

    def _within(self, ip: str, name: str) -> bool:
        nets = self._nets[name]
        addr = _address(ip) if nets else None
        return addr is not None and any(addr in net for net in nets)

    def is_internal(self, ip: str) -> bool:
        """Whether ``ip`` belongs to the organisation."""
        return self._within(ip, "internal")

    def is_dark(self, ip: str) -> bool:
        """Whether ``ip`` is inside the organisation but no asset uses it."""
        return bool(self.assets) and self.is_internal(ip) and not self._within(ip, "assets")

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
