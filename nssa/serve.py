"""Serving the dashboard: the Flask app over a store, on a local address."""

from __future__ import annotations

import webbrowser

import click
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from correlator.storage import Store
from dashboard import create_app
from dashboard.users import User
from nssa.errors import ConfigError
from nssa.settings import Settings


def serve(
    store: Store,
    settings: Settings,
    *,
    host: str,
    port: int,
    open_browser: bool,
    users: tuple[User, ...] | None = None,
    demo_link: tuple[str, str] | None = None,
) -> None:
    """Serve the dashboard until interrupted, printing its URL first.

    ``users`` replaces the settings file's accounts (``nssa demo``'s one-time login); the
    store's accounts (``nssa user add``) are used either way, and win on a name clash.
    """
    accounts = settings.dashboard.users if users is None else users
    if not accounts and not any(not account.disabled for account in store.users()):
        # No default password: a dashboard without accounts does not start at all.
        raise ConfigError(
            settings.source,
            "dashboard.users",
            "no users: run `nssa user add NAME --role admin` to create the first one",
        )
    config: dict[str, object] = {
        "organisation": settings.organisation,
        "users": accounts,
        "SESSION_COOKIE_SECURE": settings.dashboard.secure_cookies,
        "LIVE_POLL_SECONDS": settings.dashboard.live_poll_seconds,
        "LIVE_LIFETIME_SECONDS": settings.dashboard.live_lifetime_seconds,
        # Country and AS of outside sources: the database folder, or None when [geo] is off.
        "GEO_DATABASE": settings.geo.directory(),
    }
    if settings.dashboard.secret_key:
        config["SECRET_KEY"] = settings.dashboard.secret_key
    if demo_link is not None:
        config["DEMO_LINK"] = demo_link
    app = create_app(store, config=config)
    server = dashboard_server(app, host, port)
    url = f"http://{host}:{server.server_port}/"
    if demo_link is not None:
        url += f"login/demo/{demo_link[0]}"
    click.echo(f"NSSA dashboard: {url}", err=False)
    if open_browser:
        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        server.server_close()


def dashboard_server(app: Flask, host: str, port: int) -> BaseWSGIServer:
    """The WSGI server ``serve`` runs: a thread per request, since every open page holds one
    for its live-update stream (``/events/stream``) until the stream's lifetime ends."""
    return make_server(host, port, app, threaded=True)
