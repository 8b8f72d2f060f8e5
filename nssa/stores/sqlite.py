"""Embedded SQLite store: the zero-setup ``Store`` for one host, in WAL mode.

Each table keeps a record's ECS document as JSON next to the few columns the queries filter
and sort on. Multi-valued filters (an alert's destinations, an incident's units and attackers)
live in side tables so that they are indexed. WAL mode lets the dashboard and the correlator
read while a sensor daemon writes; a batch becomes visible to readers all at once.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, TypeVar

from correlator.accounts import Account, account_document, account_from_document
from correlator.aggregation import (
    AlertAggregation,
    AlertStats,
    Count,
    IncidentAggregation,
    IncidentStats,
    counts,
)
from correlator.exceptions import (
    AlertException,
    AlertMark,
    AuditRecord,
    audit_from_document,
    exception_from_document,
    to_document,
)
from correlator.incident import Incident
from correlator.sensor_activity import SensorActivity, SensorActivityRequest, by_sensor
from correlator.storage import AlertPage, AlertQuery, IncidentQuery, Lease
from detectors.alert import Alert
from nssa.errors import StoreError
from nssa.stores import sqlite_aggregations
from sensors.capturefiles import CaptureFile, CaptureQuery
from sensors.ecs import cached_json, document_time, path_reader
from sensors.events import Event, Flow, event_from_document

SCHEMA_VERSION = 4
"""Version of the tables below; a database written by a newer NSSA is refused, not guessed at."""

BUSY_TIMEOUT_MS = 10_000
"""How long a writer waits for another process's write lock before failing, in milliseconds."""

_SENSOR = "json_extract(doc, '$.observer.name')"
"""The events' sensor name, as written in the index on it (queries must match it exactly)."""

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, ts REAL NOT NULL,"
    " dataset TEXT NOT NULL, source_ip TEXT, destination_ip TEXT, doc TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS events_ts ON events (ts)",
    # Sensor health seeks each sensor's newest and recent events here, never the documents
    # (an index, not a column: older versions keep reading and writing the same table).
    f"CREATE INDEX IF NOT EXISTS events_sensor ON events ({_SENSOR}, ts)",
    "CREATE TABLE IF NOT EXISTS alerts (id TEXT PRIMARY KEY, ts REAL NOT NULL,"
    " detector TEXT NOT NULL, source_ip TEXT, doc TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS alerts_ts ON alerts (ts)",
    "CREATE INDEX IF NOT EXISTS alerts_source_ip ON alerts (source_ip, ts)",
    "CREATE INDEX IF NOT EXISTS alerts_detector ON alerts (detector, ts)",
    "CREATE TABLE IF NOT EXISTS incidents (id TEXT PRIMARY KEY, first_seen REAL NOT NULL,"
    " last_seen REAL NOT NULL, status TEXT NOT NULL, risk_score INTEGER NOT NULL,"
    " doc TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS incidents_rank ON incidents (risk_score DESC, last_seen DESC)",
    # Few incidents are ever absorbed: a partial index lists them without reading documents.
    f"CREATE INDEX IF NOT EXISTS incidents_superseded ON incidents (id)"
    f" WHERE {sqlite_aggregations.ABSORBED}",
    # Storage order for readers that follow new alerts (the correlator daemon): a sequence
    # number taken inside the write transaction. Writers are serialised, so numbers become
    # visible in order and a reader that reads on from the last number never skips one.
    "CREATE TABLE IF NOT EXISTS alert_sequence (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " id TEXT NOT NULL UNIQUE)",
    # Alerts written by a version without the sequence get numbers, in time order.
    "INSERT OR IGNORE INTO alert_sequence (id) SELECT id FROM alerts"
    " WHERE id NOT IN (SELECT id FROM alert_sequence) ORDER BY ts, id",
    "CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, position TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS exceptions (id TEXT PRIMARY KEY, created REAL NOT NULL,"
    " doc TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS audit (id TEXT PRIMARY KEY, ts REAL NOT NULL, doc TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS alert_marks (alert_id TEXT NOT NULL, exception_id TEXT NOT NULL,"
    " PRIMARY KEY (alert_id, exception_id)) WITHOUT ROWID",
    *(
        statement
        for side in ("alert_destinations", "incident_units", "incident_attackers")
        for statement in (
            # (value, owner) first so a filter on the value is an index lookup.
            f"CREATE TABLE IF NOT EXISTS {side} (owner TEXT NOT NULL, value TEXT NOT NULL,"
            " PRIMARY KEY (value, owner)) WITHOUT ROWID",
            f"CREATE INDEX IF NOT EXISTS {side}_owner ON {side} (owner)",
        )
    ),
)

