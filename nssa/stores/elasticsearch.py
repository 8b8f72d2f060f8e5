"""Elasticsearch store: the production ``Store``, shared by sensors, correlator and dashboard.

Writes are bulk requests with each record's deterministic id as ``_id``, into the index its own
time names (see ``es_indices``), so a re-sent batch overwrites itself. A write returns once its
documents are searchable (one refresh of the touched indices per batch), as with SQLite. Reads
are filtered, sorted searches; nothing is fetched to be filtered here. Analysts' incident edits
use optimistic concurrency (``if_seq_no``/``if_primary_term``): a stale save is refused.
"""

from __future__ import annotations

import ipaddress
import json
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch, NotFoundError, helpers

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
from correlator.sensor_activity import SensorActivity, SensorActivityRequest
from correlator.storage import AlertPage, AlertQuery, IncidentQuery, Lease
from detectors.alert import Alert
from nssa.errors import ConflictError, StoreError, StoreUnavailableError
from nssa.settings import StoreSettings
from nssa.stores import es_aggregations
from nssa.stores.connection import connect, redact
from nssa.stores.es_indices import IndexLayout
from sensors.capturefiles import CaptureFile, CaptureQuery
from sensors.ecs import cached_json, format_time, path_value
from sensors.events import Event, Flow, event_from_document

MAX_WINDOW = 10_000
"""Elasticsearch's default ``index.max_result_window``: deeper pages use ``search_after``."""
MAX_TERMS = 65_536
"""Elasticsearch's default ``index.max_terms_count``: longer id lists are split."""
BULK_CHUNK = 1000  # documents per bulk request
BULK_THREADS = 2  # parallel bulk requests for large batches (the build machines have 2 cores)
_UNAVAILABLE_STATUS = frozenset({429, 502, 503, 504})  # overloaded or not there: try later
SETTLE_SECONDS = 30.0
"""How long after its ingest time an alert waits before ``alerts_after`` returns it.

Sensors stamp ``event.ingested`` from their own clock and a bulk request becomes searchable
only after its refresh, so an alert can turn visible after others stamped later. Reading only
what is older than this lag (bulk duration plus clock skew between hosts, NTP-synchronised)
means the reader's search_after position never passes an alert that is still to appear.
"""
_INGEST_SORT = [
    {"event.ingested": {"order": "asc", "unmapped_type": "date_nanos"}},
    {"event.id": {"order": "asc", "unmapped_type": "keyword"}},
]

_ALERT_SORT = [
    {"@timestamp": {"order": "desc", "unmapped_type": "date_nanos"}},
    {"event.id": {"order": "asc", "unmapped_type": "keyword"}},
]
_INCIDENT_SORT = [
    {"nssa.incident.risk_score": {"order": "desc", "unmapped_type": "long"}},
    {"@timestamp": {"order": "desc", "unmapped_type": "date_nanos"}},
    {"nssa.incident.id": {"order": "asc", "unmapped_type": "keyword"}},
]
_ALERT_IDS = ["nssa.incident.alert_ids"]


@dataclass(frozen=True)
class IncidentVersion:
    """Where an incident document was when read; a save must still find it there."""

    seq_no: int
    primary_term: int


@dataclass(frozen=True)
class VersionedIncident:
    """An incident as read for editing, with the version its save must match."""

    incident: Incident
    version: IncidentVersion


