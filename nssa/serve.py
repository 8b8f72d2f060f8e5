"""Serving the dashboard: the Flask app over a store, on a local address."""

from __future__ import annotations

import webbrowser

import click
from werkzeug.serving import make_server

from correlator.storage import Store
from dashboard import create_app
from nssa.settings import Settings


def serve(store: Store, settings: Settings, *, host: str, port: int, open_browser: bool) -> None:
    """Serve the dashboard until interrupted, printing its URL first."""
    app = create_app(store, config={"organisation": settings.organisation})
    server = make_server(host, port, app, threaded=True)
    url = f"http://{host}:{server.server_port}/"
    click.echo(f"NSSA dashboard: {url}", err=False)
    if open_browser:
        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        server.server_close()