# Version 2: the columns and side table the aggregation queries group by
# (``sqlite_aggregations``), filled in from the stored documents of a version-1 database.
_V2 = (
    "ALTER TABLE alerts ADD COLUMN rule TEXT",
    "UPDATE alerts SET rule = json_extract(doc, '$.rule.name')",
    "ALTER TABLE incidents ADD COLUMN severity TEXT",
    "ALTER TABLE incidents ADD COLUMN stage TEXT",
    "UPDATE incidents SET severity = json_extract(doc, '$.nssa.incident.severity'),"
    " stage = json_extract(doc, '$.nssa.incident.stage')",
    "CREATE TABLE IF NOT EXISTS incident_victims (owner TEXT NOT NULL, value TEXT NOT NULL,"
    " PRIMARY KEY (value, owner)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS incident_victims_owner ON incident_victims (owner)",
    "INSERT OR IGNORE INTO incident_victims (owner, value) SELECT i.id, v.value"
    " FROM incidents i, json_each(i.doc, '$.nssa.incident.victims') v",
    # Alert figures over a time range read this index alone, never the documents.
    "CREATE INDEX IF NOT EXISTS alerts_facets ON alerts (ts, detector, rule, source_ip)",
    # Incident figures read this index alone (by id or whole), never the large documents.
    "CREATE INDEX IF NOT EXISTS incidents_facets ON incidents"
    " (id, status, severity, stage, risk_score, first_seen, last_seen)",
)

# Version 3: dashboard accounts (``nssa user add``), keyed by name.
_V3 = ("CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, doc TEXT NOT NULL)",)

# Version 4: the capture registry (``sensors.capturefiles``): which file holds a sensor's
# packets of which span; looked up by sensor and time overlap.
_V4 = (
    "CREATE TABLE IF NOT EXISTS captures (id TEXT PRIMARY KEY, sensor TEXT NOT NULL,"
    " first REAL NOT NULL, last REAL NOT NULL, doc TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS captures_span ON captures (sensor, first, last)",
)

_COLUMNS = {
    "events": ("id", "ts", "dataset", "source_ip", "destination_ip", "doc"),
    "alerts": ("id", "ts", "detector", "source_ip", "doc", "rule"),
    "incidents": (
        "id",
        "first_seen",
        "last_seen",
        "status",
        "risk_score",
        "doc",
        "severity",
        "stage",
    ),
}

# Query attribute -> SQL condition; a filter applies when the attribute is not None.
_ALERT_FILTERS = (
    ("ids", "id IN (SELECT value FROM json_each(?))"),
    ("source_ip", "source_ip = ?"),
    ("destination_ip", "id IN (SELECT owner FROM alert_destinations WHERE value = ?)"),
    ("detector", "detector = ?"),
    ("rule", "rule = ?"),
    ("since", "ts >= ?"),
    ("until", "ts < ?"),
)
_CAPTURE_FILTERS = (("sensor", "sensor = ?"), ("since", "last >= ?"), ("until", "first <= ?"))
# An incident matches a time window when it was active during it (its span overlaps).
_INCIDENT_FILTERS = (
    ("status", "status = ?"),
    ("unit", "id IN (SELECT owner FROM incident_units WHERE value = ?)"),
    ("attacker", "id IN (SELECT owner FROM incident_attackers WHERE value = ?)"),
    ("superseded", f"(id IN ({sqlite_aggregations.SUPERSEDED_IDS})) = ?"),
    ("since", "last_seen >= ?"),
    ("until", "first_seen < ?"),
)


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


_R = TypeVar("_R", bound=_Identified)


