"""例外 (exceptions): the list, and the create/revise form with its preview step.

Everyone signed in sees the list (a unit user only their units' exceptions); analysts and
administrators preview, save, revise and expire. Every change goes through
``queries`` to ``correlator.exception_store``, which writes the audit record.
"""

from __future__ import annotations

import time

from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from correlator.exceptions import AlertException, ExceptionKind
from dashboard import queries
from dashboard.auth import signed_in_user
from dashboard.exception_form import FormError, exception_from_form, form_values, values_of

bp = Blueprint("exceptions", __name__)
"""Routes ``/exceptions``, ``/exceptions/preview``, ``/exceptions/<id>/edit`` and ``/expire``."""


@bp.get("/exceptions")
def index() -> str:
    """The exceptions, active ones first, and (for editors) the empty create form."""
    return _page(form_values({}))


@bp.get("/exceptions/<exception_id>/edit")
def edit(exception_id: str) -> str:
    """The form filled with an exception's values, to save a new version of it.

    :raise 403: for read-only roles; 404 when unknown or outside the user's units.
    """
    viewer = _editor()
    found = queries.visible_exception(queries.current_store(), viewer, exception_id)
    if found is None:
        abort(404)
    return _page(values_of(found))


@bp.post("/exceptions/preview")
def preview() -> str | tuple[str, int]:
    """Show how many and which recent alerts the form's exception would hide; save nothing."""
    values = form_values(request.form)
    try:
        exception = _from_form()
    except FormError as error:
        return _page(values, error=error.key), 400
    shown = queries.preview_exception(
        queries.current_store(), exception, queries.current_organisation()
    )
    return _page(values, preview=shown)


@bp.post("/exceptions")
def save() -> Response | tuple[str, int]:
    """Save the previewed exception (a new version when it revises one), then list them.

    :raise 404: when the exception it revises is unknown or outside the user's units.
    """
    try:
        exception = _from_form()
    except FormError as error:
        return _page(form_values(request.form), error=error.key), 400
    replaces = request.form.get("replaces", "").strip()
    marked = queries.save_exception(
        queries.current_store(),
        queries.current_viewer(),
        exception,
        queries.current_organisation(),
        replaces,
    )
    if marked is None:
        abort(404)
    return redirect(url_for("exceptions.index", saved=exception.id) + "#list")


@bp.post("/exceptions/<exception_id>/expire")
def expire(exception_id: str) -> Response:
    """End the exception now; the alerts it already marked stay marked.

    :raise 403: for read-only roles; 404 when unknown or outside the user's units.
    """
    viewer = _editor()
    if not queries.end_exception(queries.current_store(), viewer, exception_id, time.time()):
        abort(404)
    return redirect(url_for("exceptions.index") + "#list")


def _from_form() -> AlertException:
    viewer = _editor()
    return exception_from_form(request.form, owner=viewer.name, now=time.time(), units=viewer.units)


def _editor() -> queries.Viewer:
    if not signed_in_user().role.can_edit:
        abort(403)
    return queries.current_viewer()


def _page(
    values: dict[str, str], *, error: str = "", preview: queries.ExceptionPreview | None = None
) -> str:
    viewer = queries.current_viewer()
    editor = signed_in_user().role.can_edit
    rows = queries.exception_rows(queries.current_store(), viewer, now=time.time(), editor=editor)
    organisation = queries.current_organisation()
    units = [u.code for u in organisation.units if viewer.units is None or u.code in viewer.units]
    return render_template(
        "exceptions.html",
        rows=rows,
        editor=editor,
        values=values,
        error=error,
        preview=preview,
        kinds=list(ExceptionKind),
        units=units,
        any_unit=viewer.units is None,
        saved=request.args.get("saved", ""),
    )
