"""Threat-intelligence feed parsers for text feeds (plain lists, CSV) and the format sniffer.

Pure: each parser takes the feed's text and returns a :class:`FeedResult`; reading the file
is the caller's job. STIX 2.1 and MISP JSON live in ``detectors.feedjson``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping
from enum import StrEnum

from detectors.feedjson import parse_misp, parse_stix
from detectors.feedrecords import Collector, FeedDefaults, FeedResult
from detectors.indicators import IndicatorKind, Rejection


class FeedFormat(StrEnum):
    """The feed formats NSSA imports; ``auto`` sniffs the text."""

    AUTO = "auto"
    LIST = "list"
    CSV = "csv"
    STIX = "stix"
    MISP = "misp"


COMMENTS = ("#", ";", "//")
"""Line prefixes that mark comments in list and CSV feeds."""

SINKHOLE_ADDRESSES = frozenset({"0.0.0.0", "127.0.0.1", "::", "::1"})
"""First field of hosts-file blocklists (``0.0.0.0 evil.com``): the name is the indicator."""

COLUMNS: Mapping[str, tuple[str, ...]] = {
    "value": ("indicator", "ioc", "ioc_value", "value", "ip", "domain", "url", "host", "dst_ip"),
    "type": ("type", "kind", "ioc_type", "indicator_type", "attribute_type"),
    "confidence": ("confidence", "confidence_level", "score", "confidence_score"),
    "expires": ("expiry", "expires", "expiration", "valid_until", "expiration_date"),
}
"""Header names recognised for each CSV column (lower case); the first match wins."""

TYPES: Mapping[str, IndicatorKind | None] = {
    **dict.fromkeys(
        ("ip", "ipv4", "ipv6", "ip-dst", "ip-src", "cidr", "ip:port"), IndicatorKind.IP
    ),
    **dict.fromkeys(("ipv4-addr", "ipv6-addr", "ip-dst|port", "netblock"), IndicatorKind.IP),
    **dict.fromkeys(("domain", "hostname", "fqdn", "domain-name", "host"), IndicatorKind.DOMAIN),
    **dict.fromkeys(("url", "uri", "link"), IndicatorKind.URL),
}
"""CSV ``type`` values we match; any other type (hashes, e-mail...) is counted unsupported."""


def parse_list(text: str, defaults: FeedDefaults) -> FeedResult:
    """One IP, CIDR, domain or URL per line; comments and hosts-file lines allowed."""
    out = Collector(defaults)
    for line in _content_lines(text):
        fields = line.split()
        value = fields[1] if len(fields) > 1 and fields[0] in SINKHOLE_ADDRESSES else fields[0]
        out.add(value)
    return out.result()


def parse_csv(text: str, defaults: FeedDefaults) -> FeedResult:
    """CSV with or without a header (also a ``# header`` comment line, as abuse.ch writes)."""
    out = Collector(defaults)
    columns: dict[str, int] = {"value": 0}
    for n, line in enumerate(_csv_lines(text)):
        try:  # line by line, so one broken row (a huge field, a stray quote) costs one row
            cells = [c.strip() for c in next(csv.reader([line]), [])]
        except csv.Error:
            out.reject(Rejection.MALFORMED)
            continue
        header = _header(cells) if n == 0 else None
        if header is not None:
            columns = header
        elif any(cells):
            _add_row(out, cells, columns)
    return out.result()


def _add_row(out: Collector, cells: list[str], columns: Mapping[str, int]) -> None:
    def cell(name: str) -> str | None:
        at = columns.get(name)
        return cells[at] if at is not None and at < len(cells) else None

    value, kind_name = cell("value"), (cell("type") or "").lower()
    if not value:
        out.reject(Rejection.MALFORMED)
    elif kind_name and kind_name not in TYPES:
        out.reject(Rejection.UNSUPPORTED)
    else:
        out.add(
            value,
            confidence=cell("confidence"),
            expires=cell("expires"),
            kind=TYPES.get(kind_name),
        )


def _header(cells: list[str]) -> dict[str, int] | None:
    """Column positions when ``cells`` is a header row (it names an indicator column)."""
    names = [c.lower().strip("\"' ") for c in cells]
    found = {
        column: next(n for n, name in enumerate(names) if name in options)
        for column, options in COLUMNS.items()
        if any(name in options for name in names)
    }
    return found if "value" in found else None


def _content_lines(text: str) -> Iterator[str]:
    """Lines without comments (whole-line or trailing ``#``) and blanks."""
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].split("\t#", 1)[0].strip()
        if line and not line.startswith(COMMENTS):
            yield line


def _csv_lines(text: str) -> Iterator[str]:
    """CSV lines; a comment line before the data that names the columns survives as header."""
    data = False
    for raw in io.StringIO(text):
        line = raw.strip()
        if not line:
            continue
        if line.startswith(COMMENTS):
            body = line.lstrip("#;/ ")
            if not data and _header(next(csv.reader([body]), [])) is not None:
                data = True  # a commented-out header, as abuse.ch feeds write it
                yield body
            continue
        data = True
        yield line


def sniff(text: str) -> FeedFormat:
    """Guess a feed's format from its first characters and first content line."""
    head = text.lstrip()[:4096]
    if head.startswith(("{", "[")):
        return FeedFormat.MISP if '"Event"' in head or '"Attribute"' in head else FeedFormat.STIX
    first = next(_content_lines(text), "")
    return FeedFormat.CSV if "," in first else FeedFormat.LIST


PARSERS: Mapping[FeedFormat, Callable[[str, FeedDefaults], FeedResult]] = {
    FeedFormat.LIST: parse_list,
    FeedFormat.CSV: parse_csv,
    FeedFormat.STIX: parse_stix,
    FeedFormat.MISP: parse_misp,
}
"""The parser of each format."""


def parse_feed(text: str, defaults: FeedDefaults, fmt: FeedFormat = FeedFormat.AUTO) -> FeedResult:
    """Parse a feed of any supported format (sniffed when ``fmt`` is auto)."""
    return PARSERS[sniff(text) if fmt is FeedFormat.AUTO else fmt](text, defaults)
