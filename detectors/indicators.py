"""Threat-intelligence indicators: the record, its kinds, and the one normal form of each value.

Feeds write the same thing many ways (``1.2.3.4/32``, ``HTTP://Evil.COM:80/x``, ``Evil.com.``);
every value is normalised once, when parsed, so matching is plain equality and hashing.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit, urlunsplit


class IndicatorKind(StrEnum):
    """What an indicator names: an address or network, a domain, or a URL."""

    IP = "ip"  # one address or a CIDR network, IPv4 or IPv6
    DOMAIN = "domain"  # a domain and every name under it
    URL = "url"  # one URL, scheme and host lower case, default port dropped


class Rejection(StrEnum):
    """Why a feed entry was not imported; counted per reason, never raised."""

    MALFORMED = "malformed"  # neither an address, a network, a domain nor a URL
    UNSUPPORTED = "unsupported"  # a well-formed entry of a type we do not match (hash, email)
    BAD_CONFIDENCE = "bad_confidence"  # confidence not a number from 0 to 100
    BAD_EXPIRY = "bad_expiry"  # expiry not a date or epoch seconds
    NOT_FOR_DETECTION = "not_for_detection"  # MISP attribute with to_ids false
    TOO_BROAD = "too_broad"  # a network wider than MIN_PREFIX: would flag much of the Internet


MIN_PREFIX = {4: 8, 6: 16}
"""Widest network accepted per IP version; a /0-/7 entry in a feed is an error, not intel."""

DEFAULT_PORTS = {"http": 80, "https": 443}
"""Ports dropped from URLs because they are implied by the scheme."""

_LABEL = r"(?!-)[a-z0-9_-]{1,63}(?<!-)"
_NAME = re.compile(rf"(?:{_LABEL}\.)+{_LABEL}")
_IPV4 = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}")


@dataclass(frozen=True, kw_only=True, slots=True)
class Indicator:
    """One listed address, network, domain or URL, with where it came from and until when."""

    kind: IndicatorKind
    value: str
    """Normalised: ``1.2.3.0/24``, ``2001:db8::1/128``, ``evil.com``, ``http://evil.com/x``."""
    source: str
    """The feed's name, as given on import."""
    confidence: int = 50
    """How sure the feed is, 0-100 (STIX 2.1 scale)."""
    expires: float | None = None
    """Epoch seconds after which the indicator no longer matches; None: never."""

    def __post_init__(self) -> None:
        if not 0 <= self.confidence <= 100:
            raise ValueError(f"confidence: {self.confidence!r} is out of range")


def normal_network(text: str) -> str | None:
    """``text`` as a normalised network (an address gets /32 or /128), None if it is not one."""
    net = _network(text.strip())
    return None if net is None else str(net)


def _network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    if not value or not (value[0].isdigit() or ":" in value):
        return None  # a name: skip the (slow, raising) address parser
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


def normal_domain(text: str) -> str | None:
    """``text`` as a lower-case domain of two labels or more, None if it is not one.

    Feeds often defang names (``evil[.]com``); the brackets are removed first. A bare
    address is not a domain.
    """
    name = text.strip().lower().replace("[.]", ".").rstrip(".")
    if name.startswith("*."):
        name = name[2:]  # a wildcard entry names the domain and its subdomains, as all do here
    if len(name) > 253 or not _NAME.fullmatch(name):
        return None
    if name.rpartition(".")[2].isdigit():
        return None  # 1.2.3.4 and similar: an address, not a name
    return name


def normal_url(text: str) -> str | None:
    """``text`` as a normalised http(s) URL, None if it is not one.

    The scheme and host are lower-cased, the default port and fragment dropped and an empty
    path becomes ``/``; path and query are kept as written (servers treat them case-sensitively).
    """
    raw = text.strip().replace("[.]", ".")
    if raw[:4].lower() == "hxxp":  # defanged scheme
        raw = "http" + raw[4:]
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in DEFAULT_PORTS or not host:
        return None
    if normal_domain(host) is None and normal_network(host) is None:
        return None
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def classify(text: str) -> tuple[IndicatorKind, str] | Rejection:
    """The kind and normal form of one feed value, or why it cannot be used."""
    value = text.strip()
    if _IPV4.fullmatch(value):  # the commonest entry, parsed without ipaddress
        try:
            socket.inet_pton(socket.AF_INET, value)  # strict: no octal, no octet above 255
        except OSError:
            return Rejection.MALFORMED
        return IndicatorKind.IP, f"{value}/32"
    if "://" in value:
        url = normal_url(value)
        return (IndicatorKind.URL, url) if url else Rejection.MALFORMED
    net = _network(value)
    if net is not None:
        if net.prefixlen < MIN_PREFIX[net.version]:
            return Rejection.TOO_BROAD
        return IndicatorKind.IP, str(net)
    domain = normal_domain(value)
    return (IndicatorKind.DOMAIN, domain) if domain else Rejection.MALFORMED


def url_of(host: str, uri: str, port: int | None, *, tls: bool = False) -> str | None:
    """The normalised URL of an HTTP request (origin-form ``uri`` plus ``Host``), or None."""
    if "://" in uri:  # absolute form, as sent to proxies
        return normal_url(uri)
    scheme = "https" if tls else "http"
    netloc = host if port is None or ":" in host else f"{host}:{port}"
    return normal_url(f"{scheme}://{netloc}{uri if uri.startswith('/') else '/' + uri}")
