"""Dashboard: the Flask app showing incidents and alerts to SOC analysts, read from a ``Store``.

This package imports only ``sensors``, ``detectors`` and ``correlator`` types; the application
opens the store and hands it to :func:`create_app`.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.wrappers import Response

from correlator.organisation import OrganisationMap
from correlator.storage import Store
from dashboard import (
    actions,
    alerts,
    api,
    assets,
    auth,
    exceptions_page,
    i18n,
    incidents,
    live,
    overview,
    reports,
)
from dashboard.users import User

DEFAULTS: Mapping[str, object] = {"PER_PAGE": 50}
"""Settings ``config`` may override: ``PER_PAGE`` is incidents per list page."""

SECURITY_HEADERS: Mapping[str, str] = {
    # Everything (CSS, images) comes from the dashboard itself; no inline script can run.
    "Content-Security-Policy": (
        "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Incident ids in URLs must not leak to other sites through links.
    "Referrer-Policy": "no-referrer",
}
"""Headers set on every response."""


def create_app(store: Store, *, config: Mapping[str, object] | None = None) -> Flask:
    """Build the dashboard over ``store``.

    ``config`` holds Flask settings (upper case; ``SECRET_KEY`` signs sessions, random per
    start when absent), ``"users"``: settings-file accounts (the store's accounts sign in
    too; with neither there is no login, so no app), and optionally ``"organisation"``: an
    ``OrganisationMap`` whose unit names replace codes.
    """
    settings = dict(config or {})
    organisation = settings.pop("organisation", None) or OrganisationMap()
    if not isinstance(organisation, OrganisationMap):
        raise TypeError(f"config['organisation'] must be an OrganisationMap, not {organisation!r}")
    users = settings.pop("users", ())
    if not isinstance(users, tuple) or not all(isinstance(u, User) for u in users):
        raise TypeError("config['users'] must be a tuple of dashboard.users.User")
    if not users and not any(not account.disabled for account in store.users()):
        raise ValueError("no dashboard users: run `nssa user add NAME --role admin` first")
    app = Flask(__name__)
    app.config.from_mapping(DEFAULTS)
    app.config.from_mapping(settings)
    app.extensions["nssa.store"] = store
    app.extensions["nssa.organisation"] = organisation
    if isinstance(app.json, DefaultJSONProvider):
        app.json.ensure_ascii = False  # Chinese titles stay readable in API output
    # Tidy HTML: block tags leave no blank lines behind (autoescape stays on for .html).
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    i18n.init_app(app)
    auth.init_app(app, users)
    app.after_request(_add_security_headers)
    app.register_blueprint(overview.bp)
    app.register_blueprint(incidents.bp)
    app.register_blueprint(actions.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(alerts.bp)
    app.register_blueprint(assets.bp)
    app.register_blueprint(exceptions_page.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(live.bp)
    return app


def _add_security_headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response
