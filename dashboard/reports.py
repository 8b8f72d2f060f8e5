"""报告 (reports): the printable daily and weekly posture reports, in the user's language."""

from __future__ import annotations

import time
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, render_template, request

from dashboard import queries
from dashboard.report_data import PeriodKind, current, daily, neighbours, weekly
from dashboard.report_pdf import render_pdf
from dashboard.summary import stage_order

bp = Blueprint("reports", __name__)
"""Routes ``/reports/daily?date=YYYY-MM-DD``, ``/reports/weekly?week=YYYY-Www`` and their
``.pdf`` twins."""


@bp.get("/reports/daily")
def day() -> str:
    """The 日报 of one Beijing-time day (today without ``date``).

    :raise 400: when ``date`` is not YYYY-MM-DD.
    """
    return _render(PeriodKind.DAILY, "date")


@bp.get("/reports/weekly")
def week() -> str:
    """The 周报 of one ISO week (this week without ``week``).

    :raise 400: when ``week`` is not YYYY-Www.
    """
    return _render(PeriodKind.WEEKLY, "week")


@bp.get("/reports/daily.pdf")
def day_pdf() -> Response:
    """The 日报 as an A4 PDF.

    :raise 400: when ``date`` is not YYYY-MM-DD.
    """
    return _pdf(_render(PeriodKind.DAILY, "date"))


@bp.get("/reports/weekly.pdf")
def week_pdf() -> Response:
    """The 周报 as an A4 PDF.

    :raise 400: when ``week`` is not YYYY-Www.
    """
    return _pdf(_render(PeriodKind.WEEKLY, "week"))


def _pdf(html: str) -> Response:
    static = Path(current_app.static_folder or "static")
    return Response(render_pdf(html, static), mimetype="application/pdf")


def _render(kind: PeriodKind, field: str) -> str:
    text = request.args.get(field, "")
    parse = daily if kind is PeriodKind.DAILY else weekly
    try:
        period = parse(text) if text else current(kind, time.time())
    except ValueError:
        abort(400)
    report = queries.period_report(
        queries.current_store(),
        queries.current_viewer(),
        queries.current_organisation(),
        period,
    )
    before, after = neighbours(period)
    return render_template(
        "report.html",
        report=report,
        stages=stage_order(),
        field=field,
        page="reports.day" if kind is PeriodKind.DAILY else "reports.week",
        before=before,
        after=after,
        generated=time.time(),
    )
