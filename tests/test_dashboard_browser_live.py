"""Live updates in a real headless Chromium: live.js subscribes to the event stream and shows
the refresh banner and the new open count once an incident is written to the store."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import BaseWSGIServer, make_server

from nssa.stores.sqlite import SqliteStore
from tests.conftest import T0, build_incident
from tests.dashboard_users import make_app
from tests.test_dashboard_browser import browser, login, pytestmark, shot  # noqa: F401

WAIT = 15.0  # seconds an expected change may take to show (polls are every 0.1 s)


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
    server: BaseWSGIServer = make_server("127.0.0.1", 0, make_app(store, config), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    socket.create_connection(("127.0.0.1", server.server_port), timeout=5).close()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_the_overview_shows_the_banner_after_a_new_incident(
    browser: WebDriver,  # noqa: F811
    base_url: str,
    store: SqliteStore,
) -> None:
    login(browser, base_url, "analyst")
    browser.get(f"{base_url}/overview")
    banner = browser.find_element(By.ID, "live")
    counter = browser.find_element(By.CSS_SELECTOR, "[data-live-field=open_incidents]")
    # The first streamed picture is the rendered one: received, and nothing to show.
    WebDriverWait(browser, WAIT).until(lambda _: banner.get_attribute("data-received"))
    assert (banner.is_displayed(), counter.text) == (False, "1")
    store.put_incidents([build_incident(id="inc-second", last_seen=T0 + 120)])
    WebDriverWait(browser, WAIT).until(lambda _: banner.is_displayed())
    assert counter.text == "2"
    assert "刷新页面" in banner.text
    shot(browser, "live-banner")
    browser.get("about:blank")  # closes the stream before the store closes
