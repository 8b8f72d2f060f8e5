"""Route ``/events/stream``: server-sent events telling open pages that their picture changed."""

from __future__ import annotations

from flask import Blueprint, current_app
from werkzeug.wrappers import Response

from dashboard import queries
from dashboard.live_alerts import AlertFeed
from dashboard.live_stream import SharedReads, StreamTiming, stream

bp = Blueprint("live", __name__)
"""Route ``/events/stream`` (signed-in users only, like every page)."""


@bp.get("/events/stream")
def events() -> Response:
    """The viewer's live picture as ``text/event-stream``, until the stream's lifetime ends."""
    # Bound now, in the request: the generator runs after the request context is gone, and
    # the viewer's units are fixed for the stream's life.
    store, viewer = queries.current_store(), queries.current_viewer()
    defaults = StreamTiming()
    config = current_app.config
    timing = StreamTiming(
        poll=float(config.get("LIVE_POLL_SECONDS", defaults.poll)),
        heartbeat=float(config.get("LIVE_HEARTBEAT_SECONDS", defaults.heartbeat)),
        lifetime=float(config.get("LIVE_LIFETIME_SECONDS", defaults.lifetime)),
    )
    # Half a poll: a stream never sees a picture older than its own poll interval.
    shared = current_app.extensions.setdefault("nssa.live_reads", SharedReads(timing.poll / 2))
    feed = current_app.extensions.get("nssa.alert_feed")
    if feed is None:  # one reader of new alerts per app, whatever the number of open pages
        organisation = queries.current_organisation()
        feed = current_app.extensions.setdefault(
            "nssa.alert_feed", AlertFeed(store, organisation, timing.poll / 2)
        )
    return Response(
        stream(
            lambda: shared.get(viewer.units, lambda: queries.live_picture(store, viewer)),
            timing,
            alerts=lambda: feed.tally(viewer.units),
        ),
        mimetype="text/event-stream",
        # No caching and no proxy buffering: each event must reach the browser when sent.
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