class SqliteStore:
    """The ``Store`` protocol over one SQLite file, safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # One connection behind a lock: Flask serves from threads, and SQLite reads are fast.
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: cannot open the SQLite store: {exc}") from exc
        try:
            self._configure()
            self._create_schema()
        except BaseException:
            self._conn.close()
            raise

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def put_events(self, events: Sequence[Event]) -> int:
        """Store events by id (overwriting same-id documents); return how many were written."""
        batch = _last_by_id(events)
        rows = [_event_row(event_id, event) for event_id, event in batch.items()]
        with self._write("write events") as cur:
            cur.executemany(_upsert("events"), rows)
        return len(rows)

    def put_alerts(self, alerts: Sequence[Alert]) -> int:
        """Store alerts by id; return how many were written."""
        batch = _last_by_id(alerts)
        rows = [
            (key, a.time, a.detector, a.source_ip, _dump(a.to_ecs()), a.rule)
            for key, a in batch.items()
        ]
        order = sorted(batch.items(), key=lambda item: (item[1].time, item[0]))
        with self._write("write alerts") as cur:
            cur.executemany(_upsert("alerts"), rows)
            _replace_members(cur, "alert_destinations", batch, _destinations)
            # A re-sent alert keeps its number: readers see each alert once.
            cur.executemany(
                "INSERT OR IGNORE INTO alert_sequence (id) VALUES (?)", [(k,) for k, _ in order]
            )
        return len(rows)

    def put_incidents(self, incidents: Sequence[Incident]) -> int:
        """Store incidents by id, replacing older versions; return how many were written."""
        batch = _last_by_id(incidents)
        rows = [_incident_row(key, i) for key, i in batch.items()]
        with self._write("write incidents") as cur:
            cur.executemany(_upsert("incidents"), rows)
            _replace_members(cur, "incident_units", batch, lambda i: i.units)
            _replace_members(cur, "incident_attackers", batch, lambda i: i.attackers)
            _replace_members(cur, "incident_victims", batch, lambda i: i.victims)
        return len(rows)

    def alerts(self, query: AlertQuery) -> list[Alert]:
        """Return the alerts matching ``query``, newest first."""
        where, params = _where(query, _ALERT_FILTERS)
        sql = f"SELECT doc FROM alerts{where} ORDER BY ts DESC, id LIMIT ? OFFSET ?"
        docs = self._read(sql, [*params, query.limit, query.offset])
        return [Alert.from_ecs(json.loads(doc)) for doc in docs]

    def incidents(self, query: IncidentQuery) -> list[Incident]:
        """Return the incidents matching ``query``, highest risk first, then most recent."""
        where, params = _where(query, _INCIDENT_FILTERS)
        order = "risk_score DESC, last_seen DESC, id"
        sql = f"SELECT doc FROM incidents{where} ORDER BY {order} LIMIT ? OFFSET ?"
        docs = self._read(sql, [*params, query.limit, query.offset])
        return [Incident.from_ecs(json.loads(doc)) for doc in docs]

    def incident_alert_ids(self, query: IncidentQuery) -> tuple[str, ...]:
        """The alert ids of the incidents matching ``query``, once each and sorted."""
        where, params = _where(query, _INCIDENT_FILTERS)
        order = "risk_score DESC, last_seen DESC, id"
        # SQLite walks the id lists itself: no incident document reaches Python.
        ranked = f"SELECT doc FROM incidents{where} ORDER BY {order} LIMIT ? OFFSET ?"
        sql = (
            f"SELECT DISTINCT ids.value FROM ({ranked}) ranked,"
            " json_each(ranked.doc, '$.nssa.incident.alert_ids') ids ORDER BY ids.value"
        )
        return tuple(self._read(sql, [*params, query.limit, query.offset]))

    def incident(self, incident_id: str) -> Incident | None:
        """Return one incident, or None when the id is unknown."""
        docs = self._read("SELECT doc FROM incidents WHERE id = ?", [incident_id])
        return Incident.from_ecs(json.loads(docs[0])) if docs else None

    def alerts_after(self, position: str | None, limit: int) -> AlertPage:
        """Alerts numbered after ``position`` (a sequence number), in write order."""
        after = int(position) if position else 0
        with self._lock, self._guard("read alerts in order"):
            rows = self._conn.execute(
                "SELECT s.seq, a.doc FROM alert_sequence s JOIN alerts a ON a.id = s.id"
                " WHERE s.seq > ? ORDER BY s.seq LIMIT ?",
                [after, max(limit, 0)],
            ).fetchall()
        alerts = [Alert.from_ecs(json.loads(doc)) for _, doc in rows]
        return AlertPage(alerts=alerts, position=str(rows[-1][0]) if rows else position)

    def cursor(self, name: str) -> str | None:
        """The position a reader named ``name`` saved, or None."""
        found = self._read("SELECT position FROM cursors WHERE name = ?", [name])
        return str(found[0]) if found else None

    def put_cursor(self, name: str, position: str) -> None:
        """Save a reader's position (committed before this returns)."""
        with self._write("save a cursor") as cur:
            cur.execute(
                "INSERT INTO cursors (name, position) VALUES (?, ?)"
                " ON CONFLICT(name) DO UPDATE SET position = excluded.position",
                [name, position],
            )

    def take_lease(self, name: str, holder: str, now: float, seconds: float) -> Lease:
        """Take or renew a lease in one write transaction (kept beside reader positions)."""
        key = f"lease:{name}"
        with self._write(f"take lease {name}") as cur:
            row = cur.execute("SELECT position FROM cursors WHERE name = ?", [key]).fetchone()
            current = Lease.decode(str(row[0])) if row else None
            if current is not None and not current.granted(holder, now):
                return current
            lease = Lease(holder=holder, expires=now + seconds)
            cur.execute(
                "INSERT INTO cursors (name, position) VALUES (?, ?)"
                " ON CONFLICT(name) DO UPDATE SET position = excluded.position",
                [key, lease.encode()],
            )
            return lease

    def put_exception(self, exception: AlertException, audit: AuditRecord) -> None:
        """Save an exception and append its audit record in one transaction."""
        with self._write("save an exception") as cur:
            cur.execute(
                "INSERT INTO exceptions (id, created, doc) VALUES (?, ?, ?)"
                " ON CONFLICT(id) DO UPDATE SET doc = excluded.doc",
                [exception.id, exception.created, _dump(to_document(exception))],
            )
            cur.execute(
                "INSERT OR IGNORE INTO audit (id, ts, doc) VALUES (?, ?, ?)",
                [audit.id, audit.time, _dump(to_document(audit))],
            )

    def edit_incident(
        self, incident_id: str, change: Callable[[Incident], Incident], audit: AuditRecord
    ) -> Incident | None:
        """Read, change and save an incident and append ``audit`` in one write transaction.

        The transaction holds the write lock from the read on, so no other save can slip in
        between (SQLite's equivalent of Elasticsearch's versioned save).
        """
        with self._write(f"edit incident {incident_id}") as cur:
            row = cur.execute("SELECT doc FROM incidents WHERE id = ?", [incident_id]).fetchone()
            if row is None:
                return None
            changed = change(Incident.from_ecs(json.loads(row[0])))
            if changed.id != incident_id:
                raise StoreError(f"{self.path}: an edit may not change an incident's id")
            batch = {incident_id: changed}
            cur.execute(_upsert("incidents"), _incident_row(incident_id, changed))
            _replace_members(cur, "incident_units", batch, lambda i: i.units)
            _replace_members(cur, "incident_attackers", batch, lambda i: i.attackers)
            _replace_members(cur, "incident_victims", batch, lambda i: i.victims)
            cur.execute(
                "INSERT OR IGNORE INTO audit (id, ts, doc) VALUES (?, ?, ?)",
                [audit.id, audit.time, _dump(to_document(audit))],
            )
        return changed

    def exceptions(self) -> list[AlertException]:
        """Every exception, newest first."""
        docs = self._read("SELECT doc FROM exceptions ORDER BY created DESC, id", [])
        return [exception_from_document(json.loads(doc)) for doc in docs]

    def put_audit(self, audit: AuditRecord) -> None:
        """Append one audit record (committed before this returns)."""
        with self._write("append an audit record") as cur:
            cur.execute(
                "INSERT OR IGNORE INTO audit (id, ts, doc) VALUES (?, ?, ?)",
                [audit.id, audit.time, _dump(to_document(audit))],
            )

    def audit_records(self, limit: int = 1000) -> list[AuditRecord]:
        """Audit records, newest first."""
        docs = self._read("SELECT doc FROM audit ORDER BY ts DESC, id LIMIT ?", [limit])
        return [audit_from_document(json.loads(doc)) for doc in docs]

    def put_user(self, account: Account, audit: AuditRecord) -> None:
        """Save an account by name and append its audit record in one transaction."""
        with self._write(f"save user {account.name}") as cur:
            cur.execute(
                "INSERT INTO users (name, doc) VALUES (?, ?)"
                " ON CONFLICT(name) DO UPDATE SET doc = excluded.doc",
                [account.name, _dump(account_document(account))],
            )
            cur.execute(
                "INSERT OR IGNORE INTO audit (id, ts, doc) VALUES (?, ?, ?)",
                [audit.id, audit.time, _dump(to_document(audit))],
            )

    def user(self, name: str) -> Account | None:
        """The account named ``name``, or None."""
        docs = self._read("SELECT doc FROM users WHERE name = ?", [name])
        return account_from_document(json.loads(docs[0])) if docs else None

    def users(self) -> list[Account]:
        """Every account, by name."""
        docs = self._read("SELECT doc FROM users ORDER BY name", [])
        return [account_from_document(json.loads(doc)) for doc in docs]

    def mark_alerts(self, marks: Sequence[AlertMark]) -> int:
        """Record which exceptions hide which alerts (idempotent)."""
        rows = [(m.alert_id, m.exception_id) for m in marks]
        with self._write("mark alerts") as cur:
            cur.executemany(
                "INSERT OR IGNORE INTO alert_marks (alert_id, exception_id) VALUES (?, ?)", rows
            )
        return len(rows)

    def alert_marks(self, alert_ids: Sequence[str]) -> list[AlertMark]:
        """The marks of these alerts, by alert id then exception id."""
        with self._lock, self._guard("read alert marks"):
            rows = self._conn.execute(
                "SELECT alert_id, exception_id FROM alert_marks"
                " WHERE alert_id IN (SELECT value FROM json_each(?))"
                " ORDER BY alert_id, exception_id",
                [json.dumps(list(alert_ids))],
            ).fetchall()
        return [AlertMark(alert_id=a, exception_id=x) for a, x in rows]

    def mark_counts(self, exception_ids: Sequence[str]) -> tuple[Count, ...]:
        """How many alerts each of these exceptions marks, most first."""
        with self._lock, self._guard("count alert marks"):
            rows = self._conn.execute(
                "SELECT exception_id, COUNT(*) FROM alert_marks"
                " WHERE exception_id IN (SELECT value FROM json_each(?))"
                " GROUP BY exception_id",
                [json.dumps(list(exception_ids))],
            ).fetchall()
        return counts(rows)

    def incident_stats(self, request: IncidentAggregation) -> IncidentStats:
        """Counts, top-N, histogram and posture of incidents, grouped by SQLite."""
        with self._snapshot("aggregate incidents"):
            return sqlite_aggregations.incident_stats(self._conn, request)

    def alert_stats(self, request: AlertAggregation) -> AlertStats:
        """Counts, top-N and histogram of alerts, grouped by SQLite."""
        with self._snapshot("aggregate alerts"):
            return sqlite_aggregations.alert_stats(self._conn, request)

    def sensor_activity(self, request: SensorActivityRequest) -> tuple[SensorActivity, ...]:
        """Each sensor's newest event and recent count, from the events since ``since``."""
        # Hops from one sensor name to the next through the index (a skip scan), then seeks
        # each one's newest and recent events: a handful of lookups however many events.
        with self._lock, self._guard("aggregate sensors"):
            found = self._conn.execute(
                f"WITH RECURSIVE sensors(name) AS (SELECT '' UNION ALL SELECT (SELECT {_SENSOR}"
                f" FROM events WHERE {_SENSOR} > name ORDER BY {_SENSOR} LIMIT 1) FROM sensors"
                " WHERE name IS NOT NULL) SELECT name, last, (SELECT COUNT(*) FROM events"
                f" WHERE {_SENSOR} = name AND ts >= ?) FROM (SELECT name, (SELECT MAX(ts) FROM"
                f" events WHERE {_SENSOR} = name) AS last FROM sensors WHERE name != '')"
                " WHERE last >= ?",
                [request.recent, request.since],
            ).fetchall()
        return by_sensor(
            [
                SensorActivity(sensor=str(name), last_event=float(last), recent_events=int(n))
                for name, last, n in found
            ]
        )

    def events(self, limit: int = 1000) -> list[Event]:
        """Return stored events, newest first (for replays and tests; not in the protocol)."""
        docs = self._read("SELECT doc FROM events ORDER BY ts DESC, id LIMIT ?", [limit])
        return [event_from_document(json.loads(doc)) for doc in docs]

    def flows(self, since: float, until: float, page: int = 5000) -> Iterator[Flow]:
        """Stored flows that started in [since, until), oldest first, read page by page."""
        after: tuple[float, str] = (since, "")
        while True:
            with self._lock, self._guard("read flows"):
                rows = self._conn.execute(
                    "SELECT ts, id, doc FROM events WHERE dataset = 'nssa.flow'"
                    " AND ts >= ? AND ts < ? AND (ts > ? OR (ts = ? AND id > ?))"
                    " ORDER BY ts, id LIMIT ?",
                    [since, until, after[0], after[0], after[1], page],
                ).fetchall()
            for _, _, doc in rows:
                flow = event_from_document(json.loads(doc))
                if isinstance(flow, Flow):
                    yield flow
            if len(rows) < page:
                return
            after = (rows[-1][0], rows[-1][1])

    def count_events(self) -> int:
        """Return how many events are stored."""
        return int(self._read("SELECT COUNT(*) FROM events", [])[0])

    def events_by_id(self, ids: Sequence[str]) -> list[Event]:
        """The stored events with these ids, by id."""
        sql = "SELECT doc FROM events WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id"
        docs = self._read(sql, [json.dumps(list(ids))])
        return [event_from_document(json.loads(doc)) for doc in docs]

    def put_captures(self, captures: Sequence[CaptureFile]) -> int:
        """Register capture files by id (idempotent)."""
        rows = [
            (c.id, c.sensor, c.first, c.last, _dump(c.to_ecs()))
            for c in _last_by_id(captures).values()
        ]
        with self._write("register captures") as cur:
            cur.executemany(
                "INSERT OR REPLACE INTO captures (id, sensor, first, last, doc)"
                " VALUES (?, ?, ?, ?, ?)",
                rows,
            )
        return len(rows)

    def captures(self, query: CaptureQuery) -> list[CaptureFile]:
        """Registered captures of ``query.sensor`` overlapping [since, until], oldest first."""
        where, params = _where(query, _CAPTURE_FILTERS)
        sql = f"SELECT doc FROM captures{where} ORDER BY first, id LIMIT ?"
        docs = self._read(sql, [*params, query.limit])
        return [CaptureFile.from_ecs(json.loads(doc)) for doc in docs]

    def close(self) -> None:
        """Close the connection; the WAL is checkpointed when the last connection closes."""
        with self._lock:
            self._conn.close()

    def _configure(self) -> None:
        with self._guard("configure"):
            self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            # NORMAL is durable in WAL mode except for the last commits before a power cut.
            self._conn.execute("PRAGMA synchronous = NORMAL")
        if mode != "wal":
            # WAL needs shared memory between processes, which network filesystems lack.
            raise StoreError(f"{self.path}: SQLite refused WAL mode (got {mode!r})")

    def _create_schema(self) -> None:
        with self._write("create the schema") as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            found = cur.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
            if found is not None and found > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path}: schema version {found} is newer than this NSSA supports "
                    f"({SCHEMA_VERSION}); upgrade NSSA or point it at another database"
                )
            for statement in _SCHEMA:
                cur.execute(statement)
            if found is None or found < 2:
                for statement in _V2:
                    cur.execute(statement)
            if found is None or found < 3:
                for statement in _V3:
                    cur.execute(statement)
            if found is None or found < 4:
                for statement in _V4:
                    cur.execute(statement)
            if found is None:
                cur.execute("INSERT INTO schema_version (version) VALUES (?)", [SCHEMA_VERSION])
            elif found < SCHEMA_VERSION:
                cur.execute("UPDATE schema_version SET version = ?", [SCHEMA_VERSION])

    def _read(self, sql: str, params: Sequence[object]) -> list[Any]:
        """Run one SELECT (its own snapshot in WAL mode) and return the first column."""
        with self._lock, self._guard("read"):
            return [row[0] for row in self._conn.execute(sql, params)]

    @contextmanager
    def _snapshot(self, action: str) -> Iterator[None]:
        """Several SELECTs that see one state of the database (a deferred read transaction)."""
        with self._lock, self._guard(action):
            self._conn.execute("BEGIN")
            try:
                yield
            finally:
                self._conn.rollback()  # nothing was written: ending the read is all it does

    @contextmanager
    def _write(self, action: str) -> Iterator[sqlite3.Cursor]:
        """One transaction: readers see all of it or none of it."""
        with self._lock, self._guard(action):
            # IMMEDIATE takes the write lock up front, so busy_timeout applies instead of a
            # deadlock error when two processes both upgrade from reading to writing.
            cur = self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                self._conn.rollback()
                raise
            self._conn.commit()

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot {action}: {exc}") from exc


