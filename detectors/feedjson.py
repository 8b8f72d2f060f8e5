"""Threat-intelligence feed parsers for JSON feeds: STIX 2.1 bundles and MISP events.

Pure: each takes the feed's text. Only what can be matched on the wire is kept: address,
domain and URL observables. A STIX pattern's OR'ed comparisons become one indicator each;
an AND'ed pattern needs all its parts at once, which one value cannot show, so it is counted
unsupported rather than matched loosely.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from detectors.feedrecords import Collector, FeedDefaults, FeedResult
from detectors.indicators import IndicatorKind, Rejection

STIX_OBJECTS: Mapping[str, IndicatorKind] = {
    "ipv4-addr": IndicatorKind.IP,
    "ipv6-addr": IndicatorKind.IP,
    "domain-name": IndicatorKind.DOMAIN,
    "url": IndicatorKind.URL,
}
"""STIX cyber-observable types matched, by the kind of indicator they give."""

MISP_TYPES: Mapping[str, IndicatorKind] = {
    "ip-src": IndicatorKind.IP,
    "ip-dst": IndicatorKind.IP,
    "ip-src|port": IndicatorKind.IP,
    "ip-dst|port": IndicatorKind.IP,
    "domain": IndicatorKind.DOMAIN,
    "hostname": IndicatorKind.DOMAIN,
    "url": IndicatorKind.URL,
    "uri": IndicatorKind.URL,
}
"""MISP attribute types matched; ``domain|ip`` is split into both halves."""

_COMPARISON = re.compile(r"([a-z0-9-]+):value\s*(=|ISSUBSET)\s*'((?:[^'\\]|\\.)*)'", re.IGNORECASE)
_ANY_COMPARISON = re.compile(
    r"[a-z0-9-]+:[a-z0-9_.'\[\]*-]+\s*(?:!?=|[<>]=?|LIKE|MATCHES|ISSUBSET|ISSUPERSET|IN)",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'")


def parse_stix(text: str, defaults: FeedDefaults) -> FeedResult:
    """Indicator objects of a STIX 2.1 bundle (or a bare object, or a list of objects)."""
    out = Collector(defaults)
    document = _json(text, out)
    for obj in _stix_objects(document):
        if obj.get("type") != "indicator":
            continue
        if obj.get("revoked") is True:
            out.reject(Rejection.NOT_FOR_DETECTION)
        elif obj.get("pattern_type", "stix") != "stix" or not isinstance(obj.get("pattern"), str):
            out.reject(Rejection.UNSUPPORTED)  # Sigma, YARA, Snort patterns
        else:
            _stix_pattern(out, obj)
    return out.result()


def _stix_pattern(out: Collector, obj: Mapping[str, Any]) -> None:
    pattern: str = obj["pattern"]
    bare = _QUOTED.sub("''", pattern)  # quoted values may hold anything; count on the rest
    found = _COMPARISON.findall(pattern)
    others = len(_ANY_COMPARISON.findall(bare)) - len(found)
    if re.search(r"\b(AND|FOLLOWEDBY)\b", bare) or (others and not found):
        out.reject(Rejection.UNSUPPORTED)
        return
    if not found:
        out.reject(Rejection.MALFORMED)
        return
    for object_type, _, value in found:
        kind = STIX_OBJECTS.get(object_type.lower())
        if kind is None:
            out.reject(Rejection.UNSUPPORTED)
            continue
        out.add(
            value.replace("\\'", "'").replace("\\\\", "\\"),
            confidence=obj.get("confidence"),
            expires=obj.get("valid_until"),
            kind=kind,
        )
    for _ in range(others):  # OR'ed comparisons of properties we cannot match (file hashes)
        out.reject(Rejection.UNSUPPORTED)


def _stix_objects(document: Any) -> Iterator[Mapping[str, Any]]:
    items = document.get("objects", [document]) if isinstance(document, dict) else document
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            yield item


def parse_misp(text: str, defaults: FeedDefaults) -> FeedResult:
    """Attributes of MISP events (``Event.Attribute`` and ``Event.Object[].Attribute``)."""
    out = Collector(defaults)
    for attribute in _misp_attributes(_json(text, out)):
        kind_name = str(attribute.get("type", "")).lower()
        value = attribute.get("value")
        if not isinstance(value, str) or not value.strip():
            out.reject(Rejection.MALFORMED)
        elif kind_name not in MISP_TYPES and kind_name != "domain|ip":
            out.reject(Rejection.UNSUPPORTED)
        elif attribute.get("to_ids") in (False, 0, "0", "false"):
            out.reject(Rejection.NOT_FOR_DETECTION)  # context, not a detection indicator
        elif kind_name == "domain|ip":
            name, _, address = value.partition("|")
            out.add(name, kind=IndicatorKind.DOMAIN)
            out.add(address, kind=IndicatorKind.IP)
        else:
            out.add(value, kind=MISP_TYPES[kind_name])
    return out.result()


def _misp_attributes(document: Any) -> Iterator[Mapping[str, Any]]:
    """Every attribute of every event, whatever wrapper the export used."""
    if isinstance(document, dict) and "response" in document:
        document = document["response"]
    events = document if isinstance(document, list) else [document]
    for wrapped in events:
        if not isinstance(wrapped, dict):
            continue
        event = wrapped.get("Event", wrapped)
        if not isinstance(event, dict):
            continue
        attributes = list(_dicts(event.get("Attribute")))
        for obj in _dicts(event.get("Object")):
            attributes.extend(_dicts(obj.get("Attribute")))
        yield from attributes


def _dicts(value: Any) -> Iterator[Mapping[str, Any]]:
    for item in value if isinstance(value, list) else []:
        if isinstance(item, dict):
            yield item


def _json(text: str, out: Collector) -> Any:
    """The parsed document, or None (counted as one malformed entry) when it is not JSON."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        out.reject(Rejection.MALFORMED)
        return None
