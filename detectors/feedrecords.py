"""What every feed parser shares: defaults from the importer, the result, and value parsing.

Parsers never raise on a bad entry: they count it under a :class:`Rejection` and go on, so one
broken line in a million-line feed costs one line.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from detectors.indicators import Indicator, IndicatorKind, Rejection, classify

CONFIDENCE_WORDS = {"high": 85, "medium": 50, "med": 50, "low": 15, "none": 0}
"""Word confidences (STIX 2.1 appendix A, High/Med/Low scale) on the 0-100 scale."""

_IPV4_PORT = re.compile(r"(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}")


@dataclass(frozen=True, kw_only=True)
class FeedDefaults:
    """What an entry gets when the feed does not say: the importer's source name and limits."""

    source: str
    confidence: int = 50
    expires: float | None = None

    def __post_init__(self) -> None:
        if not self.source.strip():
            raise ValueError("source: a feed needs a name")
        if not 0 <= self.confidence <= 100:
            raise ValueError(f"confidence: {self.confidence!r} is out of range")


@dataclass(frozen=True, kw_only=True)
class FeedResult:
    """The indicators a feed yielded, and how many entries were rejected, by reason."""

    indicators: tuple[Indicator, ...]
    rejected: Mapping[Rejection, int] = field(default_factory=dict)
    entries: int = 0
    """Entries looked at (lines, CSV rows, STIX comparisons, MISP attributes)."""


class Collector:
    """Accumulates one feed's indicators and rejections while a parser walks it."""

    def __init__(self, defaults: FeedDefaults) -> None:
        self.defaults = defaults
        self.indicators: list[Indicator] = []
        self.rejected: Counter[Rejection] = Counter()
        self.entries = 0

    def reject(self, reason: Rejection) -> None:
        """Count one entry that could not be used."""
        self.entries += 1
        self.rejected[reason] += 1

    def add(
        self,
        value: str,
        *,
        confidence: int | str | None = None,
        expires: float | str | None = None,
        kind: IndicatorKind | None = None,
    ) -> None:
        """Classify, normalise and keep one value, or count why not."""
        level = parse_confidence(confidence, self.defaults.confidence)
        until = parse_expiry(expires, self.defaults.expires)
        if kind is IndicatorKind.URL and "://" not in value:
            value = f"http://{value.strip()}"  # URL feeds often leave the scheme out
        found = classify(strip_port(value))
        if isinstance(level, Rejection) or isinstance(until, Rejection):
            self.reject(level if isinstance(level, Rejection) else Rejection.BAD_EXPIRY)
        elif isinstance(found, Rejection):
            self.reject(found)
        elif kind is not None and found[0] is not kind and kind is not IndicatorKind.DOMAIN:
            self.reject(Rejection.MALFORMED)  # typed "url" or "ip" but holds something else
        else:
            self.entries += 1
            self.indicators.append(
                Indicator(
                    kind=found[0],
                    value=found[1],
                    source=self.defaults.source,
                    confidence=level,
                    expires=until,
                )
            )

    def result(self) -> FeedResult:
        """The frozen result."""
        return FeedResult(
            indicators=tuple(self.indicators), rejected=dict(self.rejected), entries=self.entries
        )


def strip_port(value: str) -> str:
    """``1.2.3.4:443`` and ``1.2.3.4|443`` (ThreatFox, MISP ip|port) as the bare address."""
    value = value.strip().partition("|")[0]
    if ":" not in value or value.count(":") > 1:
        return value  # no port, or an IPv6 address
    match = _IPV4_PORT.fullmatch(value)
    return match.group(1) if match else value


def parse_confidence(value: int | str | None, default: int) -> int | Rejection:
    """A confidence from a number or a word, 0-100; ``default`` when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value <= 100 else Rejection.BAD_CONFIDENCE
    if isinstance(value, str) and value.strip().lower() in CONFIDENCE_WORDS:
        return CONFIDENCE_WORDS[value.strip().lower()]
    try:
        level = int(float(value))
    except (TypeError, ValueError):
        return Rejection.BAD_CONFIDENCE
    return level if 0 <= level <= 100 else Rejection.BAD_CONFIDENCE


def parse_expiry(value: float | str | None, default: float | None) -> float | Rejection | None:
    """An expiry as epoch seconds, from epoch seconds or an ISO 8601 date or time (UTC)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, int | float):
        return float(value)
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return Rejection.BAD_EXPIRY
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()
