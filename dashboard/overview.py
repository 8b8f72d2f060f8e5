"""Posture pages: 态势总览 (the landing page), 单位 (units) and 大屏 (the big screen)."""

from __future__ import annotations

from flask import Blueprint, render_template

from dashboard import queries
from dashboard.summary import Overview, stage_order

bp = Blueprint("overview", __name__)
"""Routes ``/overview``, ``/units`` and ``/screen``."""

SCREEN_REFRESH_SECONDS = 60
"""How often the big screen reloads itself."""


@bp.get("/overview")
def index() -> str:
    """The posture overview: score and trend, unit ranking, severities, stages, top hosts."""
    summary = _overview()
    return render_template("overview.html", summary=summary, stages=stage_order())


@bp.get("/units")
def units() -> str:
    """Each unit the user may see: its posture, trend and open incidents."""
    return render_template("units.html", summary=_overview())


@bp.get("/screen")
def screen() -> str:
    """The 1920×1080 big screen: the overview in large type, refreshing itself."""
    summary = _overview()
    return render_template(
        "screen.html", summary=summary, stages=stage_order(), refresh=SCREEN_REFRESH_SECONDS
    )


def _overview() -> Overview:
    return queries.posture_overview(
        queries.current_store(), queries.current_viewer(), queries.current_organisation()
    )
