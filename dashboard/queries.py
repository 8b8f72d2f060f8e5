"""The dashboard's reads and edits: the only module that calls the store; it returns typed rows.

Every query takes the ``Viewer`` asking: a unit viewer's limits are applied here, so a page
that forgets them still cannot show another unit's incident.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import BinaryIO

from flask import current_app

from correlator import exception_store
from correlator.aggregation import (
    AlertAggregation,
    IncidentAggregation,
    IncidentStats,
    Scope,
    Window,
)
from correlator.alert_packets import packet_source, with_captures, write_packets
from correlator.exceptions import AlertException, AuditAction, AuditRecord, Preview
from correlator.incident import Incident, IncidentStatus, StatusChange
from correlator.lifecycle import move
from correlator.organisation import OrganisationMap
from correlator.sensor_activity import SensorActivityRequest
from correlator.storage import AlertQuery, IncidentQuery, Store
from dashboard.auth import signed_in_user
from dashboard.exception_form import ExceptionRow, inside_units
from dashboard.explorer import DEFAULT_SPAN, AlertDetail, AlertFilter, AlertListing, bucket_for
from dashboard.inventory import Inventory, declared_assets, unknown_hosts
from dashboard.live_stream import LivePicture
from dashboard.report_data import Period, Report, report_from, report_request
from dashboard.sensor_health import HOUR, LOOKBACK, SensorStatus, statuses
from dashboard.summary import (
    TOP,
    WINDOW_HOURS,
    Overview,
    overview_from,
    overview_request,
    sources_complete,
)
from dashboard.users import User
from detectors.alert import Alert, Severity
from sensors.events import Event
from sensors.extract import Extraction

MAX_DETAIL_ALERTS = 500
"""Most alerts shown on one incident page; a long scan can have thousands, all alike."""
SOURCE_SLACK = 5
"""Attackers counted per external one shown: internal addresses are dropped after counting."""


@dataclass(frozen=True)
class Viewer:
    """Who is asking: a name for the audit trail and the unit codes they may see."""

    name: str
    units: frozenset[str] | None  # None: every unit; else these codes and all below them

    def sees(self, incident: Incident) -> bool:
        """Whether this viewer may see ``incident``."""
        return self.units is None or not self.units.isdisjoint(incident.units)


def viewer_for(user: User, organisation: OrganisationMap) -> Viewer:
    """The viewer ``user`` is: a unit viewer sees its units and every unit below them."""
    if not user.units:
        return Viewer(user.name, None)
    below = {
        unit.code
        for unit in organisation.units
        if any(parent.code in user.units for parent in organisation.lineage(unit.code))
    }
    return Viewer(user.name, frozenset(below | set(user.units)))


@dataclass(frozen=True)
class IncidentPage:
    """One page of incidents, highest risk first."""

    incidents: tuple[Incident, ...]
    page: int
    per_page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        """Whether a page comes before this one."""
        return self.page > 1


@dataclass(frozen=True)
class IncidentDetail:
    """An incident with the alerts it groups, newest first."""

    incident: Incident
    alerts: tuple[Alert, ...]
    with_packets: frozenset[str] = frozenset()  # alerts whose packets may be downloaded


def current_store() -> Store:
    """The store the running app was created with."""
    store: Store = current_app.extensions["nssa.store"]
    return store


def current_organisation() -> OrganisationMap:
    """The organisation map the running app was created with."""
    organisation: OrganisationMap = current_app.extensions["nssa.organisation"]
    return organisation


def current_viewer() -> Viewer:
    """The signed-in user of this request as a ``Viewer``."""
    return viewer_for(signed_in_user(), current_organisation())


def requested_page(args: Mapping[str, str]) -> int:
    """The 1-based page number in the query string; anything unusable means the first page."""
    text = args.get("page", "1")
    return max(int(text), 1) if text.isdecimal() else 1


def recent_incidents(store: Store, viewer: Viewer, page: int, per_page: int) -> IncidentPage:
    """Incidents ``viewer`` may see on ``page`` (1-based) of ``per_page``, highest risk first."""
    offset = (page - 1) * per_page
    # One row more than the page tells whether a next page exists without counting.
    rows = _visible(store, viewer, per_page + 1, offset)
    return IncidentPage(tuple(rows[:per_page]), page, per_page, len(rows) > per_page)


def incident_detail(store: Store, viewer: Viewer, incident_id: str) -> IncidentDetail | None:
    """The incident with its alerts, or None when the id is unknown or not ``viewer``'s."""
    incident = store.incident(incident_id)
    # Another unit's incident looks exactly like a missing one: its id reveals nothing.
    if incident is None or not viewer.sees(incident):
        return None
    alerts: list[Alert] = []
    if incident.alert_ids:
        query = AlertQuery(ids=incident.alert_ids, limit=MAX_DETAIL_ALERTS)
        alerts = store.alerts(query)
    return IncidentDetail(incident, tuple(alerts), with_captures(store, alerts))


