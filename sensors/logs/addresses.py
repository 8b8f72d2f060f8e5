"""Canonical text of IP addresses found in logs, so the same host is always spelt the same."""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
"""A dotted quad without leading zeros: text it matches is already canonical."""
_IPV4 = re.compile(IPV4)


def canonical_ip(text: str) -> str | None:
    """The compressed form of an IPv4/IPv6 address (IPv4-mapped IPv6 unwrapped), else None."""
    if _IPV4.fullmatch(text):  # the common case, without ipaddress's cost (~10x slower)
        return text
    return _parsed_ip(text)


@lru_cache(maxsize=65_536)
def _parsed_ip(text: str) -> str | None:
    try:
        address = ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def host_or_ip(text: str) -> tuple[str | None, str | None]:
    """Split a logged peer into (ip, None) when it is an address, else (None, hostname)."""
    ip = canonical_ip(text)
    return (ip, None) if ip is not None else (None, text or None)