def _last_by_id(records: Iterable[_R]) -> dict[str, _R]:
    """Key a batch by record id; a later record with the same id replaces an earlier one."""
    return {record.id: record for record in records}


def _incident_row(key: str, i: Incident) -> tuple[object, ...]:
    stage = i.stage.value if i.stage else None
    doc = _dump(i.to_ecs())
    row = (key, i.first_seen, i.last_seen, i.status.value, i.risk_score, doc)
    return (*row, i.severity.value, stage)


def _dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def _event_row(event_id: str, event: Event) -> tuple[object, ...]:
    # The index columns come from the record's fields (no document is built) and the stored
    # JSON is the text its id was hashed from. The time column holds the microsecond the
    # document shows.
    time, dataset, source_ip, destination_ip = _index_columns(type(event))(event)
    ts = document_time(time)
    return (event_id, ts, dataset, source_ip, destination_ip, cached_json(event))


_INDEX_READERS: dict[type, Callable[[Event], tuple[Any, Any, Any, Any]]] = {}


def _index_columns(cls: type) -> Callable[[Event], tuple[Any, Any, Any, Any]]:
    """The reader of an event class's time, dataset, source and destination address."""
    reader = _INDEX_READERS.get(cls)
    if reader is None:
        paths = ("@timestamp", "event.dataset", "source.ip", "destination.ip")
        time, dataset, source, destination = (path_reader(cls, path) for path in paths)
        reader = _INDEX_READERS[cls] = lambda event: (
            time(event),
            dataset(event),
            source(event),
            destination(event),
        )
    return reader


