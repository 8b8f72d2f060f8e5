"""The indicator database: the one place threat intelligence is read from and written to disk.

SQLite, because it is in the standard library, a feed re-import is idempotent for free (the
primary key is kind + value + source and a re-listed entry only refreshes its confidence and
expiry), imports are transactional (a crash mid-feed leaves the old state), and reading a
million rows back is one sequential scan of a ``WITHOUT ROWID`` table (about a second).
An npz array file would load faster still but would have to be rewritten whole on every import.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from urllib.parse import urlsplit

from detectors.feedrecords import FeedDefaults, FeedResult
from detectors.feeds import parse_list
from detectors.indicators import Indicator, IndicatorKind
from detectors.indicatorset import IndicatorSet, Row
from nssa.errors import ConfigError
from nssa.settings import IntelSettings, Settings

KNOWN_GOOD_SOURCE = "known-good"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS indicators (
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    source TEXT NOT NULL,
    confidence INTEGER NOT NULL,
    expires REAL,
    PRIMARY KEY (kind, value, source)
) WITHOUT ROWID
"""
_UPSERT = """
INSERT INTO indicators (kind, value, source, confidence, expires) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (kind, value, source) DO UPDATE SET
    confidence = excluded.confidence, expires = excluded.expires
"""


@dataclass(frozen=True, kw_only=True)
class ImportReport:
    """What one feed import did."""

    source: str
    imported: int
    """Indicators new to the database."""
    duplicates: int
    """Indicators already there (same kind, value and source), or repeated in the feed."""
    rejected: dict[str, int]
    """Entries not imported, by reason."""
    known_good: int
    """Imported indicators on the known-good list: their hits will be suppressed."""


@dataclass(frozen=True, kw_only=True)
class SourceCount:
    """Indicators held for one source and kind."""

    source: str
    kind: IndicatorKind
    count: int
    expiring: int
    """Of them, how many carry an expiry."""


@contextmanager
def _connected(path: Path) -> Iterator[sqlite3.Connection]:
    try:
        connection = sqlite3.connect(path)
    except sqlite3.Error as exc:
        raise ConfigError(str(path), "", f"cannot open the intel database: {exc}") from exc
    with closing(connection):
        connection.execute(_SCHEMA)
        yield connection


def import_feed(path: Path, feed: FeedResult, source: str) -> ImportReport:
    """Write a parsed feed into the database at ``path``; repeating it changes nothing."""
    # In key order the inserts append to the B-tree instead of splitting pages all over it.
    rows = sorted(
        (i.kind.value, i.value, i.source, i.confidence, i.expires) for i in feed.indicators
    )
    with _connected(path) as db, db:
        db.execute("PRAGMA cache_size = -65536")  # 64 MiB: large feeds into large databases
        before = _count(db)
        db.executemany(_UPSERT, rows)
        imported = _count(db) - before
    listed = known_good_count(feed.indicators)
    return ImportReport(
        source=source,
        imported=imported,
        duplicates=len(feed.indicators) - imported,
        rejected={reason.value: n for reason, n in sorted(feed.rejected.items())},
        known_good=listed,
    )


def _count(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT count(*) FROM indicators").fetchone()[0])


def read_rows(path: Path) -> Iterator[Row]:
    """Every indicator in the database as a plain row (what the indicator set is built from)."""
    kinds = {k.value: k for k in IndicatorKind}
    with _connected(path) as db:
        rows = db.execute("SELECT kind, value, source, confidence, expires FROM indicators")
        sources: dict[str, str] = {}  # one string per feed name, not one per row
        for kind, value, source, confidence, expires in rows:
            yield kinds[kind], value, sources.setdefault(source, source), confidence, expires


def read_indicators(path: Path) -> Iterator[Indicator]:
    """Every indicator in the database, in key order."""
    with _connected(path) as db:
        rows = db.execute("SELECT kind, value, source, confidence, expires FROM indicators")
        kinds = {k.value: k for k in IndicatorKind}
        for kind, value, source, confidence, expires in rows:
            yield Indicator(
                kind=kinds[kind],
                value=value,
                source=source,
                confidence=confidence,
                expires=expires,
            )


def source_counts(path: Path) -> list[SourceCount]:
    """Indicators per source and kind."""
    query = (
        "SELECT source, kind, count(*), count(expires) FROM indicators "
        "GROUP BY source, kind ORDER BY source, kind"
    )
    with _connected(path) as db:
        return [
            SourceCount(source=s, kind=IndicatorKind(k), count=n, expiring=e)
            for s, k, n, e in db.execute(query)
        ]


@lru_cache(maxsize=1)
def known_good() -> IndicatorSet:
    """The shipped known-good list (package data ``nssa/known_good.txt``), parsed once."""
    text = files("nssa").joinpath("known_good.txt").read_text(encoding="utf-8")
    return IndicatorSet(parse_list(text, FeedDefaults(source=KNOWN_GOOD_SOURCE)).indicators)


def known_good_count(indicators: Sequence[Indicator]) -> int:
    """How many indicators name a known-good value (a listed network: its first address)."""
    good = known_good()
    ips = [i.value.partition("/")[0] for i in indicators if i.kind is IndicatorKind.IP]
    count = int(good.contains_ips(ips).sum())  # one vectorised lookup for the bulk of a feed
    for i in indicators:
        if i.kind is IndicatorKind.DOMAIN:
            count += bool(good.match_domain(i.value))
        elif i.kind is IndicatorKind.URL:
            host = urlsplit(i.value).hostname or ""
            count += bool(good.match_domain(host) or good.match_ip(host))
    return count


def load_indicators(settings: Settings) -> IndicatorSet:
    """The indicator set ``[intel] database`` names; empty when none is configured."""
    intel: IntelSettings = settings.intel
    if not intel.database:
        return IndicatorSet()
    path = Path(intel.database)
    try:
        stat = path.stat()
    except OSError as exc:
        raise ConfigError(settings.source, "intel.database", f"cannot read {path}: {exc}") from exc
    return _loaded(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=2)
def _loaded(path: Path, mtime_ns: int, size: int) -> IndicatorSet:
    """The set built from the database file as it is now (rebuilt when the file changes)."""
    return IndicatorSet.from_rows(read_rows(path))


def load_known_good(settings: Settings) -> IndicatorSet:
    """The known-good set, or an empty one when ``[intel] known_good`` is off."""
    return known_good() if settings.intel.known_good else IndicatorSet()


def indicator_lines(indicators: Iterable[Indicator]) -> Iterator[str]:
    """One tab-separated line per indicator: kind, value, source, confidence, expiry."""
    for i in indicators:
        expires = "" if i.expires is None else f"{i.expires:.0f}"
        yield f"{i.kind.value}\t{i.value}\t{i.source}\t{i.confidence}\t{expires}"
