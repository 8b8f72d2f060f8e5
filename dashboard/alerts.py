"""HTML pages of the alerts explorer: the filtered, pivotable list and one alert."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, current_app, render_template, request

from dashboard import queries
from dashboard.explorer import alert_filter
from dashboard.i18n import TIMEZONE

bp = Blueprint("alerts", __name__)
"""Routes ``/alerts`` and ``/alerts/<id>``."""


@bp.get("/alerts")
def index() -> str:
    """Alerts newest first, filtered and pivoted by the query string, one page at a time."""
    wanted = alert_filter(request.args, TIMEZONE)
    listing = queries.explore_alerts(
        queries.current_store(),
        queries.current_viewer(),
        queries.current_organisation(),
        wanted,
        queries.requested_page(request.args),
        int(current_app.config["PER_PAGE"]),
    )
    return render_template("alerts.html", listing=listing, wanted=wanted)


@bp.get("/alerts/<alert_id>")
def detail(alert_id: str) -> str:
    """One alert: its explanation, facts, evidence and the incident holding it.

    :raise 404: when no alert has this id, or it belongs to no incident the viewer may see.
    """
    found = queries.alert_detail(queries.current_store(), queries.current_viewer(), alert_id)
    if found is None:
        abort(404)
    return render_template("alert.html", detail=found)


@bp.app_template_filter("local_input")
def local_input(epoch: float | None) -> str:
    """Epoch seconds as the value of a ``datetime-local`` input (Beijing time), or ''."""
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch, TIMEZONE).strftime("%Y-%m-%dT%H:%M")
