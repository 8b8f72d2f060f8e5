"""HTML page of the asset inventory: declared units and the hosts missing from the map."""

from __future__ import annotations

from flask import Blueprint, render_template

from dashboard import queries

bp = Blueprint("assets", __name__)
"""Route ``/assets``."""


@bp.get("/assets")
def index() -> str:
    """The units the viewer may see with their subnets, 等保 level and open incidents, then
    the undeclared internal hosts their incidents involve."""
    inventory = queries.asset_inventory(
        queries.current_store(), queries.current_viewer(), queries.current_organisation()
    )
    return render_template("assets.html", inventory=inventory)
