"""Where outside addresses are registered: country and autonomous system, read offline.

- Country: ``iptocc`` (PyPI), the five Regional Internet Registries' delegated statistics
  built into the wheel: the country a block is *registered* to, not where it is used.
- Autonomous system: the ``@ip-location-db/asn`` CSV files (RouteViews, the RIRs and DB-IP's
  IP-to-ASN Lite; CC BY 4.0), which ``make setup`` installs from npm under the virtualenv
  (``DEFAULT_DATABASE``); ``[geo] database`` names another folder holding the same files.

Each IP version's ranges are sorted numpy arrays, so a whole batch is one ``searchsorted``.
Nothing is fetched at run time; a missing database leaves the AS unknown, never fails a page.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import ipaddress
import logging
import resource
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import iptocc
import numpy as np
import numpy.typing as npt
import pandas as pd

from detectors.addressranges import covering_rows
from detectors.indicatorset import address_int

log = logging.getLogger(__name__)

DEFAULT_DATABASE = Path(sys.prefix) / "share" / "nssa" / "asn"
"""Where ``make setup`` unpacks the ``@ip-location-db/asn`` files (inside the virtualenv)."""
FILES = {4: "asn-ipv4-num.csv", 6: "asn-ipv6-num.csv"}
"""The database's file per IP version: ``start,end,asn,organisation``, addresses as integers."""
RESERVED = tuple(
    ipaddress.ip_network(n)
    for n in (
        # IANA IPv4 special-purpose registry, multicast and the former class E.
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/3",
        # IANA IPv6 special-purpose registry (::/64 holds ::, ::1 and the IPv4-compatible
        # forms), documentation, unique-local, link-local and multicast.
        "::/64",
        "64:ff9b::/96",
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "3fff::/20",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
)
"""Private, shared, loopback, link-local, documentation and multicast space: no origin."""
_V4_MAPPED = 0xFFFF << 32  # ::ffff:a.b.c.d is the IPv4 address a.b.c.d


class OriginKind(StrEnum):
    """Whether an address can have an origin at all."""

    PUBLIC = "public"  # routable: country and AS as far as the databases know them
    RESERVED = "reserved"  # internal or reserved space (``RESERVED``): no country, no AS


@dataclass(frozen=True, kw_only=True, slots=True)
class Origin:
    """Where one address is registered: country and autonomous system, each None if unknown."""

    kind: OriginKind
    country: str | None = None  # ISO 3166-1 alpha-2 of the registration (RIR statistics)
    asn: int | None = None
    organisation: str | None = None  # the AS's holder, as the database names it


RESERVED_ORIGIN = Origin(kind=OriginKind.RESERVED)
"""The origin of every internal or reserved address."""


class _Ranges:
    """One IP version's ranges, sorted by start: which range (row) holds each address."""

    def __init__(self, starts: npt.NDArray[Any], ends: npt.NDArray[Any]) -> None:
        self.starts, self.ends = starts, ends

    def rows(self, values: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
        """The row holding each of ``values``, -1 where none does."""
        return covering_rows(self.starts, self.ends, values)


def _reserved_ranges(version: int) -> _Ranges:
    nets = sorted(
        (int(n.network_address), int(n.broadcast_address)) for n in RESERVED if n.version == version
    )
    dtype: Any = np.int64 if version == 4 else object
    return _Ranges(
        np.array([a for a, _ in nets], dtype=dtype), np.array([b for _, b in nets], dtype=dtype)
    )


@dataclass(frozen=True, kw_only=True)
class LoadFigures:
    """What loading the AS database cost: for the logs and the benchmark."""

    ranges: int  # rows of both IP versions
    organisations: int  # distinct holder names
    seconds: float  # CPU seconds to read and index the files
    rss_growth_mb: float  # growth of the process's peak resident memory while loading


class Geography:
    """Country and AS lookups for many addresses at once; immutable once loaded."""

    def __init__(
        self,
        ranges: dict[int, _Ranges],
        asns: dict[int, npt.NDArray[np.uint32]],
        holders: dict[int, npt.NDArray[np.int32]],
        names: Sequence[str],
    ) -> None:
        self._ranges, self._asns, self._holders, self._names = ranges, asns, holders, names
        self._reserved = {v: _reserved_ranges(v) for v in (4, 6)}
        self.figures = LoadFigures(ranges=0, organisations=len(names), seconds=0.0, rss_growth_mb=0)

    @classmethod
    def without_asn(cls) -> Geography:
        """Countries only: what is known when the AS database is not installed."""
        empty = {
            v: _Ranges(np.array([], dtype=np.int64), np.array([], dtype=np.int64)) for v in (4, 6)
        }
        none = {v: np.array([], dtype=np.uint32) for v in (4, 6)}
        return cls(empty, none, {v: np.array([], dtype=np.int32) for v in (4, 6)}, ())

    @classmethod
    def load(cls, directory: Path) -> Geography:
        """The database in ``directory`` (``FILES``).

        :raise OSError: when a file is missing or unreadable.
        :raise ValueError: when a file is not the expected CSV.
        """
        began, rss = time.process_time(), _peak_rss_mb()
        frames = {v: _read(directory / FILES[v], v) for v in (4, 6)}
        # One holder-name pool for both versions: most holders announce v4 and v6.
        codes, names = pd.factorize(pd.concat([f["org"] for f in frames.values()]))
        split = len(frames[4])
        holders = {4: codes[:split].astype(np.int32), 6: codes[split:].astype(np.int32)}
        geography = cls(
            {v: _Ranges(f["start"].to_numpy(), f["end"].to_numpy()) for v, f in frames.items()},
            {v: f["asn"].to_numpy(dtype=np.uint32) for v, f in frames.items()},
            holders,
            tuple(names),
        )
        ranges = sum(len(f) for f in frames.values())
        del frames, codes  # the parsed text: only the arrays above are kept
        _release_freed_memory()
        geography.figures = LoadFigures(
            ranges=ranges,
            organisations=len(names),
            seconds=time.process_time() - began,
            rss_growth_mb=_peak_rss_mb() - rss,
        )
        return geography

    def locate(self, addresses: Sequence[str]) -> tuple[Origin | None, ...]:
        """The origin of each address; None for text that is no address or a wholly unknown one."""
        parsed = [_parsed(a) for a in addresses]
        found: list[Origin | None] = [None] * len(addresses)
        for version in (4, 6):
            where = [n for n, p in enumerate(parsed) if p is not None and p[0] == version]
            if not where:
                continue
            dtype: Any = np.int64 if version == 4 else object
            values = np.array([parsed[n][1] for n in where], dtype=dtype)  # type: ignore[index]
            reserved = self._reserved[version].rows(values) >= 0
            for n in np.asarray(where)[reserved].tolist():
                found[n] = RESERVED_ORIGIN
            public = np.asarray(where)[~reserved].tolist()
            rows = self._ranges[version].rows(values[~reserved])
            self._fill(
                found, public, [_text(addresses[n], parsed[n]) for n in public], version, rows
            )
        return tuple(found)

    def _fill(
        self,
        found: list[Origin | None],
        public: list[int],
        texts: list[str],
        version: int,
        rows: npt.NDArray[np.int64],
    ) -> None:
        """Set the origin of the ``public`` addresses (``texts``, AS database ``rows``)."""
        countries = iptocc.country_code(texts) if texts else []
        held = rows >= 0
        clipped = np.where(held, rows, 0)
        known = len(self._asns[version]) > 0  # else every row is -1 and there is nothing to take
        asns = self._asns[version][clipped].tolist() if known else [0] * len(rows)
        holders = self._holders[version][clipped].tolist() if known else asns
        for n, country, has_as, asn, holder in zip(
            public, countries, held.tolist(), asns, holders, strict=True
        ):
            if has_as:
                found[n] = Origin(
                    kind=OriginKind.PUBLIC,
                    country=country,
                    asn=asn,
                    organisation=self._names[holder],
                )
            elif country is not None:
                found[n] = Origin(kind=OriginKind.PUBLIC, country=country)


def _parsed(text: str) -> tuple[int, int] | None:
    parsed = address_int(text)
    if parsed is not None and parsed[0] == 6 and parsed[1] >> 32 == _V4_MAPPED >> 32:
        return 4, parsed[1] & 0xFFFFFFFF
    return parsed


def _text(given: str, parsed: tuple[int, int] | None) -> str:
    """The address as iptocc reads it: as given, unless it was mapped or zoned."""
    if parsed is not None and parsed[0] == 4 and ":" in given:
        return str(ipaddress.IPv4Address(parsed[1]))
    return given.partition("%")[0]


def _read(path: Path, version: int) -> pd.DataFrame:
    """One CSV file of the database, starts and ends as int64 (v4) or Python ints (v6)."""
    names = ["start", "end", "asn", "org"]
    if version == 4:
        dtypes = {"start": np.int64, "end": np.int64, "asn": np.int64, "org": str}
        frame = pd.read_csv(path, header=None, names=names, dtype=dtypes, keep_default_na=False)
    else:  # 128-bit integers: read as text, then Python ints (numpy has no uint128)
        dtypes = {"start": str, "end": str, "asn": np.int64, "org": str}
        frame = pd.read_csv(path, header=None, names=names, dtype=dtypes, keep_default_na=False)
        for column in ("start", "end"):
            frame[column] = np.array([int(v) for v in frame[column]], dtype=object)
    return frame.sort_values("start", kind="stable", ignore_index=True)


def _release_freed_memory() -> None:
    """Hand the parser's freed buffers back to the system (glibc keeps them otherwise).

    Without it a dashboard process stays about 60 MB above the ~30 MB the arrays need.
    """
    with contextlib.suppress(OSError, AttributeError):  # not glibc: the process reuses it
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


_LOADING = threading.Lock()  # two first pages at once must not load the files twice


def geography(directory: Path = DEFAULT_DATABASE) -> Geography:
    """The database in ``directory``, loaded once per process; countries only if not installed."""
    with _LOADING:
        return _loaded(directory)


@functools.lru_cache(maxsize=2)
def _loaded(directory: Path) -> Geography:
    try:
        loaded = Geography.load(directory)
    except (OSError, ValueError) as exc:  # missing, unreadable or not the expected CSV
        log.warning("AS database not loaded (%s): sources show no AS; see README, [geo]", exc)
        return Geography.without_asn()
    figures = loaded.figures
    log.info(
        "AS database: %d ranges, %d holders, %.2f s CPU, peak RSS +%.0f MB",
        figures.ranges,
        figures.organisations,
        figures.seconds,
        figures.rss_growth_mb,
    )
    return loaded


def missing_files(directory: Path) -> list[str]:
    """The database files ``directory`` lacks (empty when it holds them all)."""
    return [name for name in FILES.values() if not (directory / name).is_file()]
