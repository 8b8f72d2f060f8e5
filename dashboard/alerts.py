"""HTML pages of the alerts explorer: the filtered, pivotable list and one alert."""

from __future__ import annotations

import re
import tempfile
import time
from datetime import datetime

from flask import Blueprint, abort, current_app, render_template, request, send_file
from werkzeug.wrappers import Response

from dashboard import queries
from dashboard.explorer import alert_filter
from dashboard.i18n import TIMEZONE
from sensors.events import Event

bp = Blueprint("alerts", __name__)
"""Routes ``/alerts``, ``/alerts/<id>`` and ``/alerts/<id>/packets.pcap``."""

PCAP_TYPE = "application/vnd.tcpdump.pcap"
"""Media type of the packet download (pcapng, when link types differ, is served the same)."""
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


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


@bp.app_template_filter("record_kind")
def record_kind(event: Event) -> str:
    """The kind of a cited record, from its dataset: ``flow``, ``dns``, ``http``, ``auth``..."""
    return str(type(event).ECS_CONSTANTS["event.dataset"]).removeprefix("nssa.")


@bp.get("/alerts/<alert_id>/packets.pcap")
def packets(alert_id: str) -> Response:
    """The packets behind the alert, cut from the registered captures, as a capture file.

    Audited as the viewer's action. Headers say what was left over the size cap and which
    registered files could not be read.

    :raise 404: as for the alert's page, or when no registered capture covers the alert.
    """
    out = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the response once sent)
    try:
        found = queries.alert_packets(
            queries.current_store(), queries.current_viewer(), alert_id, out, time.time()
        )
    except BaseException:
        out.close()
        raise
    if found is None:
        out.close()
        abort(404)
    out.seek(0)
    response = send_file(
        out,
        mimetype=PCAP_TYPE,
        as_attachment=True,
        download_name=f"nssa-{_UNSAFE.sub('_', alert_id)[:64]}.{found.format.value}",
    )
    response.headers["X-NSSA-Packets"] = str(found.packets)
    response.headers["X-NSSA-Packets-Left-Out"] = str(found.left_out)
    response.headers["X-NSSA-Files-Unreadable"] = str(len(found.problems))
    return response


@bp.app_template_filter("local_input")
def local_input(epoch: float | None) -> str:
    """Epoch seconds as the value of a ``datetime-local`` input (Beijing time), or ''."""
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch, TIMEZONE).strftime("%Y-%m-%dT%H:%M")
