"""Live updates in a real headless Chromium: live.js subscribes to the event stream and shows
the refresh banner and the new open count once an incident is written to the store."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from nssa.stores.sqlite import SqliteStore
from tests.browser import login, needs_chromium, serving
from tests.conftest import T0, build_incident
from tests.dashboard_users import make_app

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path_factory.mktemp("live") / "nssa.db") as opened:
        opened.put_incidents([build_incident(id="inc-first", last_seen=T0 + 60)])
        yield opened


@pytest.fixture(scope="module")
def base_url(store: SqliteStore) -> Iterator[str]:
    """The dashboard served from a thread, polling the store every 0.1 s for live updates."""
    config = {
        "TESTING": False,
        "LIVE_POLL_SECONDS": 0.1,
        "LIVE_HEARTBEAT_SECONDS": 1.0,  # a closed page frees its server thread within a second
        "LIVE_LIFETIME_SECONDS": 60.0,
    }
    with serving(make_app(store, config)) as url:
        yield url


def test_the_overview_shows_the_banner_after_a_new_incident(
    page: Page, base_url: str, store: SqliteStore
) -> None:
    login(page, base_url, "analyst")
    page.goto(f"{base_url}/overview")
    banner = page.locator("#live")
    counter = page.locator("[data-live-field=open_incidents]")
    # The first streamed picture is the rendered one: received, and nothing to show.
    expect(banner).to_have_attribute("data-received", re.compile(r"."))
    expect(banner).to_be_hidden()
    expect(counter).to_have_text("1")
    store.put_incidents([build_incident(id="inc-second", last_seen=T0 + 120)])
    expect(banner).to_be_visible()
    expect(counter).to_have_text("2")
    expect(banner).to_contain_text("刷新页面")