def store_is_readable(store: Store) -> bool:
    """Whether the store answers a minimal query (for the health check)."""
    try:
        store.incidents(IncidentQuery(limit=1))
    # The protocol names no error type (StoreError lives in the application): any failure
    # of whichever store is behind it means unhealthy.
    except Exception:
        return False
    return True


def posture_overview(
    store: Store, viewer: Viewer, organisation: OrganisationMap, *, worst: bool = False
) -> Overview:
    """The posture overview of what ``viewer`` may see, ending at the newest activity.

    The store counts every incident the viewer may see (the viewer's units restrict the
    aggregation itself); no incident is loaded except, with ``worst``, each unit's worst few.
    """
    return overview_with_picture(store, viewer, organisation, worst=worst)[0]


def overview_with_picture(
    store: Store, viewer: Viewer, organisation: OrganisationMap, *, worst: bool = False
) -> tuple[Overview, LivePicture]:
    """``posture_overview`` and, from the same figures, the ``live_picture`` it shows."""
    sources = TOP * SOURCE_SLACK
    while True:
        request = overview_request(organisation, viewer.units, sources=sources, worst=worst)
        stats = store.incident_stats(request)
        # Rarely, most top attackers are internal: count more until ten outside ones show.
        if sources_complete(stats, request, organisation):
            summary = overview_from(stats, organisation, units=viewer.units)
            return summary, _picture(stats, summary.score)
        sources *= SOURCE_SLACK


def live_picture(store: Store, viewer: Viewer) -> LivePicture:
    """The figures live updates compare: only incidents in ``viewer``'s units are counted."""
    # One scope of everything the viewer sees: its hourly worst risk is the overview's score.
    window = Window(span=WINDOW_HOURS * HOUR, bucket=int(HOUR))
    request = IncidentAggregation(
        units=viewer.units, window=window, scopes=(Scope(name="seen", units=None),), top=1
    )
    stats = store.incident_stats(request)
    return _picture(stats, max((cell.risk for cell in stats.posture), default=0))


def _picture(stats: IncidentStats, score: int) -> LivePicture:
    critical = sum(c.count for c in stats.by_severity if c.key == Severity.CRITICAL.value)
    return LivePicture(
        incidents=stats.total,
        open_incidents=stats.open_incidents,
        critical=critical,
        latest_ms=round((stats.latest or 0.0) * 1000),
        score=score,
    )


def sensor_health(store: Store, viewer: Viewer, now: float) -> tuple[SensorStatus, ...] | None:
    """Each sensor's last event and last hour; None for unit viewers (sensors are the city's)."""
    if viewer.units is not None:
        return None
    request = SensorActivityRequest(since=now - LOOKBACK, recent=now - HOUR)
    return statuses(store.sensor_activity(request), now=now)


def assign(store: Store, viewer: Viewer, incident_id: str, assignee: str, now: float) -> bool:
    """Assign the incident to ``assignee``; False when ``viewer`` cannot see it."""
    return _edit(
        store,
        viewer,
        incident_id,
        lambda i: dataclasses.replace(
            i, assignee=assignee, history=(*i.history, _step(viewer, i, now, f"→ {assignee}"))
        ),
        AuditRecord(
            time=now,
            who=viewer.name,
            action=AuditAction.INCIDENT_ASSIGNED,
            exception_id=incident_id,
            detail=f"assigned to {assignee}",
        ),
    )


def change_status(
    store: Store, viewer: Viewer, incident_id: str, new: IncidentStatus, note: str, now: float
) -> bool:
    """Move the incident to ``new`` (LifecycleError if not allowed); False if not visible."""
    return _edit(
        store,
        viewer,
        incident_id,
        lambda i: move(i, new, who=viewer.name, when=now, note=note),
        AuditRecord(
            time=now,
            who=viewer.name,
            action=AuditAction.INCIDENT_STATUS,
            exception_id=incident_id,
            detail=f"status → {new.value}: {note}",
        ),
    )


