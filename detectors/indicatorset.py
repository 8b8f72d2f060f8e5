"""A set of indicators that answers "is this listed?" without scanning a list.

- Addresses and networks: every network is an interval of integers; the intervals of each IP
  version are sorted and merged into two numpy arrays, so membership of one address (or a
  whole batch) is one ``searchsorted``. Only an address inside an interval is then resolved
  to its indicators, by looking up its network at each prefix length the set holds (networks
  nest, they never partly overlap, so this finds every covering entry).
- Domains: a hash table of names; a name is looked up label by label from the left, so a
  listed domain matches all its subdomains.
- URLs: a hash table of normalised URLs.

Entries with the same value (several feeds) are chained, and expiry is checked against the
time passed in (the event's), never the clock.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from detectors.addressranges import covering_rows
from detectors.indicators import Indicator, IndicatorKind, normal_url

IntArray = npt.NDArray[np.int64]
Row = tuple[IndicatorKind, str, str, int, float | None]
"""An indicator as stored: kind, value, source, confidence, expiry (epoch seconds or None)."""
BITS = {4: 32, 6: 128}


def address_int(ip: str) -> tuple[int, int] | None:
    """The IP version and integer value of an address, None if ``ip`` is not one."""
    try:
        return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, ip), "big")
    except OSError:
        pass
    try:
        return 6, int.from_bytes(socket.inet_pton(socket.AF_INET6, ip.partition("%")[0]), "big")
    except (OSError, ValueError):
        return None


def _network_int(value: str) -> tuple[int, int, int]:
    """Version, network integer and prefix length of a normalised ``a.b.c.d/p`` network."""
    address, _, prefix = value.partition("/")
    parsed = address_int(address)
    if parsed is None:
        raise ValueError(f"value: {value!r} is not a network")
    return parsed[0], parsed[1], int(prefix)


class _Intervals:
    """Sorted, merged ``[lo, hi]`` intervals of one IP version, for ``searchsorted`` lookups."""

    def __init__(self, starts: Sequence[int], ends: Sequence[int], version: int) -> None:
        # IPv4 fits int64; IPv6 needs Python ints, held in object arrays (feeds list few).
        dtype: Any = np.int64 if version == 4 else object
        lo = np.array(starts, dtype=dtype)
        hi = np.array(ends, dtype=dtype)
        order = np.argsort(lo, kind="stable")
        lo, hi = lo[order], hi[order]
        if len(lo):
            reach = np.maximum.accumulate(hi)
            # A new interval begins where a start lies beyond everything before it (+1 merges
            # adjacent ranges too: 10.0.0.0/25 and 10.0.0.128/25 become one).
            first = np.concatenate(([True], lo[1:] > reach[:-1] + 1)).astype(bool)
            starts_at = np.flatnonzero(first)
            lo, hi = lo[starts_at], np.maximum.reduceat(reach, starts_at)
        self.lo, self.hi = lo, hi

    def __len__(self) -> int:
        return len(self.lo)

    def contains_one(self, value: int) -> bool:
        """Whether one value lies inside an interval (no array built: about 3 µs)."""
        at = int(self.lo.searchsorted(value, side="right")) - 1
        return at >= 0 and bool(value <= self.hi[at])

    def contains(self, values: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
        """Which of ``values`` lie inside an interval (vectorised)."""
        return covering_rows(self.lo, self.hi, values) >= 0


class IndicatorSet:
    """Indicators indexed for lookup by address, name or URL; immutable once built."""

    def __init__(self, indicators: Iterable[Indicator] = ()) -> None:
        self._build((i.kind, i.value, i.source, i.confidence, i.expires) for i in indicators)

    @classmethod
    def from_rows(cls, rows: Iterable[Row]) -> IndicatorSet:
        """A set built from plain rows, as the database stores them (no object per row)."""
        built = cls.__new__(cls)
        built._build(rows)
        return built

    def _build(self, rows: Iterable[Row]) -> None:
        self._rows: list[Row] = []
        self._next: list[int] = []  # next row with the same key, -1 at the end of a chain
        self._heads: dict[object, int] = {}
        spans: dict[int, tuple[list[int], list[int]]] = {4: ([], []), 6: ([], [])}
        prefixes: dict[int, set[int]] = {4: set(), 6: set()}
        for row in rows:
            kind, value = row[0], row[1]
            key: object = value
            if kind is IndicatorKind.IP:
                version, net, prefix = _network_int(value)
                key = (prefix << BITS[version]) | net
                prefixes[version].add(prefix)
                spans[version][0].append(net)
                spans[version][1].append(net + (1 << (BITS[version] - prefix)) - 1)
            elif kind is IndicatorKind.URL:
                key = ("url", value)
            self._next.append(self._heads.get(key, -1))
            self._heads[key] = len(self._rows)
            self._rows.append(row)
        self._prefixes = {v: tuple(sorted(p, reverse=True)) for v, p in prefixes.items()}
        self._intervals = {v: _Intervals(*spans[v], version=v) for v in (4, 6)}

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def intervals(self) -> int:
        """Merged address intervals held (both IP versions)."""
        return sum(len(i) for i in self._intervals.values())

    def _chain(self, key: object, at: float | None) -> list[Indicator]:
        found, row = [], self._heads.get(key, -1)
        while row >= 0:
            kind, value, source, confidence, expires = self._rows[row]
            if at is None or expires is None or expires > at:
                found.append(
                    Indicator(
                        kind=kind,
                        value=value,
                        source=source,
                        confidence=confidence,
                        expires=expires,
                    )
                )
            row = self._next[row]
        return found

    def match_ip(self, ip: str, at: float | None = None) -> list[Indicator]:
        """Indicators listing ``ip`` or a network holding it, unexpired at time ``at``."""
        parsed = address_int(ip)
        if parsed is None:
            return []
        version, value = parsed
        if not self._intervals[version].contains_one(value):
            return []
        bits, found = BITS[version], []
        for prefix in self._prefixes[version]:
            net = value >> (bits - prefix) << (bits - prefix)
            found.extend(self._chain((prefix << bits) | net, at))
        return found

    def contains_ipv4(self, addresses: IntArray) -> npt.NDArray[np.bool_]:
        """Which IPv4 addresses (as integers) an address or network lists; ignores expiry."""
        return self._intervals[4].contains(addresses)

    def contains_ips(self, ips: Sequence[str]) -> npt.NDArray[np.bool_]:
        """Which of ``ips`` (text, mixed versions) are listed; ignores expiry."""
        parsed = [address_int(ip) for ip in ips]
        result = np.zeros(len(ips), dtype=bool)
        for version in (4, 6):
            where = [n for n, p in enumerate(parsed) if p is not None and p[0] == version]
            if where:
                values = [p[1] for p in parsed if p is not None and p[0] == version]
                dtype: Any = np.int64 if version == 4 else object
                hits = self._intervals[version].contains(np.array(values, dtype=dtype))
                result[where] = hits
        return result

    def match_domain(self, name: str, at: float | None = None) -> list[Indicator]:
        """Indicators listing ``name`` or a domain it is under, unexpired at time ``at``."""
        domain = name.strip().rstrip(".").lower()  # no validation: a bad name just misses
        found: list[Indicator] = []
        start = 0
        while domain.find(".", start) >= 0:  # every suffix of two labels or more
            found.extend(self._chain(domain[start:], at))
            start = domain.index(".", start) + 1
        return found

    def match_url(self, url: str, at: float | None = None) -> list[Indicator]:
        """Indicators listing ``url`` (normalised first), unexpired at time ``at``."""
        normal = normal_url(url)
        return self._chain(("url", normal), at) if normal else []

    def counts(self) -> dict[IndicatorKind, int]:
        """Indicators held per kind."""
        totals = dict.fromkeys(IndicatorKind, 0)
        for row in self._rows:
            totals[row[0]] += 1
        return totals
