"""In headless Chromium: the overview's new-alerts counters and the sources' country and AS."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from correlator.geography import DEFAULT_DATABASE, missing_files
from detectors.alert import Severity
from nssa.stores.sqlite import SqliteStore
from tests.browser import login, needs_chromium, serving, shot
from tests.conftest import build_alert, build_incident
from tests.dashboard_scene import ORGANISATION, PUBLIC_ATTACKER, fill_public
from tests.dashboard_users import make_app

pytestmark = needs_chromium


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "nssa.db") as opened:
        fill_public(opened)
        yield opened


@pytest.fixture
def base_url(store: SqliteStore) -> Iterator[str]:
    config = {"organisation": ORGANISATION, "TESTING": False, "LIVE_POLL_SECONDS": 0.1}
    with serving(make_app(store, config)) as url:
        yield url


def test_new_alerts_show_on_the_overview_as_they_arrive(
    page: Page, base_url: str, store: SqliteStore
) -> None:
    login(page, base_url, "analyst")
    page.goto(f"{base_url}/overview")
    box = page.locator("#new-alerts")
    expect(page.locator("#live")).to_have_attribute("data-received", "1")
    expect(box).to_be_hidden()
    store.put_alerts(
        [
            build_alert(severity=Severity.CRITICAL, identifier="live-1"),
            build_alert(severity=Severity.MEDIUM, identifier="live-2"),
        ]
    )
    expect(box).to_be_visible()
    expect(box.locator('[data-new-alerts="total"]')).to_have_text("2")
    expect(box.locator('[data-new-alerts="critical"]')).to_have_text("1")
    expect(box.locator('[data-new-alerts="medium"]')).to_have_text("1")
    expect(box.locator('[data-new-alerts="high"]')).to_have_text("0")
    shot(page, "overview-new-alerts")
    page.goto("about:blank")  # closes the stream before the store closes


@pytest.mark.skipif(
    bool(missing_files(DEFAULT_DATABASE)) and not os.environ.get("CI"),
    reason="AS database not installed",
)
def test_the_sources_show_country_and_as(page: Page, base_url: str) -> None:
    login(page, base_url, "analyst")
    page.goto(f"{base_url}/overview?lang=en")
    row = page.locator(f'tr[data-source="{PUBLIC_ATTACKER}"]')
    expect(row.locator(".country")).to_have_text("United States")
    expect(row.locator(".as")).to_have_text("AS15169 Google LLC")
    shot(page, "overview-source-origins")


@pytest.mark.skipif(
    bool(missing_files(DEFAULT_DATABASE)) and not os.environ.get("CI"),
    reason="AS database not installed",
)
def test_the_big_screen_still_fits_with_five_public_sources(
    page: Page, base_url: str, store: SqliteStore
) -> None:
    # Long holder names (Stiftung Erneuerbare Freiheit) are cut, never widen the column.
    sources = ("223.5.5.5", "202.96.128.86", "114.114.114.114", "1.1.1.1", "185.220.101.1")
    store.put_incidents(
        [build_incident(id=f"inc-{n}", attackers=(a,)) for n, a in enumerate(sources)]
    )
    login(page, base_url, "leader")
    page.goto(f"{base_url}/screen")
    expect(page.locator("tr[data-source] .as")).to_have_count(5)
    size = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
    )
    assert size == [1920, 1080]
    expect(page.locator("header .attribution a")).to_have_attribute("href", "https://db-ip.com")
    shot(page, "screen-source-origins")