def add_note(store: Store, viewer: Viewer, incident_id: str, note: str, now: float) -> bool:
    """Append an analyst's note to the incident's history; False when not visible."""
    return _edit(
        store,
        viewer,
        incident_id,
        lambda i: dataclasses.replace(i, history=(*i.history, _step(viewer, i, now, note))),
        AuditRecord(
            time=now,
            who=viewer.name,
            action=AuditAction.INCIDENT_NOTE,
            exception_id=incident_id,
            detail=note,
        ),
    )


def _step(viewer: Viewer, incident: Incident, now: float, note: str) -> StatusChange:
    """A history step that keeps the status (an assignment or a note)."""
    return StatusChange(
        who=viewer.name, when=now, old=incident.status, new=incident.status, note=note
    )


def _edit(
    store: Store,
    viewer: Viewer,
    incident_id: str,
    change: Callable[[Incident], Incident],
    audit: AuditRecord,
) -> bool:
    def scoped(incident: Incident) -> Incident:
        # Checked inside the edit, on the version being changed, not on an earlier read.
        if not viewer.sees(incident):
            raise _NotVisibleError(incident_id)
        return change(incident)

    try:
        return store.edit_incident(incident_id, scoped, audit) is not None
    except _NotVisibleError:
        return False


class _NotVisibleError(LookupError):
    """The incident is outside the viewer's units: treated as missing."""


def _visible(store: Store, viewer: Viewer, limit: int, offset: int) -> list[Incident]:
    """Up to ``limit`` incidents ``viewer`` may see after skipping ``offset``, by rank."""
    if viewer.units is None:
        return store.incidents(IncidentQuery(superseded=False, limit=limit, offset=offset))
    # One query per unit code, merged in the store's order; an incident in two units once.
    merged: dict[str, Incident] = {}
    for code in sorted(viewer.units):
        query = IncidentQuery(unit=code, superseded=False, limit=limit + offset)
        for incident in store.incidents(query):
            merged[incident.id] = incident
    ranked = sorted(merged.values(), key=lambda i: (-i.risk_score, -i.last_seen, i.id))
    return ranked[offset : offset + limit]


MAX_SCOPED_INCIDENTS = 2000
"""Highest-risk incidents per unit whose alerts a unit-limited alert list draws from."""
PANEL_TOP = 10
"""Entries in each top list of the alerts explorer's side panel."""


def explore_alerts(
    store: Store,
    viewer: Viewer,
    organisation: OrganisationMap,
    wanted: AlertFilter,
    page: int,
    per_page: int,
) -> AlertListing:
    """A page of the alerts ``viewer`` may see that match ``wanted``, newest first, with the
    side panel's counts over the asked time range (else the day up to the newest of them).

    A unit viewer (or a ``unit`` filter) sees the alerts of the incidents of those units:
    alerts carry no unit, and an incident is what attributes them to one.
    """
    ids = _scoped_alert_ids(store, viewer, organisation, wanted.unit)
    query = AlertQuery(
        ids=ids,
        source_ip=wanted.source,
        destination_ip=wanted.destination,
        detector=wanted.detector,
        rule=wanted.rule,
        since=wanted.since,
        until=wanted.until,
        limit=per_page + 1,
        offset=(page - 1) * per_page,
    )
    rows = store.alerts(query) if ids != () else []
    since, until = wanted.since, wanted.until
    if since is None or until is None:
        newest = rows[:1] if query.offset == 0 else _newest(store, query)
        until = until if until is not None else (newest[0].time + 1 if newest else None)
        since = since if since is not None or until is None else until - DEFAULT_SPAN
    bucket = bucket_for(until - since) if since is not None and until is not None else None
    panel = AlertAggregation(
        since=since,
        until=until,
        bucket=bucket,
        top=PANEL_TOP,
        ids=ids,
        source_ip=query.source_ip,
        destination_ip=query.destination_ip,
        detector=query.detector,
        rule=query.rule,
    )
    return AlertListing(
        alerts=tuple(rows[:per_page]),
        page=page,
        per_page=per_page,
        has_next=len(rows) > per_page,
        stats=store.alert_stats(panel),
        since=since,
        until=until,
        bucket=bucket,
    )


