"""``nssa demo``: the bundled city scenario replayed into a fresh embedded store, then served."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click

from dashboard.users import Role, User, hash_password
from nssa.errors import MonitorError
from nssa.pipeline import replay
from nssa.serve import serve
from nssa.settings import load_settings
from nssa.stores import open_store

CHECKOUT = Path(__file__).resolve().parents[1]
SCENARIO_DIR = CHECKOUT / "pcaps"
CITY_SETTINGS = CHECKOUT / "examples" / "sanmenxia.toml"


def demo_store_path() -> Path:
    """Where the demo database lives: $XDG_DATA_HOME/nssa/demo.db (or ~/.local/share)."""
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "nssa" / "demo.db"


def scenario_captures() -> list[Path]:
    """The bundled scenario captures, in name order."""
    captures = sorted(SCENARIO_DIR.glob("*.pcap"))
    if not captures:
        raise MonitorError(f"no scenario captures in {SCENARIO_DIR}: run from a source checkout")
    return captures


def run_demo(*, host: str, port: int, open_browser: bool, store_url: str | None) -> None:
    """Replay the scenario into a fresh store and serve the dashboard over it."""
    settings = load_settings(CITY_SETTINGS)
    if store_url is None:
        path = demo_store_path()
        for stale in path.parent.glob(path.name + "*"):
            stale.unlink()  # a fresh demo every time: the db and its WAL files
        store_url = f"sqlite:///{path}"
    store = open_store(store_url)
    try:
        report = replay(scenario_captures(), settings, store, sensor="demo")
        click.echo(
            f"demo: {report.capture.packets} packets, {report.events} flows, "
            f"{report.alerts} alerts, {report.incidents} incidents in {store_url}"
        )
        password = secrets.token_urlsafe(12)
        demo_user = User(name="demo", role=Role.ADMIN, password_hash=hash_password(password))
        click.echo(f"demo login (valid until the demo stops): demo / {password}")
        serve(
            store,
            settings,
            host=host,
            port=port,
            open_browser=open_browser,
            users=(demo_user,),
            demo_link=(secrets.token_urlsafe(24), demo_user.name),
        )
    finally:
        store.close()
