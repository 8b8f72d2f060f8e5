"""HTML pages for incidents: the risk-ranked list and one incident with its alerts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from dashboard import queries

bp = Blueprint("incidents", __name__)
"""Routes ``/``, ``/incidents`` and ``/incidents/<id>``, and the HTML 404 page."""


@bp.get("/")
def root() -> Response:
    """Send visitors to the incident list, keeping any ``?lang=``."""
    values: dict[str, Any] = request.args.to_dict()
    return redirect(url_for("incidents.index", **values))


@bp.get("/incidents")
def index() -> str:
    """The incident list, highest risk first, one page at a time."""
    page = queries.requested_page(request.args)
    per_page = int(current_app.config["PER_PAGE"])
    listing = queries.recent_incidents(queries.current_store(), page, per_page)
    return render_template("incidents.html", listing=listing)


@bp.get("/incidents/<incident_id>")
def detail(incident_id: str) -> str:
    """One incident: its fields, risk factors and alerts with their explanations.

    :raise 404: when no incident has this id.
    """
    found = queries.incident_detail(queries.current_store(), incident_id)
    if found is None:
        abort(404)
    return render_template("incident.html", detail=found)


@bp.app_errorhandler(NotFound)
def not_found(error: NotFound) -> tuple[str, int]:
    """The 404 page, in the visitor's language."""
    return render_template("not_found.html"), 404