def alert_detail(store: Store, viewer: Viewer, alert_id: str) -> AlertDetail | None:
    """The alert and the incident holding it, or None when unknown or not ``viewer``'s.

    A unit viewer may open an alert only through an incident of theirs that holds it.
    """
    found = store.alerts(AlertQuery(ids=(alert_id,), limit=1))
    if not found:
        return None
    alert = found[0]
    # Incidents active while the alert was: one holding it overlaps its span.
    around = IncidentQuery(
        since=min(alert.first_seen, alert.time),
        until=max(alert.last_seen, alert.time) + 1,
        limit=MAX_SCOPED_INCIDENTS,
    )
    holding = [i for i in store.incidents(around) if alert.id in i.alert_ids]
    # The incident standing alone first: an absorbed one points to it anyway.
    holding.sort(key=lambda i: (i.superseded_by is not None, -i.risk_score, i.id))
    visible = [i for i in holding if viewer.sees(i)]
    if viewer.units is not None and not visible:
        return None
    packets = bool(with_captures(store, [alert]))
    return AlertDetail(
        alert=alert,
        incident=visible[0] if visible else None,
        packets=packets,
        evidence=cited_records(store, alert),
    )


EVIDENCE_SHOWN = 50
"""Cited records an alert page resolves and shows (detectors cite a few dozen at most)."""


def cited_records(store: Store, alert: Alert) -> tuple[Event, ...]:
    """The records ``alert`` cites as evidence that the store holds, in the order cited."""
    wanted = alert.evidence[:EVIDENCE_SHOWN]
    if not wanted:
        return ()
    found = {event.id: event for event in store.events_by_id(wanted)}
    return tuple(found[ref] for ref in wanted if ref in found)


def alert_packets(
    store: Store, viewer: Viewer, alert_id: str, out: BinaryIO, now: float
) -> Extraction | None:
    """Write the packets behind the alert to ``out`` and audit the download; None when the
    alert is unknown, not ``viewer``'s (as for its page), or no registered capture covers it."""
    detail = alert_detail(store, viewer, alert_id)
    if detail is None or not detail.packets:
        return None
    source = packet_source(store, detail.alert)
    if not source.available:
        return None
    extraction = write_packets(source, out)
    store.put_audit(
        AuditRecord(
            time=now,
            who=viewer.name,
            action=AuditAction.PACKETS_DOWNLOADED,
            exception_id=alert_id,
            detail=packets_summary(extraction),
        )
    )
    return extraction


def packets_summary(extraction: Extraction) -> str:
    """One line for the audit trail: what was written, left out and could not be read."""
    problems = ", ".join(f"{p.path} {p.check.value}" for p in extraction.problems)
    return (
        f"{extraction.packets} packets ({extraction.bytes} bytes, {extraction.format.value})"
        f" from {len(extraction.files)} files; {extraction.left_out} over the cap"
        + (f"; not read: {problems}" if problems else "")
    )


def asset_inventory(store: Store, viewer: Viewer, organisation: OrganisationMap) -> Inventory:
    """The units ``viewer`` may see with their open incidents, and the undeclared hosts in
    the incidents they may see."""
    units = [u for u in organisation.units if viewer.units is None or u.code in viewer.units]
    request = IncidentAggregation(
        units=viewer.units,
        scopes=tuple(Scope(name=u.code, units=frozenset({u.code})) for u in units),
        top=0,
    )
    stats = store.incident_stats(request)
    open_counts = {figures.scope: figures.open_incidents for figures in stats.scopes}
    incidents = _visible(store, viewer, MAX_SCOPED_INCIDENTS, 0)
    return Inventory(
        declared=declared_assets(organisation, viewer.units, open_counts),
        unknown=unknown_hosts(incidents, organisation),
    )


def _newest(store: Store, query: AlertQuery) -> list[Alert]:
    """The newest alert matching ``query`` (a page past the first does not hold it)."""
    if query.ids == ():
        return []
    return store.alerts(dataclasses.replace(query, limit=1, offset=0))


def _scoped_alert_ids(
    store: Store, viewer: Viewer, organisation: OrganisationMap, unit: str | None
) -> tuple[str, ...] | None:
    """The alerts of the incidents of ``unit`` (and below) that ``viewer`` may see; None
    when neither limits anything, () when nothing is left."""
    if unit is None and viewer.units is None:
        return None
    codes = set(viewer.units) if viewer.units is not None else {u.code for u in organisation.units}
    if unit is not None:
        codes &= {u.code for u in organisation.units if unit in _codes(organisation, u.code)}
    ids: set[str] = set()
    for code in sorted(codes):
        # The id lists alone: reading whole incidents was most of the page's time.
        ids.update(store.incident_alert_ids(IncidentQuery(unit=code, limit=MAX_SCOPED_INCIDENTS)))
    return tuple(sorted(ids))