class ElasticsearchStore:
    """The ``Store`` protocol over an Elasticsearch cluster; safe to share between threads."""

    def __init__(
        self, url: str, options: StoreSettings | None = None, *, settle: float = SETTLE_SECONDS
    ) -> None:
        self.options = options or StoreSettings(url=url)
        self.settle = settle
        self.shown = redact(url)
        self.layout = IndexLayout(self.options.index_prefix)
        self._client = connect(url, self.options)
        # Templates go in before the first write, not here: opening must work while the
        # cluster is down, so that writers can spool.
        self._templates_ready = False

    def __enter__(self) -> ElasticsearchStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def client(self) -> Elasticsearch:
        """The underlying client, for retention and aggregation queries."""
        return self._client

    def put_events(self, events: Sequence[Event]) -> int:
        """Store events by id (overwriting same-id documents); return how many were written."""
        unique = {event.id: event for event in events}
        sources = [(k, _event_time(e), _event_source(k, e)) for k, e in unique.items()]
        return self._bulk("events", sources, self.layout.events_index)

    def put_alerts(self, alerts: Sequence[Alert]) -> int:
        """Store alerts by id, stamped with their ingest time; return how many were written."""
        ingested = format_time(time.time())
        docs = {alert.id: alert.to_ecs() for alert in alerts}
        for doc in docs.values():
            doc["event"]["ingested"] = ingested
        return self._bulk("alerts", _sources(docs), self.layout.alerts_index)

    def put_incidents(self, incidents: Sequence[Incident]) -> int:
        """Store incidents by id, replacing older versions; return how many were written."""
        docs = {incident.id: incident.to_ecs() for incident in incidents}
        return self._bulk("incidents", _sources(docs), lambda _: self.layout.incidents)

    def alerts(self, query: AlertQuery) -> list[Alert]:
        """Return the alerts matching ``query``, newest first (ties by id)."""
        filters = _alert_filters(query)
        if filters is None:
            return []
        hits = self._search(self.layout.alerts_pattern, filters, _ALERT_SORT, query)
        return [Alert.from_ecs(hit["_source"]) for hit in hits]

    def incidents(self, query: IncidentQuery) -> list[Incident]:
        """Return the incidents matching ``query``, highest risk first, then most recent."""
        hits = self._search(self.layout.incidents, _incident_filters(query), _INCIDENT_SORT, query)
        return [Incident.from_ecs(hit["_source"]) for hit in hits]

    def incident_alert_ids(self, query: IncidentQuery) -> tuple[str, ...]:
        """The alert ids of the incidents matching ``query``, once each and sorted."""
        filters = _incident_filters(query)
        # Only the id lists come back: an incident's whole document is many times larger.
        hits = self._search(self.layout.incidents, filters, _INCIDENT_SORT, query, _ALERT_IDS)
        ids = {i for hit in hits for i in _alert_ids_of(hit["_source"])}
        return tuple(sorted(ids))

    def incident(self, incident_id: str) -> Incident | None:
        """Return one incident, or None when the id is unknown."""
        found = self.versioned_incident(incident_id)
        return found.incident if found else None

    def alerts_after(self, position: str | None, limit: int) -> AlertPage:
        """Alerts ingested after ``position``, oldest first, holding back the last ``settle`` s.

        The position is the sort values (ingest time, id) of the last alert returned. A re-sent
        alert is ingested again and comes back again: readers deduplicate by alert id.
        """
        if limit <= 0:
            return AlertPage(alerts=[], position=position)
        lag = math.ceil(self.settle)  # date math has no unit below the second
        settled = {"range": {"event.ingested": {"lt": f"now-{lag}s" if lag > 0 else "now"}}}
        with self._calls("read alerts in ingest order"):
            found = self._client.search(
                index=self.layout.alerts_pattern,
                query={"bool": {"filter": [settled]}},
                sort=_INGEST_SORT,
                size=min(limit, MAX_WINDOW),
                search_after=json.loads(position) if position else None,
                ignore_unavailable=True,
                track_total_hits=False,
            )
        hits = list(found["hits"]["hits"])
        alerts = [Alert.from_ecs(hit["_source"]) for hit in hits]
        return AlertPage(alerts=alerts, position=json.dumps(hits[-1]["sort"]) if hits else position)

    def cursor(self, name: str) -> str | None:
        """The position a reader named ``name`` saved, or None."""
        with self._calls(f"read cursor {name}"):
            try:
                doc = self._client.get(index=self.layout.records("cursors"), id=name)
            except NotFoundError:
                return None
        return str(doc["_source"]["position"])

    def put_cursor(self, name: str, position: str) -> None:
        """Save a reader's position (searchable when this returns)."""
        self._put_record("cursors", name, {"name": name, "position": position})

    def take_lease(self, name: str, holder: str, now: float, seconds: float) -> Lease:
        """Take or renew a lease with a conditional write: of two contenders one conflicts."""
        self.ensure_templates()
        index, doc_id = self.layout.records("cursors"), f"lease:{name}"
        with self._calls(f"take lease {name}"):
            try:
                doc = self._client.get(index=index, id=doc_id)
            except NotFoundError:
                doc = None
            current = Lease.decode(str(doc["_source"]["position"])) if doc else None
            if current is not None and not current.granted(holder, now):
                return current
            lease = Lease(holder=holder, expires=now + seconds)
            body = {"name": doc_id, "position": lease.encode()}
            # Create when absent, else overwrite only the version read: a contender that
            # wrote in between makes this write conflict instead of both believing they hold it.
            guard: dict[str, Any] = (
                {"if_seq_no": doc["_seq_no"], "if_primary_term": doc["_primary_term"]}
                if doc
                else {"op_type": "create"}
            )
            try:
                self._client.index(index=index, id=doc_id, document=body, refresh=True, **guard)
            except ApiError as exc:
                if exc.meta.status != 409:
                    raise
                won = self._client.get(index=index, id=doc_id)
                return Lease.decode(str(won["_source"]["position"])) or lease
            return lease

    def put_exception(self, exception: AlertException, audit: AuditRecord) -> None:
        """Save an exception, then its audit record (two documents: the audit is written last,
        so it never records a change that was not saved)."""
        self._put_record("exceptions", exception.id, to_document(exception))
        self._put_record("audit", audit.id, to_document(audit))

    def exceptions(self) -> list[AlertException]:
        """Every exception, newest first."""
        sort = [{"created": "desc"}, {"id": "asc"}]
        hits = self._search(
            self.layout.records("exceptions"), [], sort, AlertQuery(limit=MAX_WINDOW)
        )
        return [exception_from_document(hit["_source"]) for hit in hits]

    def put_audit(self, audit: AuditRecord) -> None:
        """Append one audit record, keyed by its id (searchable on return)."""
        self._put_record("audit", audit.id, to_document(audit))

    def audit_records(self, limit: int = 1000) -> list[AuditRecord]:
        """Audit records, newest first."""
        sort = [{"time": "desc"}, {"id": "asc"}]
        hits = self._search(self.layout.records("audit"), [], sort, AlertQuery(limit=limit))
        return [audit_from_document(hit["_source"]) for hit in hits]

    def put_user(self, account: Account, audit: AuditRecord) -> None:
        """Save an account by name, then its audit record (the audit is written last, so it
        never records a change that was not saved)."""
        self._put_record("users", account.name, account_document(account))
        self._put_record("audit", audit.id, to_document(audit))

    def user(self, name: str) -> Account | None:
        """The account named ``name``, or None."""
        with self._calls(f"read user {name}"):
            try:
                doc = self._client.get(index=self.layout.records("users"), id=name)
            except NotFoundError:
                return None
        return account_from_document(doc["_source"])

    def users(self) -> list[Account]:
        """Every account, by name."""
        sort = [{"name": "asc"}]
        query = AlertQuery(limit=MAX_WINDOW)
        hits = self._search(self.layout.records("users"), [], sort, query)
        return [account_from_document(hit["_source"]) for hit in hits]

    def mark_alerts(self, marks: Sequence[AlertMark]) -> int:
        """Record which exceptions hide which alerts (idempotent: one document per pair)."""
        if not marks:
            return 0
        self.ensure_templates()
        index = self.layout.records("alert-marks")
        actions = [
            {"_index": index, "_id": f"{m.alert_id}|{m.exception_id}", "_source": to_document(m)}
            for m in marks
        ]
        with self._calls("mark alerts"):
            failures = [item for ok, item in self._send(actions) if not ok]
            if failures:
                raise _bulk_error(self.shown, "alert marks", failures)
            self._client.indices.refresh(index=index)
        return len(marks)

    def alert_marks(self, alert_ids: Sequence[str]) -> list[AlertMark]:
        """The marks of these alerts, by alert id then exception id."""
        if not alert_ids:
            return []
        chunks = [
            {"terms": {"alert_id": list(alert_ids[start : start + MAX_TERMS])}}
            for start in range(0, len(alert_ids), MAX_TERMS)
        ]
        filters = [{"bool": {"should": chunks, "minimum_should_match": 1}}]
        sort = [{"alert_id": "asc"}, {"exception_id": "asc"}]
        query = AlertQuery(limit=1_000_000)
        hits = self._search(self.layout.records("alert-marks"), filters, sort, query)
        return [AlertMark(**hit["_source"]) for hit in hits]

    def mark_counts(self, exception_ids: Sequence[str]) -> tuple[Count, ...]:
        """How many alerts each of these exceptions marks, as one terms aggregation."""
        if not exception_ids:
            return ()
        with self._calls("count alert marks"):
            found = self._client.search(
                index=self.layout.records("alert-marks"),
                query={"terms": {"exception_id": list(exception_ids)}},
                aggs={"by": {"terms": {"field": "exception_id", "size": len(exception_ids)}}},
                size=0,
                ignore_unavailable=True,
            )
        buckets = found.get("aggregations", {}).get("by", {}).get("buckets", [])
        return counts((b["key"], int(b["doc_count"])) for b in buckets)

    def _put_record(self, kind: str, doc_id: str, doc: dict[str, Any]) -> None:
        """Index one small record by id, searchable on return."""
        self.ensure_templates()
        with self._calls(f"save {kind} {doc_id}"):
            self._client.index(
                index=self.layout.records(kind), id=doc_id, document=doc, refresh=True
            )

    def incident_stats(self, request: IncidentAggregation) -> IncidentStats:
        """Counts, top-N, histogram and posture of incidents, as Elasticsearch aggregations."""
        with self._calls("aggregate incidents"):
            return es_aggregations.incident_stats(self._client, self.layout.incidents, request)

    def alert_stats(self, request: AlertAggregation) -> AlertStats:
        """Counts, top-N and histogram of alerts, as Elasticsearch aggregations."""
        with self._calls("aggregate alerts"):
            return es_aggregations.alert_stats(self._client, self.layout.alerts_pattern, request)

    def sensor_activity(self, request: SensorActivityRequest) -> tuple[SensorActivity, ...]:
        """Each sensor's newest event and recent count, as one terms aggregation."""
        with self._calls("aggregate sensors"):
            return es_aggregations.sensor_activity(
                self._client, self.layout.events_pattern, request
            )

    def events(self, limit: int = 1000) -> list[Event]:
        """Return stored events, newest first (for replays and tests; not in the protocol)."""
        sort = [_ALERT_SORT[0], _ALERT_SORT[1]]
        hits = self._search(self.layout.events_pattern, [], sort, AlertQuery(limit=limit))
        return [event_from_document(hit["_source"]) for hit in hits]

    def flows(self, since: float, until: float, page: int = 5000) -> Iterator[Flow]:
        """Stored flows that started in [since, until), oldest first, read page by page."""
        filters = [
            {"term": {"event.dataset": "nssa.flow"}},
            *_time_range("@timestamp", since, until),
        ]
        sort = [
            {"@timestamp": {"order": "asc", "unmapped_type": "date_nanos"}},
            {"event.id": {"order": "asc", "unmapped_type": "keyword"}},
        ]
        after: list[Any] | None = None
        while True:
            with self._calls("read flows"):
                found = self._client.search(
                    index=self.layout.events_pattern,
                    query={"bool": {"filter": filters}},
                    sort=sort,
                    size=page,
                    search_after=after,
                    ignore_unavailable=True,
                    track_total_hits=False,
                )
            hits = list(found["hits"]["hits"])
            for hit in hits:
                flow = event_from_document(hit["_source"])
                if isinstance(flow, Flow):
                    yield flow
            if len(hits) < page:
                return
            after = hits[-1]["sort"]

    def count_events(self) -> int:
        """Return how many events are stored."""
        with self._calls("count events"):
            found = self._client.count(index=self.layout.events_pattern, ignore_unavailable=True)
        return int(found["count"])

    def events_by_id(self, ids: Sequence[str]) -> list[Event]:
        """The stored events with these ids (any daily index), by id."""
        if not ids:
            return []
        chunks = [
            {"terms": {"event.id": list(ids[start : start + MAX_TERMS])}}
            for start in range(0, len(ids), MAX_TERMS)
        ]
        filters = [{"bool": {"should": chunks, "minimum_should_match": 1}}]
        sort = [{"event.id": {"order": "asc", "unmapped_type": "keyword"}}]
        query = AlertQuery(limit=len(set(ids)))
        hits = self._search(self.layout.events_pattern, filters, sort, query)
        return [event_from_document(hit["_source"]) for hit in hits]

    def put_captures(self, captures: Sequence[CaptureFile]) -> int:
        """Register capture files by id (idempotent), searchable on return."""
        unique = {capture.id: capture for capture in captures}
        if not unique:
            return 0
        self.ensure_templates()
        index = self.layout.records("captures")
        actions = [{"_index": index, "_id": k, "_source": c.to_ecs()} for k, c in unique.items()]
        with self._calls("register captures"):
            failures = [item for ok, item in self._send(actions) if not ok]
            if failures:
                raise _bulk_error(self.shown, "captures", failures)
            self._client.indices.refresh(index=index)
        return len(actions)

    def captures(self, query: CaptureQuery) -> list[CaptureFile]:
        """Registered captures of ``query.sensor`` overlapping [since, until], oldest first."""
        filters: list[dict[str, Any]] = []
        if query.sensor is not None:
            filters.append({"term": {"observer.name": query.sensor}})
        if query.since is not None:
            filters.append({"range": {"event.end": {"gte": format_time(query.since)}}})
        if query.until is not None:
            filters.append({"range": {"@timestamp": {"lte": format_time(query.until)}}})
        sort = [{"@timestamp": "asc"}, {"file.path": "asc"}]
        hits = self._search(
            self.layout.records("captures"), filters, sort, AlertQuery(limit=query.limit)
        )
        return [CaptureFile.from_ecs(hit["_source"]) for hit in hits]

    def versioned_incident(self, incident_id: str) -> VersionedIncident | None:
        """Read an incident for editing: the record and the version a save must match."""
        with self._calls(f"read incident {incident_id}"):
            try:
                doc = self._client.get(index=self.layout.incidents, id=incident_id)
            except NotFoundError:
                return None
        version = IncidentVersion(int(doc["_seq_no"]), int(doc["_primary_term"]))
        return VersionedIncident(Incident.from_ecs(doc["_source"]), version)

    def save_incident(self, incident: Incident, expected: IncidentVersion) -> IncidentVersion:
        """Save an edited incident if nobody saved it since ``expected``; raise ConflictError."""
        self.ensure_templates()
        with self._calls(f"save incident {incident.id}"):
            try:
                saved = self._client.index(
                    index=self.layout.incidents,
                    id=incident.id,
                    document=_document(incident.id, incident.to_ecs()),
                    if_seq_no=expected.seq_no,
                    if_primary_term=expected.primary_term,
                    refresh=True,
                )
            except ApiError as exc:
                if exc.meta.status != 409:
                    raise
                raise ConflictError(
                    f"{self.shown}: incident {incident.id} was changed by someone else since it"
                    " was read; reload it and apply the change again"
                ) from exc
        return IncidentVersion(int(saved["_seq_no"]), int(saved["_primary_term"]))

    def update_incident(self, incident_id: str, change: Callable[[Incident], Incident]) -> Incident:
        """Read, change and save one incident; ConflictError if it was saved meanwhile."""
        current = self.versioned_incident(incident_id)
        if current is None:
            raise StoreError(f"{self.shown}: no incident {incident_id!r}")
        changed = change(current.incident)
        if changed.id != incident_id:
            raise StoreError(f"{self.shown}: an edit may not change an incident's id")
        self.save_incident(changed, current.version)
        return changed

    def edit_incident(
        self, incident_id: str, change: Callable[[Incident], Incident], audit: AuditRecord
    ) -> Incident | None:
        """Edit with the version check of :meth:`update_incident`, then append the audit."""
        if self.versioned_incident(incident_id) is None:
            return None
        changed = self.update_incident(incident_id, change)
        # Written after the edit, so the trail never records a change that was not saved.
        self._put_record("audit", audit.id, to_document(audit))
        return changed

    def ensure_templates(self) -> None:
        """Install the component and index templates (idempotent; once per store object)."""
        if self._templates_ready:
            return
        name, component = self.layout.component_template()
        with self._calls("install index templates"):
            self._client.cluster.put_component_template(name=name, template=component)
            for template, body in self.layout.index_templates(self.options.replicas).items():
                self._client.indices.put_index_template(
                    name=template,
                    index_patterns=body["index_patterns"],
                    composed_of=body["composed_of"],
                    priority=body["priority"],
                    template=body["template"],
                    meta=body["_meta"],
                )
        self._templates_ready = True

    def close(self) -> None:
        """Close the client's connections."""
        self._client.close()

    def _bulk(self, what: str, sources: Sequence[_Source], index: Callable[[str], str]) -> int:
        """Bulk-index documents by id (``_Source``), then refresh the indices they went to."""
        if not sources:
            return 0
        self.ensure_templates()
        indices: set[str] = set()
        actions: list[dict[str, Any]] = []
        for doc_id, timestamp, source in sources:
            target = index(timestamp)
            indices.add(target)
            actions.append({"_index": target, "_id": doc_id, "_source": source})
        with self._calls(f"write {what}"):
            failures = [item for ok, item in self._send(actions) if not ok]
            if failures:
                raise _bulk_error(self.shown, what, failures)
            self._client.indices.refresh(index=",".join(sorted(indices)))
        return len(actions)

    def _send(self, actions: list[dict[str, Any]]) -> Iterable[tuple[bool, Any]]:
        """One bulk stream; several requests in flight when the batch is large."""
        if len(actions) <= 2 * BULK_CHUNK:
            return helpers.streaming_bulk(
                self._client, actions, chunk_size=BULK_CHUNK, raise_on_error=False
            )
        return helpers.parallel_bulk(
            self._client,
            actions,
            thread_count=BULK_THREADS,
            chunk_size=BULK_CHUNK,
            raise_on_error=False,
        )

    def _search(
        self,
        index: str,
        filters: list[dict[str, Any]],
        sort: list[Any],
        query: AlertQuery | IncidentQuery,
        fields: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        """One filtered, sorted page (of ``fields`` alone when given, else whole documents);
        pages beyond the result window walk with search_after."""
        body: dict[str, Any] = {"bool": {"filter": filters}}
        offset, limit = query.offset, query.limit
        if limit <= 0:
            return []
        with self._calls("search"):
            if offset + limit <= MAX_WINDOW:
                found = self._client.search(
                    index=index,
                    query=body,
                    sort=sort,
                    from_=offset,
                    size=limit,
                    source_includes=fields,
                    ignore_unavailable=True,
                    track_total_hits=False,
                )
                return list(found["hits"]["hits"])
            return self._deep_page(index, body, sort, (offset, limit), fields)

    def _deep_page(
        self,
        index: str,
        body: dict[str, Any],
        sort: list[Any],
        window: tuple[int, int],
        fields: list[str] | None,
    ) -> list[dict[str, Any]]:
        offset, limit = window
        hits: list[dict[str, Any]] = []
        after: list[Any] | None = None
        skip = offset
        while len(hits) < limit:
            size = min(MAX_WINDOW, skip + limit - len(hits))
            found = self._client.search(
                index=index,
                query=body,
                sort=sort,
                size=size,
                search_after=after,
                source_includes=fields,
                ignore_unavailable=True,
                track_total_hits=False,
            )
            page = list(found["hits"]["hits"])
            if not page:
                break
            after = page[-1]["sort"]
            dropped = min(skip, len(page))
            skip -= dropped
            hits.extend(page[dropped:])
        return hits[:limit]

    @contextmanager
    def _calls(self, action: str) -> Iterator[None]:
        """Turn client failures into StoreError, or StoreUnavailableError when worth retrying."""
        try:
            yield
        except ApiError as exc:
            problem = f"{self.shown}: cannot {action}: {exc.meta.status} {_reason(exc)}"
            if exc.meta.status in _UNAVAILABLE_STATUS:
                raise StoreUnavailableError(problem) from exc
            raise StoreError(problem) from exc
        except TransportError as exc:
            raise StoreUnavailableError(f"{self.shown}: cannot {action}: {exc}") from exc


def _reason(exc: ApiError) -> str:
    """The most specific reason Elasticsearch gave for an error."""
    error = exc.body.get("error") if isinstance(exc.body, dict) else None
    if not isinstance(error, dict):
        return str(exc.message)
    causes = error.get("root_cause") or [error]
    cause = error.get("caused_by") or causes[0]
    return f"{error.get('type', exc.message)}: {cause.get('reason', '')}"


_Source = tuple[str, str, dict[str, Any] | str]
"""A document to index: its id, its ``@timestamp`` text (which picks the index) and its
body, as a document or as JSON text the client sends unchanged."""
_EVENT_OPENING = '{"event":{"'


def _sources(docs: Mapping[str, dict[str, Any]]) -> list[_Source]:
    """Documents by id, each with the id added (``_document``)."""
    return [(doc_id, doc["@timestamp"], _document(doc_id, doc)) for doc_id, doc in docs.items()]


def _event_time(event: Event) -> str:
    """An event's ``@timestamp`` as its document writes it."""
    return format_time(path_value(event, "@timestamp"))


def _event_source(doc_id: str, event: Event) -> dict[str, Any] | str:
    """An event's stored body: the JSON text its id was hashed from, with ``event.id`` put
    first in its ``event`` object (no document is built, and the client does not encode it
    again); the document itself for a shape that does not open with a non-empty ``event``."""
    text = cached_json(event)
    if text.startswith(_EVENT_OPENING):
        return '{"event":{"id":' + json.dumps(doc_id) + "," + text[len(_EVENT_OPENING) - 1 :]
    return _document(doc_id, event.to_ecs())


def _document(doc_id: str, doc: dict[str, Any]) -> dict[str, Any]:
    """The stored document: the record's ECS document plus its id (the sort tie-breaker)."""
    doc.setdefault("event", {})["id"] = doc_id
    return doc


def _bulk_error(shown: str, what: str, failures: list[Any]) -> StoreError:
    statuses = {next(iter(item.values())).get("status") for item in failures}
    first = next(iter(failures[0].values()))
    problem = (
        f"{shown}: {len(failures)} {what} not written; first: {first.get('_id')}:"
        f" {first.get('error')}"
    )
    if statuses <= _UNAVAILABLE_STATUS:
        return StoreUnavailableError(problem)
    return StoreError(problem)


def _ip(value: str) -> bool:
    """Whether ``value`` is one address (an ``ip`` field rejects anything else with an error)."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _time_range(field: str, since: float | None, until: float | None) -> list[dict[str, Any]]:
    bounds = {}
    if since is not None:
        bounds["gte"] = format_time(since)
    if until is not None:
        bounds["lt"] = format_time(until)
    return [{"range": {field: bounds}}] if bounds else []


def _alert_filters(query: AlertQuery) -> list[dict[str, Any]] | None:
    """The filters of an alert query, or None when nothing can match."""
    if query.ids is not None and not query.ids:
        return None
    addresses = [a for a in (query.source_ip, query.destination_ip) if a is not None]
    if not all(_ip(address) for address in addresses):
        return None
    filters: list[dict[str, Any]] = []
    if query.ids is not None:
        # A terms query takes at most index.max_terms_count (65,536) values: several, OR-ed.
        chunks = [
            {"terms": {"event.id": list(query.ids[start : start + MAX_TERMS])}}
            for start in range(0, len(query.ids), MAX_TERMS)
        ]
        filters.append({"bool": {"should": chunks, "minimum_should_match": 1}})
    if query.source_ip is not None:
        filters.append({"term": {"source.ip": query.source_ip}})
    if query.destination_ip is not None:
        # One address or one of a sweep's several: SQLite's store matches both the same way.
        either = [
            {"term": {"destination.ip": query.destination_ip}},
            {"term": {"nssa.alert.destinations": query.destination_ip}},
        ]
        filters.append({"bool": {"should": either, "minimum_should_match": 1}})
    if query.detector is not None:
        filters.append({"term": {"rule.ruleset": query.detector}})
    if query.rule is not None:
        filters.append({"term": {"rule.name": query.rule}})
    return filters + _time_range("@timestamp", query.since, query.until)


def _alert_ids_of(source: dict[str, Any]) -> list[str]:
    """The alert ids in an incident's ``_source`` cut down to ``_ALERT_IDS``."""
    ids = source.get("nssa", {}).get("incident", {}).get("alert_ids", [])
    return [str(alert_id) for alert_id in ids]


def _incident_filters(query: IncidentQuery) -> list[dict[str, Any]]:
    """The filters of an incident query: an incident matches a window it was active in."""
    filters: list[dict[str, Any]] = []
    for value, field in (
        (query.status, "nssa.incident.status"),
        (query.unit, "nssa.incident.units"),
        (query.attacker, "nssa.incident.attackers"),
    ):
        if value is not None:
            filters.append({"term": {field: str(value)}})
    if query.superseded is not None:
        absorbed = {"exists": {"field": "nssa.incident.superseded_by"}}
        filters.append(absorbed if query.superseded else {"bool": {"must_not": [absorbed]}})
    filters += _time_range("@timestamp", query.since, None)  # last seen at or after since
    filters += _time_range("event.start", None, query.until)  # first seen before until
    return filters
