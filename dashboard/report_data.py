"""Daily and weekly posture reports as pure functions: the period, what to ask the store, and
the report from its answer.

Periods are Beijing-time days and ISO weeks. The store counts the figures
(``report_request`` → ``Store.incident_stats`` over the incidents active in the period); only
the period's few highest-risk incidents are read whole, to list them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from correlator.aggregation import IncidentAggregation, IncidentStats, Window
from correlator.exceptions import AlertException
from correlator.incident import Incident, IncidentStatus
from correlator.organisation import OrganisationMap
from correlator.posture import HOUR
from dashboard.summary import TOP, Overview, overview_from, overview_request

TIMEZONE = ZoneInfo("Asia/Shanghai")
"""Report days start at midnight Beijing time."""
SOURCE_SLACK = 5
"""Attackers counted per external one shown: internal addresses are dropped after counting."""
LISTED = 20
"""Most new or resolved incidents a report lists (the counts cover them all)."""
NOTABLE = 5
"""Highest-risk incidents a report describes with their kill chain."""


class PeriodKind(StrEnum):
    """How long a report's period is."""

    DAILY = "daily"
    WEEKLY = "weekly"


@dataclass(frozen=True, kw_only=True)
class Period:
    """A report's period: [since, until) in epoch seconds, and its name (a date or ISO week)."""

    kind: PeriodKind
    label: str  # "2024-06-01" or "2024-W22"
    since: float
    until: float


@dataclass(frozen=True, kw_only=True)
class Report:
    """Everything a 日报 or 周报 shows."""

    period: Period
    overview: Overview  # score, trend, ranking, severities, stages, top hosts: in the period
    new_count: int  # incidents first seen in the period (false positives left out)
    new: tuple[Incident, ...]  # the highest-risk of them, up to ``LISTED``
    resolved: tuple[Incident, ...]  # resolved during the period, up to ``LISTED``
    notable: tuple[Incident, ...]  # the period's highest-risk live incidents
    exceptions: tuple[AlertException, ...]  # added during the period


def daily(text: str) -> Period:
    """The Beijing-time day ``text`` (YYYY-MM-DD).

    :raise ValueError: when ``text`` is not such a date.
    """
    day = date.fromisoformat(text)
    if len(text) != 10:  # fromisoformat also takes 20240601 and week dates
        raise ValueError(f"not YYYY-MM-DD: {text!r}")
    return _period(PeriodKind.DAILY, day.isoformat(), day, days=1)


def weekly(text: str) -> Period:
    """The ISO week ``text`` (YYYY-Www), Monday to Sunday in Beijing time.

    :raise ValueError: when ``text`` is not such a week.
    """
    year, _, week = text.partition("-W")
    if not (len(year) == 4 and len(week) == 2 and year.isdecimal() and week.isdecimal()):
        raise ValueError(f"not YYYY-Www: {text!r}")
    monday = date.fromisocalendar(int(year), int(week), 1)
    return _period(PeriodKind.WEEKLY, f"{year}-W{week}", monday, days=7)


def current(kind: PeriodKind, now: float) -> Period:
    """The day or ISO week that ``now`` falls in, in Beijing time."""
    today = datetime.fromtimestamp(now, TIMEZONE).date()
    if kind is PeriodKind.DAILY:
        return daily(today.isoformat())
    year, week, _ = today.isocalendar()
    return weekly(f"{year:04d}-W{week:02d}")


def neighbours(period: Period) -> tuple[Period, Period]:
    """The periods just before and just after ``period``."""
    length = period.until - period.since
    before = datetime.fromtimestamp(period.since - length / 2, TIMEZONE)
    after = datetime.fromtimestamp(period.until + length / 2, TIMEZONE)
    return current(period.kind, before.timestamp()), current(period.kind, after.timestamp())


def report_request(
    organisation: OrganisationMap, units: frozenset[str] | None, period: Period
) -> IncidentAggregation:
    """The overview's aggregation, over the incidents active in ``period``, hour by hour."""
    base = overview_request(organisation, units, sources=TOP * SOURCE_SLACK)
    return dataclasses.replace(
        base,
        window=Window(span=period.until - period.since, bucket=int(HOUR), until=period.until),
        active=(period.since, period.until),
    )


def report_from(
    stats: IncidentStats,
    organisation: OrganisationMap,
    units: frozenset[str] | None,
    period: Period,
    incidents: Sequence[Incident],
    exceptions: Sequence[AlertException],
) -> Report:
    """The report from the store's answer to ``report_request`` and the period's incidents
    (highest risk first) and exceptions."""
    live = [i for i in incidents if i.status is not IncidentStatus.FALSE_POSITIVE]
    new = [i for i in live if period.since <= i.first_seen < period.until]
    return Report(
        period=period,
        overview=overview_from(stats, organisation, units=units),
        new_count=sum(b.count for b in stats.histogram),
        new=tuple(new[:LISTED]),
        resolved=tuple(i for i in live if _resolved_in(i, period))[:LISTED],
        notable=tuple(live[:NOTABLE]),
        exceptions=tuple(sorted(exceptions, key=lambda x: x.created)),
    )


def _resolved_in(incident: Incident, period: Period) -> bool:
    return incident.status is IncidentStatus.RESOLVED and any(
        step.new is IncidentStatus.RESOLVED and period.since <= step.when < period.until
        for step in incident.history
    )


def _period(kind: PeriodKind, label: str, first: date, *, days: int) -> Period:
    start = datetime(first.year, first.month, first.day, tzinfo=TIMEZONE)
    return Period(
        kind=kind,
        label=label,
        since=start.timestamp(),
        until=(start + timedelta(days=days)).timestamp(),
    )