def _codes(organisation: OrganisationMap, code: str) -> set[str]:
    """The code of the unit and of each unit above it."""
    return {unit.code for unit in organisation.lineage(code)}


# Exceptions (例外) and posture reports (报告).

PREVIEW_SCAN = 20_000
"""Newest stored alerts a dashboard preview examines: recent ones, quickly enough for a page."""
REPORT_INCIDENTS = 1000
"""Most incidents a report reads to list the period's new, resolved and notable ones."""


@dataclass(frozen=True)
class ExceptionPreview:
    """What an exception would hide: the counts and the first few alerts themselves."""

    preview: Preview
    sample: tuple[Alert, ...]


def exception_rows(store: Store, viewer: Viewer, *, now: float, editor: bool) -> list[ExceptionRow]:
    """The exceptions ``viewer`` may see (theirs, for a unit user), newest first."""
    shown = [x for x in store.exceptions() if inside_units(x, viewer.units)]
    marked = {c.key: c.count for c in store.mark_counts([x.id for x in shown])}
    return [
        ExceptionRow(
            exception=x, active=x.expires > now, marked=marked.get(x.id, 0), editable=editor
        )
        for x in shown
    ]


def visible_exception(store: Store, viewer: Viewer, exception_id: str) -> AlertException | None:
    """The exception, or None when unknown or outside ``viewer``'s units."""
    try:
        found = exception_store.stored_exception(store, exception_id)
    except exception_store.UnknownExceptionError:
        return None
    return found if inside_units(found, viewer.units) else None


def preview_exception(
    store: Store, exception: AlertException, organisation: OrganisationMap
) -> ExceptionPreview:
    """What ``exception`` would hide among the recent stored alerts, with sample alerts."""
    shown = exception_store.preview_stored(store, exception, organisation, PREVIEW_SCAN)
    sample = store.alerts(AlertQuery(ids=shown.sample)) if shown.sample else []
    return ExceptionPreview(shown, tuple(sample))


def save_exception(
    store: Store,
    viewer: Viewer,
    exception: AlertException,
    organisation: OrganisationMap,
    replaces: str,
) -> int | None:
    """Save ``exception`` (a new version of ``replaces`` when given), audited; how many past
    alerts it marked, or None when ``replaces`` is unknown or not ``viewer``'s."""
    if not replaces:
        return exception_store.add_exception(store, exception, organisation)
    old = visible_exception(store, viewer, replaces)
    if old is None:
        return None
    return exception_store.revise_exception(store, old, exception, organisation)


def end_exception(store: Store, viewer: Viewer, exception_id: str, now: float) -> bool:
    """Expire the exception now (audited); False when unknown or not ``viewer``'s."""
    if visible_exception(store, viewer, exception_id) is None:
        return False
    exception_store.expire_exception(store, exception_id, who=viewer.name, at=now)
    return True


def period_report(
    store: Store, viewer: Viewer, organisation: OrganisationMap, period: Period
) -> Report:
    """The posture report of ``period`` over what ``viewer`` may see, counted by the store."""
    request = report_request(organisation, viewer.units, period)
    stats = store.incident_stats(request)
    incidents = _period_incidents(store, viewer, period)
    added = [
        x
        for x in store.exceptions()
        if period.since <= x.created < period.until and inside_units(x, viewer.units)
    ]
    return report_from(stats, organisation, viewer.units, period, incidents, added)


def _period_incidents(store: Store, viewer: Viewer, period: Period) -> list[Incident]:
    """The highest-risk incidents active in ``period`` that ``viewer`` may see."""
    codes: list[str | None] = [None] if viewer.units is None else [*sorted(viewer.units)]
    merged: dict[str, Incident] = {}
    for code in codes:
        query = IncidentQuery(
            unit=code, since=period.since, until=period.until, limit=REPORT_INCIDENTS
        )
        merged.update((i.id, i) for i in store.incidents(query))
    return sorted(merged.values(), key=lambda i: (-i.risk_score, i.id))[:REPORT_INCIDENTS]
