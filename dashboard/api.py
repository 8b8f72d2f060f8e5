"""JSON API: incidents for scripts and other consoles, and the health check."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from werkzeug.wrappers import Response

from correlator.organisation import OrganisationMap
from correlator.views import alert_view, incident_view
from dashboard import queries

bp = Blueprint("api", __name__)
"""Routes ``/api/incidents``, ``/api/incidents/<id>`` and ``/healthz``."""

MAX_PER_PAGE = 200
"""Largest page the API serves, so one request cannot pull the whole store."""


@bp.get("/api/incidents")
def incidents() -> Response:
    """A page of incident summaries, highest risk first (``?page=``, ``?per_page=``)."""
    page = queries.requested_page(request.args)
    default = int(current_app.config["PER_PAGE"])
    per_page = min(max(request.args.get("per_page", default, type=int), 1), MAX_PER_PAGE)
    listing = queries.recent_incidents(
        queries.current_store(), queries.current_viewer(), page, per_page
    )
    return jsonify(
        page=listing.page,
        per_page=listing.per_page,
        has_next=listing.has_next,
        incidents=[incident_view(incident, _organisation()) for incident in listing.incidents],
    )


@bp.get("/api/incidents/<incident_id>")
def incident(incident_id: str) -> Response | tuple[Response, int]:
    """One incident in full, with its alerts; 404 with a JSON error when the id is unknown."""
    found = queries.incident_detail(queries.current_store(), queries.current_viewer(), incident_id)
    if found is None:
        return jsonify(error="incident not found", id=incident_id), 404
    body = incident_view(found.incident, _organisation()) | {
        "alerts": [alert_view(alert) for alert in found.alerts],
    }
    return jsonify(body)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """200 when the store answers, 503 when it does not (for load balancers and systemd)."""
    if queries.store_is_readable(queries.current_store()):
        return jsonify(status="ok"), 200
    return jsonify(status="store unavailable"), 503


def _organisation() -> OrganisationMap:
    """The organisation map the app was created with (unit names for ``units``)."""
    organisation: OrganisationMap = current_app.extensions["nssa.organisation"]
    return organisation
