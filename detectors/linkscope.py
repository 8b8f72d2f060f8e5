"""Which destinations every host on a segment receives: broadcast and link-local multicast.

A packet to such an address costs every host on the link an interrupt, and an echo request
sent there is answered by all of them (the smurf reflection). Routed multicast groups (IPTV,
239/8 streams) are left out: only subscribers receive them, and they legitimately run fast.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from detectors.site import is_unicast

LINK_LOCAL_V4 = ipaddress.ip_network("224.0.0.0/24")
"""IPv4 local network control block (RFC 5771): never forwarded, seen by the whole link."""
LINK_WIDE_PREFIXES = ("224.0.0.", "ff", "FF", "Ff", "fF")
"""How every link-wide address other than a x.x.x.255 broadcast is spelled at its start."""
LINK_SCOPE = 2
"""IPv6 multicast scopes up to link-local (RFC 4291: 1 interface-local, 2 link-local)."""


@lru_cache(maxsize=65_536)
def is_link_wide(ip: str) -> bool:
    """Whether ``ip`` is a broadcast or link-local multicast address every neighbour takes."""
    if not ip.endswith(".255") and not ip.startswith(LINK_WIDE_PREFIXES):
        return False  # the common unicast case, without parsing
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if addr.version == 6:
        return addr.is_multicast and addr.packed[1] & 0x0F <= LINK_SCOPE
    if addr in LINK_LOCAL_V4:
        return True
    return not addr.is_multicast and not addr.is_unspecified and not is_unicast(ip)


@lru_cache(maxsize=65_536)
def is_group(ip: str) -> bool:
    """Whether ``ip`` addresses a group (broadcast or multicast of any scope), not one host."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return not addr.is_unspecified and not is_unicast(ip)
