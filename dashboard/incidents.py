"""HTML pages for incidents: the risk-ranked list and one incident with its alerts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from werkzeug.exceptions import Forbidden, NotFound
from werkzeug.wrappers import Response

from correlator.lifecycle import MOVES
from dashboard import origins, queries

bp = Blueprint("incidents", __name__)
"""Routes ``/``, ``/incidents`` and ``/incidents/<id>``, and the HTML 404 page."""

ATTACKERS_SHOWN = 50
"""Attackers listed on an incident's page (the template's limit too)."""


@bp.get("/")
def root() -> Response:
    """Send visitors to the posture overview, keeping any ``?lang=``."""
    values: dict[str, Any] = request.args.to_dict()
    return redirect(url_for("overview.index", **values))


@bp.get("/incidents")
def index() -> str:
    """The incident list, highest risk first, one page at a time."""
    page = queries.requested_page(request.args)
    per_page = int(current_app.config["PER_PAGE"])
    store, viewer = queries.current_store(), queries.current_viewer()
    listing = queries.recent_incidents(store, viewer, page, per_page)
    live = queries.live_picture(store, viewer)
    return render_template("incidents.html", listing=listing, live=live)


@bp.get("/incidents/<incident_id>")
def detail(incident_id: str) -> str:
    """One incident: its fields, risk factors and alerts with their explanations.

    :raise 404: when no incident has this id, or it is another unit's.
    """
    found = queries.incident_detail(queries.current_store(), queries.current_viewer(), incident_id)
    if found is None:
        abort(404)
    return render_template(
        "incident.html",
        detail=found,
        moves=MOVES[found.incident.status],
        # The attackers shown (up to 50), one batch lookup: country and AS of the outside ones.
        attacker_origins=origins.public_origins(found.incident.attackers[:ATTACKERS_SHOWN]),
    )


@bp.app_errorhandler(NotFound)
def not_found(error: NotFound) -> tuple[str, int]:
    """The 404 page, in the visitor's language."""
    return render_template("not_found.html"), 404


@bp.app_errorhandler(Forbidden)
def forbidden(error: Forbidden) -> tuple[str, int]:
    """The 403 page (a read-only role, or a POST without its CSRF token)."""
    return render_template("forbidden.html"), 403
