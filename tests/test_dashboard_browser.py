"""The dashboard in a real headless Chromium (Debian's, driven by Playwright; tests/browser.py).

Skipped when /usr/bin/chromium is missing; ``.ci/run`` installs it. Every test leaves a
full-page screenshot in test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from nssa.stores.sqlite import SqliteStore
from tests.browser import Misbehaviour, login, needs_chromium, serving, shot
from tests.conftest import T0, build_alert
from tests.dashboard_scene import ORGANISATION, XSS, fill
from tests.dashboard_users import make_app

pytestmark = needs_chromium

INJECTED = "img[src=x], script:not([src])"
"""What the scene's markup would add to the page if it were not escaped (the dashboard itself
has no inline script: its CSP forbids it)."""

SENTINEL = "() => window.nssaXss === undefined"
"""True while none of the scene's script has run."""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path_factory.mktemp("browser") / "nssa.db") as opened:
        fill(opened)
        yield opened


@pytest.fixture(scope="module")
def base_url(store: SqliteStore) -> Iterator[str]:
    """The dashboard served on a free local port from a thread."""
    with serving(make_app(store, {"organisation": ORGANISATION, "TESTING": False})) as url:
        yield url


def test_pages_redirect_to_the_login_form(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/incidents/inc-police")
    expect(page).to_have_url(re.compile(rf"^{re.escape(base_url)}/login(\?.*)?$"))
    expect(page.locator("h1")).to_have_text("登录")
    expect(page.locator("form.logout")).to_have_count(0)


def test_wrong_password_is_refused(page: Page, base_url: str) -> None:
    login(page, base_url, "analyst", "not the password")
    expect(page.locator("p.error")).to_have_text("用户名或密码错误")
    expect(page.locator("form.logout")).to_have_count(0)
    expect(page).to_have_url(re.compile(rf"^{re.escape(base_url)}/login"))


def test_analyst_overview_language_switch_and_status_change(
    page: Page, base_url: str, store: SqliteStore
) -> None:
    login(page, base_url, "analyst")
    expect(page.locator("h1")).to_have_text("态势总览")
    expect(page.locator("html")).to_have_attribute("lang", re.compile("^zh"))
    shot(page, "overview-zh")
    page.locator('nav.lang a[hreflang="en"]').click()
    expect(page.locator("h1")).to_have_text("Security posture overview")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    shot(page, "overview-en")
    page.get_by_role("link", name="Incidents", exact=True).click()
    page.locator('a[href="/incidents/inc-police"]').first.click()
    expect(page).to_have_url(f"{base_url}/incidents/inc-police")
    page.locator("#status-form [name=status]").select_option("investigating")
    page.locator('#status-form input[name="note"]').fill("on it")
    page.locator("#status-form button").click()
    latest = page.locator("#history tbody tr").first
    expect(latest).to_contain_text("Investigating")
    expect(latest).to_contain_text("on it")
    expect(latest).to_contain_text("analyst")
    stored = store.incident("inc-police")
    assert stored is not None and stored.status.value == "investigating"


def test_unit_viewer_cannot_open_another_units_incident(page: Page, base_url: str) -> None:
    login(page, base_url, "county-viewer")
    refused = page.goto(f"{base_url}/incidents/inc-police")
    expect(page.locator("h1")).to_have_text("未找到")
    shot(page, "viewer-other-unit-404")
    allowed = page.goto(f"{base_url}/incidents/inc-lushi")
    expect(page.locator("main, body").first).to_contain_text("inc-lushi")
    assert (refused and refused.status, allowed and allowed.status) == (404, 200)


def test_attacker_markup_is_shown_as_text_and_never_runs(
    page: Page, base_url: str, misbehaviour: Misbehaviour
) -> None:
    login(page, base_url, "analyst")
    page.goto(f"{base_url}/incidents/inc-xss")
    expect(page.locator("h1")).to_contain_text(XSS)
    expect(page.locator("body")).to_contain_text(f"/search?q={XSS}")  # the alert's facts
    shot(page, "xss-incident")
    on_incident = page.evaluate(SENTINEL), page.locator(INJECTED).count()
    page.goto(f"{base_url}/alerts")
    expect(page.locator("table.alerts")).to_contain_text(f"GET /search?q={XSS}")
    in_explorer = page.evaluate(SENTINEL), page.locator(INJECTED).count()
    assert (on_incident, in_explorer) == ((True, 0), (True, 0))
    assert misbehaviour.all() == []


def test_post_without_csrf_token_is_refused(page: Page, base_url: str, store: SqliteStore) -> None:
    login(page, base_url, "analyst")
    page.goto(f"{base_url}/incidents/inc-lushi")
    # Drop the token as a forged cross-site form would lack it (CDP scripts skip the CSP).
    page.locator("#note-form [name=csrf_token]").evaluate("token => token.remove()")
    page.locator("#note-form textarea").fill("forged")
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.locator("#note-form button").click()
    expect(page.locator("h1")).to_have_text("拒绝访问")
    stored = store.incident("inc-lushi")
    assert (posted.value.status, stored.history if stored else None) == (403, ())


def test_big_screen_fills_1920_by_1080(page: Page, base_url: str) -> None:
    login(page, base_url, "leader")
    page.goto(f"{base_url}/screen")
    expect(page.locator("body.screen")).to_be_visible()
    layout = page.evaluate(
        """() => {
          const b = document.body, d = document.documentElement;
          const outside = [...b.querySelectorAll('*')].filter((e) => {
            const r = e.getBoundingClientRect();
            return r.width > 0 && (r.left < 0 || r.top < 0 || r.right > 1920 || r.bottom > 1080);
          }).map((e) => e.tagName + '.' + e.className);
          return [b.offsetWidth, b.offsetHeight, getComputedStyle(b).backgroundColor,
                  d.scrollWidth, d.scrollHeight, outside];
        }"""
    )
    assert layout == [1920, 1080, "rgb(7, 17, 31)", 1920, 1080, []]


def test_units_page_shows_a_viewer_only_its_units(page: Page, base_url: str) -> None:
    login(page, base_url, "county-viewer")
    page.goto(f"{base_url}/units")
    links = page.locator("ul.worst a")
    expect(links).to_have_count(2)  # the county and its department
    hrefs = links.evaluate_all("links => links.map((a) => a.href)")
    assert hrefs == [f"{base_url}/incidents/inc-lushi"] * 2


def test_alerts_explorer_pivots_on_a_clicked_source(
    page: Page, base_url: str, store: SqliteStore
) -> None:
    pivoted = [
        build_alert(time=T0 + 300 + n, source_ip="192.0.2.50", identifier=f"pivot:{n}")
        for n in range(2)
    ]
    store.put_alerts([*pivoted, build_alert(time=T0 + 400, source_ip="192.0.2.51")])
    login(page, base_url, "analyst")
    page.goto(f"{base_url}/alerts")
    rows = page.locator("table.alerts tbody tr")
    expect(rows).to_have_count(4)  # the scene's XSS alert is among them
    page.locator('table.alerts a[data-pivot="source"][href$="=192.0.2.50"]').first.click()
    expect(page).to_have_url(re.compile(r"[?&]source=192\.0\.2\.50(&|$)"))
    expect(page.locator("table.alerts tbody td.ip:nth-child(5)")).to_have_text(
        ["192.0.2.50", "192.0.2.50"]
    )
    expect(page.locator('[name="source"]')).to_have_value("192.0.2.50")
