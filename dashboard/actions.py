"""Analysts' incident actions: assign, change status, add a note (POST forms with CSRF)."""

from __future__ import annotations

import time

from flask import Blueprint, abort, redirect, request, url_for
from werkzeug.wrappers import Response

from correlator.incident import IncidentStatus
from correlator.lifecycle import LifecycleError
from correlator.storage import Store
from dashboard import queries
from dashboard.auth import signed_in_user

bp = Blueprint("actions", __name__)
"""Routes ``POST /incidents/<id>/assign``, ``.../status`` and ``.../note``."""

MAX_TEXT = 2000
"""Longest note or assignee name accepted; the history is shown in full on every visit."""


@bp.post("/incidents/<incident_id>/assign")
def assign(incident_id: str) -> Response:
    """Assign the incident to the named analyst.

    :raise 403: for read-only roles; 404 when the incident is unknown or not the user's.
    """
    assignee = _text("assignee", required=True)
    return _done(
        queries.assign(_store(), _editor(), incident_id, assignee, time.time()), incident_id
    )


@bp.post("/incidents/<incident_id>/status")
def status(incident_id: str) -> Response:
    """Move the incident along its lifecycle.

    :raise 400: for an unknown status or a move the lifecycle forbids.
    """
    try:
        new = IncidentStatus(request.form.get("status", ""))
        done = queries.change_status(
            _store(), _editor(), incident_id, new, _text("note"), time.time()
        )
    except (ValueError, LifecycleError):
        abort(400)
    return _done(done, incident_id)


@bp.post("/incidents/<incident_id>/note")
def note(incident_id: str) -> Response:
    """Add a note to the incident's history."""
    text = _text("note", required=True)
    return _done(queries.add_note(_store(), _editor(), incident_id, text, time.time()), incident_id)


def _editor() -> queries.Viewer:
    if not signed_in_user().role.can_edit:
        abort(403)
    return queries.current_viewer()


def _store() -> Store:
    return queries.current_store()


def _text(field: str, *, required: bool = False) -> str:
    value = request.form.get(field, "").strip()
    if (required and not value) or len(value) > MAX_TEXT:
        abort(400)
    return value


def _done(found: bool, incident_id: str) -> Response:
    if not found:
        abort(404)
    # Post/redirect/get: a reload does not repeat the action.
    return redirect(url_for("incidents.detail", incident_id=incident_id) + "#history")