def _destinations(alert: Alert) -> tuple[str, ...]:
    single = (alert.destination_ip,) if alert.destination_ip else ()
    return single + alert.destinations


def _upsert(table: str) -> str:
    """SQL inserting a row (id first) or, when the id exists, overwriting the other columns."""
    names = _COLUMNS[table]
    updates = ", ".join(f"{name} = excluded.{name}" for name in names[1:])
    marks = ", ".join("?" * len(names))
    return (
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})"
        f" ON CONFLICT(id) DO UPDATE SET {updates}"
    )


def _replace_members(
    cur: sqlite3.Cursor, side: str, batch: dict[str, _R], values: Callable[[_R], Iterable[str]]
) -> None:
    """Replace the side-table rows of every record in ``batch`` (a new version may drop some)."""
    cur.executemany(f"DELETE FROM {side} WHERE owner = ?", [(key,) for key in batch])
    rows = [(key, value) for key, record in batch.items() for value in values(record)]
    cur.executemany(f"INSERT OR IGNORE INTO {side} (owner, value) VALUES (?, ?)", rows)


def _where(query: object, filters: Sequence[tuple[str, str]]) -> tuple[str, list[object]]:
    """The WHERE clause and parameters for every filter of ``query`` that is set."""
    clauses: list[str] = []
    params: list[object] = []
    for attribute, clause in filters:
        value = getattr(query, attribute)
        if value is None:
            continue
        clauses.append(clause)
        # A tuple of ids goes in as one JSON array: no limit on how many SQL variables.
        params.append(json.dumps(value) if isinstance(value, tuple) else value)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params
