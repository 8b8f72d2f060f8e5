"""Posture pages: 态势总览 (the landing page), 单位 (units) and 大屏 (the big screen)."""

from __future__ import annotations

import time

from flask import Blueprint, render_template

from dashboard import origins, queries
from dashboard.sensor_health import STALE_AFTER
from dashboard.summary import Overview, stage_order

bp = Blueprint("overview", __name__)
"""Routes ``/overview``, ``/units`` and ``/screen``."""
bp.add_app_template_filter(origins.country_name, "country_name")

SCREEN_REFRESH_SECONDS = 60
"""How often the big screen reloads itself."""


@bp.get("/overview")
def index() -> str:
    """The posture overview: score and trend, unit ranking, severities, stages, top hosts."""
    store, viewer = queries.current_store(), queries.current_viewer()
    # The page's picture comes from its own figures: no second read of the store.
    summary, live = queries.overview_with_picture(store, viewer, queries.current_organisation())
    return render_template(
        "overview.html",
        summary=summary,
        sources=origins.source_rows(summary.sources),
        stages=stage_order(),
        live=live,
        sensors=queries.sensor_health(store, viewer, time.time()),
        stale_minutes=round(STALE_AFTER / 60),
    )


@bp.get("/units")
def units() -> str:
    """Each unit the user may see: its posture, trend and open incidents."""
    return render_template("units.html", summary=_overview(worst=True))


@bp.get("/screen")
def screen() -> str:
    """The 1920×1080 big screen: the overview in large type, refreshing itself."""
    summary, live = queries.overview_with_picture(
        queries.current_store(), queries.current_viewer(), queries.current_organisation()
    )
    return render_template(
        "screen.html",
        summary=summary,
        sources=origins.source_rows(summary.sources[:5]),
        stages=stage_order(),
        refresh=SCREEN_REFRESH_SECONDS,
        live=live,
    )


def _overview(*, worst: bool = False) -> Overview:
    return queries.posture_overview(
        queries.current_store(),
        queries.current_viewer(),
        queries.current_organisation(),
        worst=worst,
    )
